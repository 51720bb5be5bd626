"""Reading a whole handwritten line: segment it, recognise every symbol in one batch, decode it with the
grammar of arithmetic, and calculate it exactly.

``read_strokes`` (the pad's strokes) and ``read_image`` (a file, bytes or array) return a :class:`Reading`:
the text in ASCII (``12/4+3=``), LaTeX, the result, each symbol's label/probability/box/top-k, close
alternatives, and ``error``: one sentence when there is no result. They never raise for bad ink. Each
symbol's crop goes through the model's own preprocessing (``LoadedModel.preprocess``, i.e.
``to_model_input``) exactly as a single symbol does. All crops, with those of the candidate merges (neighbours
that may be one symbol) and splits (one symbol that may be several touching neighbours), go through one
``predict_inputs`` call; a second, small one follows only when a split side may be one with its other
neighbour. No Qt and no TensorFlow are imported here; the model object brings its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from trainer.data.preprocess import ImageLike, load_rgb
from trainer.errors import ImageError, MathSymError
from trainer.serving.reader.decode import TOKENS, Geometry, decode, priors, tokens
from trainer.serving.reader.maths import MAX_SYMBOLS, MathError, calculate
from trainer.serving.reader.segment import (
    Box,
    Cut,
    Segmentation,
    SegmentationError,
    baseline,
    segment_image,
    segment_strokes,
)

#: Lines with more symbols than this are not even recognised (far beyond MAX_SYMBOLS: not a line).
MAX_RECOGNISED = 4 * MAX_SYMBOLS
#: A reading with at least this share (and at least two) of its symbols below UNSURE is shown, not
#: calculated: writing that is not maths (text, a drawing) gives such readings.
UNSURE_SHARE = 0.25
UNSURE = 0.5

#: Close neighbours become one symbol when one alone is below MERGE_UNSURE and together they reach MERGE_SURE
#: and beat both apart.
MERGE_UNSURE = 0.7
MERGE_SURE = 0.5
#: A group of strokes at least WIDE line heights wide (no one symbol is; two touching neighbours mostly are)
#: is split whenever the model reads every piece at least SPLIT_SURE, however sure it is of the whole: ink it
#: never learnt from, two symbols run together, can still read confidently as one (two touching 8s as an 8).
WIDE = 0.8
SPLIT_SURE = 0.8
#: Symbols whose narrow halves sit side by side and may not touch: x as )(, a 0 of two arcs, a × or y of two
#: strokes.
SIDE_BY_SIDE = {"x", "0", "mul", "y"}

_PRETTY = {"*": "×", "/": "÷", "-": "−"}
_LATEX = {"*": r"\times", "/": r"\div"}

__all__ = ["Alternative", "ReadSymbol", "Reading", "read_image", "read_strokes", "redecode"]


@dataclass
class ReadSymbol:
    """One symbol of the line: chosen label, its probability, box (x, y, w, h), the model's top-k and its token
    in the line's text ("?" for a class the reader does not know)."""

    label: str
    probability: float
    box: tuple[int, int, int, int]
    top: list[tuple[str, float]] = field(default_factory=list)
    token: str = "?"


@dataclass
class Alternative:
    """Another reading nearly as likely as the chosen one (``probability`` relative to it)."""

    text: str
    latex: str
    result: str | None
    probability: float


@dataclass
class Reading:
    """What a line says and what it calculates to; ``error`` says why ``result`` is None."""

    text: str = ""
    latex: str = ""
    result: str | None = None
    symbols: list[ReadSymbol] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    error: str | None = None
    probabilities: np.ndarray | None = field(default=None, repr=False)  # (n, classes), for re-decoding
    labels: list[str] = field(default_factory=list, repr=False)
    geometry: list[Geometry] = field(default_factory=list, repr=False)
    parts: list[tuple[int, ...]] = field(default_factory=list, repr=False)  # strokes/components per symbol
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS), repr=False)  # label -> token, as decoded

    @property
    def pretty(self) -> str:
        """The reading as typeset text: ``12 ÷ 4 + 3 =``, ``2x + 3 = 11``."""
        return _typeset(self.text, _PRETTY, "−")

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "latex": self.latex,
            "result": self.result,
            "symbols": [
                {"label": s.label, "probability": round(s.probability, 6), "box": list(s.box)} for s in self.symbols
            ],
            "alternatives": [
                {"text": a.text, "latex": a.latex, "result": a.result, "probability": round(a.probability, 4)}
                for a in self.alternatives
            ],
            "error": self.error,
        }


