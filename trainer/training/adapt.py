"""Learn the user's handwriting: fine-tune a trained model on the personal samples folder.

The active model is the starting point (never a fresh one). Each epoch mixes the samples, oversampled to the
replay's size per class, with a replay of the dataset's train split (a fixed, seeded subset whose
preprocessed arrays are cached; generated template symbols when the dataset is absent), all augmented, so
the model learns the new hand without forgetting the old ones. A class the model does not know grows its
output layer (old rows copied, a new row imprinted from its samples' features). A model of the default
architecture is saved behind a personal gate (trainer.serving.personal): the fine-tuned core answers for
drawings like the samples, the base core for the rest, so the fine-tune cannot move answers far from the
user's hand. Base and adapted model are scored on the same test split; the card records the base model, the
sample counts, a hash of the samples and the gate. Nothing is written unless the run completes.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from trainer.data.dataset import DatasetIndex, Sample, scan_dataset
from trainer.data.loading import Images, load_images
from trainer.data.samples import SampleError, SampleSet, scan_samples
from trainer.data.split import notebook_split
from trainer.digest import file_sha256
from trainer.errors import DatasetError, ModelError
from trainer.evaluation.evaluate import metrics_from_predictions, predict_arrays
from trainer.paths import default_output
from trainer.progress import CancelToken, Progress, ProgressFn, ignore
from trainer.serving.card import ModelCard, library_versions, now_iso
from trainer.serving.modelio import LoadedModel, load_model, save_model
from trainer.serving.personal import PERSONAL, fit_gate, gated_core, ungated, with_features
from trainer.training.runs import check_classes, one_hot

DEFAULT_EPOCHS = 6
#: Replayed images per known class (train split only): enough to keep what the model knows.
REPLAY_PER_CLASS = 40
#: Test images per class when the test split is generated (no dataset at hand).
GENERATED_TEST_PER_CLASS = 20
#: Train-split images per class, never trained on, that check a new class does not take old classes' images.
VALIDATION_PER_CLASS = 100
#: Only the last this many convolution/dense layers are fine-tuned (the classifier and the layer below it).
TRAINED_LAYERS = 2
#: Penalties (subtracted from a new class's logit) tried, smallest first, by :func:`_calibrate_new_classes`.
NEW_CLASS_PENALTIES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
#: A new class's imprinted row starts this far (in logits) below the level old classes reach on their own images:
#: a little less sure than they are, until the fine-tune has seen its samples.
IMPRINT_MARGIN = 1.0
DEFAULT_LEARNING_RATE = 5e-4
HYPER = {"label_smoothing": 0.1, "batch_size": 64}


@dataclass
class AdaptConfig:
    samples: Path
    base: Path
    output: Path | None = None  # None: a fresh time-stamped file in models/
    epochs: int = DEFAULT_EPOCHS
    data: Path | None = None  # replay + test dataset; None: the base card's dataset if it is still there
    replay_per_class: int = REPLAY_PER_CLASS
    samples_per_class: int | None = None  # at most this many samples per class (a quick fine-tune on a dataset)
    learning_rate: float = DEFAULT_LEARNING_RATE  # Adam, cosine decay; higher learns faster and forgets more
    seed: int = 0


@dataclass
class _Replay:
    train: Images
    test: Images
    val: Images | None  # train-split images not replayed, to check new classes: they take no old ones
    source: str  # what was replayed, for the card
    split: dict
    test_files: frozenset[Path] = frozenset()  # never trained on, even when the samples folder holds them


def _subset(samples: list[Sample], per_class: int, seed: int, skip: int = 0) -> list[Sample]:
    """A seeded choice of ``per_class`` samples of each class (after ``skip``: a disjoint second choice)."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[Sample]] = {}
    for s in samples:
        by_class.setdefault(s.label, []).append(s)
    kept = []
    for label in sorted(by_class):
        group = by_class[label]
        kept += [group[i] for i in sorted(rng.permutation(len(group))[skip : skip + per_class])]
    return kept


def _relabel(samples: list[Sample], index: DatasetIndex, labels: list[str]) -> list[Sample]:
    where = {name: i for i, name in enumerate(labels)}
    return [Sample(s.path, where[index.class_names[s.label]]) for s in samples]


