"""The one preprocessing contract: any image (file, bytes, array, rendered canvas) -> model input.

Training, evaluation, prediction and the GUI all call :func:`to_model_input`. The result is always an
(size, size, 3) uint8 RGB array of raw 0-255 values; models scale inside. Two methods exist:

* ``"notebook"``: what the original notebook did (decode, alpha onto white, bilinear resize to size x size).
  Legacy notebook models and faithful reproductions use it.
* ``"ink"``: normalise what does not identify a symbol, keep what does. Ink of any colour or polarity on any
  background, under uneven lighting, becomes dark ink on white; the symbol is centred and scaled so its longer
  side fills a fixed share of the frame (aspect ratio kept, so "-" stays a bar and "." a blob); very thin
  strokes are thickened towards a common pen width. A decimal point stays a filled blob, never a ring. A thin
  line hugging an image edge (the dark bottom row some scans have) is a border, not writing, and is dropped.
"""

from __future__ import annotations

import os
from typing import Literal

import cv2
import numpy as np

from .errors import EmptyImageError
from .imageio import as_rgb, read_image

#: Bump whenever an output of to_model_input changes: cached preprocessed arrays are keyed by it.
VERSION = 2

Method = Literal["notebook", "ink"]
METHODS: tuple[str, ...] = ("notebook", "ink")
INPUT_SIZE = 224

#: Share of the frame taken by the symbol's longer side after "ink" normalisation.
FILL = 0.8
#: Stroke width the "ink" method thickens thin strokes towards, as a share of the frame.
PEN_WIDTH = 0.055
#: Longest side of the working raster for ink analysis (bigger inputs are reduced first).
_WORK = 320
#: A scanner or page border is not writing: a line lying within this share of the side from an image edge
#: and running along at least EDGE_SPAN of that edge is dropped (unless it is the only ink).
EDGE_BAND = 0.06
EDGE_SPAN = 0.5

ImageLike = str | os.PathLike | bytes | np.ndarray


def load_rgb(image: ImageLike) -> np.ndarray:
    """A path, encoded bytes or array as (H, W, 3) uint8 RGB."""
    if isinstance(image, np.ndarray):
        return as_rgb(image)
    return read_image(image)


