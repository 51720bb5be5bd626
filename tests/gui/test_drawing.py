"""Drawing on the real window with mouse events: live recognition, undo/redo/clear, eraser, re-rendering."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from mathsym_gui.drawing import Drawing, Stroke, render
from trainer.data.strokes import TEMPLATES
from trainer.labels import symbol

from .drawing_helpers import draw_stroke, draw_symbol, template_points, wait_for_current_prediction


@pytest.mark.parametrize("label", ["1", "0", "7", "add", "sub", "eq", "x"])
def test_drawn_symbol_is_recognised(qtbot, window, label):
    draw_symbol(window.canvas, label)
    pred = wait_for_current_prediction(qtbot, window)
    assert pred is not None and not pred.error
    shown = window.panel.list.entries()
    assert len(shown) == 5 and shown[0][0] == label, shown
    assert shown[0][1] >= shown[1][1]
    # the row shows the symbol, the name and a bar with the confidence
    sym, name, bar = window.panel.list.row(0)
    assert sym.text() == symbol(label) and name.text() == ("" if symbol(label) == label else label)
    assert bar.text() == f"{shown[0][1] * 100:.1f}%" and bar.value() == pytest.approx(shown[0][1])
    assert all(w.isVisibleTo(window) for row in range(5) for w in window.panel.list.row(row))
    # the preview is exactly the model input, shown at half size
    assert pred.preview.shape == (224, 224, 3) and pred.preview.dtype == np.uint8
    pixmap = window.panel.preview.pixmap()
    assert pixmap.width() == pixmap.height() == round(112 * window.devicePixelRatioF())


@pytest.fixture
def live_always(monkeypatch):
    """Classify while drawing whatever the machine's load makes the last forward pass cost."""
    from mathsym_gui import main_window

    monkeypatch.setattr(main_window, "LIVE_MAX_PREDICT_S", 60.0)


def test_each_stroke_is_classified_and_live_while_drawing(qtbot, window, live_always):
    canvas = window.canvas
    first, second = template_points("add", canvas)
    draw_stroke(canvas, first)
    pred = wait_for_current_prediction(qtbot, window)
    ys, xs = np.nonzero(pred.preview[..., 0] < 128)
    assert np.ptp(ys) > 3 * np.ptp(xs)  # the first stroke alone was classified: the model saw one upright bar
    # while the pen moves, requests are throttled but sent
    before = window.recognizer.latest_id
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, second[0])
    for i in range(1, 30):
        QTest.mouseMove(canvas, second[0] + (second[1] - second[0]) * (i / 30))
        qtbot.wait(10)
    assert canvas.is_drawing
    qtbot.waitUntil(lambda: window.recognizer.latest_id > before, timeout=3000)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, second[1])
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "add"


def test_right_click_abandons_the_stroke_and_reclassifies(qtbot, window, live_always):
    """The live answers saw the stroke in progress; after a right click drops it, the shown answer is for
    the drawing without it again."""
    canvas = window.canvas
    (one,) = template_points("1", canvas)
    draw_stroke(canvas, one)
    first = wait_for_current_prediction(qtbot, window)
    assert first.top[0][0] == "1"
    bar = template_points("sub", canvas)[0]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, bar[0])
    for i in range(1, 30):
        QTest.mouseMove(canvas, bar[0] + (bar[1] - bar[0]) * (i / 30))
        qtbot.wait(10)
    live = wait_for_current_prediction(qtbot, window)
    assert live.request_id > first.request_id  # classified with the stroke in progress
    QTest.mousePress(canvas, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, bar[1])
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, bar[1])
    after = wait_for_current_prediction(qtbot, window)
    assert after.request_id > live.request_id and after.top[0][0] == "1"
    assert len(canvas.strokes) == 1


def test_slow_models_classify_on_pen_up_only(qtbot, window, monkeypatch):
    """With a model slower than the live budget, moving the pen sends nothing; pen-up still classifies."""
    from mathsym_gui import main_window

    monkeypatch.setattr(main_window, "LIVE_MAX_PREDICT_S", 0.0)  # every real model is "slow" now
    canvas = window.canvas
    first, second = template_points("add", canvas)
    draw_stroke(canvas, first)
    wait_for_current_prediction(qtbot, window)
    shown = []
    window.predictionShown.connect(shown.append)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, second[0])
    for i in range(1, 30):
        QTest.mouseMove(canvas, second[0] + (second[1] - second[0]) * (i / 30))
        qtbot.wait(10)
    qtbot.wait(200)  # a while-drawing request (the tiny model answers in milliseconds) would show by now
    assert shown == []
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, second[1])
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "add"


