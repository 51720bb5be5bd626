"""Corrections: the user says what a drawing really is, and it becomes a labelled sample for ``adapt``.

Three ways to say it: click a row of the top five, pick from the palette of every symbol (or name a new
one), or type the symbol's key (``0-9 + - * / = . x y z``). The drawing (strokes as JSON, the 224 px ink
raster as PNG) goes into the personal samples folder through :mod:`trainer.data.samples`; correcting the same
drawing again relabels it, and Undo right after a correction removes the sample's files. A symbol of a written
line (:mod:`.reading`) is saved through the same history, so relabelling and Undo work the same for it.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from trainer.data.preprocess import to_model_input
from trainer.data.samples import (
    RASTER_SIZE,
    SampleError,
    SavedSample,
    count_samples,
    read_symbol_file,
    remove_sample,
    save_sample,
    validate_label,
)
from trainer.errors import EmptyImageError, MathSymError
from trainer.labels import CLASS_NAMES, KEYS, latex, symbol

from . import dialogs
from .drawing import Drawing, Stroke, render

PALETTE_COLUMNS = 6


def ask_new_symbol(parent: QWidget | None) -> str:
    """The name of a new class typed by the user ("" when cancelled); tests replace this function."""
    text, ok = QInputDialog.getText(parent, "New Symbol", "Name of the new symbol (its folder name, e.g. ( or sqrt):")
    return text if ok else ""


def sample_raster(drawing: Drawing) -> np.ndarray:
    """The 224 px raster the pad's model sees for a drawing (the canvas render, then the ink preprocessing)."""
    return to_model_input(render(drawing), "ink", RASTER_SIZE)


def has_visible_ink(drawing: Drawing) -> bool:
    """Whether the drawing shows anything to save: an image, or ink that the eraser has not wiped out."""
    if drawing.is_empty:
        return False
    if drawing.image is not None or not any(s.eraser for s in drawing.strokes):
        return True
    try:
        sample_raster(drawing)
    except EmptyImageError:
        return False
    return True


def named(label: str, symbols: dict | None = None) -> str:
    """A class as a person reads it: its symbol, and its folder name when that differs (``+ (add)``, ``7``)."""
    shown = symbol(label, symbols)
    return shown if shown == label else f"{shown} ({label})"


def counted(label: str, n: int, symbols: dict | None = None) -> str:
    """``3: 1`` — a class and its sample count, never run together into one number."""
    return f"{symbol(label, symbols)}: {n}"


def existing_class(name: str, labels: Iterable[str], symbols: dict | None = None) -> str | None:
    """The known class a typed "new" symbol already is, by folder name, character, LaTeX or correction key
    (``+``, ``add``, ``\\div``, ``-``); None when it is really new."""
    wanted = unicodedata.normalize("NFKC", name.strip())
    labels = list(labels)
    for label in labels:
        if wanted in (label, symbol(label, symbols), latex(label, symbols)):
            return label
    keyed = KEYS.get(wanted)
    return keyed if keyed in labels else None


def stroke_records(drawing: Drawing) -> list[dict] | None:
    """The strokes as JSON-ready dicts; None for an opened image without strokes."""
    if drawing.image is not None and not drawing.strokes:
        return None
    return [{**asdict(s), "points": [list(p) for p in s.points]} for s in drawing.strokes]


