"""How people write the 19 symbols: named writing styles, drawn from parameterised stroke templates.

The Kaggle dataset's writers share habits (z with a cross-bar, x as ")(", 1 as a bare bar ...); other people
write differently. Every entry of :data:`STYLES` is one such way of writing a class, as a stroke template
whose shape has its own parameters (a bar's length, a tail's curl, an oval's width). Every drawing then
also varies the way any hand and any canvas does (:data:`COMMON`): slant, rotation, aspect, pen width
relative to the symbol's size, wobble, a smooth elastic distortion, canvas size and placement, ink and
paper colours, either polarity, and tiny 28x28 crops (:data:`RENDERINGS`).

The training variants and the style test set never share parameters: every continuous parameter's range
is cut into five equal bands; training drawings take their values from bands 1, 3 and 5 and the test set
from bands 2 and 4 (inside the trained range, never on trained values). Seeds come from disjoint ranges and
the ink and paper colours from disjoint palettes. ``style_table()`` lists every style with its ranges.

Where a drawing is genuinely ambiguous within the 19 classes, the style names the runner-up (``second``):
a straight cross is read as × (``mul``, as the dataset's writers mean it) with a printed x as the close
second, and a 4 whose arm curves into the bar as 4 with y second (many of the dataset's writers make their y
that way); training gives such drawings a soft target (``SECOND_WEIGHT`` on the runner-up).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from trainer.data.strokes import Stroke, render
from trainer.labels import CLASS_NAMES

Values = dict[str, float]
Range = tuple[float, float]

BANDS = 5
SPLIT_BANDS: dict[str, tuple[int, ...]] = {"train": (0, 2, 4), "test": (1, 3)}
#: Seeds of the two splits never meet: a split's generator is seeded with SEED_BASE[split] + seed (seed < 10^6).
SEED_BASE = {"train": 0, "test": 1_000_000}
#: Share of a soft target given to an ambiguous style's runner-up class.
SECOND_WEIGHT = 0.25

#: What every drawing varies, whatever its style (a style may narrow a range).
COMMON: dict[str, Range] = {
    "slant": (-0.35, 0.35),  # horizontal shear; positive leans right
    "rotate": (-10.0, 10.0),  # degrees
    "aspect": (-0.3, 0.3),  # log of width / height stretch
    "width": (0.025, 0.11),  # pen width in template units (a symbol is about 0.7 tall)
    "wobble": (0.0, 0.012),  # std of the template points' jitter
    "elastic": (0.0, 0.03),  # amplitude of a smooth displacement field
    "scale": (0.3, 0.9),  # the symbol's longer side as a share of the canvas
    "canvas": (64.0, 320.0),  # canvas side in pixels
}

#: How a drawing reaches the model: a canvas drawing, light ink on a dark background, or a tight 28x28 crop.
RENDERINGS = ("canvas", "inverted", "tiny_28x28")
_TRAIN_RENDERING_P = (0.6, 0.2, 0.2)

_PALETTES = {  # (ink, paper) pairs; train and test share none
    "train": [
        ((0, 0, 0), (255, 255, 255)),
        ((20, 40, 200), (255, 255, 255)),
        ((200, 30, 30), (250, 244, 225)),
        ((20, 130, 40), (235, 240, 250)),
        ((90, 90, 90), (255, 255, 255)),
    ],
    "test": [
        ((30, 30, 60), (245, 245, 240)),
        ((120, 40, 160), (255, 255, 255)),
        ((0, 110, 160), (240, 235, 245)),
        ((110, 60, 20), (250, 250, 235)),
    ],
}
_INVERTED = {
    "train": [((255, 255, 255), (0, 0, 0)), ((230, 230, 210), (30, 50, 40)), ((255, 220, 80), (20, 20, 40))],
    "test": [((240, 240, 250), (40, 40, 50)), ((120, 230, 255), (10, 10, 10))],
}


@dataclass(frozen=True)
class Style:
    """One way of writing a class: a template built from parameter values, and the ranges they come from."""

    label: str
    name: str
    description: str
    build: Callable[[Values, np.random.Generator], list[Stroke]]
    params: dict[str, Range] = field(default_factory=dict)
    common: dict[str, Range] = field(default_factory=dict)  # narrower common ranges for this style
    second: str | None = None  # the runner-up class of an ambiguous style
    dot_scale: Range = (1.1, 1.6)  # radius of dots, in pen widths

    def ranges(self) -> dict[str, Range]:
        """Every parameter's full range (common ones as narrowed by the style)."""
        return {**COMMON, **self.common, **self.params, "dot_scale": self.dot_scale}


