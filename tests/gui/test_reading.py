"""The pad reads a whole line: drawn with real mouse events, shown typeset with its result and symbol boxes,
copied with the shortcuts, and corrected symbol by symbol."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from trainer.data.expressions import stroke_line

from .conftest import DEFAULT_MODEL
from .drawing_helpers import draw_stroke, draw_symbol


@pytest.fixture
def pad(make_window, tmp_path):
    window = make_window(DEFAULT_MODEL)
    window.width_spin.setValue(4)
    window.corrections.set_folder(tmp_path / "samples")
    return window


def write_line(qtbot, window, labels, seed=0, dx=20.0):
    """Draw the line with the mouse, stroke by stroke; returns the reading shown for it."""
    strokes, _, _ = stroke_line(labels, np.random.default_rng(seed), height=55.0)
    for stroke in strokes:
        draw_stroke(window.canvas, [QPoint(round(x + dx), round(y) + 40) for x, y in stroke])
    wait_shown(qtbot, window)
    return window.line_reader.reading


def wait_shown(qtbot, window):
    """Until the window has shown the answer to its newest request (not only received it)."""
    qtbot.waitUntil(window.is_idle, timeout=20000)
    return window.last_prediction


def test_a_written_line_is_read_typeset_and_calculated(qtbot, pad):
    reading = write_line(qtbot, pad, ["1", "2", "div", "4", "add", "3", "eq"])
    assert reading is not None and reading.text == "12/4+3=" and reading.result == "6"
    panel = pad.line_reader.panel
    assert panel.text_label.text() == "12 ÷ 4 + 3 =" and panel.result_label.text() == "→ 6"
    assert len(panel.symbol_buttons) == 7 and panel.symbol_buttons[2].text() == "÷"
    boxes = pad.canvas.symbol_boxes()
    assert len(boxes) == 7 and "div" in boxes[2][1]  # each box's hover text: its top three
    assert pad.canvas.symbol_at(boxes[3][0].center() * pad.canvas.view_scale()) == 3
    assert pad.panel.hint.text().startswith("A line of symbols")


def test_a_long_result_fits_the_panel_smaller_then_cut_with_the_whole_in_its_tooltip(qtbot, pad):
    reading = write_line(qtbot, pad, ["x", "x", "add", "x", "eq", "1"], seed=1)
    assert reading is not None and reading.text == "xx+x=1"
    assert reading.result == "x = (-1 ± √5)/2 ≈ -1.61803 or 0.618034"
    panel = pad.line_reader.panel
    label = panel.result_label
    assert label.full_text() == "→ " + reading.result
    for width in (1400, 700):  # wide: all of it, in a smaller font if need be; narrow: cut, whole in the tooltip
        pad.resize(width, 600)
        qtbot.waitUntil(lambda w=width: pad.width() == w)
        qtbot.wait(50)
        fits = label.fontMetrics().horizontalAdvance(label.full_text()) <= label.contentsRect().width()
        assert (label.text() == label.full_text()) == fits
        assert label.text().endswith("…") != fits and label.toolTip() == ("" if fits else label.full_text())
        assert label.text().startswith("→ x")
        assert panel.copy_result.geometry().right() <= panel.contentsRect().right()  # the buttons stay in view
        assert label.geometry().right() <= panel.copy_text.geometry().left()
    pad.resize(1400, 600)
    qtbot.waitUntil(lambda: label.text() == label.full_text())


def test_copy_shortcuts_put_text_latex_and_result_on_the_clipboard(qtbot, pad):
    write_line(qtbot, pad, ["2", "x", "add", "3", "eq", "1", "1"])
    clipboard = QGuiApplication.clipboard()
    pad.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(pad.isActiveWindow)
    for key, expected in ((Qt.Key.Key_T, "2x+3=11"), (Qt.Key.Key_L, "2x + 3 = 11"), (Qt.Key.Key_R, "x = 4")):
        QTest.keyClick(pad, key, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        assert clipboard.text() == expected
    shortcuts = [a.shortcut().toString() for a in pad.findChildren(type(pad.act_undo)) if not a.shortcut().isEmpty()]
    assert len(shortcuts) == len(set(shortcuts))  # no shortcut is taken twice


def test_correcting_a_symbol_decodes_the_line_again_and_saves_a_sample(qtbot, pad, monkeypatch, tmp_path):
    write_line(qtbot, pad, ["1", "2", "div", "4", "add", "3", "eq"])
    reader = pad.line_reader
    asked = []
    monkeypatch.setattr(reader, "choose_label", lambda index, where: asked.append(index) or "7")
    QTest.mouseClick(reader.panel.symbol_buttons[3], Qt.MouseButton.LeftButton)
    assert asked == [3]
    assert reader.reading.text == "12/7+3=" and reader.reading.result == "33/7 = 4.71428571429…"
    assert len(list((tmp_path / "samples" / "7").glob("*.png"))) == 1
    # a right click on a symbol's box on the pad asks too; the pin holds when another stroke is added
    box = pad.canvas.symbol_boxes()[0][0]
    QTest.mouseClick(
        pad.canvas,
        Qt.MouseButton.RightButton,
        Qt.KeyboardModifier.NoModifier,
        (box.center() * pad.canvas.view_scale()).toPoint(),
    )
    assert asked == [3, 0] and reader.reading.text == "72/7+3="
    right = max(b.right() for b, _ in pad.canvas.symbol_boxes())
    assert write_line(qtbot, pad, ["5"], seed=1, dx=right).text == "72/7+3=5"


def test_one_symbol_is_still_recognised_alone_and_clearing_hides_the_reading(qtbot, pad):
    write_line(qtbot, pad, ["7", "sub", "2"])
    assert pad.line_reader.panel.text_label.text() == "7 − 2"
    height = pad.canvas.height()
    pad.canvas.clear()
    assert pad.line_reader.reading is None and pad.canvas.symbol_boxes() == []
    panel = pad.line_reader.panel
    assert panel.text_label.text() == "" and "Write several symbols" in panel.note_label.text()
    assert pad.canvas.height() == height  # the pad never jumps
    draw_symbol(pad.canvas, "3")
    prediction = wait_shown(qtbot, pad)
    assert prediction is not None and prediction.reading is None and prediction.top[0][0] == "3"
    assert pad.line_reader.reading is None and pad.line_reader.panel.symbol_buttons == []


def test_a_line_without_a_result_says_why(qtbot, pad):
    reading = write_line(qtbot, pad, ["5", "div", "0"])
    assert reading.text == "5/0" and reading.result is None
    assert "Division by zero" in pad.line_reader.panel.note_label.text()
    assert not pad.line_reader.act_copy_result.isEnabled() and pad.line_reader.act_copy_text.isEnabled()


def test_typed_symbol_keys_do_not_label_a_whole_line(qtbot, pad, tmp_path):
    write_line(qtbot, pad, ["1", "add", "2"])
    assert not pad.corrections.bar.isVisible()
    QTest.keyClick(pad, Qt.Key.Key_3)
    assert not (tmp_path / "samples").exists() or not any((tmp_path / "samples").rglob("*.png"))
    assert "This is a line" in pad.statusBar().currentMessage()
    pad.canvas.clear()
    assert pad.corrections.bar.isVisible()


def test_an_opened_image_of_a_line_is_read_with_boxes_where_the_image_is_shown(qtbot, pad):
    import cv2

    from mathsym_gui.drawing import fit_rect

    strokes, widths, placed = stroke_line(["9", "sub", "4", "eq"], np.random.default_rng(2), height=60.0)
    alpha = np.zeros((150, 330), np.uint8)
    for stroke, width in zip(strokes, widths, strict=True):
        p = np.round(np.asarray(stroke)).astype(np.int32) + (10, 20)
        if len(p) == 1:
            cv2.circle(alpha, (int(p[0][0]), int(p[0][1])), round(width / 2), 255, -1, cv2.LINE_AA)
        else:
            cv2.polylines(alpha, [p], False, 255, round(width), cv2.LINE_AA)
    image = np.stack([255 - alpha // 2, 255 - alpha, 255 - alpha // 3], axis=2).astype(np.uint8)  # coloured ink
    pad.show_image(image)
    reading = wait_shown(qtbot, pad) or pad.line_reader.reading
    assert reading.text == "9-4=" and reading.result == "5"
    shown = fit_rect(330, 150, pad.canvas.snapshot().width, pad.canvas.snapshot().height)
    nine = pad.canvas.symbol_boxes()[0][0]
    scale = shown.width() / 330
    assert abs(nine.left() - (shown.left() + (placed[0].box[0] + 10) * scale)) < 6 * scale + 2


def test_hovering_a_symbol_box_shows_its_top_three(qtbot, pad):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    write_line(qtbot, pad, ["4", "mul", "2"])
    box, text = pad.canvas.symbol_boxes()[1]
    pos = (box.center() * pad.canvas.view_scale()).toPoint()
    QApplication.sendEvent(pad.canvas, QHelpEvent(QEvent.Type.ToolTip, pos, pad.canvas.mapToGlobal(pos)))
    assert QToolTip.text() == text and text.splitlines()[0].startswith("×  mul")
