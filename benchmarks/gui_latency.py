"""GUI responsiveness of the drawing pad: pen-up -> prediction shown, and GUI-thread stalls.

Usage:  python benchmarks/gui_latency.py [--model PATH | --vgg19] [--runs N] [--no-training]

How it measures (the real MainWindow, real mouse events via QTest, offscreen unless a display is set):

* Latency: a symbol from trainer.data.strokes.TEMPLATES is drawn on the canvas with mouse press/move/release
  events; the clock starts right before the final mouse-release event is delivered and stops when the
  window's ``predictionShown`` signal fires for that request (the panel has been updated by then). The
  GUI thread waits in Qt's event loop meanwhile, as in the running app.
  "fast" draws each stroke instantly and waits for its answer before the next one (nothing else in
  flight at the timed pen-up: the pipeline alone); "live" spaces the moves 10 ms apart so the
  throttled while-drawing requests run as they would for a user, and pen-up may wait for one in flight.
* Stall: a 5 ms QTimer on the GUI thread records the largest gap between its ticks, minus the 5 ms period,
  (a) while the window classifies a new drawing every 20 ms for 3 s (the worker always busy), and
  (b) while a real training job (``python -m trainer.cli train default`` on a small synthetic dataset)
  runs in its QProcess and the window keeps classifying.
* The pen-up latency is compared with one compiled-graph forward pass of the active model
  (``LoadedModel.predict_inputs`` on one preprocessed input, back-to-back calls with the window idle), which
  also shows how fast the shared machine is at the time. The slowest drawing of each mode is broken down by
  stage.
* With ``--vgg19`` the active model is a 224 px VGG19 classifier (untrained weights: the cost is the same as
  ImageNet's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QPoint, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QSpinBox  # noqa: E402

from mathsym_gui.inference import Prediction  # noqa: E402
from mathsym_gui.main_window import MainWindow  # noqa: E402
from mathsym_gui.settings import AppSettings  # noqa: E402
from trainer.data.strokes import TEMPLATES  # noqa: E402

LABELS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "add", "sub", "mul", "div", "eq", "dec", "x", "y", "z"]


STAGES: list[dict] = []
GC_PAUSES: list[tuple[int, float]] = []  # (generation, ms) of every garbage collection
_GC_START = [0.0]


def _gc_timer(phase, info):
    if phase == "start":
        _GC_START[0] = time.perf_counter()
    else:
        GC_PAUSES.append((info["generation"], (time.perf_counter() - _GC_START[0]) * 1000))


class StallMonitor:
    """Largest gap between ticks of a 5 ms timer on the GUI thread."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.times: list[float]  # set by start()
        self._last: float

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.gaps.append(now - self._last)
        self.times.append(now)
        self._last = now

    def start(self) -> None:
        GC_PAUSES.clear()
        self.gaps, self.times = [], []
        self.clock.start()
        self._last = 0.0
        self.timer.start()

    def stop(self) -> tuple[float, float]:
        self.timer.stop()
        if not self.gaps:
            return 0.0, 0.0
        return max(0.0, max(self.gaps) - 5.0), sorted(self.gaps)[int(len(self.gaps) * 0.99) - 1] - 5.0

    def worst(self, n: int = 3) -> str:
        top = sorted(zip(self.gaps, self.times, strict=True), reverse=True)[:n]
        return ", ".join(f"{g - 5:.0f} ms at {t / 1000:.1f} s" for g, t in top)

    @staticmethod
    def gc_note() -> str:
        if not GC_PAUSES:
            return "no garbage collection"
        g, ms = max(GC_PAUSES, key=lambda x: x[1])
        return f"{len(GC_PAUSES)} garbage collections, longest {ms:.1f} ms (generation {g})"


def pump(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    app = QApplication.instance()
    assert app is not None  # main() made it
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.0005)


def wait_until(cond, timeout_s: float = 60.0) -> bool:
    end = time.perf_counter() + timeout_s
    app = QApplication.instance()
    assert app is not None  # main() made it
    while time.perf_counter() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.0002)
    return False


def strokes_on(canvas, label):
    side = 0.6 * min(canvas.width(), canvas.height())
    x0, y0 = (canvas.width() - side) / 2, (canvas.height() - side) / 2
    return [[QPoint(round(x0 + x * side), round(y0 + y * side)) for x, y in s] for s in TEMPLATES[label]]


