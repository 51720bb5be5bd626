"""Robustness variants: raw test images re-drawn the ways other people's handwriting arrives.

Every variant takes a raw RGB image (H, W, 3) uint8 of dark ink on light paper (the Kaggle style, before
any preprocessing) and a NumPy random generator, and returns another raw RGB image; the model then sees
it through the normal ``to_model_input`` path. ``canvas_drawings`` adds drawings rendered from the stroke
templates, as the app's canvas makes them. No Qt; shared by tests and ``benchmarks/default_model.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from trainer.data.preprocess import edge_line_halo, stroke_width
from trainer.data.strokes import draw_symbol
from trainer.data.styles import tiny_28x28
from trainer.labels import CLASS_NAMES

Variant = Callable[[np.ndarray, np.random.Generator], np.ndarray]

_COLOURS = [(20, 40, 200), (200, 30, 30), (20, 130, 40), (120, 40, 160), (90, 90, 90), (0, 110, 160)]
_PAPERS = [(255, 255, 255), (250, 244, 225), (235, 240, 250), (245, 235, 240), (230, 230, 230)]


def ink_alpha(rgb: np.ndarray) -> np.ndarray:
    """How much ink of the handwriting each pixel holds, in [0, 1] (dark on light paper).

    A scan-border line along an image edge (some Kaggle JPEGs have one) is not handwriting and is left
    out, so re-drawn variants (re-placed, re-sized, thickened) do not carry it into the middle of a canvas.
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    paper = float(np.percentile(gray, 90))
    alpha = np.clip((paper - gray) / max(paper - 10.0, 1.0), 0.0, 1.0)
    halo = edge_line_halo(alpha > 0.5)
    if halo is not None:
        alpha[halo] = 0.0
    return alpha


def compose(alpha: np.ndarray, ink=(0, 0, 0), paper=(255, 255, 255)) -> np.ndarray:
    """Ink of one colour over paper of another, by the alpha mask."""
    a = alpha[..., None]
    out = np.array(paper, np.float32) * (1 - a) + np.array(ink, np.float32) * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _ink_box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(alpha > 0.5)
    if ys.size == 0:
        return 0, alpha.shape[0], 0, alpha.shape[1]
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def recoloured(rgb, rng):
    """Coloured ink (blue, red, green, ...) on tinted paper."""
    return compose(ink_alpha(rgb), _COLOURS[rng.integers(len(_COLOURS))], _PAPERS[rng.integers(len(_PAPERS))])


def inverted(rgb, rng):
    """Light ink on a dark background (chalkboard, dark-mode screenshot)."""
    return 255 - rgb


def thickened(rgb, rng):
    """A much broader pen: strokes grow by about their own width."""
    alpha = ink_alpha(rgb)
    r = max(1, int(round(stroke_width(alpha) * rng.uniform(0.4, 0.7))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return compose(cv2.dilate(alpha, kernel))


def thinned(rgb, rng):
    """A fine pen: strokes shrink to about a third of their width (never to nothing)."""
    alpha = ink_alpha(rgb)
    width = stroke_width(alpha)
    r = max(1, int(width * 0.3))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    thin = cv2.erode(alpha, kernel)
    # Keep every part visible: where erosion erased a component completely, keep its skeleton-ish core.
    if (thin > 0.5).sum() < 0.15 * (alpha > 0.5).sum():
        thin = cv2.erode(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    return compose(np.maximum(thin, 0.0))


def tight28(rgb, rng):
    """Cropped tightly around the ink and shrunk to 28x28, MNIST style (aspect kept, 2 px margin)."""
    alpha = ink_alpha(rgb)
    y0, y1, x0, x1 = _ink_box(alpha)
    return compose(tiny_28x28(alpha[y0:y1, x0:x1]))


def _placed(rgb, scale: float, centre: tuple[float, float], canvas: int = 448) -> np.ndarray:
    alpha = ink_alpha(rgb)
    y0, y1, x0, x1 = _ink_box(alpha)
    crop = alpha[y0:y1, x0:x1]
    target = scale * canvas / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * target)), max(1, round(crop.shape[1] * target))
    crop = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if target < 1 else cv2.INTER_LINEAR)
    out = np.zeros((canvas, canvas), np.float32)
    cy, cx = int(centre[0] * canvas - h / 2), int(centre[1] * canvas - w / 2)
    cy, cx = int(np.clip(cy, 0, canvas - h)), int(np.clip(cx, 0, canvas - w))
    out[cy : cy + h, cx : cx + w] = crop
    return compose(out)


