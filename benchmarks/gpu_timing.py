"""GPU (or CPU) timing of the app's two heavy computations, on any Keras 3 backend (issue #11).

Usage:  KERAS_BACKEND=jax python benchmarks/gpu_timing.py [--images N] [--only vgg19|alexnet]
                                                          [--mixed-precision [POLICY]] [--output PATH]

Both models come from the registry (trainer.architectures: builder, batch size, image size, AlexNet's default
activation and learning rate), so they are the app's models; weights are random (the cost does not depend on
their values, and ImageNet weights need a download). Inputs are synthetic uint8 224x224x3 images with random
labels among the 19 classes.

* vgg19 (the feature-cache pass of trainer.training.vgg19): the frozen base of ``build_vgg19(weights=None)``
  (``feature_extractor``) over ``--images`` images (default 9053: the notebook's fit + validation parts) in
  batches of 64: uint8 in, cast to float32 and scaled inside the model, features copied back to host memory
  batch by batch, as ``trainer.training.features.extract_features`` does. It wraps the forward in ``tf.function``;
  here the same forward runs through Keras' own compiled predict step (``predict_on_batch``: tf.function on
  TensorFlow, jax.jit on JAX, eager on torch), so every backend runs it.
* alexnet: one epoch of ``model.fit`` (shuffled, batch 64, no validation data, verbose=0) of the registry's
  AlexNet over ``--images`` images (default 6790, the notebook's fit part of the train split).

Each part first runs a warm-up, timed apart and not in the totals: one full batch plus one batch of the last,
partial size, so that both batch shapes are compiled (JAX compiles each shape once; the app pays this once per
run). ``--mixed-precision`` sets Keras' global policy (``mixed_float16`` as the app uses on tensor-core GPUs,
see trainer.training.device, or ``mixed_bfloat16``) before the models are built; the softmax stays float32.
``trainer.training.device.configure_training`` is not used: it lists GPUs through TensorFlow.

Results: a table on stdout and JSON in benchmarks/results/gpu_timing.json (or ``--output``), relative paths only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.architectures import ARCHITECTURES, load  # noqa: E402
from trainer.labels import CLASS_NAMES  # noqa: E402
from trainer.models.vgg19 import feature_extractor  # noqa: E402
from trainer.training.device import FULL, MIXED  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "gpu_timing.json"
#: The notebook's split of the 10,071 images: 9053 train (0.9), of which 6790 fit and 2263 validation.
VGG19_IMAGES = 9053
ALEXNET_IMAGES = 6790
POLICIES = (MIXED, "mixed_bfloat16")


def _option_default(arch: str, dest: str) -> Any:
    return next(o.default for o in ARCHITECTURES[arch].extra if o.dest == dest)


def warmup_sizes(n: int, batch: int) -> list[int]:
    """One full batch and, when ``n`` is not a multiple of ``batch``, one of the last batch's size."""
    sizes = [min(batch, n)]
    if n > batch and n % batch:
        sizes.append(n % batch)
    return sizes


def time_vgg19_features(x: np.ndarray, batch: int) -> dict:
    """The feature-cache pass over ``x``; returns seconds, images/s and the warm-up (compile) time."""
    arch = ARCHITECTURES["vgg19"]
    model = load(arch.builder)(len(CLASS_NAMES), arch.image_size, weights=None)
    extractor = feature_extractor(model)
    started = time.perf_counter()
    for size in warmup_sizes(len(x), batch):
        extractor.predict_on_batch(x[:size])
    warmup = time.perf_counter() - started

    started = time.perf_counter()
    out = None
    for start in range(0, len(x), batch):
        stop = min(start + batch, len(x))
        features = np.asarray(extractor.predict_on_batch(x[start:stop]))
        if out is None:  # allocated once, as extract_features does
            out = np.empty((len(x), *features.shape[1:]), np.float32)
        out[start:stop] = features
    seconds = time.perf_counter() - started
    assert out is not None and np.isfinite(out).all()
    return {
        "images": len(x),
        "batches": math.ceil(len(x) / batch),
        "feature_shape": list(out.shape[1:]),
        "warmup_seconds": round(warmup, 3),
        "seconds": round(seconds, 3),
        "images_per_second": round(len(x) / seconds, 1),
        "ms_per_image": round(1000 * seconds / len(x), 3),
    }


def time_alexnet_epoch(x: np.ndarray, labels: np.ndarray, batch: int) -> dict:
    """One ``fit`` epoch of the registry's AlexNet over ``x``, after a warm-up fit on a few batches."""
    arch = ARCHITECTURES["alexnet"]
    activation = _option_default("alexnet", "activation")
    learning_rate = _option_default("alexnet", "learning_rate")
    model = load(arch.builder)(len(CLASS_NAMES), arch.image_size, activation, learning_rate)
    y = np.eye(len(CLASS_NAMES), dtype=np.float32)[labels]  # trainer.training.runs.one_hot (not imported: heavy)

    warm = sum(warmup_sizes(len(x), batch))
    started = time.perf_counter()
    model.fit(x[:warm], y[:warm], batch_size=batch, epochs=1, verbose=0)
    warmup = time.perf_counter() - started

    started = time.perf_counter()
    history = model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    loss = float(history.history["loss"][-1])  # a Python float: every step has finished
    steps = math.ceil(len(x) / batch)
    return {
        "images": len(x),
        "steps": steps,
        "activation": activation,
        "learning_rate": learning_rate,
        "parameters": int(model.count_params()),
        "warmup_images": warm,
        "warmup_seconds": round(warmup, 3),
        "seconds": round(seconds, 3),
        "steps_per_second": round(steps / seconds, 2),
        "images_per_second": round(len(x) / seconds, 1),
        "ms_per_step": round(1000 * seconds / steps, 2),
        "loss": round(loss, 4) if math.isfinite(loss) else str(loss),
    }


