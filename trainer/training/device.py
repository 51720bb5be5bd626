"""Where a training run computes, and in which precision.

TensorFlow uses a visible GPU by itself (``pip install "mathsym[gpu]"`` on Linux brings the CUDA build; hide
GPUs with ``CUDA_VISIBLE_DEVICES=""``). What this module decides is the precision: ``mixed_float16`` (float16
maths, float32 weights) roughly doubles throughput on GPUs with tensor cores, i.e. compute capability 7.0 and
up, and is slower or unsupported elsewhere, so it is switched on only when every visible GPU has them. The
models keep their softmax output in float32 (``OUTPUT_DTYPE``), so probabilities and the loss stay exact.
``$MATHSYM_PRECISION`` (``auto``, ``float32`` or ``mixed_float16``) overrides the choice. Each card records
the device and precision under ``training.device``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from trainer.errors import MathSymError

PRECISION_ENV = "MATHSYM_PRECISION"
MIXED = "mixed_float16"
FULL = "float32"
#: The dtype of every model's output layer, whatever the policy: softmax in float16 loses small probabilities.
OUTPUT_DTYPE = "float32"
#: Tensor cores (Volta) and later: where mixed precision pays.
MIN_MIXED_CAPABILITY = (7, 0)


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: tuple[int, int] | None  # None when the driver does not say


def visible_gpus() -> list[Gpu]:
    """The GPUs TensorFlow can use (empty on a CPU-only build or machine)."""
    import tensorflow as tf

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability")
        gpus.append(Gpu(details.get("device_name", device.name), tuple(capability) if capability else None))
    return gpus


def choose_precision(gpus: Sequence[Gpu], requested: str | None = None) -> str:
    """``mixed_float16`` when asked for, or (``auto``) when there are GPUs and all have compute capability
    >= 7.0; else ``float32``. Asking for mixed precision without such a GPU is refused: it would be slower."""
    requested = (requested or "auto").strip().lower()
    if requested not in ("auto", FULL, MIXED):
        raise MathSymError(f"{PRECISION_ENV} must be auto, {FULL} or {MIXED}; got {requested!r}.")
    capable = bool(gpus) and all(g.compute_capability and g.compute_capability >= MIN_MIXED_CAPABILITY for g in gpus)
    if requested == MIXED and not capable:
        raise MathSymError(
            f"{MIXED} needs a GPU of compute capability 7.0 or newer; this machine has "
            f"{describe_gpus(gpus) or 'none'}. Use {PRECISION_ENV}=float32 or auto."
        )
    if requested == FULL:
        return FULL
    return MIXED if capable else FULL


def describe_gpus(gpus: Sequence[Gpu]) -> str:
    return ", ".join(
        g.name
        + (f" (compute capability {g.compute_capability[0]}.{g.compute_capability[1]})" if g.compute_capability else "")
        for g in gpus
    )


def configure_training(requested: str | None = None, gpus: Sequence[Gpu] | None = None) -> dict:
    """Set Keras' global dtype policy for this run's device; return what the card records.

    ``requested`` defaults to ``$MATHSYM_PRECISION``; ``gpus`` to the visible ones.
    """
    import keras

    gpus = visible_gpus() if gpus is None else list(gpus)
    precision = choose_precision(gpus, requested if requested is not None else os.environ.get(PRECISION_ENV))
    keras.mixed_precision.set_global_policy(precision)
    return {"kind": "GPU" if gpus else "CPU", "gpus": describe_gpus(gpus) or None, "precision": precision}
