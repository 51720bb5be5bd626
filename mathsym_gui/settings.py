"""Persistent preferences (pen, folders, geometry, active model), isolatable for tests."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

ORGANISATION = "MathSym"
APPLICATION = "MathSym"
#: Point this at an .ini file to keep the app's settings there (tests, portable installs).
SETTINGS_ENV = "MATHSYM_SETTINGS"


class AppSettings:
    """Typed access to QSettings. ``path`` (or $MATHSYM_SETTINGS) stores them in that INI file instead.

    Several pads may run at once: QSettings merges each process's changes into the shared file, and
    :meth:`set` skips values this pad read and has not changed, so closing one pad never puts back stale
    values over what another pad chose meanwhile.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        path = path or os.environ.get(SETTINGS_ENV)
        if path:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self.qsettings = QSettings(ORGANISATION, APPLICATION)
        self._known: dict[str, object] = {}  # key -> the value this pad last read or wrote

    def get(self, key: str, default=None, kind: type | None = None):
        value = self.qsettings.value(key, default)
        if kind is not None and value is not None:
            try:
                value = kind(value)
            except (TypeError, ValueError):
                value = default
        self._known[key] = value
        return value

    def set(self, key: str, value) -> None:
        if key in self._known and self._known[key] == value:
            return  # unchanged here: another pad's newer value stays
        self.qsettings.setValue(key, value)
        self._known[key] = value

    def sync(self) -> None:
        self.qsettings.sync()
