"""What every training run shares: its settings, its data (split + preprocessed arrays), and its ending
(evaluate on the test split, write the card, save atomically). A cancelled or failed run saves nothing."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.data.dataset import DatasetIndex, Duplicates, Sample, find_duplicates, scan_dataset
from trainer.data.loading import Images, load_images
from trainer.data.preprocess import INPUT_SIZE
from trainer.data.split import (
    NOTEBOOK_SEED,
    NOTEBOOK_VALIDATION,
    Split,
    leak_free_split,
    notebook_split,
    validation_split,
)
from trainer.errors import DatasetError, TrainingDiverged
from trainer.evaluation.evaluate import metrics_from_predictions, predict_arrays
from trainer.paths import default_output
from trainer.progress import CancelToken, Progress, ProgressFn, ignore
from trainer.serving.card import ModelCard, library_versions, now_iso
from trainer.serving.modelio import LoadedModel, save_model
from trainer.training.device import configure_training


@dataclass
class RunConfig:
    """Settings of a training run; defaults are the notebook's."""

    dataset: Path
    output: Path | None = None  # None: a fresh time-stamped file in models/
    epochs: int = 20
    image_size: int = INPUT_SIZE
    batch_size: int = 64
    split: str = "notebook"  # or "leak-free"
    seed: int = NOTEBOOK_SEED
    validation: float = NOTEBOOK_VALIDATION
    preprocessing: str = "notebook"
    subset: int | None = None  # at most this many training images per class (small runs)
    extra: dict = field(default_factory=dict)  # architecture-specific settings, recorded in the card


@dataclass
class RunData:
    index: DatasetIndex
    duplicates: Duplicates
    split: Split
    fit: Images
    val: Images
    test: Images
    device: dict = field(default_factory=dict)  # trainer.training.device.configure_training(), for the card


def _limit(samples: list[Sample], per_class: int | None) -> list[Sample]:
    if per_class is None:
        return samples
    seen: dict[int, int] = {}
    kept = []
    for s in samples:
        if seen.get(s.label, 0) < per_class:
            seen[s.label] = seen.get(s.label, 0) + 1
            kept.append(s)
    return kept


def prepare_data(config: RunConfig, progress: ProgressFn = ignore, cancel: CancelToken | None = None) -> RunData:
    """Scan, split (notebook or leak-free), cut validation like the notebook, preprocess every image.

    Raises DatasetError for a dataset no architecture can learn from: one class, no training image (before
    any image is read), or no readable image.
    """
    index = scan_dataset(config.dataset)
    check_classes(index)
    progress(Progress("Scanning dataset", 0, None, index.summary()))
    duplicates = find_duplicates(index)
    split = (
        leak_free_split(index, config.seed, duplicates)
        if config.split == "leak-free"
        else notebook_split(index, config.seed)
    )
    if not split.train:
        raise DatasetError(
            f"{config.dataset} gives no training images: the {split.kind} split puts all {len(index)} of its images "
            "in the test split (a class needs at least 2 images to give one to training); add images."
        )
    fit, val = validation_split(split.train, config.validation, config.seed)
    fit = _limit(fit, config.subset)
    val = _limit(val, None if config.subset is None else max(1, config.subset // 3))

    def load(samples: list[Sample], stage: str) -> Images:
        return load_images(
            samples, method=config.preprocessing, size=config.image_size, progress=progress, cancel=cancel, stage=stage
        )

    return RunData(
        index,
        duplicates,
        split,
        load(fit, "Reading training images"),
        load(val, "Reading validation images"),
        load(split.test, "Reading test images"),
        configure_training(),  # before any model is built: the dtype policy applies at build time
    )


def check_classes(index: DatasetIndex) -> None:
    """Refuse a one-class dataset: every architecture would "learn" it to 100 % and recognise nothing."""
    if len(index.class_names) < 2:
        raise DatasetError(
            f"{index.root} has only one class ({index.class_names[0]}); a classifier needs at least two class folders."
        )


def finish_run(
    model,
    architecture: str,
    config: RunConfig,
    data: RunData,
    started: float,
    training: dict,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
) -> Path:
    """Evaluate ``model`` on the test split, write its card and save both atomically; return the path."""
    labels = list(data.index.class_names)
    card = ModelCard(
        labels=labels,
        architecture=architecture,
        input_size=config.image_size,
        preprocessing=config.preprocessing,
        dataset={
            "path": str(Path(config.dataset).resolve()),
            "images": len(data.index),
            "skipped": [str(p) for p in data.index.skipped],
            "unreadable": [[str(p), m] for p, m in data.fit.failures + data.val.failures + data.test.failures],
            "duplicate_groups": len(data.duplicates.groups),
            "cross_class_duplicates": [[str(p) for p in g] for g in data.duplicates.cross_class],
        },
        split={
            **data.split.describe(),
            "validation": config.validation,
            "fit": len(data.fit.y),
            "val": len(data.val.y),
            "subset_per_class": config.subset,
        },
        training={
            "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else "",
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            **config.extra,
            **training,
            "device": data.device,
        },
        versions=library_versions(),
        created=now_iso(),
    )
    loaded = LoadedModel(model, card)
    probabilities = predict_arrays(loaded.predict_inputs, data.test.x, progress, cancel, stage="Testing")
    refuse_diverged(probabilities, training.get("history"))
    card.metrics = metrics_from_predictions(data.test.y, probabilities, labels)
    card.training["seconds"] = round(time.monotonic() - started, 1)
    if cancel:
        cancel.check()
    output = Path(config.output) if config.output else default_output(architecture)
    return save_model(model, card, output, cancel=cancel)


def refuse_diverged(probabilities: np.ndarray, history: list[dict] | None = None) -> None:
    """Raise TrainingDiverged when a trained model's outputs are not numbers: saving it would only replace a
    working model with one that answers nothing (a learning rate far too high does this)."""
    if np.isfinite(probabilities).all():
        return
    epoch = next(
        (i + 1 for i, h in enumerate(history or []) if not all(np.isfinite(v) for k, v in h.items() if "loss" in k)),
        None,
    )
    when = f" (its loss stopped being a number in epoch {epoch})" if epoch else ""
    raise TrainingDiverged(
        f"Training diverged{when}: the model's outputs are not numbers, so it was not saved. "
        "Train again with a lower learning rate."
    )


def one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    """The notebook's label_mode="categorical"."""
    return np.eye(classes, dtype=np.float32)[y]
