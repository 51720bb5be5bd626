"""Test-split evaluation: accuracy, confusion matrix, per-class recall and scikit-learn's report."""

from __future__ import annotations

import numpy as np

from .progress import CancelToken, Progress, ProgressFn, ignore


def predict_arrays(predict_inputs, x: np.ndarray, progress: ProgressFn = ignore,
                   cancel: CancelToken | None = None, batch: int = 64, stage: str = "Evaluating") -> np.ndarray:
    """Run ``predict_inputs`` (uint8 batch -> probabilities) over ``x`` in batches with progress."""
    out = []
    for start in range(0, len(x), batch):
        if cancel:
            cancel.check()
        out.append(np.asarray(predict_inputs(x[start:start + batch])))
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
    report = classification_report(y_true, y_pred, labels=indices, target_names=labels, output_dict=True,
                                   zero_division=0)
    return {
        "test_accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "test_images": int(len(y_true)),
        "test_errors": int((y_pred != y_true).sum()),
        "per_class_recall": {name: float(r) for name, r in zip(labels, recall)},
        "confusion_matrix": matrix.tolist(),
        "classification_report": report,
    }
