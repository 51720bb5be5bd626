"""The job dialog of the Train menu (and the report export): choose data and budgets, watch the job run.

One dialog class serves every job kind; the registry's :class:`~trainer.architectures.Job` says which fields
it shows and how they turn into trainer CLI arguments. The dialog is modeless, so the pad keeps recognising
while a job runs.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from trainer.architectures import Job, Option, pad_jobs
from trainer.data.dataset import scan_dataset
from trainer.errors import DatasetError, MathSymError
from trainer.events import Progress
from trainer.paths import card_path
from trainer.serving.card import ModelCard

from . import dialogs
from .job_progress import StagePlan
from .jobs import JobResult, JobRunner, describe_metrics
from .plot import TrainingPlot

#: Steps of the overall progress bar.
BAR_STEPS = 1000
FieldWidget = TypeVar("FieldWidget", bound=QWidget)
_READING = ("Scanning dataset", "Reading training images", "Reading validation images", "Reading test images")
#: The stages each job goes through, in order and named as the trainer prints them, for the overall bar when
#: the job's events do not number their stages themselves (a stage not listed is fitted in where it appears).
STAGES: dict[str, tuple[str, ...]] = {
    "split": ("Scanning dataset", "Finding duplicates", "Writing split"),
    "alexnet": (*_READING, "Training AlexNet", "Testing"),
    "tune": (*_READING, "Tuning AlexNet", "Training AlexNet", "Testing"),
    "vgg19": (*_READING, "Extracting features", "Training VGG19 head", "Testing"),
    "default": (*_READING, "Reducing images", "Preparing style variants", "Training", "Testing"),
    "evaluate": ("Reading test images", "Evaluating"),
    "report": ("Reading test images", "Predicting", "Writing report"),
    "adapt": (
        "Reading replay images",
        "Reading test images",
        "Reading samples",
        "Learning your handwriting",
        "Testing the base model",
        "Testing",
    ),
}


#: Every job the pad offers, generated from the trainer's registry (``trainer.architectures``).
JOBS: dict[str, Job] = pad_jobs()


def check_dataset(folder: str) -> str:
    """An error sentence for an unusable dataset folder, "" when it is fine: the trainer's own rule."""
    if not folder:
        return "Choose a dataset folder first."
    try:
        scan_dataset(folder)
        return ""
    except DatasetError as exc:
        return str(exc)


def _architecture_of(model: str) -> str | None:
    """The architecture a model's card names (None when it cannot be read), without loading the model."""
    try:
        return ModelCard.read(card_path(model)).architecture
    except (MathSymError, OSError):
        return None


