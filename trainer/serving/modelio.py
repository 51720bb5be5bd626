"""Saving (atomically, with the card) and loading (safe mode, card checked) models; batch inference and
the one-input pass a newer request can stop."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trainer.atomic import temp_beside
from trainer.data.preprocess import ImageLike, to_model_input
from trainer.digest import file_sha256
from trainer.errors import ModelError
from trainer.faults import fault_point
from trainer.paths import card_path
from trainer.progress import CancelToken
from trainer.serving import modelfiles
from trainer.serving.card import ModelCard, legacy_notebook_card
from trainer.serving.onnx import Session, twin_path

if TYPE_CHECKING:
    from trainer.serving.interruptible import InterruptibleForward

MODEL_SUFFIXES = (".keras", ".h5")

log = logging.getLogger(__name__)


def save_model(model, card: ModelCard, path: str | os.PathLike, cancel: CancelToken | None = None) -> Path:
    """Save ``model`` as ``path`` (.keras) with its card and ONNX twin beside it, replacing the old files all
    together or not at all (trainer.serving.modelfiles).

    The files are written to temp files first; a cancel (``cancel`` or SIGINT/SIGTERM) before the last rename
    raises Cancelled with the old files untouched. Without tf2onnx, or for a model it cannot convert, no twin
    is written and the card says why.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"Models are saved as .keras files; {path} has another suffix.")
    model_tmp = card_tmp = twin_tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with modelfiles.locked(path, modelfiles.SAVE_LOCK_TIMEOUT):
            modelfiles.recover(path)
            fault_point("save:locked")
            model_tmp = temp_beside(path)
            model.save(model_tmp)
            modelfiles.write_contract(model_tmp, card)
            fault_point("save:model-written")
            twin_tmp, twin_missing = _export_twin(model, card, path)
            fault_point("save:onnx-written")
            card_tmp = temp_beside(card_path(path))
            card_tmp.write_bytes(modelfiles.stamp_card(card, model_tmp, twin_tmp, twin_missing))
            fault_point("save:card-written")
            if cancel:
                cancel.check()
            modelfiles.commit(path, model_tmp, card_tmp, twin_tmp, abort=lambda: bool(cancel and cancel.cancelled))
    except OSError as exc:
        raise ModelError(f"Cannot write the model to {path}: {exc.strerror or exc}.") from exc
    finally:
        for tmp in (model_tmp, card_tmp, twin_tmp):
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    return path


def _export_twin(model, card: ModelCard, path: Path) -> tuple[Path | None, str | None]:
    """Write the ONNX twin to a temp file beside ``path``: (its path, None), or (None, why there is none)."""
    try:
        from trainer.serving.onnx import export_onnx
    except ImportError as exc:  # pragma: no cover - the module ships with MathSym
        return None, f"no ONNX exporter ({exc})"
    shape = getattr(model, "input_shape", None)
    size = shape[1] if isinstance(shape, tuple) and len(shape) == 4 and shape[1] else card.input_size
    rng = np.random.default_rng(0)
    check = np.concatenate(
        [
            np.zeros((1, size, size, 3), np.uint8),
            np.full((1, size, size, 3), 255, np.uint8),
            rng.integers(0, 256, (2, size, size, 3), dtype=np.uint8),
        ]
    )
    tmp = temp_beside(twin_path(path))
    try:
        export_onnx(model, tmp, check, scale=1 / 255 if card.scaling == "outside" else 1.0)
    except Exception as exc:  # any failure of the exporter: the model is still saved, without its twin
        tmp.unlink(missing_ok=True)
        return None, f"ONNX export failed: {exc}"
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, None


