"""Training / evaluation / report jobs: the QProcess runner, the Train menu dialogs, failures, cancel, quit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mathsym_gui.jobs import TRAINER_CLI, JobRunner

from .conftest import FAKE_CLI


def run_job(qtbot, runner, argv, timeout=30000):
    with qtbot.waitSignal(runner.finished, timeout=timeout) as blocker:
        runner.start(argv)
    return blocker.args[0]


# -- the runner, against the protocol ----------------------------------------------------------------------


def test_log_leaves_out_tensorflows_start_up_notices_but_keeps_real_messages(qtbot):
    notices = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795670825.623405    2884 port.cc:153] oneDNN custom operations are on.",
        "I0000 00:00:1795670825.689001    2884 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the flags.",
    ]
    kept = ["W0000 00:00:1795670826.1 2884 op_kernel.cc:1] a real TensorFlow warning", "mathsym-train: a message"]
    script = "import sys; [print(a, file=sys.stderr) for a in sys.argv[1:]]"
    result = run_job(qtbot, JobRunner(), [sys.executable, "-c", script, *notices, *kept])
    output = [line for line in result.log.splitlines() if not line.startswith("$ ")]  # not the command line
    assert output == kept


def test_runner_reads_progress_and_done(qtbot, fake_model, tmp_path):
    runner = JobRunner()
    events = []
    runner.progress.connect(events.append)
    result = run_job(qtbot, runner, FAKE_CLI + ["evaluate", "m.keras", "--data", "d", "--epochs", "2"])
    assert result.ok and result.exit_code == 0 and result.done.test_accuracy == 0.9
    assert [e.metrics["epoch"] for e in events] == [1, 2]
    assert "fake trainer starting" in result.log  # non-JSON lines are kept for the log


@pytest.mark.parametrize(
    "mode, message",
    [
        ("error", "Dataset folder /nowhere does not exist."),
        ("crash", "The job stopped unexpectedly (exit code 3)."),
    ],
)
def test_runner_reports_failures(qtbot, monkeypatch, mode, message):
    monkeypatch.setenv("FAKE_CLI_MODE", mode)
    result = run_job(qtbot, JobRunner(), FAKE_CLI + ["train", "default", "--data", "d"])
    assert not result.ok and not result.cancelled and result.message == message
    if mode == "crash":
        assert "RuntimeError: boom" in result.log


def test_runner_cancel_sends_sigterm(qtbot, monkeypatch):
    monkeypatch.setenv("FAKE_CLI_MODE", "slow")
    runner = JobRunner()
    with qtbot.waitSignal(runner.progress, timeout=10000):
        runner.start(FAKE_CLI + ["train", "default", "--data", "d"])
    with qtbot.waitSignal(runner.finished, timeout=10000) as blocker:
        runner.cancel()
    result = blocker.args[0]
    assert result.cancelled and not result.ok and result.exit_code == 130 and not runner.running


def test_runner_missing_program(qtbot):
    result = run_job(qtbot, JobRunner(), ["/nonexistent/python", "-m", "trainer.cli"])
    assert not result.ok and "could not be started" in result.message


# -- the Train menu --------------------------------------------------------------------------------------------


def test_train_from_menu_plots_and_switches_to_new_model(qtbot, window, messages, dataset, fake_model):
    window.act_train["vgg19"].trigger()
    dialog = window.jobs["vgg19"]
    assert dialog.isVisible() and dialog.value("epochs") == 20 and dialog.value("image_size") == 224
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["epochs"].setValue(4)
    argv = dialog.argv()
    assert argv[len(FAKE_CLI) : len(FAKE_CLI) + 2] == ["train", "vgg19"]
    assert argv[-2:] == ["--progress", "json"] and "--epochs" in argv and "4" in argv
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000):
        dialog.start_button.click()
        assert dialog.running and dialog.cancel_button.isEnabled()
    assert [m["epoch"] for m in dialog.plot.epochs] == [1, 2, 3, 4]
    assert dialog.progress.value() == dialog.progress.maximum() and "finished" in dialog.progress.text()
    assert "Finished" in dialog.status.text()
    kind, title, text, _ = messages.last()
    assert kind == "question" and "test accuracy 87.5%" in text and "Switch to the new model?" in text
    new = Path(dialog.output_path)
    assert new.parent == window.models_dir and new.name.startswith("vgg19-")
    qtbot.waitUntil(lambda: window.model is not None and window.model.name == new.name, timeout=60000)
    assert window.settings.get("model/active") == str(new)
    assert window.settings.get("paths/data") == str(dataset)


def test_alexnet_tuning_dialog_defaults_follow_notebook(window):
    window.act_train["tune"].trigger()
    dialog = window.jobs["tune"]
    assert dialog.value("max_epochs") == 100 and dialog.value("image_size") == 224


def test_dataset_without_classes_is_refused(qtbot, window, messages, tmp_path):
    empty = tmp_path / "flat"
    empty.mkdir()
    (empty / "one.png").write_bytes(b"x")
    window.act_train["default"].trigger()
    dialog = window.jobs["default"]
    dialog.fields["data"].setText(str(empty))
    assert not dialog.start()
    kind, _, text, _ = messages.last()
    assert kind == "error" and "no class sub-folders" in text and not dialog.running


def test_failed_training_shows_error_and_log(qtbot, window, messages, dataset, monkeypatch):
    monkeypatch.setenv("FAKE_CLI_MODE", "error")
    dialog = window.open_job("default")
    dialog.fields["data"].setText(str(dataset))
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000):
        dialog.start()
    kind, title, text, detail = messages.last()
    assert kind == "error" and title == "Train Default Model Failed"
    assert text == "Dataset folder /nowhere does not exist." and "fake trainer starting" in detail
    assert window.model.name == "tiny-test.keras" and not dialog.running and dialog.start_button.isEnabled()


def test_cancelled_training_and_pad_keeps_working(qtbot, window, messages, dataset, monkeypatch):
    from .drawing_helpers import draw_symbol, wait_for_current_prediction

    monkeypatch.setenv("FAKE_CLI_MODE", "slow")
    dialog = window.open_job("default")
    dialog.fields["data"].setText(str(dataset))
    with qtbot.waitSignal(dialog.runner.progress, timeout=10000):
        dialog.start()
    draw_symbol(window.canvas, "1")  # recognition goes on during training
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "1"
    with qtbot.waitSignal(dialog.jobFinished, timeout=20000):
        dialog.cancel_button.click()
    kind, _, text, _ = messages.last()
    assert kind == "info" and "cancelled" in text
    assert not list(window.models_dir.glob("*.keras"))


@pytest.mark.parametrize("answer", [False, True])
def test_closing_while_training_asks(qtbot, window, messages, dataset, monkeypatch, answer):
    monkeypatch.setenv("FAKE_CLI_MODE", "slow")
    dialog = window.open_job("default")
    dialog.fields["data"].setText(str(dataset))
    with qtbot.waitSignal(dialog.runner.progress, timeout=10000):
        dialog.start()
    pid = dialog.runner.pid()
    messages.answer = answer
    window.close()
    kind, _, text, _ = messages.shown[0]
    assert kind == "question" and "still running" in text
    if answer:
        assert not window.isVisible() and not dialog.running
        with pytest.raises(ProcessLookupError):  # the job's process has exited and was reaped
            os.kill(pid, 0)
    else:
        assert window.isVisible() and dialog.running
        dialog.runner.cancel_and_wait()


def test_export_report_opens_result_folder(qtbot, window, messages, dataset, fake_model, tmp_path, opened_urls):
    window.act_export.trigger()
    dialog = window.jobs["report"]
    assert dialog.value("model") == str(window.model.path)
    out = tmp_path / "report"
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["output"].setText(str(out))
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000):
        dialog.start()
    assert (out / "report.txt").read_text() == f"model {window.model.path}\n"
    assert [u.toLocalFile() for u in opened_urls] == [str(out)]
    assert messages.shown == []


# -- the real trainer CLI ------------------------------------------------------------------------------------


def test_a_refused_job_logs_its_error_once(qtbot, tmp_path):
    """The CLI reports a refusal twice (the JSON event and its stderr line); the log shows it once."""
    import cv2
    import numpy as np

    lone = tmp_path / "samples" / "3"
    lone.mkdir(parents=True)
    ink = np.full((64, 64, 3), 255, np.uint8)
    cv2.line(ink, (20, 10), (40, 54), (0, 0, 0), 4)
    cv2.imwrite(str(lone / "a.png"), ink)
    argv = [*TRAINER_CLI, "adapt", "--samples", str(tmp_path / "samples"), "--output", str(tmp_path / "a.keras")]
    result = run_job(qtbot, JobRunner(), [*argv, "--progress", "json"], timeout=120000)
    assert not result.ok and result.message == "Every class needs at least 2 samples; '3' has 1."
    assert result.log.count(result.message) == 1 and "Failed: " + result.message in result.log
    assert not (tmp_path / "a.keras").exists()


def test_real_cli_tiny_training_from_menu(qtbot, make_window, pad_model, messages, dataset):
    window = make_window(pad_model, cli=TRAINER_CLI)
    dialog = window.open_job("default")
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["epochs"].setValue(1)
    dialog.fields["image_size"].setValue(64)
    dialog.fields["subset"].setValue(3)
    # The job runs at nice 10 (the pad stays responsive): beside another busy test worker it gets little CPU.
    with qtbot.waitSignal(dialog.jobFinished, timeout=600000) as blocker:
        dialog.start()
    result = blocker.args[1]
    assert result.ok, result.log
    assert Path(result.done.model).is_file()
    qtbot.waitUntil(lambda: window.model is not None and window.model.path == Path(result.done.model), timeout=60000)


def test_real_cli_report(qtbot, make_window, pad_model, messages, dataset, tmp_path, opened_urls):
    window = make_window(pad_model, cli=TRAINER_CLI)
    dialog = window.open_job("report")
    out = tmp_path / "report"
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["output"].setText(str(out))
    with qtbot.waitSignal(dialog.jobFinished, timeout=300000) as blocker:
        dialog.start()
    assert blocker.args[1].ok, blocker.args[1].log
    assert out.is_dir() and any(out.iterdir())
    assert [u.toLocalFile() for u in opened_urls] == [str(out)]
