"""Choosing the reading of a line: per-symbol probabilities, the symbols' sizes, and the grammar of a line of
arithmetic.

A line is ``expr``, ``expr =`` or ``expr = expr``; an expression is numbers (``12``, ``3.5``, ``.5``) and
letters (``x``, ``2x``, ``xy``) joined by ``+ - * /``, each operand may have one unary minus. A model taught
brackets (classes whose symbol is ``(`` or ``)``) adds bracketed operands, nested up to MAX_DEPTH, that may
multiply what they follow (``2(3+4)``). That grammar is a small finite automaton, so the best reading that
parses is found exactly by dynamic programming over all labels of every symbol (not only the top few).
Context fixes what one symbol cannot:

* ``x`` between numbers is ×, a coefficient before a letter (``2x``) makes it the letter (the grammar);
* a unary minus straight after an operator (``4+-3``) is unlikely: a cross before a minus is rather ``4x-3``;
* a blob small relative to the line's height is a decimal point, never a ``0`` (two stacked bars as small may
  be an ``=``); a big one is never a point;
* a bar (much wider than tall) is a minus, not a ``1``; a minus is never a round blob, and rarely two
  stacked parts (an ``=`` whose bars a broad pen ran together);
* a ``+ × ÷`` as tall as the digits is unlikely (in a line they are written smaller): a close ``4`` wins;
* ``x`` and ``z`` are lower-case letters: one as tall as the digits is less likely (a close ``2`` or ``7`` wins);
* a ``y`` hangs its tail below the line, digits and ``x z`` stand on it: an open 4 that stands on the line is
  not a ``y``, a ``y`` whose tail hangs is not an ``x``.

When the model is sure of a symbol that the grammar rejects (``3+=4``), the reading is its own top choice
and the line is reported as not parsing, rather than silently replaced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: The ASCII token of each class name the reader knows.
TOKENS: dict[str, str] = {
    **{d: d for d in "0123456789"},
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "eq": "=",
    "dec": ".",
    "x": "x",
    "y": "y",
    "z": "z",
}
#: Symbols a taught class may stand for in a line (its card's symbol, else its name).
BRACKETS = ("(", ")")
#: Brackets nest at most this deep: enough for handwriting, and the automaton stays small.
MAX_DEPTH = 3
#: A grammar-chosen label this many times less likely than the model's top label overrides it only for
#: pairs that look alike; otherwise the line is reported as not parsing.
OVERRIDE = 0.05
LOOKALIKE_OVERRIDE = 1e-6
LOOKALIKES = {
    frozenset(p) for p in (("x", "mul"), ("0", "dec"), ("sub", "dec"), ("1", "sub"), ("add", "mul"), ("add", "x"))
}
#: A reading whose probability is at least this share of the best one's is offered as an alternative.
ALTERNATIVE = 0.2
#: Shares of the line height: a blob smaller than SMALL is a dot; one larger than BIG is not.
SMALL = 0.3
BIG = 0.45
_NO = -1e9
_NEVER = -12.0  # log-prior of a label the symbol's size rules out
_UNLIKELY = -2.0  # log-prior of a label the symbol's size makes unlikely
_LESS_LIKELY = -1.0  # log-prior of a label the symbol's size makes less likely
#: Log-prior of a unary minus straight after a binary operator (``4+-3``, ``2*-5``): by hand a negative operand
#: is bracketed or comes first, so a cross read as ``+`` before a minus is likelier a letter (``4x-3``).
OPERATOR_MINUS = _UNLIKELY
#: Share of the line height from which a symbol is as tall as the digits.
TALL = 0.85
#: Shares of the line height below the baseline: a y's tail reaches at least DESCENDS below it; a digit or an
#: x or z reaching further than HANGS is unlikely (a written line's bottoms wander a few hundredths).
DESCENDS = 0.1
HANGS = 0.18
_STANDING = frozenset("0123456789") | {"x", "z"}


def tokens(labels: Sequence[str], symbols: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, str]:
    """The line token of every label the reader knows: the 19 classes', and ``(``/``)`` for taught classes
    whose symbol (``symbols[label]["symbol"]``, else the label itself) is a bracket."""
    known = dict(TOKENS)
    for name in labels:
        symbol = (symbols or {}).get(name, {}).get("symbol", name)
        if name not in known and symbol in BRACKETS:
            known[name] = symbol
    return known


def _kind(token: str) -> str:
    if token.isdigit():
        return "D"
    if token in "xyz":
        return "L"
    return token


# Automaton states: (name, seen '=', open brackets). NEED: an operand comes next (unary minus allowed); OP: the
# same after a binary operator, where a unary minus costs OPERATOR_MINUS; UNARY: after a unary minus; INT / FRAC:
# in a number's integer / fraction digits; DOT: after a point (a digit must follow); LETTER: after a letter;
# CLOSE: after ')'; EQ: just after '=' (the line may end there).
State = tuple[str, bool, int]


def _step(state: State, kind: str, max_depth: int) -> State | None:
    name, eq, depth = state
    operand = {"D": "INT", ".": "DOT", "L": "LETTER"}
    if kind == "(":  # an operand, or one more factor of the operand before it (2(3+4), (x+1)(x-1))
        opens = name in ("NEED", "OP", "EQ", "UNARY", "INT", "FRAC", "LETTER", "CLOSE")
        return ("NEED", eq, depth + 1) if opens and depth < max_depth else None
    if name in ("NEED", "OP", "EQ", "UNARY"):
        if kind in operand:
            return operand[kind], eq, depth
        return ("UNARY", eq, depth) if kind == "-" and name != "UNARY" else None
    if name == "DOT":
        return ("FRAC", eq, depth) if kind == "D" else None
    if kind == "D" and name in ("INT", "FRAC", "CLOSE"):  # after ')': a product, (1+2)3
        return ("INT" if name == "CLOSE" else name), eq, depth
    if kind == "." and name == "INT":
        return "DOT", eq, depth
    if kind == "L":
        return "LETTER", eq, depth
    if kind in "+-*/":
        return "OP", eq, depth
    if kind == ")" and depth:
        return "CLOSE", eq, depth - 1
    if kind == "=" and not eq and not depth:
        return "EQ", True, 0
    return None


_KINDS = ("D", ".", "L", "+", "-", "*", "/", "=", "(", ")")


class _Automaton:
    """The grammar's states and transitions for brackets nested up to ``max_depth`` (0: a model without
    brackets, whose lines then decode as fast as before brackets existed). ``accept``: the states a line may
    end in, with their log-prior: a bracket still open is unlikely (the line is being written, or is wrong),
    so a sure ``(`` stays one, and the line says it lacks its ``)``, rather than turning into a ``1``."""

    def __init__(self, max_depth: int) -> None:
        names = ("NEED", "OP", "UNARY", "INT", "DOT", "FRAC", "LETTER") + (("CLOSE",) if max_depth else ()) + ("EQ",)
        self.states: list[State] = [
            (name, eq, depth)
            for eq in (False, True)
            for depth in range(max_depth + 1)
            for name in names
            if not (name == "EQ" and (not eq or depth))
        ]
        index = {s: i for i, s in enumerate(self.states)}
        self.start = index[("NEED", False, 0)]
        ends = ("INT", "FRAC", "LETTER", "CLOSE", "EQ")
        self.accept = {index[s]: _UNLIKELY * s[2] for s in self.states if s[0] in ends}
        self.next = np.array([[index[n] if (n := _step(s, k, max_depth)) else -1 for k in _KINDS] for s in self.states])
        minus = _KINDS.index("-")
        self.cost = np.array(
            [[OPERATOR_MINUS if s[0] == "OP" and k == minus else 0.0 for k in range(len(_KINDS))] for s in self.states]
        )
        self.edges = [
            (s, k, int(t), float(self.cost[s, k]))
            for s in range(len(self.states))
            for k, t in enumerate(self.next[s])
            if t >= 0
        ]


_AUTOMATA = {depth: _Automaton(depth) for depth in (0, MAX_DEPTH)}


@dataclass
class Geometry:
    """A symbol's box relative to its line: width and height over the line height, and its part count.
    ``sized``: False when there is no line to compare with (a lone symbol), so size says nothing. ``drop``: how
    far its bottom lies below the baseline of the line's other tall symbols, over the line height (None when
    there are none)."""

    width: float
    height: float
    parts: int = 1
    sized: bool = True
    drop: float | None = None


def priors(geometry: Geometry, labels: Sequence[str]) -> np.ndarray:
    """Log-priors per label from the symbol's size and shape relative to the line."""
    out = np.zeros(len(labels))
    if not geometry.sized:
        return out
    size = max(geometry.width, geometry.height)
    aspect = geometry.width / max(geometry.height, 1e-6)
    for i, name in enumerate(labels):
        if name == "dec":
            if size > BIG:
                out[i] = _NEVER
        elif name == "sub":
            if aspect < 1.5:
                out[i] = _NEVER
            elif geometry.parts > 1:
                out[i] = _UNLIKELY  # bars stacked in one symbol are "=" run together by a broad pen
        elif size < SMALL and not (name == "eq" and geometry.parts > 1):
            out[i] = _NEVER  # digits, letters and the other operators are not specks; two bars may be a small =
        elif name == "1" and aspect > 1.5:
            out[i] = _NEVER
        elif name in ("add", "mul", "div") and geometry.height >= TALL:
            out[i] = _UNLIKELY  # written in a line, operators are smaller than digits
        elif name in ("x", "z") and geometry.height >= TALL:
            out[i] = _LESS_LIKELY  # lower-case: most hands write them smaller than digits, not all
        if geometry.drop is not None and (
            (name == "y" and geometry.drop < DESCENDS) or (name in _STANDING and geometry.drop > HANGS)
        ):
            out[i] += _UNLIKELY
    return out


