"""What is drawn, as plain data (strokes, an optional photo, the paper), and how it is rasterised.

Everything here is immutable and thread-safe: the canvas hands a :class:`Drawing` snapshot to the
inference worker, which rasterises it off the GUI thread (QPainter on a QImage works in any thread).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

from trainer.data.imageio import flatten_alpha

#: Strokes are rasterised for the model cropped to the ink (plus a paper margin) with this many pixels on
#: the longer side: the "ink" preprocessing crops to the symbol and rescales it anyway, and its cost grows
#: with the pixel count (a whole 600 px canvas costs ~4x more for the same symbol detail). 128 px still gives
#: the default model, which works at 56 px inside, more detail than it uses.
MODEL_RASTER = 128
#: Longer side of the raster when strokes are drawn over a photo (the whole canvas is rendered then).
PHOTO_RASTER = 320
#: Paper margin around the ink, as a share of the ink box's longer side (the preprocessing fits the paper
#: colour on the image border, so the border must be paper).
MARGIN = 0.15


@dataclass(frozen=True)
class Stroke:
    """One pen-down .. pen-up trace in canvas coordinates (logical pixels); pressure in [0, 1]."""

    points: tuple[tuple[float, float, float], ...]
    colour: str = "#000000"
    width: float = 12.0
    eraser: bool = False

    def width_at(self, pressure: float) -> float:
        """Pen width for a pressure: full width at pressure 1 (mouse, touch), thinner when pressed lightly."""
        return max(0.5, self.width * (0.25 + 0.75 * min(max(pressure, 0.0), 1.0)))

    @property
    def uniform(self) -> bool:
        return len({p for _, _, p in self.points}) <= 1


@dataclass(frozen=True)
class Drawing:
    """A snapshot of the canvas: size, paper colour, an optional photo underneath, and the strokes on it."""

    width: int
    height: int
    strokes: tuple[Stroke, ...] = ()
    paper: str = "#ffffff"
    image: np.ndarray | None = field(default=None, compare=False)  # (H, W, 3) uint8 RGB, never mutated

    @property
    def has_ink(self) -> bool:
        return any(not s.eraser for s in self.strokes)

    @property
    def is_empty(self) -> bool:
        return self.image is None and not self.has_ink


def fit_rect(image_w: int, image_h: int, width: float, height: float) -> QRectF:
    """Where an image sits on the canvas: centred, aspect kept, as large as fits (never upscaled > 4x)."""
    scale = min(width / image_w, height / image_h, 4.0)
    w, h = image_w * scale, image_h * scale
    return QRectF((width - w) / 2.0, (height - h) / 2.0, w, h)


def stroke_path(points) -> QPainterPath:
    """A smooth path through every point (a Catmull-Rom spline as cubic curves): it passes where the pen was, so
    a quick stroke of few points keeps its corners (a 1's flag stays a flag, not a 7's curve).

    The control points come from one array operation with QPointF's float64 arithmetic (the same path, bit for
    bit): point by point in Python they took two thirds of rendering a drawing on the pen-up path."""
    path = QPainterPath(QPointF(points[0][0], points[0][1]))
    if len(points) == 2:
        path.lineTo(points[1][0], points[1][1])
        return path
    pts = np.array([(x, y) for x, y, _ in points], np.float64)
    ends = np.concatenate([pts[:1], pts, pts[-1:]])
    a, b, c, d = ends[:-3], ends[1:-2], ends[2:-1], ends[3:]
    for curve in np.hstack([b + (c - a) / 6.0, c - (d - b) / 6.0, c]).tolist():
        path.cubicTo(*curve)
    return path


def pen_for(stroke: Stroke, width: float) -> QPen:
    pen = QPen(QColor(stroke.colour), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    return pen


def paint_stroke(painter: QPainter, stroke: Stroke, least: float = 0.0) -> None:
    """Paint one stroke (anti-aliasing is the painter's), never thinner than ``least``; the eraser clears what is
    under it."""
    painter.save()
    painter.setCompositionMode(
        QPainter.CompositionMode.CompositionMode_Clear
        if stroke.eraser
        else QPainter.CompositionMode.CompositionMode_SourceOver
    )
    pts = stroke.points
    if len(pts) == 1 or all(abs(x - pts[0][0]) < 1e-6 and abs(y - pts[0][1]) < 1e-6 for x, y, _ in pts):
        radius = max(stroke.width_at(max(p for _, _, p in pts)), least) / 2.0
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(stroke.colour))
        painter.drawEllipse(QPointF(pts[0][0], pts[0][1]), radius, radius)
    elif stroke.uniform:
        painter.setPen(pen_for(stroke, max(stroke.width_at(pts[0][2]), least)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(stroke_path(pts))
    else:  # pressure varies: segment by segment, each with its own width
        for (x0, y0, p0), (x1, y1, p1) in zip(pts, pts[1:], strict=False):
            painter.setPen(pen_for(stroke, max(stroke.width_at((p0 + p1) / 2.0), least)))
            painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))
    painter.restore()


def paint_ink(painter: QPainter, strokes, least: float = 0.0) -> None:
    for s in strokes:
        paint_stroke(painter, s, least)


def ink_box(strokes) -> QRectF | None:
    """The bounding box of the (non-eraser) strokes, pen width included."""
    box = None
    for s in strokes:
        if s.eraser:
            continue
        xs, ys = [p[0] for p in s.points], [p[1] for p in s.points]
        r = s.width / 2.0 + 1.0
        b = QRectF(min(xs) - r, min(ys) - r, max(xs) - min(xs) + 2 * r, max(ys) - min(ys) + 2 * r)
        box = b if box is None else box.united(b)
    return box


def render(drawing: Drawing, max_side: int | None = MODEL_RASTER) -> np.ndarray:
    """Rasterise a drawing to (H, W, 3) uint8 RGB: paper, photo, then ink, anti-aliased.

    With ``max_side`` (the model's path), strokes without a photo are cropped to their ink box plus a paper
    margin and drawn with that many pixels on the longer side; without it, the whole canvas at 1:1.
    A photo without strokes is returned as is (full resolution): the model sees the original image.
    """
    if drawing.image is not None and not drawing.strokes:
        return drawing.image
    region = QRectF(0, 0, max(1, drawing.width), max(1, drawing.height))
    box = ink_box(drawing.strokes) if drawing.image is None and max_side else None
    if box is not None:
        margin = MARGIN * max(box.width(), box.height())
        region = box.adjusted(-margin, -margin, margin, margin)
    w, h = region.width(), region.height()
    if not max_side:
        scale = 1.0
    elif box is not None:
        scale = min(max_side / max(w, h), 4.0)
    else:  # strokes over a photo: the whole canvas, with enough pixels for the photo's symbol
        scale = min(max(max_side, PHOTO_RASTER) / max(w, h), 1.0)
    out = QImage(max(1, round(w * scale)), max(1, round(h * scale)), QImage.Format.Format_RGB32)
    out.fill(QColor(drawing.paper))
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.scale(scale, scale)
    painter.translate(-region.left(), -region.top())
    # Strokes are at least two pixels of this raster wide: a finer pen (a light stylus, or a thin pen on a big
    # drawing) came out as faint beads, anti-aliasing lighting a pixel only where the path crosses its centre,
    # which the preprocessing thickened as beads, or as no ink at all.
    least = 2.0 / scale
    if drawing.image is not None:
        img = drawing.image
        painter.drawImage(fit_rect(img.shape[1], img.shape[0], drawing.width, drawing.height), array_to_qimage(img))
    if drawing.strokes and not any(s.eraser for s in drawing.strokes):
        paint_ink(painter, drawing.strokes, least)  # plain ink straight onto the paper: no layer to build and blend
    elif drawing.strokes:
        # Ink with eraser strokes goes on its own layer first, so erasing never clears the paper or photo.
        layer = QImage(out.size(), QImage.Format.Format_ARGB32_Premultiplied)
        layer.fill(Qt.GlobalColor.transparent)
        ink = QPainter(layer)
        ink.setRenderHint(QPainter.RenderHint.Antialiasing)
        ink.scale(scale, scale)
        ink.translate(-region.left(), -region.top())
        paint_ink(ink, drawing.strokes, least)
        ink.end()
        painter.resetTransform()
        painter.drawImage(0, 0, layer)
    painter.end()
    return qimage_to_array(out)


def qimage_to_array(image: QImage) -> np.ndarray:
    """Any QImage as a (H, W, 3) uint8 RGB copy (alpha flattened as for image files: onto white, or onto black
    when white would hide the ink)."""
    w, h = image.width(), image.height()
    if image.hasAlphaChannel():
        rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
        bpl = rgba.bytesPerLine()
        pixels = np.frombuffer(rgba.constBits(), np.uint8, count=bpl * h).reshape(h, bpl // 4, 4)
        return flatten_alpha(pixels[:, :w])
    bpl = image.bytesPerLine()
    if image.format() == QImage.Format.Format_RGB32 and sys.byteorder == "little":  # B, G, R, 0xff in memory
        buf: np.ndarray = np.frombuffer(image.constBits(), np.uint8, count=bpl * h).reshape(h, bpl // 4, 4)
        return cv2.cvtColor(buf[:, :w], cv2.COLOR_BGRA2RGB)  # one pass, no Qt conversion, a new array
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    bpl = image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def array_to_qimage(array: np.ndarray) -> QImage:
    """A (H, W, 3) uint8 RGB array as a QImage that owns its pixels."""
    a = np.ascontiguousarray(array[:, :, :3], dtype=np.uint8)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
