"""Splitting a line of handwriting into symbols: strokes (the pad) or ink components (an image) -> groups.

Both sources become *parts* (a stroke, or a connected component of the ink mask), each with a box; one
grouping rule turns parts into symbols, left to right:

* parts whose horizontal extents overlap by half the narrower one are one symbol (``=``, ``+``, ``4``/``5``/
  ``7`` with bars, ``y``, ``z`` with its cross-bar), and so are parts that touch (``x`` written as ``)(``);
  for strokes, extents are the pen's path without the pen's width and "touch" means the paths meet, since
  neighbours written close with a broad pen touch in ink without being one symbol; two stacked bars are an
  ``=`` even when one of them is as short as a dot;
* a small part (a dot) is its own symbol (a decimal point) unless it sits above or below a bar that spans it
  (``÷``), or it touches a bigger part (the short cross-bar of a ``7``); a lone dot above the line's top is a
  stray mark, and in an image a lone mark raised off the baseline is a point only when it looks like a dot
  put there (``RAISED``);
* a symbol made of tall parts stacked above each other is two lines of writing, which is refused;
* a bar wholly below the line the symbols stand on is an underline, not a symbol, and is left out.

An image's ink is the preprocessing's, less broad shading (a shadow) and the ruling of lined paper, and
measured against the ink around it too, so a symbol written fainter than its neighbours still counts.

Where geometry cannot tell, the model does (``trainer.serving.reader``): neighbours whose strokes nearly meet
(``Segmentation.near``) may be one symbol, and one symbol whose strokes only meet side by side, or whose ink in
an image is one wide component with thin necks, may be several neighbours written touching
(``Segmentation.cuts``).

Sizes are relative to the line's height, so any size, spacing, slight slope, colour and polarity work.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from trainer.data.preprocess import (
    EDGE_BAND,
    edge_line_halo,
    grain,
    ink_contrast,
    paper_sigma,
    stretch,
    stroke_width,
)
from trainer.errors import MathSymError

#: A part whose longer side is below this share of the line height is a dot.
SMALL = 0.3
#: A part is counted at least this share of the line height wide (a vertical bar is as wide as the pen).
NARROW = 0.05
#: Horizontal extents overlapping by this share of the narrower part make one symbol.
OVERLAP = 0.5
#: Longest side of the raster an image line is analysed at (the single-symbol default is 320: too coarse
#: for the dots of a long line).
LINE_WORK = 1600
#: Ink is also measured against the strongest ink near it (within a square LOCAL pen widths wide): a symbol
#: written fainter than its neighbours (pencil pressed lightly, another pen, a pasted image) is still ink,
#: boosted at most 1 / FAINT_FLOOR times, so paper texture and smudges stay below the confident level.
LOCAL = 4.0
FAINT_FLOOR = 0.4
#: On grainy paper (a photo: :func:`grain` above NOISY_GRAIN; a scan or a drawing on clean paper has about none),
#: ink this strong joins a component when it touches confident ink (above 0.5), see :func:`_hysteresis`. On clean
#: paper the weaker rims only made neighbours touch (crowded lines of the test split's images read worse).
WEAK_INK = 0.4
NOISY_GRAIN = 0.0005
#: A component of such boosted ink only (no confident ink of its own) must cover this many squared pen widths:
#: a faint symbol does, the noise of a dark corner of a photo does not.
FAINT_AREA = 2.0
#: Ink as broad as this share of the image's height (a shadow across a photo, light the border fit missed) is
#: shading, not writing: no stroke or dot is that wide.
SHADING = 0.3
#: Horizontal ink at least this many times the image's height long, and this share of its width, is the ruling
#: of lined paper (or an underline), not writing; so are faint flat pieces that together cover RULE_PIECES of
#: the width along a line sloping up to RULE_SLOPE (a faint ruling, photographed a little askew, shows only
#: between the symbols).
RULE_LENGTH = 1.5
RULE_SPAN = 0.3
RULE_PIECES = 0.15
RULE_SLOPE = 0.1
#: Squared paper's columns: faint ink (below COLUMN_FAINT) running vertically in steps of at least COLUMN_RUN of
#: the image's height and spanning COLUMN_SPAN of it, at least COLUMNS such lines.
COLUMN_FAINT = 0.45
COLUMN_RUN = 0.25
COLUMN_SPAN = 0.9
COLUMNS = 3
#: A component that touches the image's border and is drawn this many pen widths thin or thinner is what squared
#: paper's grid leaves where a column runs out through the border (a hairline column with stubs of rows), not
#: writing: no pen stroke of the line is that fine.
HAIRLINE = 0.4
#: Pixels on the longer side of a symbol crop handed to the preprocessing (it rescales anyway).
CROP_SIDE = 64
#: A lone ink component smaller than this times the squared pen width is a speck, not a point.
SPECK = 0.3
#: A lone small mark whose centre lies more than RAISED line heights above the baseline is a raised point (as
#: British hands write it, and as the dataset's own images of a point are centred) only when it looks like a dot
#: put there: at least about a pen-wide disc (pi/4 squared pen widths), filling RAISED_FILL of its box, at most
#: RAISED_ASPECT times as long as wide, with no other ink within RAISED_CLEAR pen widths of its box. The rest are
#: specks, pieces of a digit whose stroke broke, or what is left of a faint symbol in a poor photo. A mark above
#: the line's top (ABOVE_LINE line heights over the baseline) is a stray mark, whatever its shape.
RAISED = 0.35
RAISED_DOT = 0.75
RAISED_FILL = 0.5
RAISED_ASPECT = 3.0
RAISED_CLEAR = 3.0
ABOVE_LINE = 0.9
#: A small mark over or under a part at least DIV_BAR times as wide as tall (and twice the mark's size), within
#: DIV_GAP of the part's width from it, joins it: the dots of a ``÷``. Where a photo's blur runs the top dot into
#: the bar, the two together can be less than 1.6 times as wide as tall.
DIV_BAR = 1.4
DIV_GAP = 0.8
#: An ink component at least this share of the line height wide may be two neighbours written touching.
NECK_WIDTH = 0.6
#: One this wide is as wide as two symbols (an operator and a digit run together, such as ``=5``): it is cut at
#: any thin column, and may leave a bar of at least BAR_CUT line heights whose middle lies MINUS_RISE line heights
#: above the baseline, where a minus or an ``=``'s bar stands.
TWO_WIDE = 1.0
BAR_CUT = 0.3
MINUS_RISE = (0.3, 0.75)
#: A bar at the top of the line over a tall symbol (a 5's detached bar) may slant: its box is less than this share
#: of its width tall (a level bar, a minus, less than 0.4).
TOP_BAR = 0.5
#: A bar whose top lies more than this share of the line height below the line the symbols stand on is an
#: underline (or the scan edge of a pasted crop), not a symbol: a minus stands at mid-height.
UNDERLINE = 0.05
#: Neighbours closer than this share of the line height are also tried as one symbol.
MERGE_GAP = 0.12
#: Paper margin around a symbol crop, as a share of its longer side (the preprocessing fits the paper on it).
CROP_MARGIN = 0.2
#: Strokes are grouped and rendered with a pen at most this share of the line's height: the strokes hold the
#: shapes, and a broad pen on small writing would otherwise run an ``=``'s bars, a ``÷``'s dots and neighbouring
#: symbols together (the pad's default 12 px pen on a 60 px line read 108 of 150 generated lines, 150 capped).
PEN_SHARE = 0.1
#: Strokes whose paths come this close (a share of the line's height, plus a pixel) meet: they are one symbol.
#: The pen's width plays no part: neighbours written close with a broad pen touch in ink.
MEET_SHARE = 0.03
#: Neighbouring symbols with strokes this close (a share of the line's height) may be one symbol whose strokes
#: missed each other (a ``y`` or ``x`` in big writing with a fine pen) or two symbols written close together:
#: geometry cannot tell, so they are offered to the model as one symbol (``Segmentation.near``).
NEAR_SHARE = 0.15
#: A symbol is tried as at most this many neighbours written touching (crowded writing runs several together).
MAX_PIECES = 4
#: Groups of more strokes than this are only tried in two pieces (four symbols of two strokes, or three with a ÷).
MAX_CUT_STROKES = 8

Box = tuple[float, float, float, float]  # x, y, w, h


class SegmentationError(MathSymError):
    """The ink cannot be read as one line of symbols (e.g. two lines of writing)."""


@dataclass
class Group:
    """One symbol: the indices of its parts and its box (x, y, w, h) in the input's coordinates."""

    parts: list[int]
    box: Box

    @property
    def width(self) -> float:
        return self.box[2]

    @property
    def height(self) -> float:
        return self.box[3]


