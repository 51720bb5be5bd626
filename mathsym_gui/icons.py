"""Toolbar icons the platform may lack: the theme's edit-undo/edit-redo when it has them, else drawn here."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

SIZE = 32


def _curved_arrow(colour: QColor, mirrored: bool) -> QPixmap:
    """A counter-clockwise hook ending in an arrowhead (undo); mirrored it points the other way (redo)."""
    pix = QPixmap(SIZE, SIZE)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if mirrored:
        p.translate(SIZE, 0)
        p.scale(-1, 1)
    pen = QPen(colour, 3.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    arc = QRectF(7, 8, 20, 18)
    path = QPainterPath()
    path.arcMoveTo(arc, 150)
    path.arcTo(arc, 150, -225)  # over the top and down the right side
    path.lineTo(13, 26)
    p.drawPath(path)
    # the arrowhead at the start of the arc, pointing back to the left-down
    tip = QPointF(
        arc.center().x() + arc.width() / 2 * math.cos(math.radians(150)),
        arc.center().y() - arc.height() / 2 * math.sin(math.radians(150)),
    )
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    head = QPainterPath(QPointF(tip.x() - 6, tip.y() + 6))
    head.lineTo(tip.x() + 6, tip.y() + 4)
    head.lineTo(tip.x() - 1, tip.y() - 7)
    head.closeSubpath()
    p.drawPath(head)
    p.end()
    return pix


def edit_icon(name: str) -> QIcon:
    """``"edit-undo"`` or ``"edit-redo"`` from the icon theme, or a drawn curved arrow (never a back/forward arrow)."""
    if QIcon.hasThemeIcon(name):
        return QIcon.fromTheme(name)
    colour = QApplication.palette().color(QPalette.ColorRole.ButtonText)
    icon = QIcon()
    icon.addPixmap(_curved_arrow(colour, mirrored=name == "edit-redo"))
    disabled = QColor(colour)
    disabled.setAlphaF(0.35)
    icon.addPixmap(_curved_arrow(disabled, mirrored=name == "edit-redo"), QIcon.Mode.Disabled)
    return icon
