"""The pad's log file and its last line of defence: an unexpected exception (in a slot, an event handler or a
worker thread) is logged with its traceback and shown in a short dialog with "Copy Details", and the pad keeps
running instead of dying silently."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

LOG_NAME = "mathsym.log"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
ERROR_TITLE = "Unexpected Error"
COPY_TEXT = "Copy Details"

log = logging.getLogger("mathsym")


def setup_logging(folder: Path) -> Path | None:
    """Log to ``folder/mathsym.log`` (rotated at 1 MB, 3 old files kept); return its path, or None when the
    folder cannot be written (then warnings go to stderr only)."""
    log.setLevel(logging.INFO)
    for handler in list(log.handlers):  # a second call (tests) replaces, never duplicates
        log.removeHandler(handler)
        handler.close()
    path: Path | None = Path(folder) / LOG_NAME
    sink: logging.Handler
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        sink = logging.handlers.RotatingFileHandler(
            Path(folder) / LOG_NAME, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        sink, path = logging.StreamHandler(sys.stderr), None
        sink.setLevel(logging.WARNING)
    sink.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(sink)
    return path


class ErrorReporter(QObject):
    """Installed as ``sys.excepthook`` and ``threading.excepthook``: logs every uncaught exception and shows one
    dialog at a time on the GUI thread (errors while it is open are logged only)."""

    raised = Signal(str, str)  # summary, traceback text; queued to the GUI thread

    def __init__(self, log_path: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_path = log_path
        self.dialog: QMessageBox | None = None
        self._previous = (sys.excepthook, threading.excepthook)
        self.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self.excepthook
        threading.excepthook = lambda args: self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous

    def excepthook(self, exc_type, exc_value, exc_traceback) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous[0](exc_type, exc_value, exc_traceback)
            return
        details = "".join(traceback.format_exception(exc_type, exc_value, exc_traceback))
        log.error("Uncaught exception\n%s", details.rstrip())
        summary = f"{exc_type.__name__}: {exc_value}" if str(exc_value) else exc_type.__name__
        self.raised.emit(summary, details)

    def _show(self, summary: str, details: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            return
        parent = QApplication.activeWindow()
        where = f"\n\nThe details are also in {self.log_path}." if self.log_path else ""
        box = QMessageBox(parent if isinstance(parent, QWidget) else None)
        box.setObjectName("errorDialog")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(ERROR_TITLE)
        box.setText("Something went wrong, but MathSym is still running. Your drawing is kept.")
        box.setInformativeText(f"{summary}{where}")
        box.setDetailedText(details)
        copy = box.addButton(COPY_TEXT, QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()  # an action button would close the box; copying should not
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
        box.addButton(QMessageBox.StandardButton.Close)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        self.dialog = box
        box.show()
