"""The registry names real code: every architecture's builder and run function, and every command's handler."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from trainer.architectures import ARCHITECTURES, COMMANDS, load
from trainer.cli.handlers import HANDLERS


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_architecture_targets_resolve(name):
    arch = ARCHITECTURES[name]
    assert callable(load(arch.builder))
    run = load(arch.run)
    assert list(inspect.signature(run).parameters)[:4] == ["config", "options", "progress", "cancel"]


def test_every_command_has_a_handler_and_no_handler_lacks_a_command():
    assert set(HANDLERS) == set(COMMANDS)


def test_adapt_command_defaults_are_the_library_defaults():
    """The CLI and the pad's "Learn My Handwriting" dialog (both built from the registry) fine-tune exactly as
    a library call of ``adapt`` with no options does."""
    from trainer.training.adapt import AdaptConfig

    registry = {o.dest: o.default for o in COMMANDS["adapt"].options}
    library = {f.name: f.default for f in dataclasses.fields(AdaptConfig)}
    assert registry["epochs"] == library["epochs"]
    assert registry["replay"] == library["replay_per_class"]
    assert registry["learning_rate"] == library["learning_rate"]
