"""Benchmark of the embedded default model (issues 3 and 8): accuracy per writing style, accuracy, leak-free
accuracy, per-class recall, batch-1 latency, file size, training time and robustness to other people's handwriting.

    python benchmarks/default_model.py [--model models/default.keras] [--data DIR] [--limit N] [--per-style N]

The style test set is ``trainer.data.styles.style_set("test", ...)``: --per-style seeded drawings of every
writing style, with parameters, seeds and colours disjoint from the training variants; accuracy per style,
per class and per rendering (canvas, inverted, tiny 28x28), and for the ambiguous styles (a straight cross, a
rounded 4) how often the runner-up class is the second answer.

Writes benchmarks/results/default_model.json and prints a table. Accuracy is on the notebook test split
(seed 1001, 0.9/0.1: 1018 images) and on its part with no byte-identical copy in train. Latency is the
compiled ``LoadedModel.predict_inputs`` path on one preprocessed 224x224x3 uint8 input (median and p95
over --calls calls after warm-up). Robustness variants are made from the RAW test images (see
``trainer.evaluation.robustness``) and go through the normal ``to_model_input`` preprocessing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.data.dataset import find_duplicates, scan_dataset  # noqa: E402
from trainer.data.loading import load_images  # noqa: E402
from trainer.data.preprocess import load_rgb  # noqa: E402
from trainer.data.split import leaked_test_samples, notebook_split  # noqa: E402
from trainer.data.styles import STYLES, style_set  # noqa: E402
from trainer.errors import ImageError  # noqa: E402
from trainer.evaluation.robustness import VARIANTS, apply_variant, canvas_drawings  # noqa: E402
from trainer.serving.modelio import load_model  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "handwritten-math-symbols"


def preprocess_all(model, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs for raw images (threads); the mask says which ones preprocessing accepted."""
    size = model.card.input_size
    out = np.full((len(images), size, size, 3), 255, np.uint8)
    ok = np.ones(len(images), bool)

    def work(i):
        try:
            out[i] = model.preprocess(images[i])
        except ImageError:
            ok[i] = False

    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        list(pool.map(work, range(len(images))))
    return out, ok


def accuracy(model, images: list[np.ndarray], y: np.ndarray) -> dict:
    x, ok = preprocess_all(model, images)
    pred = model.predict_inputs(x).argmax(1)
    correct = (pred == y) & ok
    return {
        "accuracy": float(correct.mean()),
        "images": int(len(y)),
        "rejected": int((~ok).sum()),
        "errors": int((~correct).sum()),
    }


def _share(hits: np.ndarray) -> dict:
    return {"accuracy": float(hits.mean()), "images": int(hits.size), "errors": int((~hits).sum())}


def style_accuracy(model, per_style: int, seed: int) -> dict:
    """Accuracy on the style test set, per style, class and rendering; runner-ups of ambiguous styles."""
    labels = list(model.labels)
    drawn = style_set("test", per_style, seed, tuple(labels))
    x, ok = preprocess_all(model, drawn.images)
    prob = model.predict_inputs(x)
    pred = prob.argmax(1)
    hits = (pred == drawn.labels) & ok
    styles, renderings = np.array(drawn.styles), np.array(drawn.renderings)
    per_style_result = {}
    for style in STYLES:
        m = styles == style.name
        if not m.any():
            continue
        wrong = pred[m & ~hits]
        row = {
            "class": style.label,
            **_share(hits[m]),
            "read_as": {labels[c]: int((wrong == c).sum()) for c in np.unique(wrong)},
        }
        if style.second in labels:
            second = np.argsort(prob[m], axis=1)[:, -2]
            row["second"] = {
                "class": style.second,
                "second_rate": float((second == labels.index(style.second)).mean()),
                "median_probability": float(np.median(prob[m, labels.index(style.second)])),
                "median_top_probability": float(np.median(prob[m].max(1))),
            }
        per_style_result[style.name] = row
    worst = min(per_style_result.items(), key=lambda kv: kv[1]["accuracy"])
    return {
        "generator": {
            "split": "test",
            "per_style": per_style,
            "seed": seed,
            "images": int(len(pred)),
            "rejected": int((~ok).sum()),
        },
        "accuracy": float(hits.mean()),
        "min_style": {"style": worst[0], "accuracy": worst[1]["accuracy"]},
        "per_style": per_style_result,
        "per_class": {
            name: _share(hits[drawn.labels == c]) for c, name in enumerate(labels) if (drawn.labels == c).any()
        },
        "per_rendering": {r: _share(hits[renderings == r]) for r in dict.fromkeys(drawn.renderings)},
    }


