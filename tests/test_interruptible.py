"""LoadedModel.predict_latest: the same answer as the batch path, and none once a newer ticket is issued."""

from __future__ import annotations

import threading

import numpy as np

from trainer.serving.card import ModelCard
from trainer.serving.modelio import LoadedModel

SIZE = 32


def _loaded(keras_model) -> LoadedModel:
    card = ModelCard(labels=["a", "b", "c"], architecture="test", input_size=SIZE)
    model = LoadedModel(keras_model, card)
    model.warm_up()
    return model


def _inputs(n: int = 1) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def _chain(*middle):
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(4, 3, activation="relu"),
            *middle,
            layers.Conv2D(4, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def test_chain_model_answers_like_the_batch_path_until_superseded():
    model = _loaded(_chain(_nested_block()))
    assert model.interruptible
    x = _inputs()[0]
    np.testing.assert_allclose(model.predict_latest(x, 1), model.predict_inputs(x)[0], atol=1e-6)
    model.supersede(5)
    assert model.predict_latest(x, 4) is None  # an older ticket: stale
    assert model.predict_latest(x, 5) is not None and model.predict_latest(x, 6) is not None


def _nested_block():
    """A nested model inside the chain, like VGG19's base in our transfer model."""
    import keras
    from keras import layers

    inner = keras.Input((SIZE - 2, SIZE - 2, 4))
    return keras.Model(inner, layers.Conv2D(4, 1)(inner), name="inner")


def test_model_with_a_skip_connection_is_not_chained_but_still_answers():
    import keras
    from keras import layers

    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(3, 3, padding="same")(inputs)
    x = layers.Add()([x, inputs])
    outputs = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    model = _loaded(keras.Model(inputs, outputs))
    assert not model.interruptible
    model.supersede(9)
    x = _inputs()[0]
    np.testing.assert_allclose(model.predict_latest(x, 1), model.predict_inputs(x)[0], atol=1e-6)


def test_a_running_pass_stops_when_a_newer_ticket_arrives():
    """The pass is held inside a layer (a real graph op waiting on an event); meanwhile another thread
    issues a newer ticket; the pass then gives up at the next check instead of answering."""
    import keras
    import tensorflow as tf

    entered, release = threading.Event(), threading.Event()
    release.set()  # warm-up passes through

    class Gate(keras.layers.Layer):
        def call(self, x):
            def wait(v):
                entered.set()
                release.wait(30)
                return v

            y = tf.py_function(wait, [x], tf.float32)
            y.set_shape(x.shape)
            return y

    model = _loaded(_chain(Gate()))
    assert model.interruptible
    release.clear()
    entered.clear()
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("probs", model.predict_latest(_inputs()[0], 1)))
    worker.start()
    assert entered.wait(30)
    model.supersede(2)
    release.set()
    worker.join(30)
    assert "probs" in result and result["probs"] is None
    assert model.predict_latest(_inputs()[0], 2) is not None


def test_without_warm_up_the_batch_path_answers():
    card = ModelCard(labels=["a", "b", "c"], architecture="test", input_size=SIZE)
    model = LoadedModel(_chain(), card)
    assert not model.interruptible
    model.supersede(10)
    assert model.predict_latest(_inputs()[0], 3).shape == (3,)