def small(rgb, rng):
    """Drawn small (its longer side ~12 % of the canvas) in a bigger 448x448 canvas."""
    return _placed(rgb, rng.uniform(0.1, 0.15), (0.5, 0.5))


def large(rgb, rng):
    """Drawn large: filling the canvas nearly edge to edge."""
    return _placed(rgb, rng.uniform(0.9, 0.97), (0.5, 0.5))


def off_centre(rgb, rng):
    """Drawn at a moderate size near a corner of a bigger canvas (centre 15-30 % in from two edges)."""
    cy, cx = (rng.uniform(0.15, 0.3) if rng.random() < 0.5 else rng.uniform(0.7, 0.85) for _ in range(2))
    return _placed(rgb, rng.uniform(0.2, 0.3), (cy, cx))


def photographed(rgb, rng):
    """Looks like a phone photo: tinted paper, a lighting gradient, noise, a little blur, JPEG."""
    alpha = ink_alpha(rgb)
    h, w = alpha.shape
    paper = np.array(_PAPERS[rng.integers(len(_PAPERS))], np.float32)
    ink = np.array([30, 30, 45], np.float32) + rng.uniform(0, 40, 3)
    image = paper * (1 - alpha[..., None]) + ink * alpha[..., None]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5)
    light = 1.0 - rng.uniform(0.25, 0.45) * (ramp + 0.5)
    image = image * light[..., None]
    image += rng.normal(0, 6, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 1.2))
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(45, 75))])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


def shadowed(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``photographed``, with a soft round shadow, up to 35 % dark, somewhere over it (a hand or a phone over the
    page); light ink on dark paper is turned dark on light first."""
    if rgb[0, 0].mean() < 128:
        rgb = 255 - rgb
    photo = photographed(rgb, rng).astype(np.float32)
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.3, 0.8) * h
    shadow = 1 - 0.35 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    return (photo * shadow[..., None]).astype(np.uint8)


def dim_photo(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``photographed`` in dim light: out of focus (a blur of 1.5-2.5 px more) and grainy (noise of 12 levels)."""
    photo = cv2.GaussianBlur(photographed(rgb, rng), (0, 0), rng.uniform(1.5, 2.5)).astype(np.float32)
    return np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)


