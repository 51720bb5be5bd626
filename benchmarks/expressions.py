"""Reading whole lines: accuracy on generated handwritten lines, read latency, pad pen-up -> reading shown.

Usage:  python benchmarks/expressions.py [--data DIR] [--model PATH] [--seed 4242] [--lines 300] [--no-pad]

* Lines: ``trainer.data.expressions.random_line`` (arithmetic, equations in one letter, relations of two),
  drawn two ways with the same seed: (a) composed from real images of the notebook split's TEST part only
  (no training image leaks in), with realistic relative sizes, random spacing, baseline jitter, slope and
  sometimes coloured ink, tinted or dark paper; read with ``read_image``; (b) written as pad strokes from the
  stroke templates (4 px pen, 60 px line); read with ``read_strokes``; (c) the same lines as strokes at other
  sizes, pens and spacings (``PENS``: the pad's default 12 px pen on 90 and 60 px lines, a 4 px pen on 150 px
  lines; and written close together, 0.05-0.2 line heights between symbols instead of 0.18-0.55, with the 4 px
  and 12 px pens, and crowded, 0-0.1, with the 4 px pen), (d) composed of test images written close
  together and crowded, (e) "pasted": the raw test images side by side, each scaled to one height
  (``pasted_line``), so every symbol keeps its own image's framing, paper and scan edges, and (f)
  "photographed": composed as (a), then photographed (``robustness.shadowed``: tinted paper, a lighting
  gradient, noise, blur, JPEG) with a soft shadow across part of the line, and (g) "ruled": composed as (a),
  written on lined paper (grey rulings 60 px apart, one just under the symbols, sloping 2 %: a photo taken a
  little askew), and (h) "squared": composed as (a), on squared paper (grey 170-215 rulings both ways, 0.45-0.7
  line heights apart, turned up to 2 %); each from its own random stream, so (a) and (b) do not change.
* Exact match: the reading's ``text`` equals the line's. Symbol accuracy: 1 - (edit distance between read and
  true text, summed) / (true symbols, summed), so a split or merged symbol counts as an error.
* Read latency: ``read_image`` / ``read_strokes`` of 10-symbol lines after the model is loaded and warm
  (segment + preprocess every crop + one batched forward pass + decode + maths), median and p90 of 60.
* Pad: the real MainWindow offscreen, a 10-symbol line written stroke by stroke with QTest mouse events,
  each stroke's answer awaited before the next; the clock runs from the last mouse release to the window's
  ``predictionShown`` for that drawing (the reading panel and the pad's boxes are updated by then).

The reader was developed on seeds 1, 3, 5 and 7; the reported run uses seed 4242 (the default), not looked at
before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")  # the offscreen platform's size-hint notes
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from trainer.data.expressions import (  # noqa: E402
    CLOSE_SPACING,
    CROWDED_SPACING,
    SPACING,
    image_line,
    pasted_line,
    random_line,
    stroke_line,
    test_images,
)
from trainer.evaluation.robustness import ruled, shadowed, squared_line  # noqa: E402
from trainer.serving.reader import read_image, read_strokes  # noqa: E402
from trainer.serving.reader.decode import TOKENS  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "handwritten-math-symbols"
RESULTS = ROOT / "benchmarks" / "results" / "expressions.json"


#: The same lines written again as strokes at other sizes, pens and spacings, each from its own random stream
#: (so the images and the 4 px strokes stay as they were): kind -> (line height, pen width in pixels, spacing).
PENS = {
    "strokes_broad_pen": (90.0, 12.0, SPACING),  # the pad's default pen: an ``=``'s bars, a ``÷``'s dots nearly touch
    "strokes_small_broad_pen": (60.0, 12.0, SPACING),  # the default pen on small writing: everything runs together
    "strokes_large_fine_pen": (150.0, 4.0, SPACING),  # big writing, fine pen: a ``y``'s strokes may miss each other
    "strokes_close": (60.0, 4.0, CLOSE_SPACING),  # symbols written close together
    "strokes_close_broad_pen": (90.0, 12.0, CLOSE_SPACING),  # close, with the default pen: neighbours' ink touches
    "strokes_close_small_broad_pen": (60.0, 12.0, CLOSE_SPACING),
    "strokes_crowded": (60.0, 4.0, CROWDED_SPACING),  # no gap at all between some neighbours: their strokes meet
}


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def text_of(labels: list[str]) -> str:
    return "".join(TOKENS[name] for name in labels)


def accuracy(model, pool, seed: int, lines: int) -> dict:
    rng = np.random.default_rng(seed)
    images = {"images_close": CLOSE_SPACING, "images_crowded": CROWDED_SPACING}  # composed like "images"
    extra = ("images_pasted", "images_photographed", "images_ruled", "images_squared")
    streams = {kind: np.random.default_rng([seed, i + 1]) for i, kind in enumerate((*PENS, *images, *extra))}
    kinds = ("images", "strokes", *PENS, *images, *extra)
    out = {kind: new_tally() for kind in kinds}
    for _ in range(lines):
        labels = random_line(rng)
        truth = text_of(labels)
        image, _ = image_line(labels, pool, rng)
        strokes, widths, _ = stroke_line(labels, rng)
        readings = {"images": read_image(model, image), "strokes": read_strokes(model, strokes, widths)}
        for kind, (height, pen, spacing) in PENS.items():
            other, other_widths, _ = stroke_line(labels, streams[kind], height=height, pen=pen, spacing=spacing)
            readings[kind] = read_strokes(model, other, other_widths)
        for kind, spacing in images.items():
            readings[kind] = read_image(model, image_line(labels, pool, streams[kind], spacing=spacing)[0])
        readings["images_pasted"] = read_image(model, pasted_line(labels, pool, streams["images_pasted"]))
        stream = streams["images_photographed"]
        readings["images_photographed"] = read_image(model, shadowed(image_line(labels, pool, stream)[0], stream))
        image, placed = image_line(labels, pool, streams["images_ruled"])
        bottom = int(max(p.box[1] + p.box[3] for p in placed)) + 6  # rulings 60 px apart, one just under the line
        readings["images_ruled"] = read_image(model, ruled(image, range(bottom % 60, len(image), 60), slope=0.02))
        stream = streams["images_squared"]
        image, placed = image_line(labels, pool, stream)
        readings["images_squared"] = read_image(model, squared_line(image, max(p.box[3] for p in placed), stream))
        for kind, reading in readings.items():
            tally(out[kind], truth, reading.text)
    for r in out.values():
        rates(r)
    return out


def new_tally() -> dict:
    """An empty count of lines read (also used by outside_writers.py)."""
    return {"lines": 0, "exact": 0, "symbols": 0, "symbol_errors": 0, "misses": []}


def tally(row: dict, truth: str, read: str) -> None:
    """Count one line whose reading is ``read`` against ``truth``."""
    row["lines"] += 1
    row["symbols"] += len(truth)
    row["symbol_errors"] += edit_distance(truth, read)
    if read == truth:
        row["exact"] += 1
    else:
        row["misses"].append({"truth": truth, "read": read})


def rates(row: dict) -> None:
    """Add the exact-match and symbol-accuracy rates to a finished count."""
    row["exact_match"] = row["exact"] / row["lines"]
    row["symbol_accuracy"] = 1 - row["symbol_errors"] / row["symbols"]


def ten_symbol_lines(rng, n: int) -> list[list[str]]:
    found: list[list[str]] = []
    while len(found) < n:
        labels = random_line(rng)
        if len(labels) == 10:
            found.append(labels)
    return found


def stats(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 2),
        "n": len(ms),
    }


def read_latency(model, pool, seed: int, n: int = 60) -> dict:
    rng = np.random.default_rng(seed + 1)
    lines = ten_symbol_lines(rng, n)
    images = [image_line(labels, pool, rng)[0] for labels in lines]
    strokes = [stroke_line(labels, rng)[:2] for labels in lines]
    for i in range(3):  # warm: trace the batch shapes once, as the pad's first lines do
        read_image(model, images[i])
        read_strokes(model, *strokes[i])
    out = {}
    for kind, call in (
        ("read_image", lambda i: read_image(model, images[i])),
        ("read_strokes", lambda i: read_strokes(model, *strokes[i])),
    ):
        ms = []
        for i in range(n):
            start = time.perf_counter()
            call(i)
            ms.append((time.perf_counter() - start) * 1000)
        out[kind] = stats(ms)
    x = model.preprocess(images[0][:, :80])
    batch = np.repeat(x[None], 10, axis=0)
    model.predict_inputs(batch)
    forward = []
    for _ in range(30):
        start = time.perf_counter()
        model.predict_inputs(batch)
        forward.append((time.perf_counter() - start) * 1000)
    out["forward_batch10"] = stats(forward)
    return out


def pad_latency(model_path: Path, seed: int, n: int = 15) -> dict:
    import tempfile

    from gui_latency import release_and_wait  # benchmarks/ is this script's folder
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from mathsym_gui.main_window import MainWindow
    from mathsym_gui.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    window = MainWindow(AppSettings(tmp / "settings.ini"), models_dir=tmp / "models", model_path=model_path)
    window.resize(1100, 650)
    window.show()
    window.width_spin.setValue(4)
    while window.model is None:
        app.processEvents()
        time.sleep(0.01)
    canvas = window.canvas

    rng = np.random.default_rng(seed + 2)
    lines = ten_symbol_lines(rng, n + 2)
    ms, worker, correct = [], [], 0
    for k, labels in enumerate(lines):
        canvas.clear()
        app.processEvents()
        strokes, _, _ = stroke_line(labels, rng, height=50.0)
        for stroke in strokes:
            points = [QPoint(round(x) + 10, round(y) + 30) for x, y in stroke]
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
            for p in points[1:]:
                QTest.mouseMove(canvas, p)
            elapsed, prediction = release_and_wait(window, canvas, points[-1])
        if k >= 2:  # the first two lines warm the batch shapes up
            ms.append(elapsed)
            worker.append(prediction.seconds * 1000)
            correct += prediction.reading is not None and prediction.reading.text == text_of(labels)
    window.close()
    return {"pen_up_to_reading": stats(ms), "worker": stats(worker), "read_correctly": f"{correct}/{n}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default.keras")
    parser.add_argument("--seed", type=int, default=4242, help="4242 is reported (developed on 1, 3, 5, 7)")
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--no-pad", action="store_true", help="skip the pad's pen-up latency")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()

    from trainer.serving.modelio import load_model

    model = load_model(args.model)
    pool = test_images(args.data)
    started = time.time()
    acc = accuracy(model, pool, args.seed, args.lines)
    for kind, r in acc.items():
        print(
            f"{kind:29s} exact match {r['exact']}/{r['lines']} = {r['exact_match'] * 100:.1f} %   "
            f"symbol accuracy {r['symbol_accuracy'] * 100:.2f} % ({r['symbol_errors']} errors in "
            f"{r['symbols']} symbols)"
        )
        for miss in r["misses"]:
            print(f"{'':31s}missed: {miss['truth']:20s} read {miss['read']}")
    latency = read_latency(model, pool, args.seed)
    for kind in ("read_image", "read_strokes", "forward_batch10"):
        print(
            f"{kind:16s} 10 symbols: median {latency[kind]['median_ms']:.1f} ms, p90 {latency[kind]['p90_ms']:.1f} ms"
        )
    pad = None
    if not args.no_pad:
        pad = pad_latency(args.model, args.seed)
        print(
            f"pad pen-up -> reading shown, 10 symbols: median {pad['pen_up_to_reading']['median_ms']:.1f} ms, "
            f"p90 {pad['pen_up_to_reading']['p90_ms']:.1f} ms (worker median {pad['worker']['median_ms']:.1f} "
            f"ms; read correctly {pad['read_correctly']})"
        )
    result = {
        "model": os.path.relpath(args.model, ROOT),
        "data": os.path.relpath(args.data, ROOT),
        "seed": args.seed,
        "lines": args.lines,
        "accuracy": acc,
        "read_latency": latency,
        "pad": pad,
        "load_average": os.getloadavg()[0],
        "seconds": round(time.time() - started, 1),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"written {os.path.relpath(args.output, ROOT)}")


if __name__ == "__main__":
    main()
