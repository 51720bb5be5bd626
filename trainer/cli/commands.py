"""The handlers of ``mathsym-train``'s commands: each takes the Context and returns the exit code.

Heavy modules (TensorFlow, the trainers) are imported inside the handlers so ``--help`` is fast.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from trainer.architectures import ARCHITECTURES, Architecture, load
from trainer.cli.context import EXIT_ERROR, PROG, Context
from trainer.errors import MathSymError

# -- output checks ------------------------------------------------------------------------------------------


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute().parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_parent_writable(path: Path, what: str) -> None:
    parent = _existing_ancestor(path)
    if not parent.is_dir():
        raise MathSymError(f"Cannot write {what} to {path}: {parent} is a file, not a folder.")
    if not os.access(parent, os.W_OK):
        raise MathSymError(f"Cannot write {what} to {path}: {parent} is not writable.")


def check_output_file(path: Path, what: str = "the model", suffix: str | None = ".keras") -> None:
    """Fail before hours of work when ``path``, or the card and ONNX twin saved beside it, could never be written."""
    from trainer.paths import card_path
    from trainer.serving.onnx import twin_path

    if suffix and path.suffix != suffix:
        raise MathSymError(f"{what.capitalize()} is saved as a {suffix} file; {path} has another suffix.")
    if path.is_dir():
        raise MathSymError(f"Cannot write {what} to {path}: it is a folder.")
    for beside, kind in ((card_path(path), "card"), (twin_path(path), "ONNX twin")):
        if beside.is_dir():
            raise MathSymError(f"Cannot write {what} to {path}: its {kind} {beside} is a folder.")
    _check_parent_writable(path, what)


def check_output_dir(path: Path, what: str) -> None:
    if path.exists() and not path.is_dir():
        raise MathSymError(f"Cannot write {what} to {path}: it is a file, not a folder.")
    _check_parent_writable(path, what)


def check_outside_dataset(output: Path, data: str | os.PathLike, what: str) -> None:
    """Refuse an output folder in (or equal to) the dataset folder: it would turn into a bogus class folder
    and break the dataset for every later command."""
    out, root = output.resolve(), Path(data).resolve()
    if out == root or root in out.parents:
        where = "is" if out == root else "is inside"
        raise MathSymError(
            f"Cannot write {what} to {output}: it {where} the dataset folder {data}; choose a folder outside it."
        )


# -- commands -----------------------------------------------------------------------------------------------


def cmd_split(ctx: Context) -> int:
    from trainer.data.dataset import find_duplicates, scan_dataset
    from trainer.data.split import leak_free_split, notebook_split, write_split
    from trainer.labels import symbol
    from trainer.progress import Progress

    a = ctx.args
    output = Path(a.output)
    check_output_dir(output, "the split")
    check_outside_dataset(output, a.data, "the split")
    if output.is_dir() and any(output.iterdir()):
        raise MathSymError(f"Output folder {output} is not empty; choose a new or empty folder.")
    index = scan_dataset(a.data)
    ctx.progress(Progress("Scanning dataset", 1, 3, index.summary()))
    duplicates = find_duplicates(index)
    ctx.progress(Progress("Finding duplicates", 2, 3, duplicates.summary()))
    split = leak_free_split(index, a.seed, duplicates) if a.leak_free else notebook_split(index, a.seed)
    write_split(split, output, link=a.link)  # on any failure it removes only its own staging folder
    ctx.progress(Progress("Writing split", 3, 3))

    train_counts = {n: 0 for n in split.class_names}
    for s in split.train:
        train_counts[split.class_names[s.label]] += 1
    test_counts = split.test_counts()
    ctx.say(index.summary())
    ctx.say(f"{'class':<7}{'symbol':>7}{'train':>8}{'test':>7}")
    for name in split.class_names:
        ctx.say(f"{name:<7}{symbol(name):>7}{train_counts[name]:>8}{test_counts[name]:>7}")
    ctx.say(f"{'total':<14}{len(split.train):>8}{len(split.test):>7}")
    if index.outside_classes:
        skipped = ", ".join(str(p) for p in index.outside_classes)
        ctx.say(f"Skipped {len(index.outside_classes)} image(s) outside any class folder: {skipped}")
    if index.hidden_or_non_image:
        skipped = ", ".join(str(p) for p in index.hidden_or_non_image)
        ctx.say(f"Skipped {len(index.hidden_or_non_image)} hidden or non-image file(s): {skipped}")
    ctx.say("Duplicates: " + duplicates.summary())
    if split.kind == "leak-free":
        ctx.say(
            f"Split: leak-free (the notebook split, seed {split.seed}, with {split.moved_to_train} test image(s) "
            "that have a byte-identical copy in train moved to train)"
        )
    else:
        ctx.say(f"Split: notebook (split-folders ratio 0.9/0/0.1, seed {split.seed}, Windows file order)")
    ctx.say(f"Wrote {output} ({'symlinks' if a.link else 'copies'}) and {output / 'split.json'}")
    ctx.done(
        split=str(output),
        **split.describe(),
        skipped=[str(p) for p in index.skipped],
        duplicate_groups=len(duplicates.groups),
        cross_class_duplicates=[[str(p) for p in g] for g in duplicates.cross_class],
    )
    ctx.timing()
    return 0


def _check_dataset_exists(path: str) -> None:
    from trainer.data.dataset import scan_dataset

    scan_dataset(path)  # DatasetError before any heavy import


def finish_training(ctx: Context, path: Path) -> int:
    from trainer.paths import card_path
    from trainer.serving.card import ModelCard

    accuracy = None
    try:
        card = ModelCard.read(card_path(path))
        accuracy = card.test_accuracy
        unreadable = card.dataset.get("unreadable") or []
        for p, m in unreadable:
            ctx.say(f"skipped unreadable image {p}: {m}", err=True)
        if accuracy is not None:
            total = card.metrics.get("test_images", 0)
            ctx.say(f"Test accuracy {accuracy * 100:.2f} % ({total - card.metrics.get('test_errors', 0)}/{total})")
        if card.files.get("onnx_missing"):
            why = card.files["onnx_missing"].splitlines()[0]
            ctx.say(f"{PROG}: warning: {path.name} has no ONNX twin, so Keras will run it ({why})", err=True)
    except MathSymError:
        pass
    ctx.say(f"Saved {path}")
    ctx.done(model=str(path), test_accuracy=accuracy)
    ctx.timing()
    return 0


def _late(target: str) -> Callable:
    """The registry's ``module:function``, turning a missing module into a clear error."""
    try:
        return load(target)
    except ModuleNotFoundError as exc:
        raise MathSymError(
            f"{target.partition(':')[0]} needs the Python package {exc.name!r}, which is not installed."
        ) from exc


