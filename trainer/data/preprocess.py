"""The one preprocessing contract: any image (file, bytes, array, rendered canvas) -> model input.

Training, evaluation, prediction and the GUI all call :func:`to_model_input`. The result is always an
(size, size, 3) uint8 RGB array of raw 0-255 values; models scale inside. Two methods exist:

* ``"notebook"``: what the original notebook did (decode, alpha onto white, bilinear resize to size x size).
  Legacy notebook models and faithful reproductions use it.
* ``"ink"``: normalise what does not identify a symbol, keep what does. Ink of any colour or polarity on any
  background, under uneven lighting or a shadow, becomes dark ink on white (a table showing along the edge of a
  photographed page is not ink); the symbol is centred and scaled so its longer
  side fills a fixed share of the frame (aspect ratio kept, so "-" stays a bar and "." a blob); very thin
  strokes are thickened towards a common pen width. A decimal point stays a filled blob, never a ring. A thin
  line hugging an image edge (the dark bottom row some scans have) is a border, not writing, and is dropped;
  so are faint lines lying apart from the strokes (the rulings of lined or squared paper).
"""

from __future__ import annotations

import os
from typing import TypeVar

import cv2
import numpy as np

from trainer.data.imageio import as_rgb, read_image
from trainer.errors import EmptyImageError

#: A noise level: one number, or one per pixel.
_Level = TypeVar("_Level", float, np.ndarray)

#: Bump whenever an output of to_model_input changes: cached preprocessed arrays are keyed by it.
VERSION = 7

METHODS: tuple[str, ...] = ("notebook", "ink")
INPUT_SIZE = 224

#: Share of the frame taken by the symbol's longer side after "ink" normalisation.
FILL = 0.8
#: Stroke width the "ink" method thickens thin strokes towards, as a share of the frame.
PEN_WIDTH = 0.055
#: Symbols magnified more than this (a 28x28 crop, about 9 times; a small dot) are interpolated bicubically:
#: bilinear magnification leaves faceted, staircase strokes that the model never sees in bigger images. On MNIST's
#: 28x28 digits (benchmarks/outside_writers.py) this alone took the fifth session's model from 93.8 % to 94.8 %.
#: The pad's drawings and the line reader's 64 px crops are magnified less and keep the cheaper bilinear path.
SMOOTH_ZOOM = 5.0
#: Shading (a shadow over a photo): plateaus of "ink" wider than SHADE_SIDE of the image's shorter side, at least
#: SHADE_LEAST strong (and twice the paper's noise), rising by less than SOFT_EDGE over that width.
SHADE_SIDE = 0.3
SHADE_LEAST = 0.02
SOFT_EDGE = 0.5
#: Writing this much fainter than marks touching the image's border sets the contrast itself (see _contrast_top).
FAINTER = 0.7
#: A border fit that explains less than PAPER_SHARE of the ring, or leaves noise above POOR_FIT, is tried again on
#: about GRID_SAMPLES pixels spread over the whole image, and the closer fit is kept. A symbol's photo whose border
#: leaves noise above PHOTO_NOISE (a phone photo's: the dataset's images leave at most 0.0062) is tried again too,
#: and the whole image's fit wins when it takes at least CLEARER more of the image for paper and at least
#: RING_AGREE of the ring: a border that is a quarter table bends its fit into the table (however close the fit),
#: and a blob filling the frame is still ink. A fit starts from the samples within PAPER_START of their median
#: colour; that photo's whole-image fit from those within PHOTO_START, as its table and shadow leave fewer of them
#: near the median than a scan's paper does.
PAPER_SHARE = 0.8
POOR_FIT = 0.02
PHOTO_NOISE = 0.008
GRID_SAMPLES = 4096
CLEARER = 0.05
RING_AGREE = 0.5
PAPER_START = 0.25
PHOTO_START = 0.1
#: An image this grainy (the median departure of its pixels from their 1-pixel blur, on a 0-1 scale) is smoothed
#: before ink is measured: dim photos measure 0.010-0.019; clean scans, renders and phone photos in good light
#: at most 0.003.
GRAINY = 0.006
#: Images with a side under this many pixels are too small to hold a shadow or to measure grain on.
PHOTO_MIN = 64
#: Longest side of the working raster for ink analysis (bigger inputs are reduced first).
_WORK = 320
#: Files at least twice this side are decoded reduced to a side in [DECODE_LIMIT, 2 * DECODE_LIMIT), far above
#: _WORK and the input size, so an 8000 x 8000 photo never costs its full size twice over.
DECODE_LIMIT = 1024
#: A scanner or page border is not writing: a line lying within this share of the side from an image edge
#: and running along at least EDGE_SPAN of that edge is dropped (unless it is the only ink).
EDGE_BAND = 0.06
EDGE_SPAN = 0.5
#: A dark region along an edge (a table beside the page) is dropped too: it reaches no farther than EDGE_DEEP of the
#: image's shorter side from that edge, and runs along EDGE_SPAN of it or (a stretch of a table whose light fades
#: along it) lies on it for at least HUG of its own length, which is at least TABLE_STRETCH of the edge (a speck
#: cut by the edge is not a table) and twice its depth. It must be at least EDGE_SOLID times as thick as the other
#: ink's strokes, or lie farther from that ink than the ink's own size (the writing is small on the page; a
#: tightly cropped "=" has its bars closer together than they are long).
EDGE_DEEP = 0.25
EDGE_SOLID = 2.0
HUG = 0.8
TABLE_STRETCH = 0.1
#: Faint ink farther than NEAR stroke widths (at least 2 px) from the symbol's confident ink, where the strokes'
#: own soft, blurred or JPEG-ringed edges end, is dropped when it forms a line: a piece ELONGATED times as long
#: as it is wide, or at least LONG of the symbol's longer side long (the grid of squared paper is one wide piece).
#: These are the rulings of lined and squared paper; left in, they misled the model: the notebook's test images
#: read 80.6 % on lined paper and 61.4 % on squared paper, 99.0 % and 98.3 % without (benchmarks/default_model.py's
#: "lined_paper" and "squared_paper" variants). Compact faint marks stay: the dots of a ÷ shrunk to 28x28 are
#: fainter than its bar.
NEAR = 0.5
ELONGATED = 4.0
LONG = 0.5

