"""The model card: the contract a saved model carries beside it, so no caller guesses.

``X.keras`` has its card in ``X.card.json``: labels, input size, preprocessing, architecture, dataset,
split, metrics, training and library versions.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trainer.data.preprocess import INPUT_SIZE
from trainer.digest import file_sha256
from trainer.errors import ModelError
from trainer.labels import CLASS_NAMES
from trainer.serving.card_schema import CARD_FORMAT, CARD_VERSION, card_version, check_card
from trainer.serving.onnx import twin_path


@dataclass
class ModelCard:
    labels: list[str]
    architecture: str
    input_size: int = INPUT_SIZE
    preprocessing: str = "ink"  # a trainer.data.preprocess method
    scaling: str = "inside"  # "inside": the model takes raw 0-255 RGB; "outside": feed /255 (legacy notebook)
    dataset: dict = field(default_factory=dict)  # path, image count, skipped, duplicates
    split: dict = field(default_factory=dict)  # trainer.data.split.Split.describe()
    metrics: dict = field(default_factory=dict)  # test accuracy, per-class recall, confusion matrix, report
    training: dict = field(default_factory=dict)  # command, epochs, hyper-parameters, seconds
    versions: dict = field(default_factory=dict)
    created: str = ""
    notes: str = ""
    format: str = CARD_FORMAT
    card_version: int = CARD_VERSION
    files: dict = field(default_factory=dict)  # SHA-256 of the model and ONNX files: set by save_model

    def __post_init__(self) -> None:
        self.validate(require_files=False)

    def validate(self, require_files: bool = True) -> None:
        """Raise ModelError unless the card follows the schema (trainer.serving.card_schema). A card being
        built has no file hashes yet; ``require_files`` is False until save_model records them."""
        data = asdict(self)
        if not require_files and not self.files:
            data["card_version"] = 1
        try:
            check_card(data)
        except ModelError as exc:
            raise ModelError(f"The model card is not valid: {exc}.") from exc

    def record_metrics(self, metrics: dict) -> None:
        """Take test metrics from a new evaluation, refusing ones from another test split than the card records
        (``metrics["evaluated_split"]``): its dataset and split describe how the model was trained and tested,
        so metrics measured elsewhere would contradict them. A card recording no split takes any."""
        recorded = self.split.get("test_fingerprint")
        measured = metrics.get("evaluated_split") or {}
        if recorded and measured.get("test_fingerprint") != recorded:
            s = self.split
            raise ModelError(
                f"The card records metrics on another test split ({s.get('kind')}, seed {s.get('seed')}, "
                f"{s.get('test')} images of {self.dataset.get('path', 'its dataset')}) than this evaluation's "
                f"({measured.get('kind')}, seed {measured.get('seed')}, {measured.get('test')} images); the card "
                "was not changed: only a score on its own test split can replace its metrics."
            )
        self.metrics = metrics

    @property
    def test_accuracy(self) -> float | None:
        value = self.metrics.get("test_accuracy")
        return float(value) if value is not None else None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict, source: str = "The model card") -> ModelCard:
        """A card from parsed JSON, checked against the schema (unknown keys are ignored)."""
        try:
            check_card(data)
            version = card_version(data)
        except ModelError as exc:
            raise ModelError(f"{source} is malformed: {exc}.") from exc
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["card_version"] = version
        return cls(**known)

    @classmethod
    def read(cls, path: str | os.PathLike) -> ModelCard:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelError(f"Model card {path} cannot be read: {exc}.") from exc
        if not isinstance(data, dict):
            raise ModelError(f"Model card {path} is not a JSON object.")
        return cls.from_dict(data, f"Model card {path}")


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

    from trainer import __version__

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "mathsym": __version__,
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def card_summary(path: Path, card: ModelCard) -> list[str]:
    """The card as aligned human-readable lines (``mathsym-train info``)."""
    from trainer.labels import symbol

    lines = [
        f"Model:          {path}",
        f"Architecture:   {card.architecture}",
        f"Input:          {card.input_size}x{card.input_size} RGB, preprocessing {card.preprocessing!r}, "
        f"scaling {card.scaling}",
        f"Labels ({len(card.labels)}):    " + " ".join(symbol(x) for x in card.labels),
    ]
    if card.created:
        lines.append(f"Created:        {card.created}")
    d = card.dataset
    if d:
        extra = []
        if d.get("skipped"):
            extra.append(f"{len(d['skipped'])} skipped")
        if d.get("unreadable"):
            extra.append(f"{len(d['unreadable'])} unreadable")
        if d.get("duplicate_groups") is not None:
            extra.append(
                f"{d['duplicate_groups']} duplicate groups, {len(d.get('cross_class_duplicates') or [])} across classes"
            )
        lines.append(
            f"Dataset:        {d.get('path', '?')} ({d.get('images', '?')} images"
            + (f"; {', '.join(extra)}" if extra else "")
            + ")"
        )
    s = card.split
    if s:
        lines.append(
            f"Split:          {s.get('kind', '?')}, seed {s.get('seed', '?')}: train {s.get('train', '?')}"
            f" (fit {s.get('fit', '?')}, validation {s.get('val', '?')}), test {s.get('test', '?')}, "
            f"fingerprint {s.get('test_fingerprint', '?')}"
        )
    m = card.metrics
    if m and m.get("test_accuracy") is not None:
        total = m.get("test_images", 0)
        lines.append(f"Test accuracy:  {m['test_accuracy'] * 100:.2f} % ({total - m.get('test_errors', 0)}/{total})")
        recall = m.get("per_class_recall") or {}
        if recall:
            worst = sorted(recall.items(), key=lambda kv: kv[1])[:3]
            lines.append("Weakest recall: " + ", ".join(f"{symbol(k)} {v * 100:.1f} %" for k, v in worst))
    else:
        lines.append("Test accuracy:  not recorded")
    t = card.training
    if t:
        parts = [f"{k} {t[k]}" for k in ("epochs", "batch_size", "best_epoch", "seconds") if t.get(k) is not None]
        if parts:
            lines.append("Training:       " + ", ".join(parts))
        if t.get("command"):
            lines.append(f"Command:        {t['command']}")
    lines.append(f"ONNX twin:      {twin_status(path, card)}")
    if card.versions:
        lines.append("Versions:       " + ", ".join(f"{k} {v}" for k, v in card.versions.items()))
    if card.notes:
        lines.append(f"Notes:          {card.notes}")
    return lines


def twin_status(path: Path, card: ModelCard) -> str:
    """Whether the ONNX twin beside ``path`` is the file the card records (the loader runs only that one), or
    why there is none. A hash check only; ``info --check`` loads the twin as well."""
    twin, files = twin_path(path), card.files or {}
    recorded = files.get("onnx")
    if not twin.is_file():
        if recorded:
            return f"{twin.name} is missing, though the card records it; Keras runs the model"
        return f"none ({files['onnx_missing']})" if files.get("onnx_missing") else "none; Keras runs the model"
    if not recorded:
        return f"{twin.name} (the card records no hash for it)"
    if file_sha256(twin) != recorded:
        return f"{twin.name} is not the file the card records (SHA-256 differs); Keras runs the model"
    return f"{twin.name} (SHA-256 matches the card)"