# -- templates (unit square, y down) ------------------------------------------------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 24) -> Stroke:
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(start, end, n)
    ]


def _zero(v, rng):
    ry = 0.38
    start = v["start"]
    return [_arc(0.5, 0.5, ry * v["ratio"], ry, start, start - 360 - v["overlap"], 36)]


def _one_plain(v, rng):
    return [[(0.5 + v["lean"], 0.12), (0.5, 0.88)]]


def _one_flag(v, rng):
    f = v["flag"]
    return [[(0.5 - f, 0.12 + f * v["drop"]), (0.5, 0.12), (0.5, 0.88)]]


def _one_base(v, rng):
    b = v["base"]
    return _one_flag(v, rng) + [[(0.5 - b, 0.88), (0.5 + b, 0.88)]]


def _two_top(v) -> Stroke:
    r = v["round"]
    return [(0.27, 0.3), (0.33, 0.17), (0.5, 0.1), (0.66 + 0.04 * r, 0.15), (0.7 + 0.04 * r, 0.3), (0.62, 0.47)]


def _two_plain(v, rng):
    return [_two_top(v) + [(0.26, 0.88), (0.26 + v["base"], 0.88)]]


def _two_looped(v, via: tuple[float, float], left: float, wide: float, points: int) -> Stroke:
    """Top, down through ``via`` into a loop hanging at the bottom-left (``wide`` times as wide as tall), then the
    base."""
    r = v["loop"]
    loop = _arc(left - r * 0.2, 0.86 - r, r * wide, r, -60, -60 + 330, points)
    return _two_top(v) + [via] + loop + [(0.35 + v["base"] * 0.5, 0.9), (0.3 + v["base"], 0.89)]


def _two_loop(v, rng):
    return [_two_looped(v, (0.4, 0.68), 0.3, 1.0, 14)]


def _two_big_loop(v, rng):
    return [_two_looped(v, (0.45, 0.62), 0.32, v["wide"], 18)]  # a round loop, up to a third of the height


def _three_round(v, rng):
    m = v["middle"]
    return [
        [
            (0.27, 0.17),
            (0.45, 0.1),
            (0.65, 0.15),
            (0.7, 0.3),
            (0.6, 0.43),
            (m, 0.48),
            (0.62, 0.53),
            (0.74, 0.68),
            (0.68, 0.84),
            (0.5, 0.91),
            (0.27, 0.84),
        ]
    ]


def _three_flat(v, rng):
    m = v["middle"]
    return [[(0.28, 0.12), (0.7, 0.12), (m, 0.42), (0.62, 0.47), (0.73, 0.63), (0.68, 0.82), (0.5, 0.9), (0.28, 0.84)]]


def _four_closed(v, rng):
    h, s = v["bar"], v["stem"]
    return [[(s, 0.9), (s, 0.1), (0.22, h), (0.8, h)]]


def _four_open(v, rng):
    h, s = v["bar"], v["stem"]
    return [[(0.22 + v["lean"], 0.1), (0.22, h), (s + v["reach"], h)], [(s, v["stem_top"]), (s, 0.9)]]


def _four_rounded(v, rng):
    h, s, lean = v["bar"], v["stem"], v["lean"]
    arm = [(0.24 + lean, 0.1), (0.2 + 0.5 * lean, h - 0.12), (0.24, h - 0.03), (0.32, h), (s + v["reach"], h)]
    return [arm, [(s, v["stem_top"]), (s, 0.9)]]


def _four_slanted(v, rng):
    h, s, top, lean = v["bar"], v["stem"], 0.24 - v["inward"] / 2, v["stem_lean"]
    return [
        [(top, v["arm_top"]), (top + v["inward"], h), (s + v["reach"], h)],
        [(s + lean, v["stem_top"]), (s - lean, 0.9)],
    ]