def _typeset(text: str, names: dict[str, str], minus: str) -> str:
    """Operands stay together, binary operators and '=' get spaces, a unary minus sticks to its operand."""
    out = ""
    for i, ch in enumerate(text):
        unary = ch == "-" and (i == 0 or text[i - 1] in "+-*/=(")
        if ch in "+-*/=" and not unary:
            out += f" {names.get(ch, ch)} "
        else:
            out += minus if unary else ch
    return " ".join(out.split())


def latex(text: str) -> str:
    return _typeset(text, _LATEX, "-")


def read_strokes(
    model, strokes: Sequence[Sequence[Sequence[float]]], widths: Sequence[float] | float = 3.0, k: int = 3
) -> Reading:
    """Read pen strokes (point lists, (x, y, ...) per point); ``widths`` per stroke or one for all."""
    if not isinstance(widths, Sequence):
        widths = [float(widths)] * len(strokes)
    try:
        segmentation = segment_strokes(strokes, widths)
    except SegmentationError as exc:
        return Reading(error=str(exc))
    return read_segmentation(model, segmentation, k)


def read_image(model, image: ImageLike, k: int = 3) -> Reading:
    """Read a line in an image (path, encoded bytes or array); ink of any colour, either polarity."""
    try:
        rgb = load_rgb(image)
        segmentation = segment_image(rgb)
    except (SegmentationError, MathSymError) as exc:
        return Reading(error=str(exc))
    return read_segmentation(model, segmentation, k)


def read_segmentation(model, segmentation: Segmentation, k: int = 3) -> Reading:
    """Recognise every symbol in one batch, then decode and calculate."""
    n = len(segmentation.groups)
    if n > MAX_RECOGNISED:
        return Reading(error=f"The ink holds {n} symbols; MathSym reads lines of at most {MAX_SYMBOLS}.")
    inputs = [_model_input(model, crop) for crop in segmentation.crops]
    faint = [i for i, x in enumerate(inputs) if x is None]
    if faint:  # specks too faint for the preprocessing to find ink in (a sub-pixel pen) are no symbols
        segmentation.drop(faint)
    n = len(segmentation.groups)
    if n == 0:
        return Reading(error="Nothing is written: there is no ink to read.")
    crop_of, groups = segmentation.crop_of, segmentation.groups
    close = set(segmentation.close_pairs()) if crop_of is not None else set()
    near = set(segmentation.near) if crop_of is not None else set()
    cuts = segmentation.cuts if crop_of is not None else []
    pairs = sorted(close | near)
    merged = [crop_of(groups[i].parts + groups[i + 1].parts) for i in pairs] if crop_of is not None else []
    pieces = list(dict.fromkeys(tuple(piece) for c in cuts for piece in c.pieces))  # cuts share pieces
    piece_crops = [crop_of(list(piece)) for piece in pieces] if crop_of is not None else []
    batch: list[np.ndarray | None] = [x for x in inputs if x is not None]
    out = _recognise(model, batch + [_model_input(model, c) for c in merged + piece_crops])  # symbols, merges, cuts
    probabilities, merged_probs, piece_probs = out[:n], out[n : n + len(pairs)], out[n + len(pairs) :]
    labels = list(model.labels)
    read = dict(zip(pieces, zip(piece_crops, piece_probs, strict=True), strict=True))
    probabilities, split = _split(segmentation, probabilities, read, labels)
    shift = {
        i: i + sum(count - 1 for g, count in split.items() if g < i)
        for i in pairs
        if i not in split and i + 1 not in split
    }
    candidates = [
        (shift[i], crop, p, i in close, i in near)
        for i, crop, p in zip(pairs, merged, merged_probs, strict=True)
        if i in shift  # candidates of the old grouping move along; those with a split symbol go
    ]
    if split:  # a split symbol's sides may be one with their other neighbours
        candidates += _late_pairs(model, segmentation, split)
    probabilities = _merge(segmentation, probabilities, sorted(candidates, key=lambda c: c[0]), labels)
    n = len(segmentation.groups)
    height = max(segmentation.line_height, 1e-6)
    drops = _drops([g.box for g in segmentation.groups], height)
    geometry = [
        Geometry(g.width / height, g.height / height, len(g.parts), sized=n > 1, drop=d)
        for g, d in zip(segmentation.groups, drops, strict=True)
    ]
    boxes = [tuple(round(v) for v in g.box) for g in segmentation.groups]
    parts = [tuple(g.parts) for g in segmentation.groups]
    known = tokens(labels, model.card.dataset.get("symbols"))
    return redecode(probabilities, labels, geometry, boxes, k=k, parts=parts, known_tokens=known)


