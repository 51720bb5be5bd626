"""Model loading and live recognition on a worker thread; the GUI thread only posts requests.

There is one "latest pending" slot for drawings and one for a model to load: a newer request replaces an
older one that has not started (stale drawings are dropped, never queued), and one already running gives
up at its next stage or layer (``LoadedModel.predict_latest``), so the newest drawing never waits for a
stale forward pass. Results carry the id of their request so the window can ignore answers to requests it
has superseded (e.g. after Clear).
"""

from __future__ import annotations

import gc
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from trainer.errors import EmptyImageError, MathSymError

from .drawing import Drawing, render
from .reading import read_drawing

if TYPE_CHECKING:  # for the annotation only: the worker thread imports modelio when it loads a model
    from trainer.serving.modelio import LoadedModel
    from trainer.serving.reader import Reading


@dataclass
class Prediction:
    """What the model said about one drawing, with the exact input it saw."""

    request_id: int
    top: list[tuple[str, float]] = field(default_factory=list)
    preview: np.ndarray | None = None  # the preprocessed (size, size, 3) model input
    model_name: str = ""
    empty: bool = False  # nothing drawn (e.g. everything erased): no classes, no error
    error: str = ""  # a user-ready sentence when the drawing could not be classified
    seconds: float = 0.0  # worker time: rasterise + preprocess + predict
    stages: dict = field(default_factory=dict)  # seconds per stage: render, preprocess, predict
    started_at: float = 0.0  # time.perf_counter() when the worker picked the request up
    finished_at: float = 0.0  # time.perf_counter() when the worker emitted the result
    reading: Reading | None = None  # when the ink holds a line of symbols


def limit_library_threads() -> None:
    """One OpenCV and one BLAS thread in the pad's process. The preprocessing's tiny images and least-squares
    fits gain nothing from more: waking OpenCV's pool cost ~0.2 ms per drawing, and OpenBLAS's spinning
    helper threads starve the GUI thread on a busy machine (stalls of ~1 s were measured while a training
    job ran)."""
    cv2.setNumThreads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    except Exception:  # threadpoolctl missing or no BLAS found: nothing to limit
        pass


class _Worker(QThread):
    """Loops waiting for the newest request; loads models and classifies drawings."""

    def __init__(self, owner: Recognizer) -> None:
        super().__init__()
        self.setObjectName("recognizer")
        self._owner = owner
        self._cond = threading.Condition()
        self._drawing: tuple[int, Drawing] | None = None
        self._model_path: tuple[int, str] | None = None
        self._stop = False
        self._running = False  # a drawing is being classified
        self.model: LoadedModel | None = None  # used here; the GUI thread only calls its supersede()

    def post_drawing(self, request_id: int, drawing: Drawing | None) -> None:
        """Make ``drawing`` the next to classify (None: nothing); any older one is dropped or stopped."""
        with self._cond:
            self._drawing = (request_id, drawing) if drawing is not None else None
            if self._running and self.model is not None:
                self.model.supersede(request_id)
            self._cond.notify()

    def _superseded(self) -> bool:
        return self._drawing is not None or self._stop

    def post_model(self, ticket: int, path: str) -> None:
        with self._cond:
            self._model_path = (ticket, path)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    def run(self) -> None:
        limit_library_threads()
        while True:
            with self._cond:
                while not (self._stop or self._drawing or self._model_path):
                    self._cond.wait()
                if self._stop:
                    return
                job_model, self._model_path = self._model_path, None
                job_drawing = None
                if job_model is None:
                    job_drawing, self._drawing = self._drawing, None
                self._running = job_drawing is not None
            if job_model is not None:
                self._load(*job_model)
            elif job_drawing is not None:
                started = time.perf_counter()
                prediction = self._classify(*job_drawing)
                self._running = False
                if prediction is not None:  # None: given up for a newer request
                    prediction.started_at, prediction.finished_at = started, time.perf_counter()
                    self._owner.predicted.emit(prediction)

    def _load(self, ticket: int, path: str) -> None:
        try:
            from trainer.serving.modelio import load_model

            model = load_model(path)
            model.warm_up()
        except MathSymError as exc:
            self._owner.modelFailed.emit(ticket, path, str(exc), "")
            return
        except Exception as exc:  # a library error: still a message, with the traceback as detail
            self._owner.modelFailed.emit(ticket, path, f"The model could not be loaded: {exc}", traceback.format_exc())
            return
        with self._cond:
            self.model = model
        # TensorFlow brings hundreds of thousands of long-lived objects; a full garbage collection walking
        # them holds the GIL for 100+ ms and freezes the GUI thread. Freeze them out of future collections.
        gc.collect()
        gc.freeze()
        self._owner.modelLoaded.emit(ticket, model)

    def _classify(self, request_id: int, drawing: Drawing) -> Prediction | None:
        start = time.perf_counter()
        model = self.model
        if model is None:
            return Prediction(request_id, error="No model is loaded.")
        if drawing.is_empty:
            return Prediction(request_id, model_name=model.name, empty=True)
        try:
            reading = read_drawing(model, drawing)
            if reading is not None:
                seconds = time.perf_counter() - start
                return Prediction(
                    request_id, model_name=model.name, seconds=seconds, stages={"read": seconds}, reading=reading
                )
            raster = render(drawing)
            t1 = time.perf_counter()
            x = model.preprocess(raster)
            t2 = time.perf_counter()
            if self._superseded():
                return None
            probs = model.predict_latest(x, request_id)
            if probs is None:
                return None
            t3 = time.perf_counter()
        except EmptyImageError:
            return Prediction(request_id, model_name=model.name, empty=True)
        except MathSymError as exc:
            return Prediction(request_id, model_name=model.name, error=str(exc))
        except Exception as exc:  # keep the pad alive whatever the model does
            return Prediction(request_id, model_name=model.name, error=f"Recognition failed: {exc}")
        return Prediction(
            request_id,
            model.top_k(probs, 5),
            x,
            model.name,
            seconds=t3 - start,
            stages={"render": t1 - start, "preprocess": t2 - t1, "predict": t3 - t2},
        )


