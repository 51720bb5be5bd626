"""Training the embedded default model (issues 3 and 8): a small augmented CNN on "ink"-preprocessed images.

Reproduce ``models/default.keras`` with::

    mathsym-train train default --data ../shared/data/handwritten-math-symbols --output models/default.keras

It learns from the notebook split's train part plus drawings of how other people write the 19 symbols
(``trainer.data.styles``, training-side parameters only, through the same preprocessing); the test split
is touched once, by ``finish_run``, and the style test set never. The recipe (epochs, schedule,
augmentation, style share) was validated with ``--train-on fit`` (learn on the fit part, 75 %, check on
the validation part, 25 %) and on training-side style drawings of another seed. The default model then
learns on the whole train split (``--train-on train``, the default) for that fixed schedule and keeps the
last epoch.
"""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np

from trainer.architectures import ARCHITECTURES
from trainer.data.styles import SECOND_WEIGHT, SEED_BASE, per_class_counts, style_set
from trainer.progress import CancelToken, Progress, ProgressFn, ignore
from trainer.training.runs import RunConfig, finish_run, one_hot, prepare_data

HYPER = {"learning_rate": 3e-3, "weight_decay": 5e-4, "label_smoothing": 0.1, "warmup_epochs": 1}
#: "train": learn on the whole notebook train split (fit + validation parts) for the fixed schedule that a
#: "fit" run (learn on the fit part, keep the epoch best on the validation part) validated.
TRAIN_ON = ("train", "fit")
DEFAULT_TRAIN_ON = "train"
#: Drawings of the writing styles (trainer.data.styles, training side) added per class to the train split.
STYLE_VARIANTS = 300


def default_config(
    dataset, output=None, epochs: int = ARCHITECTURES["default"].epochs, subset: int | None = None, **extra
) -> RunConfig:
    """The RunConfig the default model is trained with (ink preprocessing, 224 input)."""
    return RunConfig(
        dataset=Path(dataset),
        output=None if output is None else Path(output),
        epochs=epochs,
        batch_size=ARCHITECTURES["default"].batch_size,
        preprocessing="ink",
        image_size=224,
        subset=subset,
        extra=extra,
    )


