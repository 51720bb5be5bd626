"""A whole line on the pad: read it on the worker, show it typeset with its result, outline each symbol on
the pad (hover: its top three), copy it as text, LaTeX or result, and correct single symbols.

One symbol on the pad is recognised as before; as soon as the ink holds more than one symbol it is read as a
line (:func:`read_drawing`, called by the recognition worker). A correction pins that symbol's label, decodes
the line again at once (no model pass) and saves the symbol as one of the user's samples through the same
corrections history as a single-symbol correction (its strokes; on an image, or ink with eraser marks, its
crop), so correcting it again relabels that sample and Undo removes it (and the pin). Pins stay while the
symbol's strokes stay.
"""

from __future__ import annotations

import html
import re

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from trainer.data.preprocess import to_model_input
from trainer.data.samples import RASTER_SIZE
from trainer.errors import MathSymError
from trainer.labels import KEYS, symbol
from trainer.serving.reader import Reading, read_segmentation, redecode
from trainer.serving.reader.segment import SegmentationError, segment_image, segment_strokes

from .corrections import Correction, Subject, SymbolPalette, named, sample_raster, stroke_records
from .drawing import Drawing, fit_rect, render

HINT_LINE = "A line of symbols: its reading and result are below the pad."
PLACEHOLDER = "Write several symbols in a row, such as 12÷4+3= or 2x+3=11, to read and calculate a line."
#: Shortcuts of the copy actions (Ctrl+Shift+C is the pen colour; Ctrl+C stays free for text fields).
COPY_TEXT_KEY = "Ctrl+Shift+T"
COPY_LATEX_KEY = "Ctrl+Shift+L"
COPY_RESULT_KEY = "Ctrl+Shift+R"
#: Room the reading and its result need beside the three copy buttons; narrower, they become one Copy menu.
COPY_ROOM = 120
#: Lines of text the note under the symbols shows (the reason there is no result, the alternatives).
NOTE_LINES = 3


def read_as_strokes(drawing: Drawing) -> bool:
    """Whether a line is read from its strokes (a symbol's parts are stroke indices) rather than from the ink
    components of a raster (a photo, or strokes with eraser marks)."""
    return drawing.image is None and not any(s.eraser for s in drawing.strokes)


def line_raster(drawing: Drawing) -> np.ndarray | None:
    """The raster a line is read from as ink components, or None when it is read from its strokes."""
    if read_as_strokes(drawing):
        return None
    return render(drawing, max_side=None) if drawing.strokes or drawing.image is None else drawing.image


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st: "the 2nd symbol" cannot be read as the digit 2."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def read_drawing(model, drawing: Drawing, k: int = 3) -> Reading | None:
    """The line on the pad, or None when the ink holds one symbol (recognised as a single symbol).

    Plain strokes are grouped as strokes; a photo, or strokes with eraser marks, as ink of the canvas
    rendered 1:1. Boxes are in the canvas's document coordinates either way.
    """
    if drawing.image is None and len(drawing.strokes) < 2:
        return None  # one stroke is one symbol: nothing to segment on the pen-up path
    try:
        raster = line_raster(drawing)
        if raster is None:
            segmentation = segment_strokes(
                [s.points for s in drawing.strokes], [s.width for s in drawing.strokes], min_symbols=2
            )
            mapping = None
        else:
            segmentation = segment_image(raster)
            mapping = (
                fit_rect(raster.shape[1], raster.shape[0], drawing.width, drawing.height)
                if not drawing.strokes
                else None
            )
    except SegmentationError as exc:
        return Reading(error=str(exc))
    if len(segmentation.groups) < 2 and not segmentation.cuts:
        return None
    reading = read_segmentation(model, segmentation, k)
    if len(reading.symbols) < 2:  # the model read the parts as one symbol (a y whose strokes missed each other)
        return None
    if mapping is not None and raster is not None:  # image pixels -> where the image is shown on the pad
        sx, sy = mapping.width() / raster.shape[1], mapping.height() / raster.shape[0]
        for s in reading.symbols:
            x, y, w, h = s.box
            s.box = (round(mapping.x() + x * sx), round(mapping.y() + y * sy), round(w * sx), round(h * sy))
    return reading