def _four_short_arm(v, rng):
    h, s = v["bar"], v["stem"]
    return [[(0.3, v["arm_top"]), (0.24, h), (s + v["reach"], h)], [(s, 0.1), (s, 0.9)]]


def _five_belly(v) -> Stroke:
    b = v["belly"]
    return [
        (0.33, 0.1),
        (0.3, 0.45),
        (0.5, 0.4),
        (0.66 + b, 0.48),
        (0.72 + b, 0.66),
        (0.64 + b, 0.84),
        (0.48, 0.91),
        (0.27, 0.85),
    ]


def _five_one(v, rng):
    return [[(0.72, 0.1)] + _five_belly(v)]


def _five_two(v, rng):
    return [_five_belly(v), [(0.33, 0.1), (0.74, 0.1 - v["hat"])]]


def _six(v, rng):
    r = v["loop"]
    return [
        [(0.66, 0.1), (0.46, 0.22), (0.32, 0.45), (0.29, 0.7)]
        + _arc(0.5, 0.72, 0.21 * r + 0.02, 0.18 * r, 180, 180 + 340, 20)
    ]


def _seven_stem(v) -> Stroke:
    return [(0.24, 0.12 + v["serif"]), (0.24, 0.12), (0.76, 0.12), (v["foot"], 0.9)]


def _seven_plain(v, rng):
    return [_seven_stem(v)]


def _seven_bar(v, rng):
    mid = 0.76 + (v["foot"] - 0.76) * (0.5 - 0.12) / 0.78
    b = v["bar"]
    return [_seven_stem(v), [(mid - b, 0.5), (mid + b * 0.9, 0.5)]]


def _eight_one(v, rng):
    t = v["top"]
    return [_arc(0.5, 0.29, 0.19 * t, 0.19, 90, 450, 20) + _arc(0.5, 0.69, 0.23, 0.21, -90, 270, 22)]


def _eight_two(v, rng):
    t = v["top"]
    return [_arc(0.5, 0.29, 0.19 * t, 0.19, 0, 360, 20), _arc(0.5, 0.69, 0.23, 0.21, 0, 360, 22)]


def _nine_head(v) -> Stroke:
    r = v["head"]
    return _arc(0.48, 0.3, 0.2 * r, 0.18 * r, 0, -360, 22)


def _nine_straight(v, rng):
    head = _nine_head(v)
    x = head[0][0]
    return [head + [(x + v["lean"], 0.9)]]


def _nine_curled(v, rng):
    head = _nine_head(v)
    x = head[0][0]
    c = v["curl"]
    return [head + [(x - 0.01, 0.68), (x - 0.06, 0.84), (x - 0.16, 0.9), (x - 0.16 - c, 0.86)]]


def _plus(v, rng, tilt: float):
    h, w, dx = v["vertical"], v["horizontal"], v["cross"]
    a = math.radians(tilt)
    arms = [[(0, -h / 2), (0, h / 2)], [(-w / 2 + dx, 0), (w / 2 + dx, 0)]]
    return [
        [(0.5 + x * math.cos(a) - y * math.sin(a), 0.5 + x * math.sin(a) + y * math.cos(a)) for x, y in arm]
        for arm in arms
    ]


def _add_upright(v, rng):
    return _plus(v, rng, 0.0)


def _add_tilted(v, rng):
    return _plus(v, rng, v["tilt"] * rng.choice([-1, 1]))


def _dot_small(v, rng):
    return [[(0.5, 0.5)]]


def _dot_big(v, rng):
    r = v["radius"]
    return [_arc(0.5, 0.5, r * v["oval"], r, 0, 360, 12)]


def _div(v, rng):
    g, w = v["gap"], v["bar"]
    return [[(0.5 - w, 0.5), (0.5 + w, 0.5)], [(0.5 + v["shift"], 0.5 - g)], [(0.5 - v["shift"], 0.5 + g)]]


def _eq(v, rng):
    g, length = v["gap"], v["length"]
    second = length * v["ratio"]
    return [
        [(0.5 - length / 2, 0.5 - g / 2), (0.5 + length / 2, 0.5 - g / 2)],
        [(0.5 - second / 2 + v["shift"], 0.5 + g / 2), (0.5 + second / 2 + v["shift"], 0.5 + g / 2)],
    ]


