"""Take the README screenshots of the real window (run under a display, e.g. ``xvfb-run``).

    xvfb-run -s "-screen 0 1280x800x24" python -m mathsym_gui.screenshots --model models/default.keras

Writes PNGs into resources/screenshots/: a drawn symbol with its predictions, an opened coloured photo-like
image, and (unless --no-training) the Train dialog after a short real training run on synthetic data.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QSpinBox

from trainer.data.expressions import stroke_line
from trainer.data.strokes import TEMPLATES, draw_symbol, make_dataset

from . import dialogs
from .main_window import MainWindow
from .settings import AppSettings
from .train_dialog import FolderField

ROOT = Path(__file__).resolve().parent.parent


def pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait(cond, seconds: float = 120) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        if cond():
            return True
        time.sleep(0.01)
    return False


def draw(canvas, label: str, box: tuple[float, float, float]) -> None:
    x0, y0, side = box
    for stroke in TEMPLATES[label]:
        draw_points(canvas, [QPoint(round(x0 + x * side), round(y0 + y * side)) for x, y in stroke])


def draw_points(canvas, pts: list[QPoint]) -> None:
    """One stroke with real mouse events through these points."""
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
    last = pts[0]
    for p in pts[1:]:
        for i in range(1, 7):
            QTest.mouseMove(canvas, last + (p - last) * (i / 6))
        last = p
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])


def save(widget, path: Path) -> None:
    pump(0.5)
    screen = widget.screen() or QGuiApplication.primaryScreen()
    shot = screen.grabWindow(widget.winId()) if QGuiApplication.platformName() == "xcb" else widget.grab()
    if shot.isNull():
        shot = widget.grab()
    shot.save(str(path), "PNG", 0)  # PNG quality 0 = smallest file
    print(f"wrote {path} ({shot.width()}x{shot.height()})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default.keras"))
    parser.add_argument("--output", default=str(ROOT / "resources" / "screenshots"))
    parser.add_argument("--no-training", action="store_true")
    args = parser.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("MathSym")
    dialogs.show = lambda parent, kind, title, text, detail="": print(f"(dialog) {title}: {text}") or False
    tmp = Path(tempfile.mkdtemp(prefix="mathsym-shots-"))
    window = MainWindow(
        AppSettings(tmp / "settings.ini"), models_dir=tmp / "models", model_path=args.model, open_url=lambda url: None
    )
    window.resize(860, 520)
    window.show()
    if not wait(lambda: window.model is not None and window.is_idle()):
        print("the model did not load", file=sys.stderr)
        return 1
    canvas = window.canvas
    side = 0.7 * min(canvas.width(), canvas.height())
    window.set_pen_colour("#1f4fd1")
    window.width_spin.setValue(14)
    draw(canvas, "3", ((canvas.width() - side) / 2, (canvas.height() - side) / 2, side))
    wait(window.is_idle)
    save(window, out / "main-window-drawing.png")

    image = draw_symbol("y", None, size=400, ink=(170, 30, 40), background=(245, 236, 200), width=0.05)
    window.show_image(image)
    wait(window.is_idle)
    save(window, out / "main-window-image.png")

    canvas.clear()  # a whole line, read, typeset and solved
    window.set_pen_colour("#000000")
    window.width_spin.setValue(5)
    strokes, _, _ = stroke_line(["2", "x", "add", "3", "eq", "1", "1"], np.random.default_rng(4), height=80.0)
    for stroke in strokes:
        draw_points(canvas, [QPoint(round(x) + 40, round(y) + 40) for x, y in stroke])
    wait(window.is_idle)
    save(window, out / "main-window-line.png")

    if not args.no_training:
        data = make_dataset(tmp / "data", per_class=12, size=96)
        dialog = window.open_job("default")
        dialog.resize(560, 520)
        dialog.field("data", FolderField).setText(str(data))
        dialog.field("epochs", QSpinBox).setValue(6)
        done = []
        dialog.jobFinished.connect(lambda spec, result: done.append(result))
        dialog.start()
        wait(lambda: len(dialog.plot.epochs) >= 3, 300)
        save(dialog, out / "train-dialog.png")
        dialog.cancel()
        wait(lambda: bool(done), 60)
    window.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
