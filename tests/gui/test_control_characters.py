"""Text from model files and cards reaches the pad's title, status bar and answer panel with its control
characters escaped (issue 10, cause 9): a terminal escape or a bidi override is shown, never obeyed."""

from __future__ import annotations

import shutil

HOSTILE = "\x1b[2J\u202e"


def test_a_model_file_name_with_control_characters_is_shown_escaped(qtbot, make_window, pad_model, tmp_path):
    model = tmp_path / f"evil{HOSTILE}.keras"
    for sibling in pad_model.parent.glob(f"{pad_model.stem}.*"):
        shutil.copy(sibling, tmp_path / sibling.name.replace(pad_model.stem, model.stem, 1))
    window = make_window(model)
    shown = [
        window.model_label.text(),
        window.model_label.toolTip(),
        window.windowTitle(),
        window.statusBar().currentMessage(),
    ]
    assert window.model is not None and "evil\\x1b[2J\\u202e.keras" in window.model_label.text()
    assert not any(c in text for text in shown for c in "\x1b\u202e"), [ascii(t) for t in shown]


def test_answer_panel_shows_control_characters_escaped(qtbot, window):
    window.panel.list.set_entries([(f"3{HOSTILE}", 0.9), ("add", 0.1)])
    sym, name, _ = window.panel.list.row(0)
    assert sym.text() == "3\\x1b[2J\\u202e" and name.text() == ""
    assert window.panel.list.row(1)[0].text() == "+"
