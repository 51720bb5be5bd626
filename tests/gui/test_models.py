"""Model choice at start, loading in the background, Open Model…, broken models, the shipped default."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from mathsym_gui.settings import AppSettings
from trainer.data.strokes import TEMPLATES
from trainer.paths import card_path, find_model, newest_trained

from .conftest import DEFAULT_MODEL
from .drawing_helpers import draw_symbol, wait_for_current_prediction


def copy_model(src, dst):
    shutil.copy(src, dst)
    shutil.copy(src.with_name(src.stem + ".card.json"), dst.with_name(dst.stem + ".card.json"))
    return dst


def test_startup_model_prefers_remembered_then_newest_trained_then_default(tmp_path):
    assert find_model(tmp_path) is None
    (tmp_path / "default.keras").write_bytes(b"x")
    assert find_model(tmp_path) == tmp_path / "default.keras"
    old, new = tmp_path / "vgg19-20260101-000000.keras", tmp_path / "alexnet-20260102-000000.keras"
    cardless = tmp_path / "half-written.keras"
    for path in (old, new, cardless):
        path.write_bytes(b"x")
    for path in (old, new):
        card_path(path).write_text("{}")
    os.utime(old, (time.time() - 100, time.time() - 100))
    assert newest_trained(tmp_path) == new == find_model(tmp_path)  # a model without its card is no candidate
    assert find_model(tmp_path, remembered=str(old)) == old
    assert find_model(tmp_path, remembered=str(tmp_path / "gone.keras")) == new


def test_window_opens_without_model_and_offers_open_and_train(qtbot, make_window, messages):
    window = make_window(None)
    assert window.model is None and window.model_label.text() == "No model loaded"
    assert window.windowHandle().title() == "No model"  # the platform adds " — MathSym"
    assert window.panel.open_button.isVisible() and window.panel.train_button.isVisible()
    assert "No model" in window.panel.hint.text()
    draw_symbol(window.canvas, "1")  # drawing still works and nothing breaks
    assert len(window.canvas.strokes) == 1 and messages.shown == []
    window.panel.train_button.click()
    assert window.jobs["default"].isVisible()


def test_model_loads_in_background_with_visible_state(qtbot, make_window, pad_model):
    window = make_window(pad_model, wait=False)
    assert window.model_label.text().startswith("Loading model")  # the window is up before the model
    qtbot.waitUntil(lambda: window.model is not None, timeout=60000)
    acc = window.model.card.test_accuracy
    assert window.model_label.text() == f"Model: tiny-test.keras — test accuracy {acc * 100:.1f}%"
    assert window.windowHandle().title() == "tiny-test.keras"


def test_open_model_from_menu_is_remembered(qtbot, make_window, pad_model, files, tmp_path):
    window = make_window(None)
    other = copy_model(pad_model, tmp_path / "other.keras")
    files.answers.append(other)
    window.act_open_model.trigger()
    qtbot.waitUntil(lambda: window.model is not None, timeout=60000)
    assert window.model.name == "other.keras"
    window.close()
    again = make_window(None, settings=tmp_path / "settings.ini")  # same settings file: same model
    assert again.model is not None and again.model.name == "other.keras"


@pytest.mark.parametrize("case", ["garbage", "no_card", "not_model"])
def test_broken_model_keeps_current_one(qtbot, window, messages, tmp_path, pad_model, case):
    draw_symbol(window.canvas, "7")
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "7"
    if case == "garbage":
        bad = copy_model(pad_model, tmp_path / "bad.keras")
        bad.write_bytes(b"PK\x03\x04 this is not a zip")
        expected = "not a loadable Keras model"
    elif case == "no_card":
        bad = tmp_path / "lonely.keras"
        shutil.copy(pad_model, bad)
        expected = "has no model card"
    else:
        bad = tmp_path / "notes.txt"
        bad.write_text("hello")
        expected = "not a model file"
    window.use_model(bad)
    qtbot.waitUntil(lambda: not window.is_loading(), timeout=30000)
    kind, title, text, _ = messages.last()
    assert kind == "error" and title == "Cannot Load Model" and expected in text and "Still using" in text
    assert window.model.name == "tiny-test.keras" and window.model_label.text().startswith("Model: tiny-test")
    assert window.settings.get("model/active") != str(bad)
    assert len(window.canvas.strokes) == 1  # the drawing is kept and still recognised
    window.canvas.undo()
    window.canvas.redo()
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "7"


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="models/default.keras is not committed yet")
@pytest.mark.parametrize("label", list(TEMPLATES))
def test_default_model_recognises_drawn_symbols(qtbot, make_window, label):
    window = make_window(DEFAULT_MODEL)
    draw_symbol(window.canvas, label)
    assert wait_for_current_prediction(qtbot, window).top[0][0] == label


def test_a_model_that_cannot_be_loaded_at_start_falls_back_to_the_remembered_one(
    qtbot, make_window, pad_model, messages, tmp_path
):
    settings = tmp_path / "settings.ini"
    AppSettings(settings).set("model/active", str(pad_model))  # chosen in an earlier session
    window = make_window(tmp_path / "nonexistent.keras", settings=settings, wait=False)  # --model mistyped
    qtbot.waitUntil(lambda: window.model is not None and window.is_idle(), timeout=60000)
    assert window.model.name == "tiny-test.keras" and window.model_label.text().startswith("Model: tiny-test")
    assert [m[1] for m in messages.shown] == ["Cannot Load Model"]  # the problem, said once
    assert "nonexistent.keras" in messages.last()[2] and "Using tiny-test.keras instead." in messages.last()[2]
    assert window.settings.get("model/active") == str(pad_model)  # the bad path is not remembered