def test_undo_redo_clear_with_shortcuts(qtbot, window):
    canvas = window.canvas
    for stroke in template_points("eq", canvas):
        draw_stroke(canvas, stroke)
    assert len(canvas.strokes) == 2
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "eq"
    QTest.keySequence(canvas, QKeySequence.StandardKey.Undo)
    assert len(canvas.strokes) == 1
    assert wait_for_current_prediction(qtbot, window).top[0][0] != "eq"
    QTest.keySequence(canvas, QKeySequence.StandardKey.Redo)
    assert len(canvas.strokes) == 2
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "eq"
    QTest.keySequence(canvas, QKeySequence("Ctrl+L"))
    assert canvas.strokes == () and canvas.is_empty()
    # empty canvas: predictions cleared, a hint, no dialog
    assert window.panel.list.entries() == [] and "Draw a symbol" in window.panel.hint.text()
    assert window.panel.preview.pixmap().isNull()
    QTest.keySequence(canvas, QKeySequence.StandardKey.Undo)  # clearing is undoable
    assert len(canvas.strokes) == 2
    QTest.keySequence(canvas, QKeySequence.StandardKey.Delete)
    assert canvas.strokes == ()
    assert not window.act_clear.isEnabled() and window.act_undo.isEnabled()


def test_stale_result_after_clear_is_dropped(qtbot, window):
    draw_symbol(window.canvas, "1")
    window.canvas.clear()  # before the worker answers the stroke
    qtbot.wait(300)
    assert window.panel.list.entries() == [] and not window.panel.list.isVisibleTo(window)
    assert "Draw a symbol" in window.panel.hint.text()


def test_eraser_removes_ink(qtbot, window):
    canvas = window.canvas
    draw_stroke(canvas, [QPoint(100, 200), QPoint(300, 200)])
    window.act_eraser.trigger()
    canvas.pen_width = 40
    draw_stroke(canvas, [QPoint(80, 200), QPoint(320, 200)])
    assert [s.eraser for s in canvas.strokes] == [False, True]
    image = render(canvas.snapshot(), max_side=None)
    assert image.min() > 250  # everything erased: white paper only
    pred = wait_for_current_prediction(qtbot, window)
    assert pred is None and "no ink" in window.panel.hint.text()


def test_colour_width_and_shortcuts_in_menus(qtbot, window):
    window.findChild(type(window.colour_button), "swatchc62828").click()
    window.width_spin.setValue(20)
    draw_stroke(window.canvas, [QPoint(100, 100), QPoint(200, 100)])
    stroke = window.canvas.strokes[-1]
    assert stroke.colour == "#c62828" and stroke.width == 20
    current = window.colour_button  # shows the colour in use, named: not one more swatch
    assert current.icon().pixmap(18, 18).toImage().pixelColor(9, 9).name() == "#c62828"
    assert current.text() == "Colour…" and current.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    image = render(window.canvas.snapshot(), max_side=None)
    assert tuple(image[100, 150]) == (0xC6, 0x28, 0x28)
    assert window.act_undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert window.act_open_image.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert QKeySequence("Ctrl+L") in window.act_clear.shortcuts()


def test_strokes_rerender_at_any_size_and_pressure_varies_width():
    stroke = Stroke(((10, 50, 1.0), (90, 50, 1.0)), "#000000", 8)
    small = render(Drawing(100, 100, (stroke,)), max_side=None)
    big = render(
        Drawing(400, 400, (Stroke(tuple((x * 4, y * 4, p) for x, y, p in stroke.points), "#000000", 32),)),
        max_side=None,
    )
    ink_small = (small[:, :, 0] < 128).sum()
    ink_big = (big[:, :, 0] < 128).sum()
    assert ink_big == pytest.approx(16 * ink_small, rel=0.1)
    light = Stroke(((10, 50, 0.1), (50, 50, 0.1), (90, 50, 1.0)), "#000000", 20)
    image = render(Drawing(100, 100, (light,)), max_side=None)
    thin = (image[:, 25, 0] < 128).sum()
    thick = (image[:, 75, 0] < 128).sum()
    assert thick > 2 * thin > 0