ImageLike = str | os.PathLike | bytes | np.ndarray


def load_rgb(image: ImageLike) -> np.ndarray:
    """A path, encoded bytes or array as (H, W, 3) uint8 RGB."""
    if isinstance(image, np.ndarray):
        return as_rgb(image)
    return read_image(image, limit=DECODE_LIMIT)


def to_model_input(image: ImageLike, method: str = "ink", size: int = INPUT_SIZE) -> np.ndarray:
    """Turn any image into the model's (size, size, 3) uint8 RGB input.

    Raises ImageError for unreadable input and EmptyImageError when "ink" finds nothing drawn.
    """
    rgb = load_rgb(image)
    if method == "notebook":
        return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    if method == "ink":
        ink = normalised_ink(rgb, size)
        gray = cv2.convertScaleAbs(ink, alpha=-255.0, beta=255.0)  # 255 - 255 * ink, rounded, in [0, 255]
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    raise ValueError(f"Unknown preprocessing method {method!r}; expected one of {METHODS}.")


def normalised_ink(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Ink strength in [0, 1] on a (size, size) frame, centred, scaled and pen-normalised."""
    ink = ink_strength(rgb)
    found = _symbol_mask(ink)
    if found is None:
        raise EmptyImageError("Nothing is drawn: the image has no visible ink.")
    mask, box = found
    halo = edge_line_halo(mask)
    if halo is not None:
        ink = np.where(halo, 0.0, ink).astype(np.float32)
        mask = mask & ~halo
        ys, xs = np.nonzero(mask)
        box = (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)
    framed = _frame(_without_faint_lines(ink, mask, box), box, size)
    return _normalise_pen(framed, size)


def ink_strength(rgb: np.ndarray, work: int = _WORK, photo: bool = True) -> np.ndarray:
    """Per-pixel ink strength in [0, 1], independent of ink colour, polarity and smooth lighting.

    The background is a smooth colour surface fitted to the image border (robust to strokes that cross
    it); ink is how far a pixel's colour departs from that surface (:func:`ink_contrast`), contrast-stretched
    so faint pencil and bold marker both reach 1 (:func:`stretch`). Images with a longer side above ``work``
    are analysed reduced to it (a line of symbols needs a larger ``work`` than one symbol to keep its dots).
    ``photo``: smooth grainy paper, take out a shadow the surface cannot follow, and weigh a noisy border's fit
    against the whole image's (the line reader deals with shading and grain its own way, at the scale of the
    line's height, and keeps the closer fit).
    """
    return stretch(*ink_contrast(rgb, work, photo))


def ink_contrast(rgb: np.ndarray, work: int = _WORK, photo: bool = True) -> tuple[np.ndarray, float]:
    """How far each pixel's colour departs from the fitted paper (at up to ``work`` pixels), and the noise
    level of the border ring's fit (see :func:`ink_strength`)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, work / max(h, w))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    img: np.ndarray = rgb.astype(np.float32)
    img /= 255.0
    background, noise = _background(img, photo)
    # A border of one exact colour (a pad drawing on plain paper) has no grain or shadow to take out.
    photo = photo and background[0].size > 1 and min(img.shape[:2]) >= PHOTO_MIN
    # A dim photo's grain is smoothed: a blurred stroke survives that, not the noise floor the grain would set.
    if photo and grain(img) > GRAINY:
        img = cv2.GaussianBlur(img, (0, 0), 1.0)
        background, noise = _background(img, photo)
    # Per-channel planes: OpenCV's element-wise ops beat NumPy's reductions over a 3-long last axis. A flat
    # background is a number per channel (cv2 takes a 1-element array as a scalar): no planes to build.
    channels = [cv2.absdiff(plane, surface) for plane, surface in zip(cv2.split(img), background, strict=True)]
    diff = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
    shade = _soft_shading(diff, noise) if photo else None
    if shade is not None:
        diff = cv2.subtract(diff, shade)
    return diff, noise


def stretch(diff: np.ndarray, noise: float, local: np.ndarray | None = None) -> np.ndarray:
    """Contrast ``diff`` to ink strength in [0, 1]: four times the paper's ``noise`` (at least 0.06) is none,
    the level :func:`_contrast_top` finds for the writing above that is full. ``local``: the paper's noise around
    each pixel, where known better than the border fit's ``noise`` (a shadow the fit cannot follow counts as noise
    there): the zero level follows it where it is lower, the writing's level stays."""
    floor = float(_floor(noise))  # a Python float: the float32 planes stay float32
    top = _contrast_top(diff, floor)
    if top is None:
        return np.zeros(diff.shape, np.float32)
    if local is not None:
        floor = _floor(np.minimum(local, noise))
    ink = diff - floor  # float32 throughout, in place: the same values as one expression, fewer arrays
    ink /= top - floor
    return np.clip(ink, 0.0, 1.0, out=ink)


def _floor(noise):
    """Ink up to four times the paper's noise, and at least 0.06, is still paper (a number, or per pixel)."""
    return np.maximum(0.06, 4.0 * noise)


def paper_sigma(median_departure: _Level) -> _Level:
    """The paper's noise from the median departure of its pixels from the fitted surface (a Gaussian's sigma from
    its median absolute deviation, and a little more, so clean paper is never exactly noiseless)."""
    return 1.4826 * median_departure + 1e-3


def _soft_shading(diff: np.ndarray, noise: float, reduce: int = 4) -> np.ndarray | None:
    """The broad, soft part of ``diff`` (a shadow the border fit cannot follow), or None when it has none.

    An opening wider than any stroke keeps broad plateaus. A stretch of plateau is shading when it rises by less
    than SOFT_EDGE over the opening's width and so does most of what bounds it: a shadow fades out (though it may
    meet a table's steep edge on one side), while a big dot's flat top is ringed by its steep edge. Taken at
    1/``reduce`` of the resolution, as shading is smooth anyway."""
    h, w = diff.shape
    small = cv2.resize(diff, (w // reduce, h // reduce), interpolation=cv2.INTER_AREA)
    side = max(3, round(SHADE_SIDE * min(small.shape))) | 1
    plateau = cv2.morphologyEx(small, cv2.MORPH_OPEN, np.ones((side, side), np.uint8))
    least = max(SHADE_LEAST, 2.0 * noise)  # the paper's own noise makes a plateau of about its level
    if plateau.max() < least:
        return None
    slope = cv2.magnitude(cv2.Sobel(plateau, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(plateau, cv2.CV_32F, 0, 1, ksize=3))
    slope *= side / 8.0  # Sobel's 3x3 weights sum to 8: the rise over one kernel side
    steep = slope >= SOFT_EDGE
    count, labels = cv2.connectedComponents(((plateau >= least) & ~steep).astype(np.uint8), connectivity=8)
    soft = np.zeros(count, bool)
    for k in range(1, count):
        region = (labels == k).astype(np.uint8)
        edge = cv2.dilate(region, np.ones((3, 3), np.uint8)) > region
        soft[k] = steep[edge].mean() < 0.5 if edge.any() else True
    if not soft.any():
        return None
    # The opening follows the bottom of the noise; the median follows its middle, so the noise is not left over
    # (but not beyond the noise's reach, where the window takes in a table edge's dark band).
    level = cv2.medianBlur(np.clip(small * 255.0, 0, 255).astype(np.uint8), min(side, 255)).astype(np.float32) / 255.0
    plateau = np.where(
        cv2.dilate(soft[labels].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0,
        np.maximum(np.minimum(level, plateau + 2.0 * noise) - noise, 0.0),
        0.0,
    )
    return cv2.resize(plateau.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def grain(img: np.ndarray) -> float:
    """How grainy an image (floats in [0, 1]) is: the median of its pixels' departure from their 1-pixel blur,
    over every 4th row and column. Strokes' edges are too few to move the median; sensor noise moves it."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    return float(np.median(np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))[::4, ::4]))


def _contrast_top(diff: np.ndarray, floor: float) -> float | None:
    """The contrast that makes ink full strength: the 90th percentile of the values above ``floor``, or None
    when there are none. A photo's table or page edge (a mark touching the border) much darker than the
    writing would make the writing faint: then the marks clear of the border set it, specks of noise aside."""
    above = diff > floor
    strong = diff[above]
    if strong.size == 0:
        return None
    top = max(_percentile_90(strong), floor + 0.05)
    if not (above[0].any() or above[-1].any() or above[:, 0].any() or above[:, -1].any()):
        return top
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above.astype(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    clear = areas >= max(2.0, 0.01 * areas[1:].sum())
    clear[0] = False
    clear[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False
    if not clear.any():
        return top
    inside = max(_percentile_90(diff[clear[labels]]), floor + 0.05)
    return inside if inside < FAINTER * top else top


def _percentile_90(values: np.ndarray) -> float:
    """``np.percentile(values, 90)`` of a float32 array, bit for bit (NumPy's linear interpolation in float32),
    through one partial sort: a quarter of NumPy's cost."""
    position = (values.size - 1) * 0.9
    lo = int(position)
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    low, high, t = part[lo], part[hi], position - lo
    step = high - low
    return float(high - step * (1 - t) if t >= 0.5 else low + step * t)


def _background(img: np.ndarray, photo: bool) -> tuple[list[np.ndarray], float]:
    """Fit a quadratic colour surface to the border ring; return it (one plane per channel, clipped to
    [0, 1], or one number per channel, as a 1-element float64 array, when the ring is one exact colour) and
    the ring's noise level. When the ring fits badly (a table along one side of a photographed page, light the
    ring does not pin down), the surface is also fitted to pixels spread over the whole image, where the paper
    outnumbers any band at the edge, and the closer fit is used; for a ``photo`` whose ring is as noisy as a
    photo's, the fit that takes clearly more of the image for paper (see PHOTO_NOISE).

    The fits solve the 6x6 normal equations (float64) instead of calling ``lstsq``, and a ring of one exact
    colour (a pad drawing on plain paper) is that colour without any fit: both were most of the time spent
    on a pad drawing, and give the same surface up to float rounding.
    """
    h, w = img.shape[:2]
    ring = max(1, round(0.04 * min(h, w)))
    corner = img[0, 0]
    if all((band == corner).all() for band in (img[:ring], img[h - ring :], img[:, :ring], img[:, w - ring :])):
        return [np.array([np.float32(min(max(float(c), 0.0), 1.0))], np.float64) for c in corner], 1e-3
    ys, xs = _ring_pixels(h, w, ring)
    u = np.arange(w, dtype=np.float32) / max(w - 1, 1) - 0.5  # per column
    v = np.arange(h, dtype=np.float32) / max(h - 1, 1) - 0.5  # per row
    terms = 6 if min(h, w) >= 8 else 1  # too small for a surface: a flat colour will do
    ring_design, ring_samples = _design(u[xs], v[ys], terms), img[ys, xs]
    coef, sigma, paper = _paper_fit(ring_design, ring_samples)
    noisy = photo and sigma > PHOTO_NOISE
    if terms == 6 and (paper < PAPER_SHARE or sigma > POOR_FIT or noisy):
        # A table along one side, or light the ring alone does not pin down: fit the whole image's paper.
        step = max(1, round(np.sqrt(h * w / GRID_SAMPLES)))
        gy, gx = np.mgrid[step // 2 : h : step, step // 2 : w : step].reshape(2, -1)
        grid_design, grid_samples = _design(u[gx], v[gy], terms), img[gy, gx]
        whole, whole_sigma, _ = _paper_fit(grid_design, grid_samples, PHOTO_START if noisy else PAPER_START)
        if noisy:
            tolerance = max(3.0 * min(sigma, whole_sigma), 0.04)
            grid = (grid_design, grid_samples, tolerance)
            better = _explained(whole, *grid) >= _explained(coef, *grid) + CLEARER
            better = better and _explained(whole, ring_design, ring_samples, tolerance) >= RING_AGREE
        else:
            better = whole_sigma < sigma
        if better:
            coef, sigma = whole, whole_sigma
    coef = np.vstack([coef, np.zeros((6 - terms, coef.shape[1]))]).astype(np.float32)
    # The surface separates into row terms, column terms and one u*v plane: build it by broadcasting.
    uv = np.outer(v, u)
    planes = []
    for c0, cu, cv, cuv, cuu, cvv in coef.T:
        row = (c0 + cv * v + cvv * v * v)[:, None]
        col = (cu * u + cuu * u * u)[None, :]
        planes.append(np.clip(row + col + cuv * uv, 0.0, 1.0))
    return planes, sigma


def _paper_fit(design: np.ndarray, samples: np.ndarray, start: float = PAPER_START) -> tuple[np.ndarray, float, float]:
    """A quadratic colour surface (one coefficient per ``design`` term per channel, see :func:`_design`) through
    ``samples``: started from the samples within ``start`` of their median colour, refitted up to three times
    without the outliers (beyond 3 sigma of the residual), which are ink. Returns (coefficients, sigma, share of the
    samples kept as paper)."""
    terms = design.shape[1]
    keep = np.abs(samples - np.median(samples, axis=0)).max(axis=1) < start
    if keep.sum() < terms * 3:
        keep = np.ones(len(samples), bool)
    for _ in range(3):
        coef = _least_squares(design[keep], samples[keep])
        residual = np.abs(design @ coef - samples).max(axis=1)
        sigma = paper_sigma(float(np.median(residual[keep])))
        new_keep = residual < max(3.0 * sigma, 0.04)
        if new_keep.sum() < terms * 3 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return coef, sigma, float(keep.mean())


def _design(u: np.ndarray, v: np.ndarray, terms: int) -> np.ndarray:
    """The quadratic surface's terms at (``u``, ``v``), the first ``terms`` of them."""
    return np.stack([np.ones_like(u), u, v, u * v, u * u, v * v], axis=-1)[:, :terms]


def _explained(coef: np.ndarray, design: np.ndarray, samples: np.ndarray, tolerance: float) -> float:
    """The share of ``samples`` (their terms: ``design``) that the surface ``coef`` takes for paper."""
    residual = np.abs(design @ coef - samples).max(axis=1)
    return float((residual < tolerance).mean())


def _ring_pixels(h: int, w: int, ring: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pixels within ``ring`` of the image border, each once."""
    if h <= 2 * ring or w <= 2 * ring:  # the ring is the whole image
        ys, xs = np.divmod(np.arange(h * w), w)
        return ys, xs
    cols, rows = np.arange(w), np.arange(ring, h - ring)
    band = np.arange(ring)
    top_bottom = np.concatenate([band, np.arange(h - ring, h)])
    sides = np.concatenate([band, np.arange(w - ring, w)])
    ys = np.concatenate([np.repeat(top_bottom, w), np.repeat(rows, sides.size)])
    xs = np.concatenate([np.tile(cols, top_bottom.size), np.tile(sides, rows.size)])
    return ys, xs


def _least_squares(design: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Coefficients minimising |design @ coef - samples| (one column per channel), via normal equations."""
    a = design.astype(np.float64)
    try:
        return np.linalg.solve(a.T @ a, a.T @ samples.astype(np.float64))
    except np.linalg.LinAlgError:  # degenerate ring (e.g. all samples on one line): the general solver
        return np.linalg.lstsq(a, samples.astype(np.float64), rcond=None)[0]


def _symbol_mask(ink: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Pixels of the drawn symbol (confident ink, without specks of sensor or JPEG noise) and their box
    (y0, y1, x0, x1)."""
    binary = (ink > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    min_area = max(2.0, 0.01 * areas.sum(), 1e-5 * ink.size)
    keep = np.flatnonzero(areas >= min_area) + 1
    if keep.size == 0:
        return None
    if keep.size == count - 1:
        mask = binary.astype(bool)
    else:
        wanted = np.zeros(count, bool)
        wanted[keep] = True
        mask = wanted[labels]
    return mask, _stats_box(stats[keep])


def _stats_box(stats: np.ndarray) -> tuple[int, int, int, int]:
    """The box (y0, y1, x0, x1) around components given by their ``cv2.connectedComponentsWithStats`` rows."""
    x, y, cw, ch = (stats[:, i] for i in range(4))
    return int(y.min()), int((y + ch).max()), int(x.min()), int((x + cw).max())


def edge_line_halo(mask: np.ndarray, band: float | None = None) -> np.ndarray | None:
    """Where to erase lines hugging an image edge (the dark bottom row of some scans, the table beside a
    photographed page), with their anti-aliased/JPEG halo, when other ink remains; None when there are none.

    A component is such a line when it spans at least EDGE_SPAN of an edge and lies entirely within the outer band
    of that edge (EDGE_BAND of the side across it, or ``band`` pixels). It is a table when it touches an edge, lies
    within EDGE_DEEP of the image's shorter side from it, spans EDGE_SPAN of it or lies along it (see
    :func:`_along_edge`), and is EDGE_SOLID times as thick as the other ink's strokes or farther from that ink than
    the ink's own size (no pen stroke is either: the top bar of a tightly cropped "=" is as thick as the other bar,
    and close to it). A stroke that touches the line is part of its component and keeps it; a symbol cropped
    tightly (a bare "-") spans the whole height, not only the band, and is never dropped. A line of writing passes
    a band from its height: a share of its width would take its first and last symbols, which a tight crop leaves
    close to the side edges, for edge lines.
    """
    h, w = mask.shape
    band_y, band_x = (max(2, int(np.ceil(band if band is not None else EDGE_BAND * side))) for side in (h, w))
    deep = int(np.ceil(EDGE_DEEP * min(h, w)))  # a table along a wide image is no deeper than along a tall one
    deep_y, deep_x = max(band_y, deep), max(band_x, deep)
    # Such a line covers EDGE_SPAN of its edge within the deep band, or a stretch of a table touches the border.
    touching = mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
    if not touching and not any(
        np.count_nonzero(part.any(axis=axis)) >= EDGE_SPAN * side
        for part, axis, side in (
            (mask[:deep_y], 0, w),
            (mask[h - deep_y :], 0, w),
            (mask[:, :deep_x], 1, h),
            (mask[:, w - deep_x :], 1, h),
        )
    ):
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    thin, thick = [], []
    for k in range(1, count):
        x, y, cw, ch = (int(v) for v in stats[k, :4])
        if (cw >= EDGE_SPAN * w and (y + ch <= band_y or y >= h - band_y)) or (
            ch >= EDGE_SPAN * h and (x + cw <= band_x or x >= w - band_x)
        ):
            thin.append(k)
        elif (
            (cw >= EDGE_SPAN * w and ((y == 0 and ch <= deep_y) or (y + ch == h and y >= h - deep_y)))
            or (ch >= EDGE_SPAN * h and ((x == 0 and cw <= deep_x) or (x + cw == w and x >= w - deep_x)))
            or _along_edge(labels, k, (ch, cw), (deep_y, deep_x))
        ):
            thick.append(k)
    drop = list(thin)
    if thick:
        others = [k for k in range(1, count) if k not in thin and k not in thick]
        if others:
            pen = stroke_width(np.isin(labels, others))
            box = _stats_box(stats[others])
            size = max(box[1] - box[0], box[3] - box[2])
            drop += [k for k in thick if stroke_width(labels == k) >= EDGE_SOLID * pen or _gap(stats[k], box) >= size]
    if not drop or len(drop) == count - 1:
        return None
    lines = np.isin(labels, drop).astype(np.uint8)
    return cv2.dilate(lines, np.ones((5, 5), np.uint8)).astype(bool)


def _along_edge(labels: np.ndarray, k: int, extent: tuple[int, int], deep: tuple[int, int]) -> bool:
    """Whether component ``k`` of ``labels`` (``extent``: its bounding box's height and width) lies along an image
    edge: on the edge for at least HUG of its length there, at least TABLE_STRETCH of the edge long and twice as
    long as it is deep, and no deeper than ``deep`` (rows from the top or bottom edge, columns from the left or
    right)."""
    ch, cw = extent
    h, w = labels.shape
    on_top, on_bottom, on_left, on_right = (labels[0] == k, labels[-1] == k, labels[:, 0] == k, labels[:, -1] == k)
    for outer, length, depth, reach, side in (
        (on_top, cw, ch, deep[0], w),
        (on_bottom, cw, ch, deep[0], w),
        (on_left, ch, cw, deep[1], h),
        (on_right, ch, cw, deep[1], h),
    ):
        if (
            length >= TABLE_STRETCH * side
            and 2 * depth <= length
            and depth <= reach
            and np.count_nonzero(outer) >= HUG * length
        ):
            return True
    return False


def _gap(stat: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """How far a component (its ``cv2.connectedComponentsWithStats`` row) lies outside ``box`` (y0, y1, x0, x1),
    in pixels along the farther axis; 0 or less when their extents overlap on both axes."""
    x, y, cw, ch = (int(v) for v in stat[:4])
    return max(box[0] - (y + ch), y - box[1], box[2] - (x + cw), x - box[3])


def _without_faint_lines(ink: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``ink`` without the line-like faint marks lying apart from the symbol's confident ink ``mask`` (in ``box``).

    A clean drawing (the pad's) has no faint ink even 2 px from its strokes: it returns before measuring the
    stroke width, which the pen-up path would otherwise pay for twice."""
    mask8 = mask.astype(np.uint8)
    faint = ink > 0

    def apart(r: int) -> np.ndarray:
        near = cv2.dilate(mask8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        return (faint & (near == 0)).astype(np.uint8)

    if not apart(2).any():
        return ink
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        apart(max(2, int(np.ceil(NEAR * stroke_width(mask))))), connectivity=8
    )
    sides = stats[1:, [cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT]]
    longer, shorter = sides.max(axis=1), sides.min(axis=1)
    lines = np.zeros(count, bool)
    lines[1:] = (longer >= ELONGATED * shorter) | (longer >= LONG * max(box[1] - box[0], box[3] - box[2]))
    if not lines.any():
        return ink
    return np.where(lines[labels], 0.0, ink).astype(np.float32)


def _frame(ink: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """Crop the box, centre it on a square canvas with the longer side at FILL, resize to size."""
    y0, y1, x0, x1 = box
    side = max(y1 - y0, x1 - x0) / FILL
    cy, cx = (y0 + y1) / 2.0, (x0 + x1) / 2.0
    scale = size / side
    # Affine map from source to the output frame; pixels outside the image are no ink.
    matrix = np.array([[scale, 0, size / 2.0 - cx * scale], [0, scale, size / 2.0 - cy * scale]], np.float32)
    if scale > SMOOTH_ZOOM:  # bicubic overshoots a little at edges: clipped back to [0, 1]
        framed = cv2.warpAffine(ink, matrix, (size, size), flags=cv2.INTER_CUBIC, borderValue=0.0)
        return np.clip(framed, 0.0, 1.0, out=framed)
    if scale < 1.0:  # INTER_AREA is only honoured by resize: shrink first, then place.
        h, w = ink.shape
        small = cv2.resize(ink, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        fx, fy = small.shape[1] / w, small.shape[0] / h
        matrix = np.array([[1, 0, size / 2.0 - cx * fx], [0, 1, size / 2.0 - cy * fy]], np.float32)
        return cv2.warpAffine(small, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return cv2.warpAffine(ink, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)


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
    grow = round((target - width) / 2.0)
    if grow < 1:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(ink, kernel)
