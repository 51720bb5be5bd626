"""The model card: the contract a saved model carries beside it, so no caller guesses.

``X.keras`` has its card in ``X.card.json``: labels, input size, preprocessing, architecture, dataset,
split, metrics, training and library versions.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import ModelError
from .labels import CLASS_NAMES
from .preprocess import INPUT_SIZE, METHODS

CARD_FORMAT = "mathsym-model-card/1"


@dataclass
class ModelCard:
    labels: list[str]
    architecture: str
    input_size: int = INPUT_SIZE
    preprocessing: str = "ink"  # a trainer.preprocess method
    scaling: str = "inside"  # "inside": the model takes raw 0-255 RGB; "outside": feed /255 (legacy notebook)
    dataset: dict = field(default_factory=dict)  # path, image count, skipped, duplicates
    split: dict = field(default_factory=dict)  # trainer.split.Split.describe()
    metrics: dict = field(default_factory=dict)  # test accuracy, per-class recall, confusion matrix, report
    training: dict = field(default_factory=dict)  # command, epochs, hyper-parameters, seconds
    versions: dict = field(default_factory=dict)
    created: str = ""
    notes: str = ""
    format: str = CARD_FORMAT

    def __post_init__(self) -> None:
        if not self.labels or not all(isinstance(x, str) for x in self.labels):
            raise ModelError("The model card's labels must be a non-empty list of class names.")
        if self.preprocessing not in METHODS:
            raise ModelError(f"The model card names an unknown preprocessing {self.preprocessing!r}.")
        if self.scaling not in ("inside", "outside"):
            raise ModelError(f"The model card names an unknown scaling {self.scaling!r}.")
        if not isinstance(self.input_size, int) or not 8 <= self.input_size <= 1024:
            raise ModelError(f"The model card's input size {self.input_size!r} is not a usable image size.")

    @property
    def test_accuracy(self) -> float | None:
        value = self.metrics.get("test_accuracy")
        return float(value) if value is not None else None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError as exc:
            raise ModelError(f"The model card is incomplete: {exc}.") from exc

    @classmethod
    def read(cls, path: str | os.PathLike) -> ModelCard:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"Model card {path} cannot be read: {exc}.") from exc
        if not isinstance(data, dict):
            raise ModelError(f"Model card {path} is not a JSON object.")
        return cls.from_dict(data)


def card_path(model_path: str | os.PathLike) -> Path:
    """Where the card of a model file lives: ``name.keras`` -> ``name.card.json``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


def legacy_notebook_card(model_path: str | os.PathLike, input_size: int = INPUT_SIZE) -> ModelCard:
    """The card a notebook ``.h5`` never had: notebook labels and preprocessing, /255 outside the model."""
    return ModelCard(
        labels=list(CLASS_NAMES),
        architecture="notebook model (.h5)",
        input_size=int(input_size),
        preprocessing="notebook",
        scaling="outside",
        notes=f"Legacy notebook model {Path(model_path).name}; card inferred, no metrics recorded.",
    )


def library_versions() -> dict:
    """Versions that matter for reproducing a model (imports are the caller's: TF is already loaded)."""
    import keras
    import numpy
    import tensorflow as tf

    from . import __version__

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "mathsym": __version__,
    }


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
