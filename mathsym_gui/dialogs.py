"""Every message box and file dialog of the app goes through here, so tests can intercept them.

Tests replace :func:`show` (and the ``get_*`` file choosers) with fakes via monkeypatch and assert on
what would have been shown.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

INFO, WARNING, ERROR, QUESTION = "info", "warning", "error", "question"
#: A question whose default answer (Enter, or a test's fake) is No: for a Yes that could make things worse.
QUESTION_DEFAULT_NO = "question-default-no"
_ICONS = {
    INFO: QMessageBox.Icon.Information,
    WARNING: QMessageBox.Icon.Warning,
    ERROR: QMessageBox.Icon.Critical,
    QUESTION: QMessageBox.Icon.Question,
    QUESTION_DEFAULT_NO: QMessageBox.Icon.Warning,
}
#: Longest run of characters a message shows with no place to wrap: a message box wraps only between words (and
#: after a path's slashes) and cuts off a longer word, such as a 300-character name.
LONGEST_UNBROKEN = 40
_UNBROKEN = re.compile(rf"[^\s/]{{{LONGEST_UNBROKEN + 1},}}")


def _wrappable(text: str) -> str:
    """``text`` with an invisible break (a zero-width space) every LONGEST_UNBROKEN characters of longer runs."""
    return _UNBROKEN.sub(
        lambda run: "\u200b".join(run[0][i : i + LONGEST_UNBROKEN] for i in range(0, len(run[0]), LONGEST_UNBROKEN)),
        text,
    )


def show(parent: QWidget | None, kind: str, title: str, text: str, detail: str = "") -> bool:
    """Show a message; for QUESTION return True when the user said Yes. ``detail`` is the expandable text."""
    box = QMessageBox(parent)
    box.setIcon(_ICONS[kind])
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)  # messages quote file and class names: never markup
    box.setText(_wrappable(text))
    if detail:
        box.setDetailedText(detail)
    if kind in (QUESTION, QUESTION_DEFAULT_NO):
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.Yes if kind == QUESTION else QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def error(parent, title: str, text: str, detail: str = "") -> None:
    show(parent, ERROR, title, text, detail)


def info(parent, title: str, text: str, detail: str = "") -> None:
    show(parent, INFO, title, text, detail)


def ask(parent, title: str, text: str, detail: str = "") -> bool:
    return show(parent, QUESTION, title, text, detail)


def get_open_file(parent, title: str, folder: str, filters: str) -> str:
    """A file to open ("" when cancelled)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, folder, filters)
    return path


def get_folder(parent, title: str, folder: str) -> str:
    """A folder ("" when cancelled)."""
    return QFileDialog.getExistingDirectory(parent, title, folder)
