"""Open Model… with a malformed, hostile or lying card (issue 10, causes 6, 7 and 9): a dialog, and the pad keeps
its model and the drawing."""

from __future__ import annotations

import json
import shutil

import pytest

from trainer.paths import card_path

from .drawing_helpers import draw_symbol, wait_for_current_prediction


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"metrics": "oops"}, '"metrics" must be an object'),
        ({"dataset": []}, '"dataset" must be an object'),
        ({"card_version": 99}, "newer than this MathSym"),
        ({"labels": ["3\x1b[2J"] + [str(i) for i in range(18)]}, "control character U+001B"),
        ("reversed", "does not belong to this model"),
    ],
)
def test_open_model_with_a_bad_card_keeps_the_current_model(
    qtbot, window, messages, tmp_path, pad_model, change, expected
):
    draw_symbol(window.canvas, "7")
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "7"
    bad = tmp_path / "bad.keras"
    shutil.copy(pad_model, bad)
    data = json.loads(card_path(pad_model).read_text())
    data.update({"labels": data["labels"][::-1]} if change == "reversed" else change)
    card_path(bad).write_text(json.dumps(data))
    window.use_model(bad)
    qtbot.waitUntil(lambda: not window.is_loading(), timeout=30000)
    kind, title, text, _ = messages.last()
    assert kind == "error" and title == "Cannot Load Model" and expected in text and "Still using" in text
    assert "\x1b" not in text
    assert (
        window.model.name == pad_model.name
        and window.model.card.labels == json.loads(card_path(pad_model).read_text())["labels"]
    )
    assert window.settings.get("model/active") != str(bad)
    window.canvas.undo()
    window.canvas.redo()
    assert wait_for_current_prediction(qtbot, window).top[0][0] == "7"
