"""The notebook's VGG19: weights (file round trip, wrong file, offline ImageNet), the feature cache, a run."""

from __future__ import annotations

import time

import numpy as np
import pytest

from trainer.errors import Cancelled
from trainer.models import vgg19 as vgg
from trainer.models.vgg19 import WEIGHTS_FILE, WeightsError, build_vgg19, build_vgg19_base
from trainer.paths import card_path
from trainer.progress import CancelToken
from trainer.serving.card import ModelCard
from trainer.training.runs import RunConfig

SIZE = 32  # VGG19's smallest input


@pytest.fixture(scope="module")
def saved_base(tmp_path_factory):
    base = build_vgg19_base(SIZE, weights=None)
    path = tmp_path_factory.mktemp("weights") / "vgg19-base.weights.h5"
    base.save_weights(str(path))
    return base, path


def test_weights_file_round_trip(saved_base):
    base, path = saved_base
    model = build_vgg19(19, 48, weights=path)  # conv weights do not depend on the input size
    loaded = model.get_layer("vgg19")
    assert not loaded.trainable
    for a, b in zip(base.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_legacy_h5_weights_file(tmp_path, saved_base):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    base, _ = saved_base
    path = tmp_path / WEIGHTS_FILE  # the layout of the file Keras publishes
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, base)
    loaded = build_vgg19_base(SIZE, weights=path)
    np.testing.assert_array_equal(base.get_weights()[-1], loaded.get_weights()[-1])


def test_wrong_weights_file_is_one_clear_error(tmp_path):
    import keras

    other = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    wrong = tmp_path / "other.weights.h5"
    other.save_weights(str(wrong))
    with pytest.raises(WeightsError, match="does not hold VGG19 convolutional-base weights") as info:
        build_vgg19(19, SIZE, weights=wrong)
    assert "\n" not in str(info.value)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not an HDF5 file")
    with pytest.raises(WeightsError, match="garbage.h5 does not hold"):
        build_vgg19_base(SIZE, weights=garbage)
    with pytest.raises(WeightsError, match="does not exist"):
        build_vgg19_base(SIZE, weights=tmp_path / "missing.h5")


def test_offline_imagenet_is_one_clear_error(tmp_path, monkeypatch, synthetic_dataset):
    from keras.src.applications import vgg19 as keras_vgg19

    from trainer.training.vgg19 import train_vgg19

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    # An unreachable local address: fails at once whether or not this machine has a network.
    monkeypatch.setattr(keras_vgg19, "WEIGHTS_PATH_NO_TOP", f"http://127.0.0.1:9/{WEIGHTS_FILE}")
    started = time.monotonic()
    with pytest.raises(WeightsError) as info:
        build_vgg19(19, SIZE, weights="imagenet")
    message = str(info.value)
    assert time.monotonic() - started < 20
    assert WEIGHTS_FILE in message and str(tmp_path / "keras" / "models") in message and "--weights PATH" in message
    assert "\n" not in message and "http" not in message
    with pytest.raises(WeightsError):  # before reading the dataset
        train_vgg19(RunConfig(synthetic_dataset, output=tmp_path / "x.keras", image_size=SIZE), weights="imagenet")
    assert not (tmp_path / "x.keras").exists()


def test_head_on_features_equals_full_model():
    from trainer.training.features import extract_features

    model = build_vgg19(19, SIZE, weights=None)
    head = vgg.head_model(model)
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    rng = np.random.default_rng(0)
    dense.set_weights([rng.normal(0, 0.05, kernel.shape).astype(np.float32), bias])  # a "trained" head
    x = rng.integers(0, 256, (5, SIZE, SIZE, 3), dtype=np.uint8)
    feats = extract_features(vgg.feature_extractor(model), x, batch_size=2)
    np.testing.assert_allclose(head.predict(feats, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_features_disk_cache(tmp_path):
    import keras

    from trainer.training.features import extract_features

    extractor = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(0.5), keras.layers.Flatten()])
    x = np.arange(2 * 8 * 8 * 3, dtype=np.uint8).reshape(2, 8, 8, 3)
    events = []
    first = extract_features(extractor, x, disk_cache=True, progress=events.append)
    second = extract_features(extractor, x, disk_cache=True, progress=events.append)
    np.testing.assert_array_equal(first, second)
    assert events[-1].message == "from cache" and events[0].message != "from cache"


def test_train_vgg19_with_cached_features(synthetic_dataset, tmp_path):
    from trainer.serving.modelio import load_model
    from trainer.training.vgg19 import train_vgg19

    config = RunConfig(synthetic_dataset, output=tmp_path / "vgg.keras", epochs=2, image_size=SIZE, preprocessing="ink")
    events = []
    path = train_vgg19(config, weights=None, use_feature_cache=True, progress=events.append)
    card = ModelCard.read(card_path(path))
    assert card.architecture == "vgg19" and card.input_size == SIZE
    assert card.training["feature_cache"] is True and card.training["epochs_run"] == 2
    assert "x/255" in card.training["input_scaling"] and card.training["weights"].startswith("none")
    assert card.metrics["test_images"] > 0
    assert any(e.stage.startswith("Extracting VGG19 features") for e in events)
    loaded = load_model(path)
    # The saved full model agrees with its card's test metrics (the head's weights went into it).
    data_images = np.stack([loaded.preprocess(p) for p in sorted((synthetic_dataset / "eq").iterdir())[:2]])
    assert loaded.predict_inputs(data_images).shape == (2, 19)


def test_train_vgg19_the_notebooks_way(synthetic_dataset, tmp_path):
    from trainer.training.vgg19 import train_vgg19

    config = RunConfig(synthetic_dataset, output=tmp_path / "vgg.keras", epochs=1, image_size=SIZE, subset=3)
    path = train_vgg19(config, weights=None, use_feature_cache=False)
    assert ModelCard.read(card_path(path)).training["feature_cache"] is False


def test_cancelled_vgg19_writes_nothing(synthetic_dataset, tmp_path):
    from trainer.training.vgg19 import train_vgg19

    output = tmp_path / "keep.keras"
    output.write_bytes(b"old model")
    token = CancelToken()

    def progress(event):
        if event.stage.startswith("Extracting"):
            token.cancel()

    config = RunConfig(synthetic_dataset, output=output, epochs=2, image_size=SIZE)
    with pytest.raises(Cancelled):
        train_vgg19(config, weights=None, progress=progress, cancel=token)
    assert output.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.keras"]