def paint_symbol_boxes(painter: QPainter, boxes: list[QRectF], scale: float, palette: QPalette) -> None:
    """Dashed outlines of a read line's symbols (document coordinates, drawn at the view's scale)."""
    painter.save()
    colour = QColor(palette.color(QPalette.ColorRole.Highlight))
    colour.setAlpha(170)
    pen = QPen(colour, 1.0, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.scale(scale, scale)
    for box in boxes:
        painter.drawRect(box)
    painter.restore()


def typeset_html(reading: Reading) -> str:
    """The reading as rich text: Unicode operators, letters in italic serif."""
    return re.sub(r"([xyz])", r"<i>\1</i>", html.escape(reading.pretty))


def top_text(top: list[tuple[str, float]], symbols: dict | None = None) -> str:
    return "\n".join(f"{named(name, symbols)}  {p * 100:.1f} %" for name, p in top)


class FittedLabel(QLabel):
    """One line of plain text in the first of its fonts that fits the width the layout gives it, else in the
    last, cut with "…" (the whole text then in its tooltip): a long result (two roots with decimals) never
    widens the panel or pushes its buttons away."""

    def __init__(self, fonts: list[QFont], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fonts = fonts
        self._full = ""
        self.setFont(fonts[0])
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(QFontMetrics(fonts[-1]).horizontalAdvance("→ x = 0…"))  # always the start of it

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width()
        font = next((f for f in self._fonts if QFontMetrics(f).horizontalAdvance(self._full) <= width), self._fonts[-1])
        if font != self.font():
            self.setFont(font)
        shown = QFontMetrics(font).elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        self.setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class ReadingPanel(QFrame):
    """Under the pad, always there (so the pad never changes size): the typeset reading and its result, the
    copy buttons, one button per symbol, and the alternatives or the reason there is no result."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("readingPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        row = QHBoxLayout()
        big = QFont("serif")
        big.setPointSizeF(self.font().pointSizeF() * 1.7)
        self.text_label = QLabel(self)
        self.text_label.setObjectName("readingText")
        self.text_label.setFont(big)
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setMinimumHeight(QFontMetrics(big).height())
        bold = QFont(big)
        bold.setBold(True)
        small_bold = QFont(bold)
        small_bold.setPointSizeF(self.font().pointSizeF() * 1.15)
        self.result_label = FittedLabel([bold, small_bold], self)
        self.result_label.setObjectName("readingResult")
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.text_label)
        row.addSpacing(12)
        row.addWidget(self.result_label, 1)
        self.copy_text = QPushButton("Copy as Text", self)
        self.copy_latex = QPushButton("Copy as LaTeX", self)
        self.copy_result = QPushButton("Copy Result", self)
        # In a narrow window the three buttons would be squashed into unreadable slivers: one Copy menu instead.
        self.copy_menu = QToolButton(self)
        self.copy_menu.setText("Copy")
        self.copy_menu.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.copy_menu.setMenu(QMenu(self.copy_menu))
        self.copy_menu.hide()
        for copy in (self.copy_text, self.copy_latex, self.copy_result, self.copy_menu):
            copy.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the pad
            row.addWidget(copy)
        layout.addLayout(row)
        chips = QWidget(self)
        chips.setFixedHeight(QToolButton().sizeHint().height())
        self.symbol_row = QHBoxLayout(chips)
        self.symbol_row.setContentsMargins(0, 0, 0, 0)
        self.symbol_row.setSpacing(2)
        self.symbol_row.addStretch(1)
        layout.addWidget(chips)
        self.note_label = QLabel(self)
        self.note_label.setObjectName("readingNote")
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        # Room for a reason that wraps once and the alternatives under it; in a narrower window the tooltip
        # holds all of it.
        self.note_label.setFixedHeight(NOTE_LINES * self.fontMetrics().lineSpacing() + 2)
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.note_label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.symbol_buttons: list[QToolButton] = []
        self.show_reading(None)

    def minimumSizeHint(self) -> QSize:
        """Nothing: in a very small window the pad keeps its room and this panel is cut off instead."""
        return QSize(0, 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        buttons = (self.copy_text, self.copy_latex, self.copy_result)
        wide = event.size().width() >= sum(b.sizeHint().width() for b in buttons) + COPY_ROOM
        for b in buttons:
            b.setVisible(wide)
        self.copy_menu.setVisible(not wide)

    def show_reading(self, reading: Reading | None, symbols: dict | None = None) -> None:
        """Show a line's reading, or (None) how to write one; ``symbols`` prints taught classes (a model card's
        ``{label: {"symbol", "latex"}}``)."""
        for b in self.symbol_buttons:  # out of the row at once; deleted when control is back in the event loop
            self.symbol_row.removeWidget(b)
            b.hide()
            b.deleteLater()
        self.symbol_buttons = []
        if reading is None:
            self.text_label.setText("")
            self.result_label.set_full_text("")
            self.note_label.setText(PLACEHOLDER)
            self.note_label.setToolTip("")
            for copy in (self.copy_text, self.copy_latex, self.copy_result, self.copy_menu):
                copy.setEnabled(False)
            return
        self.text_label.setText(typeset_html(reading) if reading.text else "")
        self.result_label.set_full_text(f"→ {reading.result}" if reading.result is not None else "")
        for i, s in enumerate(reading.symbols):
            button = QToolButton(self)
            button.setObjectName(f"readingSymbol{i}")
            button.setText(symbol(s.label, symbols))
            button.setToolTip(f"The {ordinal(i + 1)} symbol: click to correct it\n{top_text(s.top, symbols)}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumWidth(26)
            self.symbol_row.insertWidget(i, button)
            self.symbol_buttons.append(button)
        notes = []
        if reading.error:
            notes.append(reading.error)
        if reading.alternatives:
            notes.append(
                "Or: " + ", ".join(f"{a.text} ({a.probability * 100:.0f} % as likely)" for a in reading.alternatives)
            )
        self.note_label.setText("\n".join(notes) or "Click a symbol above (or right-click its box) to correct it.")
        self.note_label.setToolTip(self.note_label.text())
        self.copy_result.setEnabled(reading.result is not None)
        self.copy_text.setEnabled(bool(reading.text))
        self.copy_latex.setEnabled(bool(reading.text))
        self.copy_menu.setEnabled(bool(reading.text))


class LineReader(QObject):
    """Connects a MainWindow's recognition to the reading panel, the pad's symbol boxes, copying and
    corrections. ``reading`` is the line shown (None when the pad holds one symbol or nothing)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = window.canvas
        self.panel = ReadingPanel()
        self.reading: Reading | None = None
        self._pins: dict[tuple[int, ...], str] = {}  # a symbol's strokes -> the label the user gave it
        self._note = ""  # what the palette said about the label just chosen ("+ is the symbol + (add) already.")
        self.act_copy_text = self._action("Copy Reading as &Text", COPY_TEXT_KEY, self.copy_text)
        self.act_copy_latex = self._action("Copy Reading as &LaTeX", COPY_LATEX_KEY, self.copy_latex)
        self.act_copy_result = self._action("Copy &Result", COPY_RESULT_KEY, self.copy_result)
        self.panel.copy_text.clicked.connect(self.act_copy_text.trigger)
        self.panel.copy_latex.clicked.connect(self.act_copy_latex.trigger)
        self.panel.copy_result.clicked.connect(self.act_copy_result.trigger)
        self.panel.copy_menu.menu().addActions([self.act_copy_text, self.act_copy_latex, self.act_copy_result])
        window.predictionShown.connect(self._on_prediction)
        self.canvas.strokesChanged.connect(self._on_strokes_changed)
        self.canvas.symbolMenuRequested.connect(self.correct_symbol)
        self._update_actions()

    def pad_area(self) -> QWidget:
        """The pad with the reading panel under it (for the window's splitter)."""
        area = QWidget()
        area.setObjectName("padArea")
        layout = QVBoxLayout(area)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.panel)
        return area

    def actions(self) -> list[QAction]:
        return [self.act_copy_text, self.act_copy_latex, self.act_copy_result]

    def _action(self, text: str, key: str, slot) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(key)
        action.setToolTip(f"{text.replace('&', '')} ({key})")
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    # -- showing ----------------------------------------------------------------------------------------

    def _on_prediction(self, prediction) -> None:
        reading = getattr(prediction, "reading", None)
        if reading is None:
            self.clear()
            return
        live = {parts for parts in reading.parts}
        self._pins = {parts: label for parts, label in self._pins.items() if parts in live}
        self.show(self._pinned(reading))

    def _on_strokes_changed(self) -> None:
        if self.canvas.is_empty():
            self._pins.clear()
            self.clear()

    def _pinned(self, reading: Reading) -> Reading:
        if reading.probabilities is None or not any(p in self._pins for p in reading.parts):
            return reading
        return self._redecoded(reading)

    @property
    def symbols(self) -> dict:
        """How taught classes print: the active card's and the samples folder's symbols (kept by Corrections)."""
        return self.window.panel.list.symbols

    def show(self, reading: Reading) -> None:
        self.reading = reading
        # A typed symbol key would label the whole line as one sample: while a line is shown this filter,
        # installed last and so asked first, takes those keys; the single-symbol correction bar is hidden.
        self.window.installEventFilter(self)
        self._show_correction_bar(False)
        self.panel.show_reading(reading, self.symbols)
        for i, button in enumerate(self.panel.symbol_buttons):
            button.clicked.connect(
                lambda checked=False, index=i, b=button: self.correct_symbol(
                    index, b.mapToGlobal(QPoint(0, b.height()))
                )
            )
        self.canvas.set_symbol_boxes([(QRectF(*s.box), top_text(s.top, self.symbols)) for s in reading.symbols])
        self._update_actions()

    def clear(self) -> None:
        if self.reading is None:
            return
        self.reading = None
        self.window.removeEventFilter(self)
        self._show_correction_bar(True)
        self.panel.show_reading(None)
        self.canvas.set_symbol_boxes([])
        self._update_actions()

    def _show_correction_bar(self, visible: bool) -> None:
        corrections = getattr(self.window, "corrections", None)
        if corrections is not None:
            corrections.bar.setVisible(visible)

    def eventFilter(self, watched, event) -> bool:
        if self.reading is not None and event.type() == QEvent.Type.KeyPress:
            modifiers = event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
            )
            corrections = getattr(self.window, "corrections", None)
            keyed = corrections.key_label(event.text()) if corrections is not None else KEYS.get(event.text())
            if not modifiers and keyed is not None:
                self.window.statusBar().showMessage(
                    "This is a line: click one of its symbols under the pad (or right-click its box) to correct it.",
                    8000,
                )
                return True
        return super().eventFilter(watched, event)

    def _update_actions(self) -> None:
        r = self.reading
        self.act_copy_text.setEnabled(r is not None and bool(r.text))
        self.act_copy_latex.setEnabled(r is not None and bool(r.text))
        self.act_copy_result.setEnabled(r is not None and r.result is not None)

    # -- copying ----------------------------------------------------------------------------------------

    def _copy(self, text: str, what: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.window.statusBar().showMessage(f"Copied {what}: {text}", 5000)

    def copy_text(self) -> None:
        if self.reading is not None and self.reading.text:
            self._copy(self.reading.text, "the reading")

    def copy_latex(self) -> None:
        if self.reading is not None and self.reading.text:
            self._copy(self.reading.latex, "the reading as LaTeX")

    def copy_result(self) -> None:
        if self.reading is not None and self.reading.result is not None:
            self._copy(self.reading.result, "the result")

    # -- correcting -------------------------------------------------------------------------------------

    def correct_symbol(self, index: int, where: QPoint) -> None:
        """A menu of the symbol's top-k and every other symbol; the choice pins it."""
        if self.reading is None or not 0 <= index < len(self.reading.symbols):
            return
        self._note = ""
        label = self.choose_label(index, where)
        if label:
            self.pin(index, label)

    def choose_label(self, index: int, where: QPoint) -> str:
        """Ask which symbol this is (tests replace this method)."""
        reading = self.reading
        assert reading is not None  # correct_symbol checked it
        s = reading.symbols[index]
        menu = QMenu(self.window)
        for name, p in s.top:
            menu.addAction(f"{named(name, self.symbols)}   {p * 100:.1f} %").setData(name)
        menu.addSeparator()
        menu.addAction("Other Symbol…").setData("")
        chosen = menu.exec(where)
        if chosen is None:
            return ""
        name = chosen.data()
        if name:
            return name
        corrections = getattr(self.window, "corrections", None)
        counts = corrections.counts() if corrections is not None else {}
        palette = SymbolPalette(list(reading.labels), counts, self.symbols, self.window)
        if palette.exec() != QDialog.DialogCode.Accepted:
            return ""
        self._note = palette.note
        return palette.chosen

    def _redecoded(self, reading: Reading) -> Reading:
        """The line decoded again from the model's probabilities with the pins that still hold."""
        assert reading.probabilities is not None  # only readings with probabilities are pinned
        fixed = {i: self._pins[p] for i, p in enumerate(reading.parts) if p in self._pins}
        return redecode(
            reading.probabilities,
            reading.labels,
            reading.geometry,
            [s.box for s in reading.symbols],
            k=len(reading.symbols[0].top),
            fixed=fixed or None,
            parts=reading.parts,
            known_tokens=reading.tokens,
        )

    def pin(self, index: int, label: str) -> None:
        """Fix symbol ``index`` to ``label``, decode the line again, and keep the symbol as a sample."""
        reading = self.reading
        if reading is None or reading.probabilities is None or label not in reading.labels:
            self.window.statusBar().showMessage(f"The active model has no class {label}.", 5000)
            return
        if index >= len(reading.parts):
            return
        self._pins[reading.parts[index]] = label
        self.show(self._redecoded(reading))
        self._save_sample(reading, index, label)

    def _symbol_sample(self, drawing: Drawing, parts: tuple[int, ...]) -> tuple[Subject, list[dict] | None, np.ndarray]:
        """What a line's symbol is saved as: its strokes and their raster, or (a photo, or ink with eraser
        marks) the crop of its ink components that the model saw, as an image sample."""
        subject = self._subject_of(drawing, parts)
        raster = line_raster(drawing)
        if raster is None:
            alone = Drawing(drawing.width, drawing.height, subject.strokes, drawing.paper)
            return subject, stroke_records(alone), sample_raster(alone)
        crop_of = segment_image(raster).crop_of
        assert crop_of is not None  # an image segmentation always crops
        crop = crop_of(list(parts))  # the same components the reading was made of
        return subject, None, to_model_input(crop, "ink", RASTER_SIZE)

    def _save_sample(self, reading: Reading, index: int, label: str) -> None:
        """The corrected symbol becomes a sample through the corrections history (relabelled when corrected
        again, removed by Undo), as a single-symbol correction does."""
        corrections = getattr(self.window, "corrections", None)
        if corrections is None:
            return
        note = f"{self._note} " if self._note else ""
        self._note = ""
        try:
            subject, strokes, raster = self._symbol_sample(self.canvas.snapshot(), reading.parts[index])
            before = corrections.record(
                label,
                subject,
                strokes,
                raster,
                {
                    "model": self.window.model.name if self.window.model is not None else "",
                    "predicted": reading.symbols[index].top[0][0],
                    "line": reading.text,
                },
            )
        except (MathSymError, IndexError) as exc:  # IndexError: the pad changed under a stale reading
            self.window.statusBar().showMessage(
                f"{note}The {ordinal(index + 1)} symbol is now {symbol(label, self.symbols)}, but it was not saved as "
                f"a sample: {exc}",
                10000,
            )
            return
        instead = f" (instead of {symbol(before, self.symbols)})" if before else ""
        self.window.statusBar().showMessage(
            f"{note}The {ordinal(index + 1)} symbol is now {symbol(label, self.symbols)}; saved as a sample{instead}. "
            "Undo removes it.",
            10000,
        )

    def on_correction_undone(self, correction: Correction) -> None:
        """Undo removed a sample: a line symbol it was saved for is no longer pinned."""
        reading = self.reading
        if reading is None or reading.probabilities is None:
            return
        drawing = self.canvas.snapshot()
        subject = correction.subject
        dropped = [p for p in self._pins if p in reading.parts and self._subject_of(drawing, p).same(subject)]
        if dropped:
            for p in dropped:
                del self._pins[p]
            self.show(self._redecoded(reading))

    def _subject_of(self, drawing: Drawing, parts: tuple[int, ...]) -> Subject:
        """A line symbol as a correction's subject: its strokes, else the raster's components that make it."""
        if read_as_strokes(drawing):
            return Subject(tuple(drawing.strokes[i] for i in parts))
        return Subject(drawing.strokes, drawing.image, parts)