@dataclass
class Cut:
    """A way to read one symbol as two to MAX_PIECES side by side (strokes that only meet, or an image's ink cut
    at its necks: neighbours written so close that they touch): the group's index, and the parts and box of each
    piece, left to right. ``neck``: the ink was cut (an image), rather than strokes told apart."""

    group: int
    pieces: list[list[int]]
    boxes: list[Box]
    neck: bool = False


@dataclass
class Segmentation:
    """Symbols left to right, the line height, and one crop per symbol (RGB, dark ink on white).
    ``crop_of(parts)`` renders the crop of any set of parts (to try two neighbours as one symbol)."""

    groups: list[Group]
    line_height: float
    crops: list[np.ndarray] = field(default_factory=list)
    crop_of: Callable[[list[int]], np.ndarray] | None = None
    #: Indices i where a stroke of symbol i and one of symbol i+1 nearly meet (strokes only; see NEAR_SHARE).
    near: list[int] = field(default_factory=list)
    #: Symbols whose strokes may be two neighbours that touch (strokes only), for the model to decide.
    cuts: list[Cut] = field(default_factory=list)
    #: ``nearly_meet(parts, parts)``: whether two symbols may be one whose strokes missed (strokes only).
    nearly_meet: Callable[[list[int], list[int]], bool] | None = None

    def close_pairs(self) -> list[int]:
        """Indices i where symbols i and i+1 might be one symbol split in two (an ``x`` written as ``)(``
        whose halves do not touch): two narrow parts side by side at the same height with almost no gap."""
        h = self.line_height
        out = []
        for i, (a, b) in enumerate(itertools.pairwise(self.groups)):
            if any(max(g.width, g.height) < SMALL * h or g.width > 0.7 * g.height for g in (a, b)):
                continue  # dots, bars and round symbols are whole; halves of a )( are narrow
            gap = b.box[0] - (a.box[0] + a.box[2])
            shared = -_y_gap(a.box, b.box)
            if gap < MERGE_GAP * h and shared >= 0.6 * min(a.height, b.height):
                out.append(i)
        return out

    def merge(self, i: int, crop: np.ndarray) -> None:
        """Make symbols i and i+1 one symbol with this crop."""
        a, b = self.groups[i], self.groups[i + 1]
        self.groups[i : i + 2] = [Group(sorted(a.parts + b.parts), _union([a.box, b.box]))]
        self.crops[i : i + 2] = [crop]
        self.near = [j - (j > i) for j in self.near if j != i]

    def drop(self, indices: list[int]) -> None:
        """Forget these symbols; the others keep their near pairs and cuts."""
        kept = [i for i in range(len(self.groups)) if i not in set(indices)]
        new = {old: k for k, old in enumerate(kept)}
        self.groups[:] = [self.groups[i] for i in kept]
        self.crops[:] = [self.crops[i] for i in kept]
        self.near = [new[i] for i in self.near if i in new and i + 1 in new]
        self.cuts = [replace(c, group=new[c.group]) for c in self.cuts if c.group in new]

    def split(self, cut: Cut, crops: list[np.ndarray]) -> None:
        """Make symbol ``cut.group`` one symbol per piece, with these crops."""
        i, more = cut.group, len(cut.pieces) - 1
        self.groups[i : i + 1] = [Group(parts, box) for parts, box in zip(cut.pieces, cut.boxes, strict=True)]
        self.crops[i : i + 1] = crops
        self.near = [j + more * (j >= i) for j in self.near]


