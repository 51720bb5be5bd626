"""Drawing symbols on the real canvas with real mouse events."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from trainer.data.strokes import TEMPLATES


def template_points(label: str, canvas, fill: float = 0.6):
    """The template's strokes scaled into a centred square covering ``fill`` of the canvas."""
    side = fill * min(canvas.width(), canvas.height())
    x0, y0 = (canvas.width() - side) / 2, (canvas.height() - side) / 2
    return [[QPoint(round(x0 + x * side), round(y0 + y * side)) for x, y in stroke] for stroke in TEMPLATES[label]]


def draw_stroke(canvas, points, steps: int = 4) -> None:
    """Press at the first point, move through the others (interpolated), release at the last."""
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    last = points[0]
    for p in points[1:]:
        for i in range(1, steps + 1):
            QTest.mouseMove(canvas, last + (p - last) * (i / steps))
        last = p
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def draw_symbol(canvas, label: str) -> None:
    for stroke in template_points(label, canvas):
        draw_stroke(canvas, stroke)


def wait_for_current_prediction(qtbot, window, timeout: int = 20000):
    """Wait until the panel shows the answer for the drawing as it is now; returns it (None for a hint)."""
    qtbot.waitUntil(window.is_idle, timeout=timeout)
    return window.last_prediction