def run_config(ctx: Context, arch: Architecture, epochs: int):
    """The RunConfig of a training command: the registry's defaults, as parsed, plus the command line."""
    from trainer.training.runs import RunConfig

    a = ctx.args
    return RunConfig(
        dataset=Path(a.data),
        output=Path(a.output) if a.output else None,
        epochs=epochs,
        image_size=a.image_size,
        batch_size=a.batch_size,
        split="leak-free" if a.leak_free else "notebook",
        seed=a.seed,
        subset=a.subset,
        preprocessing=a.preprocessing,
        extra={"command": " ".join([PROG, *map(shlex.quote, ctx.argv)])},
    )


def cmd_train(ctx: Context) -> int:
    a = ctx.args
    arch = ARCHITECTURES[a.arch]
    if a.output:
        check_output_file(Path(a.output))
    _check_dataset_exists(a.data)
    ctx.cancellable = True
    run = _late(arch.run)
    options = {o.dest: getattr(a, o.dest) for o in arch.extra}
    path = run(run_config(ctx, arch, a.epochs), options, progress=ctx.progress, cancel=ctx.cancel)
    return finish_training(ctx, Path(path))


def cmd_tune(ctx: Context) -> int:
    a = ctx.args
    if a.output:
        check_output_file(Path(a.output))
    if a.directory:
        check_output_dir(Path(a.directory), "the tuning state")
        check_outside_dataset(Path(a.directory), a.data, "the tuning state")
    _check_dataset_exists(a.data)
    ctx.cancellable = True
    role = _late("trainer.training.distributed:role_from")(a.chief, a.worker, a.tuner_id)
    config = run_config(ctx, ARCHITECTURES["alexnet"], a.max_epochs)
    budget = {"max_epochs": a.max_epochs, "factor": a.factor, "directory": a.directory}
    if role is not None and not role.chief:  # a worker runs trials; the chief saves the model
        _late("trainer.training.tuning:work_on_search")(
            config, role, progress=ctx.progress, cancel=ctx.cancel, **budget
        )
        ctx.say(f"Worker {role.tuner_id}: the search is over; the chief at {role.address} saves the best model.")
        ctx.done(worker=role.tuner_id)
        ctx.timing()
        return 0
    tune = _late("trainer.training.tuning:tune_alexnet")
    path = tune(config, resume=a.resume, progress=ctx.progress, cancel=ctx.cancel, chief=role, **budget)
    return finish_training(ctx, Path(path))


