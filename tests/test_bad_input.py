"""Everything a user can get wrong, through the command line: one clear line on stderr, the right exit code,
no traceback, nothing written; bad images are reported by path and skipped (or fail only their own line)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from cli_run import PREFIX, one_error, run

from trainer.errors import ImageError
from trainer.paths import card_path

ROOT = Path(__file__).resolve().parent.parent


def huge_png(path: Path, width: int = 50_000, height: int = 50_000) -> Path:
    """A valid PNG header claiming width x height, with a tiny IDAT (a few hundred bytes on disk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(scope="module")
def bad_dataset(synthetic_dataset, tmp_path_factory) -> tuple[Path, list[Path]]:
    """The synthetic dataset with four of its notebook-split test images replaced by broken files."""
    from trainer.data.dataset import scan_dataset
    from trainer.data.split import notebook_split

    root = tmp_path_factory.mktemp("bad") / "data"
    shutil.copytree(synthetic_dataset, root)
    split = notebook_split(scan_dataset(root))
    victims = [s.path for s in split.test if s.path.parent.name in ("0", "1")]
    assert len(victims) == 4
    good = next((root / "2").glob("*.png")).read_bytes()
    victims[0].write_bytes(os.urandom(500))  # corrupt
    victims[1].write_bytes(b"")  # empty
    victims[2].write_bytes(good[: len(good) // 3])  # truncated
    huge_png(victims[3])  # 50,000 x 50,000
    return root, victims


# -- datasets -------------------------------------------------------------------------------------------------


def test_missing_dataset_folder(capsys, tmp_path, tiny_model):
    for argv in (
        ["split", "--data", tmp_path / "nope", "--output", tmp_path / "out"],
        ["evaluate", tiny_model, "--data", tmp_path / "nope"],
        ["train", "default", "--data", tmp_path / "nope", "--output", tmp_path / "m.keras"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 1 and "does not exist" in one_error(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_folder_without_classes_and_empty_class(capsys, tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(b"x")
    code, _, err = run(capsys, "split", "--data", tmp_path / "flat", "--output", tmp_path / "o1")
    assert code == 1 and "no class sub-folders" in one_error(err)
    (tmp_path / "ds" / "a").mkdir(parents=True)
    (tmp_path / "ds" / "b").mkdir()
    shutil.copy(huge_png(tmp_path / "h.png", 10, 10), tmp_path / "ds" / "a" / "x.png")
    code, out, err = run(capsys, "split", "--data", tmp_path / "ds", "--output", tmp_path / "o2", "--progress", "json")
    assert code == 1 and "has no images" in one_error(err)
    assert json.loads(out.strip().splitlines()[-1])["event"] == "error"
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


# -- bad images -----------------------------------------------------------------------------------------------


def test_huge_png_is_refused_from_its_header(tmp_path):
    from trainer.data.imageio import read_image

    path = huge_png(tmp_path / "huge.png")
    assert path.stat().st_size < 1000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert "megapixels are refused" in str(info.value)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no 2.5 GB decode
    assert str(path) in str(info.value)


def test_evaluate_reports_and_skips_unreadable_test_images(capsys, bad_dataset, tiny_model):
    root, victims = bad_dataset
    code, out, err = run(capsys, "evaluate", tiny_model, "--data", root, "--json")
    assert code == 0, err
    for victim in victims:
        assert f"skipped unreadable image {victim}" in err
    metrics = json.loads(out)  # with --json, stdout is exactly one JSON document
    assert metrics["test_images"] == 38 - 4 and len(metrics["unreadable"]) == 4


def test_training_data_preparation_skips_unreadable_images(bad_dataset):
    from trainer.training.runs import RunConfig, prepare_data

    root, victims = bad_dataset
    data = prepare_data(RunConfig(root, image_size=32, preprocessing="ink"))
    failed = [p for p, _ in data.fit.failures + data.val.failures + data.test.failures]
    assert sorted(failed) == sorted(victims)
    assert len(data.test.y) == 34


def test_predict_bad_files_fail_alone(capsys, bad_dataset, tiny_model, synthetic_dataset):
    _, victims = bad_dataset
    good = next((synthetic_dataset / "add").glob("*.png"))
    code, out, err = run(capsys, "predict", good, *victims, "--model", tiny_model)
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 5 and "error" not in lines[0] and all(": error: " in line for line in lines[1:])
    assert lines[4].startswith(f"{victims[3]}: error: ")
    assert "4 of 5" in one_error(err)


def test_predict_says_plainly_why_an_image_cannot_be_read(capsys, tmp_path, tiny_model, synthetic_dataset):
    good = next((synthetic_dataset / "add").glob("*.png")).read_bytes()
    junk, truncated, damaged = tmp_path / "junk.png", tmp_path / "truncated.png", tmp_path / "damaged.png"
    junk.write_text("I am a text file, renamed.")
    truncated.write_bytes(good[: len(good) // 2])
    start = good.index(b"IDAT") + 8  # the compressed pixels overwritten, the file's length kept
    damaged.write_bytes(good[:start] + bytes(32) + good[start + 32 :])
    code, out, err = run(capsys, "predict", junk, truncated, damaged, "--model", tiny_model)
    assert code == 1 and "3 of 3" in one_error(err)
    assert out.strip().splitlines() == [
        f"{junk}: error: is not an image MathSym can read (not a known image format).",
        f"{truncated}: error: is a truncated image: its data ends part-way through the picture.",
        f"{damaged}: error: is a damaged image: its picture data cannot be decoded.",
    ]


# -- model files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "random_bytes", "text_renamed", "card_mismatch"])
def test_bad_model_files(capsys, tmp_path, tiny_model, synthetic_dataset, case):
    target = tmp_path / f"{case}.keras"
    if case in ("random_bytes", "text_renamed"):
        target.write_bytes(os.urandom(2048) if case == "random_bytes" else b"just some text\n" * 50)
        shutil.copy(card_path(tiny_model), card_path(target))
    elif case == "card_mismatch":
        import keras

        from trainer.serving.card import ModelCard
        from trainer.serving.modelio import save_model

        five = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(5)])
        save_model(five, ModelCard.read(card_path(tiny_model)), target)
    image = next((synthetic_dataset / "add").glob("*.png"))
    for argv in (
        ["predict", image, "--model", target],
        ["evaluate", target, "--data", synthetic_dataset],
        ["info", target, "--check"] if case != "missing" else ["info", target],
    ):
        code, _, err = run(capsys, *argv)
        message = one_error(err)
        assert code == 1 and target.name in message, message
        if case == "card_mismatch":
            assert "card" in message


def test_corrupt_model_in_a_real_process(tmp_path, tiny_model):
    target = tmp_path / "junk.keras"
    target.write_bytes(os.urandom(1024))
    shutil.copy(card_path(tiny_model), card_path(target))
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "predict", str(tiny_model), "--model", str(target)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1
    assert "junk.keras" in one_error(result.stderr)


def test_vgg19_weights_of_the_wrong_shape(capsys, synthetic_dataset, tmp_path):
    import keras

    wrong = tmp_path / "wrong.weights.h5"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]).save_weights(wrong)
    output = tmp_path / "vgg.keras"
    small = ["train", "vgg19", "--data", synthetic_dataset, "--output", output, "--image-size", "32"]
    code, _, err = run(capsys, *small, "--weights", wrong, "--subset", "1", "--epochs", "1")
    assert code == 1 and "wrong.weights.h5" in one_error(err)
    code, _, err = run(capsys, *small, "--weights", tmp_path / "absent.h5")
    assert code == 1 and "absent.h5" in one_error(err)
    assert not output.exists()


# -- outputs --------------------------------------------------------------------------------------------------


def test_outputs_that_cannot_be_written(capsys, tmp_path, synthetic_dataset, tiny_model):
    blocker = tmp_path / "a_file"
    blocker.write_text("I am a file")
    busy = tmp_path / "a_file_s_folder"
    busy.mkdir()
    (busy / "thesis.tex").write_text("keep")
    for argv in (
        ["split", "--data", synthetic_dataset, "--output", blocker / "split"],
        ["train", "default", "--data", synthetic_dataset, "--output", blocker / "m.keras"],
        ["tune", "--data", synthetic_dataset, "--output", blocker / "m.keras"],
        ["report", tiny_model, "--data", synthetic_dataset, "--output", blocker / "rep"],
        ["report", tiny_model, "--data", synthetic_dataset, "--output", blocker],
        ["report", tiny_model, "--data", synthetic_dataset, "--output", busy],
        ["split", "--data", synthetic_dataset, "--output", busy],
        ["train", "default", "--data", synthetic_dataset, "--output", tmp_path / "m.h5"],
    ):
        started = time.monotonic()
        code, _, err = run(capsys, *argv)
        message = one_error(err)
        assert code == 1 and ("a_file" in message or "m.h5" in message), message
        assert time.monotonic() - started < 5, "refused only after doing the work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "a_file_s_folder"]
    assert [p.name for p in busy.iterdir()] == ["thesis.tex"]


# -- usage and unexpected errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "default"],
        ["train", "resnet", "--data", "x"],
        ["train", "alexnet", "--data", "x", "--image-size", "3"],
        ["predict"],
        ["predict", "x", "-k", "0"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv, "--progress", "json")
    assert code == 2
    assert "usage:" in err and "Traceback" not in err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "error"


def test_usage_error_in_a_real_process():
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "split", "--data", "x"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2 and "--output" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "split", "--data", "/nonexistent/ds", "--output", "/tmp/never-written"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [PREFIX + "Dataset folder /nonexistent/ds does not exist."]


def test_unexpected_errors_hint_at_debug(capsys, tiny_model, monkeypatch):
    import trainer.serving.card

    def boom(*a, **k):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(trainer.serving.card.ModelCard, "read", classmethod(lambda cls, p: boom()))
    code, out, err = run(capsys, "info", tiny_model, "--progress", "json")
    assert code == 1
    assert one_error(err) == "unexpected RuntimeError: something broke (rerun with --debug to see the traceback)"
    assert json.loads(out.strip().splitlines()[-1])["event"] == "error"
    code, _, err = run(capsys, "info", tiny_model, "--debug")
    assert code == 1 and "Traceback" in err and "RuntimeError: something" in err


# -- datasets a run cannot learn from, and adapt's and tune's own inputs ---------------------------------------


def test_no_training_images_is_refused_before_training(capsys, tmp_path):
    from trainer.data.strokes import make_dataset

    one_each = make_dataset(tmp_path / "one_each", per_class=1, classes=("3", "7"), size=64, seed=1)
    output = tmp_path / "m.keras"
    small = ["--data", one_each, "--output", output, "--epochs", "1"]
    for argv in (
        ["train", "default", *small, "--image-size", "32"],
        ["train", "default", *small, "--image-size", "32", "--train-on", "fit"],
        ["train", "alexnet", *small, "--image-size", "67"],
        ["train", "vgg19", *small, "--image-size", "32", "--weights", "none"],
        ["tune", "--data", one_each, "--output", output, "--image-size", "67", "--max-epochs", "1"],
    ):
        code, _, err = run(capsys, *argv)
        message = one_error(err)
        assert code == 1 and "gives no training images" in message and str(one_each) in message, message
    two_each = make_dataset(tmp_path / "two_each", per_class=2, classes=("3", "7"), size=64, seed=1)
    code, _, err = run(capsys, "train", "alexnet", *small[2:], "--data", two_each, "--image-size", "67")
    message = one_error(err)
    assert code == 1 and "needs validation images" in message and "share" not in message, message
    assert not output.exists()


def _model_copy(model: Path, folder: Path) -> Path:
    """The model with its card and ONNX twin, copied into ``folder``."""
    folder.mkdir()
    for p in model.parent.glob(model.stem + ".*"):
        shutil.copy(p, folder / p.name)
    return folder / model.name


def _samples(dataset: Path, folder: Path) -> Path:
    """Two of the dataset's 7s as a samples folder (the fewest adapt takes)."""
    (folder / "7").mkdir(parents=True)
    for p in sorted((dataset / "7").glob("*.png"))[:2]:
        shutil.copy(p, folder / "7" / p.name)
    return folder


def test_adapt_never_writes_over_its_base_model_or_into_its_samples(capsys, tmp_path, tiny_model, synthetic_dataset):
    base = _model_copy(tiny_model, tmp_path / "models")
    samples = _samples(synthetic_dataset, tmp_path / "samples")
    (tmp_path / "link").symlink_to(base.parent)
    before = {p: p.read_bytes() for p in [*base.parent.iterdir(), *samples.rglob("*.png")]}
    for output, message in (
        (base, "is the base model"),
        (tmp_path / "link" / base.name, "is the base model"),
        (samples / "adapted.keras", "inside the samples folder"),
        (samples / "7" / "adapted.keras", "inside the samples folder"),
    ):
        argv = ["adapt", "--model", base, "--samples", samples, "--data", synthetic_dataset, "--output", output]
        code, _, err = run(capsys, *argv, "--epochs", "1", "--replay", "2")
        assert code == 1 and message in one_error(err), err
    assert {p: p.read_bytes() for p in [*base.parent.iterdir(), *samples.rglob("*")] if p.is_file()} == before


def test_adapt_replays_no_one_class_dataset(capsys, tmp_path, tiny_model, synthetic_dataset):
    from trainer.data.strokes import make_dataset

    sevens = make_dataset(tmp_path / "sevens", per_class=4, classes=("7",), size=64, seed=1)
    samples = _samples(synthetic_dataset, tmp_path / "samples")
    output = tmp_path / "adapted.keras"
    argv = ["adapt", "--model", tiny_model, "--samples", samples, "--data", sevens, "--output", output]
    code, _, err = run(capsys, *argv, "--epochs", "1", "--replay", "2")
    assert code == 1 and "only one class" in one_error(err)
    assert not output.exists()


def test_adapt_subset_takes_the_fewest_samples_a_class_needs(capsys, tmp_path, tiny_model, synthetic_dataset):
    from trainer.data.samples import MIN_PER_CLASS

    samples = _samples(synthetic_dataset, tmp_path / "samples")
    output = tmp_path / "adapted.keras"
    argv = ["adapt", "--model", tiny_model, "--samples", samples, "--data", synthetic_dataset, "--output", output]
    small = ["--epochs", "1", "--replay", "2"]
    code, _, err = run(capsys, *argv, *small, "--subset", str(MIN_PER_CLASS - 1))
    assert code == 1 and f"--subset must be at least {MIN_PER_CLASS}" in one_error(err)
    assert not output.exists()
    code, _, err = run(capsys, *argv, *small, "--subset", str(MIN_PER_CLASS))
    assert code == 0 and output.is_file(), err


def test_tune_resume_with_no_search_to_resume(capsys, tmp_path, synthetic_dataset):
    nothing = tmp_path / "nosearch"
    output = tmp_path / "m.keras"
    small = ["--subset", "2", "--image-size", "67", "--max-epochs", "1", "--output", output]
    code, _, err = run(capsys, "tune", "--data", synthetic_dataset, *small, "--resume", "--directory", nothing)
    message = one_error(err)
    assert code == 1 and str(nothing) in message and "without --resume" in message, message
    assert not nothing.exists() and not output.exists()


@pytest.mark.parametrize("beside", [".card.json", ".onnx"])
def test_model_output_whose_card_or_twin_is_a_folder(capsys, tmp_path, synthetic_dataset, beside):
    (tmp_path / f"cd{beside}").mkdir()
    output = tmp_path / "cd.keras"
    started = time.monotonic()
    code, _, err = run(capsys, "train", "default", "--data", synthetic_dataset, "--output", output, "--epochs", "1")
    message = one_error(err)
    assert code == 1 and f"cd{beside} is a folder" in message, message
    assert time.monotonic() - started < 5, "refused only after training"
    assert not output.exists()