# -- grouping ---------------------------------------------------------------------------------------------


def _union(boxes: Sequence[Box]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _x_overlap(a: Box, b: Box) -> float:
    return min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])


def _y_gap(a: Box, b: Box) -> float:
    return max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3])


def _stacked_bars(a: Box, b: Box) -> bool:
    """Whether two bars lie one above the other, as an ``=``'s do: overlapping by half the shorter, no further
    apart than the longer is long."""
    return _x_overlap(a, b) >= OVERLAP * min(a[2], b[2]) and _y_gap(a, b) <= max(a[2], b[2])


def _flat(b: Box) -> bool:
    """A bar (``-``, a bar of ``=`` or ``÷``): much wider than tall; its height says nothing of the line's."""
    return b[3] < 0.4 * b[2]


def line_height(boxes: Sequence[Box]) -> float:
    """A robust height of the line's tall symbols: the median of heights at least half the tallest, bars
    left out (a line of bars and dots only, such as a lone ÷: the longest bar's length)."""
    heights = sorted(b[3] for b in boxes if not _flat(b))
    bars = [b[2] for b in boxes if _flat(b)]
    if not heights or (bars and heights[-1] < 0.5 * max(bars)):
        return max((b[2] for b in boxes), default=1.0) or 1.0
    tall = [h for h in heights if h >= 0.5 * heights[-1]]
    return float(statistics.median(tall)) or 1.0  # np.median's value, without its ~8 us per call


def group_parts(
    boxes: Sequence[Box],
    touching=None,
    spans: Sequence[Box] | None = None,
    point: Callable[[int, bool], bool] | None = None,
) -> tuple[list[Group], float]:
    """Group parts (boxes) into symbols, left to right; ``touching(i, j)`` says whether two parts touch, and
    ``spans`` (default: the boxes) are the parts' extents for the overlap test. ``point(i, raised)`` says whether
    part i, a lone dot (raised: more than RAISED line heights above the baseline), is a point rather than a speck;
    it is asked last, so the line height is measured as if every dot were kept.

    Returns the groups and the line height. Raises SegmentationError for two lines of writing.
    """
    n = len(boxes)
    if n == 0:
        return [], 1.0
    spans = boxes if spans is None else spans
    height = line_height(boxes)
    small = [max(b[2], b[3]) < SMALL * height for b in boxes]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    floor = NARROW * height
    base = baseline(boxes, height)
    big = [i for i in range(n) if not small[i]]
    for a_i, i in enumerate(big):
        for j in big[a_i + 1 :]:
            overlap = _x_overlap(spans[i], spans[j])
            narrow = max(min(spans[i][2], spans[j][2]), floor)
            if overlap >= OVERLAP * narrow or (overlap > -floor and touching is not None and touching(i, j)):
                join(i, j)
    # A bar at the top of the line belongs to the tall symbol under it (a 5's detached bar), even where it only
    # starts over that symbol's corner and runs on to the right: to the one it overlaps most, never a minus.
    for i in big:
        under = [j for j in big if j != i and _top_bar(boxes[i], boxes[j], base, height)]
        reach = {j: _x_overlap(spans[i], spans[j]) for j in under}
        if reach and max(reach.values()) > 0:
            join(i, max(reach, key=lambda j: reach[j]))
    # Two short bars stacked are an "=", also one written so small that a bar falls under the size of a dot.
    for i, j in itertools.combinations([k for k in range(n) if _flat(boxes[k])], 2):
        if (small[i] or small[j]) and _stacked_bars(spans[i], spans[j]):
            join(i, j)
    for i in (i for i in range(n) if small[i]):
        cx = boxes[i][0] + boxes[i][2] / 2
        for j in big:
            b = boxes[j]
            inside = b[0] <= cx <= b[0] + b[2]
            bar = b[2] >= DIV_BAR * b[3] and b[2] >= 2.0 * max(boxes[i][2], boxes[i][3])
            cy = boxes[i][1] + boxes[i][3] / 2
            near = not b[1] <= cy <= b[1] + b[3] and _y_gap(boxes[i], b) <= DIV_GAP * b[2]
            if inside and ((bar and near) or (touching is not None and touching(i, j))):
                join(i, j)
                break
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(find(i), []).append(i)
    groups = [Group(sorted(m), _union([boxes[i] for i in m])) for m in members.values()]

    def lone_dot(g: Group) -> bool:
        return len(g.parts) == 1 and small[g.parts[0]]

    if base is not None:  # a lone dot above the line is a stray mark, not a decimal point
        groups = [g for g in groups if not (lone_dot(g) and _high(g.box, base, ABOVE_LINE * height))]
    for g in groups:
        tall = [boxes[i] for i in g.parts if boxes[i][3] >= 0.5 * height and not _flat(boxes[i])]
        if any(_y_gap(a, b) > 0.15 * height for a in tall for b in tall):
            raise SegmentationError("The ink holds more than one line of writing; write one line at a time.")
    groups.sort(key=lambda g: g.box[0] + g.box[2] / 2)
    _check_one_line(groups, height)
    measured = line_height([g.box for g in groups])
    if point is not None:
        groups = [
            g
            for g in groups
            if not lone_dot(g) or point(g.parts[0], base is not None and _high(g.box, base, RAISED * height))
        ]
    return groups, measured


