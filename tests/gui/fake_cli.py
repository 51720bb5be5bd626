"""A stand-in for ``python -m trainer.cli`` speaking the same JSON-lines protocol (trainer.events), for GUI job tests.

Behaviour is chosen by $FAKE_CLI_MODE: "ok" (default), "error" (error event, exit 2), "crash" (exit 3 with a
traceback, no event), "slow" (runs until SIGTERM, then exits 130 without writing anything), "stages" (a
training job's real sequence of stages: reading images, batches of epochs, testing; with $FAKE_CLI_STEPS=1
each event also says which stage of how many it is).
"train" copies $FAKE_CLI_MODEL (+ card) to --output; "report" writes files into --output.
"""

import os
import shutil
import signal
import sys
import time
from pathlib import Path

from trainer.events import Done, Failed, Progress


def emit(event) -> None:
    print(event.to_json(), flush=True)


def option(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def stages(epochs: int) -> None:
    """What ``train default`` prints: stages with and without totals, per-batch lines, metrics per epoch."""
    steps = os.environ.get("FAKE_CLI_STEPS") == "1"
    plan = ["Scanning dataset", "Reading training images", "Training", "Testing"]

    def progress(stage, done, total, message="", metrics=None):
        extra = {"step": plan.index(stage), "steps": len(plan)} if steps else {}
        emit(Progress(stage, done, total, message, metrics or {}, **extra))
        time.sleep(0.02)

    progress("Scanning dataset", 0, None, "19 classes, 76 images")
    for i in range(1, 5):
        progress("Reading training images", i * 10, 40)
    batches = 4
    for e in range(epochs):
        for b in range(1, batches + 1):
            progress("Training", e * batches + b, epochs * batches, f"epoch {e + 1}/{epochs}")
        progress(
            "Training",
            (e + 1) * batches,
            epochs * batches,
            f"epoch {e + 1}/{epochs}",
            {"epoch": e + 1, "loss": 1.0 / (e + 1), "accuracy": 0.2 + 0.1 * e},
        )
    for i in range(1, 4):
        progress("Testing", i, 3)


def main(args):
    mode = os.environ.get("FAKE_CLI_MODE", "ok")
    command = args[0]
    print("fake trainer starting", flush=True)  # a non-JSON line goes to the log
    if mode == "crash":
        print("Traceback (most recent call last):\nRuntimeError: boom", file=sys.stderr, flush=True)
        return 3
    if mode == "error":
        emit(Failed("Dataset folder /nowhere does not exist."))
        return 2
    if mode == "slow":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
        for i in range(600):
            emit(Progress("training", i, 600, f"step {i}"))
            time.sleep(0.1)
        return 0
    epochs = int(option(args, "--epochs", 3))
    if mode == "stages":
        stages(epochs)
    else:
        for e in range(1, epochs + 1):
            emit(
                Progress(
                    "training",
                    e,
                    epochs,
                    f"epoch {e}/{epochs}, ETA 1 s",
                    {
                        "loss": 1.0 / e,
                        "accuracy": 1 - 0.5 / e,
                        "val_loss": 1.2 / e,
                        "val_accuracy": 1 - 0.6 / e,
                        "epoch": e,
                    },
                )
            )
            time.sleep(0.05)
    output = option(args, "--output")
    if command == "train":
        source = Path(os.environ["FAKE_CLI_MODEL"])
        shutil.copy(source, output)
        card = source.with_name(source.stem + ".card.json")
        shutil.copy(card, Path(output).with_name(Path(output).stem + ".card.json"))
        emit(Done(seconds=1.5, model=output, test_accuracy=0.875))
    elif command == "report":
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "confusion_matrix.png").write_bytes(b"\x89PNG fake")
        (out / "report.txt").write_text(f"model {args[1]}\n")
        emit(Done(seconds=1.0, model=args[1], report=str(out)))
    elif command == "split":
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        emit(Done(seconds=0.5, details={"output": str(out), "train": 60, "val": 0, "test": 16}))
    else:
        emit(Done(seconds=1.0, model=args[1] if len(args) > 1 else None, test_accuracy=0.9))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