def _evaluate(ctx: Context):
    from trainer.evaluation.evaluate import evaluate_on_dataset

    a = ctx.args
    ev = evaluate_on_dataset(a.model, a.data, a.seed, a.leak_free, ctx.progress, ctx.cancel)
    for path, message in ev.images.failures:
        ctx.say(f"skipped unreadable image {path}: {message}", err=True)
    return ev


def cmd_evaluate(ctx: Context) -> int:
    from trainer.evaluation.evaluate import classification_text
    from trainer.paths import card_path
    from trainer.serving.modelfiles import update_card

    a = ctx.args
    ctx.cancellable = True
    ev = _evaluate(ctx)
    m = ev.metrics
    if a.update_card:
        ev.model.card.record_metrics(m)  # refused before any output when the card's test split is another
    ok = m["test_images"] - m["test_errors"]
    ctx.say(f"{ev.model.name} on the {ev.split.kind} test split of {a.data}:", err=a.json)
    ctx.say(f"Test accuracy {m['test_accuracy'] * 100:.2f} % ({ok}/{m['test_images']})", err=a.json)
    if a.json and ctx.mode != "json":
        print(json.dumps(m, ensure_ascii=False), file=ctx.stdout, flush=True)
    else:
        ctx.say(classification_text(ev))
    if a.update_card:
        ctx.cancel.check()
        target = card_path(ev.model.path)
        try:
            update_card(ev.model.path, ev.model.card)  # locked, and only if the model is still the one the card hashed
        except OSError as exc:
            raise MathSymError(f"Cannot update the model card {target}: {exc.strerror or exc}.") from exc
        ctx.say(f"Updated the metrics in {target}", err=a.json)
    ctx.done(model=str(ev.model.path), test_accuracy=m["test_accuracy"], metrics=m)
    ctx.timing()
    return 0


def cmd_report(ctx: Context) -> int:
    from trainer.evaluation.report import check_report_target, export_report

    a = ctx.args
    output = Path(a.output)
    check_output_dir(output, "the report")
    check_outside_dataset(output, a.data, "the report")
    check_report_target(output)  # before the evaluation, not after it
    ctx.cancellable = True
    ev = _evaluate(ctx)
    files = export_report(
        ev.model, ev.images, ev.metrics, output, ctx.progress, probabilities=ev.probabilities, cancel=ctx.cancel
    )
    m = ev.metrics
    right = m["test_images"] - m["test_errors"]
    ctx.say(f"Test accuracy {m['test_accuracy'] * 100:.2f} % ({right}/{m['test_images']})")
    ctx.say(f"Wrote the report to {output}:")
    for path in files.values():
        ctx.say(f"  {path.name}")
    ctx.done(report=str(output), files={k: str(v) for k, v in files.items()}, test_accuracy=m["test_accuracy"])
    ctx.timing()
    return 0


def cmd_predict(ctx: Context) -> int:
    from trainer.serving.modelio import load_model
    from trainer.serving.predict import predict_paths, resolve_model

    a = ctx.args
    path = resolve_model(a.model)
    model = load_model(path)
    results = predict_paths(model, a.paths, k=a.k, progress=ctx.progress)
    failed = [r for r in results if not r.ok]
    if a.json and ctx.mode != "json":
        ctx.document(json.dumps({"model": str(path), "results": [r.to_dict() for r in results]}, ensure_ascii=False))
    else:
        for r in results:
            ctx.say(r.line())
    ctx.done(model=str(path), results=[r.to_dict() for r in results], failed=len(failed))
    if failed:
        print(
            f"{PROG}: error: {len(failed)} of {len(results)} file(s) could not be predicted.",
            file=ctx.stderr,
            flush=True,
        )
        return EXIT_ERROR
    return 0


def cmd_info(ctx: Context) -> int:
    from trainer.serving.card import card_summary, legacy_notebook_card
    from trainer.serving.modelio import check_twin, checked_card, load_model

    a = ctx.args
    path = Path(a.model)
    # The checks predict makes before loading: the card shown is the model's, and a junk file is refused.
    card = checked_card(path) or legacy_notebook_card(path)
    if a.check:
        # The twin first: loading would only log a bad one and fall back to Keras. A good twin is what loading
        # runs, so only a model without one is loaded (with Keras) as well.
        if check_twin(path, card) is None:
            load_model(path)
    if a.json and ctx.mode != "json":
        ctx.document(card.to_json())
    else:
        for line in card_summary(path, card):
            ctx.say(line)
        if a.check:
            ctx.say("Check: the model loads and matches its card.")
    ctx.done(model=str(path), card=asdict(card))
    return 0