def _mul(v, rng):
    a, r = math.radians(v["angle"]), v["arm"]
    dx, dy = r * math.cos(a), r * math.sin(a)
    k = v["ratio"]
    return [[(0.5 - dx, 0.5 - dy), (0.5 + dx, 0.5 + dy)], [(0.5 + dx * k, 0.5 - dy * k), (0.5 - dx * k, 0.5 + dy * k)]]


def _sub(v, rng):
    length, sag = v["length"], v["sag"]
    return [[(0.5 - length / 2, 0.5), (0.5, 0.5 + sag), (0.5 + length / 2, 0.5)]]


def _x_paren(v, rng):
    c = v["bulge"]
    return [
        [(0.3, 0.15), (0.45 + c, 0.3), (0.5 + c, 0.5), (0.45 + c, 0.72), (0.32, 0.88)],
        [(0.72, 0.15), (0.56 - c, 0.3), (0.5 - c, 0.5), (0.56 - c, 0.72), (0.72, 0.88)],
    ]


def _x_cursive(v, rng):
    h = v["hook"]
    return [
        [(0.2, 0.2 + h), (0.25, 0.14), (0.33, 0.15), (0.5, 0.5), (0.67, 0.85), (0.75, 0.86), (0.8, 0.8 - h)],
        [(0.74, 0.15), (0.26, 0.85)],
    ]


def _y_straight(v, rng):
    j = v["join"]
    return [[(0.28, 0.15), (0.74 - j * 0.38, j)], [(0.74, 0.15), (0.36 + v["tail"], 0.9)]]


def _y_fork(v, rng):
    j = v["join"]
    return [[(0.28, 0.12), (0.5, j)], [(0.72, 0.12), (0.5, j), (0.5 + v["tail"], 0.9)]]


def _y_u(v, rng):
    return [
        [(0.27, 0.15), (0.28, 0.38), (0.38, 0.5), (0.52, 0.5), (0.66, 0.38)],
        [(0.7, 0.15), (0.69, 0.6), (0.64 + v["tail"], 0.9)],
    ]


def _y_looped(v, rng):
    r = v["loop"]
    return [
        [(0.25, 0.15), (0.27, 0.38), (0.38, 0.5), (0.52, 0.48), (0.66, 0.36), (0.7, 0.15), (0.69, 0.55), (0.64, 0.8)]
        + _arc(0.64 - r, 0.8, r, 0.11, 0, 180, 10)[1:]
        + [(0.52, 0.72), (0.68, 0.62)]
    ]


def _z_path(v) -> Stroke:
    t = v["top"]
    return [(0.26 + t, 0.2), (0.74, 0.2), (0.26, 0.8), (0.74, 0.8 + v["tilt_base"])]


def _z_plain(v, rng):
    return [_z_path(v)]


def _z_bar(v, rng):
    b = v["bar"]
    return [_z_path(v), [(0.5 - b, 0.5), (0.5 + b, 0.5)]]