def _dataset_replay(
    root: Path,
    labels: list[str],
    card: ModelCard,
    config: AdaptConfig,
    with_val: bool,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> _Replay:
    index = scan_dataset(root)
    check_classes(index)
    unknown = [c for c in index.class_names if c not in labels]
    if unknown:
        raise DatasetError(
            f"Dataset {root} has classes the model does not know ({', '.join(unknown[:5])}); "
            "choose the dataset the model was trained on."
        )
    split = notebook_split(index)

    def read(chosen: list[Sample], stage: str) -> Images:
        return load_images(
            _relabel(chosen, index, labels), card.preprocessing, card.input_size, progress, cancel, stage=stage
        )

    train = read(_subset(split.train, config.replay_per_class, config.seed), "Reading replay images")
    test = read(split.test, "Reading test images")
    val = None
    skip = config.replay_per_class
    held_back = _subset(split.train, VALIDATION_PER_CLASS, config.seed, skip=skip) if with_val else []
    if held_back:  # a small dataset may have no train image left beyond the replay: then nothing to check on
        val = read(held_back, "Reading validation images")
    return _Replay(
        train,
        test,
        val,
        f"{len(train.y)} images of the train split of {root.resolve()}",
        {**split.describe(), "dataset": str(root.resolve())},
        frozenset(s.path.resolve() for s in split.test),
    )


def _generated(labels: list[str], per_class: int, seed: int, card: ModelCard) -> Images:
    from trainer.data.preprocess import to_model_input
    from trainer.data.strokes import TEMPLATES, draw_symbol

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i, name in enumerate(labels):
        if name in TEMPLATES:
            for _ in range(per_class):
                xs.append(to_model_input(draw_symbol(name, rng, size=128), card.preprocessing, card.input_size))
                ys.append(i)
    if not xs:
        raise ModelError(
            "The model's classes have no stroke templates to replay; pass the dataset it was trained on (--data)."
        )
    return Images(np.stack(xs), np.array(ys, np.int32), [])


def _replay(
    base: LoadedModel, config: AdaptConfig, with_val: bool, progress: ProgressFn, cancel: CancelToken | None
) -> _Replay:
    recorded = base.card.dataset.get("path")
    root = config.data or (Path(recorded) if isinstance(recorded, str) and Path(recorded).is_dir() else None)
    if root is not None:
        return _dataset_replay(Path(root), base.labels, base.card, config, with_val, progress, cancel)
    progress(Progress("Drawing replay symbols", 0, None, "no dataset at hand: replaying template symbols"))
    train = _generated(base.labels, config.replay_per_class, config.seed, base.card)
    test = _generated(base.labels, GENERATED_TEST_PER_CLASS, config.seed + 1, base.card)
    val = _generated(base.labels, GENERATED_TEST_PER_CLASS, config.seed + 2, base.card) if with_val else None
    return _Replay(
        train,
        test,
        val,
        f"{len(train.y)} generated template symbols",
        {"kind": "generated template symbols", "seed": config.seed + 1, "test": len(test.y)},
    )


def _grow(model: keras.Model, classes: int, inputs: np.ndarray, labels: np.ndarray) -> keras.Model:
    """``model`` with its last Dense layer widened to ``classes`` units: old rows copied, new rows imprinted.

    A new class's row starts as the direction from the average training input's features to its samples'
    features, as long as the old rows; its bias puts its samples' logit ``IMPRINT_MARGIN`` below the level old
    classes reach on their own images. Fine-tuning then starts from a row that already tells the new symbol
    apart: from random rows, six epochs left a quarter of a writer's ``)`` read as 1 (README, adapt)."""
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense):
        raise ModelError(
            f"Cannot add classes to this model: its last layer is a {type(last).__name__}, not a Dense layer."
        )
    kernel, bias = (np.array(w) for w in last.get_weights())
    old = kernel.shape[1]
    measure = keras.Model(model.inputs[0], last.input)  # called directly: ``predict`` would trace one more function
    chunks = range(0, len(inputs), 256)
    features = np.concatenate([np.asarray(measure(inputs[i : i + 256].astype(np.float32))) for i in chunks])
    known = labels < old
    own_logit = float(np.mean((features[known] @ kernel + bias)[np.arange(known.sum()), labels[known]]))
    centre = features.mean(axis=0)
    length = float(np.linalg.norm(kernel, axis=0).mean())
    rows, offsets = [], []
    for label in range(old, classes):
        mean = features[labels == label].mean(axis=0)
        row = (mean - centre) * length / (np.linalg.norm(mean - centre) + 1e-6)
        rows.append(row)
        offsets.append(own_logit - IMPRINT_MARGIN - float(row @ mean))
    new_kernel = np.concatenate([kernel, np.stack(rows, axis=1)], axis=1)
    new_bias = np.concatenate([bias, offsets])
    dense = keras.layers.Dense(classes, activation=last.activation, name=last.name)
    outputs = dense(last.input)
    dense.set_weights([new_kernel.astype(np.float32), new_bias.astype(np.float32)])
    return keras.Model(model.inputs, outputs, name=model.name)


