"""The 19 classes, in the notebook's order (sorted class-folder names)."""

CLASS_NAMES: tuple[str, ...] = (
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "add", "dec", "div", "eq", "mul", "sub", "x", "y", "z",
)

SYMBOLS: dict[str, str] = {
    **{d: d for d in "0123456789"},
    "add": "+", "dec": ".", "div": "÷", "eq": "=", "mul": "×", "sub": "−",
    "x": "x", "y": "y", "z": "z",
}


def symbol(label: str) -> str:
    """The printed symbol for a class name (the name itself when unknown)."""
    return SYMBOLS.get(label, label)
