"""Saving (atomically, with the card) and loading (safe mode, card checked) models; batch inference and
the one-input pass a newer request can stop."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from .card import ModelCard, card_path, legacy_notebook_card
from .errors import ModelError
from .preprocess import ImageLike, to_model_input

MODEL_SUFFIXES = (".keras", ".h5")


def _readable_like_new_files(path: str) -> None:
    """mkstemp makes 0600 files; models and cards are meant to be shared like any document (0644)."""
    os.chmod(path, 0o644)


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file through ``write(file)`` so readers see the old or the new content, never a half one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _readable_like_new_files(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """:func:`atomic_write` of a bytes object."""
    atomic_write(path, lambda f: f.write(data))


def save_model(model, card: ModelCard, path: str | os.PathLike) -> Path:
    """Save ``model`` as ``path`` (.keras) with its card beside it; both replace old files atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"Models are saved as .keras files; {path} has another suffix.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
        os.close(fd)
        try:
            model.save(tmp)
            _readable_like_new_files(tmp)
            atomic_write_bytes(card_path(path), card.to_json().encode("utf-8"))
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        raise ModelError(f"Cannot write the model to {path}: {exc.strerror or exc}.") from exc
    return path


class LoadedModel:
    """A Keras model with its card: preprocess per the card, batch-predict through a compiled graph."""

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
        self._interruptible = None  # built by warm_up

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
        out = [self._forward(inputs[i:i + batch_size]).numpy() for i in range(0, len(inputs), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

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
        from .interruptible import InterruptibleForward

        self._interruptible = InterruptibleForward.for_model(self.keras_model, self.card.input_size, self._scale,
                                                             self.predict_inputs)

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


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Load a .keras model (with its card) or a legacy notebook .h5 (card inferred unless present).

    Keras safe mode is on. Raises ModelError when the file is missing, corrupt, not a model, or when the
    card's labels or input size disagree with the model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"Model file {path} does not exist.")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(f"{path.name} is not a model file; open a .keras model or a notebook .h5.")
    cpath = card_path(path)
    card = ModelCard.read(cpath) if cpath.is_file() else None
    if card is None and path.suffix.lower() != ".h5":
        raise ModelError(f"Model {path.name} has no model card; expected {cpath.name} beside it.")

    import keras

    from .models import layers  # noqa: F401  (registers our custom layers for deserialisation)

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean "not a usable model".
        raise ModelError(f"{path.name} is not a loadable Keras model ({type(exc).__name__}: {exc}).") from exc
    if not isinstance(model, keras.Model):
        raise ModelError(f"{path.name} does not contain a Keras model.")
    if card is None:
        card = legacy_notebook_card(path, model.input_shape[1] or 224)
    _check_against_card(model, card, path)
    return LoadedModel(model, card, path)


def _check_against_card(model, card: ModelCard, path: Path) -> None:
    out = model.output_shape
    if isinstance(out, list) or len(out) != 2 or out[-1] != len(card.labels):
        raise ModelError(
            f"{path.name} outputs {out} but its card lists {len(card.labels)} labels; the card does not "
            "belong to this model."
        )
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4 or shape[3] != 3 or (
        shape[1] is not None and (shape[1], shape[2]) != (card.input_size, card.input_size)
    ):
        raise ModelError(
            f"{path.name} takes inputs of shape {shape}, but its card says {card.input_size}x"
            f"{card.input_size} RGB."
        )