def photo_of_page(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone photo of the symbol written small on a page (10-30 % of the frame, anywhere): ``shadowed``, with
    the table showing along one edge (a dark band, 3-10 % of the side, darker than the page by 50-75 %)."""
    photo = shadowed(_placed(rgb, rng.uniform(0.1, 0.3), tuple(rng.uniform(0.3, 0.7, 2))), rng).astype(np.float32)
    h, w = photo.shape[:2]
    share, edge = rng.uniform(0.03, 0.1), int(rng.integers(4))  # edge: top, bottom, left, right
    depth = int(share * (h if edge < 2 else w))
    band = (slice(0, depth), slice(h - depth, h), slice(0, depth), slice(w - depth, w))[edge]
    photo[(band, slice(None)) if edge < 2 else (slice(None), band)] *= rng.uniform(0.25, 0.5)
    return photo.astype(np.uint8)


def ruled(rgb: np.ndarray, rows, grey: int = 170, slope: float = 0.0) -> np.ndarray:
    """The image written on lined paper: one-pixel rulings of ``grey`` across it from ``rows`` (rising ``slope``
    per pixel to the right: a photo taken a little askew), under the ink."""
    paper = np.full_like(rgb, 255)
    w = rgb.shape[1]
    for y in rows:
        cv2.line(paper, (0, int(y)), (w - 1, int(y) + round(slope * w)), (grey, grey, grey), 1)
    return np.minimum(rgb, paper)


def squared(
    rgb: np.ndarray, step: int, grey: int = 190, slope: float = 0.0, offset: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """The image written on squared paper: rulings of ``grey`` every ``step`` pixels both ways, from ``offset``
    (row, column), turned by ``slope`` (a photo a little askew), under the ink."""
    rows = ruled(rgb, range(offset[0] % step, rgb.shape[0], step), grey, slope)
    across = np.ascontiguousarray(rows.transpose(1, 0, 2))
    both = ruled(across, range(offset[1] % step, across.shape[0], step), grey, -slope)
    return np.ascontiguousarray(both.transpose(1, 0, 2))


def lined_paper(rgb, rng):
    """On lined paper photographed a little askew: grey rulings (150-210) a fifth to a third of the height apart,
    sloping up to 2 %, under the ink."""
    h = rgb.shape[0]
    step = max(2, round(rng.uniform(0.2, 0.35) * h))
    rows = range(int(rng.integers(0, step)), h, step)
    return ruled(rgb, rows, grey=int(rng.integers(150, 211)), slope=float(rng.uniform(-0.02, 0.02)))


def squared_line(rgb: np.ndarray, line_height: float, rng, offset: tuple[int, int] | None = None) -> np.ndarray:
    """A line of writing (symbols ``line_height`` tall) on squared paper photographed a little askew: grey
    rulings (170-215) both ways, 0.45-0.7 line heights apart, turned up to 2 %, from ``offset`` (drawn when None)."""
    step = round(rng.uniform(0.45, 0.7) * line_height)
    grey, slope = int(rng.integers(170, 216)), float(rng.uniform(-0.02, 0.02))
    if offset is None:
        offset = (int(rng.integers(step)), int(rng.integers(step)))
    return squared(rgb, step, grey, slope, offset)


def squared_paper(rgb, rng):
    """On squared paper photographed a little askew: grey rulings (150-210) both ways, a fifth to a third of the
    height apart, turned up to 2 %, under the ink."""
    step = max(4, round(rng.uniform(0.2, 0.35) * rgb.shape[0]))
    offset = (int(rng.integers(step)), int(rng.integers(step)))
    return squared(rgb, step, int(rng.integers(150, 211)), float(rng.uniform(-0.02, 0.02)), offset)


VARIANTS: dict[str, Variant] = {
    "recoloured": recoloured,
    "inverted": inverted,
    "thickened": thickened,
    "thinned": thinned,
    "tight_28x28": tight28,
    "small_in_canvas": small,
    "large": large,
    "off_centre": off_centre,
    "photographed": photographed,
    "dim_photo": dim_photo,
    "photo_of_page": photo_of_page,
    "lined_paper": lined_paper,
    "squared_paper": squared_paper,
}


def apply_variant(name: str, images: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """The variant ``name`` of every raw RGB image, reproducibly."""
    rng = np.random.default_rng(seed)
    return [VARIANTS[name](img, rng) for img in images]


def canvas_drawings(
    per_class: int = 10, seed: int = 0, size: int = 280, classes: tuple[str, ...] = CLASS_NAMES
) -> tuple[list[np.ndarray], np.ndarray]:
    """Jittered stroke-template drawings as the app's canvas renders them: several pen colours and widths."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, name in enumerate(classes):
        for i in range(per_class):
            style = {
                "ink": _COLOURS[i % len(_COLOURS)] if i % 3 else (0, 0, 0),
                "width": float(rng.uniform(0.02, 0.07)),
            }
            images.append(draw_symbol(name, rng, size=size, **style))
            labels.append(label)
    return images, np.array(labels, np.int32)
