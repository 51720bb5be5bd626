"""Turning split samples into model-input arrays (via the shared preprocessing), cached on disk."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.atomic import atomic_write
from trainer.data.dataset import Sample
from trainer.data.preprocess import INPUT_SIZE, VERSION, to_model_input
from trainer.errors import DatasetError, ImageError
from trainer.paths import cache_dir
from trainer.progress import CancelToken, Progress, ProgressFn, ignore

#: Unreadable files named when none of a set could be read.
SHOWN_FAILURES = 3


@dataclass
class Images:
    """Preprocessed inputs (N, size, size, 3) uint8 with labels, and the files that could not be used."""

    x: np.ndarray
    y: np.ndarray
    paths: list[Path]
    failures: list[tuple[Path, str]] = field(default_factory=list)


def _cache_key(samples: list[Sample], method: str, size: int) -> str:
    h = hashlib.sha256(f"preprocess-v{VERSION}|{method}|{size}".encode())
    for s in samples:
        st = s.path.stat()
        h.update(f"{s.path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{s.label}\n".encode())
    return h.hexdigest()[:24]


def load_images(
    samples: list[Sample],
    method: str = "ink",
    size: int = INPUT_SIZE,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
    use_cache: bool = True,
    stage: str = "Reading images",
) -> Images:
    """Decode and preprocess ``samples``; unreadable files are reported by path, not fatal.

    Raises DatasetError, naming the first few files, when ``samples`` is not empty but none could be read:
    every command that reads a dataset (train, tune, evaluate, report) says so the same way.
    """
    key = _cache_key(samples, method, size) if use_cache else ""
    cached = cache_dir() / f"{key}.npz"
    if use_cache and cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as data:
                keep = data["keep"]
                failed = [(samples[i].path, str(m)) for i, m in zip(data["failed"], data["messages"], strict=True)]
                progress(Progress(stage, len(samples), len(samples), "from cache"))
                return _some_readable(Images(data["x"], data["y"], [samples[i].path for i in keep], failed))
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is rebuilt below

    x = np.empty((len(samples), size, size, 3), np.uint8)
    ok = np.zeros(len(samples), bool)
    failures: dict[int, str] = {}

    def work(i: int) -> None:
        try:
            x[i] = to_model_input(samples[i].path, method, size)
            ok[i] = True
        except ImageError as exc:
            failures[i] = str(exc)

    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        step = 64
        for start in range(0, len(samples), step):
            if cancel:
                cancel.check()
            list(pool.map(work, range(start, min(start + step, len(samples)))))
            progress(Progress(stage, min(start + step, len(samples)), len(samples)))
    keep = np.flatnonzero(ok)
    labels = np.array([s.label for s in samples], np.int32)
    result = Images(
        x[keep],
        labels[keep],
        [samples[i].path for i in keep],
        [(samples[i].path, m) for i, m in sorted(failures.items())],
    )
    _some_readable(result)
    if use_cache:
        _write_cache(cached, result, keep, failures)
    return result


def _some_readable(images: Images) -> Images:
    if len(images.y) or not images.failures:
        return images
    first = ", ".join(str(path) for path, _ in images.failures[:SHOWN_FAILURES])
    more = f" and {len(images.failures) - SHOWN_FAILURES} more" if len(images.failures) > SHOWN_FAILURES else ""
    raise DatasetError(
        f"No image could be read: none of the {len(images.failures)} files decoded. Unreadable: "
        f"{first}{more} (first error: {images.failures[0][1]})"
    )


def _write_cache(path: Path, images: Images, keep: np.ndarray, failures: dict[int, str]) -> None:
    order = sorted(failures)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(
            path,
            lambda f: np.savez(
                f,
                x=images.x,
                y=images.y,
                keep=keep,
                failed=np.array(order, np.int64),
                messages=np.array([failures[i] for i in order], str),
            ),
        )
    except OSError:
        pass  # caching is an optimisation; a read-only home must not fail training