@pytest.mark.parametrize("label", ["7", "x", "4"])
def test_a_pen_finer_than_a_pixel_of_the_models_raster_still_draws_whole_strokes(label):
    """A light stylus touch draws 0.5 px; on a big drawing that is a fifth of a pixel of the model's 128 px
    raster, which anti-aliasing turned into faint beads, or into no ink at all."""
    from trainer.serving.modelio import load_model

    from .conftest import DEFAULT_MODEL

    model = load_model(DEFAULT_MODEL)
    fine = tuple(
        Stroke(tuple((20 + x * 700, 20 + y * 700, 1.0) for x, y in pts), "#000000", 0.5) for pts in TEMPLATES[label]
    )
    raster = render(Drawing(740, 740, fine))
    assert max(raster.shape[:2]) == 128
    x = model.preprocess(raster)
    assert model.labels[int(model.predict_inputs(x[None])[0].argmax())] == label


def test_a_quick_stroke_of_few_points_passes_through_each_of_them():
    """A fast hand gives a few mouse positions per stroke: the flag of this 1 is one point. The smoothed path
    goes through it, so the flag stays a flag and the model reads a 1, not a 7 whose top bar is a curve."""
    from trainer.serving.modelio import load_model

    from .conftest import DEFAULT_MODEL

    one = Stroke(((180, 160, 1.0), (260, 80, 1.0), (262, 420, 1.0)), "#000000", 12.0)
    canvas = render(Drawing(400, 500, (one,)), max_side=None)
    assert all(canvas[y, x].max() < 128 for x, y, _ in one.points)
    model = load_model(DEFAULT_MODEL)
    x = model.preprocess(render(Drawing(400, 500, (one,))))
    assert model.labels[int(model.predict_inputs(x[None])[0].argmax())] == "1"


def test_plain_ink_renders_as_on_its_own_layer():
    """Ink without eraser strokes is painted straight onto the paper; with one (here erasing nothing) it
    goes through its own layer. Both give the same pixels, up to one level of rounding."""
    ink = tuple(
        Stroke(tuple((60 + x * 300, 40 + y * 300, 1.0) for x, y in points), "#1565c0", 10.0)
        for points in TEMPLATES["4"]
    )
    far_eraser = Stroke(((590, 590, 1.0), (595, 595, 1.0)), "#000000", 4.0, eraser=True)
    for max_side in (None, 128):
        plain = render(Drawing(600, 600, ink, "#fff8e1"), max_side=max_side).astype(int)
        layered = render(Drawing(600, 600, (*ink, far_eraser), "#fff8e1"), max_side=max_side).astype(int)
        assert plain.shape == layered.shape and np.abs(plain - layered).max() <= 1
        assert (plain.min(axis=2) < 128).sum() > 100  # the ink is there


def test_canvas_layer_is_device_resolution(window):
    canvas = window.canvas
    ratio = canvas.devicePixelRatioF()
    assert canvas.layer().width() == round(canvas.width() * ratio)
    assert canvas.layer().devicePixelRatio() == ratio


def test_finished_stroke_is_redrawn_smooth_and_a_stroke_in_progress_is_kept(qtbot, window):
    from mathsym_gui.canvas import SMOOTH_REDRAW_MS

    canvas = window.canvas

    zigzag = [QPoint(80 + 20 * i, 120 + (40 if i % 2 else 0)) for i in range(12)]
    draw_stroke(canvas, zigzag)
    qtbot.waitUntil(lambda: canvas.layer() == canvas.render_layer(), timeout=SMOOTH_REDRAW_MS + 2000)
    # A second stroke begun before the redraw is due: the redraw waits for its pen-up and keeps it on screen.
    draw_stroke(canvas, [QPoint(100, 300), QPoint(300, 300)])
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 350))
    QTest.mouseMove(canvas, QPoint(300, 350))
    qtbot.wait(SMOOTH_REDRAW_MS + 200)
    assert canvas.grab().toImage().pixelColor(200, 350).lightness() < 100
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 350))
    assert len(canvas.strokes) == 3
    qtbot.waitUntil(lambda: canvas.layer() == canvas.render_layer(), timeout=SMOOTH_REDRAW_MS + 2000)
