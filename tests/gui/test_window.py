"""The main window as a whole: entry point, menus, settings, About."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import REPO


def test_menus_hold_every_command_with_shortcuts(window):
    menus = {
        a.text().replace("&", ""): [x.text().replace("&", "") for x in a.menu().actions() if x.text()]
        for a in window.menuBar().actions()
    }
    assert menus["File"] == ["Open Image…", "Paste Image", "Export Confusion-Matrix Report…", "Quit"]
    assert menus["Train"] == [
        "Split Dataset…",
        "Train AlexNet…",
        "Train VGG19…",
        "Train Default Model…",
        "Tune AlexNet…",
        "Learn My Handwriting…",
        "Evaluate…",
    ]
    assert "Open Model…" in menus["Model"] and "Undo" in menus["Edit"] and "About MathSym" in menus["Help"]
    for name in ("canvas", "predictionList", "modelLabel", "previewLabel"):
        assert window.findChild(object, name) is not None, name


def test_pen_and_window_settings_are_remembered(qtbot, make_window, pad_model, tmp_path):
    window = make_window(pad_model)
    window.set_pen_colour("#2e7d32")
    window.width_spin.setValue(23)
    window.close()
    again = make_window(pad_model, settings=tmp_path / "settings.ini")
    assert again.canvas.pen_colour == "#2e7d32" and again.canvas.pen_width == 23
    assert again.width_spin.value() == 23


def test_about_dialog(window, messages):
    window.act_about.trigger()
    kind, title, text, _ = messages.last()
    assert title == "About MathSym" and "math symbols" in text


def test_app_starts_without_model_and_quits_cleanly(tmp_path):
    (tmp_path / "models").mkdir()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mathsym_gui",
            "--settings",
            str(tmp_path / "s.ini"),
            "--models-dir",
            str(tmp_path / "models"),
            "--quit-after",
            "300",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s.ini").read_text().count("geometry") == 1  # settings were saved on close


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "mathsym_gui", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "usage: mathsym" in out.stdout


def test_void_qt_calls_do_not_leak_none():
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call, which aborts the interpreter
    after minutes of drawing; pyproject excludes it. This guards against installing such a build."""
    from PySide6.QtGui import QPen

    pen = QPen()
    before = sys.getrefcount(None)
    for _ in range(1000):
        pen.setWidth(1)
    assert sys.getrefcount(None) - before > -100