@dataclass
class Decoded:
    """The chosen label of each symbol, its share of the symbol's probability after the size priors, the
    alternatives (labels, relative probability), and ``parses``: False when the grammar had to be ignored."""

    labels: list[str]
    probabilities: list[float]
    alternatives: list[tuple[list[str], float]]
    parses: bool


def decode(
    probabilities: np.ndarray,
    labels: Sequence[str],
    geometry: Sequence[Geometry],
    fixed: dict[int, str] | None = None,
    known_tokens: Mapping[str, str] = TOKENS,
) -> Decoded:
    """The best grammatical reading of symbols with model ``probabilities`` (n, classes) and ``geometry``.

    ``fixed`` pins symbols to labels (a user's correction). Labels without a token in ``known_tokens`` (see
    :func:`tokens`) are never chosen; ``labels`` must contain the 19 classes for a line to parse.
    """
    n = len(geometry)
    known = np.array([name in known_tokens for name in labels])
    auto = _AUTOMATA[MAX_DEPTH if any(known_tokens.get(name) in BRACKETS for name in labels) else 0]
    post = np.asarray(probabilities, np.float64) * np.exp(np.stack([priors(g, labels) for g in geometry]))
    post = np.where(known[None, :], post, 0.0)
    post /= np.maximum(post.sum(axis=1, keepdims=True), 1e-30)
    for i, name in (fixed or {}).items():
        post[i] = 0.0
        post[i, list(labels).index(name)] = 1.0
    logp = np.log(np.maximum(post, 1e-30))
    kind_of = np.array([_KINDS.index(_kind(known_tokens[name])) if name in known_tokens else 0 for name in labels])
    # best log-probability and label per kind at each position
    kind_best = np.full((n, len(_KINDS)), _NO)
    kind_arg = np.zeros((n, len(_KINDS)), int)
    for k in range(len(_KINDS)):
        cols = np.flatnonzero((kind_of == k) & known)
        if cols.size:
            sub = logp[:, cols]
            kind_arg[:, k] = cols[sub.argmax(axis=1)]
            kind_best[:, k] = sub.max(axis=1)
    fwd, back = _forward(auto, kind_best)
    bwd = _backward(auto, kind_best)
    best_end = max(auto.accept, key=lambda s: fwd[n][s] + auto.accept[s])
    top = list(post.argmax(axis=1))
    if fwd[n][best_end] <= _NO / 2:
        return Decoded([labels[i] for i in top], [float(post[i, j]) for i, j in enumerate(top)], [], False)
    path = _trace(back, kind_arg, n, best_end)
    best = fwd[n][best_end] + auto.accept[best_end]
    if not _acceptable(path, top, post, labels):
        return Decoded([labels[i] for i in top], [float(post[i, j]) for i, j in enumerate(top)], [], False)
    alternatives = _alternatives(
        auto, path, logp, kind_of, fwd, back, bwd, kind_best, kind_arg, best, labels, fixed or {}
    )
    return Decoded([labels[j] for j in path], [float(post[i, j]) for i, j in enumerate(path)], alternatives, True)


