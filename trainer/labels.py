"""The 19 classes, in the notebook's order (sorted class-folder names)."""

import unicodedata
from collections.abc import Mapping

CLASS_NAMES: tuple[str, ...] = (
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "add",
    "dec",
    "div",
    "eq",
    "mul",
    "sub",
    "x",
    "y",
    "z",
)

SYMBOLS: dict[str, str] = {
    **{d: d for d in "0123456789"},
    "add": "+",
    "dec": ".",
    "div": "÷",
    "eq": "=",
    "mul": "×",
    "sub": "−",
    "x": "x",
    "y": "y",
    "z": "z",
}


LATEX: dict[str, str] = {
    **{d: d for d in "0123456789"},
    "add": "+",
    "dec": ".",
    "div": r"\div",
    "eq": "=",
    "mul": r"\times",
    "sub": "-",
    "x": "x",
    "y": "y",
    "z": "z",
}

#: The key that names each class when correcting an answer in the pad (typed text, so any keyboard layout).
KEYS: dict[str, str] = {
    **{d: d for d in "0123456789"},
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "=": "eq",
    ".": "dec",
    "x": "x",
    "y": "y",
    "z": "z",
}


#: A model card's ``{label: {"symbol": char, "latex": text}}`` for classes taught from samples.
Symbols = Mapping[str, Mapping[str, str]]


def _provided(label: str, symbols: Symbols | None, key: str) -> str | None:
    value = (symbols or {}).get(label)
    text = value.get(key) if isinstance(value, Mapping) else None
    return text if isinstance(text, str) and text else None


def symbol(label: str, symbols: Symbols | None = None) -> str:
    """The printed symbol for a class name: built in, else given by ``symbols`` (a model card's
    ``{label: {"symbol", "latex"}}`` for classes taught from samples), else the name itself."""
    return SYMBOLS.get(label) or _provided(label, symbols, "symbol") or label


def latex(label: str, symbols: Symbols | None = None) -> str:
    """The LaTeX for a class name, looked up like :func:`symbol`."""
    return LATEX.get(label) or _provided(label, symbols, "latex") or symbol(label, symbols)


#: Unicode categories no class name may contain: control and format characters (terminal escapes, bidi
#: overrides, zero-width marks), surrogates, line and paragraph separators.
_UNPRINTABLE = ("Cc", "Cf", "Cs", "Zl", "Zp")
MAX_LABEL_LENGTH = 100


def label_problem(label: object) -> str | None:
    """Why ``label`` cannot name a class (None when it can): labels reach terminals, JSON and the pad, so they
    are short printable text."""
    if not isinstance(label, str) or not label.strip():
        return "is not a non-empty name"
    if len(label) > MAX_LABEL_LENGTH:
        return f"is longer than {MAX_LABEL_LENGTH} characters"
    bad = next((c for c in label if unicodedata.category(c) in _UNPRINTABLE), None)
    if bad is not None:
        return f"contains the control character U+{ord(bad):04X}"
    return None


def printable(text: str) -> str:
    """``text`` with its control and format characters written as escapes (``\x1b``, ``\u202e``), so that
    what a card, a file name or an error message holds is shown, never obeyed by a terminal or a widget."""
    if all(unicodedata.category(c) not in _UNPRINTABLE for c in text):
        return text
    return "".join(
        c.encode("unicode_escape", "backslashreplace").decode("ascii") if unicodedata.category(c) in _UNPRINTABLE else c
        for c in text
    )