_THIN = {"width": (0.02, 0.08)}
STYLES: tuple[Style, ...] = (
    Style(
        "0",
        "0 round",
        "an oval, closed or with a small gap/overlap",
        _zero,
        {"ratio": (0.6, 1.0), "start": (-130.0, -50.0), "overlap": (-15.0, 25.0)},
    ),
    Style(
        "0",
        "0 narrow",
        "a tall narrow oval",
        _zero,
        {"ratio": (0.32, 0.55), "start": (-130.0, -50.0), "overlap": (-10.0, 25.0)},
        _THIN,
    ),
    Style(
        "0",
        "0 bold",
        "an oval drawn with a broad pen, its hole small",
        _zero,
        {"ratio": (0.65, 0.95), "start": (-130.0, -50.0), "overlap": (-5.0, 20.0)},
        {"width": (0.13, 0.22)},
    ),
    Style("1", "1 plain", "a bare vertical bar", _one_plain, {"lean": (-0.05, 0.05)}),
    Style(
        "1",
        "1 flag",
        "a bar with a flag sloping down at the top (a flat one is a 7)",
        _one_flag,
        {"flag": (0.08, 0.22), "drop": (0.75, 1.4)},
    ),
    Style(
        "1",
        "1 flag and base",
        "flag and a horizontal base",
        _one_base,
        {"flag": (0.08, 0.22), "drop": (0.75, 1.4), "base": (0.12, 0.24)},
    ),
    Style("2", "2 plain", "round top, diagonal, flat base", _two_plain, {"round": (0.0, 1.0), "base": (0.35, 0.6)}),
    Style(
        "2",
        "2 loop",
        "a small loop at the bottom-left before the base",
        _two_loop,
        {"round": (0.0, 1.0), "base": (0.35, 0.55), "loop": (0.05, 0.09)},
    ),
    Style(
        "2",
        "2 big loop",
        "a round loop at the bottom-left, up to a third of the height, then the base",
        _two_big_loop,
        {"round": (0.0, 1.0), "base": (0.35, 0.6), "loop": (0.1, 0.17), "wide": (1.0, 1.6)},
    ),
    Style("3", "3 round", "two round bowls", _three_round, {"middle": (0.38, 0.52)}),
    Style("3", "3 flat top", "a flat top bar, then a round bowl", _three_flat, {"middle": (0.42, 0.52)}),
    Style("4", "4 closed", "one stroke, a closed triangle", _four_closed, {"bar": (0.58, 0.72), "stem": (0.58, 0.68)}),
    Style(
        "4",
        "4 open",
        "an L and a separate stem, open at the top",
        _four_open,
        {"bar": (0.55, 0.7), "stem": (0.6, 0.7), "stem_top": (0.1, 0.35), "lean": (0.0, 0.2), "reach": (0.06, 0.2)},
    ),
    Style(
        "4",
        "4 rounded",
        "open at the top, the arm curving into the bar (a u-shaped y is the close second)",
        _four_rounded,
        {"bar": (0.5, 0.65), "stem": (0.6, 0.72), "stem_top": (0.05, 0.25), "lean": (0.0, 0.15), "reach": (0.0, 0.1)},
        second="y",
    ),
    Style(
        "4",
        "4 slanted arm",
        "open at the top, the arm slanting in to a short bar, the stem leaning right (a y-like 4)",
        _four_slanted,
        {
            "bar": (0.55, 0.7),
            "stem": (0.6, 0.7),
            "stem_top": (0.08, 0.3),
            "arm_top": (0.08, 0.25),
            "inward": (0.08, 0.24),
            "reach": (0.04, 0.18),
            "stem_lean": (0.0, 0.12),
        },
    ),
    Style(
        "4",
        "4 short arm",
        "open, the arm starting well below the stem's top",
        _four_short_arm,
        {"bar": (0.5, 0.65), "stem": (0.6, 0.7), "arm_top": (0.28, 0.42), "reach": (0.04, 0.18)},
    ),
    Style("5", "5 one stroke", "hat, back and belly in one stroke", _five_one, {"belly": (-0.04, 0.04)}),
    Style(
        "5",
        "5 two strokes",
        "belly first, the hat added after",
        _five_two,
        {"belly": (-0.04, 0.04), "hat": (-0.04, 0.04)},
    ),
    Style("6", "6", "a curved back into a loop", _six, {"loop": (0.8, 1.2)}),
    Style("7", "7 plain", "a top bar and a stem", _seven_plain, {"serif": (0.0, 0.1), "foot": (0.36, 0.56)}),
    Style(
        "7",
        "7 barred",
        "with a cross-bar through the stem",
        _seven_bar,
        {"serif": (0.0, 0.1), "foot": (0.36, 0.56), "bar": (0.1, 0.2)},
    ),
    Style("8", "8 one stroke", "two loops in one stroke", _eight_one, {"top": (0.75, 1.15)}),
    Style("8", "8 two circles", "two stacked circles", _eight_two, {"top": (0.75, 1.15)}),
    Style(
        "9",
        "9 straight tail",
        "a head and a straight tail",
        _nine_straight,
        {"head": (0.85, 1.15), "lean": (-0.06, 0.02)},
    ),
    Style(
        "9",
        "9 curled tail",
        "a head and a tail curling left",
        _nine_curled,
        {"head": (0.85, 1.15), "curl": (0.0, 0.08)},
    ),
    Style(
        "add",
        "+ upright",
        "two arms, any lengths",
        _add_upright,
        {"vertical": (0.45, 0.75), "horizontal": (0.45, 0.75), "cross": (-0.06, 0.06)},
        {"rotate": (-6.0, 6.0)},
    ),
    Style(
        "add",
        "+ tilted",
        "turned 10-22 degrees",
        _add_tilted,
        {"vertical": (0.45, 0.75), "horizontal": (0.45, 0.75), "cross": (-0.06, 0.06), "tilt": (10.0, 22.0)},
        {"rotate": (0.0, 0.0), "slant": (-0.15, 0.15)},
    ),
    Style("dec", ". small", "a small dot", _dot_small, {}, {"width": (0.02, 0.07), "scale": (0.03, 0.12)}),
    Style(
        "dec",
        ". big",
        "a big, round or oval blob",
        _dot_big,
        {"radius": (0.01, 0.03), "oval": (0.65, 1.5)},
        {"width": (0.06, 0.12), "scale": (0.05, 0.2)},
    ),
    Style(
        "div",
        "÷ small dots",
        "bar and two small dots",
        _div,
        {"gap": (0.15, 0.28), "bar": (0.22, 0.34), "shift": (-0.04, 0.04)},
        _THIN,
        dot_scale=(1.0, 1.6),
    ),
    Style(
        "div",
        "÷ big dots",
        "bar and two big dots",
        _div,
        {"gap": (0.2, 0.32), "bar": (0.22, 0.34), "shift": (-0.04, 0.04)},
        {"width": (0.02, 0.05)},
        dot_scale=(2.0, 3.0),
    ),
    Style(
        "eq",
        "= short",
        "two short bars",
        _eq,
        {"gap": (0.12, 0.24), "length": (0.25, 0.4), "ratio": (0.8, 1.15), "shift": (-0.04, 0.04)},
        _THIN,
    ),
    Style(
        "eq",
        "= long",
        "two long bars",
        _eq,
        {"gap": (0.1, 0.22), "length": (0.5, 0.75), "ratio": (0.8, 1.15), "shift": (-0.06, 0.06)},
        _THIN,
    ),
    Style(
        "mul",
        "× straight cross",
        "two straight diagonals (a printed x is the close second)",
        _mul,
        {"angle": (35.0, 55.0), "arm": (0.25, 0.38), "ratio": (0.8, 1.15)},
        {"rotate": (-8.0, 8.0)},
        second="x",
    ),
    Style(
        "sub",
        "− short thick",
        "a short bar, broad pen (at least 2.5 times as long as thick)",
        _sub,
        {"length": (0.2, 0.34), "sag": (-0.02, 0.02)},
        {"width": (0.05, 0.09), "aspect": (-0.1, 0.3)},
    ),
    Style(
        "sub",
        "− short thin",
        "a short bar, fine pen",
        _sub,
        {"length": (0.16, 0.3), "sag": (-0.02, 0.02)},
        {"width": (0.015, 0.045)},
    ),
    Style(
        "sub",
        "− long thick",
        "a long bar, broad pen",
        _sub,
        {"length": (0.45, 0.8), "sag": (-0.03, 0.03)},
        {"width": (0.06, 0.14)},
    ),
    Style(
        "sub",
        "− long thin",
        "a long bar, fine pen",
        _sub,
        {"length": (0.45, 0.8), "sag": (-0.03, 0.03)},
        {"width": (0.015, 0.045)},
    ),
    Style("x", "x )(", "two back-to-back curves", _x_paren, {"bulge": (-0.03, 0.04)}),
    Style(
        "x", "x cursive", "a diagonal with hooked ends, crossed by a straight one", _x_cursive, {"hook": (0.04, 0.12)}
    ),
    Style(
        "y", "y straight tail", "a v with a straight tail", _y_straight, {"join": (0.42, 0.55), "tail": (-0.06, 0.06)}
    ),
    Style(
        "y", "y fork", "a v on a straight stem, like a capital Y", _y_fork, {"join": (0.35, 0.5), "tail": (-0.05, 0.05)}
    ),
    Style("y", "y u-shaped", "a u with a straight descender", _y_u, {"tail": (-0.1, 0.0)}),
    Style("y", "y looped tail", "a u with a looped descender", _y_looped, {"loop": (0.1, 0.16)}),
    Style("z", "z plain", "a Z without cross-bar", _z_plain, {"top": (-0.02, 0.06), "tilt_base": (-0.03, 0.03)}),
    Style(
        "z",
        "z barred",
        "a Z with a cross-bar",
        _z_bar,
        {"top": (-0.02, 0.06), "tilt_base": (-0.03, 0.03), "bar": (0.1, 0.2)},
    ),
)