def _forward(auto: _Automaton, kind_best: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, states = len(kind_best), len(auto.states)
    fwd = np.full((n + 1, states), _NO)
    back = np.full((n + 1, states, 2), -1)  # (previous state, kind)
    fwd[0, auto.start] = 0.0
    for i in range(n):
        row, emit, nxt, ptr = fwd[i], kind_best[i], fwd[i + 1], back[i + 1]
        for s, k, t, c in auto.edges:
            score = row[s] + emit[k] + c
            if score > nxt[t] and score > _NO / 2:
                nxt[t] = score
                ptr[t] = (s, k)
    return fwd, back


def _backward(auto: _Automaton, kind_best: np.ndarray) -> np.ndarray:
    n, states = len(kind_best), len(auto.states)
    bwd = np.full((n + 1, states), _NO)
    for s, end in auto.accept.items():
        bwd[n, s] = end
    for i in range(n - 1, -1, -1):
        row, emit, nxt = bwd[i], kind_best[i], bwd[i + 1]
        for s, k, t, c in auto.edges:
            score = emit[k] + c + nxt[t]
            if score > row[s] and score > _NO / 2:
                row[s] = score
    return bwd


def _trace(back: np.ndarray, kind_arg: np.ndarray, end: int, state: int) -> list[int]:
    out = []
    for i in range(end, 0, -1):
        s, k = back[i, state]
        out.append(int(kind_arg[i - 1, k]))
        state = s
    return out[::-1]


def _suffix(
    auto: _Automaton, bwd: np.ndarray, kind_best: np.ndarray, kind_arg: np.ndarray, start: int, state: int
) -> list[int]:
    out = []
    for i in range(start, len(kind_best)):
        options = [
            (kind_best[i, k] + auto.cost[state, k] + bwd[i + 1, t], k, t)
            for k, t in enumerate(auto.next[state])
            if t >= 0 and kind_best[i, k] > _NO / 2
        ]
        _, k, state = max(options)
        out.append(int(kind_arg[i, k]))
    return out


def _acceptable(path: list[int], top: list[int], post: np.ndarray, labels: Sequence[str]) -> bool:
    """Whether the grammar may override the model where the two disagree."""
    for i, (j, t) in enumerate(zip(path, top, strict=True)):
        if j == t:
            continue
        pair = frozenset((labels[j], labels[t]))
        limit = LOOKALIKE_OVERRIDE if pair in LOOKALIKES else OVERRIDE
        if post[i, j] < limit * post[i, t]:
            return False
    return True


def _alternatives(auto, path, logp, kind_of, fwd, back, bwd, kind_best, kind_arg, best, labels, fixed) -> list:
    """Whole readings that differ in one symbol and are nearly as likely as the best, most likely first."""
    n = len(path)
    found: dict[tuple[str, ...], float] = {}
    for i in range(n):
        if i in fixed:
            continue
        for j in np.argsort(logp[i])[::-1][:4]:
            if j == path[i]:
                continue
            k = kind_of[j]
            for s in range(len(auto.states)):
                t = auto.next[s, k]
                if t < 0 or fwd[i, s] <= _NO / 2 or bwd[i + 1, t] <= _NO / 2:
                    continue
                score = fwd[i, s] + logp[i, j] + auto.cost[s, k] + bwd[i + 1, t]
                ratio = math.exp(score - best)
                if ratio < ALTERNATIVE:
                    continue
                prefix = _trace(back, kind_arg, i, s)
                suffix = _suffix(auto, bwd, kind_best, kind_arg, i + 1, t)
                reading = tuple(labels[q] for q in prefix + [int(j)] + suffix)
                found[reading] = max(found.get(reading, 0.0), ratio)
    return sorted(((list(r), p) for r, p in found.items()), key=lambda rp: -rp[1])[:3]
