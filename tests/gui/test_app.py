"""The application around the window: error dialog and log file, start-up checks, two pads at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import cv2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from mathsym_gui.error_report import COPY_TEXT, ErrorReporter, setup_logging
from mathsym_gui.settings import AppSettings
from trainer.data.strokes import draw_symbol as render_symbol

from .drawing_helpers import draw_symbol, wait_for_current_prediction


def error_dialog() -> QMessageBox | None:
    boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "errorDialog" and w.isVisible()]
    return boxes[0] if boxes else None


@pytest.fixture
def reporter(tmp_path):
    """The pad's own log file and excepthook, installed for one test."""
    log_path = setup_logging(tmp_path / "logs")
    reporter = ErrorReporter(log_path)
    reporter.install()
    yield reporter
    reporter.uninstall()
    if error_dialog() is not None:
        error_dialog().close()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_shows_a_dialog_logs_it_and_the_pad_keeps_working(qtbot, make_window, tiny_model, reporter):
    window = make_window(tiny_model)

    def broken_slot():
        raise RuntimeError("a slot broke on purpose")

    window.canvas.strokesChanged.connect(broken_slot)
    draw_symbol(window.canvas, "7")  # real mouse events -> strokesChanged -> the broken slot
    qtbot.waitUntil(lambda: error_dialog() is not None, timeout=5000)
    box = error_dialog()
    assert "still running" in box.text() and "RuntimeError: a slot broke on purpose" in box.informativeText()
    assert "Traceback" in box.detailedText() and "broken_slot" in box.detailedText()
    copy = next(b for b in box.buttons() if b.text() == COPY_TEXT)
    qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
    assert "a slot broke on purpose" in QApplication.clipboard().text()
    assert box.isVisible()  # copying keeps the dialog open
    logged = reporter.log_path.read_text(encoding="utf-8")
    assert "Traceback" in logged and "RuntimeError: a slot broke on purpose" in logged

    box.close()
    window.canvas.strokesChanged.disconnect(broken_slot)
    window.canvas.clear()
    draw_symbol(window.canvas, "7")
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "7"  # the pad survived and still recognises


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_worker_thread_is_shown_on_the_gui_thread(qtbot, reporter):
    def work():
        raise ValueError("a worker broke")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: error_dialog() is not None, timeout=5000)
    assert "ValueError: a worker broke" in error_dialog().informativeText()
    assert "ValueError: a worker broke" in reporter.log_path.read_text(encoding="utf-8")


def test_pad_opens_with_the_shipped_model_when_the_user_folder_cannot_be_written(tmp_path):
    """A real start of the app (its own process: main() owns the QApplication and quits it)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where MATHSYM_HOME should be a folder")
    image = tmp_path / "three.png"
    cv2.imwrite(str(image), render_symbol("3", size=224))
    env = {k: v for k, v in os.environ.items() if k not in ("MATHSYM_MODELS", "MATHSYM_CACHE")}
    env.update(MATHSYM_HOME=str(blocker), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-m", "mathsym_gui", str(image), "--smoke-test", "--settings", str(tmp_path / "settings.ini")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"smoke test: {image}: " in done.stdout and "default.keras" in done.stdout  # the shipped model answered
    assert "cannot write to" in done.stderr and str(blocker / "models") in done.stderr
    assert "MATHSYM_HOME" in done.stderr


def test_two_pads_keep_each_others_settings(qtbot, make_window, tmp_path):
    settings = tmp_path / "shared.ini"
    window = make_window(None, settings=settings)  # this pad read the pen colour at start
    window.width_spin.setValue(20)
    other_pad = (
        "import sys; from mathsym_gui.settings import AppSettings; s = AppSettings(sys.argv[1]); "
        "s.get('pen/colour'); s.set('pen/colour', '#ff0000'); s.sync()"
    )
    subprocess.run([sys.executable, "-c", other_pad, str(settings)], check=True, timeout=60)
    window.close()  # saves what this pad has: its width changed, its colour did not
    fresh = AppSettings(settings)
    assert fresh.get("pen/colour", kind=str) == "#ff0000"
    assert fresh.get("pen/width", kind=int) == 20
