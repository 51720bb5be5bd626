"""Corrections through real Qt events: a click on a top-5 row, a typed key or the palette saves the drawing as
a labelled sample; Undo removes it. And the switch question after a job never makes a worse model active."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

import mathsym_gui.corrections as corrections_module
from mathsym_gui import dialogs
from mathsym_gui.corrections import sample_raster
from mathsym_gui.predictions import PredictionList
from mathsym_gui.switch_question import ask_switch
from trainer.data.samples import SampleError, count_samples, save_sample, validate_label
from trainer.data.strokes import draw_symbol as template_image
from trainer.data.strokes import make_dataset
from trainer.labels import symbol
from trainer.paths import card_path
from trainer.serving.card import ModelCard

from .conftest import DEFAULT_MODEL, FAKE_CLI
from .drawing_helpers import draw_stroke, draw_symbol, wait_for_current_prediction


@pytest.fixture
def pad(window, tmp_path):
    window.corrections.set_folder(tmp_path / "samples")
    return window


def files(folder, label):
    return sorted(p.name for p in (folder / label).iterdir()) if (folder / label).is_dir() else []


def test_clicking_a_row_saves_the_drawing_and_undo_removes_it(qtbot, pad, tmp_path):
    folder = tmp_path / "samples"
    draw_symbol(pad.canvas, "7")
    prediction = wait_for_current_prediction(qtbot, pad)
    assert prediction is not None and len(prediction.top) == 5
    label = prediction.top[1][0]  # the second guess was right, say
    rows = pad.panel.list
    QTest.mouseClick(rows, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rows.row_rect(1).center())

    names = files(folder, label)
    assert len(names) == 2 and {n.rsplit(".", 1)[1] for n in names} == {"json", "png"}
    record = json.loads((folder / label / names[0]).read_text(encoding="utf-8"))
    strokes = pad.canvas.strokes
    assert record["label"] == label and len(record["strokes"]) == len(strokes)
    assert record["strokes"][0]["points"][0] == list(strokes[0].points[0])
    png = cv2.imread(str(folder / label / names[1]))[..., ::-1]
    assert png.shape == (224, 224, 3) and np.array_equal(png, sample_raster(pad.canvas.snapshot()))
    assert pad.corrections.bar.counts_label.text() == f"Your samples (1): {symbol(label)}: 1"

    pad.activateWindow()
    qtbot.waitUntil(pad.isActiveWindow)
    QTest.keyClick(pad.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Undo right after: the sample goes
    assert files(folder, label) == [] and pad.canvas.strokes == strokes
    assert pad.corrections.bar.counts_label.text() == "Your samples: none yet."
    QTest.keyClick(pad.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # then Undo is the drawing's again
    assert len(pad.canvas.strokes) == len(strokes) - 1


def test_typing_a_key_saves_and_typing_another_relabels(qtbot, pad, tmp_path):
    folder = tmp_path / "samples"
    QTest.keyClicks(pad.canvas, "7")  # nothing drawn: nothing saved
    assert count_samples(folder) == {}
    draw_symbol(pad.canvas, "add")
    wait_for_current_prediction(qtbot, pad)
    QTest.keyClick(
        pad.canvas, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier
    )  # a shortcut combination is never a correction
    assert count_samples(folder) == {}
    QTest.keyClicks(pad.canvas, "-")
    assert count_samples(folder) == {"sub": 1}
    QTest.keyClicks(pad.canvas, "+")  # the same drawing again: it was mislabelled
    assert count_samples(folder) == {"add": 1}
    pad.width_spin.setFocus()
    QTest.keyClicks(pad.width_spin, "9")  # digits typed into a field stay there
    assert count_samples(folder) == {"add": 1}


def test_the_character_of_a_taught_symbol_is_its_key(qtbot, pad, tmp_path):
    folder = tmp_path / "samples"
    draw_symbol(pad.canvas, "1")
    wait_for_current_prediction(qtbot, pad)
    QTest.keyClicks(pad.canvas, "(")  # no class is "(" yet: the key does nothing
    assert count_samples(folder) == {}
    save_sample([], template_image("1", np.random.default_rng(0), size=224), "open", folder)
    (folder / "open" / "symbol.txt").write_text("(\n(\n", encoding="utf-8")  # a class taught as "("
    QTest.keyClicks(pad.canvas, "(")
    assert count_samples(folder) == {"open": 2}
    QTest.keyClicks(pad.canvas, "1")  # the built-in keys still win
    assert count_samples(folder) == {"open": 1, "1": 1}


def click_in_palette(name: str) -> None:
    QTest.mouseClick(QApplication.activeModalWidget().buttons[name], Qt.MouseButton.LeftButton)


def test_palette_and_new_symbol(qtbot, pad, tmp_path, messages, monkeypatch):
    folder = tmp_path / "samples"
    draw_symbol(pad.canvas, "z")
    wait_for_current_prediction(qtbot, pad)
    QTimer.singleShot(0, lambda: click_in_palette("z"))
    QTest.mouseClick(pad.corrections.bar.pick_button, Qt.MouseButton.LeftButton)
    assert count_samples(folder) == {"z": 1}

    names = iter(["a/b", "sqrt"])
    monkeypatch.setattr(corrections_module, "ask_new_symbol", lambda parent: next(names))
    pad.canvas.clear()
    draw_symbol(pad.canvas, "7")

    def new_symbol_twice():
        palette = QApplication.activeModalWidget()
        QTest.mouseClick(
            palette.new_button, Qt.MouseButton.LeftButton
        )  # "a/b": refused with a message, the palette stays
        assert messages.last()[0] == dialogs.ERROR and "'/'" in messages.last()[2]
        QTest.mouseClick(palette.new_button, Qt.MouseButton.LeftButton)  # "sqrt"

    QTimer.singleShot(0, new_symbol_twice)
    pad.act_save_sample.trigger()
    assert count_samples(folder) == {"sqrt": 1, "z": 1}
    assert "sqrt: 1" in pad.corrections.bar.counts_label.text()

    (folder / "sqrt" / "symbol.txt").write_text("√\n\\sqrt{}\n", encoding="utf-8")  # names the new class
    pad.corrections.set_folder(folder)
    assert "√: 1" in pad.corrections.bar.counts_label.text()
    assert pad.panel.list.symbols["sqrt"] == {"symbol": "√", "latex": "\\sqrt{}"}  # predictions show it too


def click_new_symbol() -> None:
    QTest.mouseClick(QApplication.activeModalWidget().new_button, Qt.MouseButton.LeftButton)


def test_a_new_symbol_that_is_a_known_one_is_saved_as_that_class(qtbot, pad, tmp_path, messages, monkeypatch):
    folder = tmp_path / "samples"
    typed = iter(["+", "÷", "-", "x", "add"])
    monkeypatch.setattr(corrections_module, "ask_new_symbol", lambda parent: next(typed))
    expected = [  # (what is drawn, what the status bar says first); each drawing is saved once
        ("add", "+ is the symbol + (add) already."),
        ("div", "÷ is the symbol ÷ (div) already."),
        ("sub", "- is the symbol − (sub) already."),
        ("x", ""),
        ("mul", ""),
    ]
    for drawn, note in expected:
        pad.canvas.clear()
        draw_symbol(pad.canvas, drawn)
        QTimer.singleShot(0, click_new_symbol)
        QTest.mouseClick(pad.corrections.bar.pick_button, Qt.MouseButton.LeftButton)
        assert not (folder / "+").exists() and not (folder / "÷").exists() and not (folder / "-").exists()
        assert pad.statusBar().currentMessage().startswith(f"{note} Saved as" if note else "Saved as")
    assert count_samples(folder) == {"add": 2, "div": 1, "sub": 1, "x": 1}  # no second "+" class beside add
    assert messages.shown == []


def test_sample_counts_cannot_be_read_as_one_number(qtbot, pad, tmp_path):
    for drawn, label in (("3", "3"), ("8", "3"), ("1", "1")):  # three drawings (the same one again relabels)
        pad.canvas.clear()
        draw_symbol(pad.canvas, drawn)
        QTest.keyClicks(pad.canvas, label)
    assert pad.corrections.bar.counts_label.text() == "Your samples (3): 1: 1, 3: 2"

    def check_palette():
        palette = QApplication.activeModalWidget()
        texts = {name: palette.buttons[name].text() for name in ("1", "3", "0")}
        palette.reject()
        assert texts == {"1": "1\n1 saved", "3": "3\n2 saved", "0": "0\n0 saved"}  # never "1 over 0", read as 10

    draw_symbol(pad.canvas, "3")
    QTimer.singleShot(0, check_palette)
    QTest.mouseClick(pad.corrections.bar.pick_button, Qt.MouseButton.LeftButton)


def test_counts_follow_samples_added_or_removed_outside_when_the_window_is_active_again(qtbot, pad, tmp_path):
    draw_symbol(pad.canvas, "3")
    QTest.keyClicks(pad.canvas, "3")
    assert pad.corrections.bar.counts_label.text() == "Your samples (1): 3: 1"
    folder = tmp_path / "samples"
    for name in files(folder, "3"):  # copied in a file manager: a second 3 and a first 7
        (folder / "3" / f"copy-{name}").write_bytes((folder / "3" / name).read_bytes())
        (folder / "7").mkdir(exist_ok=True)
        (folder / "7" / name).write_bytes((folder / "3" / name).read_bytes())
    QApplication.sendEvent(pad, QEvent(QEvent.Type.WindowActivate))
    assert pad.corrections.bar.counts_label.text() == "Your samples (3): 3: 2, 7: 1"


def test_remove_last_sample_is_enabled_only_while_there_is_one(qtbot, pad, tmp_path):
    folder = tmp_path / "samples"
    assert not pad.act_remove_sample.isEnabled()
    draw_symbol(pad.canvas, "7")
    QTest.keyClicks(pad.canvas, "7")
    assert pad.act_remove_sample.isEnabled() and count_samples(folder) == {"7": 1}
    pad.canvas.clear()  # Remove Last Sample works after the drawing is gone, unlike Undo
    pad.act_remove_sample.trigger()
    assert count_samples(folder) == {} and not pad.act_remove_sample.isEnabled()


def erase_everything(pad) -> None:
    """Sweep a wide eraser over the whole pad with real mouse events."""
    QTest.keyClick(pad, Qt.Key.Key_E)
    pad.width_spin.setValue(60)
    w, h = pad.canvas.width(), pad.canvas.height()
    for y in range(0, h + 30, 30):
        draw_stroke(pad.canvas, [QPoint(0, y), QPoint(w, y)])
    QTest.keyClick(pad, Qt.Key.Key_P)


def test_a_symbol_key_on_a_fully_erased_pad_does_nothing(qtbot, pad, tmp_path, messages):
    pad.activateWindow()
    qtbot.waitUntil(pad.isActiveWindow)
    draw_symbol(pad.canvas, "7")
    erase_everything(pad)
    assert pad.canvas.strokes[0].eraser is False and pad.canvas.strokes[-1].eraser
    assert wait_for_current_prediction(qtbot, pad) is None  # "Nothing visible to recognise"
    QTest.keyClicks(pad.canvas, "7")
    palettes = []

    def close_palette():
        if (palette := QApplication.activeModalWidget()) is not None:
            palettes.append(palette)
            palette.reject()

    QTimer.singleShot(0, pad, close_palette)
    pad.act_save_sample.trigger()  # no palette: there is nothing to say anything about
    qtbot.wait(20)
    assert palettes == [] and messages.shown == [] and count_samples(tmp_path / "samples") == {}


def test_another_samples_folder_leaves_the_samples_and_warns_when_not_writable(qtbot, pad, tmp_path, messages, files):
    old, new = tmp_path / "samples", tmp_path / "other"
    draw_symbol(pad.canvas, "7")
    QTest.keyClicks(pad.canvas, "7")
    menu = next(a.menu() for a in pad.menuBar().actions() if a.text() == "&Samples")
    assert "&Use Another Samples Folder…" in [a.text() for a in menu.actions()]
    new.mkdir()
    files.answers.append(new)
    pad.act_move_samples.trigger()
    assert "nothing is moved" in files.asked[-1]  # said in its dialog
    assert pad.corrections.folder == new and count_samples(old) == {"7": 1}  # the old samples stay
    assert f"The 1 sample(s) in {old} stay there." in pad.statusBar().currentMessage()
    assert pad.settings.get("samples/folder") == str(new)

    blocked = tmp_path / "a-file" / "samples"
    (tmp_path / "a-file").write_text("not a folder")  # unwritable even for root, unlike a chmod
    files.answers.append(blocked)
    pad.act_move_samples.trigger()  # warned; the fake answers the default, No: the folder stays
    kind, title, text, _ = messages.last()
    assert kind == dialogs.QUESTION_DEFAULT_NO and title == "Samples Folder Not Writable" and str(blocked) in text
    assert pad.corrections.folder == new


def test_an_opened_image_is_saved_as_a_sample(qtbot, pad, tmp_path):
    pad.show_image(template_image("3", np.random.default_rng(0), size=160))
    wait_for_current_prediction(qtbot, pad)
    QTest.keyClicks(pad.canvas, "3")
    folder = tmp_path / "samples" / "3"
    record = json.loads(next(folder.glob("*.json")).read_text(encoding="utf-8"))
    assert record["source"] == "image" and record["strokes"] == []
    assert len(list(folder.glob("*.png"))) == 1


def test_unwritable_samples_folder_keeps_drawing_and_earlier_samples(qtbot, pad, tmp_path, messages):
    folder = tmp_path / "samples"
    draw_symbol(pad.canvas, "7")
    wait_for_current_prediction(qtbot, pad)
    QTest.keyClicks(pad.canvas, "7")
    earlier = files(folder, "7")
    (folder / "2").write_text("a file where the class folder would go")  # as a read-only or full disk would
    pad.canvas.clear()
    draw_symbol(pad.canvas, "2")
    strokes = pad.canvas.strokes
    QTest.keyClicks(pad.canvas, "2")
    kind, title, text, _ = messages.last()
    assert kind == dialogs.ERROR and title == "Cannot Save Sample" and "earlier samples are kept" in text
    assert pad.canvas.strokes == strokes and files(folder, "7") == earlier


def test_card_symbols_name_new_classes(qtbot):
    rows = PredictionList()
    qtbot.addWidget(rows)
    rows.symbols = {"lparen": {"symbol": "(", "latex": "\\left("}}
    rows.set_entries([("lparen", 0.9), ("7", 0.1)])
    assert [rows.row(i)[0].text() for i in range(2)] == ["(", "7"]


# -- the switch question ---------------------------------------------------------------------------------------


def adapted_copy(source, folder, new_accuracy: float, base_accuracy: float, samples=None, lost=None, symbols=None):
    """The active model's files as an "adapt" result whose card scores it and its base on one test split (and on
    the samples: (base, new); ``lost``: the test images it newly misreads, as adapt records them)."""
    target = folder / "adapted.keras"
    shutil.copy(source, target)
    if source.with_suffix(".onnx").is_file():
        shutil.copy(source.with_suffix(".onnx"), target.with_suffix(".onnx"))
    card = ModelCard.read(card_path(source))
    card.metrics = {**card.metrics, "test_accuracy": new_accuracy, "base_test_accuracy": base_accuracy}
    if samples is not None:
        card.metrics.update(base_samples_accuracy=samples[0], samples_accuracy=samples[1])
    if lost is not None:
        card.metrics["newly_misread"] = lost
    if symbols is not None:
        card.dataset = {**card.dataset, "symbols": symbols}
    card.training = {**card.training, "base_model": {"path": str(source.resolve())}}
    card_path(target).write_text(card.to_json(), encoding="utf-8")
    return target


def test_a_worse_model_is_not_made_active_by_default(qtbot, window, pad_model, tmp_path, messages):
    worse = adapted_copy(pad_model, tmp_path, 0.50, 0.90)
    assert not ask_switch(window, "Learn My Handwriting", "Training finished.", window.model, worse)
    kind, _, text, _ = messages.last()
    assert kind == dialogs.QUESTION_DEFAULT_NO  # Enter (the fake's default too) keeps the current model
    assert "on the same test split" in text and "90.0%" in text and "50.0%" in text and "worse" in text

    better = adapted_copy(pad_model, tmp_path, 0.95, 0.90)
    assert ask_switch(window, "Learn My Handwriting", "Training finished.", window.model, better)
    assert messages.last()[0] == dialogs.QUESTION and "Switch to the new model?" in messages.last()[2]
    assert "On your samples" not in messages.last()[2]  # a card without sample scores


def test_the_switch_question_shows_both_models_on_the_users_samples(qtbot, window, pad_model, tmp_path, messages):
    learnt = adapted_copy(pad_model, tmp_path, 0.899, 0.90, samples=(0.4, 1.0))
    assert not ask_switch(window, "Learn My Handwriting", "Training finished.", window.model, learnt)
    kind, _, text, _ = messages.last()
    assert kind == dialogs.QUESTION_DEFAULT_NO  # worse on the test split: still No by default
    assert f"On your samples: {window.model.name} 40.0%, new model 100.0%." in text


def test_the_switch_question_names_the_test_images_a_taught_symbol_takes(qtbot, window, pad_model, tmp_path, messages):
    lost = {"1": {"rparen": 4}, "y": {"4": 1}}
    taught = adapted_copy(pad_model, tmp_path, 0.992, 0.996, (0.0, 1.0), lost, {"rparen": {"symbol": ")"}})
    assert not ask_switch(window, "Learn My Handwriting", "Training finished.", window.model, taught)
    text = messages.last()[2]
    assert 'Test images it newly misreads: 4 of "1" read as ")", 1 of "y" read as "4".' in text

    many = {"1": {"7": 3}, "add": {"mul": 2}, "2": {"z": 2}, "8": {"3": 1, "0": 1}}
    worse = adapted_copy(pad_model, tmp_path, 0.9, 0.91, lost=many)
    assert not ask_switch(window, "Learn", "Done.", window.model, worse)
    text = messages.last()[2]
    assert 'misreads: 3 of "1" read as "7", 2 of "+" read as "×", 2 of "2" read as "z", and 2 more.' in text

    for nothing in ({}, {"1": "oops"}, {"1": {"7": "two"}}, ["1"]):  # none lost, or a card edited by hand
        same = adapted_copy(pad_model, tmp_path, 0.95, 0.95, lost=nothing)
        assert ask_switch(window, "Learn", "Done.", window.model, same)
        assert "newly misreads" not in messages.last()[2]


def test_the_real_question_box_defaults_to_no(qtbot):
    answers = []

    def press_enter():
        box = QApplication.activeModalWidget()
        answers.append(box.defaultButton().text())
        QTest.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(0, press_enter)
    assert dialogs.show(None, dialogs.QUESTION_DEFAULT_NO, "Switch?", "The new model is worse.") is False
    assert answers and "No" in answers[0]


@pytest.mark.parametrize("name", ["a" * 300, "a/b"], ids=["300 characters", "short"])
def test_a_refused_new_symbol_name_is_shown_whole_in_a_real_message_box(qtbot, monkeypatch, name):
    """A 300-character name wraps inside the box instead of running off its edge; a short message is unchanged."""
    with pytest.raises(SampleError) as refused:
        validate_label(name)
    palette = corrections_module.SymbolPalette(["1", "2"], {}, {})
    qtbot.addWidget(palette)
    palette.show()
    monkeypatch.setattr(corrections_module, "ask_new_symbol", lambda parent: name)
    shown = {}

    def read_and_close():
        box = QApplication.activeModalWidget()
        label = box.findChild(QLabel, "qt_msgbox_label")
        shown.update(text=label.text(), needs=label.minimumSizeHint().width(), has=label.width())
        shown.update(box=box.width(), screen=box.screen().availableGeometry().width())
        QTest.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(0, read_and_close)
    QTest.mouseClick(palette.new_button, Qt.MouseButton.LeftButton)
    assert shown["needs"] <= shown["has"] and shown["box"] <= shown["screen"], shown
    if len(name) < 10:
        assert shown["text"] == str(refused.value)
    else:  # only invisible break opportunities were added
        assert shown["text"] != str(refused.value) and shown["text"].replace("\u200b", "") == str(refused.value)


def test_train_dialogs_offer_fine_tuning_the_active_model(make_window, tmp_path):
    window = make_window(DEFAULT_MODEL)
    dataset = make_dataset(tmp_path / "data", per_class=2, size=32)
    dialog = window.open_job("default")
    combo = dialog.start_from
    assert combo.currentIndex() == 0 and combo.model().item(1).isEnabled()
    dialog.fields["data"].setText(str(dataset))
    dialog.fields["epochs"].setValue(3)
    dialog.fields["subset"].setValue(5)
    combo.setCurrentIndex(1)
    argv = dialog.argv()
    assert argv[len(FAKE_CLI) :] == [
        "adapt",
        "--samples",
        str(dataset),
        "--data",
        str(dataset),
        "--model",
        str(DEFAULT_MODEL),
        "--epochs",
        "3",
        "--subset",
        "5",
        "--output",
        dialog.output_path,
        "--progress",
        "json",
    ]
    assert not window.open_job("vgg19").start_from.model().item(1).isEnabled()  # not a VGG19 model
