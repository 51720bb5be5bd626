"""The ``mathsym-train`` command line end to end, with real TensorFlow and tiny budgets, and its protocol:
JSON-lines progress for the GUI, exit codes, cancellation by SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_run import run

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
    code, out, err = run(
        capsys, "train", "default", "--data", synthetic_dataset, "--output", output, "--progress", "json"
    )
    assert code == expected
    assert events(out)[-1] == {"event": "error", "message": "cancelled", "cancelled": True}
    assert "cancelled" in err and not output.exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


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