def to_model_input(image: ImageLike, method: Method = "ink", size: int = INPUT_SIZE) -> np.ndarray:
    """Turn any image into the model's (size, size, 3) uint8 RGB input.

    Raises ImageError for unreadable input and EmptyImageError when "ink" finds nothing drawn.
    """
    rgb = load_rgb(image)
    if method == "notebook":
        return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    if method == "ink":
        ink = normalised_ink(rgb, size)
        gray = np.clip(255.0 - ink * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    raise ValueError(f"Unknown preprocessing method {method!r}; expected one of {METHODS}.")


def normalised_ink(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Ink strength in [0, 1] on a (size, size) frame, centred, scaled and pen-normalised."""
    ink = ink_strength(rgb)
    mask = _symbol_mask(ink)
    if mask is None:
        raise EmptyImageError("Nothing is drawn: the image has no visible ink.")
    halo = edge_line_halo(mask)
    if halo is not None:
        ink = np.where(halo, 0.0, ink).astype(np.float32)
        mask = mask & ~halo
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    framed = _frame(ink, (y0, y1, x0, x1), size)
    return _normalise_pen(framed, size)


def ink_strength(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel ink strength in [0, 1], independent of ink colour, polarity and smooth lighting.

    The background is a smooth colour surface fitted to the image border (robust to strokes that cross
    it); ink is how far a pixel's colour departs from that surface, contrast-stretched so faint pencil and
    bold marker both reach 1.
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, _WORK / max(h, w))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    img = rgb.astype(np.float32) / 255.0
    background, noise = _background(img)
    # Per-channel planes: OpenCV's element-wise ops beat NumPy's reductions over a 3-long last axis.
    channels = [cv2.absdiff(plane, surface) for plane, surface in zip(cv2.split(img), background)]
    diff = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
    floor = max(0.06, 4.0 * noise)
    strong = diff[diff > floor]
    if strong.size == 0:
        return np.zeros(diff.shape, np.float32)
    top = max(float(np.percentile(strong, 90)), floor + 0.05)
    return np.clip((diff - floor) / (top - floor), 0.0, 1.0).astype(np.float32)


def _background(img: np.ndarray) -> tuple[list[np.ndarray], float]:
    """Fit a quadratic colour surface to the border ring; return it (one plane per channel, clipped to
    [0, 1]) and the ring's noise level."""
    h, w = img.shape[:2]
    ring = max(1, round(0.04 * min(h, w)))
    on_ring = np.zeros((h, w), bool)
    on_ring[:ring], on_ring[-ring:], on_ring[:, :ring], on_ring[:, -ring:] = True, True, True, True
    u = np.arange(w, dtype=np.float32) / max(w - 1, 1) - 0.5  # per column
    v = np.arange(h, dtype=np.float32) / max(h - 1, 1) - 0.5  # per row
    ys, xs = np.nonzero(on_ring)
    ru, rv = u[xs], v[ys]
    terms = 6 if min(h, w) >= 8 else 1  # too small for a surface: a flat colour will do
    design = np.stack([np.ones_like(ru), ru, rv, ru * rv, ru * ru, rv * rv], axis=-1)[:, :terms]
    samples = img[ys, xs]
    # Start from the median colour, then refit without the pixels that look like ink.
    keep = np.abs(samples - np.median(samples, axis=0)).max(axis=1) < 0.25
    if keep.sum() < terms * 3:
        keep = np.ones(len(samples), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep], samples[keep], rcond=None)
        residual = np.abs(design @ coef - samples).max(axis=1)
        sigma = 1.4826 * float(np.median(residual[keep])) + 1e-3
        new_keep = residual < max(3.0 * sigma, 0.04)
        if new_keep.sum() < terms * 3 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    coef = np.vstack([coef, np.zeros((6 - terms, coef.shape[1]))]).astype(np.float32)
    # The surface separates into row terms, column terms and one u*v plane: build it by broadcasting.
    uv = np.outer(v, u)
    planes = []
    for c0, cu, cv, cuv, cuu, cvv in coef.T:
        row = (c0 + cv * v + cvv * v * v)[:, None]
        col = (cu * u + cuu * u * u)[None, :]
        planes.append(np.clip(row + col + cuv * uv, 0.0, 1.0))
    return planes, sigma


def _symbol_mask(ink: np.ndarray) -> np.ndarray | None:
    """Pixels of the drawn symbol: confident ink, without specks of sensor or JPEG noise."""
    binary = (ink > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    min_area = max(2.0, 0.01 * areas.sum(), 1e-5 * ink.size)
    keep = np.flatnonzero(areas >= min_area) + 1
    if keep.size == 0:
        return None
    return np.isin(labels, keep)


def edge_line_halo(mask: np.ndarray) -> np.ndarray | None:
    """Where to erase thin lines hugging an image edge (e.g. the dark bottom row of some scans), with their
    anti-aliased/JPEG halo, when other ink remains; None when there are none.

    A component is such a line when it lies entirely within the outer EDGE_BAND of one edge and spans at
    least EDGE_SPAN of it. A stroke that touches the line is part of its component and keeps it; a symbol
    cropped tightly (a bare "-") spans the whole height, not only the band, and is never dropped.
    """
    h, w = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    band_y, band_x = max(2, int(np.ceil(EDGE_BAND * h))), max(2, int(np.ceil(EDGE_BAND * w)))
    drop = []
    for k in range(1, count):
        x, y, cw, ch = (int(v) for v in stats[k, :4])
        horizontal = cw >= EDGE_SPAN * w and (y + ch <= band_y or y >= h - band_y)
        vertical = ch >= EDGE_SPAN * h and (x + cw <= band_x or x >= w - band_x)
        if horizontal or vertical:
            drop.append(k)
    if not drop or len(drop) == count - 1:
        return None
    lines = np.isin(labels, drop).astype(np.uint8)
    return cv2.dilate(lines, np.ones((5, 5), np.uint8)).astype(bool)


def _frame(ink: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """Crop the box, centre it on a square canvas with the longer side at FILL, resize to size."""
    y0, y1, x0, x1 = box
    side = max(y1 - y0, x1 - x0) / FILL
    cy, cx = (y0 + y1) / 2.0, (x0 + x1) / 2.0
    scale = size / side
    # Affine map from source to the output frame; pixels outside the image are no ink.
    matrix = np.float32([[scale, 0, size / 2.0 - cx * scale], [0, scale, size / 2.0 - cy * scale]])
    flags = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    if scale < 1.0:  # INTER_AREA is only honoured by resize: shrink first, then place.
        h, w = ink.shape
        small = cv2.resize(ink, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        fx, fy = small.shape[1] / w, small.shape[0] / h
        matrix = np.float32([[1, 0, size / 2.0 - cx * fx], [0, 1, size / 2.0 - cy * fy]])
        return cv2.warpAffine(small, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return cv2.warpAffine(ink, matrix, (size, size), flags=flags, borderValue=0.0)


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the ink area over its outline length (a line's width)."""
    binary = (ink > 0.5).astype(np.uint8)
    area = float(binary.sum())
    if area == 0:
        return 0.0
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * area / max(perimeter, 1.0)


def _normalise_pen(ink: np.ndarray, size: int) -> np.ndarray:
    """Thicken strokes thinner than the common pen width (thick ones are left: a dot must stay a dot)."""
    target = PEN_WIDTH * size
    width = stroke_width(ink)
    grow = int(round((target - width) / 2.0))
    if grow < 1:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(ink, kernel)
