"""The Keras callback every training run shares: progress events and cancellation."""

from __future__ import annotations

import time

import keras

from trainer.progress import CancelToken, Progress, ProgressFn, ignore


class KerasProgress(keras.callbacks.Callback):
    """Reports batches and epochs as Progress events and stops a fit when the token is cancelled."""

    def __init__(
        self, stage: str, epochs: int, progress: ProgressFn = ignore, cancel: CancelToken | None = None
    ) -> None:
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
            self.progress(
                Progress(
                    self.stage,
                    self._epoch * steps + batch + 1,
                    self.epochs * steps,
                    f"epoch {self._epoch + 1}/{self.epochs}",
                )
            )

    def on_epoch_end(self, epoch, logs=None):
        metrics = {
            k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float)) or hasattr(v, "__float__")
        }
        metrics["epoch"] = epoch + 1
        self.history.append(metrics)
        elapsed = time.monotonic() - self._start
        eta = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
        steps = self.params.get("steps") or 1
        self.progress(
            Progress(
                self.stage,
                (epoch + 1) * steps,
                self.epochs * steps,
                f"epoch {epoch + 1}/{self.epochs}, ETA {eta:.0f} s",
                metrics,
            )
        )