def describe_device(backend: str) -> dict:
    """The backend library's version and the accelerator it computes on ("cpu" when none)."""
    if backend == "jax":
        import jax

        return {
            "library": f"jax {jax.__version__}",
            "device": ", ".join(d.device_kind for d in jax.devices()),
            "matmul_precision": str(getattr(jax.config, "jax_default_matmul_precision", None)),  # None: XLA default
        }
    if backend == "torch":
        import torch

        name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        return {"library": f"torch {torch.__version__}", "device": name}
    if backend == "tensorflow":
        import tensorflow as tf

        from trainer.training.device import describe_gpus, visible_gpus

        return {"library": f"tensorflow {tf.__version__}", "device": describe_gpus(visible_gpus()) or "cpu"}
    return {"library": backend, "device": "unknown"}


def print_table(result: dict) -> None:
    print(f"backend {result['backend']} ({result['library']}), keras {result['keras']}, device {result['device']}")
    print(f"precision {result['precision']}, batch {result['batch_size']}, image size {result['image_size']}")
    header = f"{'part':<16}{'images':>8}{'warm-up s':>11}{'seconds':>10}{'images/s':>10}{'per unit':>16}"
    print(header)
    print("-" * len(header))
    for name, part in result["parts"].items():
        unit = (
            f"{part['ms_per_image']:.2f} ms/image" if "ms_per_image" in part else f"{part['ms_per_step']:.1f} ms/step"
        )
        label = "vgg19 features" if name == "vgg19" else "alexnet epoch"
        print(
            f"{label:<16}{part['images']:>8}{part['warmup_seconds']:>11.2f}{part['seconds']:>10.2f}"
            f"{part['images_per_second']:>10.1f}{unit:>16}"
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images",
        type=int,
        help=f"images per part (default: {VGG19_IMAGES} for vgg19, {ALEXNET_IMAGES} for alexnet)",
    )
    parser.add_argument("--only", choices=("vgg19", "alexnet"), help="time one part only")
    parser.add_argument(
        "--mixed-precision",
        nargs="?",
        const=MIXED,
        choices=POLICIES,
        metavar="POLICY",
        help=f"Keras dtype policy: {' or '.join(POLICIES)} (default when the flag is given: {MIXED})",
    )
    parser.add_argument("--batch", type=int, default=ARCHITECTURES["vgg19"].batch_size, help="batch size")
    parser.add_argument("--seed", type=int, default=1001)
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="JSON file (default: benchmarks/results/gpu_timing.json)"
    )
    args = parser.parse_args(argv)
    if args.images is not None and args.images < 1:
        parser.error("--images must be at least 1")
    if args.batch < 1:
        parser.error("--batch must be at least 1")

    import keras

    backend = keras.backend.backend()
    precision = args.mixed_precision or FULL
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(args.seed)
    parts = ["vgg19", "alexnet"] if args.only is None else [args.only]
    counts = {"vgg19": args.images or VGG19_IMAGES, "alexnet": args.images or ALEXNET_IMAGES}
    size = ARCHITECTURES["vgg19"].image_size
    assert size == ARCHITECTURES["alexnet"].image_size

    rng = np.random.default_rng(args.seed)
    most = max(counts[p] for p in parts)
    x = rng.integers(0, 256, (most, size, size, 3), dtype=np.uint8)
    labels = rng.integers(0, len(CLASS_NAMES), most)
    result: dict[str, Any] = {
        "what": "VGG19 feature-cache pass and one AlexNet fit epoch (registry models, random weights, synthetic "
        "uint8 images); totals exclude the warm-up (compile) time, reported apart",
        "backend": backend,
        "keras": keras.__version__,
        **describe_device(backend),
        "precision": precision,
        "batch_size": args.batch,
        "image_size": size,
        "seed": args.seed,
        "parts": {},
    }
    result["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    for part in parts:  # the JSON is rewritten after each part: a run cut short keeps what it measured
        print(f"timing {part} over {counts[part]} images...", file=sys.stderr, flush=True)
        if part == "vgg19":
            result["parts"][part] = time_vgg19_features(x[: counts[part]], args.batch)
        else:
            result["parts"][part] = time_alexnet_epoch(x[: counts[part]], labels[: counts[part]], args.batch)
        print(f"{part}: {json.dumps(result['parts'][part])}", file=sys.stderr, flush=True)
        result["machine"]["load_average"] = [round(v, 2) for v in os.getloadavg()]
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    return result


if __name__ == "__main__":
    main()
