"""Progress sinks (terminal bar, JSON lines) and cancellation for long jobs; the events live in events.py."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from trainer.errors import Cancelled
from trainer.events import Progress

ProgressFn = Callable[[Progress], None]


def ignore(_: Progress) -> None:
    """A progress sink that drops events."""


class CancelToken:
    """Set from any thread; long jobs call ``check()`` between steps and stop with Cancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("The job was cancelled; nothing was changed.")


class TerminalBar:
    """A one-line progress bar on a terminal (plain lines when not a TTY), redrawn at most 10x a second."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self._last = 0.0
        self._stage = ""

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        finished = p.total is not None and p.done >= p.total
        if p.stage == self._stage and not finished and not p.metrics and now - self._last < 0.1:
            return
        self._last, self._stage = now, p.stage
        metrics = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.metrics.items())
        if p.total:
            filled = int(30 * min(p.done, p.total) / p.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {p.done}/{p.total}"
        else:
            bar = f"{p.done}"
        line = f"{p.stage}: {bar} {p.message} {metrics}".rstrip()
        if self.stream.isatty():
            self.stream.write("\r\033[K" + line + ("\n" if finished else ""))
        elif finished or p.metrics:
            self.stream.write(line + "\n")
        self.stream.flush()


class JsonLines:
    """Machine-readable progress: one JSON object per line (what the GUI's job runner reads)."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream

    def __call__(self, p: Progress) -> None:
        self.stream.write(p.to_json() + "\n")
        self.stream.flush()