def release_and_wait(window, canvas, pos) -> tuple[float, Prediction]:
    """Lift the pen; return (ms until the window showed the answer to this drawing, that Prediction)."""
    shown: list[Prediction] = []
    shown_at: dict[int, float] = {}
    loop = QEventLoop()

    def on_shown(p):
        shown_at[p.request_id] = time.perf_counter()
        shown.append(p)
        if p.request_id >= window.recognizer.latest_id:
            loop.quit()

    window.predictionShown.connect(on_shown)
    start = time.perf_counter()
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    target = window.recognizer.latest_id
    # Wait in Qt's own event loop, as the app does: polling from Python here would hold the GIL and slow
    # the worker thread down.
    if not any(p.request_id >= target for p in shown):
        QTimer.singleShot(60_000, loop.quit)
        loop.exec()
    elapsed = (time.perf_counter() - start) * 1000
    window.predictionShown.disconnect(on_shown)
    pred = next(p for p in shown if p.request_id >= target)
    STAGES.append(
        dict(pred.stages, queue=pred.started_at - start, deliver=shown_at[pred.request_id] - pred.finished_at)
    )
    return elapsed, pred


def draw_and_time(window, label: str, live: bool) -> tuple[float, float, str]:
    """Draw a symbol; return (ms from the last pen-up to the shown prediction, worker ms, top-1)."""
    canvas = window.canvas
    canvas.clear()
    pump(5)
    strokes = strokes_on(canvas, label)
    for n, stroke in enumerate(strokes):
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, stroke[0])
        last = stroke[0]
        for p in stroke[1:]:
            for i in range(1, 5):
                QTest.mouseMove(canvas, last + (p - last) * (i / 4))
                if live:
                    pump(10)
            last = p
        if n == len(strokes) - 1:
            elapsed, pred = release_and_wait(window, canvas, stroke[-1])
            return elapsed, pred.seconds * 1000, pred.top[0][0] if pred.top else "(none)"
        if live:
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, stroke[-1])
            pump(60)
        else:  # nothing in flight when the next stroke starts
            release_and_wait(window, canvas, stroke[-1])
            STAGES.pop()
    raise AssertionError("unreachable")


def busy_classify(window, seconds: float) -> int:
    """Post a changed drawing every 20 ms (the worker never idles); returns how many were shown."""
    shown: list[Prediction] = []
    window.predictionShown.connect(shown.append)
    canvas = window.canvas
    end = time.perf_counter() + seconds
    i = 0
    from mathsym_gui.drawing import Stroke

    while time.perf_counter() < end:
        strokes = tuple(
            Stroke(tuple((p.x(), p.y(), 1.0) for p in s), "#000000", 12)
            for s in strokes_on(canvas, LABELS[i % len(LABELS)])
        )
        canvas.set_strokes(strokes)  # one document change: one classification request
        i += 1
        pump(20)
    window.predictionShown.disconnect(shown.append)
    return len(shown)


def summary(values: list[float]) -> str:
    v = sorted(values)
    return (
        f"median {statistics.median(v):.1f} ms, p90 {v[int(0.9 * (len(v) - 1))]:.1f} ms, "
        f"max {v[-1]:.1f} ms (n={len(v)})"
    )


def _vgg19_model(path: Path) -> Path:
    """A 224 px VGG19 classifier saved with its card, as `train vgg19 --weights none` would make it."""
    from trainer.labels import CLASS_NAMES
    from trainer.models.vgg19 import build_vgg19
    from trainer.serving.card import ModelCard
    from trainer.serving.modelio import save_model

    model = build_vgg19(len(CLASS_NAMES), 224, weights=None)
    card = ModelCard(labels=list(CLASS_NAMES), architecture="vgg19", preprocessing="notebook")
    return save_model(model, card, path)


