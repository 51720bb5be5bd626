"""Frozen-base features, computed once per split instead of once per epoch (optionally cached on disk).

A frozen base gives the same output for the same image every epoch, so training only the head on cached
features is the same optimisation as training the full model on images, at a fraction of the cost.
The on-disk cache is keyed by a hash of the extractor's weights and of the input arrays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from trainer.atomic import atomic_write
from trainer.data.loading import cache_dir
from trainer.progress import CancelToken, Progress, ProgressFn, ignore


def weights_fingerprint(model) -> str:
    """A hash of a model's architecture and every weight value."""
    h = hashlib.sha256(model.to_json().encode())
    for w in model.get_weights():
        a = np.ascontiguousarray(w)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def features_key(weights_hash: str, x: np.ndarray) -> str:
    h = hashlib.sha256(f"features-v1|{weights_hash}|{x.dtype}|{x.shape}".encode())
    h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()[:24]


def extract_features(
    extractor,
    x: np.ndarray,
    batch_size: int = 64,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
    stage: str = "Extracting features",
    disk_cache: bool = False,
    weights_hash: str | None = None,
) -> np.ndarray:
    """``extractor`` over ``x`` (uint8 images) in batches, float32; cached under ``<cache>/features``."""
    import tensorflow as tf

    path = None
    if disk_cache:
        key = features_key(weights_hash or weights_fingerprint(extractor), x)
        path = cache_dir() / "features" / f"{key}.npy"
        if path.is_file():
            try:
                cached = np.load(path, allow_pickle=False)
                progress(Progress(stage, len(x), len(x), "from cache"))
                return cached
            except (OSError, ValueError):
                pass  # a damaged cache file is recomputed

    @tf.function(reduce_retracing=True)
    def forward(batch):
        return extractor(tf.cast(batch, tf.float32), training=False)

    out = None
    for start in range(0, len(x), batch_size):
        if cancel:
            cancel.check()
        stop = min(start + batch_size, len(x))
        batch = forward(x[start:stop]).numpy()
        if out is None:  # allocated once: the features of a whole split can be large
            out = np.empty((len(x), *batch.shape[1:]), np.float32)
        out[start:stop] = batch
        progress(Progress(stage, stop, len(x)))
    if out is None:
        raise ValueError("extract_features needs at least one image.")
    if path is not None:
        _save_atomic(path, out)
    return out


def _save_atomic(path: Path, array: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: np.save(f, array, allow_pickle=False))
    except OSError:
        pass  # the cache is an optimisation; a full disk must not fail the run