def train_default(config: RunConfig, *, progress: ProgressFn = ignore, cancel: CancelToken | None = None) -> Path:
    """Train, evaluate on the test split, save model + card atomically; return the model's path.

    The default model is defined on "ink" preprocessing, so any other preprocessing in ``config`` is
    replaced by it. Raises Cancelled (and writes nothing) when ``cancel`` is set during the run.
    """
    import tensorflow as tf

    from trainer.data.augment import AugmentSettings, augment
    from trainer.models import default as arch
    from trainer.training.callbacks import KerasProgress

    started = time.monotonic()
    if config.preprocessing != "ink":
        config = dataclasses.replace(config, preprocessing="ink")
    hyper = {**HYPER, **{k: v for k, v in config.extra.items() if k in HYPER}}
    train_on = config.extra.get("train_on", DEFAULT_TRAIN_ON)
    if train_on not in TRAIN_ON:
        raise ValueError(f"train_on must be one of {TRAIN_ON}; got {train_on!r}.")
    chosen = config.extra.get("training_seed")
    training_seed = config.seed if chosen is None else int(chosen)
    keras.utils.set_random_seed(training_seed)
    data = prepare_data(config, progress, cancel)
    classes = len(data.index.class_names)

    progress(Progress("Reducing images", 0, 2))
    fit_x = arch.reduce_inputs(data.fit.x, config.image_size)
    fit_y = data.fit.y
    val_x = arch.reduce_inputs(data.val.x, config.image_size) if len(data.val.y) else None
    if train_on == "train" and val_x is not None:  # validation images join training; no selection
        fit_x, fit_y, val_x = np.concatenate([fit_x, val_x]), np.concatenate([fit_y, data.val.y]), None
    progress(Progress("Reducing images", 2, 2))
    if cancel:
        cancel.check()
    # Small and quick runs draw as many per class as they have real images per class, full runs STYLE_VARIANTS.
    per_class = min(int(config.extra.get("style_variants", STYLE_VARIANTS)), round(len(fit_y) / classes))
    style_x, style_t, style_counts = style_variants(
        data.index.class_names, per_class, config.image_size, config.seed % SEED_BASE["test"], progress, cancel
    )
    fit_t = np.concatenate([one_hot(fit_y, classes), style_t])
    fit_x = np.concatenate([fit_x, style_x])

    settings = AugmentSettings()
    batch = max(1, min(config.batch_size, len(fit_x)))
    steps = max(1, len(fit_x) // batch)
    fit_ds = (
        tf.data.Dataset.from_tensor_slices((fit_x, fit_t))
        .shuffle(len(fit_x), seed=config.seed, reshuffle_each_iteration=True)
        .batch(batch, drop_remainder=True)
        .map(lambda x, y: (augment(x, settings), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = (
        None if val_x is None else tf.data.Dataset.from_tensor_slices((val_x, one_hot(data.val.y, classes))).batch(256)
    )

    total = max(1, config.epochs * steps)
    warmup = min(total // 2, int(hyper["warmup_epochs"] * steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        hyper["learning_rate"] / 10,
        total - warmup,
        alpha=0.01,
        warmup_target=hyper["learning_rate"],
        warmup_steps=warmup,
    )
    model_core = arch.core(classes)
    model_core.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=hyper["weight_decay"]),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=hyper["label_smoothing"]),
        metrics=["accuracy"],
    )
    best = _KeepBest()
    reporter = KerasProgress("Training", config.epochs, progress, cancel)
    model_core.fit(
        fit_ds, validation_data=val_ds, epochs=config.epochs, callbacks=[reporter, best], verbose=0, shuffle=False
    )  # the dataset shuffles itself
    best.restore(model_core)

    model = arch.build(classes, config.image_size, model_core)
    read = arch.INTERNAL // arch.SHRINK
    training = {
        "architecture": f"{arch.INTERNAL}x{arch.INTERNAL} area-reduced ink, read at {read}x{read}, "
        f"conv widths {list(arch.WIDTHS)}",
        "parameters": int(model.count_params()),
        "optimizer": "AdamW, linear warm-up then cosine decay",
        "training_seed": training_seed,
        **hyper,
        "train_on": "fit + validation parts of the notebook train split"
        if train_on == "train" and len(data.val.y)
        else "fit part of the notebook train split",
        "images_trained_on": len(fit_t),
        "real_images_trained_on": len(fit_y),
        "style_variants": {
            "per_class": per_class,
            "per_style": style_counts,
            "split": "train",
            "second_weight": SECOND_WEIGHT,
            "generator": "trainer.data.styles",
        },
        "augmentation": settings.as_dict(),
        "selection": "epoch with the best validation accuracy (ties: lower validation loss)"
        if val_x is not None
        else "last epoch of the fixed schedule (no held-out validation images)",
        "best_epoch": best.epoch,
        "val_accuracy": best.accuracy,
        "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in h.items()} for h in reporter.history],
    }
    if "command" in config.extra:
        training["command"] = config.extra["command"]
    return finish_run(model, arch.ARCHITECTURE, config, data, started, training, progress, cancel)


def style_variants(
    class_names,
    per_class: int,
    image_size: int,
    seed: int,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The training-side style drawings (``trainer.data.styles``) as reduced ink and soft targets.

    They go through the one preprocessing (``to_model_input``, "ink") like the dataset's images, in chunks
    so the full-size inputs never pile up. Returns (x, targets, drawings per style).
    """
    from trainer.data.preprocess import to_model_input
    from trainer.errors import ImageError
    from trainer.models import default as arch

    counts = per_class_counts(per_class) if per_class > 0 else {}
    drawn = style_set("train", counts, seed, tuple(class_names))
    total = len(drawn.labels)
    x = np.empty((total, arch.INTERNAL, arch.INTERNAL, 1), np.float32)
    ok = np.ones(total, bool)
    blank = np.full((image_size, image_size, 3), 255, np.uint8)

    def model_input(i: int) -> np.ndarray:
        try:
            return to_model_input(drawn.images[i], "ink", image_size)
        except ImageError:  # a speck too small to count as ink: left out
            ok[i] = False
            return blank

    chunk = 256
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for start in range(0, total, chunk):
            if cancel:
                cancel.check()
            part = range(start, min(start + chunk, total))
            x[start : start + len(part)] = arch.reduce_inputs(np.stack(list(pool.map(model_input, part))), image_size)
            progress(Progress("Preparing style variants", start + len(part), total))
    present = {name: int((np.array(drawn.styles)[ok] == name).sum()) for name in counts if name in drawn.styles}
    return x[ok], drawn.targets()[ok], present


class _KeepBest(keras.callbacks.Callback):
    """Remembers the weights of the epoch with the best validation accuracy (ties: lower loss)."""

    def __init__(self):
        super().__init__()
        self.weights, self.epoch, self.accuracy, self._key = None, None, None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if "val_accuracy" not in logs:
            self.epoch = epoch + 1
            return
        key = (float(logs["val_accuracy"]), -float(logs["val_loss"]))
        if self._key is None or key >= self._key:
            self._key, self.epoch, self.accuracy = key, epoch + 1, key[0]
            self.weights = [np.array(w) for w in self.model.get_weights()]

    def restore(self, model):
        if self.weights is not None:
            model.set_weights(self.weights)


def run(config: RunConfig, options: dict, progress: ProgressFn = ignore, cancel: CancelToken | None = None) -> Path:
    """The registry's entry: ``train_on`` and ``training_seed`` as the command line gives them."""
    config.extra["train_on"] = options.get("train_on", DEFAULT_TRAIN_ON)
    config.extra["training_seed"] = options.get("training_seed")
    return train_default(config, progress=progress, cancel=cancel)