def latency(model, sample: np.ndarray, calls: int) -> dict:
    for _ in range(30):
        model.predict_inputs(sample)
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        model.predict_inputs(sample)
        samples.append((time.perf_counter() - t) * 1000)
    times = np.array(samples)
    return {
        "calls": calls,
        "median_ms": float(np.median(times)),
        "p95_ms": float(np.percentile(times, 95)),
        "mean_ms": float(times.mean()),
        "min_ms": float(times.min()),
    }


def run(
    model_path: Path, data: Path, limit: int | None, calls: int, canvas_per_class: int, seed: int, per_style: int
) -> dict:
    model = load_model(model_path)
    styles = style_accuracy(model, per_style, seed)
    labels = model.labels
    index = scan_dataset(data)
    split = notebook_split(index)
    leaked = leaked_test_samples(split, find_duplicates(index))
    test = load_images(split.test, model.card.preprocessing, model.card.input_size, stage="Reading test images")
    prob = model.predict_inputs(test.x)
    pred = prob.argmax(1)
    clean = np.array([p not in leaked for p in test.paths])
    recall = {}
    for c, name in enumerate(labels):
        m = test.y == c
        recall[name] = float((pred[m] == c).mean()) if m.any() else None
    worst = min((r, n) for n, r in recall.items() if r is not None)
    wrong = [
        {
            "path": f"{p.parent.name}/{p.name}",
            "label": labels[t],
            "predicted": labels[q],
            "confidence": float(prob[i, q]),
        }
        for i, (p, t, q) in enumerate(zip(test.paths, test.y, pred, strict=True))
        if t != q
    ]
    result = {
        "model": os.path.relpath(model_path, ROOT),
        "architecture": model.card.architecture,
        "file_bytes": model_path.stat().st_size,
        "file_mb": round(model_path.stat().st_size / 1e6, 3),
        "parameters": int(model.keras_model.count_params()),
        "split": {
            "kind": split.kind,
            "seed": split.seed,
            "test": len(split.test),
            "test_fingerprint": split.fingerprint(),
            "leaked_test_images": len(leaked),
        },
        "test_accuracy": float((pred == test.y).mean()),
        "test_images": int(len(test.y)),
        "test_errors": wrong,
        "no_copy_accuracy": float((pred[clean] == test.y[clean]).mean()),
        "no_copy_images": int(clean.sum()),
        "per_class_recall": recall,
        "min_recall": {"class": worst[1], "recall": worst[0]},
        "latency_batch1": latency(model, test.x[:1], calls),
        "training_seconds": model.card.training.get("seconds"),
        "style_test": styles,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average": list(os.getloadavg())},
    }
    # Robustness: variants of the raw test images (optionally a class-stratified subsample).
    order = np.arange(len(split.test))
    if limit and limit < len(order):
        order = np.random.default_rng(seed).permutation(len(order))[:limit]
    samples = [split.test[i] for i in order]
    raw = [load_rgb(s.path) for s in samples]
    y = np.array([s.label for s in samples], np.int32)
    robust = {"original (raw path)": accuracy(model, raw, y)}
    for name in VARIANTS:
        t = time.perf_counter()
        robust[name] = accuracy(model, apply_variant(name, raw, seed), y)
        robust[name]["seconds"] = round(time.perf_counter() - t, 1)
        print(f"  {name:22s} {robust[name]['accuracy']:.4f}", file=sys.stderr, flush=True)
    drawings, dy = canvas_drawings(canvas_per_class, seed)
    robust["canvas_drawings"] = accuracy(model, drawings, dy)
    x, _ = preprocess_all(model, drawings)
    dpred = model.predict_inputs(x).argmax(1)
    robust["canvas_drawings"]["per_class"] = {n: float((dpred[dy == c] == c).mean()) for c, n in enumerate(labels)}
    result["robustness"] = robust
    result["robustness_images"] = len(samples)
    return result