def _drops(boxes: list[Box], height: float) -> list[float | None]:
    """How far each box's bottom lies below the baseline of the other boxes (a y's tail hangs below the line
    the digits stand on), over the line height; None where no other tall symbol gives a baseline."""
    return [_drop(b, baseline(boxes[:i] + boxes[i + 1 :], height), height) for i, b in enumerate(boxes)]


def _drop(box: Box, base: Callable[[float], float] | None, height: float) -> float | None:
    """How far a box's bottom lies below a baseline, over the line height (None without a baseline)."""
    return None if base is None else (box[1] + box[3] - base(box[0] + box[2] / 2)) / height


Candidate = tuple[int, np.ndarray, np.ndarray, bool, bool]  # pair index, crop, probabilities, close, near


def _model_input(model, crop: np.ndarray) -> np.ndarray | None:
    """The model's input for a crop, or None when the preprocessing finds no ink in it."""
    try:
        return model.preprocess(crop)
    except ImageError:
        return None


def _recognise(model, inputs: list[np.ndarray | None]) -> np.ndarray:
    """Class probabilities for every input in one forward pass; a row of zeros (never chosen) for None."""
    present = [x for x in inputs if x is not None]
    found = iter(model.predict_inputs(np.stack(present)) if present else [])
    return np.stack([next(found) if x is not None else np.zeros(len(model.labels), np.float32) for x in inputs])


def _split(
    segmentation: Segmentation,
    probabilities: np.ndarray,
    read: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]],
    labels: list[str],
) -> tuple[np.ndarray, dict[int, int]]:
    """Apply the best cut of every symbol the model reads as several (``read``: each piece's crop and
    probabilities); returns the probabilities and, for each symbol split (by its index in the old grouping), how
    many symbols it became."""
    best: dict[int, tuple[float, Cut]] = {}  # group -> (how sure of the pieces, which cut)
    placed: dict[int, Callable[[np.ndarray, Box], float]] = {}  # group -> how sure of a piece in its place
    for c in segmentation.cuts:
        sure = [float(read[tuple(piece)][1].max()) for piece in c.pieces]
        if c.neck:  # ink cut anywhere: each piece must fit its place in the line, as the decoding will weigh it
            if c.group not in placed:
                placed[c.group] = _in_line(segmentation, c.group, labels)
            sure = [placed[c.group](read[tuple(piece)][1], box) for piece, box in zip(c.pieces, c.boxes, strict=True)]
        wide = segmentation.groups[c.group].width >= WIDE * segmentation.line_height
        score = _per_symbol(sure)
        if (
            _touching_symbols(float(probabilities[c.group].max()), sure, c.neck, wide)
            and score > best.get(c.group, (0.0, c))[0]
        ):
            best[c.group] = (score, c)
    for g in sorted(best, reverse=True):
        cut = best[g][1]
        segmentation.split(cut, [read[tuple(piece)][0] for piece in cut.pieces])
        read_pieces = np.stack([read[tuple(piece)][1] for piece in cut.pieces])
        probabilities = np.concatenate([probabilities[:g], read_pieces, probabilities[g + 1 :]])
    return probabilities, {g: len(best[g][1].pieces) for g in sorted(best)}


