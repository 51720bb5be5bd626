"""A plain (not tuned) AlexNet run: the notebook's network, early stopping on the validation split."""

from __future__ import annotations

import time
from pathlib import Path

from trainer.errors import MathSymError
from trainer.progress import CancelToken, Progress, ProgressFn, ignore
from trainer.training.callbacks import KerasProgress
from trainer.training.runs import RunConfig, RunData, finish_run, one_hot, prepare_data

ARCHITECTURE = "alexnet"
#: The notebook's run settings (the CLI reads these; RunConfig has the same defaults).
#: EarlyStopping on val_loss, as the notebook's tuning did.
PATIENCE = 5


def check_validation(data: RunData, what: str) -> None:
    """Early stopping needs validation images; prepare_data already refused a run with no training images."""
    if len(data.val.y) == 0:
        raise MathSymError(
            f"{what} needs validation images for early stopping, but the train split of {data.index.root} has only "
            f"{len(data.split.train)} image(s), too few to set some aside; add images to the dataset."
        )


def fit_with_early_stopping(
    model,
    data: RunData,
    epochs: int,
    batch_size: int,
    stage: str,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
) -> dict:
    """Fit on the fit split, stop when val_loss has not improved for PATIENCE epochs, keep the best weights.

    Returns the training record for the card (history, epochs run, best epoch). Test data is never seen.
    """
    import keras

    classes = model.output_shape[-1]
    reporter = KerasProgress(stage, epochs, progress, cancel)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    model.fit(
        data.fit.x,
        one_hot(data.fit.y, classes),
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(data.val.x, one_hot(data.val.y, classes)),
        callbacks=[reporter, stopper],
        verbose=0,
    )
    if cancel:
        cancel.check()
    losses = [h.get("val_loss", float("inf")) for h in reporter.history]
    best = int(min(range(len(losses)), key=losses.__getitem__)) + 1 if losses else 0
    return {
        "epochs_run": len(reporter.history),
        "best_epoch": best,
        "early_stopping": {"monitor": "val_loss", "patience": PATIENCE, "restore_best_weights": True},
        "history": reporter.history,
    }


def train_alexnet(
    config: RunConfig,
    *,
    activation: str = "relu",
    learning_rate: float = 1e-3,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
) -> Path:
    """Train the notebook's AlexNet for up to ``config.epochs`` with early stopping; save model + card."""
    import keras

    from trainer.models.alexnet import build_alexnet, check_alexnet_settings

    started = time.monotonic()
    check_alexnet_settings(config.image_size, activation)  # fail before reading the dataset
    data = prepare_data(config, progress, cancel)
    check_validation(data, "Training AlexNet")
    keras.utils.set_random_seed(config.seed)
    model = build_alexnet(len(data.index.class_names), config.image_size, activation, learning_rate)
    progress(Progress("Training AlexNet", 0, None, f"activation={activation}, learning rate={learning_rate:g}"))
    record = fit_with_early_stopping(
        model, data, config.epochs, config.batch_size, "Training AlexNet", progress, cancel
    )
    training = {
        "hyperparameters": {"activation": activation, "learning_rate": learning_rate},
        "optimizer": "adam",
        "max_epochs": config.epochs,
        **record,
    }
    return finish_run(model, ARCHITECTURE, config, data, started, training, progress, cancel)


def run(config: RunConfig, options: dict, progress: ProgressFn = ignore, cancel: CancelToken | None = None) -> Path:
    """The registry's entry: plain training, or a Hyperband search first when ``trials`` is above 1."""
    trials = options.get("trials") or 1
    if trials > 1:
        from trainer.training.tuning import tune_alexnet

        config.extra["trials"] = trials
        return tune_alexnet(config, max_epochs=config.epochs, progress=progress, cancel=cancel)
    return train_alexnet(
        config,
        activation=options.get("activation", "relu"),
        learning_rate=options.get("learning_rate", 1e-3),
        progress=progress,
        cancel=cancel,
    )
