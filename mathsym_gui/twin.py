"""Creating a model's ONNX twin from the pad: the export needs TensorFlow, which the pad never imports, so it
runs as a background job (``mathsym-train onnx MODEL``) like training does."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

from .jobs import JobRunner


class TwinMaker(QObject):
    """``start(model_path)`` runs the export job; ``finished(model_path, JobResult)`` when it ends."""

    finished = Signal(str, object)

    def __init__(self, cli: list[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cli = list(cli)
        self._path = ""
        self.runner = JobRunner(self)
        self.runner.finished.connect(lambda result: self.finished.emit(self._path, result))

    @property
    def running(self) -> bool:
        return self.runner.running

    def start(self, model_path: str | os.PathLike) -> None:
        self._path = str(model_path)
        self.runner.start([*self._cli, "onnx", self._path, "--progress", "json"])
