"""predict_paths (files, folders, per-file errors, batching) and resolve_model."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from trainer.errors import ModelError
from trainer.serving.modelio import load_model
from trainer.serving.predict import Result, expand_paths, predict_paths, resolve_model


@pytest.fixture(scope="module")
def loaded(tiny_model):
    return load_model(tiny_model)


def test_files_and_folders_in_order_with_per_file_errors(loaded, synthetic_dataset, tmp_path):
    folder = tmp_path / "mixed"
    (folder / "deep").mkdir(parents=True)
    shutil.copy(next((synthetic_dataset / "eq").glob("*.png")), folder / "deep" / "eq.png")
    shutil.copy(next((synthetic_dataset / "7").glob("*.jpg")), folder / "seven.jpg")
    (folder / ".hidden.png").write_bytes(b"x")
    (folder / "notes.txt").write_text("not an image")
    bad = tmp_path / "bad.png"
    bad.write_bytes(os.urandom(100))
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (40, 40), "white").save(blank)
    one = next((synthetic_dataset / "add").glob("*.png"))

    results = predict_paths(loaded, [one, bad, folder, tmp_path / "missing.png", blank], k=3)
    assert [r.path.name for r in results] == [one.name, "bad.png", "eq.png", "seven.jpg", "missing.png", "blank.png"]
    assert [r.ok for r in results] == [True, False, True, True, False, False]
    for r in results:
        if r.ok:
            assert len(r.top) == 3 and all(lbl in loaded.labels for lbl, _ in r.top)
            assert r.top[0][1] >= r.top[1][1]
            assert ": " in r.line() and "%" in r.line()
        else:
            assert r.error and "error:" in r.line()
    assert "does not exist" in results[4].error
    assert "no visible ink" in results[5].error
    as_dict = results[0].to_dict()
    assert set(as_dict) == {"path", "top", "error"} and {"label", "symbol", "probability"} <= set(as_dict["top"][0])


def test_k_is_clamped_and_empty_folder_reported(loaded, synthetic_dataset, tmp_path):
    image = next((synthetic_dataset / "x").glob("*.png"))
    assert len(predict_paths(loaded, [image], k=100)[0].top) == 19
    (tmp_path / "empty").mkdir()
    [r] = predict_paths(loaded, [tmp_path / "empty"])
    assert not r.ok and "without images" in r.error


def test_predicts_through_one_batch_call(loaded, synthetic_dataset, monkeypatch):
    calls = []
    real = loaded.predict_inputs
    monkeypatch.setattr(loaded, "predict_inputs", lambda x, *a, **k: calls.append(len(x)) or real(x, *a, **k))
    results = predict_paths(loaded, [synthetic_dataset / "div"])
    assert len(results) == 12 and all(r.ok for r in results)
    assert calls == [12]


def test_expand_paths_recursive_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "b" / "c.JPG").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.png").write_bytes(b"x")
    items = expand_paths([tmp_path])
    assert [p.name for p in items] == ["a.png", "c.JPG"]
    [missing] = expand_paths([tmp_path / "zz"])
    assert isinstance(missing, Result) and not missing.ok


def test_resolve_model_order(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    with pytest.raises(ModelError) as info:
        resolve_model(None, models)
    assert "--model" in str(info.value) and "train" in str(info.value)
    (models / "default.keras").write_bytes(b"d")
    (models / "default.card.json").write_text("{}")
    assert resolve_model(None, models).name == "default.keras"
    for i, name in enumerate(["alexnet-1", "vgg19-2"]):
        (models / f"{name}.keras").write_bytes(b"m")
        (models / f"{name}.card.json").write_text("{}")
        os.utime(models / f"{name}.keras", (time.time() - 100 + i, time.time() - 100 + i))
    (models / "nocard.keras").write_bytes(b"m")  # newest, but unusable without its card
    (models / ".vgg19-3.tmp.keras").write_bytes(b"m")  # a save in progress
    assert resolve_model(None, models).name == "vgg19-2.keras"
    assert resolve_model(tmp_path / "explicit.keras", models) == tmp_path / "explicit.keras"
    monkeypatch.setenv("MATHSYM_MODELS", str(models))
    assert resolve_model().name == "vgg19-2.keras"