def style_table() -> list[dict]:
    """Every style with its class, description and parameter ranges (for the README and the card)."""
    return [
        {
            "class": s.label,
            "style": s.name,
            "description": s.description,
            "params": {k: list(r) for k, r in s.params.items()},
            "common": {k: list(r) for k, r in s.common.items()},
            "second": s.second,
        }
        for s in STYLES
    ]


def band_intervals(r: Range, split: str) -> list[Range]:
    """The sub-intervals of ``r`` that ``split`` draws from."""
    lo, hi = r
    step = (hi - lo) / BANDS
    return [(lo + b * step, lo + (b + 1) * step) for b in SPLIT_BANDS[split]]


def _draw(r: Range, split: str, rng: np.random.Generator) -> float:
    lo, hi = r
    if hi <= lo:
        return float(lo)
    bands = band_intervals(r, split)
    a, b = bands[int(rng.integers(len(bands)))]
    return float(rng.uniform(a, b))


def _shaped(strokes: list[Stroke], v: Values, rng: np.random.Generator) -> list[np.ndarray]:
    """Aspect, slant, rotation, wobble, densify, then a smooth elastic field (points in template units)."""
    sx, sy = math.exp(v["aspect"] / 2), math.exp(-v["aspect"] / 2)
    a = math.radians(v["rotate"])
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    matrix = rot @ np.array([[1.0, -v["slant"]], [0.0, 1.0]]) @ np.diag([sx, sy])
    freq = rng.uniform(0.8, 2.0, (2, 2, 2))
    phase = rng.uniform(0, 2 * math.pi, (2, 2))
    out = []
    for stroke in strokes:
        pts = np.array(stroke, float)
        pts = pts + rng.normal(0, v["wobble"], pts.shape)
        if len(pts) > 1:  # densify so the elastic field bends segments, not only their ends
            steps = np.maximum(1, np.ceil(np.linalg.norm(np.diff(pts, axis=0), axis=1) / 0.01)).astype(int)
            parts = zip(pts[:-1], pts[1:], steps, strict=True)
            pts = np.concatenate([np.linspace(p, q, n, endpoint=False) for p, q, n in parts] + [pts[-1:]])
        pts = (pts - 0.5) @ matrix.T + 0.5
        for axis in range(2):
            waves = np.sin(2 * math.pi * (pts @ freq[axis].T) + phase[axis])  # (n, 2)
            pts[:, axis] += v["elastic"] * waves.sum(axis=1) / 2
        out.append(pts)
    return out


