"""Pieces every training run shares: progress/cancel callback, output paths, the run record."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import keras

from .progress import CancelToken, Progress, ProgressFn, ignore

#: Where trained models go by default (the app picks the newest one here).
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def default_output(architecture: str, models_dir: str | os.PathLike = MODELS_DIR) -> Path:
    """A fresh, time-stamped model path such as ``models/vgg19-20261125-143000.keras``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(models_dir) / f"{architecture}-{stamp}.keras"


class KerasProgress(keras.callbacks.Callback):
    """Reports batches and epochs as Progress events and stops a fit when the token is cancelled."""

    def __init__(self, stage: str, epochs: int, progress: ProgressFn = ignore,
                 cancel: CancelToken | None = None) -> None:
        super().__init__()
        self.stage, self.epochs, self.progress, self.cancel = stage, epochs, progress, cancel
        self.history: list[dict] = []
        self._start = time.monotonic()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.cancel:
            self.cancel.check()
        steps = self.params.get("steps") or 0
        if steps:
            self.progress(Progress(self.stage, self._epoch * steps + batch + 1, self.epochs * steps,
                                   f"epoch {self._epoch + 1}/{self.epochs}"))

    def on_epoch_end(self, epoch, logs=None):
        metrics = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float)) or hasattr(v, "__float__")}
        metrics["epoch"] = epoch + 1
        self.history.append(metrics)
        elapsed = time.monotonic() - self._start
        eta = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
        steps = self.params.get("steps") or 1
        self.progress(Progress(self.stage, (epoch + 1) * steps, self.epochs * steps,
                               f"epoch {epoch + 1}/{self.epochs}, ETA {eta:.0f} s", metrics))
