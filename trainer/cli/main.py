"""``mathsym-train``'s entry point: parse, dispatch to the command's handler, turn every failure into one
line on stderr (and an error event in JSON mode) with the documented exit code."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator

from trainer.cli.context import (
    EXIT_ERROR,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    Context,
    Interrupted,
    Signals,
    cancelled,
    fail,
    one_line,
    os_message,
)
from trainer.cli.handlers import HANDLERS
from trainer.cli.parser import UsageError, build_parser, peek_mode
from trainer.errors import Cancelled, MathSymError
from trainer.events import Failed
from trainer.progress import JsonLines, ProgressFn, TerminalBar, ignore

#: The reader of stdout went away (``mathsym-train predict DIR | head -1``): end as a Unix tool killed by
#: SIGPIPE does, with 128 + 13 and nothing printed.
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises SystemExit itself)."""
    try:
        with _unencodable_escaped():
            return _run(argv)
    except BrokenPipeError:
        try:  # the interpreter's last flush of stdout would report the broken pipe: point it at nothing
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE


@contextlib.contextmanager
def _unencodable_escaped() -> Iterator[None]:
    """Characters the terminal's encoding lacks (``÷`` under PYTHONIOENCODING=ascii, undecodable bytes of file
    names) are written as backslash escapes rather than failing the command after its work is done."""
    streams = [(s, s.errors) for s in (sys.stdout, sys.stderr) if isinstance(s, io.TextIOWrapper)]
    for stream, _ in streams:
        stream.reconfigure(errors="backslashreplace")
    try:
        yield
    finally:
        for stream, errors in streams:
            with contextlib.suppress(OSError, ValueError):  # a closed or broken stream: main() deals with it
                stream.reconfigure(errors=errors)


@contextlib.contextmanager
def _native_stderr_muted(muted: bool) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while Python's ``sys.stderr`` keeps writing to the real stderr.

    TensorFlow's C++ start-up lines (absl's preamble, oneDNN's notice) go to fd 2 whatever TF_CPP_MIN_LOG_LEVEL
    says, which would break the one-error-line rule. Only when ``sys.stderr`` really is fd 2: a caller that
    captured it (pytest's capsys) keeps its stream. Native libraries' own fatal messages are muted too:
    ``--debug`` keeps everything.
    """
    try:
        real = muted and sys.stderr is not None and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real = False
    if not real:
        yield
        return
    original = sys.stderr
    original.flush()
    stream = open(  # noqa: SIM115 - closed in the finally, after fd 2 is back
        os.dup(2), "w", encoding=original.encoding, errors="backslashreplace", buffering=1
    )
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    sys.stderr = stream
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
        os.dup2(stream.fileno(), 2)
        sys.stderr = original
        with contextlib.suppress(OSError, ValueError):
            stream.close()


def _run(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ctx = Context(argparse.Namespace(), mode=peek_mode(argv), stdout=sys.stdout, stderr=sys.stderr, argv=argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        ctx.emit(Failed(one_line(str(exc))))
        print(f"{exc.parser.prog}: error: {one_line(str(exc))}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    debug = getattr(args, "debug", False)
    with _native_stderr_muted(not debug):
        return _dispatch(ctx, args, debug)


def _dispatch(ctx: Context, args: argparse.Namespace, debug: bool) -> int:
    ctx.args = args
    ctx.mode = getattr(args, "progress", "bar")
    ctx.stderr = sys.stderr
    sinks: dict[str, Callable[[], ProgressFn]] = {
        "bar": lambda: TerminalBar(sys.stderr),
        "json": lambda: JsonLines(sys.stdout),
        "none": lambda: ignore,
    }
    ctx.progress = sinks[ctx.mode]()
    signals = Signals(ctx)
    signals.install()
    try:
        return int(HANDLERS[args.command](ctx) or 0)
    except (Cancelled, Interrupted, KeyboardInterrupt) as exc:
        signum = signals.signum or getattr(exc, "signum", None) or signal.SIGINT
        cancelled(ctx)
        return EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT
    except MathSymError as exc:
        fail(ctx, str(exc))
        return EXIT_ERROR
    except BrokenPipeError:
        raise  # not an error to report: main() ends quietly
    except OSError as exc:
        if debug:
            traceback.print_exc()
        fail(ctx, os_message(exc))
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (rerun with --debug to see the traceback)"
        fail(ctx, f"unexpected {type(exc).__name__}: {one_line(str(exc))}{hint}")
        return EXIT_ERROR
    finally:
        signals.restore()
