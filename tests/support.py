"""Small real Keras models for tests, built in seconds; conftest.py turns them into session fixtures.

Three models with different jobs:
- :func:`build_dataset_model` trains on a dataset folder (the synthetic split, 32-pixel inputs) for the CLI,
  evaluation, report and prediction tests (fixture ``tiny_model``);
- :func:`build_pad_model` trains on stroke-template drawings at the pad's 224-pixel input, so that symbols drawn
  on the canvas are recognised (fixture ``pad_model`` of the GUI tests);
- :func:`teach_brackets` adapts the shipped model to "(" and ")" as a user would in the pad (fixture
  ``bracket_model``), and :func:`bracket_line` writes lines with them as pen strokes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from trainer.data.preprocess import to_model_input
from trainer.data.strokes import TEMPLATES, draw_symbol, jittered
from trainer.labels import CLASS_NAMES

#: Input side of the dataset model.
SIZE = 32
_BUILT: dict[str, Path] = {}


def build_dataset_model(dataset: Path, folder: Path, epochs: int = 6) -> Path:
    """Train a small CNN on the notebook split's train part of ``dataset``; save it (with card) in ``folder``.

    Memoised per dataset: later calls return the first model, wherever it was saved.
    """
    key = str(dataset)
    if key in _BUILT:
        return _BUILT[key]
    import keras

    from trainer.data.dataset import scan_dataset
    from trainer.data.loading import load_images
    from trainer.data.split import notebook_split
    from trainer.serving.card import ModelCard
    from trainer.serving.modelio import save_model

    keras.utils.set_random_seed(3)
    index = scan_dataset(dataset)
    split = notebook_split(index)
    train = load_images(split.train, "ink", SIZE, use_cache=False)
    classes = len(index.class_names)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(train.x.astype(np.float32), train.y, epochs=epochs, batch_size=32, verbose=0)
    card = ModelCard(
        labels=list(index.class_names),
        architecture="tiny test CNN",
        input_size=SIZE,
        preprocessing="ink",
        notes="built by tests/support.py",
    )
    path = save_model(model, card, Path(folder) / "tiny.keras")
    _BUILT[key] = path
    return path


def template_inputs(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Jittered template drawings of every class (varied ink colour and paper), preprocessed with "ink"."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label_index, name in enumerate(CLASS_NAMES):
        for _ in range(per_class):
            image = draw_symbol(name, rng, size=128)
            xs.append(to_model_input(image, "ink"))
            ys.append(label_index)
    return np.stack(xs), np.array(ys)


def build_pad_model(path: str | Path, per_class: int = 24, epochs: int = 12, seed: int = 0) -> Path:
    """Train a small CNN (224x224x3 -> 32x32 -> conv -> 19 softmax) on template drawings; save it with its card."""
    import keras

    from trainer.serving.card import ModelCard
    from trainer.serving.modelio import save_model

    keras.utils.set_random_seed(seed)
    x, y = template_inputs(per_class, seed)
    xt, yt = template_inputs(4, seed + 1)
    model = keras.Sequential(
        [
            keras.Input((224, 224, 3)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Resizing(32, 32, interpolation="area"),
            keras.layers.Conv2D(16, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(len(CLASS_NAMES), activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.monotonic()
    model.fit(x.astype(np.float32), y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    _, acc = model.evaluate(xt.astype(np.float32), yt, verbose=0)
    card = ModelCard(
        labels=list(CLASS_NAMES),
        architecture="tiny-test",
        preprocessing="ink",
        metrics={"test_accuracy": float(acc)},
        training={"epochs": epochs, "seconds": time.monotonic() - start},
    )
    return save_model(model, card, path)


BRACKETS = {
    "(": [[(0.6, 0.08), (0.42, 0.3), (0.38, 0.5), (0.42, 0.7), (0.6, 0.92)]],
    ")": [[(0.4, 0.08), (0.58, 0.3), (0.62, 0.5), (0.58, 0.7), (0.4, 0.92)]],
}
#: The brackets' sample folders, named by word as a user may name them; symbol.txt gives the characters.
BRACKET_CLASSES = {"open": "(", "close": ")"}
_OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "=": "eq"}


def teach_brackets(folder: Path, model: Path) -> Path:
    """``model`` after Learn My Handwriting on ten drawings of each bracket, with template drawings of the 19
    classes as replay (no real data needed); saved in ``folder``."""
    from trainer.data.samples import save_sample
    from trainer.data.strokes import make_dataset, render
    from trainer.training.adapt import AdaptConfig, adapt

    rng = np.random.default_rng(3)
    for name, char in BRACKET_CLASSES.items():
        for _ in range(10):
            raster = render(jittered(BRACKETS[char], rng, 0.7), 224, rng.uniform(0.04, 0.07))
            save_sample([], raster, name, folder / "samples")
        (folder / "samples" / name / "symbol.txt").write_text(f"{char}\n{char}\n", encoding="utf-8")
    replay = make_dataset(folder / "replay", per_class=30, seed=4)
    return adapt(AdaptConfig(folder / "samples", model, folder / "taught.keras", data=replay, replay_per_class=20))


def bracket_line(text: str, rng: np.random.Generator, height: float = 60.0) -> list[list[tuple[float, float]]]:
    """``text`` as pad strokes: digits and letters one line tall, operators smaller and centred, brackets
    reaching a little above and below, each template at its own aspect."""
    strokes: list[list[tuple[float, float]]] = []
    x = 20.0
    for ch in text:
        if ch == ".":
            strokes.append([(x + 5, 15 + height)])
            x += 0.4 * height
            continue
        template = BRACKETS.get(ch) or TEMPLATES[_OPERATORS.get(ch, ch)]
        tall = 1.24 if ch in BRACKETS else 0.55 if ch in _OPERATORS else 1.0
        shape = jittered(template, rng, 0.7)
        pts = np.concatenate([np.asarray(s, float) for s in shape])
        lo, ext = pts.min(axis=0), np.maximum(np.ptp(pts, axis=0), 0.02)
        flat = ext[1] < 0.5 * ext[0]  # a minus or an equals sign: sized by its length
        scale = 0.55 * height / ext[0] if flat else tall * height / ext[1]
        top = 20 + (height - ext[1] * scale) / 2
        strokes += [[(float(p[0]), float(p[1])) for p in (np.asarray(s) - lo) * scale + (x, top)] for s in shape]
        x += ext[0] * scale + 0.3 * height
    return strokes
