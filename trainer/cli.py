"""``mathsym-train``: split datasets, train and tune models, evaluate, export reports, predict files.

Every long command reports progress as a terminal bar (default), as JSON lines on stdout for the GUI
(``--progress json``: ``{"event": "progress", ...}`` lines, then ``{"event": "done", ...}`` or
``{"event": "error", "message": ...}``), or not at all. SIGINT/SIGTERM cancel cleanly: nothing is written
and the exit code is 130/143. Problems the user can fix are one ``mathsym-train: error: ...`` line on
stderr (exit 1; 2 for command-line mistakes); ``--debug`` shows tracebacks of unexpected errors.

Heavy modules (TensorFlow, the trainers) are imported inside the command handlers so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from .errors import Cancelled, MathSymError, ModelError
from .progress import CancelToken, JsonLines, ProgressFn, TerminalBar, ignore

PROG = "mathsym-train"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
DEFAULT_DATA_HINT = "../shared/data/handwritten-math-symbols"

# -- plumbing -----------------------------------------------------------------------------------------------


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Interrupted(BaseException):
    """Raised from a signal handler when the running command cannot stop at a checkpoint (or on a 2nd signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print and exit; main() decides (JSON event, exit code 2)
        raise _UsageError(self, message)


class _Formatter(argparse.HelpFormatter):
    """Wraps each paragraph (indented lines stay as they are); appends real defaults (not None/False, not
    when the help already names one)."""

    def _fill_text(self, text, width, indent):
        import textwrap

        out = []
        for line in text.splitlines():
            if line.startswith(" ") or not line:
                out.append(indent + line)
            else:
                out.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(out)

    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=min(100, _terminal_width()))

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" not in text and action.option_strings and action.default not in (None, False)
                and action.default is not argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


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

    def say(self, text: str = "", err: bool = False) -> None:
        """Human-readable output: stdout, or stderr in JSON mode (stdout then carries only events) or when
        ``err`` (warnings, and text beside a --json document)."""
        stream = self.stderr if err or self.mode == "json" else self.stdout
        print(text, file=stream, flush=True)

    def event(self, name: str, /, **fields) -> None:
        if self.mode == "json":
            print(json.dumps({"event": name, **fields}, ensure_ascii=False, default=str), file=self.stdout, flush=True)

    def done(self, **fields) -> None:
        fields.setdefault("seconds", round(time.monotonic() - self.started, 1))
        self.event("done", **fields)

    def timing(self) -> None:
        print(f"done in {time.monotonic() - self.started:.1f} s", file=self.stderr, flush=True)


