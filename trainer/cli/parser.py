"""The ``mathsym-train`` argument parser, generated from the registry (``trainer.architectures``)."""

from __future__ import annotations

import argparse
import os
import textwrap

from trainer.architectures import ARCHITECTURES, COMMANDS, Architecture, Command, Option
from trainer.cli.context import PROG

DEFAULT_DATA_HINT = "../shared/data/handwritten-math-symbols"
PROGRESS_MODES = ("bar", "json", "none")


class UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print and exit; main() decides (JSON event, exit code 2)
        raise UsageError(self, message)


class _Formatter(argparse.HelpFormatter):
    """Wraps each paragraph (indented lines stay as they are); appends real defaults (not None/False, not
    when the help already names one)."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=min(100, _terminal_width()))

    def _fill_text(self, text, width, indent):
        out = []
        for line in text.splitlines():
            if line.startswith(" ") or not line:
                out.append(indent + line)
            else:
                out.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(out)

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" not in text
            and action.option_strings
            and action.default not in (None, False)
            and action.default is not argparse.SUPPRESS
        ):
            text += " (default: %(default)s)"
        return text


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def _add_options(parser: argparse.ArgumentParser, options: tuple[Option, ...]) -> None:
    for option in options:
        option.add_to(parser)


def build_parser() -> argparse.ArgumentParser:
    """One sub-command per registry command; ``train`` gets one sub-command per architecture. Each parser
    records ``command`` (and ``arch``) so the dispatcher finds the handler."""
    common = _Parser(add_help=False)
    g = common.add_argument_group("output options")
    g.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        default=argparse.SUPPRESS,
        help="progress as a bar on stderr, JSON lines on stdout (for the GUI), or none (default: bar)",
    )
    g.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of unexpected errors"
    )

    parser = _Parser(
        prog=PROG,
        formatter_class=_Formatter,
        parents=[common],
        description="Train, evaluate and use MathSym's handwritten math symbol models (19 classes).",
        epilog=f"Examples:\n  {PROG} split --data {DEFAULT_DATA_HINT} --output split\n"
        f"  {PROG} train default --data {DEFAULT_DATA_HINT}\n"
        f"  {PROG} evaluate MODEL.keras --data {DEFAULT_DATA_HINT}\n"
        f"  {PROG} predict drawing.png\n\nRun '{PROG} COMMAND --help' for a command's options.",
    )

    def add(group, entry: Command | Architecture) -> argparse.ArgumentParser:
        return group.add_parser(
            entry.name, help=entry.help, description=entry.description, formatter_class=_Formatter, parents=[common]
        )

    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for command in COMMANDS.values():
        p = add(sub, command)
        if command.name == "train":
            arches = p.add_subparsers(dest="arch", metavar="ARCH", required=True, parser_class=_Parser)
            for arch in ARCHITECTURES.values():
                _add_options(add(arches, arch), arch.options)
        else:
            _add_options(p, command.options)
    return parser


def peek_mode(argv: list[str]) -> str:
    """--progress from a command line argparse may reject (so the error still reaches the GUI as JSON)."""
    mode = "bar"
    for i, arg in enumerate(argv):
        if arg == "--progress" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--progress="):
            mode = arg.split("=", 1)[1]
    return mode if mode in PROGRESS_MODES else "bar"