def _in_line(segmentation: Segmentation, group: int, labels: list[str]) -> Callable[[np.ndarray, Box], float]:
    """How sure the model is of a reading that fits a box in place of ``group``: its probabilities weighed by the
    decoding's priors of size and place, so the left of a cursive ``x`` cut off its tail, read as a ``y``, counts
    as unsure, as it does not hang below the line."""
    height = max(segmentation.line_height, 1e-6)
    base = baseline([g.box for i, g in enumerate(segmentation.groups) if i != group], height)
    sized = len(segmentation.groups) > 1

    def sure(p: np.ndarray, box: Box) -> float:
        geometry = Geometry(box[2] / height, box[3] / height, sized=sized, drop=_drop(box, base, height))
        prior = priors(geometry, labels)
        return float((p * np.exp(prior)).max())

    return sure


def _late_pairs(model, segmentation: Segmentation, split: dict[int, int]) -> list[Candidate]:
    """The outer pieces of split symbols and their neighbours whose strokes nearly meet, recognised together."""
    groups, meet, crop_of = segmentation.groups, segmentation.nearly_meet, segmentation.crop_of
    if meet is None or crop_of is None:
        return []
    spans, added = [], 0  # each split symbol's first and last piece, in the new grouping
    for g, count in sorted(split.items()):
        spans.append((g + added, g + added + count - 1))
        added += count - 1
    sides = {i for first, last in spans for i in range(first, last + 1)}
    pairs = sorted(
        {
            i
            for first, last in spans
            for i in (first - 1, last)
            if 0 <= i < len(groups) - 1 and not (i in sides and i + 1 in sides)
        }
    )
    pairs = [i for i in pairs if meet(groups[i].parts, groups[i + 1].parts)]
    if not pairs:
        return []
    crops = [crop_of(groups[i].parts + groups[i + 1].parts) for i in pairs]
    probs = _recognise(model, [_model_input(model, c) for c in crops])
    return [(i, c, p, False, True) for i, c, p in zip(pairs, crops, probs, strict=True)]


def _merge(
    segmentation: Segmentation, probabilities: np.ndarray, candidates: list[Candidate], labels: list[str]
) -> np.ndarray:
    """Make neighbours one symbol where the model reads them as one, right to left; returns the probabilities."""
    taken = len(segmentation.groups)  # a symbol merged already is not merged again
    for i, crop, p, close, near in reversed(candidates):
        left, right = probabilities[i], probabilities[i + 1]
        if i + 1 < taken and (
            (close and _one_symbol(p, left, right, labels)) or (near and _strokes_met(p, left, right, labels))
        ):
            segmentation.merge(i, crop)
            probabilities = np.concatenate([probabilities[:i], p[None], probabilities[i + 2 :]])
            taken = i
    return probabilities


def _one_symbol(merged: np.ndarray, left: np.ndarray, right: np.ndarray, labels: list[str]) -> bool:
    """Two neighbours are one symbol when together they read as a symbol written in side-by-side halves, the
    model is unsure of one half alone and surer of them together than of both apart (two confident digits
    are two digits, however close)."""
    together, a, b = float(merged.max()), float(left.max()), float(right.max())
    if labels[int(merged.argmax())] not in SIDE_BY_SIDE:
        return False
    return together >= MERGE_SURE and min(a, b) < MERGE_UNSURE and together > a * b


def _strokes_met(merged: np.ndarray, left: np.ndarray, right: np.ndarray, labels: list[str]) -> bool:
    """Neighbours whose strokes nearly meet are one symbol when together they read as a symbol, more surely
    than the two apart, that is made of strokes neither of which is a symbol alone: a half is a bare stroke
    (read as a ``1``) or unsure, and neither half is that symbol already (a ``2`` with a ``-`` close beside
    it, or a ``9`` beside a ``×``, stay two symbols)."""
    together, best = float(merged.max()), int(merged.argmax())
    halves = [(labels[int(h.argmax())], float(h.max())) for h in (left, right)]
    if any(name == labels[best] and p >= MERGE_UNSURE for name, p in halves):
        return False
    if all(name != "1" and p >= MERGE_UNSURE for name, p in halves):
        return False
    return together >= MERGE_SURE and together > halves[0][1] * halves[1][1]


