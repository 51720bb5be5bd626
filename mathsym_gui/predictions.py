"""The prediction panel: top-5 classes with symbol, name and confidence bar, plus what the model saw."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from trainer.labels import CLASS_NAMES, printable, symbol

from .drawing import array_to_qimage

ROWS = 5
PREVIEW = 112  # the 224x224 model input shown at half size


class ConfidenceBar(QWidget):
    """A confidence from 0 to 1 as a filled bar with its percentage.

    Not a QProgressBar: that one repaints synchronously on every ``setValue``, which put ~1 ms per shown
    prediction on the GUI thread; this one schedules an ordinary update.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._value = 0.0

    def sizeHint(self) -> QSize:
        return QSize(160, self.fontMetrics().height() + 6)

    def value(self) -> float:
        return self._value

    def text(self) -> str:
        return f"{self._value * 100:.1f}%"

    def set_value(self, value: float) -> None:
        value = min(max(float(value), 0.0), 1.0)
        if value != self._value:
            self._value = value
            self.update()

    def paintEvent(self, event) -> None:
        pal = self.palette()
        box = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pal.color(QPalette.ColorRole.Mid))
        painter.setBrush(pal.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(box, 3, 3)
        fill = QRectF(box.left(), box.top(), box.width() * self._value, box.height())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
        painter.drawRoundedRect(fill, 3, 3)
        # The percentage in the text colour on the empty part, in the highlighted-text colour on the fill.
        for part, role in (
            (box.adjusted(fill.width(), 0, 0, 0), QPalette.ColorRole.Text),
            (fill, QPalette.ColorRole.HighlightedText),
        ):
            painter.setClipRect(part)
            painter.setPen(pal.color(role))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.text())
        painter.end()


class PredictionList(QWidget):
    """Rows of symbol / class name / confidence bar; ``entries()`` gives what is shown. Clicking a row says
    "this is the right answer" (``labelClicked``); ``symbols`` names classes a model card taught."""

    labelClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionList")
        self.setAccessibleName("Predictions")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click the right answer to save your drawing as a sample of it")
        self.symbols: dict = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        self._rows = []
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.8)
        for i in range(ROWS):
            sym, name, bar = QLabel(), QLabel(), ConfidenceBar()
            sym.setTextFormat(Qt.TextFormat.PlainText)
            name.setTextFormat(Qt.TextFormat.PlainText)
            sym.setFont(big if i == 0 else self.font())
            sym.setMinimumWidth(36)
            sym.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # as wide as the longest class name, so the bars stay put whatever the names are
            name.setMinimumWidth(max(self.fontMetrics().horizontalAdvance(n) for n in CLASS_NAMES) + 4)
            for w, col in ((sym, 0), (name, 1), (bar, 2)):
                grid.addWidget(w, i, col)
            self._rows.append((sym, name, bar))
        grid.setColumnStretch(2, 1)
        self._entries: list[tuple[str, float]] = []
        self.set_entries([])

    def entries(self) -> list[tuple[str, float]]:
        return list(self._entries)

    def row(self, i: int) -> tuple[QLabel, QLabel, ConfidenceBar]:
        """The widgets of row ``i``: symbol, class name (empty when the symbol says it all) and bar."""
        return self._rows[i]

    def set_entries(self, entries: list[tuple[str, float]]) -> None:
        self._entries = list(entries)[:ROWS]
        # No entries hides the list as one widget: showing 15 row widgets again cost ~0.4 ms per answer.
        self.setVisible(bool(self._entries))
        for i, (sym, name, bar) in enumerate(self._rows):
            visible = i < len(self._entries)
            if self._entries and sym.isHidden() == visible:
                for w in (sym, name, bar):
                    w.setVisible(visible)
            if visible:
                label, p = self._entries[i]
                shown = printable(label)  # a card's text is shown, never obeyed
                sym.setText(printable(symbol(label, self.symbols)))
                name.setText("" if sym.text() == shown else shown)  # "3", not "3 3"
                bar.set_value(p)
                bar.setAccessibleName(f"{shown}: {bar.text()}")

    def row_rect(self, i: int) -> QRect:
        """The area of row ``i`` (symbol, name and bar)."""
        rect = QRect()
        for w in self._rows[i]:
            rect = rect.united(w.geometry())
        return rect.adjusted(0, -2, 0, 2)

    def mousePressEvent(self, event) -> None:
        pos = event.position().toPoint()
        for i in range(len(self._entries)):
            if self.row_rect(i).contains(pos):
                self.labelClicked.emit(self._entries[i][0])
                event.accept()
                return
        super().mousePressEvent(event)