def format_seconds(s: float) -> str:
    s = max(0, round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class FolderField(QWidget):
    """A path line edit with a Browse… button."""

    def __init__(self, title: str, pick_file_filter: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.title, self.filter = title, pick_file_filter
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(self)
        button = QPushButton("Browse…", self)
        button.clicked.connect(self.browse)
        layout.addWidget(self.edit, 1)
        layout.addWidget(button)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def browse(self) -> None:
        if self.filter:
            path = dialogs.get_open_file(self, self.title, self.text(), self.filter)
        else:
            path = dialogs.get_folder(self, self.title, self.text())
        if path:
            self.edit.setText(path)


class JobDialog(QDialog):
    """Form, then progress bar, epoch/ETA/accuracy line, live plot, log and Cancel."""

    jobFinished = Signal(object, object)  # (Job, JobResult)

    def __init__(
        self,
        spec: Job,
        cli: list[str],
        parent=None,
        data: str = "",
        model: str = "",
        output: str = "",
        models_dir: str | Path = "",
    ) -> None:
        super().__init__(parent)
        self.spec, self.cli, self.models_dir = spec, list(cli), Path(models_dir) if models_dir else None
        self.setObjectName(f"jobDialog-{spec.key}")
        self.setWindowTitle(spec.title)
        self.setModal(False)
        self.resize(560, 520)
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.logLine.connect(self._on_log)
        self.runner.finished.connect(self._on_finished)
        self.job_result: JobResult | None = None  # not ``result``: that is QDialog.result()
        self.output_path = ""
        self._start_time = 0.0
        self._plan = StagePlan(STAGES.get(spec.key, ()))
        self._stage_metrics: dict[str, float] = {}  # the newest epoch metrics of the current stage

        layout = QVBoxLayout(self)
        if spec.intro:
            intro = QLabel(spec.intro)
            intro.setWordWrap(True)
            layout.addWidget(intro)
        form = QFormLayout()
        self.fields: dict[str, QWidget] = {}
        initial = {"data": data, "model": model, "output": output}
        for option in spec.fields:
            widget = self._field_widget(option, initial.get(option.dest, ""))
            self.fields[option.dest] = widget
            form.addRow(option.field.label if option.field else option.dest, widget)
        self.start_from = self._start_from_box(model) if spec.command == "train" else None
        if self.start_from is not None:
            form.addRow("Start from:", self.start_from)
        layout.addLayout(form)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, BAR_STEPS)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        layout.addWidget(self.progress)
        self.status = QLabel("Not started.", self)
        self.status.setObjectName("jobStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.plot = TrainingPlot(self)
        self.plot.setVisible(spec.trains)
        layout.addWidget(self.plot, 1)
        self.log = QPlainTextEdit(self)
        self.log.setObjectName("jobLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("Job output")
        layout.addWidget(self.log, 1)

        self.buttons = QDialogButtonBox(self)
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("Cancel Job", QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.start_button.setDefault(True)
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)

    # -- state ------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.runner.running

    def _field_widget(self, option: Option, text: str) -> QWidget:
        from .model_files import MODEL_FILTER

        f = option.field
        assert f is not None
        widget: QWidget
        if f.kind in ("dataset", "folder", "model"):
            title = {
                "dataset": "Choose the dataset folder (one sub-folder per class)",
                "folder": "Choose the output folder",
                "model": "Choose a model",
            }[f.kind]
            folder = FolderField(title, MODEL_FILTER if f.kind == "model" else None)
            folder.setText(text)
            widget = folder
        elif f.kind == "int":
            spin = QSpinBox()
            spin.setRange(f.low, f.high)
            spin.setValue(option.default if isinstance(option.default, int) else 0)
            spin.setObjectName(f"{option.dest}Spin")
            widget = spin
        elif f.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(option.choices or ()))
            combo.setCurrentText(str(option.default or ""))
            widget = combo
        else:
            widget = QCheckBox()
        widget.setToolTip(f.tip or option.help)
        return widget

    def value(self, key: str):
        w = self.fields.get(key)
        if isinstance(w, QSpinBox):
            return w.value()
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if w is None:
            return None
        assert isinstance(w, FolderField)  # the one other kind _field_widget builds
        return w.text()

    def field(self, key: str, kind: type[FieldWidget]) -> FieldWidget:
        """The field ``key`` as the widget class its option builds (FolderField, QSpinBox…), to fill it in."""
        widget = self.fields[key]
        assert isinstance(widget, kind), f"{key} is a {type(widget).__name__}"
        return widget

    def _start_from_box(self, model: str) -> QComboBox:
        """Scratch, or the active model fine-tuned (``adapt``) when it has this dialog's architecture."""
        box = QComboBox(self)
        box.setObjectName("startFromCombo")
        box.addItem("Scratch (a new model)", "")
        box.addItem(
            f"The active model, fine-tuned ({Path(model).name})" if model else "The active model, fine-tuned", model
        )
        if not model or _architecture_of(model) != self.spec.key:
            items = box.model()
            assert isinstance(items, QStandardItemModel)  # a QComboBox's own model
            item = items.item(1)
            assert item is not None  # added above
            item.setEnabled(False)
            box.setToolTip(f"Fine-tuning needs an active {self.spec.title.split()[-1]} model.")
        else:
            box.setToolTip(
                "Fine-tuning keeps what the active model knows and takes minutes; a small subset "
                "trained from scratch gives a weak model."
            )
        return box

    def fine_tunes(self) -> bool:
        return self.start_from is not None and bool(self.start_from.currentData())

    def _fine_tune_argv(self) -> list[str]:
        """``adapt`` on the dataset: only its train split is learnt from, its test split scores both models."""
        assert self.start_from is not None  # called only when fine_tunes()
        data, base = self.value("data"), self.start_from.currentData()
        problem = check_dataset(data)
        if problem:
            raise ValueError(problem)
        if not Path(base).is_file():
            raise ValueError(f"Model file {base} does not exist.")
        args = ["adapt", "--samples", data, "--data", data, "--model", base, "--epochs", str(self.value("epochs"))]
        if self.value("subset"):
            args += ["--subset", str(self.value("subset"))]
        if self.models_dir is not None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self.output_path = str(self.models_dir / f"{self.spec.key}-finetuned-{stamp}.keras")
            args += ["--output", self.output_path]
        return self.cli + args + ["--progress", "json"]

    def argv(self) -> list[str]:
        """The CLI command for the current form (raises ValueError with a user sentence when incomplete)."""
        if self.fine_tunes():
            return self._fine_tune_argv()
        job = self.spec
        args = list(job.words)
        for option in sorted(job.fields, key=lambda o: not o.positional):
            value = self.value(option.dest)
            kind = option.field.kind if option.field else ""
            if kind == "dataset":
                problem = check_dataset(value)
                if problem:
                    raise ValueError(problem)
            elif kind == "model" and (not value or not Path(value).is_file()):
                raise ValueError(
                    "Choose an existing model file (.keras or .h5) first."
                    if not value
                    else f"Model file {value} does not exist."
                )
            elif kind == "folder":
                if not value:
                    raise ValueError("Choose an output folder first.")
                self.output_path = value
            args += option.argv(value)
        if job.trains and self.models_dir is not None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self.output_path = str(self.models_dir / f"{job.key}-{stamp}.keras")
            args += ["--output", self.output_path]
        return self.cli + args + ["--progress", "json"]

    def start(self) -> bool:
        if self.running:
            return False
        try:
            argv = self.argv()
        except ValueError as exc:
            dialogs.error(self, self.spec.title, str(exc))
            return False
        for w in self.fields.values():
            w.setEnabled(False)
        self.plot.clear()
        self.log.clear()
        self.job_result = None
        self._plan = StagePlan(STAGES.get("adapt" if self.fine_tunes() else self.spec.key, ()))
        self._stage_metrics = {}
        self.progress.setRange(0, 0)  # busy until the first event
        self.status.setText("Starting…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._start_time = time.monotonic()
        self.runner.start(argv)
        return True

    def cancel(self) -> None:
        if self.running:
            self.status.setText("Cancelling…")
            self.cancel_button.setEnabled(False)
            self.runner.cancel()

    # -- events -----------------------------------------------------------------------------------------

    def _on_log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _on_progress(self, event: Progress) -> None:
        """One overall bar across the job's stages; the status line says what this stage does, its own metrics
        (never an earlier stage's) and how long it has left when that can be estimated."""
        plan = self._plan
        if event.stage != plan.stage:
            self._stage_metrics = {}
        plan.update(event, time.monotonic())
        self.progress.setRange(0, BAR_STEPS)
        self.progress.setValue(min(round(plan.fraction * BAR_STEPS), BAR_STEPS - 1))  # 100 % only when done
        self.progress.setFormat(f"%p% · {plan.label()}")
        if event.metrics:
            self.plot.add_epoch(event.metrics)
            self._stage_metrics = dict(event.metrics)
        parts = [event.stage, event.message.strip(), describe_metrics(self._stage_metrics)]
        eta = plan.eta
        if eta is not None and "ETA" not in event.message:
            parts.append(f"about {format_seconds(eta)} left in this stage")
        self.status.setText(" · ".join(p for p in parts if p))

    def _on_finished(self, result: JobResult) -> None:
        self.job_result = result
        self.progress.setRange(0, BAR_STEPS)
        elapsed = format_seconds(time.monotonic() - self._start_time)
        if result.ok:
            self.progress.setValue(BAR_STEPS)
            self.progress.setFormat("%p% · finished")
            self.status.setText(f"Finished in {elapsed}.")
        else:
            self.progress.setValue(0)
            self.progress.setFormat("cancelled" if result.cancelled else "failed")
            self.status.setText("Cancelled; nothing was saved." if result.cancelled else f"Failed: {result.message}")
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        self.start_button.setText("Run Again")
        for w in self.fields.values():
            w.setEnabled(True)
        self._show_log_end()
        self.jobFinished.emit(self.spec, result)

    def _show_log_end(self) -> None:
        """Scroll the log to its last line (the result or the error), even after the user scrolled up."""
        self.log.moveCursor(QTextCursor.MoveOperation.End)
        self.log.ensureCursorVisible()

    def reject(self) -> None:
        """Close, Esc and the window manager's close (QDialog.closeEvent calls this) all end here: a running job
        is stopped first if the user agrees; otherwise the dialog stays open with the job."""
        if self.running:
            if not dialogs.ask(self, self.spec.title, "The job is still running. Stop it?"):
                return
            self.runner.cancel_and_wait()
        super().reject()