class SymbolPalette(QDialog):
    """A grid of every known symbol with its sample count; a click chooses it, "New Symbol…" names one."""

    def __init__(self, labels: list[str], counts: dict[str, int], symbols: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("symbolPalette")
        self.setWindowTitle("Save Drawing As…")
        self.chosen = ""
        self.note = ""  # set when a "new" symbol turned out to be a known one
        self._labels, self._symbols = list(labels), symbols
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What is this symbol? It is saved as one of your samples."))
        grid = QGridLayout()
        self.buttons: dict[str, QToolButton] = {}
        for i, label in enumerate(labels):
            button = QToolButton(self)
            button.setObjectName(f"palette-{label}")
            button.setText(f"{symbol(label, symbols)}\n{counts.get(label, 0)} saved")
            button.setToolTip(f"{named(label, symbols)}: {counts.get(label, 0)} sample(s) saved")
            button.setMinimumSize(48, 48)
            button.clicked.connect(lambda checked=False, name=label: self._choose(name))
            grid.addWidget(button, i // PALETTE_COLUMNS, i % PALETTE_COLUMNS)
            self.buttons[label] = button
        layout.addLayout(grid)
        row = QHBoxLayout()
        self.new_button = QPushButton("New Symbol…", self)
        self.new_button.clicked.connect(self._new)
        cancel = QPushButton("Cancel", self)
        cancel.clicked.connect(self.reject)
        row.addWidget(self.new_button)
        row.addStretch(1)
        row.addWidget(cancel)
        layout.addLayout(row)

    def _choose(self, label: str) -> None:
        self.chosen = label
        self.accept()

    def _new(self) -> None:
        name = ask_new_symbol(self).strip()
        if not name:
            return
        known = existing_class(name, self._labels, self._symbols)
        if known is not None:  # "+" is the built-in add: a second "+" class would split its samples
            if name != known:
                self.note = f"{name} is the symbol {named(known, self._symbols)} already."
            self._choose(known)
            return
        try:
            self._choose(validate_label(name))
        except SampleError as exc:
            dialogs.error(self, "New Symbol", str(exc))


@dataclass(frozen=True, eq=False)
class Subject:
    """What a correction labelled: a whole drawing (its strokes and image), or one symbol of a written line (its
    strokes, or the ink components ``parts`` of the raster the line was read from). The same subject labelled
    again relabels its sample instead of saving a second one."""

    strokes: tuple[Stroke, ...]
    image: np.ndarray | None = field(default=None, repr=False)
    parts: tuple[int, ...] = ()

    def same(self, other: Subject) -> bool:
        return self.strokes == other.strokes and self.image is other.image and self.parts == other.parts


@dataclass(frozen=True)
class Correction:
    """One saved correction: its sample, what it labelled, and the pad when it was made (Undo removes the
    sample while the pad still shows that)."""

    saved: SavedSample
    subject: Subject
    drawing: Drawing


class CorrectionBar(QWidget):
    """Below the predictions: how to correct, the palette button and the samples held per class."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("correctionBar")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        row = QHBoxLayout()
        hint = QLabel("Wrong? Click the right answer, type its key, or", self)
        hint.setWordWrap(True)
        self.pick_button = QPushButton("Pick Symbol…", self)
        self.pick_button.setObjectName("pickSymbolButton")
        row.addWidget(hint, 1)
        row.addWidget(self.pick_button)
        layout.addLayout(row)
        self.counts_label = QLabel(self)
        self.counts_label.setObjectName("samplesLabel")
        self.counts_label.setWordWrap(True)
        self.counts_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.counts_label)

    def show_counts(self, counts: dict[str, int], symbols: dict, folder: Path) -> None:
        if not counts:
            self.counts_label.setText("Your samples: none yet.")
        else:
            parts = ", ".join(counted(c, n, symbols) for c, n in counts.items())
            self.counts_label.setText(f"Your samples ({sum(counts.values())}): {parts}")
        self.counts_label.setToolTip(str(folder))


class Corrections(QObject):
    """Saves corrected drawings as samples; owns the samples folder, the corrections history and the correction keys.

    ``window`` is the MainWindow (its canvas, status bar and active model are used). Typed keys reach
    :meth:`eventFilter` when no focused widget took them (a spin box keeps its digits); Ctrl/Alt/Meta
    combinations are never corrections, so no shortcut changes meaning. Every correction, of a whole drawing
    or of one symbol of a line, goes through :meth:`record`, so Undo and Remove Last Sample reach all of them.
    """

    saved = Signal(object)  # SavedSample
    undone = Signal(object)  # the Correction whose sample Undo removed
    historyChanged = Signal()
    countsChanged = Signal(dict)

    def __init__(self, window, folder: str | os.PathLike) -> None:
        super().__init__(window)
        self.window = window
        self.folder = Path(folder)
        self.bar = CorrectionBar()
        self.bar.pick_button.clicked.connect(self.pick)
        self._history: list[Correction] = []
        window.installEventFilter(self)
        self.refresh()

    # -- state ----------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return count_samples(self.folder)

    def symbols(self) -> dict:
        """Symbols for class names: the active model card's, then symbol.txt files of the samples folder."""
        model = self.window.model
        known = dict(model.card.dataset.get("symbols", {})) if model is not None else {}
        for name in self.counts():
            if name not in known:
                try:
                    found = read_symbol_file(self.folder / name)
                except SampleError:
                    found = None
                if found:
                    known[name] = found
        return known

    def labels(self) -> list[str]:
        """Every class one can correct to: the active model's, the built-in ones and the samples folder's."""
        model_labels = list(self.window.model.labels) if self.window.model is not None else []
        extra = [c for c in (*CLASS_NAMES, *self.counts()) if c not in model_labels]
        return model_labels + list(dict.fromkeys(extra))

    def key_label(self, text: str) -> str | None:
        """The class a typed character names: a correction key (``+``, ``7``), or the symbol of a class taught
        from samples (``(``); None for any other key."""
        if text in KEYS:
            return KEYS[text]
        if not text or not text.isprintable() or text.isspace():
            return None
        symbols = self.symbols()
        return next((c for c in self.labels() if c not in CLASS_NAMES and symbol(c, symbols) == text), None)

    def set_folder(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self._history.clear()
        self.refresh()
        self.historyChanged.emit()

    def refresh(self) -> None:
        """Show the counts, and name taught classes in the predictions (after a correction or a model load)."""
        counts, symbols = self.counts(), self.symbols()
        self.bar.show_counts(counts, symbols, self.folder)
        self.window.panel.list.symbols = symbols
        self.countsChanged.emit(counts)

    def _same_drawing(self, a: Drawing, b: Drawing) -> bool:
        return a.strokes == b.strokes and a.image is b.image

    def can_undo_here(self) -> bool:
        """Whether the last correction was of the drawing now on the pad (Undo then removes the sample)."""
        return bool(self._history) and self._same_drawing(self._history[-1].drawing, self.window.canvas.snapshot())

    def can_remove(self) -> bool:
        """Whether there is a sample saved in this session that Remove Last Sample can delete."""
        return bool(self._history)

    # -- actions --------------------------------------------------------------------------------------

    def record(self, label: str, subject: Subject, strokes: list[dict] | None, raster: np.ndarray, meta: dict) -> str:
        """Save a sample of ``subject`` as ``label`` and put it on the history; an earlier sample of the same
        subject is removed (it was mislabelled). Returns the earlier label ("" when there was none); raises
        MathSymError when the sample cannot be saved (nothing is changed then)."""
        saved = save_sample(strokes, raster, label, self.folder, meta)
        earlier = next((c for c in reversed(self._history) if c.subject.same(subject)), None)
        if earlier is not None:
            self._history.remove(earlier)
            try:
                remove_sample(earlier.saved)
            except SampleError as exc:
                dialogs.error(self.window, "Cannot Remove Sample", str(exc))
        self._history.append(Correction(saved, subject, self.window.canvas.snapshot()))
        self.refresh()
        self.saved.emit(saved)
        self.historyChanged.emit()
        return earlier.saved.label if earlier is not None and earlier.saved.label != label else ""

    def correct(self, label: str, note: str = "") -> SavedSample | None:
        """Save the drawing on the pad as a sample of ``label`` (relabelling it if it was saved already)."""
        window = self.window
        drawing = window.canvas.snapshot()
        if window.canvas.is_drawing or not has_visible_ink(drawing):
            window.statusBar().showMessage("Draw a symbol (or open an image) first, then say what it is.", 5000)
            return None
        try:
            validate_label(label)
            meta = {
                "model": window.model.name if window.model is not None else "",
                "predicted": (
                    window.last_prediction.top[0][0]
                    if window.last_prediction is not None and window.last_prediction.top
                    else ""
                ),
            }
            before = self.record(
                label, Subject(drawing.strokes, drawing.image), stroke_records(drawing), sample_raster(drawing), meta
            )
        except MathSymError as exc:
            dialogs.error(window, "Cannot Save Sample", str(exc))
            return None
        symbols = self.symbols()
        relabelled = f" (instead of {symbol(before, symbols)})" if before else ""
        n = self.counts().get(label, 0)
        window.statusBar().showMessage(
            f"{note + ' ' if note else ''}Saved as a sample of {symbol(label, symbols)}{relabelled}: "
            f"{n} sample(s) of it. Undo removes it.",
            10000,
        )
        return self._history[-1].saved

    def undo(self) -> bool:
        """Remove the last saved sample's files; False when there is none."""
        if not self._history:
            self.window.statusBar().showMessage("No sample saved in this session is left to remove.", 5000)
            return False
        correction = self._history.pop()
        try:
            remove_sample(correction.saved)
        except SampleError as exc:
            self._history.append(correction)
            dialogs.error(self.window, "Cannot Remove Sample", str(exc))
            return False
        self.refresh()
        self.historyChanged.emit()
        self.window.statusBar().showMessage(
            f"Removed the sample of {symbol(correction.saved.label, self.symbols())}.", 5000
        )
        self.undone.emit(correction)
        return True

    def pick(self) -> SavedSample | None:
        """Show the palette; save the drawing as the chosen class."""
        if not has_visible_ink(self.window.canvas.snapshot()):
            self.window.statusBar().showMessage("Draw a symbol (or open an image) first, then say what it is.", 5000)
            return None
        palette = SymbolPalette(self.labels(), self.counts(), self.symbols(), self.window)
        if palette.exec() != QDialog.DialogCode.Accepted or not palette.chosen:
            return None
        return self.correct(palette.chosen, palette.note)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.WindowActivate and watched is self.window:
            self.refresh()  # back from the file manager: samples may have been added or removed by hand
        if event.type() == QEvent.Type.KeyPress and not event.isAutoRepeat():
            modifiers = event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
            )
            label = self.key_label(event.text()) if not modifiers else None
            # Nothing to label (an empty pad, or one whose ink is all erased): the key does nothing.
            if label is not None and has_visible_ink(self.window.canvas.snapshot()):
                self.correct(label)
                return True
        return super().eventFilter(watched, event)
