"""Saving and loading models with their cards: round trip, atomicity, and every way a model file can be wrong."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
import zipfile

import numpy as np
import pytest
from support import SIZE

from trainer.errors import Cancelled, ModelError
from trainer.paths import card_path
from trainer.progress import CancelToken
from trainer.serving.card import ModelCard
from trainer.serving.modelio import LoadedModel, load_model, save_model


def _small_keras(outputs: int, size: int = SIZE):
    import keras

    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(outputs, activation="softmax"),
        ]
    )


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.card.json", "m.keras", "m.onnx"]
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


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "random_bytes",
        "text_renamed",
        "no_card",
        "wrong_suffix",
        "card_output_mismatch",
        "card_size_mismatch",
        "card_garbage",
    ],
)
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


# -- the model, its card and its ONNX twin change together (issue 10, causes 3, 7 and 10) -----------------------

LABELS = ["a", "b", "c"]


def _save(folder, name="m.keras", seed=0, **card):
    import keras

    keras.utils.set_random_seed(seed)
    card = ModelCard(**{"labels": LABELS, "architecture": "t", "input_size": SIZE, **card})
    return save_model(_small_keras(len(card.labels)), card, folder / name)


def _edit_card(path, **changes):
    data = json.loads(card_path(path).read_text())
    data.update(changes)
    for key, value in changes.items():
        if value is None:
            del data[key]
    card_path(path).write_text(json.dumps(data))


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_card_records_the_hashes_and_the_model_file_its_contract(tmp_path):
    path = _save(tmp_path)
    card = json.loads(card_path(path).read_text())
    assert card["card_version"] == 2
    assert card["files"]["model"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["files"]["onnx"] == hashlib.sha256(path.with_suffix(".onnx").read_bytes()).hexdigest()
    contract = json.loads(zipfile.ZipFile(path).read("mathsym-contract.json"))
    assert contract["labels"] == LABELS and contract["input_size"] == SIZE
    assert (contract["preprocessing"], contract["scaling"]) == ("ink", "inside")


def test_a_model_file_that_is_not_the_one_its_card_hashed_is_refused(tmp_path):
    first, other = _save(tmp_path, "m.keras", seed=1), _save(tmp_path, "other.keras", seed=2)
    shutil.copy(other, first)  # a half-replaced pair: new model, old card
    with pytest.raises(ModelError) as info:
        load_model(first)
    assert str(first) in str(info.value) and str(card_path(first)) in str(info.value)


@pytest.mark.parametrize("legacy_card", [False, True])
def test_truncated_model_is_reported_as_damaged(tmp_path, legacy_card):
    path = _save(tmp_path)
    if legacy_card:  # a card from before hashes: the damage is found in the file itself
        _edit_card(path, card_version=None, files=None, format="mathsym-model-card/1")
    path.with_suffix(".onnx").unlink(missing_ok=True)
    if not legacy_card:
        _edit_card(path, files={**json.loads(card_path(path).read_text())["files"], "onnx": None})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert "damaged" in str(info.value) and "not found" not in str(info.value).lower()


@pytest.mark.parametrize("lie", [{"labels": LABELS[::-1]}, {"scaling": "outside"}, {"preprocessing": "notebook"}])
@pytest.mark.parametrize("legacy_card", [False, True])
def test_cards_that_lie_about_the_model_are_refused(tmp_path, lie, legacy_card):
    path = _save(tmp_path)
    if legacy_card:  # stripping the hashes does not get a lie past the model's own record
        _edit_card(path, card_version=None, files=None)
    _edit_card(path, **lie)
    key = next(iter(lie))
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert key in str(info.value) and "does not belong" in str(info.value)


def test_cards_without_hashes_from_older_versions_still_load(tmp_path):
    """The legacy path: a version 1 card (no hashes) beside a model without the contract loads as before."""
    import keras

    keras.utils.set_random_seed(0)
    path = tmp_path / "old.keras"
    _small_keras(3).save(path)
    card_path(path).write_text(
        json.dumps({"labels": LABELS, "architecture": "t", "input_size": SIZE, "format": "mathsym-model-card/1"})
    )
    model = load_model(path)
    assert model.labels == LABELS and model.card.card_version == 1


def test_next_save_removes_what_killed_saves_left_and_nothing_else(tmp_path):
    _save(tmp_path)
    orphans = [
        ".m.keras.abcdefgh.tmp.keras",
        ".m.card.json.k2j4_x9z.tmp.json",
        "..m.onnx.abcdefgh.tmp.onnx.q1w2e3r4.tmp",
        ".m.keras.0011aabb.bak",
        "..m.keras.journal.abcdefgh.tmp",
    ]
    kept = [".m.keras.notes", ".other.keras.abcdefgh.tmp.keras", "m.keras.abcdefgh.tmp.keras"]
    for name in orphans + kept:
        (tmp_path / name).write_bytes(b"x")
    _save(tmp_path, seed=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.card.json", "m.keras", "m.onnx", *kept])


def test_cancel_before_the_commit_keeps_the_old_files(tmp_path):
    path = _save(tmp_path)
    before = _files(tmp_path)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        save_model(_small_keras(3), load_model(path).card, path, cancel=token)
    assert _files(tmp_path) == before


@pytest.mark.parametrize(
    "point", ["save:model-written", "save:onnx-renamed", "save:keras-renamed", "save:json-renamed"]
)
def test_sigterm_at_any_step_of_the_save_rolls_back(tmp_path, monkeypatch, point):
    """A handler like the CLI's (the first signal only sets the cancel token) gets a cancelled save and the
    old files, whichever step the signal lands on, and it still sees the signal afterwards."""
    path = _save(tmp_path)
    before = _files(tmp_path)
    token, seen = CancelToken(), []
    monkeypatch.setenv("MATHSYM_FAULT_POINT", point)
    monkeypatch.setenv("MATHSYM_FAULT_SIGNAL", "TERM")
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: (seen.append(signum), token.cancel()))
    try:
        with pytest.raises(Cancelled):
            save_model(_small_keras(3), load_model(path).card, path, cancel=token)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert _files(tmp_path) == before and seen == [signal.SIGTERM]


def test_concurrent_saves_to_one_path_leave_a_matching_pair(tmp_path):
    errors = []

    def saver(seed):
        try:
            for i in range(3):
                _save(tmp_path, seed=seed * 10 + i)
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=saver, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.card.json", "m.keras", "m.onnx"]
    load_model(tmp_path / "m.keras")
