"""Seeded handwritten lines for measuring the line reader: random grammatical lines of arithmetic, drawn
either from real test-split images of the notebook's split (no training image leaks in) or from the stroke
templates as pad strokes.

Symbols get realistic sizes relative to a line height H: digits H tall, ``x z`` lower-case, ``+ × ÷ =``
smaller than digits and centred on the middle of the line, a minus a short bar, a point a small blob on the
baseline. Spacing, baseline, slope, ink colour and paper vary with the seed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from trainer.data.dataset import scan_dataset
from trainer.data.preprocess import ImageLike, edge_line_halo, ink_strength, load_rgb
from trainer.data.split import notebook_split
from trainer.data.strokes import TEMPLATES, Stroke, jittered

#: label -> (size over H, what the size measures: "h" height / "w" width / "s" longer side / "a" square root of
#: the area (a point drawn as a short smear stays as thick as a pen, not a hair), centre of the box over H above
#: the baseline (None: sits on the baseline), descent below the baseline over H)
LAYOUT: dict[str, tuple[float, str, float | None, float]] = {
    **{d: (1.0, "h", None, 0.0) for d in "0123456789"},
    "x": (0.62, "h", None, 0.0),
    "z": (0.62, "h", None, 0.0),
    "y": (0.85, "h", None, 0.28),
    "add": (0.6, "s", 0.45, 0.0),
    "mul": (0.5, "s", 0.45, 0.0),
    "div": (0.62, "w", 0.45, 0.0),
    "eq": (0.6, "w", 0.45, 0.0),
    "sub": (0.55, "w", 0.45, 0.0),
    "dec": (0.13, "a", None, 0.0),
}
OPERATORS = ("add", "sub", "mul", "div")
#: Gap between neighbouring symbols' boxes, drawn uniformly from this range, times H: spaced writing, writing
#: close together (digits of a number nearly touching; with a broad pen their ink may touch), and crowded
#: writing (boxes up to touching; some neighbours' strokes meet).
SPACING = (0.18, 0.55)
CLOSE_SPACING = (0.05, 0.2)
CROWDED_SPACING = (0.0, 0.1)


def random_line(rng: np.random.Generator) -> list[str]:
    """A grammatical line of class names: arithmetic (maybe ending in '='), an equation in one letter, or a
    relation of two letters."""

    def number(digits: int | None = None) -> list[str]:
        n = digits or int(rng.integers(1, 4))
        out = [str(rng.integers(1, 10))] + [str(rng.integers(0, 10)) for _ in range(n - 1)]
        if rng.random() < 0.2:
            out += ["dec", str(rng.integers(0, 10))]
        return out

    kind = rng.choice(["arithmetic", "equation", "relation"], p=[0.5, 0.35, 0.15])
    letters = ["x", "y", "z"]
    if kind == "arithmetic":
        line = number()
        for _ in range(int(rng.integers(1, 4))):
            line += [str(rng.choice(OPERATORS))] + number()
        return line + (["eq"] if rng.random() < 0.5 else [])
    if kind == "equation":
        v = str(rng.choice(letters))
        line = (number(1) if rng.random() < 0.7 else []) + [v]
        line += [str(rng.choice(("add", "sub")))] + number()
        return line + ["eq"] + number()
    a, b = rng.choice(letters, 2, replace=False)
    return [str(a), "eq"] + number(1) + [str(b), str(rng.choice(("add", "sub")))] + number(1)


def test_images(dataset: str | os.PathLike) -> dict[str, list[Path]]:
    """The notebook split's test images of a dataset folder, per class name."""
    index = scan_dataset(dataset)
    split = notebook_split(index)
    out: dict[str, list[Path]] = {name: [] for name in index.class_names}
    for sample in split.test:
        out[index.class_names[sample.label]].append(sample.path)
    return out


#: Ink components smaller than this share of a symbol image's ink are stray marks of the scan (a dot beside a
#: minus, a speck over a 7), not part of the symbol; a ÷ keeps its small dots. Thin lines across the whole
#: image (a page border a little inside the edge) are dropped too.
STRAY = 0.05


def symbol_alpha(image, label: str = "") -> np.ndarray:
    """A symbol image's ink as alpha in [0, 1], cropped to the ink (scanner edge lines and stray marks
    dropped)."""
    ink = ink_strength(load_rgb(image))
    mask = ink > 0.5
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if areas.size == 0:
        raise ValueError("no ink")
    share = 0.01 if label in ("div", "dec") else STRAY
    h, w = mask.shape
    rule = (stats[1:, cv2.CC_STAT_WIDTH] >= 0.9 * w) & (stats[1:, cv2.CC_STAT_HEIGHT] <= 0.1 * h)  # a ruled line
    wanted = (areas >= max(2.0, share * areas.sum())) & (~rule | rule.all())
    keep = np.isin(labels, np.flatnonzero(wanted) + 1)
    halo = edge_line_halo(keep)
    if halo is not None:
        keep &= ~halo
    near = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ys, xs = np.nonzero(keep)
    alpha = np.where(near, ink, 0.0).astype(np.float32)
    return alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


@dataclass
class Placed:
    """Where a symbol goes: its class name and box (x, y, w, h) on the line."""

    label: str
    box: tuple[float, float, float, float]