def underlines(boxes: Sequence[Box]) -> set[int]:
    """The bars lying wholly below the line that the other symbols stand on (an underline; the dark bottom edge
    of a scanned crop pasted into a line): never symbols of the line, and, left in, a long one would join every
    symbol over it and pass for the line's height.

    Without a bar long enough (most single symbols, asked on every pen-up) it returns before fitting the baseline."""
    solid = [b for b in boxes if not _flat(b)]
    if len(solid) < 2 or len(solid) == len(boxes):
        return set()
    height = line_height(solid)
    bars = [i for i, b in enumerate(boxes) if _flat(b) and b[2] >= SMALL * height]
    base = baseline(solid, height) if bars else None
    if base is None:
        return set()

    def partner(i: int) -> bool:  # a bar above, about as long, over it: the two are an "=" written low or tall
        a = boxes[i]
        return any(
            boxes[j][1] < a[1] and min(a[2], boxes[j][2]) >= 0.5 * max(a[2], boxes[j][2]) and _stacked_bars(a, boxes[j])
            for j in bars
        )

    return {
        i for i in bars if boxes[i][1] > base(boxes[i][0] + boxes[i][2] / 2) + UNDERLINE * height and not partner(i)
    }


def baseline(boxes: Sequence[Box], height: float) -> Callable[[float], float] | None:
    """Where the line's tall symbols stand at each x (a straight line fitted to their bottoms, a descender
    left out); None without tall symbols."""
    tall = [b for b in boxes if not _flat(b) and b[3] >= 0.5 * height]
    if not tall:
        return None
    if len(tall) < 3:
        level = float(statistics.median(b[1] + b[3] for b in tall))
        return lambda x: level
    xs = np.array([b[0] + b[2] / 2 for b in tall])
    ys = np.array([b[1] + b[3] for b in tall])
    slope, level = np.polyfit(xs, ys, 1)
    fits = np.abs(ys - (slope * xs + level)) <= 0.15 * height
    if fits.sum() >= 2:
        slope, level = np.polyfit(xs[fits], ys[fits], 1)
    return lambda x: float(slope * x + level)


def _high(box: Box, base: Callable[[float], float], rise: float) -> bool:
    """Whether a box's centre lies more than ``rise`` above the baseline."""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return cy < base(cx) - rise


def _top_bar(bar: Box, body: Box, base: Callable[[float], float] | None, height: float) -> bool:
    """Whether ``bar`` is a bar at the top of the line over ``body``, a tall symbol (a 5's detached bar)."""
    if base is None:
        return False
    cx, cy = bar[0] + bar[2] / 2, bar[1] + bar[3] / 2
    return bar[3] < TOP_BAR * bar[2] and not _flat(body) and body[3] >= 0.5 * height and cy < base(cx) - 0.7 * height


def _check_one_line(groups: list[Group], height: float) -> None:
    """Neighbouring tall symbols must share some height: a jump to a disjoint band is a second line."""
    tall = [g for g in groups if g.height >= 0.5 * height and not _flat(g.box)]
    for a, b in itertools.pairwise(tall):
        if _y_gap(a.box, b.box) > 0.5 * height:
            raise SegmentationError("The ink holds more than one line of writing; write one line at a time.")


# -- strokes ----------------------------------------------------------------------------------------------


def _stroke_box(points: np.ndarray, width: float) -> Box:
    r = width / 2.0
    x0, y0 = points.min(axis=0) - r
    x1, y1 = points.max(axis=0) + r
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    """Points along the polyline no further apart than ``step`` (for a distance test between strokes)."""
    if len(points) < 2:
        return points
    out = [points[:1]]
    for a, b in itertools.pairwise(points):
        k = max(1, int(np.ceil(np.hypot(*(b - a)) / max(step, 1e-6))))
        t = np.arange(1, k + 1)[:, None] / k
        out.append(a + (b - a) * t)
    return np.concatenate(out)


def segment_strokes(
    strokes: Sequence[Sequence[Sequence[float]]], widths: Sequence[float], min_symbols: int = 1
) -> Segmentation:
    """Group pen strokes (point lists, x y first in each point) into symbols and render each symbol's crop.

    Crops are rendered only when at least ``min_symbols`` symbols are found, or the strokes may be cut into
    two: the pad classifies a single symbol from the whole drawing, and a crop it never uses would add to every
    pen-up's latency."""
    pts = [np.asarray([(p[0], p[1]) for p in s], np.float64) for s in strokes]
    drawn = [i for i, p in enumerate(pts) if len(p)]
    bare = [_stroke_box(pts[i], 0.0) for i in drawn]
    under = underlines(bare)
    keep = [i for j, i in enumerate(drawn) if j not in under]
    bare = [b for j, b in enumerate(bare) if j not in under]
    pen_height = line_height(bare) if bare else 1.0  # the line's height from the strokes alone, pen left out
    widths = [min(float(w), max(1.0, PEN_SHARE * pen_height)) for w in widths]
    meet, near_reach = MEET_SHARE * pen_height, NEAR_SHARE * pen_height
    all_widths = list(widths)
    pts = [pts[i] for i in keep]
    widths = [float(widths[i]) for i in keep]
    boxes = [_stroke_box(p, w) for p, w in zip(pts, widths, strict=True)]
    spans = bare  # the same strokes, in the same order
    dense: dict[int, np.ndarray] = {}
    gaps: dict[tuple[int, int], float] = {}

    def gap(i: int, j: int) -> float:
        """The closest approach of two strokes' paths, once per pair."""
        if (i, j) not in gaps:
            for k in (i, j):  # crossing paths come within 0.71 steps of each other
                if k not in dense:
                    dense[k] = _densify(pts[k], max(meet, 1.0))
            a, b = dense[i], dense[j]
            squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
            gaps[i, j] = gaps[j, i] = float(np.sqrt(max(float(squared.min()), 0.0)))
        return gaps[i, j]

    def touching(i: int, j: int) -> bool:
        return gap(i, j) <= meet + 1.0

    groups, height = group_parts(boxes, touching, spans)
    local = {k: i for i, k in enumerate(keep)}

    def nearly_meet(a: list[int], b: list[int]) -> bool:
        """Whether two symbols (stroke indices) may be one whose strokes missed each other (NEAR_SHARE)."""
        a, b = [local[k] for k in a], [local[k] for k in b]
        if any(max(u[2], u[3]) < SMALL * height for u in (_union([boxes[k] for k in side]) for side in (a, b))):
            return False  # a dot beside a digit is a point
        if -_x_overlap(_union([spans[k] for k in a]), _union([spans[k] for k in b])) > near_reach:
            return False
        return min(gap(p, q) for p in a for q in b) <= near_reach

    cuts = [
        Cut(gi, [[keep[i] for i in piece] for piece in pieces], [_union([boxes[i] for i in piece]) for piece in pieces])
        for gi, g in enumerate(groups)
        for pieces in _side_by_side(g.parts, boxes, spans, height)
    ]
    for g in groups:
        g.parts = [keep[i] for i in g.parts]
    near = [i for i, (a, b) in enumerate(itertools.pairwise(groups)) if nearly_meet(a.parts, b.parts)]
    box_of = dict(zip(keep, boxes, strict=True))

    def crop_of(parts: list[int]) -> np.ndarray:
        return render_strokes(
            [strokes[i] for i in parts], [all_widths[i] for i in parts], _union([box_of[i] for i in parts])
        )

    crops = [crop_of(g.parts) for g in groups] if len(groups) >= min_symbols or cuts else []
    return Segmentation(groups, height, crops, crop_of, near, cuts, nearly_meet)


