"""How much the VGG19 feature cache saves: one epoch the notebook's way vs the cached way, on this machine.

The notebook's way runs the full model (frozen VGG19 base + head) over the images every epoch. The cached
way runs the base once (feature extraction) and then trains only the head on the features each epoch.
Timing uses real training images of the notebook split (``--images`` of them, balanced over classes) at
``--size`` pixels; weights are random (``weights=None``): the cost does not depend on their values.

    python benchmarks/feature_cache.py --images 640 --size 224 --epochs 20

Writes ``benchmarks/results/feature_cache.json`` and prints the projected speed-up for ``--epochs`` epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "handwritten-math-symbols"


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t)

    return EpochTimer()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=640)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20, help="epochs to project the speed-up for")
    parser.add_argument(
        "--measure-epochs",
        type=int,
        default=2,
        help="epochs actually timed each way (the first includes graph tracing)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "feature_cache.json")
    args = parser.parse_args(argv)

    import keras

    from trainer.data.dataset import Sample, scan_dataset
    from trainer.data.loading import load_images
    from trainer.data.split import notebook_split
    from trainer.models.vgg19 import build_vgg19, compile_classifier, feature_extractor, head_model
    from trainer.training.features import extract_features
    from trainer.training.runs import one_hot

    index = scan_dataset(args.data)
    split = notebook_split(index)
    per_class = -(-args.images // len(index.class_names))
    seen: dict[int, int] = {}
    chosen: list[Sample] = []
    for s in split.train:
        if seen.get(s.label, 0) < per_class and len(chosen) < args.images:
            seen[s.label] = seen.get(s.label, 0) + 1
            chosen.append(s)
    images = load_images(chosen, method="notebook", size=args.size, use_cache=False)
    x, y = images.x, one_hot(images.y, len(index.class_names))
    classes = len(index.class_names)
    print(f"{len(x)} images at {args.size}x{args.size}, batch {args.batch}", file=sys.stderr)

    keras.utils.set_random_seed(1001)
    model = build_vgg19(classes, args.size, weights=None)
    timer = _epoch_timer()
    model.fit(x, y, batch_size=args.batch, epochs=args.measure_epochs, callbacks=[timer], verbose=0)
    full = timer.seconds
    print(f"notebook way: epochs {[round(s, 2) for s in full]} s", file=sys.stderr)

    keras.utils.set_random_seed(1001)
    model = build_vgg19(classes, args.size, weights=None)
    t = time.perf_counter()
    feats = extract_features(feature_extractor(model), x, args.batch)
    extract = time.perf_counter() - t
    head = head_model(model)
    compile_classifier(head)
    timer = _epoch_timer()
    head.fit(feats, y, batch_size=args.batch, epochs=args.measure_epochs, callbacks=[timer], verbose=0)
    cached = timer.seconds
    print(f"cached way: extraction {extract:.2f} s, head epochs {[round(s, 3) for s in cached]} s", file=sys.stderr)

    steady_full = full[-1]
    steady_head = cached[-1]
    n = args.epochs
    notebook_total = full[0] + (n - 1) * steady_full
    cached_total = extract + cached[0] + (n - 1) * steady_head
    result = {
        "what": "VGG19 (frozen base, weights=None) + Flatten/Dropout/Dense head; one epoch full model vs "
        "one feature-extraction pass + head epochs",
        "images": int(len(x)),
        "image_size": args.size,
        "batch_size": args.batch,
        "feature_shape": list(feats.shape[1:]),
        "measured_epochs": args.measure_epochs,
        "notebook_epoch_seconds": [round(s, 3) for s in full],
        "feature_extraction_seconds": round(extract, 3),
        "head_epoch_seconds": [round(s, 4) for s in cached],
        "projected_epochs": n,
        "projected_notebook_seconds": round(notebook_total, 1),
        "projected_cached_seconds": round(cached_total, 1),
        "speedup": round(notebook_total / cached_total, 2),
        "per_epoch_speedup_after_extraction": round(steady_full / steady_head, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_end": list(os.getloadavg()),
            "tensorflow": __import__("tensorflow").__version__,
        },
        "note": "CPU shared with other jobs while measured; absolute times are indicative, the ratio less so.",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{n} epochs: notebook way {notebook_total:.0f} s, cached way {cached_total:.0f} s, "
        f"speed-up x{result['speedup']}"
    )
    return result


if __name__ == "__main__":
    main()
