"""A tiny real Keras model (trained for a few seconds on the synthetic dataset) for CLI/report/predict tests.

Built once per test session (memoised), so evaluation, reports and prediction are tested without waiting for
the architecture trainers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SIZE = 32
_BUILT: dict[str, Path] = {}


def build_tiny_model(dataset: Path, folder: Path, epochs: int = 6) -> Path:
    """Train a small CNN on the notebook split's train part of ``dataset``; save it (with card) in ``folder``.

    Memoised per dataset: later calls return the first model, wherever it was saved.
    """
    key = str(dataset)
    if key in _BUILT:
        return _BUILT[key]
    import keras
    import numpy as np

    from trainer.card import ModelCard
    from trainer.dataset import scan_dataset
    from trainer.loading import load_images
    from trainer.modelio import save_model
    from trainer.split import notebook_split

    keras.utils.set_random_seed(3)
    index = scan_dataset(dataset)
    split = notebook_split(index)
    train = load_images(split.train, "ink", SIZE, use_cache=False)
    classes = len(index.class_names)
    model = keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        keras.layers.Rescaling(1 / 255.0),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(classes, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(train.x.astype(np.float32), train.y, epochs=epochs, batch_size=32, verbose=0)
    card = ModelCard(labels=list(index.class_names), architecture="tiny test CNN", input_size=SIZE,
                     preprocessing="ink", notes="built by tests/_tinymodel.py")
    path = save_model(model, card, Path(folder) / "tiny.keras")
    _BUILT[key] = path
    return path


@pytest.fixture(scope="session")
def tiny_model(synthetic_dataset, tmp_path_factory) -> Path:
    if str(synthetic_dataset) in _BUILT:
        return _BUILT[str(synthetic_dataset)]
    return build_tiny_model(synthetic_dataset, tmp_path_factory.mktemp("tinymodel"))