def _side_by_side(parts: list[int], boxes: Sequence[Box], spans: Sequence[Box], height: float) -> list[list[list[int]]]:
    """The ways to divide a symbol's strokes, left to right, into two to MAX_PIECES pieces that each could be a
    symbol (not a dot) and that only meet their neighbours, without sharing columns (a bar over a stem, as in
    ``+`` or a ``5``'s hat, shares). Groups of more than MAX_CUT_STROKES strokes (a scribble, not touching
    symbols) are only tried in two pieces, so the cuts to read stay few."""
    floor = NARROW * height
    order = sorted(parts, key=lambda k: spans[k][0] + spans[k][2] / 2)
    n = len(order)
    ink: dict[tuple[int, int], Box] = {}  # the pieces order[i:j], unions grown one stroke at a time
    path: dict[tuple[int, int], Box] = {}
    for i in range(n):
        for j in range(i + 1, n + 1):
            k = order[j - 1]
            ink[i, j] = boxes[k] if j == i + 1 else _union([ink[i, j - 1], boxes[k]])
            path[i, j] = spans[k] if j == i + 1 else _union([path[i, j - 1], spans[k]])

    def apart(i: int, c: int, j: int) -> bool:  # pieces order[i:c] and order[c:j] only meet
        a, b = _widened(path[i, c], floor), _widened(path[c, j], floor)
        return _x_overlap(a, b) < 0.2 * min(a[2], b[2])

    def symbol(i: int, j: int) -> bool:
        return max(ink[i, j][2], ink[i, j][3]) >= SMALL * height

    most = MAX_PIECES if n <= MAX_CUT_STROKES else 2
    out = []
    for count in range(1, min(most, n)):
        for inner in itertools.combinations(range(1, n), count):
            ends = (0, *inner, n)
            if all(symbol(i, j) for i, j in itertools.pairwise(ends)) and all(
                apart(i, c, j) for i, c, j in zip(ends[:-2], ends[1:-1], ends[2:], strict=True)
            ):
                out.append([sorted(order[i:j]) for i, j in itertools.pairwise(ends)])
    return out


def _widened(box: Box, width: float) -> Box:
    """The box, at least ``width`` wide about its centre."""
    x, y, w, h = box
    return (x + w / 2 - width / 2, y, width, h) if w < width else box


