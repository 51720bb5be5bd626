"""Entry point: ``mathsym`` / ``python -m mathsym_gui`` opens the drawing pad at once; the model loads behind it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from trainer.paths import HOME_ENV, cache_dir, logs_dir, shipped_default, unwritable

from . import dialogs
from .error_report import ErrorReporter, log, setup_logging
from .main_window import APP_NAME, MainWindow
from .settings import AppSettings

#: How long ``--smoke-test`` waits for the model's first answer.
SMOKE_TIMEOUT_MS = 120_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mathsym", description="MathSym drawing pad: draw a math symbol, see it recognised."
    )
    parser.add_argument("image", nargs="?", help="an image to open at start")
    parser.add_argument("--model", help="a .keras model (or notebook .h5) to use instead of the remembered one")
    parser.add_argument("--settings", help="keep settings in this .ini file (default: the platform's place)")
    parser.add_argument("--models-dir", help="folder of trained models (default: the user's MathSym models folder)")
    parser.add_argument(
        "--samples",
        metavar="DIR",
        help="keep your samples (corrected drawings) in this folder (default: the one chosen in "
        "Samples → Use Another Samples Folder…, else the user's MathSym samples folder)",
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start, wait for the model's answer to IMAGE (or for the model to load), print one line "
        "and quit: 0 when it worked (checks an installation)",
    )
    parser.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)  # smoke tests
    return parser.parse_args(argv)


def unwritable_message(folders: list[Path], log_path: Path | None) -> str | None:
    """Check the folders the pad writes to; return (and log) a message naming the unwritable ones, or None."""
    problems = unwritable(folders)
    if log_path is None:
        problems[logs_dir()] = problems.get(logs_dir(), "cannot be written")
    if not problems:
        return None
    listed = "\n".join(f"• {folder}: {reason}" for folder, reason in problems.items())
    message = (
        f"MathSym cannot write to:\n{listed}\n\nRecognition works as usual, but trained models, your "
        f"samples, caches and the log cannot be saved there. Make the folder writable, or set {HOME_ENV} "
        "to a folder MathSym may use."
    )
    log.warning(message.replace("\n", " "))
    return message


class SmokeTest:
    """``--smoke-test``: the outcome of one start (model loaded, image recognised) as an exit code and one line."""

    def __init__(self, app: QCoreApplication, window: MainWindow, image: str | None) -> None:
        self.app, self.window, self.image, self.code, self.done = app, window, image, 1, False
        window.recognizer.modelFailed.connect(lambda _ticket, path, message, _detail: self.finish(1, message))
        if image:
            window.predictionShown.connect(self._on_prediction)
        else:
            window.modelChanged.connect(lambda path: self.finish(0, f"smoke test: model {Path(path).name} ready"))
        QTimer.singleShot(
            SMOKE_TIMEOUT_MS, lambda: self.finish(1, f"no answer from the model within {SMOKE_TIMEOUT_MS // 1000} s")
        )
        if window.model is None and not window.is_loading():
            QTimer.singleShot(0, lambda: self.finish(1, "no model found"))

    def _on_prediction(self, prediction) -> None:
        if prediction.error:
            self.finish(1, prediction.error)
        elif prediction.top:
            label, p = prediction.top[0]
            self.finish(0, f"smoke test: {self.image}: {label} ({p * 100:.1f}%) with {prediction.model_name}")

    def finish(self, code: int, line: str) -> None:
        if self.done:
            return
        self.done, self.code = True, code
        if code == 0:
            print(line, flush=True)
        else:
            print(f"mathsym: smoke test failed: {line}", file=sys.stderr, flush=True)
        self.window.close()
        self.app.quit()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # TensorFlow's C++ notices are not for users (each stopped, superseded recognition logs a warning).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    QGuiApplication.setApplicationDisplayName(APP_NAME)
    log_path = setup_logging(logs_dir())
    reporter = ErrorReporter(log_path, app)
    reporter.install()
    log.info("MathSym started: %s", " ".join(argv))
    window = MainWindow(
        AppSettings(args.settings),
        model_path=args.model,
        models_dir=args.models_dir,
        default_model=shipped_default(),
        samples=args.samples,
    )
    window.show()
    problem = unwritable_message([window.models_dir, window.corrections.folder, cache_dir()], log_path)
    smoke = SmokeTest(app, window, args.image) if args.smoke_test else None
    if problem and smoke:
        print(f"mathsym: {problem}", file=sys.stderr)
    elif problem:
        QTimer.singleShot(0, lambda: dialogs.show(window, dialogs.WARNING, "Cannot Save Your Files", problem))
    if args.quit_after:
        QTimer.singleShot(args.quit_after, window.close)
    if args.image:
        window.open_image(args.image)
    code = app.exec()
    reporter.uninstall()
    return smoke.code if smoke else code


if __name__ == "__main__":
    sys.exit(main())
