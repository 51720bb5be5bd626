"""The notebook's AlexNet: exact layer sequence, minimum size, and a tiny end-to-end run to a saved model."""

from __future__ import annotations

import pytest

from trainer.errors import Cancelled, ModelError
from trainer.models.alexnet import MIN_INPUT_SIZE, build_alexnet
from trainer.paths import card_path
from trainer.progress import CancelToken
from trainer.serving.card import ModelCard
from trainer.training.runs import RunConfig

SIZE = 67  # the smallest size the notebook's valid pools allow (see MIN_INPUT_SIZE)


def test_layer_sequence_is_the_notebooks():
    from keras import layers

    model = build_alexnet(19, SIZE, activation="tanh", learning_rate=1e-4)
    got = [type(layer) for layer in model.layers]
    assert got == [
        layers.Rescaling,
        layers.Conv2D,
        layers.MaxPooling2D,
        layers.BatchNormalization,
        layers.Conv2D,
        layers.MaxPooling2D,
        layers.BatchNormalization,
        layers.Conv2D,
        layers.Conv2D,
        layers.Conv2D,
        layers.MaxPooling2D,
        layers.BatchNormalization,
        layers.Flatten,
        layers.Dense,
        layers.Dropout,
        layers.Dense,
        layers.Dropout,
        layers.Dense,
    ]
    assert model.layers[0].scale == pytest.approx(1 / 255)
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides, c.padding) for c in convs] == [
        (96, (11, 11), (4, 4), "valid"),
        (256, (5, 5), (1, 1), "same"),
        (256, (3, 3), (1, 1), "same"),
        (384, (3, 3), (1, 1), "same"),
        (384, (3, 3), (1, 1), "same"),
    ]
    assert all(c.activation.__name__ == "tanh" for c in convs)
    pools = [layer for layer in model.layers if isinstance(layer, layers.MaxPooling2D)]
    assert all((p.pool_size, p.strides) == ((3, 3), (2, 2)) for p in pools)
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    assert [d.units for d in dense] == [4096, 4096, 19]
    assert dense[-1].activation.__name__ == "softmax"
    assert all(d.rate == 0.5 for d in model.layers if isinstance(d, layers.Dropout))
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-4)
    assert model.loss == "categorical_crossentropy"


def test_too_small_or_bad_activation_is_a_clear_error():
    with pytest.raises(ModelError, match=f"at least {MIN_INPUT_SIZE} pixels"):
        build_alexnet(19, MIN_INPUT_SIZE - 1)
    with pytest.raises(ModelError, match="activation"):
        build_alexnet(19, SIZE, activation="sigmoid")


def test_train_alexnet_end_to_end(synthetic_dataset, tmp_path):
    from trainer.serving.modelio import load_model
    from trainer.training.alexnet import train_alexnet

    events = []
    config = RunConfig(
        synthetic_dataset, output=tmp_path / "alex.keras", epochs=2, image_size=SIZE, batch_size=64, preprocessing="ink"
    )
    path = train_alexnet(config, activation="relu", learning_rate=1e-3, progress=events.append)
    assert path == tmp_path / "alex.keras" and path.is_file()
    card = ModelCard.read(card_path(path))
    assert card.architecture == "alexnet" and card.input_size == SIZE and card.preprocessing == "ink"
    assert card.training["hyperparameters"] == {"activation": "relu", "learning_rate": 1e-3}
    assert card.training["early_stopping"]["monitor"] == "val_loss"
    assert 1 <= card.training["epochs_run"] <= 2
    assert card.metrics["test_images"] > 0
    assert any(e.stage == "Training AlexNet" and e.metrics for e in events)
    loaded = load_model(path)
    assert loaded.predict_inputs(
        loaded.preprocess(synthetic_dataset / "add" / next(p.name for p in (synthetic_dataset / "add").iterdir()))
    ).shape == (1, 19)


def test_cancelled_training_writes_nothing(synthetic_dataset, tmp_path):
    from trainer.training.alexnet import train_alexnet

    output = tmp_path / "keep.keras"
    output.write_bytes(b"old model")
    token = CancelToken()

    def progress(event):
        if event.stage == "Training AlexNet":
            token.cancel()

    config = RunConfig(synthetic_dataset, output=output, epochs=2, image_size=SIZE, preprocessing="notebook")
    with pytest.raises(Cancelled):
        train_alexnet(config, progress=progress, cancel=token)
    assert output.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.keras"]


def test_a_diverged_training_is_refused_and_the_old_model_kept(synthetic_dataset, tmp_path, capsys):
    from cli_run import one_error, run

    output = tmp_path / "keep.keras"
    output.write_bytes(b"old model")
    code, _, err = run(
        capsys, "train", "alexnet", "--data", synthetic_dataset, "--image-size", SIZE, "--epochs", 2,
        "--learning-rate", 1000, "--output", output, "--progress", "none",
    )  # fmt: skip
    assert code == 1 and one_error(err).startswith("Training diverged") and "lower learning rate" in err
    assert output.read_bytes() == b"old model" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.keras"]
