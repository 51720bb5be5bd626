"""Benchmark of ``adapt`` (issue 8): teach the pad a new writer and new symbols, and check nothing is lost.

    python benchmarks/adapt.py [--model models/default.keras] [--data DIR] [--epochs N] [--per-class 5] [--seed 0]

A simulated writer draws with shapes real people use that none of the default model's training styles
(trainer/data/styles.py) has: a slashed 0 (Ø), 7 with a curly stem, = in one stroke (a flat Z), * for ×,
γ-like y and ʒ-like z with a tail loop, which the shipped model misreads (as 8, z, z, +, 8 and 3), plus ones
it reads anyway (Continental 1, sharp Z-like 2, Ч-like 4, hourglass 8, g-like 9, t-like +, colon-like ÷);
all with a thick pen and a slant of their own. ``--per-class`` of their drawings per class go into a samples
folder (exactly as the pad saves corrections); 40 other drawings per class are the writer's test, and 40
more drawn more loosely (twice the jitter, any pen from thin to thick) test drawings less like the samples. The
templates were chosen on seed 7; the reported run uses seed 0. Then:

1. **writer**: ``adapt`` on those samples; accuracy on the writer's other drawings before and after, the
   notebook test split (1018 images) before and after, and the wall time of the whole call;
2. **new symbols**: the same samples plus 10 drawings each of ``(``, ``)`` and ``√`` (symbol.txt gives the
   character and LaTeX); accuracy on other drawings of the new symbols and on the notebook test split.

Wall time, CPU time (all threads) and the 1-minute load average before each run are recorded. Writes
benchmarks/results/adapt.json (relative paths only) and prints the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.data.preprocess import to_model_input  # noqa: E402
from trainer.data.samples import save_sample  # noqa: E402
from trainer.data.strokes import TEMPLATES, jittered, render  # noqa: E402
from trainer.labels import CLASS_NAMES  # noqa: E402
from trainer.serving.modelio import load_model  # noqa: E402
from trainer.training.adapt import AdaptConfig, adapt  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "handwritten-math-symbols"
RESULTS = ROOT / "benchmarks" / "results" / "adapt.json"


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int) -> list[tuple[float, float]]:
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(start, end, n)
    ]


#: The writer's own way of drawing (unit square, y down): allographs real people use that are none of the
#: default model's training styles (trainer/data/styles.py); classes not listed use the shared templates.
WRITER_STYLES: dict[str, list[list[tuple[float, float]]]] = {
    "0": [_arc(0.5, 0.5, 0.24, 0.37, -90, 270, 30), [(0.3, 0.93), (0.72, 0.07)]],  # slashed, Ø
    "1": [[(0.2, 0.55), (0.58, 0.1), (0.58, 0.9)]],  # a long up-stroke, as on the Continent
    "2": [[(0.24, 0.26), (0.3, 0.13), (0.46, 0.1), (0.72, 0.13), (0.25, 0.88), (0.78, 0.86)]],  # sharp, Z-like
    "4": [[(0.28, 0.1), (0.27, 0.42), (0.35, 0.54), (0.5, 0.56), (0.72, 0.5)], [(0.72, 0.1), (0.72, 0.92)]],  # Ч
    "7": [
        [
            (0.24, 0.14),
            (0.4, 0.1),
            (0.6, 0.14),
            (0.76, 0.12),
            (0.55, 0.52),
            (0.48, 0.74),
            (0.5, 0.88),
            (0.6, 0.93),
            (0.7, 0.86),
        ]
    ],  # a wavy top and a stem curling right
    "8": [[(0.5, 0.5), (0.28, 0.12), (0.72, 0.12), (0.5, 0.5), (0.26, 0.88), (0.74, 0.88), (0.5, 0.5)]],  # ⧗
    "9": [
        _arc(0.47, 0.3, 0.2, 0.18, 0, -360, 22)
        + [(0.67, 0.55), (0.64, 0.78), (0.55, 0.9), (0.4, 0.92), (0.3, 0.84), (0.34, 0.72), (0.48, 0.7)]
    ],  # g-like
    "add": [[(0.45, 0.1), (0.45, 0.78), (0.52, 0.9), (0.66, 0.86)], [(0.32, 0.36), (0.74, 0.36)]],  # t-like
    "dec": [[(0.5, 0.5)]],  # a big dot
    "div": [[(0.44, 0.5), (0.56, 0.5)], [(0.5, 0.3)], [(0.5, 0.7)]],  # a colon with a short bar
    "eq": [[(0.2, 0.4), (0.8, 0.4), (0.22, 0.6), (0.8, 0.6)]],  # both bars in one stroke, joined: a flat Z
    "mul": [[(0.5, 0.2), (0.5, 0.8)], [(0.25, 0.33), (0.75, 0.67)], [(0.75, 0.33), (0.25, 0.67)]],  # *
    "sub": [[(0.38, 0.5), (0.62, 0.5)]],  # short
    "y": [
        [
            (0.18, 0.14),
            (0.3, 0.14),
            (0.5, 0.48),
            (0.58, 0.7),
            (0.56, 0.9),
            (0.48, 0.95),
            (0.42, 0.88),
            (0.46, 0.68),
            (0.6, 0.34),
            (0.82, 0.12),
        ]
    ],  # γ, looped at the bottom
    "z": [
        [
            (0.25, 0.08),
            (0.72, 0.08),
            (0.42, 0.36),
            (0.62, 0.42),
            (0.7, 0.55),
            (0.62, 0.68),
            (0.56, 0.8),
            (0.54, 0.92),
            (0.44, 0.98),
            (0.32, 0.9),
            (0.4, 0.78),
            (0.56, 0.74),
            (0.7, 0.72),
        ]
    ],  # ʒ, a tail loop
}
NEW_SYMBOLS = {
    "lparen": ("(", r"\left(", [[(0.6, 0.08), (0.42, 0.3), (0.38, 0.5), (0.42, 0.7), (0.6, 0.92)]]),
    "rparen": (")", r"\right)", [[(0.4, 0.08), (0.58, 0.3), (0.62, 0.5), (0.58, 0.7), (0.4, 0.92)]]),
    "sqrt": ("√", r"\sqrt{}", [[(0.12, 0.6), (0.25, 0.52), (0.4, 0.9), (0.55, 0.12), (0.9, 0.12)]]),
}
WRITER_WIDTH = 0.075  # a thick pen
WRITER_SLANT = 0.22  # leaning right


#: The writer on another day: twice the jitter, and any pen from thin to thicker than theirs.
LOOSER_JITTER, LOOSER_WIDTH = 1.4, (0.035, 0.11)


def writer_drawing(strokes, rng: np.random.Generator, looser: bool = False) -> np.ndarray:
    """One drawing by the writer: their slant and pen, plus the usual hand-to-hand jitter; as the pad saves it."""
    slanted = [[(x + WRITER_SLANT * (0.5 - y), y) for x, y in s] for s in strokes]
    width = rng.uniform(*LOOSER_WIDTH) if looser else WRITER_WIDTH * rng.uniform(0.85, 1.15)
    return to_model_input(render(jittered(slanted, rng, LOOSER_JITTER if looser else 0.7), 160, width), "ink")


def draw_class(strokes, count: int, rng: np.random.Generator, looser: bool = False) -> np.ndarray:
    return np.stack([writer_drawing(strokes, rng, looser) for _ in range(count)])


def cpu_seconds() -> float:
    """CPU time of this process, all threads: what a run costs apart from other jobs on the machine."""
    t = os.times()
    return t.user + t.system


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float((model.predict_inputs(x).argmax(1) == y).mean())


def per_class(model, x: np.ndarray, y: np.ndarray, labels: list[str]) -> dict[str, float]:
    pred = model.predict_inputs(x).argmax(1)
    return {labels[c]: round(float((pred[y == c] == c).mean()), 4) for c in np.unique(y)}


def misread(model, x: np.ndarray, y: np.ndarray, labels: list[str]) -> dict[str, dict[str, int]]:
    """For every class with errors, what its drawings were read as instead (label: count)."""
    pred = model.predict_inputs(x).argmax(1)
    out: dict[str, dict[str, int]] = {}
    for c in np.unique(y):
        wrong, counts = np.unique(pred[(y == c) & (pred != c)], return_counts=True)
        if len(wrong):
            out[labels[c]] = {labels[w]: int(n) for w, n in zip(wrong, counts, strict=True)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default.keras"))
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--per-class", type=int, default=5)
    parser.add_argument("--test-per-class", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed + 100)
    styles = {c: WRITER_STYLES.get(c, TEMPLATES[c]) for c in CLASS_NAMES}
    base = load_model(args.model)
    where = {c: i for i, c in enumerate(base.labels)}
    work = Path(tempfile.mkdtemp(prefix="mathsym-adapt-"))
    epochs = {"epochs": args.epochs} if args.epochs else {}
    try:
        samples = work / "samples"
        for c, strokes in styles.items():
            for raster in draw_class(strokes, args.per_class, rng):
                save_sample([], raster, c, samples)
        test_x = np.concatenate([draw_class(styles[c], args.test_per_class, rng) for c in CLASS_NAMES])
        test_y = np.repeat([where[c] for c in CLASS_NAMES], args.test_per_class)
        looser_x = np.concatenate([draw_class(styles[c], args.test_per_class, rng, looser=True) for c in CLASS_NAMES])
        load_before = os.getloadavg()[0]

        start, cpu = time.perf_counter(), cpu_seconds()
        out = adapt(
            AdaptConfig(
                samples, Path(args.model), work / "writer.keras", data=Path(args.data), seed=args.seed, **epochs
            )
        )
        writer_seconds, writer_cpu = time.perf_counter() - start, cpu_seconds() - cpu
        adapted = load_model(out)
        writer = {
            "samples_per_class": args.per_class,
            "samples": len(CLASS_NAMES) * args.per_class,
            "seconds": round(writer_seconds, 1),
            "cpu_seconds": round(writer_cpu, 1),
            "load_average_before": round(load_before, 2),
            "writer_accuracy_before": round(accuracy(base, test_x, test_y), 4),
            "writer_accuracy_after": round(accuracy(adapted, test_x, test_y), 4),
            "writer_looser_accuracy_before": round(accuracy(base, looser_x, test_y), 4),
            "writer_looser_accuracy_after": round(accuracy(adapted, looser_x, test_y), 4),
            "writer_per_class_before": per_class(base, test_x, test_y, base.labels),
            "writer_per_class_after": per_class(adapted, test_x, test_y, adapted.labels),
            "writer_misread_before": misread(base, test_x, test_y, base.labels),
            "writer_misread_after": misread(adapted, test_x, test_y, adapted.labels),
            "notebook_test_before": round(adapted.card.metrics["base_test_accuracy"], 4),
            "notebook_test_after": round(adapted.card.metrics["test_accuracy"], 4),
            "epochs": adapted.card.training["epochs"],
        }
        print(json.dumps(writer, indent=1))

        new_x, new_y = [], []
        for i, (name, (char, tex, strokes)) in enumerate(NEW_SYMBOLS.items()):
            for raster in draw_class(strokes, 10, rng):
                save_sample([], raster, name, samples)
            (samples / name / "symbol.txt").write_text(f"{char}\n{tex}\n", encoding="utf-8")
            new_x.append(draw_class(strokes, args.test_per_class, rng))
            new_y.append(np.full(args.test_per_class, len(base.labels) + i))
        load_grown = os.getloadavg()[0]
        start, cpu = time.perf_counter(), cpu_seconds()
        out = adapt(
            AdaptConfig(samples, Path(args.model), work / "grown.keras", data=Path(args.data), seed=args.seed, **epochs)
        )
        grown_seconds, grown_cpu = time.perf_counter() - start, cpu_seconds() - cpu
        grown = load_model(out)
        nx, ny = np.concatenate(new_x), np.concatenate(new_y)
        new_symbols = {
            "classes": {n: c for n, (c, _, _) in NEW_SYMBOLS.items()},
            "labels": grown.labels,
            "samples": sum(grown.card.training["samples"]["counts"].values()),
            "seconds": round(grown_seconds, 1),
            "cpu_seconds": round(grown_cpu, 1),
            "load_average_before": round(load_grown, 2),
            "new_symbol_accuracy": round(accuracy(grown, nx, ny), 4),
            "new_symbol_per_class": per_class(grown, nx, ny, grown.labels),
            "new_symbol_misread": misread(grown, nx, ny, grown.labels),
            "new_class_penalty": grown.card.training["new_class_penalty"],
            "writer_accuracy_after": round(accuracy(grown, test_x, test_y), 4),
            "notebook_test_before": round(grown.card.metrics["base_test_accuracy"], 4),
            "notebook_test_after": round(grown.card.metrics["test_accuracy"], 4),
        }
        print(json.dumps(new_symbols, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "benchmark": "adapt",
        "model": os.path.relpath(args.model, ROOT),
        "data": os.path.relpath(args.data, ROOT),
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg()), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
        "seed": args.seed,
        "writer": writer,
        "new_symbols": new_symbols,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
