"""The main window: canvas + live predictions, menus, toolbar, status bar, model and job handling."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QColor, QDesktopServices, QGuiApplication, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QColorDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStyle,
    QToolButton,
)

import trainer
from trainer.architectures import Job
from trainer.data.imageio import IMAGE_SUFFIXES, read_image
from trainer.data.samples import count_samples
from trainer.errors import MathSymError
from trainer.labels import printable
from trainer.paths import DEFAULT_MODEL_NAME, samples_dir, shipped_default, unwritable
from trainer.paths import models_dir as user_models_dir

from . import dialogs
from .canvas import Canvas
from .corrections import Corrections
from .drawing import qimage_to_array
from .icons import edit_icon
from .inference import Prediction, Recognizer
from .jobs import TRAINER_CLI, JobResult, describe_done
from .model_files import MODEL_FILTER, find_model
from .predictions import PredictionPanel
from .reading import HINT_LINE, LineReader
from .settings import AppSettings
from .switch_question import ask_switch
from .train_dialog import JOBS, FolderField, JobDialog
from .twin import TwinMaker

if TYPE_CHECKING:  # for the annotation only: the recognizer thread imports modelio when it loads a model
    from trainer.serving.modelio import LoadedModel

APP_NAME = "MathSym"
#: While the pen moves, classify at most this often (ms).
LIVE_INTERVAL_MS = 100
#: Models slower than this per prediction (s) classify on pen-up only: a while-drawing request still in
#: flight at pen-up would delay the answer the user waits for by up to one more forward pass.
LIVE_MAX_PREDICT_S = 0.05
#: Opened images larger than this (longer side, px) are reduced for display and recognition.
MAX_IMAGE_SIDE = 2048
SWATCHES = ("#000000", "#1f4fd1", "#c62828", "#2e7d32", "#ef6c00")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;All files (*)"
HINT_EMPTY = "Draw a symbol on the pad (or open, paste or drop an image) to see what it is recognised as."
HINT_LOADING = "Loading model {name}… You can draw meanwhile: the drawing is recognised as soon as it is ready."
HINT_NO_MODEL = "No model is loaded yet. Open a model (.keras, or a notebook .h5) or train one; you can draw meanwhile."


def _desktop_open(url: QUrl) -> bool:
    """Open a file or folder with the desktop (not on the offscreen platform used by tests)."""
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        return False
    return QDesktopServices.openUrl(url)


def colour_icon(colour: str, size: int = 16) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(colour))
    return QIcon(pix)


class MainWindow(QMainWindow):
    """The drawing pad. Arguments make it testable: settings file, models folder, CLI argv, URL opener."""

    predictionShown = Signal(object)  # Prediction, after the panel shows it
    modelChanged = Signal(str)  # path of the model now recognising

    def __init__(
        self,
        settings: AppSettings | None = None,
        models_dir: str | os.PathLike | None = None,
        model_path: str | os.PathLike | None = None,
        cli: list[str] | None = None,
        open_url: Callable[[QUrl], object] | None = None,
        autoload: bool = True,
        default_model: str | os.PathLike | None = None,
        samples: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = settings or AppSettings()
        # Trained models go to the user's folder; the default model is the shipped one unless a folder is given.
        self.models_dir = Path(models_dir) if models_dir is not None else user_models_dir()
        self.default_model = (
            Path(default_model)
            if default_model
            else (shipped_default() if models_dir is None else self.models_dir / DEFAULT_MODEL_NAME)
        )
        self.cli = list(cli or TRAINER_CLI)
        self.open_url = open_url or _desktop_open
        self.model: LoadedModel | None = None  # the model in use
        self._pending: tuple[int, str, bool] | None = None  # (ticket, path, remember) of a model loading
        self._floor = 0  # results of requests before this id are stale
        self._predict_seconds = 0.0  # the active model's last forward-pass time
        self._shown_id = 0
        self._awaited_id = 0  # the newest request whose answer the panel has yet to show
        self.last_prediction: Prediction | None = None
        self._failed_models: set[Path] = set()  # models that could not be loaded (never fallen back to)
        self.jobs: dict[str, JobDialog] = {}
        self.setAcceptDrops(True)
        icon = Path(__file__).parent / "resources" / "icon.png"
        if icon.is_file():
            self.setWindowIcon(QIcon(str(icon)))

        self.canvas = Canvas(self)
        self.panel = PredictionPanel(self)
        splitter = QSplitter(self)
        splitter.setObjectName("splitter")
        self.line_reader = LineReader(self)
        splitter.addWidget(self.line_reader.pad_area())
        # The panel scrolls in a short window instead of forcing the window taller or overlapping itself.
        panel_area = QScrollArea(self)
        panel_area.setObjectName("panelArea")
        panel_area.setWidget(self.panel)
        panel_area.setWidgetResizable(True)
        panel_area.setFrameShape(QFrame.Shape.NoFrame)
        panel_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel_area.setMinimumWidth(
            self.panel.minimumWidth() + self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        )
        splitter.addWidget(panel_area)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)
        # Corrections go to --samples, else the folder chosen in Samples → Use Another Samples Folder…, else
        # the user's.
        self.corrections = Corrections(self, samples or self.settings.get("samples/folder", "", str) or samples_dir())
        self.panel.add_section(self.corrections.bar)
        self.panel.list.labelClicked.connect(self.corrections.correct)
        self.corrections.historyChanged.connect(self._update_actions)
        self.corrections.undone.connect(self.line_reader.on_correction_undone)

        self.model_label = QLabel(self)
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)  # a model's name is never markup
        self.model_label.setObjectName("modelLabel")
        self.statusBar().addPermanentWidget(self.model_label)

        self.recognizer = Recognizer(self)
        self.recognizer.predicted.connect(self._on_prediction)
        self.recognizer.modelLoaded.connect(self._on_model_loaded)
        self.recognizer.modelFailed.connect(self._on_model_failed)
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self.classify_now)
        self.canvas.strokesChanged.connect(self.classify_now)
        self.canvas.strokesChanged.connect(self._update_actions)
        self.canvas.drawingMoved.connect(self._on_drawing_moved)
        self.canvas.strokeStarted.connect(self._on_stroke_started)
        self.panel.openModelRequested.connect(self.choose_model)
        self.panel.trainRequested.connect(lambda: self.open_job("default"))

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._restore_settings()
        self._update_actions()
        self._update_model_label()
        self.panel.show_hint(HINT_NO_MODEL)

        if autoload:
            path = model_path or find_model(
                self.models_dir, self.settings.get("model/active", None, str), default=self.default_model
            )
            if path:
                self.use_model(path, remember=model_path is not None)
            else:
                self.panel.show_model_buttons(True)
                self.statusBar().showMessage("No model found: open one (Model → Open Model…) or train one.")

    # -- building -------------------------------------------------------------------------------------

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon=None, checkable=False) -> QAction:
        action = QAction(text, self)
        keys = ""
        if shortcut is not None:
            shortcuts = [QKeySequence(s) for s in (shortcut if isinstance(shortcut, list) else [shortcut])]
            action.setShortcuts(shortcuts)
            keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in shortcuts)
            if len(shortcuts) > 1:  # menus print only the first shortcut unless the text names them all
                action.setIconText(text.replace("&", ""))
                action.setText(f"{text}\t{keys}")
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({keys})" if keys else tip)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon) if isinstance(icon, QStyle.StandardPixmap) else icon)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.act_open_image = self._action(
            "&Open Image…",
            self.choose_image,
            QKeySequence.StandardKey.Open,
            "Open an image of a symbol and recognise it",
            sp.SP_DialogOpenButton,
        )
        self.act_export = self._action(
            JOBS["report"].pad.menu,
            lambda: self.open_job("report"),
            None,
            "Evaluate the active model on a test split and write a report",
        )
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit MathSym")
        self.act_undo = self._action(
            "&Undo",
            self.undo,
            QKeySequence.StandardKey.Undo,
            "Undo the last stroke (or the sample just saved)",
            edit_icon("edit-undo"),
        )
        self.act_redo = self._action(
            "&Redo", self.canvas.redo, QKeySequence.StandardKey.Redo, "Redo", edit_icon("edit-redo")
        )
        self.act_clear = self._action(
            "&Clear",
            self.canvas.clear,
            [QKeySequence.StandardKey.Delete, "Ctrl+L"],
            "Clear the pad (undoable)",
            sp.SP_DialogDiscardButton,
        )
        self.act_paste = self._action(
            "&Paste Image",
            self.paste,
            QKeySequence.StandardKey.Paste,
            "Paste an image or image file from the clipboard",
        )
        self.act_pen = self._action("&Pen", lambda: self.set_eraser(False), "P", "Draw", checkable=True)
        self.act_eraser = self._action("&Eraser", lambda: self.set_eraser(True), "E", "Erase strokes", checkable=True)
        self.act_pen.setChecked(True)
        self.act_colour = self._action("Pen &Colour…", self.choose_colour, "Ctrl+Shift+C", "Choose the pen colour")
        self.act_paper = self._action("Paper Colo&ur…", self.choose_paper, None, "Choose the paper colour")
        self.act_open_model = self._action(
            "&Open Model…", self.choose_model, "Ctrl+M", "Load a .keras model or a notebook .h5"
        )
        self.act_default_model = self._action(
            "Use &Default Model", self.use_default_model, None, "Switch to the model that ships with MathSym"
        )
        self.act_make_twin = self._action(
            "Create ONNX &Twin",
            self.make_twin,
            None,
            "Export the active model for ONNX Runtime: it starts and answers faster",
        )
        self.act_make_twin.setEnabled(False)
        self.twin_maker = TwinMaker(self.cli, self)
        self.twin_maker.finished.connect(self._on_twin_made)
        self.act_train = {}
        for key, job in JOBS.items():
            if key != "report":  # under File, as Export Confusion-Matrix Report…
                self.act_train[key] = self._action(
                    job.pad.menu, lambda checked=False, k=key: self.open_job(k), None, job.intro
                )
        self.act_save_sample = self._action(
            "&Save Drawing As Sample…",
            self.corrections.pick,
            None,
            "Say what the drawing is; it is saved as one of your samples",
        )
        self.act_remove_sample = self._action(
            "&Remove Last Sample", self.corrections.undo, None, "Delete the sample saved last in this session"
        )
        self.act_open_samples = self._action(
            "&Open Samples Folder",
            self.open_samples_folder,
            None,
            "Show your samples folder (one sub-folder per class)",
        )
        self.act_move_samples = self._action(
            "&Use Another Samples Folder…",
            self.choose_samples_folder,
            None,
            "Save new samples in another folder; the samples saved so far stay where they are",
        )
        self.act_about = self._action("&About MathSym", self.about, None, "About MathSym")
        self.act_about_qt = self._action("About &Qt", QApplication.aboutQt)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_open_image, self.act_paste])
        m.addSeparator()
        m.addAction(self.act_export)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo, self.act_clear])
        m.addSeparator()
        m.addActions(self.line_reader.actions())
        m.addSeparator()
        m.addActions([self.act_pen, self.act_eraser, self.act_colour, self.act_paper])
        m = bar.addMenu("&Model")
        m.addActions([self.act_open_model, self.act_default_model, self.act_make_twin])
        m = bar.addMenu("&Samples")
        m.addActions([self.act_save_sample, self.act_remove_sample])
        m.addSeparator()
        m.addActions([self.act_open_samples, self.act_move_samples])
        m = bar.addMenu("&Train")
        trains = [k for k in self.act_train if JOBS[k].trains]
        others = [k for k in self.act_train if k not in trains and k != "split"]
        for i, group in enumerate((["split"], trains, others)):
            if i:
                m.addSeparator()
            m.addActions([self.act_train[k] for k in group if k in self.act_train])
        m = bar.addMenu("&Help")
        m.addActions([self.act_about, self.act_about_qt])

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Drawing")
        tb.setObjectName("drawingToolbar")
        tb.setIconSize(QSize(18, 18))
        tb.addActions([self.act_open_image])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo, self.act_clear])
        tb.addSeparator()
        tb.addActions([self.act_pen, self.act_eraser])
        self.colour_button = QToolButton(self)
        self.colour_button.setObjectName("colourButton")
        self.colour_button.setToolTip(self.act_colour.toolTip())
        # The current colour with a name, so it is not taken for one more swatch beside the black one.
        self.colour_button.setText("Colour…")
        self.colour_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.colour_button.clicked.connect(self.choose_colour)
        tb.addWidget(self.colour_button)
        for colour in SWATCHES:
            button = QToolButton(self)
            button.setIcon(colour_icon(colour, 14))
            button.setToolTip(f"Pen colour {colour}")
            button.setObjectName(f"swatch{colour[1:]}")
            button.clicked.connect(lambda checked=False, c=colour: self.set_pen_colour(c))
            tb.addWidget(button)
        tb.addSeparator()
        tb.addWidget(QLabel(" Width "))
        self.width_spin = QSpinBox(self)
        self.width_spin.setObjectName("widthSpin")
        self.width_spin.setRange(1, 60)
        self.width_spin.setSuffix(" px")
        self.width_spin.setToolTip("Pen width")
        self.width_spin.valueChanged.connect(self.set_pen_width)
        tb.addWidget(self.width_spin)

    def _restore_settings(self) -> None:
        s = self.settings
        self.set_pen_colour(s.get("pen/colour", "#000000", str))
        self.width_spin.setValue(s.get("pen/width", 12, int))
        self.canvas.set_paper(s.get("pen/paper", "#ffffff", str))
        geometry = s.get("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(900, 600)
        state = s.get("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)

    def save_settings(self) -> None:
        s = self.settings
        s.set("pen/colour", self.canvas.pen_colour)
        s.set("pen/width", int(self.canvas.pen_width))
        s.set("pen/paper", self.canvas.paper)
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.sync()

    def _update_actions(self) -> None:
        self.act_undo.setEnabled(self.canvas.can_undo() or self.corrections.can_undo_here())
        self.act_redo.setEnabled(self.canvas.can_redo())
        self.act_clear.setEnabled(not self.canvas.is_empty())
        self.act_remove_sample.setEnabled(self.corrections.can_remove())

    def undo(self) -> None:
        """Undo the sample just saved from this drawing, else the last change of the drawing."""
        if self.corrections.can_undo_here():
            self.corrections.undo()
            self._update_actions()
        else:
            self.canvas.undo()

    # -- samples --------------------------------------------------------------------------------------

    def open_samples_folder(self) -> None:
        self.corrections.folder.mkdir(parents=True, exist_ok=True)
        self.open_url(QUrl.fromLocalFile(str(self.corrections.folder)))

    def choose_samples_folder(self) -> None:
        """Switch to another samples folder (nothing is moved: the samples saved so far stay where they are)."""
        old = self.corrections.folder
        # Short enough for the title bar to show it all; the status bar names the old folder afterwards.
        folder = dialogs.get_folder(self, "Use Another Samples Folder (nothing is moved)", str(old))
        if not folder:
            return
        problem = unwritable([folder]).get(Path(folder))
        if problem is not None and not dialogs.show(
            self,
            dialogs.QUESTION_DEFAULT_NO,
            "Samples Folder Not Writable",
            f"{folder} cannot be written ({problem}): new samples could not be saved there.\n\n"
            "Use it anyway (its samples can still be learnt from)?",
        ):
            return
        self.settings.set("samples/folder", folder)
        self.corrections.set_folder(folder)
        left = sum(count_samples(old).values())
        kept = f" The {left} sample(s) in {old} stay there." if left and Path(folder) != old else ""
        self.statusBar().showMessage(f"New samples go to {folder}.{kept}", 15000)

    # -- pen ------------------------------------------------------------------------------------------

    def set_pen_colour(self, colour: str) -> None:
        c = QColor(colour)
        if not c.isValid():
            return
        self.canvas.pen_colour = c.name()
        self.colour_button.setIcon(colour_icon(c.name(), 18))
        self.set_eraser(False)

    def set_pen_width(self, width: int) -> None:
        self.canvas.pen_width = float(width)

    def set_eraser(self, on: bool) -> None:
        self.canvas.eraser = on
        self.act_eraser.setChecked(on)
        self.act_pen.setChecked(not on)
        self.canvas.setCursor(Qt.CursorShape.PointingHandCursor if on else Qt.CursorShape.CrossCursor)

    def choose_colour(self) -> None:
        colour = QColorDialog.getColor(QColor(self.canvas.pen_colour), self, "Pen Colour")
        if colour.isValid():
            self.set_pen_colour(colour.name())

    def choose_paper(self) -> None:
        colour = QColorDialog.getColor(QColor(self.canvas.paper), self, "Paper Colour")
        if colour.isValid():
            self.canvas.set_paper(colour.name())

    # -- recognition ----------------------------------------------------------------------------------

    def is_idle(self) -> bool:
        """True when no model is loading and the panel shows the answer for the drawing as it is now (or its
        hint): what tests and benchmarks wait for instead of reading the window's internals."""
        return (
            self._pending is None
            and not self._live_timer.isActive()
            and self.recognizer.is_idle()
            and self._shown_id >= self._awaited_id
        )

    def is_loading(self) -> bool:
        """True while a model loads in the background."""
        return self._pending is not None

    def _on_stroke_started(self) -> None:
        # The answer for the drawing without this stroke is stale now: stop computing it, so that a slow
        # model is free again by the time the stroke ends.
        self._floor = self.recognizer.discard()
        self._awaited_id = 0

    def _on_drawing_moved(self) -> None:
        if self._predict_seconds > LIVE_MAX_PREDICT_S:
            return
        if not self._live_timer.isActive():
            self._live_timer.start()

    def classify_now(self) -> None:
        """Post the current drawing to the worker (the newest request replaces an unstarted older one)."""
        self._live_timer.stop()
        if self.canvas.is_empty():
            self._floor = self.recognizer.discard()  # answers to earlier requests are stale now
            self._awaited_id = 0
            self.last_prediction = None
            self.panel.show_hint(self._no_answer_hint())
            return
        if self.model is None:
            return  # the drawing is classified as soon as a model has loaded
        self._awaited_id = self.recognizer.classify(self.canvas.snapshot())

    def _on_prediction(self, pred: Prediction) -> None:
        if pred.request_id < max(self._floor, self._shown_id):
            return
        self._shown_id = pred.request_id
        self._predict_seconds = pred.stages.get("predict", self._predict_seconds)
        if pred.empty:
            self.panel.show_hint("Nothing visible to recognise: the drawing or image has no ink.")
            self.last_prediction = None
        elif pred.error:
            self.panel.show_hint(pred.error)
            self.last_prediction = None
        elif pred.reading is not None:  # a line: the reading panel under the pad shows it
            self.panel.show_hint(HINT_LINE)
            self.last_prediction = None
        else:
            self.panel.show_prediction(pred.top, pred.preview, pred.seconds)
            self.last_prediction = pred
        self.predictionShown.emit(pred)

    # -- models ---------------------------------------------------------------------------------------

    def use_model(self, path: str | os.PathLike, remember: bool = True) -> None:
        """Load a model in the background; the current one keeps recognising until it is ready."""
        path = str(path)
        ticket = self.recognizer.load(path)
        self._pending = (ticket, path, remember)
        self._update_model_label()  # the status bar says "Loading model …" there, once
        if self.model is None:
            self.panel.show_hint(self._no_answer_hint())

    def _on_model_loaded(self, ticket: int, model) -> None:
        if self._pending is None or ticket != self._pending[0]:
            return
        _, path, remember = self._pending
        self._pending = None
        self._failed_models.discard(Path(path).resolve())
        self.model = model
        self._predict_seconds = 0.0  # measured again by the first prediction
        if remember:
            self.settings.set("model/active", path)
        self.panel.show_model_buttons(False)
        self.corrections.refresh()
        self._update_model_label()
        self.statusBar().showMessage(f"Model {printable(model.name)} ready.", 5000)
        self.act_make_twin.setEnabled(self._twin_possible())
        if self._twin_possible():
            self.statusBar().showMessage(
                f"Model {printable(model.name)} runs with TensorFlow: Model → Create ONNX "
                "Twin makes it start and answer faster.",
                15000,
            )
        self.modelChanged.emit(path)
        self.classify_now()

    def _twin_possible(self) -> bool:
        return (
            self.model is not None
            and self.model.backend == "keras"
            and self.model.path is not None
            and not self.twin_maker.running
        )

    def make_twin(self) -> None:
        """Export the active model's ONNX twin in a background job; the model reloads from it when done."""
        if not self._twin_possible():
            return
        assert self.model is not None and self.model.path is not None  # _twin_possible() checked both
        self.act_make_twin.setEnabled(False)
        self.twin_maker.start(self.model.path)
        self.statusBar().showMessage(f"Creating the ONNX twin of {printable(self.model.name)}…")

    def _on_twin_made(self, path: str, result: JobResult) -> None:
        self.statusBar().clearMessage()
        if result.ok:
            if self.model is not None and str(self.model.path) == path:
                self.use_model(path, remember=False)
            self.statusBar().showMessage(f"ONNX twin of {Path(path).name} created.", 5000)
        else:
            dialogs.error(self, "Create ONNX Twin Failed", result.message, result.log)
        self.act_make_twin.setEnabled(self._twin_possible())

    def _on_model_failed(self, ticket: int, path: str, message: str, detail: str) -> None:
        if self._pending is None or ticket != self._pending[0]:
            return
        self._pending = None
        self._failed_models.add(Path(path).resolve())
        self._update_model_label()
        self.statusBar().clearMessage()
        fallback = self._fallback_model() if self.model is None else None
        if self.model is not None:
            keep = f"\n\nStill using {printable(self.model.name)}."
        elif fallback is not None:  # e.g. a mistyped --model: recognise with the usual model instead of none
            keep = f"\n\nUsing {printable(fallback.name)} instead."
            self.use_model(fallback, remember=False)
        else:
            keep = ""
            self.panel.show_model_buttons(True)
            self.panel.show_hint(HINT_NO_MODEL)
        dialogs.error(self, "Cannot Load Model", message + keep, detail)

    def _fallback_model(self) -> Path | None:
        """The model to use when the one asked for failed and none is active: the remembered one, else the
        newest trained, else the default, skipping those that failed already."""
        remembered = self.settings.get("model/active", None, str)
        candidates = [
            find_model(self.models_dir, remembered, default=self.default_model),
            find_model(self.models_dir, None, default=self.default_model),
            self.default_model if self.default_model.is_file() else None,
        ]
        return next((c for c in candidates if c is not None and c.resolve() not in self._failed_models), None)

    def _update_model_label(self) -> None:
        loading = printable(Path(self._pending[1]).name) if self._pending is not None else ""
        self.panel.set_loading(loading)
        if loading:
            self.model_label.setText(f"Loading model {loading}…")
        elif self.model is None:
            self.model_label.setText("No model loaded")
        else:
            acc = self.model.card.test_accuracy
            text = f"Model: {printable(self.model.name)}"
            text += f" — test accuracy {acc * 100:.1f}%" if acc is not None else " — test accuracy unknown"
            self.model_label.setText(text)
        # The title is the model's file name; the platform adds " — MathSym" (the application display name).
        if self.model is not None:
            self.setWindowTitle("")
            self.setWindowFilePath(printable(str(self.model.path or self.model.name)))
            self.model_label.setToolTip(printable(str(self.model.path or "")))
        else:
            self.setWindowFilePath("")
            self.setWindowTitle("No model")

    def _no_answer_hint(self) -> str:
        """What the panel says when it has no answer to show: draw, wait for the model, or get one."""
        if self.model is not None:
            return HINT_EMPTY
        if self._pending is not None:
            return HINT_LOADING.format(name=Path(self._pending[1]).name)
        return HINT_NO_MODEL

    def choose_model(self) -> None:
        folder = self.settings.get("paths/models", str(self.models_dir), str)
        path = dialogs.get_open_file(self, "Open Model", folder, MODEL_FILTER)
        if path:
            self.settings.set("paths/models", str(Path(path).parent))
            self.use_model(path, remember=True)

    def use_default_model(self) -> None:
        default = self.default_model
        if not default.is_file():
            dialogs.error(
                self,
                "No Default Model",
                f"The default model {default} is missing. Train one with "
                "Train → Train Default Model… or open another model.",
            )
            return
        self.use_model(default, remember=True)

    # -- images ---------------------------------------------------------------------------------------

    def choose_image(self) -> None:
        folder = self.settings.get("paths/images", str(Path.home()), str)
        path = dialogs.get_open_file(self, "Open Image", folder, IMAGE_FILTER)
        if path:
            self.settings.set("paths/images", str(Path(path).parent))
            self.open_image(path)

    def open_image(self, source: str | os.PathLike | bytes) -> bool:
        """Decode a file (or encoded bytes) and show it on the pad; errors become a message, nothing lost."""
        try:
            rgb = read_image(source)
        except MathSymError as exc:
            dialogs.error(self, "Cannot Open Image", str(exc))
            return False
        self.show_image(rgb)
        if not isinstance(source, bytes):
            self.statusBar().showMessage(f"Opened {Path(source).name}", 5000)
        return True

    def show_image(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        if max(h, w) > MAX_IMAGE_SIDE:
            s = MAX_IMAGE_SIDE / max(h, w)
            rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        self.canvas.set_image(np.ascontiguousarray(rgb))

    def paste(self) -> None:
        self.open_mime(QGuiApplication.clipboard().mimeData(), "The clipboard")

    def open_mime(self, mime, where: str) -> bool:
        """Image data or an image file URL (clipboard, drop)."""
        if mime is None:
            dialogs.error(self, "Nothing to Paste", f"{where} holds no image.")
            return False
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if not files and mime.hasText():
            text = mime.text().strip()
            if text.startswith("file://"):
                text = QUrl(text).toLocalFile()
            if text and "\n" not in text and Path(text).is_file():
                files = [text]
        if files:
            return self.open_image(files[0])
        if mime.hasImage():
            image = mime.imageData()
            if image is not None and not image.isNull():
                self.show_image(qimage_to_array(image))
                return True
        dialogs.error(self, "Nothing to Paste", f"{where} holds no image or image file.")
        return False

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasImage() or any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self.open_mime(event.mimeData(), "The dropped item")

    # -- jobs -----------------------------------------------------------------------------------------

    def running_job(self) -> JobDialog | None:
        return next((d for d in self.jobs.values() if d.running), None)

    def open_job(self, key: str) -> JobDialog:
        """Show the dialog of a job kind (one per kind, kept so its last run stays visible)."""
        dialog = self.jobs.get(key)
        if dialog is None:
            spec = JOBS[key]
            data = self.settings.get("paths/data", "", str)
            model = str(self.model.path) if self.model is not None and self.model.path else ""
            output = ""
            if key == "split" and data:
                output = str(Path(data).parent / (Path(data).name + "-split"))
            elif key == "report":
                stem = Path(model).stem if model else "model"
                output = str(Path(self.settings.get("paths/reports", str(Path.home()), str)) / f"report-{stem}")
            dialog = JobDialog(spec, self.cli, self, data=data, model=model, output=output, models_dir=self.models_dir)
            dialog.jobFinished.connect(self._on_job_finished)
            dialog.runner.started.connect(lambda d=dialog: self._on_job_started(d))
            if key == "adapt":
                dialog.field("samples", FolderField).setText(str(self.corrections.folder))
            self.jobs[key] = dialog
        elif key == "report" and self.model is not None and not dialog.running:
            dialog.field("model", FolderField).setText(str(self.model.path or ""))
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _on_job_started(self, dialog: JobDialog) -> None:
        data = dialog.value("data")
        if data:
            self.settings.set("paths/data", data)
        if dialog.spec.key == "report" and dialog.output_path:
            self.settings.set("paths/reports", str(Path(dialog.output_path).parent))
        self.statusBar().showMessage(f"{dialog.spec.title} running…")

    def _on_job_finished(self, spec: Job, result: JobResult) -> None:
        self.statusBar().clearMessage()
        if result.cancelled:
            dialogs.info(self, spec.title, f"{spec.title} was cancelled; nothing was saved.")
            return
        if not result.ok:
            dialogs.error(self, f"{spec.title} Failed", result.message, result.log)
            return
        done = result.done
        if spec.trains:
            path = done.model or self.jobs[spec.key].output_path
            acc = done.test_accuracy
            text = f"Training finished: {Path(path).name}"
            text += f" (test accuracy {acc * 100:.1f}%)." if acc is not None else "."
            if ask_switch(self, spec.title, text, self.model, path, acc):
                self.use_model(path, remember=True)
        elif spec.command == "report":
            folder = self.jobs[spec.key].output_path or done.report or ""
            self.statusBar().showMessage(f"Report written to {folder}", 10000)
            if not self.open_url(QUrl.fromLocalFile(folder)):  # e.g. no file manager on this machine
                if dialogs.ask(
                    self,
                    spec.title,
                    f"The report is in {folder}, but that folder could not be opened "
                    "here.\n\nCopy its path to the clipboard?",
                ):
                    QGuiApplication.clipboard().setText(folder)
        elif spec.command == "evaluate":
            acc = done.test_accuracy
            text = f"Test accuracy: {acc * 100:.1f}%." if acc is not None else "Evaluation finished."
            dialogs.info(self, spec.title, text, describe_done(done))
        else:
            dialogs.info(self, spec.title, f"{spec.title} finished.", describe_done(done))

    # -- misc -----------------------------------------------------------------------------------------

    def about(self) -> None:
        dialogs.info(
            self,
            "About MathSym",
            f"MathSym {trainer.__version__}\n\nA drawing pad that recognises handwritten math symbols: "
            "digits 0–9, + − × ÷ = . and x, y, z.\n\nDraw with the mouse, a pen tablet or touch; "
            "the top five guesses update as you draw.",
        )

    def closeEvent(self, event) -> None:
        job = self.running_job()
        if job is not None:
            if not dialogs.ask(self, "Quit MathSym", f"{job.spec.title} is still running. Stop it and quit?"):
                event.ignore()
                return
            job.runner.cancel_and_wait()
        for dialog in self.jobs.values():
            dialog.hide()
        self.save_settings()
        self.recognizer.shutdown()
        super().closeEvent(event)
