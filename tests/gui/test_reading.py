"""The pad reads a whole line: drawn with real mouse events, shown typeset with its result and symbol boxes,
copied with the shortcuts, and corrected symbol by symbol."""

import json

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from support import bracket_line

from trainer.data.expressions import stroke_line
from trainer.data.samples import count_samples, scan_samples

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


def test_brackets_taught_from_samples_are_read_shown_and_calculated(qtbot, make_window, bracket_model, tmp_path):
    window = make_window(bracket_model)
    window.width_spin.setValue(4)
    window.corrections.set_folder(tmp_path / "samples")
    for stroke in bracket_line("2(3+4)=", np.random.default_rng(0), height=55.0):
        draw_stroke(window.canvas, [QPoint(round(x + 20), round(y) + 40) for x, y in stroke])
    wait_shown(qtbot, window)
    reading = window.line_reader.reading
    assert reading is not None and (reading.text, reading.result) == ("2(3+4)=", "14")
    panel = window.line_reader.panel
    assert panel.text_label.text() == "2(3 + 4) =" and panel.result_label.text() == "→ 14"
    assert [b.text() for b in panel.symbol_buttons][1:6:4] == ["(", ")"]  # the samples' symbols, not folder names
    assert "( (open)" in panel.symbol_buttons[1].toolTip()


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


def test_in_a_narrow_window_the_copy_buttons_become_one_copy_menu(qtbot, pad):
    write_line(qtbot, pad, ["2", "x", "add", "3", "eq", "1", "1"])
    panel = pad.line_reader.panel
    buttons = (panel.copy_text, panel.copy_latex, panel.copy_result)
    assert all(b.isVisible() for b in buttons) and not panel.copy_menu.isVisible()
    wide = pad.size()
    pad.resize(pad.minimumSizeHint())
    qtbot.waitUntil(panel.copy_menu.isVisible)
    assert not any(b.isVisible() for b in buttons) and panel.copy_menu.isEnabled()
    menu = panel.copy_menu.menu()
    assert [a.text() for a in menu.actions()] == ["Copy Reading as &Text", "Copy Reading as &LaTeX", "Copy &Result"]
    menu.actions()[2].trigger()
    assert QGuiApplication.clipboard().text() == "x = 4"
    pad.resize(wide)
    qtbot.waitUntil(panel.copy_text.isVisible)
    assert not panel.copy_menu.isVisible()


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


def correct(qtbot, pad, monkeypatch, index: int, label: str) -> None:
    """Click the symbol's button under the pad and choose ``label``."""
    monkeypatch.setattr(pad.line_reader, "choose_label", lambda i, where: label)
    QTest.mouseClick(pad.line_reader.panel.symbol_buttons[index], Qt.MouseButton.LeftButton)


