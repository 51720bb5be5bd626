"""Saving and loading models with their cards: round trip, atomicity, and every way a model file can be wrong."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from _tinymodel import SIZE, tiny_model  # noqa: F401  (fixture)
from trainer.card import ModelCard, card_path
from trainer.errors import ModelError
from trainer.modelio import LoadedModel, load_model, save_model


def _small_keras(outputs: int, size: int = SIZE):
    import keras

    return keras.Sequential([keras.Input((size, size, 3)), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(outputs, activation="softmax")])


def test_round_trip_keeps_card_and_predictions(tiny_model, synthetic_dataset):
    model = load_model(tiny_model)
    assert isinstance(model, LoadedModel)
    assert model.card.input_size == SIZE and model.card.preprocessing == "ink" and len(model.labels) == 19
    image = next((synthetic_dataset / "add").glob("*.png"))
    p = model.predict(image)
    assert p.shape == (19,) and abs(float(p.sum()) - 1) < 1e-4
    batch = np.stack([model.preprocess(image)] * 3)
    assert model.predict_inputs(batch).shape == (3, 19)
    assert model.predict_inputs(np.zeros((0, SIZE, SIZE, 3), np.uint8)).shape == (0, 19)
    top = model.top_k(p, 3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]


def test_save_replaces_atomically_and_leaves_no_temp_files(tmp_path):
    card = ModelCard(labels=[str(i) for i in range(3)], architecture="t", input_size=SIZE)
    path = save_model(_small_keras(3), card, tmp_path / "m.keras")
    save_model(_small_keras(3), card, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.card.json", "m.keras"]
    with pytest.raises(ModelError):
        save_model(_small_keras(3), card, tmp_path / "m.h5")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelError) as info:
        save_model(_small_keras(3), card, blocker / "m.keras")
    assert "Cannot write" in str(info.value)


def _with_card(tmp_path, tiny_model, name: str, content: bytes):
    target = tmp_path / name
    target.write_bytes(content)
    shutil.copy(card_path(tiny_model), card_path(target))
    return target


@pytest.mark.parametrize("case", ["missing", "random_bytes", "text_renamed", "no_card", "wrong_suffix",
                                  "card_output_mismatch", "card_size_mismatch", "card_garbage"])
def test_load_model_refuses_bad_files_with_one_sentence(tmp_path, tiny_model, case):
    if case == "missing":
        target = tmp_path / "nope.keras"
    elif case == "random_bytes":
        target = _with_card(tmp_path, tiny_model, "junk.keras", os.urandom(4096))
    elif case == "text_renamed":
        target = _with_card(tmp_path, tiny_model, "text.keras", b"this is not a model\n" * 20)
    elif case == "no_card":
        target = tmp_path / "lonely.keras"
        shutil.copy(tiny_model, target)
    elif case == "wrong_suffix":
        target = tmp_path / "model.txt"
        target.write_text("x")
    elif case == "card_output_mismatch":  # a 5-output model whose card lists 19 labels
        card = ModelCard.read(card_path(tiny_model))
        target = save_model(_small_keras(5), card, tmp_path / "five.keras")
    elif case == "card_size_mismatch":
        card = ModelCard.read(card_path(tiny_model))
        card.input_size = SIZE * 2
        target = save_model(_small_keras(19), card, tmp_path / "size.keras")
    else:
        target = tmp_path / "g.keras"
        shutil.copy(tiny_model, target)
        card_path(target).write_text("{not json")
    with pytest.raises(ModelError) as info:
        load_model(target)
    message = str(info.value)
    assert target.stem in message
    assert "Traceback" not in message


def test_card_json_is_complete(tiny_model):
    data = json.loads(card_path(tiny_model).read_text())
    for key in ("labels", "architecture", "input_size", "preprocessing", "scaling", "format"):
        assert key in data