def _alpha(strokes: list[np.ndarray], v: Values, rendering: str, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage in [0, 1] of the drawing on its canvas (or its tight 28x28 crop)."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pen = v["width"] * (2 * v["dot_scale"] if any(len(s) == 1 for s in strokes) else 1.0)
    side = max(float((hi - lo).max()) + pen, 1e-3)
    if rendering == "tiny_28x28":
        size, fill = 112, 0.8
    else:
        size, fill = round(v["canvas"]), v["scale"]
    k = fill / side  # template units -> canvas share
    box = (hi - lo + pen) * k  # the ink's extent, pen included
    offset = rng.uniform(0.1, 0.9, 2) * np.maximum(1.0 - box, 0.0) - (lo - pen / 2) * k
    placed = [[tuple(p) for p in s * k + offset] for s in strokes]
    alpha = (
        render(placed, size, width=v["width"] * k, ink=(255, 255, 255), background=(0, 0, 0), dot_scale=v["dot_scale"])[
            :, :, 0
        ].astype(np.float32)
        / 255.0
    )
    if rendering != "tiny_28x28":
        return alpha
    ys, xs = np.nonzero(alpha > 0.1)
    return tiny_28x28(alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def tiny_28x28(crop: np.ndarray) -> np.ndarray:
    """A tight crop of ink coverage as MNIST shows a digit: centred in a square (aspect kept), shrunk to 24x24,
    with a 2 px margin (28x28)."""
    square = np.zeros((max(crop.shape),) * 2, np.float32)
    oy, ox = (square.shape[0] - crop.shape[0]) // 2, (square.shape[1] - crop.shape[1]) // 2
    square[oy : oy + crop.shape[0], ox : ox + crop.shape[1]] = crop
    return np.pad(cv2.resize(square, (24, 24), interpolation=cv2.INTER_AREA), 2)


def draw_style(
    style: Style, split: str, rng: np.random.Generator, rendering: str = "canvas"
) -> tuple[np.ndarray, Values]:
    """One drawing of ``style`` as raw RGB, with the parameter values it was drawn with."""
    if split not in SPLIT_BANDS:
        raise ValueError(f"split must be one of {tuple(SPLIT_BANDS)}; got {split!r}.")
    v = {name: _draw(r, split, rng) for name, r in style.ranges().items()}
    strokes = _shaped(style.build(v, rng), v, rng)
    alpha = _alpha(strokes, v, rendering, rng)
    palettes = (_INVERTED if rendering == "inverted" else _PALETTES)[split]
    ink, paper = palettes[int(rng.integers(len(palettes)))]
    a = alpha[..., None]
    image = np.array(paper, np.float32) * (1 - a) + np.array(ink, np.float32) * a
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), v


@dataclass
class StyleSet:
    """Raw RGB drawings with their class index (in ``classes``), style name and rendering."""

    images: list[np.ndarray]
    labels: np.ndarray
    styles: list[str]
    renderings: list[str]
    values: list[Values]
    classes: tuple[str, ...]

    def targets(self, second_weight: float = SECOND_WEIGHT) -> np.ndarray:
        """Training targets: one-hot, except that ambiguous styles give ``second_weight`` to their runner-up."""
        t = np.eye(len(self.classes), dtype=np.float32)[self.labels]
        by_name = {s.name: s for s in STYLES}
        for i, name in enumerate(self.styles):
            second = by_name[name].second
            if second in self.classes:
                t[i] *= 1 - second_weight
                t[i, self.classes.index(second)] += second_weight
        return t


def per_class_counts(per_class: int, styles: tuple[Style, ...] = STYLES) -> dict[str, int]:
    """Drawings per style so that every class gets about ``per_class``, shared evenly by its styles."""
    by_class: dict[str, list[str]] = {}
    for s in styles:
        by_class.setdefault(s.label, []).append(s.name)
    return {name: -(-per_class // len(names)) for names in by_class.values() for name in names}


def style_set(
    split: str,
    per_style: int | dict[str, int],
    seed: int = 0,
    classes: tuple[str, ...] = CLASS_NAMES,
    styles: tuple[Style, ...] = STYLES,
) -> StyleSet:
    """``per_style`` drawings (a number, or one per style name) of every style whose class is in ``classes``.

    "train" gives the training variants, "test" the style test set (disjoint parameter bands, seeds and
    palettes). Training draws renderings at random (60 % canvas, 20 % inverted, 20 % tiny 28x28); the test
    set cycles through them evenly. The same arguments give the same drawings.
    """
    if not 0 <= seed < SEED_BASE["test"]:
        raise ValueError(f"seed must be in [0, {SEED_BASE['test']}); got {seed}.")
    out = StyleSet([], np.zeros(0, np.int32), [], [], [], tuple(classes))
    labels = []
    for index, style in enumerate(styles):
        if style.label not in classes:
            continue
        rng = np.random.default_rng([SEED_BASE[split] + seed, index])
        count = per_style if isinstance(per_style, int) else per_style.get(style.name, 0)
        for i in range(count):
            rendering = (
                RENDERINGS[int(rng.choice(len(RENDERINGS), p=_TRAIN_RENDERING_P))]
                if split == "train"
                else RENDERINGS[i % len(RENDERINGS)]
            )
            image, values = draw_style(style, split, rng, rendering)
            out.images.append(image)
            out.styles.append(style.name)
            out.renderings.append(rendering)
            out.values.append(values)
            labels.append(classes.index(style.label))
    out.labels = np.array(labels, np.int32)
    return out