class _Signals:
    """SIGINT/SIGTERM: first one sets the cancel token (cancellable commands), otherwise interrupts."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.signum: int | None = None
        self.previous: dict[int, object] = {}

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
            raise _Interrupted(signum)
        print(f"{PROG}: cancelling… (again to stop at once)", file=self.ctx.stderr, flush=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "unknown error"


def _fail(ctx: Context, message: str) -> None:
    message = _one_line(message)
    ctx.event("error", message=message)
    print(f"{PROG}: error: {message}", file=ctx.stderr, flush=True)


def _os_message(exc: OSError) -> str:
    where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    return f"cannot access{where}: {exc.strerror or exc}."


def _load(module: str, name: str):
    """Import ``trainer.<module>.<name>`` late, turning a missing module into a clear error."""
    import importlib

    try:
        mod = importlib.import_module(f"trainer.{module}")
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        if missing == f"trainer.{module}":
            raise MathSymError(f"This installation has no trainer.{module} module; update MathSym.") from exc
        raise MathSymError(f"trainer.{module} needs the Python package {missing!r}, which is not installed.") from exc
    try:
        return getattr(mod, name)
    except AttributeError as exc:
        raise MathSymError(f"trainer.{module} has no {name}(); this installation is inconsistent.") from exc


# -- argument types -----------------------------------------------------------------------------------------

def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _image_size(text: str) -> int:
    value = _positive(text)
    if not 8 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"image size must be between 8 and 1024 pixels, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _factor(text: str) -> int:
    value = _positive(text)
    if value < 2:
        raise argparse.ArgumentTypeError("the Hyperband factor must be at least 2")
    return value


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
    """Fail before hours of work when ``path`` could never be written."""
    if suffix and path.suffix != suffix:
        raise MathSymError(f"{what.capitalize()} is saved as a {suffix} file; {path} has another suffix.")
    if path.is_dir():
        raise MathSymError(f"Cannot write {what} to {path}: it is a folder.")
    _check_parent_writable(path, what)


def check_output_dir(path: Path, what: str) -> None:
    if path.exists() and not path.is_dir():
        raise MathSymError(f"Cannot write {what} to {path}: it is a file, not a folder.")
    _check_parent_writable(path, what)


# -- commands -----------------------------------------------------------------------------------------------

def cmd_split(ctx: Context) -> int:
    import shutil

    from .dataset import find_duplicates, scan_dataset
    from .labels import symbol
    from .progress import Progress
    from .split import leak_free_split, notebook_split, write_split

    a = ctx.args
    output = Path(a.output)
    check_output_dir(output, "the split")
    if output.is_dir() and any(output.iterdir()):
        raise MathSymError(f"Output folder {output} is not empty; choose a new or empty folder.")
    index = scan_dataset(a.data)
    ctx.progress(Progress("Scanning dataset", 1, 3, index.summary()))
    duplicates = find_duplicates(index)
    ctx.progress(Progress("Finding duplicates", 2, 3, duplicates.summary()))
    split = leak_free_split(index, a.seed, duplicates) if a.leak_free else notebook_split(index, a.seed)
    staging = output.with_name(f".{output.name}.partial")
    try:
        write_split(split, output, link=a.link)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # write_split only cleans up after OSError
        raise
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
    if index.skipped:
        ctx.say(f"Skipped {len(index.skipped)} hidden or non-image file(s): " + ", ".join(str(p) for p in index.skipped))
    ctx.say("Duplicates: " + duplicates.summary())
    if split.kind == "leak-free":
        ctx.say(f"Split: leak-free (the notebook split, seed {split.seed}, with {split.moved_to_train} test image(s) "
                "that have a byte-identical copy in train moved to train)")
    else:
        ctx.say(f"Split: notebook (split-folders ratio 0.9/0/0.1, seed {split.seed}, Windows file order)")
    ctx.say(f"Wrote {output} ({'symlinks' if a.link else 'copies'}) and {output / 'split.json'}")
    ctx.done(split=str(output), **split.describe(), skipped=[str(p) for p in index.skipped],
             duplicate_groups=len(duplicates.groups),
             cross_class_duplicates=[[str(p) for p in g] for g in duplicates.cross_class])
    ctx.timing()
    return 0


def _module_defaults(module: str) -> dict:
    """Run settings a training module declares for itself (DEFAULT_EPOCHS, DEFAULT_BATCH, DEFAULT_SIZE)."""
    import importlib

    mod = importlib.import_module(f"trainer.{module}")
    found = {"epochs": getattr(mod, "DEFAULT_EPOCHS", None), "batch_size": getattr(mod, "DEFAULT_BATCH", None),
             "image_size": getattr(mod, "DEFAULT_SIZE", None)}
    return {k: v for k, v in found.items() if isinstance(v, int)}


def _run_config(a: argparse.Namespace, arch: str, defaults: dict | None = None):
    from .runs import RunConfig

    values: dict = {"dataset": Path(a.data), "output": Path(a.output) if a.output else None, **(defaults or {})}
    if a.epochs is not None:
        values["epochs"] = a.epochs
    if a.image_size is not None:
        values["image_size"] = a.image_size
    if a.batch_size is not None:
        values["batch_size"] = a.batch_size
    values["split"] = "leak-free" if a.leak_free else "notebook"
    values["seed"] = a.seed
    values["subset"] = a.subset
    values["preprocessing"] = a.preprocessing or ARCH_PREPROCESSING[arch]
    values["extra"] = {"command": " ".join([PROG, *map(shlex.quote, _ARGV)])}
    return RunConfig(**values)


#: Preprocessing each architecture trains with unless --preprocessing says otherwise.
ARCH_PREPROCESSING = {"alexnet": "notebook", "vgg19": "notebook", "default": "ink"}
_ARGV: list[str] = []


def _check_dataset_exists(path: str) -> None:
    from .dataset import scan_dataset

    scan_dataset(path)  # DatasetError before any heavy import


def _finish_training(ctx: Context, path: Path) -> int:
    from .card import ModelCard, card_path

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
    except MathSymError:
        pass
    ctx.say(f"Saved {path}")
    ctx.done(model=str(path), test_accuracy=accuracy)
    ctx.timing()
    return 0


def cmd_train(ctx: Context) -> int:
    a = ctx.args
    arch = a.arch
    if a.output:
        check_output_file(Path(a.output))
    _check_dataset_exists(a.data)
    ctx.cancellable = True
    kw = dict(progress=ctx.progress, cancel=ctx.cancel)
    if arch == "alexnet":
        if a.trials is not None and a.trials > 1:
            tune = _load("tuning", "tune_alexnet")
            config = _run_config(a, arch, _module_defaults("tuning"))
            config.extra["trials"] = a.trials
            path = tune(config, max_epochs=config.epochs, **kw)
        else:
            train = _load("train_alexnet", "train_alexnet")
            config = _run_config(a, arch, _module_defaults("train_alexnet"))
            path = train(config, activation=a.activation, learning_rate=a.learning_rate, **kw)
    elif arch == "vgg19":
        train = _load("train_vgg19", "train_vgg19")  # it checks the weights (missing, wrong shape) first
        config = _run_config(a, arch, _module_defaults("train_vgg19"))
        path = train(config, weights=a.weights, use_feature_cache=not a.no_feature_cache, **kw)
    else:
        train = _load("train_default", "train_default")
        config = _run_config(a, arch, _module_defaults("train_default"))
        config.extra["train_on"] = a.train_on
        path = train(config, **kw)
    return _finish_training(ctx, Path(path))


def cmd_tune(ctx: Context) -> int:
    a = ctx.args
    if a.output:
        check_output_file(Path(a.output))
    if a.directory:
        check_output_dir(Path(a.directory), "the tuning state")
    _check_dataset_exists(a.data)
    ctx.cancellable = True
    a.epochs = a.max_epochs
    tune = _load("tuning", "tune_alexnet")
    config = _run_config(a, "alexnet", _module_defaults("tuning"))
    path = tune(config, max_epochs=a.max_epochs, factor=a.factor, directory=a.directory, resume=a.resume,
                progress=ctx.progress, cancel=ctx.cancel)
    return _finish_training(ctx, Path(path))


@dataclass
class Evaluation:
    model: object  # LoadedModel
    images: object  # Images
    probabilities: object
    metrics: dict
    split: object


def evaluate_model(ctx: Context) -> Evaluation:
    """Load the model, split the dataset like the notebook (or leak-free) and score the test split."""
    from .card import now_iso
    from .dataset import scan_dataset
    from .errors import DatasetError
    from .evaluate import metrics_from_predictions, predict_arrays
    from .loading import load_images
    from .split import leak_free_split, notebook_split

    a = ctx.args
    index = scan_dataset(a.data)
    from .modelio import load_model

    model = load_model(a.model)
    if list(index.class_names) != list(model.labels):
        raise DatasetError(
            f"The dataset's classes ({', '.join(index.class_names)}) differ from the model's labels "
            f"({', '.join(model.labels)})."
        )
    split = leak_free_split(index, a.seed) if a.leak_free else notebook_split(index, a.seed)
    images = load_images(split.test, method=model.card.preprocessing, size=model.card.input_size,
                         progress=ctx.progress, cancel=ctx.cancel, stage="Reading test images")
    for path, message in images.failures:
        ctx.say(f"skipped unreadable image {path}: {message}", err=True)
    if len(images.y) == 0:
        raise DatasetError("No test image could be read; nothing to evaluate.")
    probabilities = predict_arrays(model.predict_inputs, images.x, ctx.progress, ctx.cancel, stage="Evaluating")
    metrics = metrics_from_predictions(images.y, probabilities, list(model.labels))
    metrics["evaluated"] = now_iso()
    metrics["evaluated_split"] = split.describe()
    metrics["unreadable"] = [[str(p), m] for p, m in images.failures]
    return Evaluation(model, images, probabilities, metrics, split)


def _report_text(ev: Evaluation) -> str:
    from sklearn.metrics import classification_report

    from .labels import symbol

    labels = list(ev.model.labels)
    names = [x if symbol(x) == x else f"{x} {symbol(x)}" for x in labels]
    return classification_report(ev.images.y, ev.probabilities.argmax(axis=1), labels=list(range(len(labels))),
                                 target_names=names, digits=4, zero_division=0)


def cmd_evaluate(ctx: Context) -> int:
    from .card import card_path
    from .modelio import atomic_write_bytes

    a = ctx.args
    ctx.cancellable = True
    ev = evaluate_model(ctx)
    m = ev.metrics
    ok = m["test_images"] - m["test_errors"]
    ctx.say(f"{ev.model.name} on the {ev.split.kind} test split of {a.data}:", err=a.json)
    ctx.say(f"Test accuracy {m['test_accuracy'] * 100:.2f} % ({ok}/{m['test_images']})", err=a.json)
    if a.json and ctx.mode != "json":
        print(json.dumps(m, ensure_ascii=False), file=ctx.stdout, flush=True)
    else:
        ctx.say(_report_text(ev))
    if a.update_card:
        ctx.cancel.check()
        card = ev.model.card
        card.metrics = m
        target = card_path(ev.model.path)
        try:
            atomic_write_bytes(target, card.to_json().encode("utf-8"))
        except OSError as exc:
            raise MathSymError(f"Cannot update the model card {target}: {exc.strerror or exc}.") from exc
        ctx.say(f"Updated the metrics in {target}", err=a.json)
    ctx.done(model=str(ev.model.path), metrics=m)
    ctx.timing()
    return 0


def cmd_report(ctx: Context) -> int:
    from .report import check_report_target, export_report

    a = ctx.args
    output = Path(a.output)
    check_output_dir(output, "the report")
    check_report_target(output)  # before the evaluation, not after it
    ctx.cancellable = True
    ev = evaluate_model(ctx)
    files = export_report(ev.model, ev.images, ev.metrics, output, ctx.progress, probabilities=ev.probabilities,
                          cancel=ctx.cancel)
    m = ev.metrics
    ctx.say(f"Test accuracy {m['test_accuracy'] * 100:.2f} % ({m['test_images'] - m['test_errors']}/{m['test_images']})")
    ctx.say(f"Wrote the report to {output}:")
    for path in files.values():
        ctx.say(f"  {path.name}")
    ctx.done(report=str(output), files={k: str(v) for k, v in files.items()}, test_accuracy=m["test_accuracy"])
    ctx.timing()
    return 0


def cmd_predict(ctx: Context) -> int:
    from .modelio import load_model
    from .predict import predict_paths, resolve_model

    a = ctx.args
    path = resolve_model(a.model)
    model = load_model(path)
    results = predict_paths(model, a.paths, k=a.k, progress=ctx.progress)
    failed = [r for r in results if not r.ok]
    if a.json and ctx.mode != "json":
        print(json.dumps({"model": str(path), "results": [r.to_dict() for r in results]}, ensure_ascii=False),
              file=ctx.stdout, flush=True)
    else:
        for r in results:
            ctx.say(r.line())
    ctx.done(model=str(path), results=[r.to_dict() for r in results], failed=len(failed))
    if failed:
        print(f"{PROG}: error: {len(failed)} of {len(results)} file(s) could not be predicted.", file=ctx.stderr,
              flush=True)
        return EXIT_ERROR
    return 0


def cmd_info(ctx: Context) -> int:
    from .card import ModelCard, card_path, legacy_notebook_card

    a = ctx.args
    path = Path(a.model)
    if not path.is_file():
        raise ModelError(f"Model file {path} does not exist.")
    cpath = card_path(path)
    if cpath.is_file():
        card = ModelCard.read(cpath)
    elif path.suffix.lower() == ".h5":
        card = legacy_notebook_card(path)
    else:
        raise ModelError(f"Model {path.name} has no model card; expected {cpath.name} beside it.")
    if a.check:
        from .modelio import load_model

        load_model(path)
    if a.json and ctx.mode != "json":
        print(card.to_json(), file=ctx.stdout, flush=True)
    else:
        for line in card_summary(path, card):
            ctx.say(line)
        if a.check:
            ctx.say("Check: the model loads and matches its card.")
    from dataclasses import asdict

    ctx.done(model=str(path), card=asdict(card))
    return 0


def card_summary(path: Path, card) -> list[str]:
    from .labels import symbol

    lines = [f"Model:          {path}", f"Architecture:   {card.architecture}",
             f"Input:          {card.input_size}x{card.input_size} RGB, preprocessing {card.preprocessing!r}, "
             f"scaling {card.scaling}",
             f"Labels ({len(card.labels)}):    " + " ".join(symbol(x) for x in card.labels)]
    if card.created:
        lines.append(f"Created:        {card.created}")
    d = card.dataset
    if d:
        extra = []
        if d.get("skipped"):
            extra.append(f"{len(d['skipped'])} skipped")
        if d.get("unreadable"):
            extra.append(f"{len(d['unreadable'])} unreadable")
        if d.get("duplicate_groups") is not None:
            extra.append(f"{d['duplicate_groups']} duplicate groups, {len(d.get('cross_class_duplicates') or [])} "
                         "across classes")
        lines.append(f"Dataset:        {d.get('path', '?')} ({d.get('images', '?')} images"
                     + (f"; {', '.join(extra)}" if extra else "") + ")")
    s = card.split
    if s:
        lines.append(f"Split:          {s.get('kind', '?')}, seed {s.get('seed', '?')}: train {s.get('train', '?')}"
                     f" (fit {s.get('fit', '?')}, validation {s.get('val', '?')}), test {s.get('test', '?')}, "
                     f"fingerprint {s.get('test_fingerprint', '?')}")
    m = card.metrics
    if m and m.get("test_accuracy") is not None:
        total = m.get("test_images", 0)
        lines.append(f"Test accuracy:  {m['test_accuracy'] * 100:.2f} % ({total - m.get('test_errors', 0)}/{total})")
        recall = m.get("per_class_recall") or {}
        if recall:
            worst = sorted(recall.items(), key=lambda kv: kv[1])[:3]
            lines.append("Weakest recall: " + ", ".join(f"{symbol(k)} {v * 100:.1f} %" for k, v in worst))
    else:
        lines.append("Test accuracy:  not recorded")
    t = card.training
    if t:
        parts = [f"{k} {t[k]}" for k in ("epochs", "batch_size", "best_epoch", "seconds") if t.get(k) is not None]
        if parts:
            lines.append("Training:       " + ", ".join(parts))
        if t.get("command"):
            lines.append(f"Command:        {t['command']}")
    if card.versions:
        lines.append("Versions:       " + ", ".join(f"{k} {v}" for k, v in card.versions.items()))
    if card.notes:
        lines.append(f"Notes:          {card.notes}")
    return lines


# -- parser -------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("output options")
    g.add_argument("--progress", choices=("bar", "json", "none"), default=argparse.SUPPRESS,
                   help="progress as a bar on stderr, JSON lines on stdout (for the GUI), or none (default: bar)")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the traceback of unexpected errors")

    parser = _Parser(
        prog=PROG, formatter_class=_Formatter, parents=[common],
        description="Train, evaluate and use MathSym's handwritten math symbol models (19 classes).",
        epilog=f"Examples:\n  {PROG} split --data {DEFAULT_DATA_HINT} --output split\n"
               f"  {PROG} train default --data {DEFAULT_DATA_HINT}\n"
               f"  {PROG} evaluate models/default.keras --data {DEFAULT_DATA_HINT}\n"
               f"  {PROG} predict drawing.png\n\nRun '{PROG} COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    def command(name: str, help: str, description: str, handler: Callable[[Context], int], **kw):
        p = sub.add_parser(name, help=help, description=description, formatter_class=_Formatter,
                           parents=[common], **kw)
        p.set_defaults(handler=handler)
        return p

    def data_arg(p, what="dataset folder: one sub-folder of images per class (the Kaggle layout)"):
        p.add_argument("--data", required=True, metavar="DIR", help=what)

    def split_args(p):
        p.add_argument("--seed", type=int, default=1001, help="split seed; the notebook used 1001")
        p.add_argument("--leak-free", action="store_true",
                       help="move test images that have a byte-identical copy in train to train")

    # split
    p = command("split", "split a dataset into train/val/test folders like the notebook",
                "Copy (or link) a class-per-folder dataset into train/, val/ and test/ folders exactly as the "
                "notebook's split-folders call did on Windows (ratio 0.9/0/0.1, seed 1001), and write split.json. "
                "Prints per-class counts, skipped files and byte-identical duplicates.", cmd_split)
    data_arg(p)
    p.add_argument("--output", required=True, metavar="DIR", help="new or empty folder for train/ val/ test/")
    split_args(p)
    p.add_argument("--link", action="store_true", help="create symbolic links instead of copying the images")

    # train (one sub-command per architecture)
    p = command("train", "train a model (alexnet, vgg19 or default)",
                "Train a model on the notebook's split, evaluate it on the test split and save it with its card "
                "(atomically; a cancelled run writes nothing).", lambda ctx: 0)
    arches = p.add_subparsers(dest="arch", metavar="ARCH", required=True, parser_class=_Parser)

    def run_args(q, arch: str):
        data_arg(q)
        q.add_argument("--output", metavar="PATH",
                       help="model file (.keras; its card goes beside it); default: models/ARCH-TIMESTAMP.keras")
        q.add_argument("--epochs", type=_positive, metavar="N",
                       help="training epochs (default: the architecture's; the notebook used 20)")
        q.add_argument("--image-size", type=_image_size, metavar="S",
                       help="input size in pixels (default: 224, as the notebook)")
        q.add_argument("--batch-size", type=_positive, metavar="N", help="batch size (default: 64)")
        q.add_argument("--subset", type=_positive, metavar="N",
                       help="use at most N training images per class (quick runs)")
        q.add_argument("--preprocessing", choices=("notebook", "ink"),
                       help=f"image preprocessing (default: {ARCH_PREPROCESSING[arch]})")
        split_args(q)

    q = arches.add_parser("alexnet", help="the notebook's AlexNet", formatter_class=_Formatter, parents=[common],
                          description="Train the notebook's AlexNet from scratch (early stopping on the validation "
                                      "split). With --trials above 1, search its hyper-parameters first "
                                      "(see the tune command).")
    run_args(q, "alexnet")
    q.add_argument("--activation", default="relu", help="activation of the hidden layers")
    q.add_argument("--learning-rate", type=_positive_float, default=1e-3, metavar="LR", help="Adam learning rate")
    q.add_argument("--trials", type=_positive, metavar="N",
                   help="search hyper-parameters with Hyperband first (as `tune`, with --epochs as the most "
                        "epochs per trial; Hyperband derives the number of trials from it); 1 or absent: plain "
                        "training")
    q.set_defaults(handler=cmd_train)
    q = arches.add_parser("vgg19", help="VGG19 fine-tuned (transfer learning)", formatter_class=_Formatter,
                          parents=[common], description="Train the notebook's VGG19 transfer model.")
    run_args(q, "vgg19")
    q.add_argument("--weights", default="imagenet", metavar="imagenet|none|PATH",
                   help="starting weights of the VGG19 base: ImageNet (cached by Keras), none (random), or a "
                        "weights file")
    q.add_argument("--no-feature-cache", action="store_true",
                   help="train the full model over the images every epoch, as the notebook did (slower)")
    q.set_defaults(handler=cmd_train)
    q = arches.add_parser("default", help="the app's small default model", formatter_class=_Formatter,
                          parents=[common], description="Train the drawing pad's compact default model "
                                                        "('ink' preprocessing).")
    run_args(q, "default")
    q.add_argument("--train-on", choices=("train", "fit"), default="train",
                   help="train: the whole train split for the fixed schedule (how models/default.keras was made); "
                        "fit: the fit part only, keeping the epoch best on the validation part")
    q.set_defaults(handler=cmd_train)

    # tune
    p = command("tune", "search AlexNet hyper-parameters (Hyperband) and train the best",
                "Search AlexNet's hyper-parameters with Keras Tuner's Hyperband as the notebook did, then save "
                "the best model with its card.", cmd_tune)
    data_arg(p)
    p.add_argument("--output", metavar="PATH", help="model file (.keras); default: models/alexnet-TIMESTAMP.keras")
    p.add_argument("--max-epochs", type=_positive, default=100, metavar="N", help="most epochs per trial")
    p.add_argument("--factor", type=_factor, default=3, help="Hyperband reduction factor")
    p.add_argument("--image-size", type=_image_size, metavar="S", help="input size in pixels (default: 224)")
    p.add_argument("--batch-size", type=_positive, metavar="N", help="batch size (default: 64)")
    p.add_argument("--subset", type=_positive, metavar="N", help="use at most N training images per class")
    p.add_argument("--preprocessing", choices=("notebook", "ink"), help="image preprocessing (default: notebook)")
    split_args(p)
    p.add_argument("--directory", metavar="DIR", help="folder for the tuner's trials (default: <cache>/tuning/alexnet-<hash of data and "
                        "budget>, so --resume finds it without --directory)")
    p.add_argument("--resume", action="store_true", help="continue the search stored in --directory")

    # evaluate
    p = command("evaluate", "test a model on a dataset's test split",
                "Score a model on the test split of a dataset (the notebook's split unless --leak-free): "
                "accuracy and the per-class classification report. Changes nothing unless --update-card.",
                cmd_evaluate)
    p.add_argument("model", metavar="MODEL", help="model file (.keras with its card, or a notebook .h5)")
    data_arg(p)
    split_args(p)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--update-card", action="store_true", help="write these metrics into the model's card")

    # report
    p = command("report", "export a confusion-matrix report (PNG, PDF, CSV, JSON)",
                "Evaluate a model on the test split and write a report folder: confusion-matrix heatmap, "
                "classification-report table and misclassified-image gallery (PNG and one PDF), the numbers as "
                "CSV and JSON. The folder appears complete or not at all.", cmd_report)
    p.add_argument("model", metavar="MODEL", help="model file (.keras with its card, or a notebook .h5)")
    data_arg(p)
    p.add_argument("--output", required=True, metavar="DIR", help="report folder (new, empty, or an older report)")
    split_args(p)

    # predict
    p = command("predict", "recognise symbols in image files or folders",
                "Print the top-k classes of each image (folders are searched recursively). A file that cannot "
                "be read is reported and the others still predicted; the exit code is 1 if any failed.",
                cmd_predict)
    p.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER", help="images or folders of images")
    p.add_argument("--model", metavar="PATH",
                   help="model file (default: the newest trained model in models/, else models/default.keras)")
    p.add_argument("-k", type=_positive, default=5, help="how many classes to show per image")
    p.add_argument("--json", action="store_true", help="print the results as one JSON document")

    # info
    p = command("info", "show a model's card", "Print what a model's card records: labels, input, "
                "preprocessing, dataset, split, test metrics, training and library versions.", cmd_info)
    p.add_argument("model", metavar="MODEL", help="model file (.keras with its card, or a notebook .h5)")
    p.add_argument("--json", action="store_true", help="print the whole card as JSON")
    p.add_argument("--check", action="store_true", help="also load the model and check it matches its card")
    return parser


def _peek_mode(argv: list[str]) -> str:
    """--progress from a command line argparse may reject (so the error still reaches the GUI as JSON)."""
    mode = "bar"
    for i, arg in enumerate(argv):
        if arg == "--progress" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--progress="):
            mode = arg.split("=", 1)[1]
    return mode if mode in ("bar", "json", "none") else "bar"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises SystemExit itself)."""
    global _ARGV
    argv = list(sys.argv[1:] if argv is None else argv)
    _ARGV = argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ctx = Context(argparse.Namespace(), mode=_peek_mode(argv), stdout=sys.stdout, stderr=sys.stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        ctx.event("error", message=_one_line(str(exc)))
        print(f"{exc.parser.prog}: error: {_one_line(str(exc))}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    ctx.args = args
    ctx.mode = getattr(args, "progress", "bar")
    debug = getattr(args, "debug", False)
    ctx.progress = {"bar": lambda: TerminalBar(sys.stderr), "json": lambda: JsonLines(sys.stdout),
                    "none": lambda: ignore}[ctx.mode]()
    signals = _Signals(ctx)
    signals.install()
    try:
        return int(args.handler(ctx) or 0)
    except (Cancelled, _Interrupted, KeyboardInterrupt) as exc:
        signum = signals.signum or getattr(exc, "signum", None) or signal.SIGINT
        _cancelled(ctx)
        return EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT
    except MathSymError as exc:
        _fail(ctx, str(exc))
        return EXIT_ERROR
    except OSError as exc:
        if debug:
            traceback.print_exc()
        _fail(ctx, _os_message(exc))
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (rerun with --debug to see the traceback)"
        _fail(ctx, f"unexpected {type(exc).__name__}: {_one_line(str(exc))}{hint}")
        return EXIT_ERROR
    finally:
        signals.restore()


def _cancelled(ctx: Context) -> None:
    ctx.event("error", message="cancelled", cancelled=True)
    print(f"{PROG}: cancelled; nothing was written.", file=ctx.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
