"""Entry point: ``mathsym`` / ``python -m mathsym_gui`` opens the drawing pad at once; the model loads behind it."""

from __future__ import annotations

import argparse
import os
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from .main_window import APP_NAME, MainWindow
from .settings import AppSettings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mathsym", description="MathSym drawing pad: draw a math symbol, see it recognised.")
    parser.add_argument("image", nargs="?", help="an image to open at start")
    parser.add_argument("--model", help="a .keras model (or notebook .h5) to use instead of the remembered one")
    parser.add_argument("--settings", help="keep settings in this .ini file (default: the platform's place)")
    parser.add_argument("--models-dir", help="folder of trained models (default: models/ beside the trainer)")
    parser.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)  # smoke tests
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # TensorFlow's C++ notices are not for users (each stopped, superseded recognition logs a warning).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    kwargs = {"models_dir": args.models_dir} if args.models_dir else {}
    window = MainWindow(AppSettings(args.settings), model_path=args.model, **kwargs)
    window.show()
    if args.quit_after:
        QTimer.singleShot(args.quit_after, window.close)
    if args.image:
        window.open_image(args.image)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
