"""Symbols drawn from stroke templates: test data the tests make themselves, and canvas-like drawings.

A stroke is a list of (x, y) points in the unit square (y down); a one-point stroke is a dot. The same
templates feed synthetic datasets for tests, robustness benchmarks, and GUI tests that draw with the mouse.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from trainer.labels import CLASS_NAMES

Stroke = list[tuple[float, float]]


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = -90, end: float = 270, n: int = 24) -> Stroke:
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(start, end, n)
    ]


TEMPLATES: dict[str, list[Stroke]] = {
    "0": [_ellipse(0.5, 0.5, 0.26, 0.4)],
    "1": [[(0.38, 0.25), (0.55, 0.1), (0.55, 0.9)]],
    "2": [[(0.27, 0.28), (0.35, 0.15), (0.52, 0.1), (0.68, 0.17), (0.72, 0.32), (0.62, 0.5), (0.25, 0.9), (0.78, 0.9)]],
    "3": [
        [
            (0.27, 0.17),
            (0.45, 0.1),
            (0.65, 0.15),
            (0.7, 0.3),
            (0.6, 0.43),
            (0.45, 0.48),
            (0.62, 0.53),
            (0.74, 0.68),
            (0.68, 0.84),
            (0.5, 0.91),
            (0.27, 0.84),
        ]
    ],
    "4": [[(0.62, 0.9), (0.62, 0.1), (0.22, 0.66), (0.8, 0.66)]],
    "5": [
        [
            (0.72, 0.1),
            (0.33, 0.1),
            (0.3, 0.45),
            (0.5, 0.4),
            (0.68, 0.48),
            (0.74, 0.66),
            (0.66, 0.84),
            (0.48, 0.91),
            (0.27, 0.85),
        ]
    ],
    "6": [
        [
            (0.66, 0.1),
            (0.46, 0.22),
            (0.32, 0.45),
            (0.29, 0.7),
            (0.38, 0.88),
            (0.55, 0.91),
            (0.7, 0.78),
            (0.69, 0.6),
            (0.55, 0.5),
            (0.38, 0.55),
            (0.3, 0.68),
        ]
    ],
    "7": [[(0.24, 0.12), (0.76, 0.12), (0.45, 0.9)]],
    "8": [_ellipse(0.5, 0.29, 0.19, 0.19, 90, 450, 20) + _ellipse(0.5, 0.69, 0.23, 0.21, -90, 270, 22)],
    "9": [
        [
            (0.7, 0.3),
            (0.6, 0.14),
            (0.42, 0.12),
            (0.3, 0.25),
            (0.33, 0.42),
            (0.5, 0.48),
            (0.66, 0.4),
            (0.7, 0.3),
            (0.68, 0.6),
            (0.64, 0.9),
        ]
    ],
    "add": [[(0.5, 0.2), (0.5, 0.8)], [(0.2, 0.5), (0.8, 0.5)]],
    "dec": [[(0.5, 0.75)]],
    "div": [[(0.2, 0.5), (0.8, 0.5)], [(0.5, 0.27)], [(0.5, 0.73)]],
    "eq": [[(0.2, 0.4), (0.8, 0.4)], [(0.2, 0.6), (0.8, 0.6)]],
    "mul": [[(0.3, 0.3), (0.7, 0.7)], [(0.7, 0.3), (0.3, 0.7)]],
    "sub": [[(0.2, 0.5), (0.8, 0.5)]],
    # x as this dataset's writers make it: two back-to-back curves, ")(" (a straight cross reads as ×)
    "x": [
        [(0.3, 0.15), (0.45, 0.3), (0.5, 0.5), (0.45, 0.72), (0.32, 0.88)],
        [(0.72, 0.15), (0.56, 0.3), (0.5, 0.5), (0.56, 0.72), (0.72, 0.88)],
    ],
    "y": [[(0.28, 0.15), (0.5, 0.5)], [(0.74, 0.15), (0.36, 0.9)]],
    # z with its cross-bar, as the dataset writes it (a bare Z is a 2 to a model trained on it)
    "z": [[(0.26, 0.2), (0.74, 0.2), (0.26, 0.8), (0.74, 0.8)], [(0.35, 0.5), (0.65, 0.5)]],
}


def jittered(strokes: list[Stroke], rng: np.random.Generator, amount: float = 1.0) -> list[Stroke]:
    """A handwriting-like variant: random rotation, shear, scale, offset and wobble of every point."""
    angle = math.radians(rng.normal(0, 6 * amount))
    shear = rng.normal(0, 0.12 * amount)
    sx, sy = rng.uniform(1 - 0.15 * amount, 1 + 0.1 * amount, 2)
    a = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ np.array(
        [[sx, shear], [0, sy]]
    )
    offset = rng.normal(0, 0.03 * amount, 2)
    out = []
    for stroke in strokes:
        pts = np.array(stroke, float) - 0.5
        pts = pts @ a.T + 0.5 + offset + rng.normal(0, 0.008 * amount, pts.shape)
        out.append([tuple(p) for p in pts])
    return out


def render(
    strokes: list[Stroke],
    size: int = 224,
    width: float = 0.04,
    ink: tuple[int, int, int] = (0, 0, 0),
    background: tuple[int, int, int] = (255, 255, 255),
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    dot_scale: float = 1.3,
) -> np.ndarray:
    """Rasterise strokes anti-aliased into an RGB image; ``box`` (x, y, w, h) places the unit square.

    A one-point stroke is a dot whose radius is ``dot_scale`` pen widths.
    """
    scale = 4  # draw large and shrink: smooth edges, sub-pixel widths
    canvas = np.zeros((size * scale, size * scale), np.uint8)
    bx, by, bw, bh = box
    pen = max(1, round(width * size * scale))
    for stroke in strokes:
        pts = np.array([((bx + x * bw) * size * scale, (by + y * bh) * size * scale) for x, y in stroke])
        pts = np.round(pts).astype(np.int32)
        if len(pts) == 1:
            cv2.circle(canvas, tuple(int(v) for v in pts[0]), max(pen, round(pen * dot_scale)), 255, -1, cv2.LINE_AA)
        else:
            cv2.polylines(canvas, [pts], False, 255, pen, cv2.LINE_AA)
    alpha = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)[:, :, None] / 255
    image = np.array(background, np.float32) * (1 - alpha) + np.array(ink, np.float32) * alpha
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def draw_symbol(label: str, rng: np.random.Generator | None = None, size: int = 224, **style) -> np.ndarray:
    """One symbol as an RGB image; with ``rng`` it is a jittered, handwriting-like variant."""
    strokes = TEMPLATES[label]
    if rng is not None:
        strokes = jittered(strokes, rng)
        style.setdefault("width", float(rng.uniform(0.025, 0.06)))
    return render(strokes, size, **style)


def make_dataset(
    root: str | os.PathLike, per_class: int = 10, classes: tuple[str, ...] = CLASS_NAMES, seed: int = 0, size: int = 96
) -> Path:
    """Write a Kaggle-style folder (one sub-folder per class) of jittered template drawings, PNG and JPEG."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for name in classes:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = draw_symbol(name, rng, size=size)
            suffix = ".png" if i % 2 else ".jpg"
            cv2.imwrite(str(folder / f"{name}_{i:03d}{suffix}"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return root
