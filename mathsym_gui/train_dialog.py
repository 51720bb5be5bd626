"""The job dialog of the Train menu (and the report export): choose data and budgets, watch the job run.

One dialog class serves every job kind; a :class:`JobSpec` says which fields it shows and how they turn
into trainer CLI arguments. The dialog is modeless, so the pad keeps recognising while a job runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
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

from trainer.dataset import scan_dataset
from trainer.errors import DatasetError

from . import dialogs
from .jobs import JobResult, JobRunner
from .plot import TrainingPlot


@dataclass(frozen=True)
class JobSpec:
    key: str
    title: str
    command: str  # trainer CLI sub-command
    arch: str | None = None  # for "train"
    fields: tuple[str, ...] = ("data",)  # data, output, model, epochs, trials, image_size, subset
    epochs: int = 20
    trials: int = 10
    intro: str = ""

    @property
    def trains(self) -> bool:
        return self.command == "train"


SPECS: dict[str, JobSpec] = {
    "split": JobSpec("split", "Split Dataset", "split", fields=("data", "output"),
                     intro="Copy a class-per-folder dataset into train / validation / test folders, as the notebook did."),
    "alexnet": JobSpec("alexnet", "Tune AlexNet", "train", "alexnet",
                       ("data", "epochs", "trials", "image_size", "subset"), epochs=100, trials=10,
                       intro="Search AlexNet hyper-parameters (Hyperband, at most this many epochs per trial), "
                             "then train the best one."),
    "vgg19": JobSpec("vgg19", "Train VGG19", "train", "vgg19", ("data", "epochs", "image_size", "subset"),
                     epochs=20, intro="Fine-tune VGG19 (ImageNet weights) on the dataset."),
    "default": JobSpec("default", "Train Default Model", "train", "default", ("data", "epochs", "image_size", "subset"),
                       epochs=20, intro="Train the pad's own compact model (fast, made for drawn symbols)."),
    "evaluate": JobSpec("evaluate", "Evaluate Model", "evaluate", fields=("model", "data"),
                        intro="Measure a model's accuracy on the test split of a dataset."),
    "report": JobSpec("report", "Export Confusion-Matrix Report", "report", fields=("model", "data", "output"),
                      intro="Evaluate the model on the test split and write the confusion matrix and per-class "
                            "report into a folder."),
}


def check_dataset(folder: str) -> str:
    """An error sentence for an unusable dataset folder, "" when it is fine (a split folder's test/ counts)."""
    if not folder:
        return "Choose a dataset folder first."
    try:
        scan_dataset(folder)
        return ""
    except DatasetError as exc:
        for sub in ("test", "train"):
            if (Path(folder) / sub).is_dir():
                try:
                    scan_dataset(Path(folder) / sub)
                    return ""
                except DatasetError:
                    pass
        return str(exc)


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

    jobFinished = Signal(object, object)  # (JobSpec, JobResult)

    def __init__(self, spec: JobSpec, cli: list[str], parent=None, data: str = "", model: str = "",
                 output: str = "", models_dir: str | Path = "") -> None:
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
        self.result: JobResult | None = None
        self.output_path = ""
        self._start_time = 0.0

        layout = QVBoxLayout(self)
        if spec.intro:
            intro = QLabel(spec.intro)
            intro.setWordWrap(True)
            layout.addWidget(intro)
        form = QFormLayout()
        self.fields: dict[str, QWidget] = {}
        from .model_files import MODEL_FILTER

        if "model" in spec.fields:
            self.fields["model"] = FolderField("Choose a model", MODEL_FILTER)
            self.fields["model"].setText(model)
            form.addRow("Model:", self.fields["model"])
        if "data" in spec.fields:
            self.fields["data"] = FolderField("Choose the dataset folder (one sub-folder per class)")
            self.fields["data"].setText(data)
            form.addRow("Dataset folder:", self.fields["data"])
        if "output" in spec.fields:
            self.fields["output"] = FolderField("Choose the output folder")
            self.fields["output"].setText(output)
            form.addRow("Output folder:", self.fields["output"])
        for key, label, lo, hi, value, tip in (
            ("epochs", "Max. epochs per trial:" if spec.key == "alexnet" else "Epochs:", 1, 1000, spec.epochs, ""),
            ("trials", "Tuning trials:", 1, 500, spec.trials, ""),
            ("image_size", "Image size:", 32, 512, 224, "Side of the square model input in pixels"),
            ("subset", "Images per class (0 = all):", 0, 1_000_000, 0, "Train on a quick subset"),
        ):
            if key in spec.fields:
                box = QSpinBox()
                box.setRange(lo, hi)
                box.setValue(value)
                box.setToolTip(tip)
                box.setObjectName(f"{key}Spin")
                self.fields[key] = box
                form.addRow(label, box)
        layout.addLayout(form)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
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
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton("Cancel Job", QDialogButtonBox.RejectRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.start_button.setDefault(True)
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        layout.addWidget(self.buttons)

    # -- state ------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.runner.running

    def value(self, key: str):
        w = self.fields.get(key)
        if w is None:
            return None
        return w.value() if isinstance(w, QSpinBox) else w.text()

    def argv(self) -> list[str]:
        """The CLI command for the current form (raises ValueError with a user sentence when incomplete)."""
        s = self.spec
        data = self.value("data")
        if "data" in s.fields:
            problem = check_dataset(data)
            if problem:
                raise ValueError(problem)
        args = [s.command]
        if s.arch:
            args.append(s.arch)
        if "model" in s.fields:
            model = self.value("model")
            if not model or not Path(model).is_file():
                raise ValueError("Choose an existing model file (.keras or .h5) first." if not model
                                 else f"Model file {model} does not exist.")
            args.append(model)
        args += ["--data", data]
        if "output" in s.fields:
            out = self.value("output")
            if not out:
                raise ValueError("Choose an output folder first.")
            self.output_path = out
            args += ["--output", out]
        elif s.trains and self.models_dir is not None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self.output_path = str(self.models_dir / f"{s.arch}-{stamp}.keras")
            args += ["--output", self.output_path]
        if "epochs" in s.fields:
            args += ["--epochs", str(self.value("epochs"))]
        if "trials" in s.fields:
            args += ["--trials", str(self.value("trials"))]
        if "image_size" in s.fields:
            args += ["--image-size", str(self.value("image_size"))]
        if self.value("subset"):
            args += ["--subset", str(self.value("subset"))]
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
        self.result = None
        self.progress.setRange(0, 0)  # busy until the first event with a total
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

    def _on_progress(self, event: dict) -> None:
        done, total = event.get("done") or 0, event.get("total")
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(min(int(done), int(total)))
        else:
            self.progress.setRange(0, 0)
        parts = [str(event.get("stage") or "").strip(), str(event.get("message") or "").strip()]
        metrics = event.get("metrics") or {}
        if metrics:
            self.plot.add_epoch(metrics)
        last = self.plot.epochs[-1] if self.plot.epochs else {}
        if isinstance(last.get("accuracy"), (int, float)):
            acc = f"accuracy {last['accuracy'] * 100:.1f}%"
            if isinstance(last.get("val_accuracy"), (int, float)):
                acc += f" (validation {last['val_accuracy'] * 100:.1f}%)"
            parts.append(acc)
        if total and done and "ETA" not in parts[1]:
            elapsed = time.monotonic() - self._start_time
            parts.append(f"ETA {format_seconds(elapsed * (total - done) / done)}")
        self.status.setText(" · ".join(p for p in parts if p))

    def _on_finished(self, result: JobResult) -> None:
        self.result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if result.ok else 0)
        elapsed = format_seconds(time.monotonic() - self._start_time)
        if result.ok:
            self.status.setText(f"Finished in {elapsed}.")
        elif result.cancelled:
            self.status.setText("Cancelled; nothing was saved.")
        else:
            self.status.setText(f"Failed: {result.message}")
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        self.start_button.setText("Run Again")
        for w in self.fields.values():
            w.setEnabled(True)
        self.jobFinished.emit(self.spec, result)

    def closeEvent(self, event) -> None:
        if self.running:
            if not dialogs.ask(self, self.spec.title, "The job is still running. Stop it?"):
                event.ignore()
                return
            self.runner.cancel_and_wait()
        super().closeEvent(event)

    def reject(self) -> None:  # Escape
        self.close()