def undo(qtbot, pad) -> None:
    pad.activateWindow()
    qtbot.waitUntil(pad.isActiveWindow)
    QTest.keyClick(pad.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def test_undo_and_remove_last_sample_take_back_a_line_correction(qtbot, pad, monkeypatch, tmp_path):
    folder = tmp_path / "samples"
    assert write_line(qtbot, pad, ["2", "x", "add", "3", "eq", "1", "1"]).text == "2x+3=11"
    strokes = pad.canvas.strokes
    correct(qtbot, pad, monkeypatch, 5, "7")
    assert pad.line_reader.reading.text == "2x+3=71" and count_samples(folder) == {"7": 1}
    assert pad.act_undo.isEnabled() and pad.act_remove_sample.isEnabled()
    undo(qtbot, pad)  # right after the correction: the sample goes, not the last stroke, and the pin with it
    assert count_samples(folder) == {} and pad.canvas.strokes == strokes
    assert pad.line_reader.reading.text == "2x+3=11" and not pad.act_remove_sample.isEnabled()
    correct(qtbot, pad, monkeypatch, 5, "7")
    pad.act_remove_sample.trigger()  # Samples → Remove Last Sample
    assert count_samples(folder) == {} and pad.line_reader.reading.text == "2x+3=11"
    undo(qtbot, pad)  # then Undo is the drawing's again
    assert len(pad.canvas.strokes) == len(strokes) - 1


def test_a_new_reading_replaces_the_symbol_buttons_at_once(qtbot, pad, monkeypatch):
    """The row shows only the current reading's buttons, even before the old ones are deleted."""
    write_line(qtbot, pad, ["2", "x", "add", "3", "eq", "1", "1"])
    row = pad.line_reader.panel.symbol_row
    pad.line_reader.pin(5, "7")  # decoded again without a trip through the event loop
    shown = [row.itemAt(i).widget() for i in range(row.count()) if row.itemAt(i).widget() is not None]
    assert [b.text() for b in shown] == ["2", "x", "+", "3", "=", "7", "1"]


def test_correcting_a_line_symbol_again_relabels_its_one_sample(qtbot, pad, monkeypatch, tmp_path):
    folder = tmp_path / "samples"
    assert write_line(qtbot, pad, ["2", "x", "add", "3", "eq", "1", "1"]).text == "2x+3=11"
    correct(qtbot, pad, monkeypatch, 1, "y")
    assert count_samples(folder) == {"y": 1}
    said = pad.statusBar().currentMessage()
    correct(qtbot, pad, monkeypatch, 1, "9")
    assert count_samples(folder) == {"9": 1}  # the same symbol: its sample relabelled, not a second one
    assert said.startswith("The 2nd symbol is now y; saved as a sample.")  # not "Symbol 2 is y", read as a digit
    assert "The 2nd symbol is now 9; saved as a sample (instead of y)." in pad.statusBar().currentMessage()
    correct(qtbot, pad, monkeypatch, 0, "2")  # another symbol is another sample
    assert count_samples(folder) == {"2": 1, "9": 1}
    assert pad.statusBar().currentMessage().startswith("The 1st symbol is now 2")


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


def test_a_y_whose_strokes_miss_each_other_is_one_symbol_not_a_line(qtbot, pad):
    """Strokes that nearly meet are offered to the model as one symbol; read as one, the pad shows its top 5."""
    for stroke in ([(0.18, 0.18), (0.46, 0.48)], [(0.74, 0.15), (0.36, 0.9)]):  # the arm stops short
        draw_stroke(pad.canvas, [QPoint(round(40 + 150 * x), round(10 + 150 * y)) for x, y in stroke])
    prediction = wait_shown(qtbot, pad)
    assert prediction is not None and prediction.reading is None and prediction.top[0][0] == "y"
    assert pad.line_reader.reading is None and pad.canvas.symbol_boxes() == []


def test_two_symbols_written_touching_are_a_line_but_a_touching_x_is_one_symbol(qtbot, pad):
    strokes, _, _ = stroke_line(["1", "2"], np.random.default_rng(0), height=55.0, spacing=(0.0, 0.02))
    for stroke in strokes:  # the 2 starts on the 1: one group of strokes, which the model reads as two
        draw_stroke(pad.canvas, [QPoint(round(x + 20), round(y) + 40) for x, y in stroke])
    wait_shown(qtbot, pad)
    assert pad.line_reader.reading is not None and pad.line_reader.reading.text == "12"
    pad.canvas.clear()
    draw_symbol(pad.canvas, "x")  # written as )( touching: its halves are no symbols
    prediction = wait_shown(qtbot, pad)
    assert prediction.reading is None and prediction.top[0][0] == "x"


def test_three_symbols_written_touching_are_three_and_a_correction_saves_its_own_strokes(
    qtbot, pad, monkeypatch, tmp_path
):
    strokes, _, _ = stroke_line(["6", "mul", "9"], np.random.default_rng(0), height=55.0, spacing=(0.0, 0.0))
    for stroke in strokes:  # the × touches the 6 and the 9: one group, cut in three
        draw_stroke(pad.canvas, [QPoint(round(x + 20), round(y) + 40) for x, y in stroke])
    wait_shown(qtbot, pad)
    assert pad.line_reader.reading.text == "6*9"
    correct(qtbot, pad, monkeypatch, 1, "x")
    assert pad.line_reader.reading.text == "6x9" and count_samples(tmp_path / "samples") == {"x": 1}
    record = json.loads(next((tmp_path / "samples" / "x").glob("*.json")).read_text(encoding="utf-8"))
    assert len(record["strokes"]) == 2  # the ×'s two strokes, not the 6 or the 9


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


def line_image(labels, seed=2):
    """An image of a written line in coloured ink; returns it and where each symbol was placed."""
    strokes, widths, placed = stroke_line(labels, np.random.default_rng(seed), height=60.0)
    alpha = np.zeros((150, 330), np.uint8)
    for stroke, width in zip(strokes, widths, strict=True):
        p = np.round(np.asarray(stroke)).astype(np.int32) + (10, 20)
        if len(p) == 1:
            cv2.circle(alpha, (int(p[0][0]), int(p[0][1])), round(width / 2), 255, -1, cv2.LINE_AA)
        else:
            cv2.polylines(alpha, [p], False, 255, round(width), cv2.LINE_AA)
    return np.stack([255 - alpha // 2, 255 - alpha, 255 - alpha // 3], axis=2).astype(np.uint8), placed


def test_an_opened_image_of_a_line_is_read_with_boxes_where_the_image_is_shown(qtbot, pad):
    from mathsym_gui.drawing import fit_rect

    image, placed = line_image(["9", "sub", "4", "eq"])
    pad.show_image(image)
    reading = wait_shown(qtbot, pad) or pad.line_reader.reading
    assert reading.text == "9-4=" and reading.result == "5"
    shown = fit_rect(330, 150, pad.canvas.snapshot().width, pad.canvas.snapshot().height)
    nine = pad.canvas.symbol_boxes()[0][0]
    scale = shown.width() / 330
    assert abs(nine.left() - (shown.left() + (placed[0].box[0] + 10) * scale)) < 6 * scale + 2


def test_correcting_a_symbol_of_an_opened_image_saves_its_crop(qtbot, pad, monkeypatch, tmp_path):
    folder = tmp_path / "samples"
    pad.show_image(line_image(["9", "sub", "4", "eq"])[0])
    wait_shown(qtbot, pad)
    assert pad.line_reader.reading.text == "9-4="
    correct(qtbot, pad, monkeypatch, 2, "7")
    assert pad.line_reader.reading.text == "9-7=" and count_samples(folder) == {"7": 1}
    record = json.loads(next((folder / "7").glob("*.json")).read_text(encoding="utf-8"))
    assert record["source"] == "image" and record["line"] == "9-4=" and record["strokes"] == []
    png = cv2.imread(str(next((folder / "7").glob("*.png"))), cv2.IMREAD_GRAYSCALE)
    assert png.shape == (224, 224) and png.min() < 60 and png[0].min() > 200  # the 4's ink, centred, on paper
    assert scan_samples(folder, min_per_class=1).counts == {"7": 1}  # a sample the trainer reads
    assert "saved as a sample" in pad.statusBar().currentMessage()
    undo(qtbot, pad)
    assert count_samples(folder) == {} and pad.line_reader.reading.text == "9-4="


def test_correcting_one_side_of_touching_ink_in_an_image_saves_that_side_only(qtbot, pad, monkeypatch, tmp_path):
    folder = tmp_path / "samples"
    strokes, widths, _ = stroke_line(["2", "7", "mul", "3", "1"], np.random.default_rng(5), spacing=(0.0, 0.03))
    pts = np.concatenate([np.asarray(s) for s in strokes])
    alpha = np.zeros((int(pts[:, 1].max() + 40), int(pts[:, 0].max() + 40)), np.uint8)
    for stroke, width in zip(strokes, widths, strict=True):
        cv2.polylines(alpha, [np.round(np.asarray(stroke)).astype(np.int32)], False, 255, round(width), cv2.LINE_AA)
    pad.show_image(np.repeat((255 - alpha)[:, :, None], 3, axis=2))
    wait_shown(qtbot, pad)
    assert pad.line_reader.reading.text == "27*31"  # the 2 touches the 7 and the 3 the 1: cut at their necks
    correct(qtbot, pad, monkeypatch, 4, "7")
    assert pad.line_reader.reading.text == "27*37" and count_samples(folder) == {"7": 1}
    png = cv2.imread(str(next((folder / "7").glob("*.png"))), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(png < 128)
    assert xs.max() - xs.min() < 0.5 * (ys.max() - ys.min())  # the 1 alone: a bar, not the 3 with it


def test_hovering_a_symbol_box_shows_its_top_three(qtbot, pad):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    write_line(qtbot, pad, ["4", "mul", "2"])
    box, text = pad.canvas.symbol_boxes()[1]
    pos = (box.center() * pad.canvas.view_scale()).toPoint()
    QApplication.sendEvent(pad.canvas, QHelpEvent(QEvent.Type.ToolTip, pos, pad.canvas.mapToGlobal(pos)))
    assert QToolTip.text() == text and text.splitlines()[0].startswith("× (mul)  ")
    assert all(not line.startswith("2  2") for line in text.splitlines())  # a label is never said twice


def test_a_reason_that_wraps_and_the_alternatives_are_not_cut_off(qtbot, pad):
    from trainer.serving.reader import Alternative, Reading

    reason = "The reading is too unsure to calculate (is this maths?); correct the unclear symbols or write them again."
    alternatives = [Alternative(t, t, None, p) for t, p in (("13/4=", 0.61), ("1+3+4=", 0.4), ("13-4=", 0.3))]
    panel = pad.line_reader.panel
    panel.show_reading(Reading("13+4=", "13 + 4 =", error=reason, alternatives=alternatives))
    qtbot.wait(50)
    note = panel.note_label
    assert note.text().count("\n") == 1 and note.fontMetrics().horizontalAdvance(reason) > note.width()  # it wraps
    assert note.heightForWidth(note.width()) <= note.height()  # every line shown at the usual window size
    assert note.toolTip() == note.text()
