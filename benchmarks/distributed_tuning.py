"""How much a second worker speeds up a distributed Hyperband search on this machine.

Runs the same small search twice through the CLI on 127.0.0.1: a chief with one worker, then a chief with two.
The search time is taken from the search's own ledger (first trial start to last trial end), so process
start-up and the chief's retraining of the best model are not counted; start-up to "search over" is printed
too. The workers split the machine's cores (TensorFlow threads = cores / workers). Data: symbols drawn from
the stroke templates (``--per-class`` of each class) in a temporary folder.

    python benchmarks/distributed_tuning.py --max-epochs 3 --image-size 67 --per-class 12

Writes ``benchmarks/results/distributed_tuning.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = Path("benchmarks") / "results" / "distributed_tuning.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_search(data: Path, folder: Path, workers: int, args) -> dict:
    """One search with ``workers`` workers; the chief is stopped once the workers are done (search over)."""
    from trainer.training.tuning import LEDGER, PROJECT

    port = _free_port()
    address = f"127.0.0.1:{port}"
    tune = [
        sys.executable,
        "-m",
        "trainer",
        "--progress",
        "none",
        "tune",
        "--data",
        str(data),
        "--image-size",
        str(args.image_size),
        "--max-epochs",
        str(args.max_epochs),
        "--factor",
        "3",
        "--directory",
        str(folder / "search"),
        "--subset",
        str(args.subset),
    ]
    # The workers share this machine's cores: each gets its share of TensorFlow's threads.
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "MATHSYM_HOME": str(folder / "home"),
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
    }
    started = time.monotonic()
    log = open(folder / "log.txt", "ab")
    chief = subprocess.Popen(
        [*tune, "--chief", address, "--output", str(folder / "best.keras")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    team = [
        subprocess.Popen(
            [*tune, "--worker", address, "--tuner-id", f"w{i + 1}"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        for i in range(workers)
    ]
    codes = [w.wait() for w in team]
    over = time.monotonic() - started
    chief.kill()  # retraining the best model is the same work either way
    chief.wait()
    log.close()
    events = [json.loads(line) for line in (folder / "search" / PROJECT / LEDGER).read_text().splitlines()]
    ends = [e for e in events if e["event"] == "end"]
    span = max(e["time"] for e in ends) - min(e["time"] for e in events if e["event"] == "start")
    return {
        "workers": workers,
        "worker_exit_codes": codes,
        "trials": len(ends),
        "trials_per_worker": {t: sum(e["tuner"] == t for e in ends) for t in sorted({e["tuner"] for e in ends})},
        "search_seconds": round(span, 1),
        "start_to_search_over_seconds": round(over, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=67)
    parser.add_argument("--per-class", type=int, default=12)
    parser.add_argument("--subset", type=int, default=8)
    args = parser.parse_args()
    from trainer.data.strokes import make_dataset

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data = make_dataset(tmp / "data", per_class=args.per_class, size=64, seed=7)
        runs = []
        for workers in (1, 2):
            folder = tmp / f"workers-{workers}"
            folder.mkdir()
            runs.append(run_search(data, folder, workers, args))
            print(json.dumps(runs[-1]), flush=True)
    speedup = runs[0]["search_seconds"] / runs[1]["search_seconds"]
    result = {
        "benchmark": "distributed_tuning",
        "settings": vars(args),
        "runs": runs,
        "speedup_two_workers": round(speedup, 2),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"two workers: {speedup:.2f}x the speed of one ({runs[0]['search_seconds']} s -> "
        f"{runs[1]['search_seconds']} s); written to {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