class PredictionPanel(QFrame):
    """Prediction list, a hint line for empty canvas / no model, and the model-input preview."""

    openModelRequested = Signal()
    trainRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionPanel")
        self.setMinimumWidth(260)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        title = QLabel("<b>Recognised as</b>")
        layout.addWidget(title)
        self.list = PredictionList(self)
        layout.addWidget(self.list)
        self.hint = QLabel(self)
        self.hint.setObjectName("hintLabel")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.hint)
        self.loading_bar = QProgressBar(self)
        self.loading_bar.setObjectName("loadingBar")
        self.loading_bar.setRange(0, 0)  # a model load reports no progress: a busy bar
        self.loading_bar.setTextVisible(False)
        self.loading_bar.setMaximumHeight(10)
        self.loading_bar.hide()
        layout.addWidget(self.loading_bar)
        self._sections = layout.indexOf(self.loading_bar) + 1
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open Model…", self)
        self.train_button = QPushButton("Train a Model…", self)
        self.open_button.clicked.connect(self.openModelRequested)
        self.train_button.clicked.connect(self.trainRequested)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.train_button)
        layout.addLayout(buttons)
        self.show_model_buttons(False)
        layout.addSpacing(12)
        heading = QHBoxLayout()
        heading.addWidget(QLabel("<b>What the model saw</b>"))
        heading.addStretch(1)
        self.timing = QLabel(self)  # in the heading row: it can never cover the preview
        self.timing.setObjectName("timingLabel")
        self.timing.setToolTip("How long recognising this drawing took: rasterise, preprocess and the model")
        heading.addWidget(self.timing)
        layout.addLayout(heading)
        self.preview = QLabel(self)
        self.preview.setObjectName("previewLabel")
        self.preview.setFixedSize(PREVIEW, PREVIEW)
        self.preview.setFrameShape(QFrame.Shape.Box)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setToolTip("The preprocessed model input (224×224), shown at half size")
        layout.addWidget(self.preview)
        layout.addStretch(1)

    def add_section(self, widget: QWidget) -> None:
        """Add a widget below the predictions and the hint (e.g. the correction bar)."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)  # set in __init__
        layout.insertWidget(self._sections, widget)
        self._sections += 1

    def show_model_buttons(self, visible: bool) -> None:
        self.open_button.setVisible(visible)
        self.train_button.setVisible(visible)

    def show_prediction(self, top: list[tuple[str, float]], preview: np.ndarray | None, seconds: float = 0.0) -> None:
        self.list.set_entries(top)
        self.hint.clear()
        self.set_preview(preview)
        self.timing.setText(f"model {seconds * 1000:.0f} ms" if seconds else "")

    def set_preview(self, preview: np.ndarray | None) -> None:
        if preview is None:
            self.preview.clear()
            return
        ratio = self.devicePixelRatioF()
        side = round(PREVIEW * ratio)
        h, w = preview.shape[:2]
        scale = side / max(h, w)
        if scale != 1.0:  # OpenCV's area average: a quarter of Qt's smooth scaling on the GUI thread
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            preview = cv2.resize(preview, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        pix = QPixmap.fromImage(array_to_qimage(preview))
        pix.setDevicePixelRatio(ratio)
        self.preview.setPixmap(pix)

    def set_loading(self, name: str) -> None:
        """Show a busy bar while the model ``name`` loads ("" hides it)."""
        self.loading_bar.setVisible(bool(name))
        self.loading_bar.setToolTip(f"Loading model {name}…" if name else "")

    def show_hint(self, text: str) -> None:
        """No classes (empty canvas, no model, loading): a hint instead of predictions."""
        self.list.set_entries([])
        self.set_preview(None)
        self.timing.clear()
        self.hint.setText(text)
