"""The pad's job dialogs are generated from the trainer's registry: with the form left alone, every job sends
exactly the CLI's defaults, and every architecture and pad job has its menu entry."""

from __future__ import annotations

import pytest

from mathsym_gui.train_dialog import JobDialog
from trainer.architectures import ARCHITECTURES, COMMANDS, pad_jobs
from trainer.cli.parser import build_parser


@pytest.mark.parametrize("key", list(pad_jobs()))
def test_untouched_dialog_sends_the_cli_defaults(qtbot, tmp_path, dataset, key):
    job = pad_jobs()[key]
    model = tmp_path / "m.keras"
    model.write_bytes(b"not read here")
    dialog = JobDialog(
        job,
        ["mathsym-train"],
        data=str(dataset),
        model=str(model),
        output=str(tmp_path / "out"),
        models_dir=tmp_path / "models",
    )
    qtbot.addWidget(dialog)
    for option in job.fields:  # every dataset-like field (a samples folder too) gets the generated dataset
        if option.field.kind == "dataset":
            dialog.fields[option.dest].setText(str(dataset))
    argv = dialog.argv()
    assert argv[0] == "mathsym-train" and argv[-2:] == ["--progress", "json"]
    from_pad = vars(build_parser().parse_args(argv[1:-2]))
    # The same command typed with only what the user picks (folders, model files, the output) and no setting.
    required = list(job.words)
    for option in job.options:
        picked = option.field is not None and option.field.kind in ("dataset", "folder", "model")
        if option.positional:
            required.append(from_pad[option.dest])
        elif option.required or picked or (option.dest == "output" and from_pad.get("output")):
            required += [option.flag, from_pad[option.dest]]
    assert from_pad == vars(build_parser().parse_args(required)), f"{key}: the pad's form differs from the CLI"


def test_every_architecture_and_pad_command_is_in_the_train_menu(make_window):
    window = make_window(None, wait=False, autoload=False)
    menu_actions = {a.text() for m in window.menuBar().actions() if m.menu() for a in m.menu().actions()}
    for arch in ARCHITECTURES.values():
        assert arch.pad is not None and arch.pad.menu in menu_actions
    for command in COMMANDS.values():
        if command.pad is not None:
            assert command.pad.menu in menu_actions, command.name


def test_parser_offers_every_registry_option():
    parser = build_parser()
    for arch in ARCHITECTURES.values():
        args = vars(parser.parse_args(["train", arch.name, "--data", "d"]))
        assert args["epochs"] == arch.epochs and args["batch_size"] == arch.batch_size
        assert args["preprocessing"] == arch.preprocessing
        assert {o.dest for o in arch.options} <= set(args)
