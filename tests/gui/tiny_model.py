"""A tiny, real Keras model for GUI tests: trained for seconds on stroke-template drawings."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from trainer.labels import CLASS_NAMES
from trainer.preprocess import to_model_input
from trainer.strokes import draw_symbol


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


def build_tiny_model(path: str | Path, per_class: int = 24, epochs: int = 12, seed: int = 0) -> Path:
    """Train a small CNN (224x224x3 -> 32x32 -> conv -> 19 softmax) and save it with its card."""
    import keras

    from trainer.card import ModelCard
    from trainer.modelio import save_model

    keras.utils.set_random_seed(seed)
    x, y = template_inputs(per_class, seed)
    xt, yt = template_inputs(4, seed + 1)
    model = keras.Sequential([
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
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.monotonic()
    model.fit(x.astype(np.float32), y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    _, acc = model.evaluate(xt.astype(np.float32), yt, verbose=0)
    card = ModelCard(labels=list(CLASS_NAMES), architecture="tiny-test", preprocessing="ink",
                     metrics={"test_accuracy": float(acc)},
                     training={"epochs": epochs, "seconds": time.monotonic() - start})
    return save_model(model, card, path)
