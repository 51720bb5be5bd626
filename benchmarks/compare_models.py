"""Default model vs the notebook's AlexNet and VGG19 (weights=None) on the same notebook split.

    python benchmarks/compare_models.py [--data DIR] [--alexnet-size 96] [--alexnet-epochs 3]
                                        [--vgg-size 32] [--vgg-epochs 5]

AlexNet and VGG19 get a small budget that fits a 2-core CPU: trained on the fit part of the notebook train
split at a reduced input size (the "ink" 224x224 inputs area-resized), AlexNet end to end for a few
epochs, VGG19 as the notebook built it (frozen base, here randomly initialised since weights=None, and a
trained Flatten-Dropout-Dense head). The default model is the committed models/default.keras (its full
recipe). Reported per model: test accuracy (1018 images), accuracy on the test images without a copy in
train, parameters, .keras file size, batch-1 latency (median of 200 calls of the compiled path).
Writes benchmarks/results/compare_models.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from default_model import latency  # noqa: E402  (benchmarks/ is this script's folder)

from trainer.data.split import leaked_test_samples  # noqa: E402
from trainer.serving.card import ModelCard  # noqa: E402
from trainer.serving.modelio import LoadedModel, load_model  # noqa: E402
from trainer.training.runs import RunConfig, one_hot, prepare_data  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "handwritten-math-symbols"


def shrink(x: np.ndarray, size: int) -> np.ndarray:
    return np.stack([cv2.resize(i, (size, size), interpolation=cv2.INTER_AREA) for i in x])


def measure(name: str, model: LoadedModel, x_test, y_test, clean, file_bytes: int, extra: dict) -> dict:
    pred = model.predict_inputs(x_test).argmax(1)
    return {
        "model": name,
        "test_accuracy": float((pred == y_test).mean()),
        "no_copy_accuracy": float((pred[clean] == y_test[clean]).mean()),
        "parameters": int(model.keras_model.count_params()),
        "file_mb": round(file_bytes / 1e6, 2),
        "latency_batch1": latency(model, x_test[:1], calls=200),
        **extra,
    }


def train_small(name: str, model, data, size: int, epochs: int, batch: int) -> tuple[LoadedModel, int, dict]:
    classes = len(data.index.class_names)
    started = time.monotonic()
    fit_x, val_x = shrink(data.fit.x, size), shrink(data.val.x, size)
    model.fit(
        fit_x,
        one_hot(data.fit.y, classes),
        batch_size=batch,
        epochs=epochs,
        verbose=2,
        validation_data=(val_x, one_hot(data.val.y, classes)),
    )
    seconds = round(time.monotonic() - started, 1)
    card = ModelCard(labels=list(data.index.class_names), architecture=name, input_size=size, preprocessing="ink")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.keras"
        model.save(path)
        size_bytes = path.stat().st_size
    return (
        LoadedModel(model, card),
        size_bytes,
        {
            "input_size": size,
            "epochs": epochs,
            "train_seconds": seconds,
            "budget": f"{epochs} epochs on the fit split at {size}x{size}",
        },
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default.keras")
    parser.add_argument("--alexnet-size", type=int, default=96)
    parser.add_argument("--alexnet-epochs", type=int, default=3)
    parser.add_argument("--vgg-size", type=int, default=32)
    parser.add_argument("--vgg-epochs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "compare_models.json")
    args = parser.parse_args(argv)

    import keras

    data = prepare_data(RunConfig(dataset=args.data, preprocessing="ink", image_size=224))
    leaked = leaked_test_samples(data.split, data.duplicates)
    clean = np.array([p not in leaked for p in data.test.paths])
    rows = []
    default = load_model(args.model)
    rows.append(
        measure(
            "default",
            default,
            data.test.x,
            data.test.y,
            clean,
            args.model.stat().st_size,
            {
                "input_size": 224,
                "budget": "committed model: " + default.card.training.get("command", ""),
                "train_seconds": default.card.training.get("seconds"),
            },
        )
    )

    if importlib.util.find_spec("trainer.models.alexnet") is not None:
        from trainer.models.alexnet import build_alexnet

        keras.utils.set_random_seed(1001)
        model = build_alexnet(len(data.index.class_names), args.alexnet_size)
        loaded, nbytes, extra = train_small("alexnet", model, data, args.alexnet_size, args.alexnet_epochs, 64)
        rows.append(
            measure("alexnet", loaded, shrink(data.test.x, args.alexnet_size), data.test.y, clean, nbytes, extra)
        )
    else:
        rows.append({"model": "alexnet", "not_run": "trainer/models/alexnet.py is not present"})

    if importlib.util.find_spec("trainer.models.vgg19") is not None:
        from trainer.models.vgg19 import build_vgg19

        keras.utils.set_random_seed(1001)
        model = build_vgg19(len(data.index.class_names), args.vgg_size, weights=None)
        loaded, nbytes, extra = train_small("vgg19", model, data, args.vgg_size, args.vgg_epochs, 64)
        extra["budget"] += " (frozen random base, head trained, as the notebook with weights=None)"
        rows.append(
            measure(
                "vgg19 (weights=None)", loaded, shrink(data.test.x, args.vgg_size), data.test.y, clean, nbytes, extra
            )
        )
    else:
        rows.append({"model": "vgg19", "not_run": "trainer/models/vgg19.py is not present"})

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "split": data.split.describe()["kind"],
                "test_images": len(data.test.y),
                "no_copy_images": int(clean.sum()),
                "models": rows,
            },
            indent=2,
        )
    )
    print(f"{'model':22s} {'test acc':>9s} {'no-copy':>9s} {'params':>11s} {'MB':>8s} {'ms (med)':>9s}  budget")
    for r in rows:
        if "not_run" in r:
            print(f"{r['model']:22s} not run: {r['not_run']}")
            continue
        print(
            f"{r['model']:22s} {r['test_accuracy']:9.4f} {r['no_copy_accuracy']:9.4f} {r['parameters']:11,d} "
            f"{r['file_mb']:8.2f} {r['latency_batch1']['median_ms']:9.2f}  {r['budget']}"
        )
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
