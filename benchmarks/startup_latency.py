"""Start-up and recognition latency of the pad and `predict`: ONNX Runtime (the model's twin) against the
TensorFlow path (the same model without its twin), side by side in the same run.

Usage:  python benchmarks/startup_latency.py [--model models/default.keras] [--rounds 3] [--runs 1]

What is measured (each path in fresh processes, so neither pays for the other's imports):

* launch: ``mathsym --smoke-test IMAGE --model M`` (offscreen unless a display is set), the clock starting
  right before the process is spawned. "window visible": the main window's first paint; "model ready": the
  model loaded and warmed up (``modelChanged``); "first answer": the answer to IMAGE shown
  (``predictionShown``); "RSS": the pad's resident memory then (VmRSS; VmHWM is the peak).
* pen-up -> shown: benchmarks/gui_latency.py's "fast" mode in one window per path: every template symbol is
  drawn with mouse events, the clock runs from the last mouse release to the shown prediction; with the
  worker's stage times (render, preprocess, predict) and one batch-1 forward pass for reference.
* predict: wall time of ``python -m trainer.cli predict IMAGE --model M``.
* The two paths take turns in ``--rounds`` rounds (each: one launch, one predict, one drawing window per path),
  so both meet the same machine load; medians over the rounds (pen-up: over all drawings) are reported.
* preprocessing: ``to_model_input(render(drawing), "ink")`` for pad drawings (200 jittered template symbols
  rendered as the pad renders them), best of 3 calls each, median over drawings.

The TensorFlow path uses a copy of the model whose card says it has no twin. It shares every speed-up of
the pad made since (preprocessing, rendering, the panel), so the pen-up window is also measured for the
pad as it was when the issue was filed ("as filed": commit AS_FILED, its own default model, TensorFlow),
from ``git archive`` of that commit, in the same rounds; both ratios are printed. Results go to
benchmarks/results/startup_latency.json (relative paths only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
RESULTS = HERE / "results" / "startup_latency.json"
#: The last commit before issue 11 ("ready in a second") was filed: its pad ran the model with TensorFlow.
AS_FILED = "ea37fc7"
TARGETS = {
    "window_visible_s": 1.0,
    "first_answer_s": 1.5,
    "pen_up_median_ms": 5.0,
    "predict_wall_s": 1.5,
    "rss_mb": 350.0,
    "preprocess_ms": 1.5,
}


def _env(home: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MATHSYM_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    rss, hwm = (int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
    return rss, hwm


# -- children ---------------------------------------------------------------------------------------------


def child_launch(model: str, image: str, home: str) -> None:
    """Run the pad's own entry point with --smoke-test; print the monotonic time of each milestone."""
    stamps: dict = {}
    from PySide6.QtCore import QEvent, QObject

    from mathsym_gui import app
    from mathsym_gui.main_window import MainWindow

    class FirstPaint(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                stamps.setdefault("visible", time.monotonic())
            return False

    real_show = MainWindow.show

    def show(window) -> None:
        window.installEventFilter(paint_filter)
        window.modelChanged.connect(lambda _path: stamps.setdefault("ready", time.monotonic()))
        window.predictionShown.connect(lambda _p: stamps.setdefault("answer", time.monotonic()))
        real_show(window)

    paint_filter = FirstPaint()
    MainWindow.show = show  # type: ignore[method-assign]
    code = app.main(
        [
            image,
            "--smoke-test",
            "--model",
            model,
            "--settings",
            str(Path(home) / "settings.ini"),
            "--models-dir",
            str(Path(home) / "models"),
        ]
    )
    stamps["rss_mb"], stamps["peak_rss_mb"] = _rss_mb()
    stamps["tensorflow_imported"] = "tensorflow" in sys.modules
    stamps["exit_code"] = code
    print("RESULT " + json.dumps(stamps), flush=True)
    os._exit(0)


def child_latency(model: str, home: str, runs: int, tree: str = "") -> None:
    """gui_latency.py's fast mode in one window; prints the pen-up -> shown times and stage times.

    With ``tree`` (an extracted older commit) the pad, its gui_latency helpers and its model are that
    commit's: its paths go first on sys.path before anything of the pad is imported.
    """
    sys.path[:0] = [str(Path(tree) / "benchmarks"), tree] if tree else [str(HERE)]
    import gui_latency as g
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from mathsym_gui import dialogs
    from mathsym_gui.main_window import MainWindow
    from mathsym_gui.settings import AppSettings

    _app = QApplication.instance() or QApplication([])
    dialogs.show = lambda *a, **k: False
    window = MainWindow(
        AppSettings(Path(home) / "settings.ini"),
        models_dir=Path(home) / "models",
        model_path=model,
        open_url=lambda url: None,
    )
    window.resize(900, 600)
    window.show()
    loading = getattr(window, "is_loading", lambda: window._pending is not None)  # as filed: no is_loading
    if not g.wait_until(lambda: window.model is not None and not loading(), 300):
        raise SystemExit("the model did not load")
    loaded = window.model
    assert loaded is not None
    g.draw_and_time(window, "1", False)  # warm the path
    g.STAGES.clear()
    latencies = [g.draw_and_time(window, label, False)[0] for _ in range(runs) for label in g.LABELS]
    stages = {
        k: statistics.median(s[k] for s in g.STAGES if k in s) * 1000
        for k in ("queue", "render", "preprocess", "predict", "deliver")
    }
    forward_pass_ms = g.forward_pass_ms if hasattr(g, "forward_pass_ms") else g.__dict__["_forward_pass_ms"]
    result = {
        "backend": getattr(loaded, "backend", "tensorflow"),  # as filed, every model ran with TensorFlow
        "pen_up_ms": latencies,
        "stages_median_ms": stages,
        "forward_pass_ms": forward_pass_ms(loaded),
        "platform": QGuiApplication.platformName(),
    }
    window.close()
    print("RESULT " + json.dumps(result), flush=True)
    os._exit(0)


def _child(args: list[str], home: Path, timeout: float = 600) -> tuple[float, dict]:
    """Run this script as a child; return (wall seconds from spawn, monotonic spawn time) and its result."""
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env=_env(home),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["_spawned"] = start
    return time.monotonic() - start, result


# -- measurements -------------------------------------------------------------------------------------------


def launch_once(model: Path, image: Path, home: Path) -> dict:
    _, r = _child(["--child-launch", str(model), str(image), str(home)], home)
    t0 = r["_spawned"]
    return {
        "window_visible_s": r["visible"] - t0,
        "model_ready_s": r["ready"] - t0,
        "first_answer_s": r["answer"] - t0,
        "rss_mb": r["rss_mb"],
        "peak_rss_mb": r["peak_rss_mb"],
        "tensorflow_imported": r["tensorflow_imported"],
    }


def predict_once(model: Path, image: Path, home: Path) -> float:
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "trainer.cli", "predict", str(image), "--model", str(model), "--progress", "none"],
        capture_output=True,
        text=True,
        env=_env(home),
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return time.monotonic() - start


