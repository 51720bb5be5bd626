"""The notebook's VGG19 transfer run, with the frozen base's features computed once (the feature cache).

``use_feature_cache=True`` (default): base features of the fit/val splits are computed once, only the head
(Flatten -> Dropout -> Dense) is trained on them for ``config.epochs`` epochs, and the head's layers are the
full model's own layers, so the saved model is base + trained head. ``use_feature_cache=False`` trains the
full model on images every epoch, as the notebook did. Both train the same weights the same way (the base is
frozen and has no batch-norm), so they differ only by shuffling/dropout randomness and speed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from trainer.progress import CancelToken, Progress, ProgressFn, ignore
from trainer.training.callbacks import KerasProgress
from trainer.training.runs import RunConfig, finish_run, one_hot, prepare_data

ARCHITECTURE = "vgg19"
#: The notebook's run settings (the CLI reads these; RunConfig has the same defaults).
INPUT_SCALING = "x/255 inside the model, then VGG19 (as the notebook; no vgg19.preprocess_input)"


def train_vgg19(
    config: RunConfig,
    *,
    weights: str | os.PathLike | None = "imagenet",
    use_feature_cache: bool = True,
    disk_cache: bool = False,
    progress: ProgressFn = ignore,
    cancel: CancelToken | None = None,
) -> Path:
    """Train the notebook's VGG19 head for ``config.epochs`` epochs (no early stopping, as the notebook).

    ``weights``: "imagenet" (Keras download/cache), None, or a local weights file. ``disk_cache`` also keeps
    the base features on disk, keyed by the weights and the input images. Returns the saved model's path.
    """
    import keras

    from trainer.models.vgg19 import build_vgg19, compile_classifier, feature_extractor, head_model, resolve_weights
    from trainer.training.features import extract_features, weights_fingerprint

    started = time.monotonic()
    weights_path = resolve_weights(weights)  # fails first (one sentence) when the weights are unavailable
    data = prepare_data(config, progress, cancel)
    classes = len(data.index.class_names)
    keras.utils.set_random_seed(config.seed)
    model = build_vgg19(classes, config.image_size, weights_path)
    has_val = len(data.val.y) > 0
    stage = "Training VGG19 head" if use_feature_cache else "Training VGG19"
    reporter = KerasProgress(stage, config.epochs, progress, cancel)
    fit_started = time.monotonic()
    if use_feature_cache:
        extractor = feature_extractor(model)
        fingerprint = weights_fingerprint(extractor) if disk_cache else None
        feats = {}
        for name, images in (("fit", data.fit), ("val", data.val)):
            if len(images.y):
                feats[name] = extract_features(
                    extractor,
                    images.x,
                    config.batch_size,
                    progress,
                    cancel,
                    f"Extracting VGG19 features ({name})",
                    disk_cache,
                    fingerprint,
                )
        extract_seconds = round(time.monotonic() - fit_started, 1)
        learner, fit_x, val_x = head_model(model), feats["fit"], feats.get("val")
        compile_classifier(learner)
    else:
        extract_seconds = 0.0
        learner, fit_x, val_x = model, data.fit.x, data.val.x
    learner.fit(
        fit_x,
        one_hot(data.fit.y, classes),
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(val_x, one_hot(data.val.y, classes)) if has_val else None,
        callbacks=[reporter],
        verbose=0,
    )
    if learner is not model:
        compile_classifier(model)  # the saved model is the full one, with the head's trained weights
    if cancel:
        cancel.check()
    training = {
        "weights": _describe_weights(weights, weights_path),
        "input_scaling": INPUT_SCALING,
        "base_trainable": False,
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "feature_cache": bool(use_feature_cache),
        "feature_seconds": extract_seconds,
        "fit_seconds": round(time.monotonic() - fit_started, 1),
        "epochs_run": len(reporter.history),
        "history": reporter.history,
    }
    progress(Progress(stage, config.epochs, config.epochs, "done"))
    return finish_run(model, ARCHITECTURE, config, data, started, training, progress, cancel)


def _describe_weights(requested, path: Path | None) -> str:
    if path is None:
        return "none (random initialisation)"
    if isinstance(requested, str) and requested.lower() == "imagenet":
        return f"imagenet ({path.name})"
    return str(Path(path).resolve())


def run(config: RunConfig, options: dict, progress: ProgressFn = ignore, cancel: CancelToken | None = None) -> Path:
    """The registry's entry: ``weights`` and ``no_feature_cache`` as the command line gives them."""
    return train_vgg19(
        config,
        weights=options.get("weights", "imagenet"),
        use_feature_cache=not options.get("no_feature_cache"),
        progress=progress,
        cancel=cancel,
    )
