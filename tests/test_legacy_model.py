"""A notebook user's .h5 model (no card, /255 expected outside) opens with the notebook's contract."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.errors import ModelError
from trainer.labels import CLASS_NAMES
from trainer.serving.modelio import load_model


def _notebook_style_model(size: int):
    import keras

    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(CLASS_NAMES), activation="softmax"),
        ]
    )


def test_legacy_h5_loads_with_notebook_contract(tmp_path):
    model = _notebook_style_model(32)
    path = tmp_path / "notebook_model.h5"
    model.save(path)

    loaded = load_model(path)

    assert loaded.card.labels == list(CLASS_NAMES)
    assert loaded.card.preprocessing == "notebook"
    assert loaded.card.scaling == "outside"
    assert loaded.card.input_size == 32  # taken from the model, the notebook's 224 being only the default


def test_legacy_h5_scales_inputs_outside(tmp_path):
    model = _notebook_style_model(224)
    path = tmp_path / "vgg_like.h5"
    model.save(path)
    loaded = load_model(path)
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)

    expected = model.predict(batch.astype(np.float32) / 255.0, verbose=0)

    np.testing.assert_allclose(loaded.predict_inputs(batch), expected, rtol=1e-4, atol=1e-5)


def test_h5_with_wrong_class_count_is_refused(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((224, 224, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(7, activation="softmax")]
    )
    path = tmp_path / "other.h5"
    model.save(path)
    with pytest.raises(ModelError, match="7"):
        load_model(path)