def latency_once(model: Path, home: Path, runs: int, tree: Path | None = None) -> dict:
    return _child(["--child-latency", str(model), str(home), str(runs), str(tree or "")], home)[1]


def filed_tree(folder: Path) -> Path | None:
    """The pad as it was when the issue was filed (commit AS_FILED), extracted into ``folder``; None (with
    the reason printed) outside a git checkout that has the commit."""
    import io
    import tarfile

    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", AS_FILED], capture_output=True, check=True, timeout=120
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"no 'as filed' column: commit {AS_FILED} is not available here ({exc})")
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _pen_up(windows: list[dict]) -> dict:
    """Pen-up -> shown over a path's drawing windows: medians (stages: median of the windows' medians)."""
    pen = sorted(ms for w in windows for ms in w["pen_up_ms"])
    stages = {k: statistics.median(w["stages_median_ms"][k] for w in windows) for k in windows[0]["stages_median_ms"]}
    return {
        "pen_up_median_ms": statistics.median(pen),
        "pen_up_p90_ms": pen[int(0.9 * (len(pen) - 1))],
        "pen_up_max_ms": pen[-1],
        "drawings": len(pen),
        "stages_median_ms": stages,
        "forward_pass_ms": statistics.median(w["forward_pass_ms"] for w in windows),
        "backend": windows[0]["backend"],
        "pen_up_median_per_window_ms": [statistics.median(w["pen_up_ms"]) for w in windows],
    }


