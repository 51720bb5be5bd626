"""Which function runs each registry command (``trainer.architectures.COMMANDS``)."""

from __future__ import annotations

from collections.abc import Callable

from trainer.cli.adapt import cmd_adapt
from trainer.cli.commands import (
    cmd_evaluate,
    cmd_info,
    cmd_predict,
    cmd_report,
    cmd_split,
    cmd_train,
    cmd_tune,
)
from trainer.cli.context import Context
from trainer.cli.read import cmd_read
from trainer.cli.twin import cmd_onnx

HANDLERS: dict[str, Callable[[Context], int]] = {
    "split": cmd_split,
    "train": cmd_train,
    "tune": cmd_tune,
    "evaluate": cmd_evaluate,
    "report": cmd_report,
    "predict": cmd_predict,
    "info": cmd_info,
    "onnx": cmd_onnx,
    "adapt": cmd_adapt,
    "read": cmd_read,
}