class LoadedModel:
    """A model with its card: preprocess per the card, batch-predict, top-k, and a one-input pass a newer
    request can stop. This class runs a Keras model through a compiled graph; :class:`OnnxModel` runs the
    model's ONNX twin instead and is what :func:`load_model` gives when the twin is there."""

    backend = "keras"

    def __init__(self, keras_model, card: ModelCard, path: Path | None = None) -> None:
        import tensorflow as tf

        self.keras_model = keras_model
        self.card = card
        self.path = path
        size = card.input_size
        scale = 1.0 / 255.0 if card.scaling == "outside" else 1.0

        @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8)], reduce_retracing=True)
        def forward(batch):
            return keras_model(tf.cast(batch, tf.float32) * scale, training=False)

        self._forward = forward
        self._scale = scale
        self._interruptible: InterruptibleForward | None = None  # built by warm_up

    @property
    def labels(self) -> list[str]:
        return self.card.labels

    @property
    def name(self) -> str:
        return self.path.name if self.path else self.card.architecture

    def preprocess(self, image: ImageLike) -> np.ndarray:
        """The exact (size, size, 3) uint8 array this model sees for an image."""
        return to_model_input(image, self.card.preprocessing, self.card.input_size)

    def predict_inputs(self, inputs: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Probabilities (N, classes) for preprocessed uint8 inputs (N, size, size, 3)."""
        inputs = np.asarray(inputs, dtype=np.uint8)
        if inputs.ndim == 3:
            inputs = inputs[None]
        out = [self._run_batch(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def _run_batch(self, batch: np.ndarray) -> np.ndarray:
        return self._forward(batch).numpy()

    def predict(self, image: ImageLike) -> np.ndarray:
        """Probabilities for one image of any kind (file, bytes, array)."""
        return self.predict_inputs(self.preprocess(image))[0]

    def top_k(self, probabilities: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(probabilities)[::-1][:k]
        return [(self.labels[i], float(probabilities[i])) for i in order]

    def warm_up(self) -> None:
        """Trace the graphs once so the first real prediction is fast, and build the pass that
        :meth:`predict_latest` can stop (for long-lived users such as the drawing pad). Checking that pass
        against :meth:`predict_inputs` traces the batch graph too."""
        from trainer.serving.interruptible import InterruptibleForward

        self._interruptible = InterruptibleForward.for_model(
            self.keras_model, self.card.input_size, self._scale, self.predict_inputs
        )

    @property
    def interruptible(self) -> bool:
        """Whether :meth:`predict_latest` stops when superseded (after warm_up, for chain-shaped models)."""
        return self._interruptible is not None

    def predict_latest(self, x: np.ndarray, ticket: int) -> np.ndarray | None:
        """Probabilities for one preprocessed input, or None when :meth:`supersede` named a newer ticket
        while it ran: the pass then stops within about one layer instead of finishing a stale answer."""
        if self._interruptible is None:
            return self.predict_inputs(x)[0]
        return self._interruptible.run(x, ticket)

    def supersede(self, ticket: int) -> None:
        """Thread-safe: a :meth:`predict_latest` running with an older ticket gives up."""
        if self._interruptible is not None:
            self._interruptible.supersede(ticket)


class OnnxModel(LoadedModel):
    """The model served from its ONNX twin by ONNX Runtime: no TensorFlow at all, ~1 ms a pass for the
    default model. ``keras_model`` still works: it loads the Keras file on first use (training, export)."""

    backend = "onnx"

    def __init__(self, session: Session, card: ModelCard, path: Path) -> None:
        self.card = card
        self.path = path
        self._session = session
        self._keras_model = None

    @classmethod
    def open(cls, twin: Path, card: ModelCard | None, path: Path) -> OnnxModel:
        """The twin ``twin`` of model file ``path``; ModelError when it is unreadable or does not match the
        card (its recorded sha256, labels or input size)."""
        expected = _recorded_twin_hash(card)
        if expected and file_sha256(twin) != expected:
            raise ModelError("its sha256 differs from the one in the model card")
        session = Session(twin)
        size = session.input_shape[1]
        if card is None:
            card = legacy_notebook_card(path, size if isinstance(size, int) else 224)
        if session.input_shape[1:] != (card.input_size, card.input_size, 3) or session.output_shape[-1] != len(
            card.labels
        ):
            raise ModelError(
                f"it maps {session.input_shape} to {session.output_shape}, but the card says "
                f"{card.input_size}x{card.input_size} RGB to {len(card.labels)} classes"
            )
        return cls(session, card, path)

    @property
    def keras_model(self):
        if self._keras_model is None:
            self._keras_model = _read_keras(self.path, self.card)
        return self._keras_model

    def _run_batch(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(batch)

    def warm_up(self) -> None:
        """One pass on a blank input: ONNX Runtime allocates its buffers on the first run."""
        size = self.card.input_size
        self._session.run(np.full((1, size, size, 3), 255, np.uint8))

    @property
    def interruptible(self) -> bool:
        return True

    def predict_latest(self, x: np.ndarray, ticket: int) -> np.ndarray | None:
        out = self._session.run_latest(np.asarray(x, np.uint8)[None], ticket)
        return None if out is None else out[0]

    def supersede(self, ticket: int) -> None:
        self._session.supersede(ticket)


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Load a .keras model (with its card) or a legacy notebook .h5 (card inferred unless present).

    When the ONNX twin (``X.onnx``) is beside it and matches the card, the model runs from the twin
    (:class:`OnnxModel`, no TensorFlow); a twin that is corrupt, does not match, or that the card records but
    is missing is logged in one line and Keras runs the model instead. Keras safe mode is on. Raises
    ModelError when the file is missing, corrupt, not a model, or when the card's labels or input size
    disagree with the model.
    """
    path = Path(path)
    card = checked_card(path)
    twin = twin_path(path)
    problem = "the model card records it but it is missing"
    if twin.is_file():
        try:
            return OnnxModel.open(twin, card, path)
        except ModelError as exc:
            problem = str(exc)
    if twin.is_file() or _recorded_twin_hash(card):
        log.warning("%s: not using its ONNX twin %s (%s); running it with Keras.", path.name, twin.name, problem)
    model = _read_keras(path, card)
    return LoadedModel(model, card or legacy_notebook_card(path, model.input_shape[1] or 224), path)


def checked_card(path: str | os.PathLike) -> ModelCard | None:
    """The card of model file ``path`` after the checks every use of a model makes before loading it: a file
    (not a folder) with a model suffix, an .h5 that is HDF5 at all, a save killed half-way undone, the card
    present and matching the file. None for a notebook .h5 without a card. Raises ModelError."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a model file.")
    if not path.is_file():
        raise ModelError(f"Model file {path} does not exist.")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(f"{path.name} is not a model file; open a .keras model or a notebook .h5.")
    if path.suffix.lower() == ".h5":
        import h5py

        if not h5py.is_hdf5(path):
            raise ModelError(f"{path} is not an HDF5 file (empty, truncated or another format), so not a model.")
    modelfiles.repair(path)
    cpath = card_path(path)
    card = ModelCard.read(cpath) if cpath.is_file() else None
    if card is None and path.suffix.lower() != ".h5":
        raise ModelError(f"Model {path.name} has no model card; expected {cpath.name} beside it.")
    if card is not None:
        modelfiles.check_files(path, card)
    return card


def check_twin(path: Path, card: ModelCard | None) -> OnnxModel | None:
    """The ONNX twin beside ``path``, opened as :func:`load_model` would run it; None when there is none.

    Raises ModelError when the twin cannot stand in for the model (unreadable, another model's, not the file
    the card records), or is missing though the card records it: :func:`load_model` only logs this and runs
    Keras; a check must say it."""
    twin = twin_path(path)
    if twin.is_file():
        try:
            return OnnxModel.open(twin, card, path)
        except ModelError as exc:
            raise ModelError(f"The ONNX twin {twin} does not belong to the model: {exc}.") from exc
    if _recorded_twin_hash(card):
        raise ModelError(f"The ONNX twin {twin} that the model card records is missing.")
    return None


def add_twin(path: str | os.PathLike) -> Path:
    """Write the ONNX twin of a model that runs through Keras (a notebook .h5, a model saved before twins
    existed), checked on template drawings preprocessed per its card, so that it loads without TensorFlow
    from then on. A version 2 card records the twin's hash; twin and card change together. Returns the twin."""
    from trainer.atomic import fsync_file, replace_together
    from trainer.data.strokes import TEMPLATES, draw_symbol
    from trainer.serving.onnx import export_onnx

    path = Path(path)
    model = load_model(path)
    twin = twin_path(path)
    if model.backend == "onnx":
        return twin
    rng = np.random.default_rng(0)
    check = np.stack([model.preprocess(draw_symbol(name, rng, size=128)) for name in TEMPLATES])
    temps: list[Path] = []
    try:
        with modelfiles.locked(path, modelfiles.SAVE_LOCK_TIMEOUT):
            temps.append(temp_beside(twin))
            export_onnx(model.keras_model, temps[0], check, 1 / 255 if model.card.scaling == "outside" else 1.0)
            changes = [(temps[0], twin)]
            if model.card.files:
                model.card.files = {**model.card.files, "onnx": file_sha256(temps[0])}
                model.card.files.pop("onnx_missing", None)
                temps.append(temp_beside(card_path(path)))
                temps[1].write_bytes(model.card.to_json().encode("utf-8"))
                changes.append((temps[1], card_path(path)))
            for tmp in temps:
                fsync_file(tmp)
            replace_together(changes, modelfiles.journal_path(path))
    except OSError as exc:
        raise ModelError(f"Cannot write the ONNX twin {twin}: {exc.strerror or exc}.") from exc
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return twin


def _recorded_twin_hash(card: ModelCard | None) -> str | None:
    """The twin's sha256 as the card records it (cards written before the twin existed have none)."""
    return (card.files or {}).get("onnx") if card is not None else None


def _read_keras(path: Path, card: ModelCard | None):
    """The Keras model in ``path`` (safe mode), checked against its card when there is one."""
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean "not a usable model".
        raise ModelError(f"{path.name} is not a loadable Keras model ({type(exc).__name__}: {exc}).") from exc
    if not isinstance(model, keras.Model):
        raise ModelError(f"{path.name} does not contain a Keras model.")
    _check_against_card(model, card or legacy_notebook_card(path, model.input_shape[1] or 224), path)
    return model


def _check_against_card(model, card: ModelCard, path: Path) -> None:
    out = model.output_shape
    if isinstance(out, list) or len(out) != 2 or out[-1] != len(card.labels):
        raise ModelError(
            f"{path.name} outputs {out} but its card lists {len(card.labels)} labels; the card does not "
            "belong to this model."
        )
    shape = model.input_shape
    if (
        isinstance(shape, list)
        or len(shape) != 4
        or shape[3] != 3
        or (shape[1] is not None and (shape[1], shape[2]) != (card.input_size, card.input_size))
    ):
        raise ModelError(
            f"{path.name} takes inputs of shape {shape}, but its card says {card.input_size}x{card.input_size} RGB."
        )