def print_table(r: dict) -> None:
    lat = r["latency_batch1"]
    rows = [
        (
            "test accuracy (notebook split)",
            f"{r['test_accuracy']:.4f}  ({r['test_images']} images, {len(r['test_errors'])} errors)",
        ),
        ("no-copy-in-train accuracy", f"{r['no_copy_accuracy']:.4f}  ({r['no_copy_images']} images)"),
        ("min per-class recall", f"{r['min_recall']['recall']:.4f}  ({r['min_recall']['class']})"),
        ("batch-1 latency median / p95", f"{lat['median_ms']:.2f} / {lat['p95_ms']:.2f} ms ({lat['calls']} calls)"),
        ("file size", f"{r['file_mb']:.2f} MB ({r['parameters']} parameters)"),
    ]
    if r.get("training_seconds") is not None:
        rows.append(("training time (card)", f"{r['training_seconds'] / 60:.1f} min"))
    rows.append(("recall per class", " ".join(f"{k} {v:.3f}" for k, v in r["per_class_recall"].items())))
    st = r["style_test"]
    rows.append(
        (
            "style test set",
            f"{st['accuracy']:.4f}  ({st['generator']['images']} images; lowest style "
            f"{st['min_style']['accuracy']:.3f}: {st['min_style']['style']})",
        )
    )
    for name, v in st["per_style"].items():
        note = ", ".join(f"{n}: {c}" for n, c in v["read_as"].items())
        if "second" in v:
            note += f" runner-up {v['second']['class']} in {v['second']['second_rate']:.0%}"
        rows.append((f"  style {name}", f"{v['accuracy']:.3f}  {note}"))
    rows += [(f"  class {k}", f"{v['accuracy']:.3f}") for k, v in st["per_class"].items()]
    rows += [(f"  rendering {k}", f"{v['accuracy']:.4f}") for k, v in st["per_rendering"].items()]
    rows += [(f"robustness: {k}", f"{v['accuracy']:.4f}  ({v['images']} images)") for k, v in r["robustness"].items()]
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{width}}  {b}")


def style_markdown(r: dict) -> str:
    """The per-style table for the README."""
    st = r["style_test"]
    described = {s.name: s.description for s in STYLES}
    lines = ["| class | style | drawn as | accuracy | read as instead |", "| --- | --- | --- | --- | --- |"]
    for name, v in st["per_style"].items():
        note = ", ".join(f"{n} ({c})" for n, c in v["read_as"].items())
        if "second" in v:
            note += f"{'; ' if note else ''}runner-up {v['second']['class']} in {v['second']['second_rate']:.0%}"
        lines.append(f"| {v['class']} | {name} | {described[name]} | {v['accuracy']:.1%} | {note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default.keras")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, help="robustness on this many test images (default: all)")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--canvas-per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-style", type=int, default=150, help="style test drawings per style")
    parser.add_argument("--markdown", action="store_true", help="also print the per-style table as Markdown")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "default_model.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.model, args.data, args.limit, args.calls, args.canvas_per_class, args.seed, args.per_style)
    result["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print_table(result)
    if args.markdown:
        print(style_markdown(result))
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
