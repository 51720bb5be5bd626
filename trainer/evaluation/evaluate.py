"""Test-split evaluation: accuracy, confusion matrix, per-class recall and scikit-learn's report."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trainer.data.split import NOTEBOOK_SEED
from trainer.errors import DatasetError
from trainer.labels import symbol
from trainer.progress import CancelToken, Progress, ProgressFn, ignore

if TYPE_CHECKING:
    from trainer.data.loading import Images
    from trainer.data.split import Split
    from trainer.serving.modelio import LoadedModel


def predict_arrays(
    predict_inputs,
    x: np.ndarray,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
    batch: int = 64,
    stage: str = "Evaluating",
) -> np.ndarray:
    """Run ``predict_inputs`` (uint8 batch -> probabilities) over ``x`` in batches with progress."""
    out = []
    for start in range(0, len(x), batch):
        if cancel:
            cancel.check()
        out.append(np.asarray(predict_inputs(x[start : start + batch])))
        progress(Progress(stage, min(start + batch, len(x)), len(x)))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def metrics_from_predictions(y_true: np.ndarray, probabilities: np.ndarray, labels: list[str]) -> dict:
    """Everything a model card and a report need, as plain JSON-able numbers."""
    from sklearn.metrics import classification_report, confusion_matrix

    y_pred = probabilities.argmax(axis=1)
    indices = list(range(len(labels)))
    matrix = confusion_matrix(y_true, y_pred, labels=indices)
    support = matrix.sum(axis=1)
    recall = np.divide(np.diag(matrix), support, out=np.zeros(len(labels)), where=support > 0)
    report = classification_report(
        y_true, y_pred, labels=indices, target_names=labels, output_dict=True, zero_division=0
    )
    return {
        "test_accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "test_images": int(len(y_true)),
        "test_errors": int((y_pred != y_true).sum()),
        "per_class_recall": {name: float(r) for name, r in zip(labels, recall, strict=True)},
        "confusion_matrix": matrix.tolist(),
        "classification_report": report,
    }


@dataclass
class Evaluation:
    """A model scored on a dataset's test split: the model, the test images, its outputs and the metrics."""

    model: LoadedModel
    images: Images
    probabilities: np.ndarray
    metrics: dict
    split: Split


def evaluate_on_dataset(
    model_path: str | os.PathLike,
    data: str | os.PathLike,
    seed: int = NOTEBOOK_SEED,
    leak_free: bool = False,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
) -> Evaluation:
    """Load the model, split the dataset like the notebook (or leak-free) and score the test split; unreadable
    test images are skipped and listed in ``metrics["unreadable"]``. A model taught classes of its own after the
    dataset's (``adapt``) is scored too: a test image read as one of those counts as an error."""
    from trainer.data.dataset import scan_dataset
    from trainer.data.loading import load_images
    from trainer.data.split import leak_free_split, notebook_split
    from trainer.serving.card import now_iso
    from trainer.serving.modelio import load_model

    index = scan_dataset(data)
    model = load_model(model_path)
    if list(index.class_names) != list(model.labels[: len(index.class_names)]):
        raise DatasetError(
            f"The dataset's classes ({', '.join(index.class_names)}) differ from the model's labels "
            f"({', '.join(model.labels)})."
        )
    split = leak_free_split(index, seed) if leak_free else notebook_split(index, seed)
    images = load_images(
        split.test,
        method=model.card.preprocessing,
        size=model.card.input_size,
        progress=progress,
        cancel=cancel,
        stage="Reading test images",
    )
    if len(images.y) == 0:
        raise DatasetError("No test image could be read; nothing to evaluate.")
    probabilities = predict_arrays(model.predict_inputs, images.x, progress, cancel, stage="Evaluating")
    metrics = metrics_from_predictions(images.y, probabilities, list(model.labels))
    metrics["evaluated"] = now_iso()
    metrics["evaluated_split"] = split.describe()
    metrics["unreadable"] = [[str(p), m] for p, m in images.failures]
    return Evaluation(model, images, probabilities, metrics, split)


def classification_text(evaluation: Evaluation) -> str:
    """scikit-learn's classification report, with each label's symbol beside its name."""
    from sklearn.metrics import classification_report

    labels = list(evaluation.model.labels)
    names = [x if symbol(x) == x else f"{x} {symbol(x)}" for x in labels]
    return classification_report(
        evaluation.images.y,
        evaluation.probabilities.argmax(axis=1),
        labels=list(range(len(labels))),
        target_names=names,
        digits=4,
        zero_division=0,
    )