def summarise(launches: list[dict], walls: list[float], windows: list[dict]) -> dict:
    """One path's medians over its rounds (the raw values are kept too)."""
    out = {k: statistics.median(run[k] for run in launches) for k in launches[0] if k != "tensorflow_imported"}
    return {
        **out,
        "tensorflow_imported": any(run["tensorflow_imported"] for run in launches),
        "predict_wall_s": statistics.median(walls),
        **_pen_up(windows),
        "launches": launches,
        "predict_walls_s": walls,
    }


def measure_preprocessing(count: int = 200) -> dict:
    """Median over pad-rendered drawings of the best of 3 ``to_model_input`` calls."""
    import numpy as np
    from PySide6.QtGui import QGuiApplication

    from mathsym_gui.drawing import Drawing, Stroke, render
    from trainer.data.preprocess import to_model_input
    from trainer.data.strokes import TEMPLATES, jittered

    _app = QGuiApplication.instance() or QGuiApplication([])
    rng = np.random.default_rng(0)
    names = list(TEMPLATES)
    times = []
    for i in range(count):
        side = rng.uniform(150, 450)
        x0, y0 = rng.uniform(20, 150, 2)
        strokes = tuple(
            Stroke(tuple((x0 + x * side, y0 + y * side, 1.0) for x, y in s), "#000000", float(rng.uniform(4, 20)))
            for s in jittered(TEMPLATES[names[i % len(names)]], rng)
        )
        raster = render(Drawing(640, 600, strokes))
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            to_model_input(raster, "ink")
            best = min(best, time.perf_counter() - start)
        times.append(best * 1000)
    times.sort()
    return {
        "preprocess_ms": statistics.median(times),
        "preprocess_p90_ms": times[int(0.9 * (len(times) - 1))],
        "drawings": count,
    }


