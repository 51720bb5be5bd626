"""Corrections: the user says what a drawing really is, and it becomes a labelled sample for ``adapt``.

Three ways to say it: click a row of the top five, pick from the palette of every symbol (or name a new
one), or type the symbol's key (``0-9 + - * / = . x y z``). The drawing (strokes as JSON, the 224 px ink
raster as PNG) goes into the personal samples folder through :mod:`trainer.data.samples`; correcting the same
drawing again relabels it, and Undo right after a correction removes the sample's files.
"""

from __future__ import annotations

import os
from dataclasses import asdict
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
from trainer.errors import MathSymError
from trainer.labels import CLASS_NAMES, KEYS, symbol

from . import dialogs
from .drawing import Drawing, render

PALETTE_COLUMNS = 6


def ask_new_symbol(parent: QWidget | None) -> str:
    """The name of a new class typed by the user ("" when cancelled); tests replace this function."""
    text, ok = QInputDialog.getText(parent, "New Symbol", "Name of the new symbol (its folder name, e.g. ( or sqrt):")
    return text if ok else ""


def sample_raster(drawing: Drawing) -> np.ndarray:
    """The 224 px raster the pad's model sees for a drawing (the canvas render, then the ink preprocessing)."""
    return to_model_input(render(drawing), "ink", RASTER_SIZE)


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
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What is this symbol? It is saved as one of your samples."))
        grid = QGridLayout()
        self.buttons: dict[str, QToolButton] = {}
        for i, label in enumerate(labels):
            button = QToolButton(self)
            button.setObjectName(f"palette-{label}")
            button.setText(f"{symbol(label, symbols)}\n{counts.get(label, 0)}")
            button.setToolTip(f"{label}: {counts.get(label, 0)} sample(s)")
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
        try:
            self._choose(validate_label(name))
        except SampleError as exc:
            dialogs.error(self, "New Symbol", str(exc))


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
            parts = ", ".join(f"{symbol(c, symbols)} {n}" for c, n in counts.items())
            self.counts_label.setText(f"Your samples ({sum(counts.values())}): {parts}")
        self.counts_label.setToolTip(str(folder))


class Corrections(QObject):
    """Saves corrected drawings as samples; owns the samples folder, the undo list and the correction keys.

    ``window`` is the MainWindow (its canvas, status bar and active model are used). Typed keys reach
    :meth:`eventFilter` when no focused widget took them (a spin box keeps its digits); Ctrl/Alt/Meta
    combinations are never corrections, so no shortcut changes meaning.
    """

    saved = Signal(object)  # SavedSample
    countsChanged = Signal(dict)

    def __init__(self, window, folder: str | os.PathLike) -> None:
        super().__init__(window)
        self.window = window
        self.folder = Path(folder)
        self.bar = CorrectionBar()
        self.bar.pick_button.clicked.connect(self.pick)
        self._history: list[tuple[SavedSample, Drawing]] = []
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

    def set_folder(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self._history.clear()
        self.refresh()

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
        return bool(self._history) and self._same_drawing(self._history[-1][1], self.window.canvas.snapshot())

    # -- actions --------------------------------------------------------------------------------------

    def correct(self, label: str) -> SavedSample | None:
        """Save the drawing on the pad as a sample of ``label`` (relabelling it if it was just saved)."""
        window = self.window
        drawing = window.canvas.snapshot()
        if window.canvas.is_drawing or drawing.is_empty:
            window.statusBar().showMessage("Draw a symbol (or open an image) first, then say what it is.", 5000)
            return None
        try:
            validate_label(label)
            raster = sample_raster(drawing)
            meta = {
                "model": window.model.name if window.model is not None else "",
                "predicted": (
                    window.last_prediction.top[0][0]
                    if window.last_prediction is not None and window.last_prediction.top
                    else ""
                ),
            }
            saved = save_sample(stroke_records(drawing), raster, label, self.folder, meta)
        except MathSymError as exc:
            dialogs.error(window, "Cannot Save Sample", str(exc))
            return None
        relabelled = ""
        if self.can_undo_here():  # the same drawing again: it was mislabelled, keep only the new label
            old, _ = self._history.pop()
            try:
                remove_sample(old)
                relabelled = f" (instead of {symbol(old.label, self.symbols())})"
            except SampleError as exc:
                dialogs.error(window, "Cannot Remove Sample", str(exc))
        self._history.append((saved, drawing))
        self.refresh()
        n = self.counts().get(label, 0)
        window.statusBar().showMessage(
            f"Saved as a sample of {symbol(label, self.symbols())}{relabelled}: {n} sample(s) of it. Undo removes it.",
            10000,
        )
        self.saved.emit(saved)
        return saved

    def undo(self) -> bool:
        """Remove the last saved sample's files; False when there is none."""
        if not self._history:
            return False
        saved, _ = self._history.pop()
        try:
            remove_sample(saved)
        except SampleError as exc:
            dialogs.error(self.window, "Cannot Remove Sample", str(exc))
            return False
        self.refresh()
        self.window.statusBar().showMessage(f"Removed the sample of {symbol(saved.label, self.symbols())}.", 5000)
        return True

    def pick(self) -> SavedSample | None:
        """Show the palette; save the drawing as the chosen class."""
        if self.window.canvas.snapshot().is_empty:
            self.window.statusBar().showMessage("Draw a symbol (or open an image) first, then say what it is.", 5000)
            return None
        palette = SymbolPalette(self.labels(), self.counts(), self.symbols(), self.window)
        if palette.exec() != QDialog.DialogCode.Accepted or not palette.chosen:
            return None
        return self.correct(palette.chosen)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.KeyPress and not event.isAutoRepeat():
            modifiers = event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
            )
            label = KEYS.get(event.text()) if not modifiers else None
            if label is not None and not self.window.canvas.snapshot().is_empty:
                self.correct(label)
                return True
        return super().eventFilter(watched, event)
