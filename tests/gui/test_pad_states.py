"""What a person sees in states the drawing tests do not reach: loading, a small window, the first pen-down, and
the small print of the panel, title, toolbar and menus."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QProgressBar, QStyle

from mathsym_gui.drawing import render
from mathsym_gui.main_window import MainWindow
from mathsym_gui.settings import AppSettings

from .conftest import FAKE_CLI
from .drawing_helpers import draw_symbol, wait_for_current_prediction


def ink_box(image, threshold: int = 100) -> QRect | None:
    """Bounding box of the dark pixels of a QImage."""
    ptr = image.convertToFormat(image.Format.Format_Grayscale8)
    a = np.frombuffer(ptr.constBits(), np.uint8, count=ptr.bytesPerLine() * ptr.height())
    a = a.reshape(ptr.height(), ptr.bytesPerLine())[:, : ptr.width()]
    ys, xs = np.nonzero(a < threshold)
    if not len(xs):
        return None
    return QRect(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def test_loading_shows_one_truthful_state(qtbot, tmp_path, pad_model, messages):
    window = MainWindow(AppSettings(tmp_path / "s.ini"), models_dir=tmp_path, model_path=pad_model, cli=FAKE_CLI)
    qtbot.addWidget(window)
    # Before any event is processed the model cannot have loaded: this is what the window shows meanwhile.
    bar = window.panel.findChild(QProgressBar, "loadingBar")
    assert bar is not None and not bar.isHidden() and bar.maximum() == 0  # an indeterminate bar
    assert "No model" not in window.panel.hint.text() and "Loading model tiny-test.keras" in window.panel.hint.text()
    status = [window.statusBar().currentMessage(), window.model_label.text()]
    assert sum("Loading model" in text for text in status) == 1, status  # said once
    window.canvas.strokesChanged.emit()  # a drawing change while loading keeps the loading state
    assert "No model" not in window.panel.hint.text()
    window.show()
    qtbot.waitUntil(lambda: window.model is not None and window.is_idle(), timeout=60000)
    assert bar.isHidden() and "Loading" not in window.model_label.text()
    assert "Draw a symbol" in window.panel.hint.text()


def test_failed_load_without_model_says_no_model(qtbot, make_window, tmp_path, messages):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    window = make_window(bad, wait=False)
    qtbot.waitUntil(lambda: not window.is_loading(), timeout=30000)
    assert window.model is None and "No model" in window.panel.hint.text()
    assert window.panel.findChild(QProgressBar, "loadingBar").isHidden()


def test_shrinking_keeps_the_drawing_visible_and_the_answer(qtbot, window):
    draw_symbol(window.canvas, "3")
    before = wait_for_current_prediction(qtbot, window)
    model_input = render(window.canvas.snapshot())
    shown = ink_box(window.canvas.grab().toImage())
    window.resize(480, 360)
    qtbot.waitUntil(lambda: window.size().width() == 480 and window.size().height() == 360, timeout=3000)
    QTest.qWait(50)
    canvas = window.canvas
    box = ink_box(canvas.grab().toImage())
    assert box is not None and canvas.rect().adjusted(2, 2, -2, -2).contains(box), (box, canvas.rect())
    scale = canvas.view_scale()
    assert scale < 0.5  # the drawing is scaled down as a whole, not clipped:
    assert abs(box.width() - shown.width() * scale) <= 3 and abs(box.height() - shown.height() * scale) <= 3
    # what the model sees does not depend on the window size, so the shown answer is still the right one
    assert np.array_equal(render(canvas.snapshot()), model_input)
    after = wait_for_current_prediction(qtbot, window)
    assert after is not None and after.top == before.top
    assert window.panel.list.entries() == before.top[:5]
    # drawing in the small window lands where the pen is
    from .drawing_helpers import draw_stroke

    draw_stroke(canvas, [QPoint(20, 20), QPoint(40, 20)])
    dark = ink_box(canvas.grab().toImage().copy(QRect(10, 10, 40, 20)))
    assert dark is not None


def test_timing_caption_never_overlaps_the_preview_in_a_small_window(qtbot, window):
    draw_symbol(window.canvas, "7")
    wait_for_current_prediction(qtbot, window)
    window.resize(480, 360)
    qtbot.waitUntil(lambda: window.size().height() == 360, timeout=3000)
    QTest.qWait(50)
    panel = window.panel
    timing = QRect(panel.timing.mapTo(panel, QPoint(0, 0)), panel.timing.size())
    preview = QRect(panel.preview.mapTo(panel, QPoint(0, 0)), panel.preview.size())
    assert not timing.intersects(preview), (timing, preview)
    assert panel.timing.text().startswith("model ") and panel.timing.text().endswith(" ms")


def test_hint_is_gone_at_the_first_pen_down(qtbot, window):
    canvas = window.canvas
    centre = canvas.rect().center()
    hint_area = QRect(centre.x() - 150, centre.y() - 20, 300, 40)

    def on_screen():
        QTest.qWait(50)
        image = window.screen().grabWindow(window.winId()).toImage()  # what is on screen, not a fresh paint
        return image.copy(QRect(canvas.mapTo(window, hint_area.topLeft()), hint_area.size()))

    assert ink_box(on_screen(), 200) is not None  # the hint is painted on the empty pad
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(20, 20))
    QTest.mouseMove(canvas, QPoint(40, 30))
    assert ink_box(on_screen(), 200) is None  # and wholly gone once the pen is down
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 30))


def test_title_names_the_model_once(qtbot, window, pad_model):
    assert window.windowFilePath() == str(pad_model)
    # the platform adds " — MathSym" to the title (the application display name): not "MathSym — … — MathSym"
    assert window.windowHandle().title() == "tiny-test.keras"


def test_prediction_rows_show_each_symbol_once_and_keep_their_columns(qtbot, window):
    panel = window.panel
    rows = [("3", 0.6), ("8", 0.2), ("5", 0.1), ("9", 0.05), ("2", 0.05)]
    panel.show_prediction(rows, None, 0.012)
    QTest.qWait(20)
    sym, name, bar = panel.list.row(0)
    assert sym.text() == "3" and name.text() == ""  # not "3 3"
    x_digits = bar.mapTo(panel, QPoint(0, 0)).x()
    panel.show_prediction([("div", 0.6), ("add", 0.2), ("mul", 0.1), ("dec", 0.05), ("x", 0.05)], None, 0.012)
    QTest.qWait(20)
    sym, name, bar = panel.list.row(0)
    assert (sym.text(), name.text()) == ("÷", "div")
    assert bar.mapTo(panel, QPoint(0, 0)).x() == x_digits  # the bars do not move with the names
    assert panel.timing.text() == "model 12 ms"


def test_toolbar_icons_tooltips_and_clear_shortcuts(window):
    back = window.style().standardIcon(QStyle.StandardPixmap.SP_ArrowBack).pixmap(18).toImage()
    assert window.act_undo.icon().pixmap(18).toImage() != back  # not a "back" arrow
    undo_keys = QKeySequence(QKeySequence.StandardKey.Undo).toString(QKeySequence.SequenceFormat.NativeText)
    assert window.act_undo.toolTip().endswith(f"({undo_keys})")
    assert "(Ctrl+O)" in window.act_open_image.toolTip() and "(E)" in window.act_eraser.toolTip()
    clear = window.act_clear
    assert {QKeySequence(QKeySequence.StandardKey.Delete)[0], QKeySequence("Ctrl+L")[0]} <= {
        s[0] for s in clear.shortcuts()
    }
    shown = clear.text().split("\t")[1]  # what the Edit menu prints beside "Clear"
    assert "Del" in shown and "Ctrl+L" in shown
    assert "Del" in clear.toolTip() and "Ctrl+L" in clear.toolTip()


def test_report_folder_that_cannot_be_opened_is_named_and_its_path_copied(
    qtbot, make_window, pad_model, messages, tmp_path, monkeypatch
):
    window = make_window(pad_model, open_url=lambda url: False)  # e.g. no file manager
    monkeypatch.setenv("FAKE_CLI_MODEL", str(pad_model))
    dialog = window.open_job("report")
    out = tmp_path / "report"
    dialog.fields["data"].setText(str(tmp_path))
    dialog.fields["output"].setText(str(out))
    from trainer.data.strokes import make_dataset

    dialog.fields["data"].setText(str(make_dataset(tmp_path / "data", per_class=2, size=48)))
    messages.answer = True
    with qtbot.waitSignal(dialog.jobFinished, timeout=30000):
        dialog.start()
    kind, _, text, _ = messages.last()
    assert kind == "question" and str(out) in text and "Copy" in text
    assert QGuiApplication.clipboard().text() == str(out)