@dataclass
class _Parts:
    """The default architecture's fixed front (area reduction to ink), the base model's core the gate falls
    back to, and a copy of the core to fine-tune (an adapted model's personal core, or the base core)."""

    front: keras.Model
    base: keras.Model
    start: keras.Model


def _parts(model: keras.Model) -> _Parts | None:
    names = [layer.name for layer in model.layers]
    if names[-2:] != ["front", "core"]:
        return None
    core = model.get_layer("core")
    base, start = ungated(core) or (core, core)
    copy = keras.models.clone_model(start)
    copy.set_weights(start.get_weights())
    return _Parts(model.get_layer("front"), base, keras.Model(copy.input, copy.output, name=PERSONAL))


def _weight_layers(model: keras.Model) -> list:
    """The layers with weights, in order, looking inside nested models."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _weight_layers(layer)
        elif layer.weights:
            found.append(layer)
    return found


def _freeze_all_but_top(model: keras.Model, top: int) -> None:
    """Train only the last ``top`` convolution or dense layers (the classifier and the features just below it);
    keep BatchNorm statistics. A few hundred images must not move, or re-estimate, what 9,000 taught."""
    layers = _weight_layers(model)
    kernels = [layer for layer in layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    keep = set(map(id, kernels[-top:]))
    for layer in layers:
        layer.trainable = id(layer) in keep


def _augment_settings(card: ModelCard):
    """The augmentation the base model was trained with (its card says), so fine-tuning asks nothing new of
    it; a gentle one for models trained without (large random warps would be new to them, not the hand)."""
    from trainer.data.augment import AugmentSettings

    recorded = card.training.get("augmentation")
    if isinstance(recorded, dict):
        try:
            return AugmentSettings(**recorded)
        except TypeError:
            pass
    return AugmentSettings(
        rotate_deg=3.0, shear=0.05, log_scale=0.05, translate=0.03, elastic=0.4, dilate=0.1, dilate_more=0.0, erode=0.05
    )


def _as_ink(x: np.ndarray, batch: int = 256) -> np.ndarray:
    """uint8 RGB (dark ink on white) -> float ink (N, H, W, 1), 1 = ink: what augmentation works on."""
    out = np.empty(x.shape[:3] + (1,), np.float32)
    for i in range(0, len(x), batch):
        out[i : i + batch, ..., 0] = 1.0 - x[i : i + batch].astype(np.float32).mean(axis=-1) / 255.0
    return out


def _fit_gate(parts: _Parts, samples: np.ndarray, labels: np.ndarray, dataset: np.ndarray) -> dict:
    """The personal gate (trainer.serving.personal) from the base core's features of the samples (their ink,
    the front's output, and their labels) and of the replayed dataset images' ink."""
    features = with_features(parts.base)

    def measure(ink: np.ndarray) -> np.ndarray:
        return np.asarray(features.predict(ink, batch_size=256, verbose=0)[0])

    return fit_gate(measure(samples), labels, measure(dataset))


def _calibrate_new_classes(
    predict: Callable[[np.ndarray], np.ndarray],
    dense: keras.layers.Dense,
    old: int,
    val: Images,
    base_val: np.ndarray,
    new_x: np.ndarray,
    new_y: np.ndarray,
) -> float:
    """Lower the new classes' bias until they take no more validation images of old classes than the base
    model got wrong, keeping every new-class sample it could read. A new symbol such as ")" otherwise takes
    some slanted 1s; the validation images come from the train split, never from the test split. ``predict``
    is the adapted model's compiled batch pass (half the time of ``keras.Model.predict``); it reads ``dense``'s
    weights when called, so it sees the bias set here."""
    kernel, bias = dense.get_weights()
    old_ok = (base_val.argmax(1) == val.y).mean()
    val_p = predict(val.x)
    new_p = predict(new_x)
    new_ok_before = (new_p.argmax(1) == new_y).mean()
    best = NEW_CLASS_PENALTIES[0]
    for penalty in NEW_CLASS_PENALTIES:
        scale = np.ones(val_p.shape[1], np.float32)
        scale[old:] = np.exp(-penalty)
        val_ok = ((val_p * scale).argmax(1) == val.y).mean()
        new_ok = ((new_p * scale).argmax(1) == new_y).mean()
        if new_ok < new_ok_before:
            break  # new drawings start to be missed: stay with the last penalty that kept them
        best = penalty
        if val_ok >= old_ok:
            break
    bias = bias.copy()
    bias[old:] -= best
    dense.set_weights([kernel, bias])
    return best


def _newly_misread(
    truth: np.ndarray, before: np.ndarray, after: np.ndarray, labels: list[str]
) -> dict[str, dict[str, int]]:
    """Test images the base model read right and the adapted one misreads: {class: {read as: count}}. The pad's
    switch question names them, so a person sees what a new model costs (a taught ")" takes the 1s written
    like it) before choosing."""
    lost = (before.argmax(1) == truth) & (after.argmax(1) != truth)
    out: dict[str, dict[str, int]] = {}
    for t, read in zip(truth[lost], after.argmax(1)[lost], strict=True):
        counts = out.setdefault(labels[t], {})
        counts[labels[read]] = counts.get(labels[read], 0) + 1
    return out


def adapt(config: AdaptConfig, *, progress: ProgressFn = ignore, cancel: CancelToken | None = None) -> Path:
    """Fine-tune ``config.base`` on ``config.samples`` (plus replay) and save the new model; return its path.

    Raises SampleError for an unusable samples folder before any work, Cancelled (writing nothing) when
    ``cancel`` is set. The base model and the samples are only read.
    """
    import tensorflow as tf

    from trainer.data.augment import augment
    from trainer.training.callbacks import KerasProgress

    started = time.monotonic()
    samples: SampleSet = scan_samples(config.samples)
    base = load_model(config.base)
    if base.card.scaling != "inside":
        raise ModelError(f"{base.name} is a legacy notebook model; adapt a model trained by MathSym instead.")
    labels = list(base.labels) + [c for c in samples.index.class_names if c not in base.labels]
    new_classes = labels[len(base.labels) :]
    keras.utils.set_random_seed(config.seed)

    replay = _replay(base, config, bool(new_classes), progress, cancel)
    # A samples folder that is the dataset itself (a fine-tune from the Train menu) gives only its train split.
    chosen = [s for s in samples.index.samples if s.path.resolve() not in replay.test_files]
    if not chosen:
        raise SampleError(f"Every sample in {samples.index.root} is in the test split of the replayed dataset.")
    if config.samples_per_class:
        chosen = _subset(chosen, config.samples_per_class, config.seed)
    mine = load_images(
        _relabel(chosen, samples.index, labels),
        base.card.preprocessing,
        base.card.input_size,
        progress,
        cancel,
        stage="Reading samples",
    )
    if mine.failures:
        path, message = mine.failures[0]
        raise SampleError(f"Sample {path} cannot be used: {message} Remove it and try again.")
    if cancel:
        cancel.check()

    # Every sample class is drawn as often per epoch as a replayed class, so five drawings count.
    repeats = np.concatenate(
        [np.full(n, math.ceil(config.replay_per_class / n)) for n in np.bincount(mine.y, minlength=len(labels)) if n]
    )
    order = np.argsort(mine.y, kind="stable")
    x = np.concatenate([np.repeat(mine.x[order], repeats, axis=0), replay.train.x])
    y = np.concatenate([np.repeat(mine.y[order], repeats), replay.train.y])

    parts = _parts(base.keras_model)
    trained = parts.start if parts else base.keras_model
    progress(Progress("Preparing", 0, None, f"{samples.summary()}: {len(mine.y)} used, {len(replay.train.y)} replayed"))
    ink = _as_ink(x) if parts is None else np.asarray(parts.front.predict(x, batch_size=256, verbose=0))
    if new_classes:
        trained = _grow(trained, len(labels), ink if parts else x, y)
    _freeze_all_but_top(trained, TRAINED_LAYERS)

    settings = _augment_settings(base.card)

    def augmented(ink_batch, target):
        ink_batch = augment(ink_batch, settings)
        return (ink_batch if parts else tf.repeat((1.0 - ink_batch) * 255.0, 3, axis=-1)), target

    batch = min(HYPER["batch_size"], len(ink))
    steps = max(1, len(ink) // batch)
    data = (
        tf.data.Dataset.from_tensor_slices((ink, one_hot(y, len(labels))))
        .shuffle(len(ink), seed=config.seed, reshuffle_each_iteration=True)
        .batch(batch, drop_remainder=True)
        .map(augmented, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.epochs * steps, alpha=0.05)
    trained.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=HYPER["label_smoothing"]),
        metrics=["accuracy"],
    )
    reporter = KerasProgress("Learning your handwriting", config.epochs, progress, cancel)
    trained.fit(data, epochs=config.epochs, callbacks=[reporter], verbose=0, shuffle=False)

    gate = None
    if parts:
        # A fine-tune on the replayed dataset itself (the Train menu's "start from the active model") is meant
        # for every drawing, so it gets no gate.
        if replay.split.get("dataset") != str(samples.index.root.resolve()):
            first = np.cumsum(repeats) - repeats  # each sample's first copy in ``ink``; the replay follows them
            gate = _fit_gate(parts, ink[first], mine.y[order], ink[int(repeats.sum()) :])
        core = (
            gated_core(parts.base, trained, gate) if gate else keras.Model(trained.input, trained.output, name="core")
        )
        inputs = keras.Input(base.keras_model.input_shape[1:], name="image")
        model = keras.Model(inputs, core(parts.front(inputs)), name=base.keras_model.name)
    else:
        model = trained
    used = {labels[i]: int(n) for i, n in enumerate(np.bincount(mine.y, minlength=len(labels))) if n}
    card = _card(base, config, samples, used, replay, labels, new_classes, reporter.history)
    adapted = LoadedModel(model, card)
    penalty = 0.0
    if new_classes and replay.val is not None:
        progress(Progress("Checking the new classes", 0, None))
        new = mine.y >= len(base.labels)
        penalty = _calibrate_new_classes(
            adapted.predict_inputs,
            trained.layers[-1],
            len(base.labels),
            replay.val,
            base.predict_inputs(replay.val.x),
            mine.x[new],
            mine.y[new],
        )
    card.training["new_class_penalty"] = penalty
    if gate is not None:
        card.training["personal_gate"] = {
            "prototypes": len(gate["prototypes"]),
            **{k: round(float(gate[k]), 4) for k in ("threshold", "sharpness", "dataset_closeness", "samples_spread")},
        }
    base_probs = predict_arrays(base.predict_inputs, replay.test.x, progress, cancel, stage="Testing the base model")
    new_probs = predict_arrays(adapted.predict_inputs, replay.test.x, progress, cancel, stage="Testing")
    card.metrics = metrics_from_predictions(replay.test.y, new_probs, labels)
    base_acc = float((base_probs.argmax(1) == replay.test.y).mean()) if len(replay.test.y) else 0.0
    card.metrics["base_test_accuracy"] = base_acc
    card.metrics["newly_misread"] = _newly_misread(replay.test.y, base_probs, new_probs, labels)
    # On the samples it learnt from: what the pad's switch question shows beside the test split (the base model
    # counts as wrong on a new symbol's samples; its labels are the first of the new model's).
    card.metrics["samples_accuracy"] = float((adapted.predict_inputs(mine.x).argmax(1) == mine.y).mean())
    card.metrics["base_samples_accuracy"] = float((base.predict_inputs(mine.x).argmax(1) == mine.y).mean())
    card.training["seconds"] = round(time.monotonic() - started, 1)
    if cancel:
        cancel.check()
    output = Path(config.output) if config.output else default_output(f"{base.card.architecture}-adapted")
    return save_model(model, card, output, cancel)


def _card(
    base: LoadedModel,
    config: AdaptConfig,
    samples: SampleSet,
    used: dict[str, int],
    replay: _Replay,
    labels: list[str],
    new_classes: list[str],
    history: list[dict],
) -> ModelCard:
    symbols = {
        **base.card.dataset.get("symbols", {}),
        **{c: samples.symbols.get(c, {"symbol": c, "latex": c}) for c in new_classes},
    }
    return ModelCard(
        labels=labels,
        architecture=base.card.architecture,
        input_size=base.card.input_size,
        preprocessing=base.card.preprocessing,
        scaling=base.card.scaling,
        dataset={**base.card.dataset, "symbols": symbols} if symbols else dict(base.card.dataset),
        split=replay.split,
        training={
            "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else "",
            "kind": "adapt (fine-tuned on personal samples)",
            "base_model": {
                "path": str(Path(config.base).resolve()),
                "sha256": file_sha256(Path(config.base)),
                "created": base.card.created,
                "test_accuracy": base.card.test_accuracy,
            },
            "samples": {
                "path": str(Path(config.samples).resolve()),
                "counts": used,
                "hash": samples.digest,
                "symbols": samples.symbols,
            },
            "new_classes": new_classes,
            "replay": replay.source,
            "epochs": config.epochs,
            "learning_rate": config.learning_rate,
            "seed": config.seed,
            **HYPER,
            "trained_layers": f"the last {TRAINED_LAYERS} convolution/dense layers; the rest and every BatchNorm "
            "frozen",
            "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in h.items()} for h in history],
        },
        versions=library_versions(),
        created=now_iso(),
        notes=f"Adapted from {Path(config.base).name} on {sum(used.values())} samples.",
    )
