"""What every command shares: the Context handed to handlers, signal handling, exit codes and the one-line
error report."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from trainer.events import Done, Failed
from trainer.labels import printable
from trainer.progress import CancelToken, ProgressFn, ignore

PROG = "mathsym-train"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Interrupted(BaseException):
    """Raised from a signal handler when the running command cannot stop at a checkpoint (or on a 2nd signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class Context:
    """What a command handler needs: parsed args, progress sink, cancel token and output streams."""

    args: argparse.Namespace
    mode: str = "bar"  # bar | json | none
    progress: ProgressFn = ignore
    cancel: CancelToken = field(default_factory=CancelToken)
    stdout: TextIO = sys.stdout
    stderr: TextIO = sys.stderr
    started: float = field(default_factory=time.monotonic)
    cancellable: bool = False  # the handler stops at CancelToken checkpoints (else a signal interrupts at once)
    argv: list[str] = field(default_factory=list)  # the command line, recorded in model cards

    def say(self, text: str = "", err: bool = False) -> None:
        """Human-readable output: stdout, or stderr in JSON mode (stdout then carries only events) or when
        ``err`` (warnings, and text beside a --json document)."""
        stream = self.stderr if err or self.mode == "json" else self.stdout
        print("\n".join(printable(line) for line in str(text).split("\n")), file=stream, flush=True)

    def emit(self, event: Done | Failed) -> None:
        """A protocol event on stdout, in JSON mode only."""
        if self.mode == "json":
            self.document(event.to_json())

    def document(self, text: str) -> None:
        """JSON text on stdout (an event, a --json document), written so that it stays valid JSON."""
        print(writable_json(text, self.stdout), file=self.stdout, flush=True)

    def done(
        self,
        model: str | os.PathLike | None = None,
        report: str | os.PathLike | None = None,
        test_accuracy: float | None = None,
        **details: Any,
    ) -> None:
        self.emit(
            Done(
                seconds=round(time.monotonic() - self.started, 1),
                model=None if model is None else str(model),
                report=None if report is None else str(report),
                test_accuracy=test_accuracy,
                details=details,
            )
        )

    def timing(self) -> None:
        print(f"done in {time.monotonic() - self.started:.1f} s", file=self.stderr, flush=True)


class Signals:
    """SIGINT/SIGTERM: first one sets the cancel token (cancellable commands), otherwise interrupts."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.signum: int | None = None
        self.previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except (ValueError, OSError):
                pass

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, OSError, TypeError):
                pass
        self.previous.clear()

    def _handle(self, signum, frame) -> None:
        first = self.signum is None
        self.signum = self.signum or signum
        self.ctx.cancel.cancel()
        if not first or not self.ctx.cancellable:
            raise Interrupted(signum)
        print(f"{PROG}: cancelling… (again to stop at once)", file=self.ctx.stderr, flush=True)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def writable_json(text: str, stream: TextIO) -> str:
    """``text`` (JSON) as it is when ``stream`` can encode it, else with every non-ASCII character as a ``\\u``
    escape: a file name's undecodable byte (a lone surrogate) or ``÷`` in an ASCII locale would otherwise be
    written raw or backslash-escaped, and the output would no longer be JSON (nor UTF-8). Outside strings JSON
    is ASCII, so escaping the whole text is safe; readers get the same strings back."""
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
        return text
    except UnicodeEncodeError:
        return _NON_ASCII.sub(_json_escape, text)


def _json_escape(match: re.Match) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # outside the BMP: a UTF-16 surrogate pair, as JSON spells it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def one_line(text: str) -> str:
    return " ".join(str(text).split()) or "unknown error"


def fail(ctx: Context, message: str) -> None:
    message = printable(one_line(message))
    ctx.emit(Failed(message))
    print(f"{PROG}: error: {message}", file=ctx.stderr, flush=True)


def os_message(exc: OSError) -> str:
    where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    return f"cannot access{where}: {exc.strerror or exc}."


def cancelled(ctx: Context) -> None:
    ctx.emit(Failed("cancelled", cancelled=True))
    print(f"{PROG}: cancelled; nothing was written.", file=ctx.stderr, flush=True)