def forward_pass_ms(model) -> float:
    """Median time of one batch-1 forward pass through the model's compiled graph."""
    from default_model import latency  # benchmarks/ is this script's folder

    from trainer.data.strokes import draw_symbol

    return latency(model, model.preprocess(draw_symbol("3"))[None], calls=20)["median_ms"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default.keras"))
    parser.add_argument("--vgg19", action="store_true", help="measure with a 224 px VGG19 model instead")
    parser.add_argument("--runs", type=int, default=2, help="times each of the 19 symbols is drawn per mode")
    parser.add_argument("--no-training", action="store_true", help="skip the stall measurement during training")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="override sys.setswitchinterval (seconds) to study GIL hand-over",
    )
    parser.add_argument("--train-seconds", type=float, default=40.0, help="longest time to watch the training job")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mathsym-bench-"))
    if args.vgg19:
        args.model = str(_vgg19_model(tmp / "vgg19.keras"))
    if not Path(args.model).is_file():
        print(f"No model at {args.model}; pass --model PATH.", file=sys.stderr)
        return 2

    app = cast(QApplication, QApplication.instance() or QApplication([]))  # instance() is the QApplication
    from mathsym_gui import dialogs

    dialogs.show = lambda parent, kind, title, text, detail="": print(f"  (dialog: {title}: {text})") or False
    window = MainWindow(
        AppSettings(tmp / "settings.ini"), models_dir=tmp / "models", model_path=args.model, open_url=lambda url: None
    )
    window.resize(900, 600)
    window.show()
    t0 = time.perf_counter()
    if not wait_until(lambda: window.model is not None and not window.is_loading(), 120):
        print("The model did not load.", file=sys.stderr)
        return 1
    assert window.model is not None  # wait_until saw it loaded
    print(
        f"platform {app.platformName()}, model {window.model.name} "
        f"({window.model.card.architecture}, input {window.model.card.input_size}px, "
        f"{window.model.card.preprocessing}); loaded + warmed up in {time.perf_counter() - t0:.1f} s "
        f"(window shown before loading)"
    )
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (other processes share the CPU)")

    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:.1f} ms")
    import gc

    gc.callbacks.append(_gc_timer)
    monitor = StallMonitor()
    monitor.start()
    pump(3000)
    stall, p99 = monitor.stop()
    print(
        f"[idle] baseline, window idle for 3 s: GUI stall max {stall:.1f} ms, p99 {p99:.1f} ms "
        "(what the contended machine alone causes)"
    )
    results: dict[str, list[float]] = {}
    for mode in ("fast", "live") if args.runs else ():
        draw_and_time(window, "1", mode == "live")  # warm the path
        monitor.start()
        latencies, worker, correct = [], [], 0
        STAGES.clear()
        for _ in range(args.runs):
            for label in LABELS:
                ms, wms, top = draw_and_time(window, label, mode == "live")
                latencies.append(ms)
                worker.append(wms)
                correct += top == label
        stall, p99 = monitor.stop()
        results[mode] = sorted(latencies)
        print(f"[{mode}] pen-up -> prediction shown: {summary(latencies)}")
        print(f"[{mode}]   worker time (rasterise + preprocess + predict): {summary(worker)}")
        print(
            f"[{mode}]   stages, median (queue: pen-up -> worker starts; deliver: worker done -> shown): "
            + ", ".join(
                f"{k} {statistics.median(s[k] for s in STAGES if k in s) * 1000:.1f} ms"
                for k in ("queue", "render", "preprocess", "predict", "deliver")
            )
        )
        slowest = max(range(len(STAGES)), key=lambda i: sum(STAGES[i].values()))
        print(
            f"[{mode}]   slowest ({LABELS[slowest % len(LABELS)]}): "
            + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in STAGES[slowest].items())
        )
        print(
            f"[{mode}]   top-1 correct {correct}/{len(latencies)} template drawings; "
            f"GUI stall while drawing+recognising: max {stall:.1f} ms, p99 {p99:.1f} ms "
            "(includes the benchmark's own synthetic input handling)"
        )

    if args.runs:
        # Also the machine's current speed: the same model, one input, back-to-back calls, window idle.
        forward = forward_pass_ms(window.model)
        print(
            f"[reference] one compiled-graph forward pass (batch 1): median {forward:.1f} ms; "
            "pen-up -> shown / forward pass: "
            + ", ".join(
                f"{m} median {statistics.median(v) / forward:.2f}x, p90 {v[int(0.9 * (len(v) - 1))] / forward:.2f}x"
                for m, v in results.items()
            )
        )

    monitor.start()
    n = busy_classify(window, 3.0)
    stall, p99 = monitor.stop()
    print(
        f"[inference] worker busy for 3 s ({n} predictions shown; a pass still running is stopped by each newer "
        f"drawing, so a model slower than 20 ms shows none): GUI stall max {stall:.1f} ms, p99 {p99:.1f} ms"
        f"; {monitor.gc_note()}"
    )

    if not args.no_training:
        from mathsym_gui.train_dialog import FolderField
        from trainer.data.strokes import make_dataset

        data = make_dataset(tmp / "data", per_class=12, size=96)
        dialog = window.open_job("default")
        dialog.field("data", FolderField).setText(str(data))
        dialog.field("epochs", QSpinBox).setValue(3)
        dialog.field("image_size", QSpinBox).setValue(224)
        finished = []
        dialog.jobFinished.connect(lambda spec, result: finished.append(result))
        monitor.start()
        start = time.perf_counter()
        dialog.start()
        predictions = 0
        while not finished and time.perf_counter() - start < args.train_seconds:
            predictions += busy_classify(window, 1.0)
        stall, p99 = monitor.stop()
        print(f"[training]   worst stalls: {monitor.worst()} (job started at 0 s)")
        state = "finished" if finished and finished[0].ok else "failed" if finished else "still running (cancelled)"
        if not finished:
            dialog.runner.cancel_and_wait()
        elif not finished[0].ok:
            print(finished[0].log[-2000:])
        print(
            f"[training] job {state} after {time.perf_counter() - start:.0f} s, {len(dialog.plot.epochs)} epochs "
            f"plotted, {predictions} predictions shown meanwhile: GUI stall max {stall:.1f} ms, p99 {p99:.1f} ms; "
            f"{monitor.gc_note()}"
        )
    window.close()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter finalisation: PySide6 may crash tearing down at exit (a known 6.x issue)
