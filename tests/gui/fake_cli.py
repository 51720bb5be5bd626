"""A stand-in for ``python -m trainer.cli`` speaking the same JSON-lines protocol, for GUI job tests.

Behaviour is chosen by $FAKE_CLI_MODE: "ok" (default), "error" (error event, exit 2), "crash" (exit 3 with a
traceback, no event), "slow" (runs until SIGTERM, then exits 130 without writing anything).
"train" copies $FAKE_CLI_MODEL (+ card) to --output; "report" writes files into --output.
"""

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path


def emit(**event):
    print(json.dumps(event), flush=True)


def option(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def main(args):
    mode = os.environ.get("FAKE_CLI_MODE", "ok")
    command = args[0]
    print("fake trainer starting", flush=True)  # a non-JSON line goes to the log
    if mode == "crash":
        print("Traceback (most recent call last):\nRuntimeError: boom", file=sys.stderr, flush=True)
        return 3
    if mode == "error":
        emit(event="error", message="Dataset folder /nowhere does not exist.")
        return 2
    if mode == "slow":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
        for i in range(600):
            emit(event="progress", stage="training", done=i, total=600, message=f"step {i}", metrics={})
            time.sleep(0.1)
        return 0
    epochs = int(option(args, "--epochs", 3))
    for e in range(1, epochs + 1):
        emit(event="progress", stage="training", done=e, total=epochs, message=f"epoch {e}/{epochs}, ETA 1 s",
             metrics={"loss": 1.0 / e, "accuracy": 1 - 0.5 / e, "val_loss": 1.2 / e, "val_accuracy": 1 - 0.6 / e,
                      "epoch": e})
        time.sleep(0.05)
    output = option(args, "--output")
    if command == "train":
        source = Path(os.environ["FAKE_CLI_MODEL"])
        shutil.copy(source, output)
        shutil.copy(source.with_name(source.stem + ".card.json"), Path(output).with_name(Path(output).stem + ".card.json"))
        emit(event="done", model=output, report={"test_accuracy": 0.875})
    elif command == "report":
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "confusion_matrix.png").write_bytes(b"\x89PNG fake")
        (out / "report.txt").write_text(f"model {args[1]}\n")
        emit(event="done", model=args[1], report=str(out))
    else:
        emit(event="done", model=args[1] if len(args) > 1 else None, report={"test_accuracy": 0.9})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
