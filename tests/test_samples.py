"""The personal samples folder: saving, undoing, counting, checking (trainer.data.samples; no Qt, no TensorFlow)."""

from __future__ import annotations

import errno
import json
import os

import cv2
import numpy as np
import pytest

import trainer.data.samples as samples_module
from trainer.data.dataset import scan_dataset
from trainer.data.preprocess import to_model_input
from trainer.data.samples import (
    SampleError,
    count_samples,
    read_symbol_file,
    remove_sample,
    save_sample,
    scan_samples,
    validate_label,
)
from trainer.data.strokes import draw_symbol

STROKES = [{"points": [[10.0, 10.0, 1.0], [50.0, 60.0, 1.0]], "colour": "#000000", "width": 12.0, "eraser": False}]


def raster(label: str = "7", seed: int = 0) -> np.ndarray:
    return to_model_input(draw_symbol(label, np.random.default_rng(seed), size=96), "ink")


def test_saved_samples_form_a_kaggle_style_dataset(tmp_path):
    folder = tmp_path / "samples"
    first = save_sample(STROKES, raster("7"), "7", folder, {"predicted": "1"})
    save_sample(STROKES, raster("7", 1), "7", folder)
    save_sample(None, raster("add"), "add", folder)
    assert first.image.parent == folder / "7" and first.image.suffix == ".png"
    record = json.loads(first.strokes.read_text(encoding="utf-8"))
    assert record["label"] == "7" and record["strokes"] == STROKES and record["predicted"] == "1"
    assert record["source"] == "drawing"
    image = cv2.imread(str(first.image))
    assert image.shape == (224, 224, 3) and np.array_equal(image[..., ::-1], raster("7"))
    index = scan_dataset(folder)
    assert index.class_names == ("7", "add") and len(index) == 3
    assert count_samples(folder) == {"7": 2, "add": 1}
    checked = scan_samples(folder, min_per_class=1)
    assert checked.counts == {"7": 2, "add": 1} and len(checked.digest) == 16


def test_undo_removes_the_files_and_an_emptied_class_folder(tmp_path):
    kept = save_sample(STROKES, raster(), "7", tmp_path)
    saved = save_sample(None, raster("z"), "z", tmp_path)
    remove_sample(saved)
    assert not saved.image.exists() and not saved.strokes.exists() and not (tmp_path / "z").exists()
    assert kept.image.is_file() and count_samples(tmp_path) == {"7": 1}


def test_disk_full_keeps_earlier_samples_and_leaves_no_part(tmp_path, monkeypatch):
    earlier = save_sample(STROKES, raster(), "7", tmp_path)
    real = samples_module.atomic_write_bytes
    calls = []

    def full_disk(path, data):
        calls.append(path)
        if len(calls) == 2:  # the strokes JSON got written, the PNG does not fit
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(samples_module, "atomic_write_bytes", full_disk)
    with pytest.raises(SampleError, match="No space left on device.*earlier samples are kept"):
        save_sample(STROKES, raster(), "7", tmp_path)
    assert sorted(p.name for p in (tmp_path / "7").iterdir()) == sorted([earlier.image.name, earlier.strokes.name])


def test_unwritable_folder_is_a_message(tmp_path):
    blocked = tmp_path / "samples"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(SampleError, match="Cannot save the sample"):
        save_sample(STROKES, raster(), "7", blocked)
    assert blocked.read_text() == "a file where the folder should be"


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        ".",
        "..",
        ".hidden",
        "a/b",
        "a\\b",
        "new\nline",
        "nul\x00",
        "tab\t",
        " 7",
        "what?",
        "x" * 101,
        "\u202eevil",
    ],
)
def test_invalid_class_names_are_refused(tmp_path, name):
    with pytest.raises(SampleError):
        validate_label(name)
    with pytest.raises(SampleError):
        save_sample(STROKES, raster(), name, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["7", "add", "(", "√", "sqrt", "left paren"])
def test_valid_class_names(name):
    assert validate_label(name) == name


def test_symbol_file_gives_character_and_latex(tmp_path):
    (tmp_path / "sqrt").mkdir()
    (tmp_path / "sqrt" / "symbol.txt").write_text("√\n\\sqrt{}\n", encoding="utf-8")
    assert read_symbol_file(tmp_path / "sqrt") == {"symbol": "√", "latex": "\\sqrt{}"}
    assert read_symbol_file(tmp_path) is None


def _two_each(folder, classes=("7", "z")):
    for c in classes:
        for seed in range(2):
            save_sample(None, raster(c, seed), c, folder)


@pytest.mark.parametrize(
    "problem, message",
    [
        ("missing", "does not exist"),
        ("file", "is not a folder"),
        ("empty", "holds no samples yet"),
        ("junk", "not samples (notes.txt)"),
        ("junk-in-class", "not samples (7/readme.md)"),
        ("one-sample", "at least 2 samples; 'z' has 1"),
        ("bad-name", "contains"),
        ("bad-symbol-file", "must give the symbol"),
    ],
)
def test_unusable_samples_folders_give_one_clear_message(tmp_path, problem, message):
    folder = tmp_path / "samples"
    if problem == "file":
        folder.write_text("x")
    elif problem != "missing":
        folder.mkdir()
    if problem in ("junk", "junk-in-class", "bad-name", "one-sample", "bad-symbol-file"):
        _two_each(folder)
    if problem == "junk":
        (folder / "notes.txt").write_text("x")
    elif problem == "junk-in-class":
        (folder / "7" / "readme.md").write_text("x")
    elif problem == "one-sample":
        png = min((folder / "z").glob("*.png"))
        png.unlink()
        png.with_suffix(".json").unlink()
    elif problem == "bad-name":
        (folder / "tab\there").mkdir()
    elif problem == "bad-symbol-file":
        (folder / "7" / "symbol.txt").write_text("\n\n", encoding="utf-8")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SampleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scan_samples(folder)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_hash_follows_content(tmp_path):
    _two_each(tmp_path)
    first = scan_samples(tmp_path).digest
    save_sample(None, raster("z", 5), "z", tmp_path)
    assert scan_samples(tmp_path).digest != first