class Recognizer(QObject):
    """The GUI-side handle: ``classify(drawing)`` and ``load(path)`` never block.

    Signals (delivered on the GUI thread): ``predicted(Prediction)``,
    ``modelLoaded(ticket, LoadedModel)``, ``modelFailed(ticket, path, message, detail)``.
    """

    predicted = Signal(object)
    modelLoaded = Signal(int, object)
    modelFailed = Signal(int, str, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._next_id = 0
        self._awaited: int | None = None  # the newest drawing request whose answer has not come yet
        self.predicted.connect(self._on_predicted)
        self._worker = _Worker(self)
        self._worker.start()

    #: Request ids grow across every Recognizer of the process: they are also the model's supersede tickets,
    #: and a model shared by two windows (tests share loaded models) must never see a ticket go backwards.
    _issued = 0

    def _take_id(self) -> int:
        Recognizer._issued += 1
        self._next_id = Recognizer._issued
        return self._next_id

    def discard(self) -> int:
        """Drop the pending drawing and stop the running one (e.g. the canvas was cleared); returns the
        first request id whose answer is still wanted."""
        rid = self._take_id()
        self._awaited = None
        self._worker.post_drawing(rid, None)
        return rid

    def is_idle(self) -> bool:
        """True when no posted drawing is waiting for its answer (tests and benchmarks wait on this)."""
        return self._awaited is None

    def _on_predicted(self, prediction: Prediction) -> None:
        if self._awaited is not None and prediction.request_id >= self._awaited:
            self._awaited = None

    @property
    def latest_id(self) -> int:
        return self._next_id

    def classify(self, drawing: Drawing) -> int:
        """Post a drawing (replacing one not yet started, stopping one running); returns its request id."""
        rid = self._take_id()
        self._awaited = rid
        self._worker.post_drawing(rid, drawing)
        return rid

    def load(self, path: str) -> int:
        """Load a model in the background; the current one keeps working until the new one is ready."""
        ticket = self._take_id()
        self._worker.post_model(ticket, str(path))
        return ticket

    def shutdown(self, timeout_ms: int = 30000) -> None:
        self._worker.stop()
        self._worker.wait(timeout_ms)
