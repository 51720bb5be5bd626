"""The pad offers to create the ONNX twin of a model that runs with Keras, and switches to it when done."""

from __future__ import annotations

import json
import shutil
import sys

from mathsym_gui.jobs import TRAINER_CLI
from trainer.paths import card_path


def _keras_only(model, folder):
    """A copy of a small model as saved before twins existed (no twin, a card without file hashes)."""
    folder.mkdir()
    target = folder / "old.keras"
    shutil.copy(model, target)
    card = json.loads(card_path(model).read_text())
    card.pop("files", None)
    card.pop("card_version", None)
    card_path(target).write_text(json.dumps(card))
    return target


def test_pad_creates_the_twin_and_switches_to_it(qtbot, make_window, tiny_model, tmp_path, messages):
    model = _keras_only(tiny_model, tmp_path / "old")
    window = make_window(model, cli=TRAINER_CLI)
    assert window.model.backend == "keras"
    assert window.act_make_twin.isEnabled()
    assert "Create ONNX Twin" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.modelChanged, timeout=180000):
        window.act_make_twin.trigger()
        assert not window.act_make_twin.isEnabled()  # one export at a time
    assert window.model.backend == "onnx" and model.with_suffix(".onnx").is_file()
    assert not window.act_make_twin.isEnabled()
    assert messages.shown == []


def test_a_failed_export_is_a_dialog_and_the_model_keeps_working(qtbot, make_window, tiny_model, tmp_path, messages):
    model = _keras_only(tiny_model, tmp_path / "old")
    failing = [sys.executable, "-c", "import sys; sys.exit('mathsym-train: error: the disk is full.')"]
    window = make_window(model, cli=failing)
    with qtbot.waitSignal(window.twin_maker.finished, timeout=60000):
        window.act_make_twin.trigger()
    kind, title, text, _ = messages.last()
    assert "Twin" in title and kind == "error"
    assert window.model.backend == "keras" and window.act_make_twin.isEnabled()
    assert not model.with_suffix(".onnx").exists()