def _per_symbol(sure: list[float]) -> float:
    """How sure the model is per symbol of a reading as several symbols: the geometric mean of its answers'
    probabilities. Their product would favour fewer symbols: a sure answer tops out near 0.93 (the model learnt
    with label smoothing), so two sure answers multiply to less than one."""
    return math.prod(sure) ** (1 / len(sure))


def _touching_symbols(whole: float, sure: list[float], neck: bool, wide: bool) -> bool:
    """Strokes that only meet are neighbours written touching when the model is sure of each piece alone
    (``sure``: its top probability per piece) and, per symbol, surer of the pieces than of them together
    (``whole``; an ``x`` written as ``)(`` that touches stays one: its halves are no symbols), or, in a group too
    wide for one symbol, sure of every piece (SPLIT_SURE). Ink cut at a neck must beat the whole outright (the
    product of the pieces): any symbol with a thin waist (a ``y``'s fork, a ``3``'s middle, a ``+``'s arm)
    offers such a cut."""
    if min(sure) < MERGE_UNSURE:
        return False
    if neck:
        return math.prod(sure) > whole
    return _per_symbol(sure) > whole or (wide and min(sure) >= SPLIT_SURE)


def redecode(
    probabilities: np.ndarray,
    labels: list[str],
    geometry: list[Geometry],
    boxes,
    k: int = 3,
    fixed: dict[int, str] | None = None,
    parts: list[tuple[int, ...]] | None = None,
    known_tokens: dict[str, str] = TOKENS,
) -> Reading:
    """Decode and calculate from per-symbol probabilities, with some symbols pinned (a user's correction);
    ``known_tokens``: what the labels stand for in a line (``decode.tokens``: taught brackets too)."""
    decoded = decode(probabilities, labels, geometry, fixed, known_tokens)
    order = np.argsort(probabilities, axis=1)[:, ::-1][:, : max(1, k)]
    symbols = [
        ReadSymbol(
            name,
            p,
            _int_box(box),
            [(labels[j], float(probabilities[i, j])) for j in order[i]],
            known_tokens.get(name, "?"),
        )
        for i, (name, p, box) in enumerate(zip(decoded.labels, decoded.probabilities, boxes, strict=True))
    ]
    text = "".join(s.token for s in symbols)
    reading = Reading(
        text,
        latex(text),
        symbols=symbols,
        probabilities=probabilities,
        labels=labels,
        geometry=geometry,
        parts=list(parts or []),
        tokens=dict(known_tokens),
    )
    reading.result, reading.error = _result(text, decoded.parses, decoded.probabilities, fixed or {})
    for names, share in decoded.alternatives:
        alt = "".join(known_tokens[name] for name in names)
        result, _ = _result(alt, True, [], {})
        reading.alternatives.append(Alternative(alt, latex(alt), result, share))
    return reading


def _int_box(box) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return round(x), round(y), round(w), round(h)


def _result(text: str, parses: bool, probabilities: Sequence[float], fixed: dict) -> tuple[str | None, str | None]:
    if "?" in text:
        return None, "The model has classes the reader does not know, so the line cannot be calculated."
    if len(text) > MAX_SYMBOLS:
        return None, f"The line has {len(text)} symbols; MathSym calculates lines of at most {MAX_SYMBOLS}."
    unsure = sum(p < UNSURE for i, p in enumerate(probabilities) if i not in fixed)
    try:
        result = calculate(text)
    except MathError as exc:
        return None, str(exc)
    if not parses:
        return None, f"{text} does not read as a line of arithmetic."
    if unsure >= max(2.0, UNSURE_SHARE * len(probabilities)):
        return None, (
            "The reading is too unsure to calculate (is this maths?); correct the unclear symbols or write them again."
        )
    return result, None
