"""``mathsym-train adapt``: fine-tune a model on the user's samples (see trainer.training.adapt)."""

from __future__ import annotations

from pathlib import Path

from trainer.cli.commands import check_output_file, finish_training
from trainer.cli.context import Context
from trainer.errors import MathSymError


def cmd_adapt(ctx: Context) -> int:
    from trainer.data.samples import scan_samples
    from trainer.paths import find_model, samples_dir

    a = ctx.args
    samples = Path(a.samples) if a.samples else samples_dir()
    if a.output:
        check_output_file(Path(a.output))
    scan_samples(samples)  # one clear message before TensorFlow loads
    base = Path(a.model) if a.model else find_model()
    if base is None:
        raise MathSymError("No model to start from: pass --model PATH (a model trained by MathSym).")
    if a.data and not Path(a.data).is_dir():
        raise MathSymError(f"Dataset folder {a.data} does not exist.")
    ctx.cancellable = True
    from trainer.training.adapt import AdaptConfig, adapt

    config = AdaptConfig(
        samples,
        base,
        output=Path(a.output) if a.output else None,
        epochs=a.epochs,
        data=Path(a.data) if a.data else None,
        replay_per_class=a.replay,
        samples_per_class=a.subset,
        learning_rate=a.learning_rate,
    )
    return finish_training(ctx, adapt(config, progress=ctx.progress, cancel=ctx.cancel))
