"""Peak memory of predicting a folder of huge (8000 x 8000) images through the real command line.

Generates the images in a temporary folder (a drawn symbol on paper, as PNG and as JPEG), runs
``python -m trainer predict DIR --model models/default.keras`` in a child process and reads the child's peak
resident set size from ``wait4``. A folder of small images gives the floor (Python, TensorFlow and the model).
Target (issue 10): the huge folder stays under 600 MB. Writes benchmarks/results/huge_images.json.

    python benchmarks/huge_images.py [--count 4] [--side 8000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "huge_images.json"
MODEL = Path("models") / "default.keras"
TARGET_MB = 600


def drawn_symbol(side: int, seed: int) -> np.ndarray:
    """A "+" in dark blue ink on slightly warm paper, strokes about 2 % of the side thick."""
    rng = np.random.default_rng(seed)
    image = np.full((side, side, 3), (250, 246, 238), np.uint8)
    c = side // 2 + int(rng.integers(-side // 20, side // 20))
    arm, width = side // 4, max(2, side // 50)
    ink = (40, 30, 140)
    cv2.line(image, (c - arm, c), (c + arm, c), ink, width)
    cv2.line(image, (c, c - arm), (c, c + arm), ink, width)
    return image


def write_images(folder: Path, count: int, side: int) -> list[Path]:
    """``count`` images, alternately PNG (fast compression) and JPEG."""
    paths = []
    for i in range(count):
        bgr = cv2.cvtColor(drawn_symbol(side, i), cv2.COLOR_RGB2BGR)
        if i % 2:
            path = folder / f"huge_{i}.jpg"
            cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        else:
            path = folder / f"huge_{i}.png"
            cv2.imwrite(str(path), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        paths.append(path)
    return paths


def _run(argv: list[str]) -> dict:
    """Run ``argv`` in the repository; its exit code, wall time and output."""
    started = time.perf_counter()
    child = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    return {
        "exit_code": child.returncode,
        "seconds": round(seconds, 1),
        "stdout": out.decode(errors="replace"),
        "stderr": err.decode(errors="replace"),
    }


def measure(folder: Path) -> dict:
    """Peak RSS (MB) of one ``predict`` run over ``folder``, measured by a wrapper that waits on the child."""
    wrapper = (
        "import os, sys, subprocess\n"
        "p = subprocess.Popen(sys.argv[1:])\n"
        "_, status, usage = os.wait4(p.pid, 0)\n"
        "print(usage.ru_maxrss, os.waitstatus_to_exitcode(status), file=sys.stderr)\n"
    )
    run = _run(
        [
            sys.executable,
            "-c",
            wrapper,
            sys.executable,
            "-m",
            "trainer",
            "--progress",
            "none",
            "predict",
            str(folder),
            "--model",
            str(MODEL),
        ]
    )
    last = run["stderr"].strip().splitlines()[-1].split()
    kb, code = int(last[0]), int(last[1])
    scale = 1 if platform.system() == "Linux" else 1 / 1024  # ru_maxrss: KiB on Linux, bytes on macOS
    record = {
        "peak_rss_mb": round(kb * scale / 1024, 1),
        "exit_code": code,
        "seconds": run["seconds"],
        "predictions": [line.split("/")[-1] for line in run["stdout"].splitlines()],
    }
    if code != 0:
        record["stderr_tail"] = run["stderr"].strip().splitlines()[-3:-1]
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4, help="huge images in the folder (default 4)")
    parser.add_argument("--side", type=int, default=8000, help="their side in pixels (default 8000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mathsym-huge-") as tmp:
        small, huge = Path(tmp) / "small", Path(tmp) / "huge"
        small.mkdir()
        huge.mkdir()
        write_images(small, args.count, 300)
        write_images(huge, args.count, args.side)
        floor = measure(small)
        result = measure(huge)
    record = {
        "what": f"peak RSS of `python -m trainer predict DIR --model {MODEL}` over {args.count} images "
        f"({args.side}x{args.side}, PNG and JPEG) vs the same count at 300x300",
        "images": args.count,
        "side": args.side,
        "target_mb": TARGET_MB,
        "small_images": floor,
        "huge_images": result,
        "under_target": result["peak_rss_mb"] < TARGET_MB and result["exit_code"] == 0,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "measured": time.strftime("%Y-%m-%d"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0 if record["under_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
