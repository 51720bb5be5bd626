"""The drawing pad: mouse, pen tablet (pressure) and touch input, eraser, undo/redo, HiDPI rendering."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, QSizeF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPointingDevice
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from .drawing import Drawing, Stroke, array_to_qimage, fit_rect, paint_ink, paint_stroke
from .reading import paint_symbol_boxes

#: Minimal distance (logical px) between recorded points; closer samples add nothing but cost.
MIN_STEP = 1.0
#: The finished stroke, already on screen as the segments painted while drawing, is redrawn as one smooth
#: path this long after pen-up: the recogniser shares the GIL and the two cores with this thread, so the
#: answer comes first (a VGG19 pass takes ~180 ms; redrawing during it made it measurably slower).
SMOOTH_REDRAW_MS = 250


class Canvas(QWidget):
    """Holds the drawing as strokes (point lists with colour and width) plus an optional photo.

    Strokes are kept in document coordinates: the canvas size when the first stroke of the drawing began. A
    smaller window shows the whole document scaled down (the drawing never leaves the view); a larger one shows
    it 1:1. What the model sees (:meth:`snapshot`) is in document coordinates, so it never depends on the window.

    Signals: ``strokesChanged`` after any change of the document (stroke, undo, redo, clear, image) and
    when a stroke in progress is abandoned, ``strokeStarted`` at pen-down, ``strokeFinished`` at pen-up,
    ``drawingMoved`` while the pen moves with the button down.
    """

    strokesChanged = Signal()
    strokeStarted = Signal()
    strokeFinished = Signal()
    drawingMoved = Signal()
    symbolMenuRequested = Signal(int, QPoint)  # a right click on a read line's symbol box: (index, global pos)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)  # touch arrives as synthesised mouse events
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setAccessibleName("Drawing canvas")
        self.pen_colour = "#000000"
        self.pen_width = 12.0
        self.eraser = False
        self.paper = "#ffffff"
        self._strokes: tuple[Stroke, ...] = ()
        self._image: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._doc = QSizeF()  # document size while it has strokes; else it follows the widget
        self._extent = QSizeF()  # the document size, grown to hold every stroke
        self._undo: list[tuple[tuple[Stroke, ...], np.ndarray | None, QSizeF]] = []
        self._redo: list[tuple[tuple[Stroke, ...], np.ndarray | None, QSizeF]] = []
        self._live: list[tuple[float, float, float]] | None = None  # the stroke being drawn
        self._live_eraser = False
        self._live_width = self.pen_width
        self._layer: QImage | None = None  # finished strokes (+ the live one) at device resolution
        self._tablet_down = False
        self._symbol_boxes: list[tuple[QRectF, str]] = []  # a read line's symbols: box (document), tooltip
        self._smooth_timer = QTimer(self)
        self._smooth_timer.setSingleShot(True)
        self._smooth_timer.setInterval(SMOOTH_REDRAW_MS)
        self._smooth_timer.timeout.connect(self._smooth_redraw)

    # -- document -------------------------------------------------------------------------------------

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        return self._strokes

    @property
    def image(self) -> np.ndarray | None:
        return self._image

    @property
    def is_drawing(self) -> bool:
        return self._live is not None

    def snapshot(self) -> Drawing:
        """The document as immutable data, including the stroke in progress."""
        strokes = self._strokes
        if self._live:
            strokes = strokes + (self._make_stroke(),)
        doc = self._document_size()
        return Drawing(round(doc.width()), round(doc.height()), strokes, self.paper, self._image)

    def is_empty(self) -> bool:
        return self.snapshot().is_empty

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def set_strokes(self, strokes: tuple[Stroke, ...]) -> None:
        """Replace the drawing by ``strokes`` (document coordinates) in one undoable change."""
        self._cancel_live()
        self._push(tuple(strokes), self._image)

    def _push(self, strokes: tuple[Stroke, ...], image: np.ndarray | None, redraw: bool = True) -> None:
        self._undo.append((self._strokes, self._image, self._doc))
        self._redo.clear()
        self._set(strokes, image, self._doc, redraw)

    def _set(self, strokes: tuple[Stroke, ...], image: np.ndarray | None, doc: QSizeF, redraw: bool = True) -> None:
        """Replace the document; ``redraw=False`` when the layer already shows it (a stroke just drawn)."""
        self._smooth_timer.stop()
        if not strokes:
            doc = QSizeF()
        elif doc.isEmpty():  # strokes set on an empty pad: they are in the canvas's present coordinates
            doc = QSizeF(self.size())
        self._doc = QSizeF(doc)
        self._strokes = strokes
        self._extent = self._stroke_extent()
        if image is not self._image:
            self._image = image
            self._qimage = array_to_qimage(image) if image is not None else None
        if redraw:
            self._rebuild_layer()
            self.update()
        self.strokesChanged.emit()

    def set_image(self, image: np.ndarray | None) -> None:
        """Show a photo (RGB uint8) as the drawing, replacing what was drawn (undoable)."""
        self._cancel_live()
        self._push((), image)

    def clear(self) -> None:
        self._cancel_live()
        if self._strokes or self._image is not None:
            self._push((), None)

    def undo(self) -> None:
        self._cancel_live()
        if self._undo:
            self._redo.append((self._strokes, self._image, self._doc))
            self._set(*self._undo.pop())

    def redo(self) -> None:
        self._cancel_live()
        if self._redo:
            self._undo.append((self._strokes, self._image, self._doc))
            self._set(*self._redo.pop())

    def set_paper(self, colour: str) -> None:
        self.paper = QColor(colour).name()
        self.update()
        self.strokesChanged.emit()

    # -- rendering ------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(520, 420)

    # -- view: document <-> widget ----------------------------------------------------------------------

    def _document_size(self) -> QSizeF:
        """The document's coordinate space: fixed while it has strokes, else the widget's size."""
        return QSizeF(self._doc) if not self._doc.isEmpty() else QSizeF(self.size())

    def _stroke_extent(self) -> QSizeF:
        """The document size grown to the far edge of every stroke (strokes drawn after the window grew)."""
        w, h = self._doc.width(), self._doc.height()
        for stroke in self._strokes:
            r = stroke.width / 2.0
            w = max(w, max(x for x, _, _ in stroke.points) + r)
            h = max(h, max(y for _, y, _ in stroke.points) + r)
        return QSizeF(w, h)

    def view_scale(self) -> float:
        """Widget pixels per document unit: 1, or less when the window is smaller than the drawing."""
        if self._doc.isEmpty():
            return 1.0
        ext = self._extent
        return min(1.0, self.width() / max(1.0, ext.width()), self.height() / max(1.0, ext.height()))

    def _to_document(self, pos: QPointF) -> QPointF:
        return pos / self.view_scale()

    def layer(self) -> QImage | None:
        """The finished strokes (and the one in progress) as on screen, at device resolution."""
        return self._layer

    def render_layer(self) -> QImage:
        """The finished strokes painted afresh as smooth paths, scaled to the view, at device resolution."""
        ratio = self.devicePixelRatioF()
        layer = QImage(self._device_size(), QImage.Format.Format_ARGB32_Premultiplied)
        layer.fill(Qt.GlobalColor.transparent)
        painter = QPainter(layer)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(ratio * self.view_scale(), ratio * self.view_scale())
        paint_ink(painter, self._strokes)
        painter.end()
        layer.setDevicePixelRatio(ratio)
        return layer

    def _rebuild_layer(self) -> None:
        self._layer = self.render_layer()

    def _smooth_redraw(self) -> None:
        if self._live is None:  # else the stroke in progress would be lost; its own pen-up comes back here
            self._rebuild_layer()
            self.update()

    def resizeEvent(self, event) -> None:
        self._rebuild_layer()
        super().resizeEvent(event)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.DevicePixelRatioChange, QEvent.Type.ScreenChangeInternal):
            self._rebuild_layer()
            self.update()
        super().changeEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(self.paper))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._qimage is not None:
            doc, scale = self._document_size(), self.view_scale()
            painter.save()
            painter.scale(scale, scale)
            painter.drawImage(
                fit_rect(self._qimage.width(), self._qimage.height(), doc.width(), doc.height()), self._qimage
            )
            painter.restore()
        if self._layer is not None:
            painter.drawImage(QPointF(0, 0), self._layer)
        if self._symbol_boxes:
            paint_symbol_boxes(painter, [box for box, _ in self._symbol_boxes], self.view_scale(), self.palette())
        if self.is_empty() and not self.is_drawing:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                QRectF(self.rect()),
                Qt.AlignmentFlag.AlignCenter,
                "Draw a digit, + − × ÷ = . x y or z here\n(or open, paste or drop an image)",
            )
        painter.end()

    # -- a read line's symbols ------------------------------------------------------------------------

    def symbol_boxes(self) -> list[tuple[QRectF, str]]:
        """The outlined symbols of a read line: box (document coordinates) and tooltip."""
        return list(self._symbol_boxes)

    def set_symbol_boxes(self, boxes: list[tuple[QRectF, str]]) -> None:
        """Outline these boxes (document coordinates); hovering one shows its text as a tooltip."""
        self._symbol_boxes = list(boxes)
        self.update()

    def symbol_at(self, pos: QPointF) -> int | None:
        """The index of the symbol box under a widget position, if any."""
        doc = self._to_document(pos)
        return next((i for i, (box, _) in enumerate(self._symbol_boxes) if box.contains(doc)), None)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._symbol_boxes:
            index = self.symbol_at(QPointF(event.pos()))
            if index is not None:
                QToolTip.showText(event.globalPos(), self._symbol_boxes[index][1], self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    # -- input ----------------------------------------------------------------------------------------

    def _make_stroke(self) -> Stroke:
        assert self._live is not None  # called while a stroke is being drawn
        return Stroke(tuple(self._live), self.pen_colour, self._live_width, self._live_eraser)

    def _begin(self, pos: QPointF, pressure: float, eraser: bool | None = None) -> None:
        if self.is_empty():
            self.update()  # the hint on the empty pad goes at once, not where the pen passes
        if not self._strokes:
            self._doc = QSizeF(self.size())  # the first stroke fixes the document's coordinates
            self._extent = QSizeF(self._doc)
        self._live_width = self.pen_width / self.view_scale()  # as wide on screen as the pen says
        pos = self._to_document(pos)
        self._live = [(pos.x(), pos.y(), pressure)]
        self._live_eraser = self.eraser if eraser is None else eraser
        if self._layer is None or self._layer.size() != self._device_size():
            self._rebuild_layer()
        self._paint_live_segment()
        self.strokeStarted.emit()

    def _device_size(self) -> QSize:
        r = self.devicePixelRatioF()
        return QSize(max(1, round(self.width() * r)), max(1, round(self.height() * r)))

    def _extend(self, pos: QPointF, pressure: float) -> None:
        scale = self.view_scale()
        x, y = pos.x() / scale, pos.y() / scale
        assert self._live is not None  # callers check that a stroke is being drawn
        lx, ly, _ = self._live[-1]
        if abs(x - lx) * scale < MIN_STEP and abs(y - ly) * scale < MIN_STEP:
            return
        self._live.append((x, y, pressure))
        self._paint_live_segment()
        self.drawingMoved.emit()

    def _paint_live_segment(self) -> None:
        """Paint just the newest piece of the live stroke into the layer (redrawn as one smooth path after pen-up)."""
        assert self._live is not None and self._layer is not None  # _begin made both
        pts = self._live[-2:]
        seg = Stroke(tuple(pts), self.pen_colour, self._live_width, self._live_eraser)
        painter = QPainter(self._layer)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scale = self.view_scale()
        r = self.devicePixelRatioF()
        painter.scale(r * scale, r * scale)
        paint_stroke(painter, seg)
        painter.end()
        margin = self.pen_width + 2
        xs, ys = [p[0] * scale for p in pts], [p[1] * scale for p in pts]
        self.update(
            QRectF(
                min(xs) - margin, min(ys) - margin, max(xs) - min(xs) + 2 * margin, max(ys) - min(ys) + 2 * margin
            ).toAlignedRect()
        )

    def _finish(self) -> None:
        if self._live is None:
            return
        stroke = self._make_stroke()
        self._live = None
        self._push(self._strokes + (stroke,), self._image, redraw=False)
        self._smooth_timer.start()
        self.strokeFinished.emit()

    def _cancel_live(self) -> None:
        if self._live is not None:
            self._live = None
            if not self._strokes:
                self._doc = QSizeF()
            self._rebuild_layer()
            self.update()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self._tablet_down:
            self._begin(event.position(), 1.0)
            event.accept()
        elif event.button() == Qt.MouseButton.RightButton and self._live is not None:
            self._cancel_live()  # right click while drawing abandons the stroke
            self.strokesChanged.emit()  # what is shown (and was classified while drawing) changed back
        elif event.button() == Qt.MouseButton.RightButton and (index := self.symbol_at(event.position())) is not None:
            self.symbolMenuRequested.emit(index, event.globalPosition().toPoint())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._live is not None and not self._tablet_down and event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position(), 1.0)
            event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._live is not None and not self._tablet_down:
            self._extend(event.position(), 1.0)
            self._finish()
            event.accept()

    def tabletEvent(self, event) -> None:
        """Pen tablets: pressure varies the width; the eraser end of the pen erases."""
        kind = event.type()
        pressure = float(event.pressure())
        if kind == QEvent.Type.TabletPress:
            self._tablet_down = True
            flipped = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._begin(event.position(), pressure, True if flipped else None)
        elif kind == QEvent.Type.TabletMove and self._tablet_down and self._live is not None:
            self._extend(event.position(), pressure)
        elif kind == QEvent.Type.TabletRelease and self._tablet_down:
            self._tablet_down = False
            self._finish()
        event.accept()
