"""Every job dialog closes (Close, Esc, the window manager's close) before, during and after a run; the progress
it shows is one overall bar with named stages, an honest ETA, a legend of what exists and a readable log."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from mathsym_gui.train_dialog import JOBS


def close(qtbot, dialog, how: str) -> None:
    if how == "button":
        qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    elif how == "escape":
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
    else:  # what the window manager's close button does: a close request to the window
        dialog.windowHandle().close()
    QTest.qWait(20)


def fill(dialog, dataset: Path, tmp_path: Path) -> None:
    if "data" in dialog.fields:
        dialog.fields["data"].setText(str(dataset))
    if "output" in dialog.fields:
        dialog.fields["output"].setText(str(tmp_path / "out"))
    if "epochs" in dialog.fields:
        dialog.fields["epochs"].setValue(2)


@pytest.mark.parametrize("how", ["button", "escape", "window_manager"])
@pytest.mark.parametrize("key", list(JOBS))
def test_dialog_closes_before_a_run(qtbot, window, messages, key, how):
    dialog = window.open_job(key)
    qtbot.waitExposed(dialog)
    close(qtbot, dialog, how)
    assert not dialog.isVisible() and messages.shown == []
    assert window.open_job(key) is dialog and dialog.isVisible()  # and opens again


@pytest.mark.parametrize("how", ["button", "escape", "window_manager"])
@pytest.mark.parametrize("key", ["split", "default", "report"])
def test_dialog_closes_after_a_run(qtbot, window, messages, dataset, fake_model, tmp_path, key, how):
    dialog = window.open_job(key)
    qtbot.waitExposed(dialog)
    fill(dialog, dataset, tmp_path)
    messages.answer = False  # "Switch to the new model?": no
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000) as blocker:
        dialog.start()
    assert blocker.args[1].ok, blocker.args[1].log
    close(qtbot, dialog, how)
    assert not dialog.isVisible()


@pytest.mark.parametrize("how", ["button", "escape", "window_manager"])
@pytest.mark.parametrize("stop", [True, False])
def test_closing_a_running_job_asks_once(qtbot, window, messages, dataset, monkeypatch, tmp_path, how, stop):
    monkeypatch.setenv("FAKE_CLI_MODE", "slow")
    dialog = window.open_job("default")
    qtbot.waitExposed(dialog)
    fill(dialog, dataset, tmp_path)
    with qtbot.waitSignal(dialog.runner.progress, timeout=10000):
        dialog.start()
    messages.answer = stop
    close(qtbot, dialog, how)
    questions = [m for m in messages.shown if m[0] == "question"]
    assert len(questions) == 1 and "Stop it?" in questions[0][2]
    if stop:  # Yes stops the job and closes the dialog
        assert not dialog.running and not dialog.isVisible()
    else:  # No keeps both
        assert dialog.running and dialog.isVisible()
        with qtbot.waitSignal(dialog.jobFinished, timeout=20000):
            dialog.cancel()


@pytest.mark.parametrize("with_steps", [False, True])
def test_training_progress_is_one_bar_with_named_stages(
    qtbot, window, messages, dataset, fake_model, monkeypatch, with_steps
):
    monkeypatch.setenv("FAKE_CLI_MODE", "stages")
    if with_steps:
        monkeypatch.setenv("FAKE_CLI_STEPS", "1")
    dialog = window.open_job("default")
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["epochs"].setValue(3)
    seen = []  # (stage, bar value, bar text, status line) after the dialog handled each event
    dialog.runner.progress.connect(
        lambda event: seen.append((event.stage, dialog.progress.value(), dialog.progress.text(), dialog.status.text()))
    )
    messages.answer = False
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000):
        dialog.start()
    values = [v for _, v, _, _ in seen]
    assert values == sorted(values), values  # never goes back when a stage starts
    assert 0 < values[-1] < dialog.progress.maximum()  # the job is not done before its result arrives
    assert dialog.progress.value() == dialog.progress.maximum()
    for stage, _, bar, status in seen:
        assert stage in bar, (stage, bar)  # the bar names the stage it is in
        if stage == "Testing":
            assert "accuracy" not in status, status  # no training accuracy while testing
    training = [status for stage, _, _, status in seen if stage == "Training"]
    assert any("accuracy 40.0%" in s for s in training)
    assert not any("left" in status for stage, _, _, status in seen if stage == "Scanning dataset")  # no total
    # the plot's legend names only series that exist
    assert dialog.plot.legend() == ["loss", "accuracy"]
    log = dialog.log.toPlainText()
    assert "{" not in log and "done:" not in log
    assert "Finished" in log and "test accuracy 87.5%" in log


def test_log_lines_are_readable(qtbot, window, messages, dataset, fake_model):
    dialog = window.open_job("vgg19")
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["epochs"].setValue(2)
    messages.answer = False
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000):
        dialog.start()
    lines = dialog.log.toPlainText().splitlines()
    assert any(
        line.startswith("training: epoch 1/2") and "loss 1.000" in line and "accuracy 50.0%" in line for line in lines
    ), lines
    assert dialog.plot.legend() == ["loss", "val_loss", "accuracy", "val_accuracy"]


@pytest.mark.parametrize("cancel, scroll_up", [(False, False), (False, True), (True, True)])
def test_log_shows_its_last_line_when_the_job_ends(qtbot, window, messages, dataset, fake_model, cancel, scroll_up):
    """Finished or cancelled, even after the user scrolled up to read the log, its last line is in view."""
    dialog = window.open_job("default")
    qtbot.waitExposed(dialog)
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["epochs"].setValue(40)
    messages.answer = False
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000) as finished:
        dialog.start()
        qtbot.waitUntil(lambda: dialog.log.blockCount() > 8, timeout=10000)
        if scroll_up:
            for _ in range(5):
                QTest.keyClick(dialog.log, Qt.Key.Key_PageUp)
            assert dialog.log.verticalScrollBar().value() == 0
        if cancel:
            qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert finished.args[1].cancelled == cancel
    end = QTextCursor(dialog.log.document())
    end.movePosition(QTextCursor.MoveOperation.End)
    assert dialog.log.viewport().rect().contains(dialog.log.cursorRect(end)), dialog.log.toPlainText()