def _layout(
    sizes: list[tuple[str, float, float]],
    rng: np.random.Generator,
    height: float,
    spacing: tuple[float, float] = SPACING,
) -> tuple[list[Placed], float, float]:
    """Boxes for symbols of natural size (w, h), scaled per LAYOUT, spaced and jittered on a sloped baseline."""
    slope = np.tan(np.radians(rng.uniform(-3, 3)))
    x, placed = 0.5 * height, []
    baseline0 = 1.6 * height
    for label, w, h in sizes:
        share, measure, centre, descent = LAYOUT[label]
        target = share * height * rng.uniform(0.9, 1.1)
        scale = target / {"h": h, "w": w, "s": max(w, h), "a": (w * h) ** 0.5}[measure]
        sw, sh = w * scale, h * scale
        baseline = baseline0 + slope * x + rng.normal(0, 0.04 * height)
        if centre is None:
            y = baseline + descent * height - sh
        else:
            y = baseline - centre * height - sh / 2
        placed.append(Placed(label, (x, y, sw, sh)))
        x += sw + rng.uniform(*spacing) * height
    width = x + 0.5 * height
    lift = max(0.0, 0.3 * height - min(p.box[1] for p in placed))  # a long line rising to the right stays inside
    if lift:
        placed = [Placed(p.label, (p.box[0], p.box[1] + lift, p.box[2], p.box[3])) for p in placed]
    depth = max(baseline0 + abs(slope) * width, max(p.box[1] + p.box[3] for p in placed)) + 0.8 * height
    return placed, width, depth


def image_line(
    labels: list[str],
    pool: Mapping[str, Sequence[ImageLike]],
    rng: np.random.Generator,
    height: float = 64.0,
    spacing: tuple[float, float] = SPACING,
) -> tuple[np.ndarray, list[Placed]]:
    """A line composed of randomly chosen images (files or arrays) of each class: RGB image and the symbols' boxes."""
    alphas = [symbol_alpha(pool[label][int(rng.integers(len(pool[label])))], label) for label in labels]
    sizes = [(lab, a.shape[1], a.shape[0]) for lab, a in zip(labels, alphas, strict=True)]
    placed, width, depth = _layout(sizes, rng, height, spacing)
    canvas = np.zeros((int(np.ceil(depth)), int(np.ceil(width))), np.float32)
    for p, alpha in zip(placed, alphas, strict=True):
        x, y, w, h = p.box
        piece = cv2.resize(alpha, (max(1, round(w)), max(1, round(h))), interpolation=cv2.INTER_AREA)
        x0, y0 = max(0, round(x)), max(0, round(y))
        region = canvas[y0 : y0 + piece.shape[0], x0 : x0 + piece.shape[1]]
        np.maximum(region, piece[: region.shape[0], : region.shape[1]], out=region)
    return _colour(canvas, rng), placed


def pasted_line(
    labels: list[str], pool: Mapping[str, Sequence[ImageLike]], rng: np.random.Generator, height: int = 100
) -> np.ndarray:
    """A line made the quick way, by pasting randomly chosen images of each class side by side, each scaled to
    ``height``: every symbol keeps its own image's framing (its size and height in the line), paper and scan
    edges."""
    tiles = []
    for label in labels:
        rgb = load_rgb(pool[label][int(rng.integers(len(pool[label])))])
        h, w = rgb.shape[:2]
        tiles.append(cv2.resize(rgb, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA))
    return np.concatenate(tiles, axis=1)


def _colour(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink on paper: mostly dark on white, sometimes coloured ink, tinted paper or light on dark."""
    ink = np.array((20, 20, 20), np.float32)
    paper = np.array((255, 255, 255), np.float32)
    roll = rng.random()
    if roll < 0.2:
        ink = np.array(rng.choice([(30, 60, 200), (200, 30, 30), (30, 130, 40)]), np.float32)
    elif roll < 0.3:
        paper = np.array((250, 240, 190), np.float32)
    elif roll < 0.4:
        ink, paper = np.array((240, 240, 240), np.float32), np.array((30, 30, 40), np.float32)
    out = paper * (1 - alpha[:, :, None]) + ink * alpha[:, :, None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def stroke_line(
    labels: list[str],
    rng: np.random.Generator,
    height: float = 60.0,
    pen: float = 4.0,
    spacing: tuple[float, float] = SPACING,
) -> tuple[list[Stroke], list[float], list[Placed]]:
    """A line as pad strokes (canvas pixels) from jittered stroke templates; the pen width varies a little."""
    shapes = []
    for label in labels:
        strokes = jittered(TEMPLATES[label], rng, 0.7)
        pts = np.concatenate([np.asarray(s, float) for s in strokes])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        shapes.append((strokes, lo, np.maximum(hi - lo, 0.02)))
    sizes = [(lab, float(ext[0]), float(ext[1])) for lab, (_, _, ext) in zip(labels, shapes, strict=True)]
    placed, _, _ = _layout(sizes, rng, height, spacing)
    out: list[Stroke] = []
    for p, (strokes, lo, ext) in zip(placed, shapes, strict=True):
        x, y, w, h = p.box
        if p.label == "dec":  # a dot is one pen-down, whatever its template extent
            out.append([(x + w / 2, y + h / 2)])
            continue
        for s in strokes:
            q = (np.asarray(s, float) - lo) / ext * (w, h) + (x, y)
            out.append([(float(v[0]), float(v[1])) for v in q])
    width = pen * float(rng.uniform(0.8, 1.25))
    return out, [width * (2.0 if len(s) == 1 else 1.0) for s in out], placed