def measure_threads(twin: Path, calls: int = 300) -> dict:
    """Batch-1 forward pass of the twin with 1 and 2 intra-op threads (median ms, interleaved rounds)."""

    from trainer.data.preprocess import to_model_input
    from trainer.data.strokes import draw_symbol
    from trainer.serving.onnx import Session

    sessions = {threads: Session(twin, threads=threads) for threads in (1, 2)}
    size = sessions[1].input_shape[1]
    x = to_model_input(draw_symbol("3"), "ink", size)[None]
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(calls // 50):
        for threads, session in sessions.items():
            session.run(x)
            for _ in range(50):
                start = time.perf_counter()
                session.run(x)
                times[threads].append((time.perf_counter() - start) * 1000)
    return {f"forward_{t}_thread_ms": statistics.median(v) for t, v in times.items()}


def tensorflow_copy(model: Path, folder: Path) -> Path:
    """The model without its twin, its card saying so: load_model runs it with Keras."""
    target = folder / model.name
    shutil.copy(model, target)
    card = json.loads(model.with_suffix("").with_suffix(".card.json").read_text())
    files = card.get("files")
    if files:
        files["onnx"] = None
        files["onnx_missing"] = "benchmark: the TensorFlow path"
    target.with_suffix("").with_suffix(".card.json").write_text(json.dumps(card))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default.keras"))
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds; each starts the pad, runs predict and opens a drawing window per path",
    )
    parser.add_argument("--runs", type=int, default=1, help="times each of the 19 symbols is drawn per window")
    args = parser.parse_args()
    model = Path(args.model).resolve()
    if not model.with_suffix(".onnx").is_file():
        print(f"{model} has no ONNX twin; create it with `mathsym-train onnx {model}`.", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="mathsym-startup-"))
    (tmp / "tf").mkdir()
    paths = {"onnx": model, "tensorflow": tensorflow_copy(model, tmp / "tf")}
    import cv2
    import numpy as np

    from trainer.data.strokes import draw_symbol

    image = tmp / "seven.png"
    cv2.imwrite(str(image), draw_symbol("7", np.random.default_rng(2), size=128))
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start (other processes share the CPU)")
    tree = filed_tree(tmp / "as-filed")
    raw: dict = {name: ([], [], []) for name in paths}
    filed: list[dict] = []
    for round_ in range(args.rounds):  # the paths take turns, so all see the same machine load
        for name, path in paths.items():
            home = tmp / f"home-{name}"
            launches, walls, windows = raw[name]
            launches.append(launch_once(path, image, home))
            walls.append(predict_once(path, image, home))
            windows.append(latency_once(path, home, args.runs))
        if tree is not None:
            filed.append(latency_once(tree / "models" / "default.keras", tmp / "home-filed", args.runs, tree))
        print(f"  round {round_ + 1}/{args.rounds} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    results = {name: summarise(*raw[name]) for name in paths}
    as_filed = _pen_up(filed) if filed else None
    shared = {**measure_preprocessing(), **measure_threads(model.with_suffix(".onnx"))}
    rows = [
        ("window visible after launch", "window_visible_s", "s"),
        ("model ready after launch", "model_ready_s", "s"),
        ("first answer after launch", "first_answer_s", "s"),
        ("pad RSS after the first answer", "rss_mb", "MB"),
        ("pen-up -> shown, median", "pen_up_median_ms", "ms"),
        ("pen-up -> shown, p90", "pen_up_p90_ms", "ms"),
        ("  pen-up -> worker starts", "stage:queue", "ms"),
        ("  worker: render, median", "stage:render", "ms"),
        ("  worker: preprocess, median", "stage:preprocess", "ms"),
        ("  worker: predict, median", "stage:predict", "ms"),
        ("  worker done -> shown", "stage:deliver", "ms"),
        ("one forward pass, batch 1", "forward_pass_ms", "ms"),
        ("`predict` one image, wall", "predict_wall_s", "s"),
    ]
    columns = [results["onnx"], results["tensorflow"], as_filed or {}]
    print(f"\n{'':34s}{'ONNX Runtime':>14s}{'TensorFlow':>14s}{'TF as filed':>14s}{'target (ONNX)':>16s}")
    for title, key, unit in rows:
        values = [r["stages_median_ms"].get(key[6:]) if key.startswith("stage:") else r.get(key) for r in columns]
        target = f"<= {TARGETS[key]:g} {unit}" if key in TARGETS else ""
        cells = "".join(f"{v:10.2f} {unit:<3s}" if v is not None else f"{'-':>10s}    " for v in values)
        print(f"{title:34s}{cells}{target:>16s}")
    ratio = results["onnx"]["pen_up_median_ms"] / results["tensorflow"]["pen_up_median_ms"]
    print(f"pen-up -> shown, median, ONNX / TensorFlow today: {ratio:.2f}")
    ratio_filed = results["onnx"]["pen_up_median_ms"] / as_filed["pen_up_median_ms"] if as_filed else None
    if ratio_filed is not None:
        print(f"pen-up -> shown, median, ONNX / TensorFlow as filed ({AS_FILED}): {ratio_filed:.2f} (target <= 0.5)")
    print(
        f"preprocessing a pad drawing (to_model_input, 'ink'): median {shared['preprocess_ms']:.2f} ms, "
        f"p90 {shared['preprocess_p90_ms']:.2f} ms (target <= 1.5 ms)"
    )
    print(
        f"ONNX Runtime batch-1 pass with 1 / 2 intra-op threads: {shared['forward_1_thread_ms']:.2f} / "
        f"{shared['forward_2_thread_ms']:.2f} ms (median)"
    )
    print(
        f"TensorFlow imported by the pad: ONNX path {results['onnx']['tensorflow_imported']}, "
        f"TensorFlow path {results['tensorflow']['tensorflow_imported']}"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    record = {
        "model": os.path.relpath(model, ROOT),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "rounds": args.rounds,
        "drawings_per_path": 19 * args.runs * args.rounds,
        "targets": TARGETS,
        "pen_up_ratio_onnx_over_tensorflow": ratio,
        "pen_up_ratio_onnx_over_tensorflow_as_filed": ratio_filed,
        "as_filed": {"commit": AS_FILED, **as_filed} if as_filed else None,
        "preprocessing": shared,
        **results,
    }
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {os.path.relpath(RESULTS, ROOT)}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-launch":
        child_launch(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-latency":
        child_latency(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    sys.stdout.flush()
    os._exit(main())
