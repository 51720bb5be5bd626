"""``mathsym-train onnx``: write the ONNX twin of a model that has none."""

from __future__ import annotations

from trainer.cli.context import Context


def cmd_onnx(ctx: Context) -> int:
    from trainer.serving.modelio import add_twin

    twin = add_twin(ctx.args.model)
    ctx.say(f"ONNX twin: {twin}")
    ctx.done(model=str(ctx.args.model), twin=str(twin))
    return 0
