"""``mathsym-train read``: read whole handwritten lines in images and calculate them."""

from __future__ import annotations

import json

from trainer.cli.context import EXIT_ERROR, PROG, Context
from trainer.errors import MathSymError


def cmd_read(ctx: Context) -> int:
    from trainer.data.preprocess import load_rgb
    from trainer.serving.modelio import load_model
    from trainer.serving.predict import Result, expand_paths, resolve_model
    from trainer.serving.reader import read_image

    a = ctx.args
    path = resolve_model(a.model)
    model = load_model(path)
    results, failed = [], 0
    for item in expand_paths(a.paths):
        if isinstance(item, Result):  # a missing path or a folder without images
            results.append({"path": str(item.path), **_empty(item.error or "")})
            failed += 1
            continue
        try:
            rgb = load_rgb(item)
        except MathSymError as exc:
            results.append({"path": str(item), **_empty(" ".join(str(exc).split()))})
            failed += 1
            continue
        results.append({"path": str(item), **read_image(model, rgb, k=a.k).to_dict()})
    if a.json and ctx.mode != "json":
        ctx.document(json.dumps({"model": str(path), "results": results}, ensure_ascii=False))
    else:
        for r in results:
            ctx.say(_line(r))
    ctx.done(model=str(path), results=results, failed=failed)
    if failed:
        print(f"{PROG}: error: {failed} of {len(results)} file(s) could not be read.", file=ctx.stderr, flush=True)
        return EXIT_ERROR
    return 0


def _empty(error: str) -> dict:
    return {"text": "", "latex": "", "result": None, "symbols": [], "alternatives": [], "error": error}


def _line(r: dict) -> str:
    """``file: 12/4+3= -> 6`` or ``file: 3+=4 (no result: why)``."""
    reading = r["text"] or "(nothing read)"
    if r["result"] is not None:
        out = f"{r['path']}: {reading} -> {r['result']}"
    else:
        out = f"{r['path']}: {reading} (no result: {r['error']})"
    if r["alternatives"]:
        out += "; or " + ", ".join(a["text"] for a in r["alternatives"])
    return out
