"""Persistent preferences (pen, folders, geometry, active model), isolatable for tests."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

ORGANISATION = "MathSym"
APPLICATION = "MathSym"
#: Point this at an .ini file to keep the app's settings there (tests, portable installs).
SETTINGS_ENV = "MATHSYM_SETTINGS"


class AppSettings:
    """Typed access to QSettings. ``path`` (or $MATHSYM_SETTINGS) stores them in that INI file instead."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        path = path or os.environ.get(SETTINGS_ENV)
        if path:
            self.qsettings = QSettings(str(path), QSettings.IniFormat)
        else:
            self.qsettings = QSettings(ORGANISATION, APPLICATION)

    def get(self, key: str, default=None, kind: type | None = None):
        value = self.qsettings.value(key, default)
        if kind is not None and value is not None:
            try:
                return kind(value)
            except (TypeError, ValueError):
                return default
        return value

    def set(self, key: str, value) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()