def render_strokes(
    strokes: Sequence[Sequence[Sequence[float]]], widths: Sequence[float], box: Box, side: int = CROP_SIDE
) -> np.ndarray:
    """One symbol's strokes, black on white, anti-aliased, in its box plus a paper margin (RGB uint8)."""
    x, y, w, h = box
    margin = CROP_MARGIN * max(w, h)
    full = max(w, h) + 2 * margin
    scale = min(side / full, 4.0)
    out_w, out_h = max(1, round((w + 2 * margin) * scale)), max(1, round((h + 2 * margin) * scale))
    sub = 4  # draw large and shrink: smooth edges
    canvas = np.zeros((out_h * sub, out_w * sub), np.uint8)
    for stroke, width in zip(strokes, widths, strict=True):
        p = np.asarray([(q[0], q[1]) for q in stroke], np.float64)
        p = np.round((p - (x - margin, y - margin)) * scale * sub).astype(np.int32)
        pen = max(1, round(width * scale * sub))
        if len(p) == 1 or np.all(p == p[0]):
            cv2.circle(canvas, (int(p[0][0]), int(p[0][1])), max(1, pen // 2), 255, -1, cv2.LINE_AA)
        else:
            cv2.polylines(canvas, [p], False, 255, pen, cv2.LINE_AA)
    ink = cv2.resize(canvas, (out_w, out_h), interpolation=cv2.INTER_AREA)
    return np.repeat((255 - ink)[:, :, None], 3, axis=2)


# -- images -----------------------------------------------------------------------------------------------


def ink_components(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int], np.ndarray, float, float]:
    """The ink strength of an image (at up to LINE_WORK pixels), its connected components of confident ink
    (labels, the ids kept: no specks, no page-edge lines, and their stats), the factor from the original
    image to that raster, and the pen width there."""
    h, w = rgb.shape[:2]
    scale = min(1.0, LINE_WORK / max(h, w))
    diff, noise = ink_contrast(rgb, work=LINE_WORK, photo=False)
    raw = _without_rules(_without_shading(stretch(diff, noise, _paper_noise(diff))))
    pen = max(stroke_width(raw), 1.0)  # of the confident ink: the line's main pen
    side = max(3, round(LOCAL * pen)) | 1
    ink = np.clip(raw / np.maximum(cv2.dilate(raw, np.ones((side, side), np.uint8)), FAINT_FLOOR), 0.0, 1.0)
    mask = _hysteresis(ink) if grain(rgb.astype(np.float32) / 255.0) > NOISY_GRAIN else (ink > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return ink, labels, [], stats, scale, 1.0
    keep = _not_specks(labels, stats, raw, pen)
    halo = edge_line_halo(np.isin(labels, keep), EDGE_BAND * min(h, w) * scale) if keep.size else None
    if halo is not None:  # rare: redo the components without the lines
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask & ~halo, connectivity=8)
        keep = _not_specks(labels, stats, raw, pen)
    keep = np.union1d(keep, _division_dots(stats, keep))
    return ink, labels, [int(k) for k in keep if not _edge_hairline(labels, stats[k], k, pen)], stats, scale, pen


def _division_dots(stats: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Specks too faint or small to keep alone that are the dots of a ``÷``: one above and one below a kept bar
    (DIV_BAR times as wide as tall), over its middle half, each as near it as :func:`group_parts` joins a ``÷``'s
    dots (DIV_GAP) and under half its length in size. A photo's blur leaves such dots a pixel or two of weak
    ink, and the bar alone read as a minus; grain seldom puts a speck on both sides of a bar's middle."""
    dropped = np.setdiff1d(np.arange(1, len(stats)), keep)
    if not dropped.size:
        return dropped
    x, y, w, h = (stats[dropped, i].astype(float) for i in range(4))
    cx, cy = x + w / 2, y + h / 2
    found: list[int] = []
    for k in keep:
        bx, by, bw, bh = (float(v) for v in stats[k, :4])
        if bw < DIV_BAR * bh:
            continue
        over = (np.abs(cx - (bx + bw / 2)) <= bw / 4) & (np.maximum(w, h) < bw / 2)
        above = over & (cy < by) & (by - (y + h) <= DIV_GAP * bw)
        below = over & (cy > by + bh) & (y - (by + bh) <= DIV_GAP * bw)
        if above.any() and below.any():
            found += [int(dropped[above][np.argmax(cy[above])]), int(dropped[below][np.argmin(cy[below])])]
    return np.array(found, int)


def _edge_hairline(labels: np.ndarray, box: np.ndarray, k: int, pen: float) -> bool:
    """Whether component ``k`` (``box``: its stats row) is a hairline grid piece at the border (HAIRLINE)."""
    x, y, cw, ch = (int(v) for v in box[:4])
    h, w = labels.shape
    if not (x == 0 or y == 0 or x + cw == w or y + ch == h):
        return False
    return stroke_width(labels[y : y + ch, x : x + cw] == k) <= HAIRLINE * pen


def _hysteresis(ink: np.ndarray) -> np.ndarray:
    """Confident ink (above 0.5) and the weaker ink connected to it (above WEAK_INK): a thin, faint stroke that
    a photo's blur and grain leave at about half strength stays one piece instead of breaking into specks."""
    count, labels = cv2.connectedComponents((ink > WEAK_INK).astype(np.uint8), connectivity=8)
    anchored = np.zeros(count, bool)
    anchored[labels[ink > 0.5]] = True
    anchored[0] = False
    return anchored[labels].astype(np.uint8)


def _not_specks(labels: np.ndarray, stats: np.ndarray, raw: np.ndarray, pen: float) -> np.ndarray:
    """The ids of the components that may be writing: not specks, and of some size if only boosted ink."""
    peak = np.zeros(len(stats), np.float32)
    inked = labels > 0
    np.maximum.at(peak, labels[inked], raw[inked])
    area = stats[:, cv2.CC_STAT_AREA]
    smallest = np.where(peak >= 0.5, max(2.0, 0.08 * pen * pen), max(2.0, FAINT_AREA * pen * pen))
    keep = area >= smallest
    keep[0] = False
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    flat = (peak < 0.5) & (w >= 3 * h) & (area < 2 * pen * w)  # faint, long and thin (if it slopes, its box is not)
    keep[_ruling(stats, flat, labels.shape, pen)] = False
    return np.flatnonzero(keep)


def _ruling(stats: np.ndarray, flat: np.ndarray, shape: tuple[int, int], pen: float) -> list[int]:
    """The faint flat pieces that lie in a row (a slope of up to RULE_SLOPE) with others covering RULE_PIECES of
    the image's width together: the ruling of lined paper between the symbols, which the local measure brings
    out. A piece alone must also be RULE_LENGTH image heights long (a ruling across the whole line that the long
    opening left, as it slopes), since a light minus in a short line covers that share of the width too."""
    ids = np.flatnonzero(flat)
    ids = ids[ids > 0]
    cx = stats[ids, cv2.CC_STAT_LEFT] + stats[ids, cv2.CC_STAT_WIDTH] / 2
    cy = stats[ids, cv2.CC_STAT_TOP] + stats[ids, cv2.CC_STAT_HEIGHT] / 2
    height, width = shape
    found = []
    for i, k in enumerate(ids):
        along = np.abs(cy - cy[i]) <= RULE_SLOPE * np.abs(cx - cx[i]) + 2 * pen
        alone = along.sum() == 1 and stats[k, cv2.CC_STAT_WIDTH] < RULE_LENGTH * height
        if not alone and stats[ids[along], cv2.CC_STAT_WIDTH].sum() >= RULE_PIECES * width:
            found.append(int(k))
    return found


def _without_rules(ink: np.ndarray) -> np.ndarray:
    """Ink less the long horizontal lines of ruled paper: what an opening along a row RULE_LENGTH long keeps is
    longer than any stroke of a line of writing (a minus or an ``=`` is about one line height long); and less
    the columns of squared paper (:func:`_columns`). Both are found on the same ink: taking out one first would
    cut the other into short pieces."""
    h, w = ink.shape
    length = round(max(RULE_LENGTH * h, RULE_SPAN * w))
    rules = _columns(ink)
    if length < w:
        rows = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
        # a line that slopes a little leaves its ends and rims out of the opening: take its surroundings along too
        rows = cv2.dilate(rows, np.ones((3, length // 4 | 1), np.uint8))
        rules = rows if rules is None else np.maximum(rules, rows)
    return ink if rules is None else np.clip(ink - rules, 0.0, 1.0)


def _columns(ink: np.ndarray) -> np.ndarray | None:
    """The vertical lines of squared paper, if any: faint ink running (in steps of COLUMN_RUN of the height, so a
    photo a little askew still counts) from the top of the image to its bottom, where no stroke of one line of
    writing reaches; at least COLUMNS of them, as a line cropped to its ink has symbols as tall as the image (a
    faint 1 there was taken for a column). Ink stronger than COLUMN_FAINT counts as that faint, so a column runs on
    through the strokes it crosses, and each column is given its own strength along its length: a symbol it
    crosses keeps the rest of its ink."""
    h = ink.shape[0]
    faint = np.minimum(ink, COLUMN_FAINT)
    runs = cv2.morphologyEx(faint, cv2.MORPH_OPEN, np.ones((max(3, round(COLUMN_RUN * h)), 1), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats((runs > 0.05).astype(np.uint8), connectivity=8)
    tall = np.flatnonzero(stats[1:, cv2.CC_STAT_HEIGHT] >= COLUMN_SPAN * h) + 1
    if tall.size < COLUMNS:
        return None
    columns = np.zeros_like(ink)
    for k in tall:
        x, y, cw, ch = (int(v) for v in stats[k, :4])
        mine = labels[y : y + ch, x : x + cw] == k
        level = float(np.median(runs[y : y + ch, x : x + cw][mine]))  # the line's own strength, not a stroke's
        columns[y : y + ch, x : x + cw][mine] = level
    return cv2.dilate(columns, np.ones((3, 3), np.uint8))  # the rims a slope or blur leaves beside it


def _paper_noise(diff: np.ndarray, reduce: int = 4) -> np.ndarray:
    """The paper's noise around each pixel of ``diff`` (a line's colour departure from its fitted paper), for
    :func:`stretch`'s zero level. The border fit measures its noise on the median ring pixel; this is the median
    pixel within a window one line height wide (paper, in a line of writing), without the shading. The fit counts
    a shadow it cannot follow as noise, and four times that wiped out light operators in photos; a shadow's own
    texture (JPEG blocks over its slope) still raises the floor where it lies. Taken at 1/``reduce`` of the
    resolution, as shading and grain vary slowly."""
    h, w = diff.shape
    small = cv2.resize(_without_shading(diff), (max(1, w // reduce), max(1, h // reduce)), interpolation=cv2.INTER_AREA)
    side = min(255, max(3, small.shape[0]) | 1)
    # medianBlur takes large windows on 8 bits only: 1/1020 steps hold the noise levels that matter (up to 0.25)
    level = cv2.medianBlur(np.clip(small * 1020.0, 0, 255).astype(np.uint8), side).astype(np.float32) / 1020.0
    return paper_sigma(cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR))


def _without_shading(ink: np.ndarray, reduce: int = 4) -> np.ndarray:
    """Ink less its broad, smooth part: a morphological opening wider than any stroke or dot keeps only such
    plateaus; it is taken at 1/``reduce`` of the resolution, as shading is smooth anyway."""
    h, w = ink.shape
    small = cv2.resize(ink, (max(1, w // reduce), max(1, h // reduce)), interpolation=cv2.INTER_AREA)
    side = max(3, round(SHADING * h / reduce)) | 1
    plateau = cv2.morphologyEx(small, cv2.MORPH_OPEN, np.ones((side, side), np.uint8))
    return np.clip(ink - cv2.resize(plateau, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def segment_image(rgb: np.ndarray) -> Segmentation:
    """Group the ink components of an image into symbols; boxes are in the image's pixels."""
    ink, labels, ids, stats, scale, pen = ink_components(rgb)
    boxes: list[Box] = [(float(stats[k, 0]), float(stats[k, 1]), float(stats[k, 2]), float(stats[k, 3])) for k in ids]
    under = underlines(boxes)
    ids = [k for j, k in enumerate(ids) if j not in under]
    boxes = [b for j, b in enumerate(boxes) if j not in under]

    def point(i: int, raised: bool) -> bool:
        # Tiny dots stay in a group (a faint ÷ keeps its dots); alone, they are specks, not decimal points.
        area, (_, _, bw, bh) = stats[ids[i], cv2.CC_STAT_AREA], boxes[i]
        if not raised:
            return area >= SPECK * pen * pen
        dot = (
            area >= RAISED_DOT * pen * pen
            and area >= RAISED_FILL * bw * bh
            and max(bw, bh) <= RAISED_ASPECT * min(bw, bh)
        )
        return dot and _clear(labels, ids[i], boxes[i], RAISED_CLEAR * pen)

    groups, height = group_parts(boxes, point=point)
    base = baseline(boxes, height)
    cuts = []
    for gi, g in enumerate(groups):
        if _cut_at_neck(labels, ids, boxes, g, height, pen, base):
            cuts += [
                Cut(gi, pieces, [_union([boxes[i] for i in piece]) for piece in pieces], neck=True)
                for pieces in _side_by_side(g.parts, boxes, boxes, height)
            ]

    def crop_of(parts: list[int]) -> np.ndarray:
        return _image_crop(ink, labels, [ids[i] for i in parts], _union([boxes[i] for i in parts]))

    crops = [crop_of(g.parts) for g in groups]
    for g in groups:
        g.box = _scaled(g.box, 1 / scale)
    for c in cuts:
        c.boxes = [_scaled(b, 1 / scale) for b in c.boxes]
    return Segmentation(groups, height / scale, crops, crop_of, cuts=cuts)


def _clear(labels: np.ndarray, own: int, box: Box, margin: float) -> bool:
    """Whether no ink component but ``own`` reaches within ``margin`` pixels of ``box``."""
    r = math.ceil(margin)
    x, y, w, h = (int(v) for v in box)
    window = labels[max(0, y - r) : y + h + r, max(0, x - r) : x + w + r]
    return not ((window > 0) & (window != own)).any()


def _scaled(box: Box, factor: float) -> Box:
    return box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor


def _cut_at_neck(
    labels: np.ndarray,
    ids: list[int],
    boxes: list[Box],
    group: Group,
    height: float,
    pen: float,
    base: Callable[[float], float] | None,
) -> bool:
    """Neighbours written touching are one ink component: split a wide component of the group at a thin column
    (where at most one stroke crosses, well inside it; see ``_neck``) into two parts, and each side again while it
    is wide, so the model can read the pieces apart (a ``Cut``). ``labels``, ``ids``, ``boxes`` and the group's
    parts gain each right side. Returns whether a component was split."""
    split = False
    todo = list(group.parts)
    while todo:
        i = todo.pop()
        x, y, w, h = (round(v) for v in boxes[i])
        if w < NECK_WIDTH * height or h < SMALL * height:
            continue
        own = labels[y : y + h, x : x + w] == ids[i]
        if own.sum() > 0.5 * w * h:
            continue  # a filled blob (a big point) is one symbol
        found = _neck(own, x, y, height, pen, base)
        if found is None:
            continue
        right, sides = found
        ids.append(int(labels.max()) + 1)
        labels[y : y + h, x : x + w][right] = ids[-1]
        boxes[i] = sides[0]
        boxes.append(sides[1])
        group.parts.append(len(ids) - 1)
        todo += [i, len(ids) - 1]
        split = True
    return split


def _neck(
    own: np.ndarray, x: int, y: int, height: float, pen: float, base: Callable[[float], float] | None
) -> tuple[np.ndarray, list[Box]] | None:
    """Where to cut one component (its mask ``own``, lying at x, y): the right side's mask and both sides' boxes,
    or None. Ink one symbol wide is tried only at its thinnest column, and never leaves a bar (a ``+``'s arm, a
    ``7``'s hat). Ink as wide as two symbols (TWO_WIDE) is cut at the thinnest column whose sides could each be a
    symbol: the thinnest often lies in a bar that runs into its neighbour (``-9``, ``=5``, ``+4``), and a bar cut
    off stands alone where a minus would stand."""
    h, w = own.shape
    lo, hi = round(0.2 * w), round(0.8 * w)
    if hi <= lo:
        return None
    profile = own.sum(axis=0)
    wide = w >= TWO_WIDE * height
    columns = (
        sorted(range(lo, hi), key=lambda c: (profile[c], abs(c - w / 2)))
        if wide
        else [lo + int(np.argmin(profile[lo:hi]))]
    )
    total = int(profile.sum())
    for c in columns:
        if profile[c] > max(2.0, 1.5 * pen):
            return None  # thinnest first: every other column is crossed by more ink
        left_area = int(profile[:c].sum())
        if min(left_area, total - left_area) < 0.15 * total:
            continue
        left, right = own.copy(), own.copy()
        left[:, c:], right[:, :c] = False, False
        sides = [_mask_box(side, x, y) for side in (left, right)]
        if all(_alone(b, wide, height, base) for b in sides):
            return right, sides
    return None


def _alone(side: Box, wide: bool, height: float, base: Callable[[float], float] | None) -> bool:
    """Whether a side cut off touching ink may be a symbol alone: a bar only in ink as wide as two symbols, and
    then only one long and high enough for a minus or an ``=``'s bar (a digit's lead-in or tail lies at its top
    or its foot)."""
    if not wide:
        return not _flat(side)
    if side[3] >= 0.5 * height or side[2] <= side[3]:
        return True
    if side[2] < BAR_CUT * height or base is None:
        return False
    return _high(side, base, MINUS_RISE[0] * height) and not _high(side, base, MINUS_RISE[1] * height)


def _mask_box(mask: np.ndarray, x: int, y: int) -> Box:
    """The box of a mask's pixels, the mask lying at (x, y)."""
    ys, xs = np.nonzero(mask)
    return float(x + xs.min()), float(y + ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def _image_crop(ink: np.ndarray, labels: np.ndarray, ids: list[int], box: Box, side: int = CROP_SIDE) -> np.ndarray:
    """One symbol's ink (only its own components, with their anti-aliased rim), dark on white."""
    x, y, w, h = (round(v) for v in box)
    margin = max(2, round(CROP_MARGIN * max(w, h)))
    H, W = ink.shape
    x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(W, x + w + 2), min(H, y + h + 2)
    own = np.isin(labels[y0:y1, x0:x1], ids).astype(np.uint8)
    own = cv2.dilate(own, np.ones((3, 3), np.uint8)).astype(bool)
    piece = np.where(own, ink[y0:y1, x0:x1], 0.0)
    piece = cv2.copyMakeBorder(piece, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0.0)
    longer = max(piece.shape)
    if longer > side:
        f = side / longer
        piece = cv2.resize(
            piece, (max(1, round(piece.shape[1] * f)), max(1, round(piece.shape[0] * f))), interpolation=cv2.INTER_AREA
        )
    gray = np.clip(255.0 - piece * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)
