"""Predicting files and folders with a saved model, and finding which model to use.

A bad file never stops the others: each :class:`Result` holds either the top-k labels or that file's error.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from trainer.data.imageio import cannot_read, is_image_name
from trainer.errors import ModelError
from trainer.labels import symbol
from trainer.paths import find_model, models_dir
from trainer.progress import CancelToken, Progress, ProgressFn, ignore

#: Images preprocessed and predicted together (bounds memory for large folders).
CHUNK = 256


@dataclass
class Result:
    """One input file: its top-k (label, probability), or the reason it could not be predicted."""

    path: Path
    top: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def label(self) -> str | None:
        return self.top[0][0] if self.top else None

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "top": [{"label": name, "symbol": symbol(name), "probability": round(p, 6)} for name, p in self.top],
            "error": self.error,
        }

    def line(self) -> str:
        """``file: add (+) 97.1 %, sub (−) 1.2 %`` or ``file: error: <why>``."""
        if self.error is not None:
            return f"{self.path}: error: {self.error}"
        return f"{self.path}: " + ", ".join(f"{_named(name)} {p * 100:.1f} %" for name, p in self.top)


def _named(label: str) -> str:
    sym = symbol(label)
    return label if sym == label else f"{label} ({sym})"


def expand_paths(paths) -> list[Path | Result]:
    """Files as given; folders replaced by their images (recursively, sorted, hidden ones skipped).

    A missing path, a folder without images and a file or folder that cannot be read (permissions) become
    Results with their error, in place: they never stop the other paths.
    """
    out: list[Path | Result] = []
    for raw in paths:
        p = Path(raw)
        try:
            is_dir, exists = p.is_dir(), p.exists()
        except OSError as exc:  # a folder on the way that may not be searched
            out.append(Result(p, error=cannot_read(p, exc)))
            continue
        if is_dir:
            found = _folder_images(p)
            if not found:
                out.append(Result(p, error=f"{p} is a folder without images."))
            out.extend(found)
        elif exists:
            out.append(p)
        else:
            out.append(Result(p, error=f"{p} does not exist."))
    return out


def _folder_images(folder: Path) -> list[Path | Result]:
    """The visible images under ``folder`` (symlinked folders not followed), sorted, with a Result for each
    folder that cannot be listed: an unreadable folder is reported, never taken for one without images."""
    found: list[Path | Result] = []

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        found.append(Result(where, error=cannot_read(where, exc)))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(root, n) for n in files if is_image_name(n) and os.path.isfile(os.path.join(root, n)))
    return sorted(found, key=lambda item: item.path if isinstance(item, Result) else item)


def predict_paths(
    model, paths, k: int = 5, progress: ProgressFn = ignore, cancel: CancelToken | None = None
) -> list[Result]:
    """Top-k predictions for files and folders (expanded), in input order; errors are per file.

    ``model`` is a :class:`trainer.serving.modelio.LoadedModel`; inputs are preprocessed per its card and predicted
    in batches through ``predict_inputs``.
    """
    k = max(1, min(int(k), len(model.labels)))
    items = expand_paths(paths)
    results: list[Result] = [item if isinstance(item, Result) else Result(item) for item in items]
    todo = [i for i, item in enumerate(items) if not isinstance(item, Result)]
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(todo), CHUNK):
            if cancel:
                cancel.check()
            chunk = [results[i] for i in todo[start : start + CHUNK]]
            inputs = list(pool.map(partial(_preprocessed, model), chunk))
            good = [(result, x) for result, x in zip(chunk, inputs, strict=True) if x is not None]
            if good:
                probabilities = model.predict_inputs(np.stack([x for _, x in good]))
                for (result, _), p in zip(good, probabilities, strict=True):
                    result.top = model.top_k(p, k)
            progress(Progress("Predicting", min(start + CHUNK, len(todo)), len(todo)))
    return results


def _preprocessed(model, result: Result) -> np.ndarray | None:
    """One file's model input, or None with the file's error recorded (a failure belongs to that file only)."""
    try:
        return model.preprocess(result.path)
    except Exception as exc:
        result.error = _file_error(result.path, exc)
        return None


def _file_error(path: Path, exc: Exception) -> str:
    from trainer.errors import MathSymError

    message = str(exc) if isinstance(exc, MathSymError) else f"cannot be used ({type(exc).__name__}: {exc})"
    message = " ".join(message.split())
    # ImageError messages name the file already; the result line names it too.
    for prefix in (f"{path} ", f"{path}: "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def resolve_model(path: str | os.PathLike | None = None, directory: str | os.PathLike | None = None) -> Path:
    """The model to use: ``path`` when given; else the newest trained model in ``directory`` (default: the
    models folder); else the embedded default there; else ModelError."""
    if path:
        return Path(path)
    found = find_model(directory)
    if found is None:
        raise ModelError(
            f"No model found in {directory or models_dir()}: train one with `mathsym-train train default --data "
            "DATASET` (or alexnet / vgg19), or pass --model PATH."
        )
    return found
