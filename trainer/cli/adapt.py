"""``mathsym-train adapt``: fine-tune a model on the user's samples (see trainer.training.adapt)."""

from __future__ import annotations

from pathlib import Path

from trainer.cli.commands import check_output_file, finish_training
from trainer.cli.context import Context
from trainer.errors import MathSymError


def _check_output(output: Path, base: Path, samples: Path) -> None:
    """The base model and the samples are only read: the new model may replace neither."""
    out = output.resolve()
    if out == base.resolve():
        raise MathSymError(f"--output {output} is the base model; choose another file (the base model is only read).")
    if out.is_relative_to(samples.resolve()):
        raise MathSymError(
            f"--output {output} is inside the samples folder {samples}, which holds only samples; "
            "choose a file outside it."
        )


def cmd_adapt(ctx: Context) -> int:
    from trainer.data.samples import MIN_PER_CLASS, scan_samples
    from trainer.paths import find_model, samples_dir

    a = ctx.args
    samples = Path(a.samples) if a.samples else samples_dir()
    if a.subset is not None and a.subset < MIN_PER_CLASS:
        raise MathSymError(
            f"--subset must be at least {MIN_PER_CLASS}: adapt learns from {MIN_PER_CLASS} or more "
            "samples of every class."
        )
    if a.output:
        check_output_file(Path(a.output))
    scan_samples(samples)  # one clear message before TensorFlow loads
    base = Path(a.model) if a.model else find_model()
    if base is None:
        raise MathSymError("No model to start from: pass --model PATH (a model trained by MathSym).")
    if a.output:
        _check_output(Path(a.output), base, samples)
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
