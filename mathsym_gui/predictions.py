"""The prediction panel: top-5 classes with symbol, name and confidence bar, plus what the model saw."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from trainer.labels import symbol

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
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
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
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(pal.color(QPalette.Mid))
        painter.setBrush(pal.color(QPalette.Base))
        painter.drawRoundedRect(box, 3, 3)
        fill = QRectF(box.left(), box.top(), box.width() * self._value, box.height())
        painter.setPen(Qt.NoPen)
        painter.setBrush(pal.color(QPalette.Highlight))
        painter.drawRoundedRect(fill, 3, 3)
        # The percentage in the text colour on the empty part, in the highlighted-text colour on the fill.
        for part, role in ((box.adjusted(fill.width(), 0, 0, 0), QPalette.Text), (fill, QPalette.HighlightedText)):
            painter.setClipRect(part)
            painter.setPen(pal.color(role))
            painter.drawText(box, Qt.AlignCenter, self.text())
        painter.end()


class PredictionList(QWidget):
    """Rows of symbol / class name / confidence bar; ``entries()`` gives what is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionList")
        self.setAccessibleName("Predictions")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        self._rows = []
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.8)
        for i in range(ROWS):
            sym, name, bar = QLabel(), QLabel(), ConfidenceBar()
            sym.setFont(big if i == 0 else self.font())
            sym.setMinimumWidth(36)
            sym.setAlignment(Qt.AlignCenter)
            for w, col in ((sym, 0), (name, 1), (bar, 2)):
                grid.addWidget(w, i, col)
            self._rows.append((sym, name, bar))
        grid.setColumnStretch(2, 1)
        self._entries: list[tuple[str, float]] = []
        self.set_entries([])

    def entries(self) -> list[tuple[str, float]]:
        return list(self._entries)

    def top1(self) -> str | None:
        return self._entries[0][0] if self._entries else None

    def set_entries(self, entries: list[tuple[str, float]]) -> None:
        self._entries = list(entries)[:ROWS]
        for i, (sym, name, bar) in enumerate(self._rows):
            visible = i < len(self._entries)
            for w in (sym, name, bar):
                w.setVisible(visible)
            if visible:
                label, p = self._entries[i]
                sym.setText(symbol(label))
                name.setText(label)
                bar.set_value(p)
                bar.setAccessibleName(f"{label}: {bar.text()}")


class PredictionPanel(QFrame):
    """Prediction list, a hint line for empty canvas / no model, and the model-input preview."""

    openModelRequested = Signal()
    trainRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionPanel")
        self.setMinimumWidth(260)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        layout = QVBoxLayout(self)
        title = QLabel("<b>Recognised as</b>")
        layout.addWidget(title)
        self.list = PredictionList(self)
        layout.addWidget(self.list)
        self.hint = QLabel(self)
        self.hint.setObjectName("hintLabel")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.PlainText)
        layout.addWidget(self.hint)
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
        layout.addWidget(QLabel("<b>What the model saw</b>"))
        self.preview = QLabel(self)
        self.preview.setObjectName("previewLabel")
        self.preview.setFixedSize(PREVIEW, PREVIEW)
        self.preview.setFrameShape(QFrame.Box)
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setToolTip("The preprocessed model input (224×224), shown at half size")
        layout.addWidget(self.preview)
        self.timing = QLabel(self)
        self.timing.setObjectName("timingLabel")
        layout.addWidget(self.timing)
        layout.addStretch(1)

    def show_model_buttons(self, visible: bool) -> None:
        self.open_button.setVisible(visible)
        self.train_button.setVisible(visible)

    def show_prediction(self, top: list[tuple[str, float]], preview: np.ndarray | None, seconds: float = 0.0) -> None:
        self.list.set_entries(top)
        self.hint.clear()
        self.set_preview(preview)
        self.timing.setText(f"{seconds * 1000:.0f} ms" if seconds else "")

    def set_preview(self, preview: np.ndarray | None) -> None:
        if preview is None:
            self.preview.clear()
            return
        pix = QPixmap.fromImage(array_to_qimage(preview))
        ratio = self.devicePixelRatioF()
        pix = pix.scaled(round(PREVIEW * ratio), round(PREVIEW * ratio), Qt.KeepAspectRatio, Qt.SmoothTransformation)
        pix.setDevicePixelRatio(ratio)
        self.preview.setPixmap(pix)

    def show_hint(self, text: str) -> None:
        """No classes (empty canvas, no model, loading): a hint instead of predictions."""
        self.list.set_entries([])
        self.set_preview(None)
        self.timing.clear()
        self.hint.setText(text)
