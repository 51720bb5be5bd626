"""The ``mathsym-train`` command line end to end, with real TensorFlow and tiny budgets, and its protocol:
JSON-lines progress for the GUI, exit codes, cancellation by SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_run import one_error, run

from trainer.paths import card_path
from trainer.serving.card import ModelCard

ROOT = Path(__file__).resolve().parent.parent


def events(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def only_events(out: str) -> None:
    """In JSON mode stdout carries nothing but JSON objects, one per line."""
    for line in out.splitlines():
        assert isinstance(json.loads(line), dict), line


# -- help -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["split"],
        ["train"],
        ["train", "alexnet"],
        ["train", "vgg19"],
        ["train", "default"],
        ["tune"],
        ["evaluate"],
        ["report"],
        ["predict"],
        ["info"],
    ],
)
def test_help_on_every_command(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and out.startswith("usage: mathsym-train") and "--progress" in out
    if command and command != ["train"]:
        assert "(default: " in out


def test_help_is_fast_and_does_not_import_tensorflow():
    code = (
        "import sys, time; t = time.monotonic(); from trainer.cli import main; rc = main(['train', 'vgg19', "
        "'--help']); print('TF' if 'tensorflow' in sys.modules else 'noTF', rc, round(time.monotonic() - t, 2))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    last = result.stdout.strip().splitlines()[-1].split()
    assert last[:2] == ["noTF", "0"] and float(last[2]) < 2.0


# -- split ----------------------------------------------------------------------------------------------------


def test_split_plain_and_json(capsys, synthetic_dataset, tmp_path):
    code, out, err = run(capsys, "split", "--data", synthetic_dataset, "--output", tmp_path / "s")
    assert code == 0
    assert "Split: notebook" in out and "total" in out and "Duplicates: 0 groups" in out
    assert "add          +      10      2" in out
    assert "done in" in err
    assert (tmp_path / "s" / "split.json").is_file()
    assert len(list((tmp_path / "s" / "test").rglob("*.*"))) == 38

    code, out, err = run(
        capsys,
        "split",
        "--data",
        synthetic_dataset,
        "--output",
        tmp_path / "l",
        "--leak-free",
        "--link",
        "--seed",
        "7",
        "--progress",
        "json",
    )
    assert code == 0
    only_events(out)
    ev = events(out)
    assert ev[0]["event"] == "progress" and ev[-1]["event"] == "done"
    assert ev[-1]["split"] == str(tmp_path / "l") and ev[-1]["kind"] == "leak-free" and ev[-1]["seed"] == 7
    assert sum(ev[-1]["test_per_class"].values()) == ev[-1]["test"]
    assert "Split: leak-free" in err
    assert all(p.is_symlink() for p in (tmp_path / "l" / "train").rglob("*.png"))


def test_split_names_images_outside_any_class_folder(capsys, tmp_path):
    from trainer.data.strokes import make_dataset

    data = make_dataset(tmp_path / "data", per_class=2, size=32)
    stray = data / "stray.png"
    shutil.copy(next((data / "7").glob("*.png")), stray)
    (data / "notes.txt").write_text("where these came from")
    code, out, _ = run(capsys, "split", "--data", data, "--output", tmp_path / "s")
    assert code == 0
    assert f"Skipped 1 image(s) outside any class folder: {stray}" in out
    assert f"Skipped 1 hidden or non-image file(s): {data / 'notes.txt'}" in out
    assert "skipped 1 image(s) outside any class folder; skipped 1 hidden or non-image file(s)" in out


@pytest.mark.parametrize("marked", [True, False], ids=["split.json", "train and test folders"])
def test_a_split_is_refused_as_a_dataset_by_every_command(capsys, synthetic_dataset, tmp_path, marked):
    split = tmp_path / "s"
    assert run(capsys, "split", "--data", synthetic_dataset, "--output", split, "--link")[0] == 0
    if not marked:  # as split-folders writes it
        (split / "split.json").unlink()
    before = sorted(tmp_path.rglob("*"))
    for argv in (
        ["split", "--data", split, "--output", tmp_path / "again"],
        ["evaluate", tmp_path / "model.keras", "--data", split],
        ["train", "default", "--data", split, "--output", tmp_path / "m.keras"],
    ):
        code, _, err = run(capsys, *argv)
        message = one_error(err)
        assert code == 1 and message.startswith(f"{split} is a train/test split"), message
        assert "pass the original dataset folder" in message
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.real_data
def test_split_real_data_reports_notebook_counts(capsys, real_dataset, tmp_path):
    code, out, _ = run(
        capsys, "split", "--data", real_dataset, "--output", tmp_path / "s", "--link", "--progress", "json"
    )
    assert code == 0
    done = events(out)[-1]
    assert done["test"] == 1018 and done["test_per_class"]["z"] == 22 and done["test_per_class"]["sub"] == 66
    assert [Path(p).name for p in done["skipped"]] == [".directory"]
    assert done["duplicate_groups"] > 0 and len(done["cross_class_duplicates"]) >= 1


# -- evaluate, report, predict, info on a small real model ----------------------------------------------------


def test_evaluate_plain_json_and_update_card(capsys, tiny_model, synthetic_dataset, tmp_path):
    import shutil

    model = tmp_path / "m.keras"
    shutil.copy(tiny_model, model)
    shutil.copy(card_path(tiny_model), card_path(model))
    before = card_path(model).read_bytes()
    code, out, err = run(capsys, "evaluate", model, "--data", synthetic_dataset)
    assert code == 0 and "Test accuracy" in out and "precision" in out and "add +" in out and "done in" in err
    assert card_path(model).read_bytes() == before

    code, out, _ = run(capsys, "evaluate", model, "--data", synthetic_dataset, "--json", "--progress", "none")
    metrics = json.loads(out)
    assert metrics["test_images"] == 38 and len(metrics["confusion_matrix"]) == 19

    code, out, _ = run(capsys, "evaluate", model, "--data", synthetic_dataset, "--update-card", "--progress", "json")
    assert code == 0
    only_events(out)
    done = events(out)[-1]
    assert done["event"] == "done" and done["model"] == str(model)
    assert done["test_accuracy"] == metrics["test_accuracy"]  # what the pad's Evaluate dialog shows
    card = ModelCard.read(card_path(model))
    assert card.metrics["test_accuracy"] == done["metrics"]["test_accuracy"] == metrics["test_accuracy"]
    assert card.metrics["evaluated_split"]["kind"] == "notebook"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.card.json", "m.keras"]  # no temp files


def test_report_command(capsys, tiny_model, synthetic_dataset, tmp_path):
    out_dir = tmp_path / "rep"
    code, out, err = run(
        capsys, "report", tiny_model, "--data", synthetic_dataset, "--output", out_dir, "--progress", "json"
    )
    assert code == 0, err
    only_events(out)
    done = events(out)[-1]
    assert done["event"] == "done" and done["report"] == str(out_dir)
    for name in (
        "confusion_matrix.png",
        "classification_report.png",
        "misclassified.png",
        "report.pdf",
        "confusion_matrix.csv",
        "per_class.csv",
        "metrics.json",
    ):
        assert (out_dir / name).stat().st_size > 0, name
    assert (out_dir / "report.pdf").read_bytes().startswith(b"%PDF")
    assert {e["stage"] for e in events(out) if e["event"] == "progress"} >= {
        "Reading test images",
        "Evaluating",
        "Writing report",
    }


def test_predict_plain_json_and_stream(capsys, tiny_model, synthetic_dataset):
    files = [next((synthetic_dataset / c).glob("*.png")) for c in ("add", "3")]
    code, out, _ = run(capsys, "predict", *files, "--model", tiny_model, "-k", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{files[0]}: ") and lines[0].count("%") == 2
    code, out, _ = run(
        capsys, "predict", synthetic_dataset / "eq", "--model", tiny_model, "--json", "--progress", "none"
    )
    doc = json.loads(out)
    assert doc["model"] == str(tiny_model) and len(doc["results"]) == 12
    assert all(len(r["top"]) == 5 and r["error"] is None for r in doc["results"])
    code, out, _ = run(capsys, "predict", files[0], "--model", tiny_model, "--progress", "json")
    only_events(out)
    done = events(out)[-1]
    assert done["event"] == "done" and done["failed"] == 0 and done["results"][0]["path"] == str(files[0])


def test_predict_finds_the_newest_model(capsys, tiny_model, synthetic_dataset, monkeypatch):
    monkeypatch.setenv("MATHSYM_MODELS", str(tiny_model.parent))
    code, out, _ = run(capsys, "predict", next((synthetic_dataset / "7").glob("*.png")), "--progress", "none")
    assert code == 0 and "%" in out


def test_info(capsys, tiny_model):
    code, out, _ = run(capsys, "info", tiny_model)
    assert code == 0 and "Architecture:   tiny test CNN" in out and "32x32" in out and "÷" in out
    code, out, _ = run(capsys, "info", tiny_model, "--json", "--check", "--progress", "none")
    assert code == 0 and json.loads(out)["input_size"] == 32


# -- training and tuning (real TensorFlow, one epoch, a handful of images) ------------------------------------


@pytest.mark.parametrize(
    "arch,size,extra", [("default", 32, []), ("alexnet", 67, []), ("vgg19", 32, ["--weights", "none"])]
)
def test_train_each_architecture(capsys, synthetic_dataset, tmp_path, arch, size, extra):
    output = tmp_path / f"{arch}.keras"
    code, out, err = run(
        capsys,
        "train",
        arch,
        "--data",
        synthetic_dataset,
        "--output",
        output,
        "--epochs",
        "1",
        "--image-size",
        size,
        "--subset",
        "1",
        "--batch-size",
        "16",
        *extra,
        "--progress",
        "json",
    )
    assert code == 0, err
    only_events(out)
    ev = events(out)
    assert ev[-1]["event"] == "done" and ev[-1]["model"] == str(output)
    assert any(e.get("metrics") for e in ev if e["event"] == "progress"), "no per-epoch metrics reported"
    card = ModelCard.read(card_path(output))
    assert card.input_size == size and card.split["kind"] == "notebook" and card.test_accuracy is not None
    assert "done in" in err
    twin = [f"{arch}.onnx"] if card.files["onnx"] else []  # the card says whether the ONNX export succeeded
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{arch}.card.json", f"{arch}.keras", *twin]


def test_default_training_seed_is_chosen_and_recorded(capsys, synthetic_dataset, tmp_path):
    """The split's seed stays the notebook's; ``--training-seed`` changes only the learning, and the card says which."""
    import keras

    quick = ["--data", synthetic_dataset, "--epochs", "1", "--image-size", "32", "--subset", "1", "--batch-size", "16"]
    weights = {}
    for name, seed in (("split", []), ("other", ["--training-seed", "7"])):
        output = tmp_path / f"{name}.keras"
        code, _, err = run(capsys, "train", "default", *quick, "--output", output, *seed)
        assert code == 0, err
        card = ModelCard.read(card_path(output))
        assert card.training["training_seed"] == (int(seed[1]) if seed else 1001) and card.split["seed"] == 1001
        weights[name] = keras.saving.load_model(output, compile=False).get_weights()
    assert any(not (a == b).all() for a, b in zip(weights["split"], weights["other"], strict=True))


def test_tune_command(capsys, synthetic_dataset, tmp_path):
    output = tmp_path / "tuned.keras"
    code, out, err = run(
        capsys,
        "tune",
        "--data",
        synthetic_dataset,
        "--output",
        output,
        "--max-epochs",
        "2",
        "--image-size",
        "67",
        "--subset",
        "1",
        "--directory",
        tmp_path / "search",
        "--progress",
        "json",
    )
    assert code == 0, err
    done = events(out)[-1]
    assert done["event"] == "done" and done["model"] == str(output) and output.is_file()


def test_trials_maps_to_tuning(capsys, synthetic_dataset, tiny_model, monkeypatch):
    import trainer.training.alexnet
    import trainer.training.tuning

    calls = []
    monkeypatch.setattr(
        trainer.training.tuning, "tune_alexnet", lambda config, **kw: calls.append(("tune", config, kw)) or tiny_model
    )
    monkeypatch.setattr(
        trainer.training.alexnet,
        "train_alexnet",
        lambda config, **kw: calls.append(("train", config, kw)) or tiny_model,
    )
    code, out, _ = run(
        capsys,
        "train",
        "alexnet",
        "--data",
        synthetic_dataset,
        "--epochs",
        "7",
        "--trials",
        "10",
        "--image-size",
        "99",
        "--leak-free",
        "--progress",
        "none",
    )
    assert code == 0
    kind, config, kw = calls[-1]
    assert kind == "tune" and kw["max_epochs"] == 7 and config.image_size == 99 and config.split == "leak-free"
    assert config.preprocessing == "notebook" and config.extra["trials"] == 10
    code, _, _ = run(
        capsys,
        "train",
        "alexnet",
        "--data",
        synthetic_dataset,
        "--activation",
        "tanh",
        "--learning-rate",
        "0.01",
        "--progress",
        "none",
    )
    kind, config, kw = calls[-1]
    assert kind == "train" and kw["activation"] == "tanh" and kw["learning_rate"] == 0.01 and config.image_size == 224


# -- cancellation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum,expected", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_cancels_a_cancellable_job(capsys, synthetic_dataset, tmp_path, monkeypatch, signum, expected):
    import trainer.training.default

    def fake_train(config, progress, cancel):
        os.kill(os.getpid(), signum)
        for _ in range(1000):  # "batches": the job stops at its next checkpoint
            time.sleep(0.001)
            cancel.check()
        raise AssertionError("not cancelled")

    monkeypatch.setattr(trainer.training.default, "train_default", fake_train)
    output = tmp_path / "m.keras"
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN when started in the background
    code, out, err = run(
        capsys, "train", "default", "--data", synthetic_dataset, "--output", output, "--progress", "json"
    )
    assert code == expected
    assert events(out)[-1] == {"event": "error", "message": "cancelled", "cancelled": True}
    assert "cancelled" in err and not output.exists()
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


def test_signal_interrupts_a_job_without_checkpoints(capsys, tiny_model, monkeypatch):
    import trainer.serving.predict

    def fake_predict(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        raise AssertionError("not interrupted")

    monkeypatch.setattr(trainer.serving.predict, "predict_paths", fake_predict)
    code, _, err = run(capsys, "predict", tiny_model, "--model", tiny_model)
    assert code == 143 and "cancelled" in err


def test_sigterm_stops_real_training_and_keeps_the_previous_model(synthetic_dataset, tmp_path):
    output = tmp_path / "m.keras"
    output.write_bytes(b"previous model")
    card_path(output).write_text("{}")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trainer",
            "train",
            "default",
            "--data",
            str(synthetic_dataset),
            "--output",
            str(output),
            "--epochs",
            "200",
            "--image-size",
            "32",
            "--subset",
            "4",
            "--progress",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        seen = []
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            seen.append(line)
            if '"stage": "Training"' in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any('"stage": "Training"' in line for line in seen)
    assert proc.returncode == 143
    assert json.loads(rest.strip().splitlines()[-1]) == {"event": "error", "message": "cancelled", "cancelled": True}
    assert "Traceback" not in err
    assert output.read_bytes() == b"previous model" and card_path(output).read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.card.json", "m.keras"]


# -- bad input: one line on stderr, whatever the platform adds ----------------------------------------------

DEFAULT_MODEL = ROOT / "models" / "default.keras"  # the shipped model: its ONNX twin predicts without TensorFlow
#: Run a command as root without root's power to read what it may not (so chmod 000 means unreadable).
UNPRIVILEGED = [
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search,-fowner",
    "--inh-caps=-dac_override,-dac_read_search,-fowner",
]


def cli(*argv, env: dict | None = None, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``mathsym-train`` in its own process: output as bytes, exactly as a terminal or the pad gets it."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "trainer", *map(str, argv)],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_tensorflow_start_up_lines_do_not_reach_stderr(synthetic_dataset, tmp_path):
    """TF's C++ notices go to fd 2 whatever TF_CPP_MIN_LOG_LEVEL says; the error line must still be alone, and
    fd 2 works again once the command is over."""
    argv = ["train", "vgg19", "--data", str(synthetic_dataset), "--weights", str(tmp_path / "missing.h5")]
    argv += ["--image-size", "32", "--output", str(tmp_path / "m.keras"), "--progress", "none"]
    code = (
        "import os, sys; from trainer.cli import main; rc = main(sys.argv[1:]); "
        "print('TF' if 'tensorflow' in sys.modules else 'noTF', rc); os.write(2, b'fd 2 is back\\n')"
    )
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.split() == ["TF", "1"]  # TensorFlow was loaded before the error
    assert result.stderr.splitlines() == [
        f"mathsym-train: error: VGG19 weights file {tmp_path / 'missing.h5'} does not exist.",
        "fd 2 is back",
    ]
    assert not (tmp_path / "m.keras").exists()


def test_output_degrades_in_an_ascii_locale(synthetic_dataset):
    image = next((synthetic_dataset / "div").glob("*.png"))
    ascii_only = {"PYTHONIOENCODING": "ascii"}
    info = cli("info", DEFAULT_MODEL, env=ascii_only)
    assert info.returncode == 0 and info.stderr == b"" and rb"\xf7" in info.stdout  # the ÷ of the labels
    plain = cli("predict", image, "--model", DEFAULT_MODEL, "-k", "19", "--progress", "none", env=ascii_only)
    assert plain.returncode == 0 and plain.stderr == b"" and rb"div (\xf7)" in plain.stdout
    doc = cli("predict", image, "--model", DEFAULT_MODEL, "-k", "19", "--json", env=ascii_only)
    assert doc.returncode == 0 and doc.stdout.isascii()
    symbols = {t["label"]: t["symbol"] for t in json.loads(doc.stdout)["results"][0]["top"]}
    assert symbols["div"] == "÷" and symbols["sub"] == "−"


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", ""],
        ["read", ""],
        ["predict", "x.png", "--model", ""],
        ["info", ""],
        ["train", "default", "--data", "d", "--output", ""],
        ["split", "--data", "", "--output", "s"],
        ["adapt", "--samples", ""],
    ],
)
def test_empty_paths_are_refused_at_parse_time(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.splitlines()[-1].endswith("expected a path, got an empty string")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    os.geteuid() == 0 and not shutil.which("setpriv"), reason="root reads every file; setpriv is needed to drop that"
)
def test_unreadable_files_and_folders_are_reported_and_the_others_predicted(synthetic_dataset, tmp_path):
    good = shutil.copy(next((synthetic_dataset / "3").glob("*.png")), tmp_path / "good.png")
    locked_file = Path(shutil.copy(good, tmp_path / "locked.png"))
    locked_folder = tmp_path / "locked"
    closed = tmp_path / "closed"  # its file cannot even be looked at
    for folder in (locked_folder, closed):
        folder.mkdir()
        shutil.copy(good, folder / "inside.png")
    for path in (locked_file, locked_folder, closed):
        path.chmod(0)
    prefix = tuple(UNPRIVILEGED) if os.geteuid() == 0 else ()
    paths = [good, locked_file, locked_folder, closed / "inside.png"]
    try:
        predicted = cli("predict", *paths, "--model", DEFAULT_MODEL, "--progress", "none", prefix=prefix)
        read = cli("read", *paths, "--model", DEFAULT_MODEL, "--progress", "none", prefix=prefix)
    finally:
        for path in (locked_file, locked_folder, closed):
            path.chmod(0o755)
    lines = predicted.stdout.decode().splitlines()
    assert predicted.returncode == 1 and len(lines) == 4 and lines[0].startswith(f"{good}: 3 ")
    assert all(line.endswith("cannot be read (permission denied).") for line in lines[1:]), lines
    assert predicted.stderr.decode().splitlines() == ["mathsym-train: error: 3 of 4 file(s) could not be predicted."]
    lines = read.stdout.decode().splitlines()
    assert read.returncode == 1 and len(lines) == 4 and lines[0].startswith(f"{good}: 3")
    assert all("cannot be read (permission denied)" in line and "corrupt" not in line for line in lines[1:]), lines


def test_json_output_is_utf8_when_a_file_name_is_not(synthetic_dataset, tmp_path):
    name = b"a\xffb.png"  # not UTF-8: Python holds it as a lone surrogate
    folder = tmp_path / "enc"
    folder.mkdir()
    shutil.copy(next((synthetic_dataset / "3").glob("*.png")), folder / os.fsdecode(name))
    for env in ({}, {"PYTHONIOENCODING": "ascii"}):
        for argv in (
            ["predict", folder, "--json"],
            ["read", folder, "--json"],
            ["predict", folder, "--progress", "json"],
        ):
            result = cli(*argv, "--model", DEFAULT_MODEL, env=env)
            assert result.returncode == 0, result.stderr
            doc = json.loads(result.stdout.decode("utf-8").splitlines()[-1])
            assert os.fsencode(doc["results"][0]["path"]) == os.fsencode(folder) + b"/" + name


@pytest.mark.parametrize("command", ["predict-model", "info", "onnx", "vgg19-weights"])
def test_a_folder_where_a_model_file_belongs_is_called_a_folder(capsys, synthetic_dataset, tmp_path, command):
    folder = tmp_path / "dir.keras"
    folder.mkdir()
    argv = {
        "predict-model": ["predict", synthetic_dataset / "3", "--model", folder],
        "info": ["info", folder],
        "onnx": ["onnx", folder],
        "vgg19-weights": ["train", "vgg19", "--data", synthetic_dataset, "--weights", folder, "--image-size", "32"],
    }[command]
    if command == "vgg19-weights":
        argv += ["--output", tmp_path / "m.keras"]
    code, _, err = run(capsys, *argv)
    assert code == 1 and "is a folder, not a" in one_error(err) and "does not exist" not in err
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize(
    "command, option, values, message, helped",
    [
        (["train", "default"], "--image-size", ("0", "1"), "an image size from 8 to 1024 pixels", "8 to 1024"),
        (["train", "alexnet"], "--image-size", ("0", "66"), "an image size from 67 to 1024 pixels", "67 to 1024"),
        (["train", "vgg19"], "--image-size", ("0", "31"), "an image size from 32 to 1024 pixels", "32 to 1024"),
        (["tune"], "--image-size", ("0", "66"), "an image size from 67 to 1024 pixels", "67 to 1024"),
        (["tune"], "--factor", ("0", "1"), "a Hyperband factor of at least 2", None),
        (["adapt"], "--replay", ("0", "-1"), "a number of at least 1", "at least 1"),
        (["train", "default"], "--training-seed", ("-1", "4294967296"), "a seed from 0 to 4294967295", None),
    ],
)
def test_each_limit_has_one_message_checked_at_parse_time(capsys, command, option, values, message, helped):
    """Parse time: ``train alexnet --image-size 32`` is refused at once (exit 2), not after TensorFlow loads."""
    for value in values:
        code, _, err = run(capsys, *command, "--data", "d", option, value)
        assert code == 2 and err.splitlines()[-1].endswith(f"{option}: expected {message}, got {value}"), err
    if helped:
        code, out, _ = run(capsys, *command, "--help")
        entry = " ".join(out[out.index(f"  {option} ") :].split("\n  -")[0].split())
        assert code == 0 and helped in entry, entry


def test_registry_minimum_image_sizes_are_the_models_own():
    from trainer.architectures import ARCHITECTURES
    from trainer.models import alexnet, vgg19

    assert ARCHITECTURES["alexnet"].min_image_size == alexnet.MIN_INPUT_SIZE
    assert ARCHITECTURES["vgg19"].min_image_size == vgg19.MIN_INPUT_SIZE


def test_a_bad_class_name_is_escaped_once(capsys, synthetic_dataset, tmp_path):
    shutil.copytree(synthetic_dataset / "3", tmp_path / "samples" / "a\x1bb")
    code, _, err = run(capsys, "adapt", "--samples", tmp_path / "samples", "--model", DEFAULT_MODEL)
    message = one_error(err)
    assert code == 1 and "\x1b" not in err and r"'a\x1bb'" in message and r"\\x1b" not in message, message


def test_read_says_plainly_that_a_line_divides_by_zero(capsys, tmp_path):
    import cv2
    import numpy as np

    from trainer.data.expressions import stroke_line

    strokes, widths, _ = stroke_line(["5", "div", "0"], np.random.default_rng(0), height=40.0)
    points = np.concatenate([np.asarray(s) for s in strokes])
    image = np.full((int(points[:, 1].max() + 40), int(points[:, 0].max() + 40)), 255, np.uint8)
    for stroke, width in zip(strokes, widths, strict=True):  # the dots of ÷ are one-point strokes
        line = np.round(np.asarray(stroke)).astype(np.int32)
        cv2.polylines(image, [line], False, 0, round(width), cv2.LINE_AA)
        cv2.circle(image, tuple(int(v) for v in line[0]), round(width / 2), 0, -1, cv2.LINE_AA)
    cv2.imwrite(str(tmp_path / "line.png"), image)
    code, out, _ = run(capsys, "read", tmp_path / "line.png", "--model", DEFAULT_MODEL)
    assert code == 0 and out.strip().endswith("line.png: 5/0 (no result: Division by zero, so the line has no value.)")


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("empty.keras", b"", "damaged"),
        ("junk.keras", b"not a zip", "damaged"),
        ("empty.h5", b"", "is not an HDF5 file"),
        ("junk.h5", b"not HDF5 at all", "is not an HDF5 file"),
        ("model.txt", b"text", "is not a model file"),
    ],
)
def test_info_refuses_a_file_that_is_not_a_model(capsys, tmp_path, name, content, words):
    """As predict does: a card beside a junk file does not make it a model."""
    path = tmp_path / name
    path.write_bytes(content)
    shutil.copy(card_path(DEFAULT_MODEL), card_path(path))
    code, out, err = run(capsys, "info", path)
    assert code == 1 and out == "" and words in one_error(err)
    code, _, err = run(capsys, "predict", path, "--model", path)
    assert code == 1 and words in one_error(err)
