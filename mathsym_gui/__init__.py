"""MathSym's desktop drawing pad (PySide6): draw or open a math symbol, see it recognised live."""
