"""The registry: every architecture and every command, described once.

The CLI's parser (``trainer.cli.parser``), the pad's Train menu, its job dialogs and the job arguments they
send are all generated from these entries, so a new architecture is one entry here plus its ``run`` function,
and a new command one entry plus its handler in ``trainer.cli.commands``. No TensorFlow here: the pad reads
this at start.
"""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

# -- value parsers (argparse types; their messages are shown to the user) ------------------------------------


def whole_number(low: int, high: int | None = None, what: str = "a number", unit: str = "") -> Callable[[str], int]:
    """An argparse type for whole numbers from ``low`` (to ``high``): every value out of range gets the same
    message, naming the whole range, so 0 and 1 are not refused for different reasons."""
    span = f"{what} from {low} to {high}{unit}" if high is not None else f"{what} of at least {low}{unit}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {span}, got {value}")
        return value

    return parse


positive_int = whole_number(1)
hyperband_factor = whole_number(2, what="a Hyperband factor")
#: What Keras's set_random_seed accepts (NumPy's seeding range).
training_seed = whole_number(0, 2**32 - 1, what="a seed")
#: The largest model input side the trainers accept (memory grows with its square).
MAX_IMAGE_SIZE = 1024


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def path_text(text: str) -> str:
    """A file or folder argument. An empty one (often an unset shell variable) would silently mean the current
    folder or the default model, so it is refused."""
    if not text:
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text


# -- options --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """How the pad's job dialog shows an option: a label and the kind of widget.

    kinds: ``dataset`` / ``folder`` / ``model`` (path pickers), ``int`` (a spin box from ``low`` to ``high``;
    ``zero_means_unset``: 0 stands for "not given"), ``choice`` (a combo box of the option's choices),
    ``flag`` (a check box).
    """

    label: str
    kind: str
    low: int = 0
    high: int = 1_000_000
    zero_means_unset: bool = False
    tip: str = ""


@dataclass(frozen=True)
class Option:
    """One command-line option (or positional argument), and the pad field that sets it, if any."""

    flag: str  # "--epochs", or a positional name such as "model"
    help: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    required: bool = False
    flag_only: bool = False  # a store_true switch
    nargs: str | None = None
    short: str | None = None  # e.g. "-k"
    field: Field | None = None

    @property
    def positional(self) -> bool:
        return not self.flag.startswith("-")

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        kw: dict[str, Any] = {"help": self.help}
        if self.flag_only:
            kw["action"] = "store_true"
        else:
            for key in ("type", "choices", "metavar", "nargs"):
                if getattr(self, key) is not None:
                    kw[key] = getattr(self, key)
            if self.default is not None:
                kw["default"] = self.default
        if self.positional:
            parser.add_argument(self.flag, **kw)
        else:
            names = [self.short, self.flag] if self.short else [self.flag]
            parser.add_argument(*names, required=self.required, **kw)

    def argv(self, value: Any) -> list[str]:
        """The command-line words that give this option ``value`` (nothing for unset values)."""
        if (
            value is None
            or value is False
            or value == ""
            or (self.field and self.field.zero_means_unset and value == 0)
        ):
            return []
        if self.flag_only:
            return [self.flag]
        return [str(value)] if self.positional else [self.flag, str(value)]


DATA = Option(
    "--data",
    "dataset folder: one sub-folder of images per class (the Kaggle layout)",
    type=path_text,
    metavar="DIR",
    required=True,
    field=Field("Dataset folder:", "dataset"),
)
SEED = Option("--seed", "split seed; the notebook used 1001", type=int, default=1001)
LEAK_FREE = Option("--leak-free", "move test images that have a byte-identical copy in train to train", flag_only=True)
MODEL_ARG = Option(
    "model",
    "model file (.keras with its card, or a notebook .h5)",
    type=path_text,
    metavar="MODEL",
    field=Field("Model:", "model"),
)

PATHS = Option("paths", "images or folders of images", type=path_text, nargs="+", metavar="FILE_OR_FOLDER")
ACTIVE_MODEL = Option(
    "--model",
    "model file (default: the newest trained model, else the shipped default)",
    type=path_text,
    metavar="PATH",
)
JSON_DOC = Option("--json", "print the results as one JSON document", flag_only=True)


def run_options(arch: Architecture) -> tuple[Option, ...]:
    """The options every training run takes, with this architecture's defaults in the help and the pad."""
    return (
        DATA,
        Option(
            "--output",
            "model file (.keras; its card goes beside it); default: a time-stamped file in the models folder",
            type=path_text,
            metavar="PATH",
        ),
        Option(
            "--epochs",
            arch.epochs_help,
            type=positive_int,
            default=arch.epochs,
            metavar="N",
            field=Field("Epochs:", "int", 1, 1000),
        ),
        Option(
            "--image-size",
            f"input size in pixels, {arch.min_image_size} to {MAX_IMAGE_SIZE}",
            type=whole_number(arch.min_image_size, MAX_IMAGE_SIZE, "an image size", " pixels"),
            default=arch.image_size,
            metavar="S",
            field=Field(
                "Image size:", "int", max(32, arch.min_image_size), 512, tip="Side of the square model input in pixels"
            ),
        ),
        Option("--batch-size", "batch size", type=positive_int, default=arch.batch_size, metavar="N"),
        Option(
            "--subset",
            "use at most N training images per class (quick runs)",
            type=positive_int,
            metavar="N",
            field=Field(
                "Images per class (0 = all):", "int", 0, 1_000_000, zero_means_unset=True, tip="Train on a quick subset"
            ),
        ),
        Option("--preprocessing", "image preprocessing", choices=("notebook", "ink"), default=arch.preprocessing),
        SEED,
        LEAK_FREE,
    )


# -- what the pad shows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PadJob:
    """A command the pad runs as a job: its dialog title, Train-menu entry and first line.

    ``output`` says what the job's ``--output`` is: ``"model"`` (the pad gives a fresh file in the models
    folder), ``"folder"`` (the user picks one) or ``""`` (none).
    """

    title: str
    menu: str
    intro: str = ""
    output: str = ""


# -- architectures ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    """A model family: how to build it, how it is trained by default, and its own extra options.

    ``run`` names ``module:function``, called as ``function(config, options, progress=, cancel=)`` with the
    RunConfig and a dict of this architecture's extra option values; it returns the saved model's path.
    """

    name: str
    title: str
    help: str
    description: str
    builder: str  # module:function that builds the Keras model
    run: str
    preprocessing: str
    epochs: int
    batch_size: int = 64
    image_size: int = 224
    min_image_size: int = 8  # the smallest input its layers can take (the model builder checks it too)
    extra: tuple[Option, ...] = ()
    pad: PadJob | None = None
    epochs_help: str = "training epochs"

    @property
    def options(self) -> tuple[Option, ...]:
        return (*run_options(self), *self.extra)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            "alexnet",
            "AlexNet",
            "the notebook's AlexNet",
            "Train the notebook's AlexNet from scratch (early stopping on the validation split). With --trials "
            "above 1, search its hyper-parameters with Hyperband first (see the tune command).",
            builder="trainer.models.alexnet:build_alexnet",
            run="trainer.training.alexnet:run",
            preprocessing="notebook",
            epochs=20,
            min_image_size=67,
            extra=(
                Option("--activation", "activation of the hidden layers", choices=("relu", "tanh"), default="relu"),
                Option("--learning-rate", "Adam learning rate", type=positive_float, default=1e-3, metavar="LR"),
                Option(
                    "--trials",
                    "search hyper-parameters with Hyperband first (as `tune`, with --epochs as the "
                    "most epochs per trial; Hyperband derives the number of trials from it); 1 or absent: "
                    "plain training",
                    type=positive_int,
                    metavar="N",
                ),
            ),
            pad=PadJob(
                "Train AlexNet",
                "Train A&lexNet…",
                "Train the notebook's AlexNet once (relu, Adam 1e-3, "
                "early stopping); Tune AlexNet… searches its hyper-parameters first.",
                output="model",
            ),
        ),
        Architecture(
            "vgg19",
            "VGG19",
            "VGG19 fine-tuned (transfer learning)",
            "Train the notebook's VGG19 transfer model: frozen base, Flatten, Dropout 0.5, Dense(19).",
            builder="trainer.models.vgg19:build_vgg19",
            run="trainer.training.vgg19:run",
            preprocessing="notebook",
            epochs=20,
            min_image_size=32,
            extra=(
                Option(
                    "--weights",
                    "starting weights of the VGG19 base: ImageNet (cached by Keras), none (random), or a weights file",
                    type=path_text,
                    default="imagenet",
                    metavar="imagenet|none|PATH",
                ),
                Option(
                    "--no-feature-cache",
                    "train the full model over the images every epoch, as the notebook did (slower)",
                    flag_only=True,
                ),
            ),
            pad=PadJob(
                "Train VGG19", "Train &VGG19…", "Fine-tune VGG19 (ImageNet weights) on the dataset.", output="model"
            ),
        ),
        Architecture(
            "default",
            "Default model",
            "the app's small default model",
            "Train the drawing pad's compact default model ('ink' preprocessing).",
            builder="trainer.models.default:build",
            run="trainer.training.default:run",
            preprocessing="ink",
            epochs=20,
            batch_size=128,
            extra=(
                Option(
                    "--train-on",
                    "train: the whole train split for the fixed schedule (how the shipped "
                    "model was made); fit: the fit part only, keeping the epoch best on the validation part",
                    choices=("train", "fit"),
                    default="train",
                ),
                Option(
                    "--training-seed",
                    "seed of the weights, the shuffling and the augmentation (default: the split seed)",
                    type=training_seed,
                    metavar="N",
                ),
            ),
            pad=PadJob(
                "Train Default Model",
                "Train &Default Model…",
                "Train the pad's own compact model (fast, made for drawn symbols).",
                output="model",
            ),
        ),
    )
}


def load(target: str) -> Callable[..., Any]:
    """The function named ``module:function``, imported late (the heavy trainers load TensorFlow)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


# -- commands -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A ``mathsym-train`` sub-command: its help, its options and, when the pad runs it, its job dialog.
    ``train`` has one sub-command per architecture instead of options of its own."""

    name: str
    help: str
    description: str
    options: tuple[Option, ...] = ()
    pad: PadJob | None = None


OUTPUT_FOLDER = Option(
    "--output", "output folder", type=path_text, metavar="DIR", required=True, field=Field("Output folder:", "folder")
)

COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "split",
            "split a dataset into train/val/test folders like the notebook",
            "Copy (or link) a class-per-folder dataset into train/, val/ and test/ folders exactly as the "
            "notebook's split-folders call did on Windows (ratio 0.9/0/0.1, seed 1001), and write split.json. "
            "Prints per-class counts, skipped files and byte-identical duplicates.",
            (
                DATA,
                replace(OUTPUT_FOLDER, help="new or empty folder for train/ val/ test/"),
                SEED,
                LEAK_FREE,
                Option("--link", "create symbolic links instead of copying the images", flag_only=True),
            ),
            PadJob(
                "Split Dataset",
                "&Split Dataset…",
                "Copy a class-per-folder dataset into train / validation / test folders, as the notebook did.",
                output="folder",
            ),
        ),
        Command(
            "train",
            "train a model (" + ", ".join(ARCHITECTURES) + ")",
            "Train a model on the notebook's split, evaluate it on the test split and save it with its card "
            "(atomically; a cancelled run writes nothing).",
        ),
        Command(
            "tune",
            "search AlexNet hyper-parameters (Hyperband) and train the best",
            "Search AlexNet's hyper-parameters with Keras Tuner's Hyperband as the notebook did (activation "
            "relu|tanh, Adam learning rate 1e-2..1e-5, objective val_accuracy), then save the best model with its "
            "card.",
            (
                # A search trains AlexNets: the same run options, with --max-epochs in place of --epochs.
                *(o for o in run_options(ARCHITECTURES["alexnet"]) if o.dest not in ("epochs", "seed", "leak_free")),
                Option(
                    "--max-epochs",
                    "most epochs per trial",
                    type=positive_int,
                    default=100,
                    metavar="N",
                    field=Field("Max. epochs per trial:", "int", 1, 1000),
                ),
                Option("--factor", "Hyperband reduction factor", type=hyperband_factor, default=3),
                SEED,
                LEAK_FREE,
                Option(
                    "--directory",
                    "folder for the tuner's trials (default: <cache>/tuning/alexnet-<hash of "
                    "data and budget>, so --resume finds it without --directory)",
                    type=path_text,
                    metavar="DIR",
                ),
                Option("--resume", "continue the search stored in --directory", flag_only=True),
                Option(
                    "--chief",
                    "serve the search to workers on HOST:PORT, then train and save the best model "
                    "(several machines: give all the same shared --directory)",
                    metavar="HOST:PORT",
                ),
                Option(
                    "--worker",
                    "run trials for the chief at HOST:PORT (with --tuner-id); or set the KERASTUNER_* variables",
                    metavar="HOST:PORT",
                ),
                Option(
                    "--tuner-id",
                    "this worker's name, unique among the workers; restart a dead worker with "
                    "the same name to finish its trial",
                    metavar="NAME",
                ),
            ),
            PadJob(
                "Tune AlexNet",
                "Tune &AlexNet…",
                "Search AlexNet hyper-parameters (Hyperband, at most this many "
                "epochs per trial), then train the best one.",
                output="model",
            ),
        ),
        Command(
            "adapt",
            "learn a writer's hand: fine-tune a model on personal samples",
            "Fine-tune a trained model (not from scratch) on a samples folder laid out like the dataset (the pad "
            "saves corrections there), mixed with a replay of the dataset's train split so nothing is forgotten. "
            "A class the model does not know is added (symbol.txt in its folder gives the character and LaTeX). "
            "A default-architecture model keeps its base model's answers for drawings unlike any sample. "
            "The base and the new model are scored on the same test split; the card records the base model, the "
            "sample counts and a hash of the samples. The base model and the samples are only read.",
            (
                Option(
                    "--samples",
                    "samples folder: one sub-folder of images per class (default: your samples folder)",
                    type=path_text,
                    metavar="DIR",
                    field=Field("Samples folder:", "dataset"),
                ),
                Option(
                    "--model",
                    "model to start from (default: the newest trained model, else the shipped default)",
                    type=path_text,
                    metavar="PATH",
                    field=Field("Start from model:", "model"),
                ),
                Option(
                    "--output",
                    "model file (.keras); default: a time-stamped file in the models folder",
                    type=path_text,
                    metavar="PATH",
                ),
                Option(
                    "--epochs",
                    "passes over the samples and the replay",
                    type=positive_int,
                    default=6,
                    metavar="N",
                    field=Field("Epochs:", "int", 1, 200),
                ),
                Option(
                    "--data",
                    "dataset whose train split is replayed and whose test split scores both models "
                    "(default: the base model's dataset if present, else generated template symbols)",
                    type=path_text,
                    metavar="DIR",
                ),
                Option(
                    "--replay",
                    "replayed train images per class, at least 1",
                    type=positive_int,
                    default=40,
                    metavar="N",
                ),
                Option("--subset", "use at most N samples per class (N >= 2)", type=positive_int, metavar="N"),
                Option(
                    "--learning-rate",
                    "Adam learning rate (cosine decay): higher learns a hand faster and forgets more of the dataset",
                    type=positive_float,
                    default=5e-4,
                    metavar="LR",
                ),
            ),
            PadJob(
                "Learn My Handwriting",
                "Learn My &Handwriting…",
                "Fine-tune the active model on your samples "
                "(the drawings you corrected), keeping what it knows. Takes about a minute.",
                output="model",
            ),
        ),
        Command(
            "evaluate",
            "test a model on a dataset's test split",
            "Score a model on the test split of a dataset (the notebook's split unless --leak-free): accuracy and "
            "the per-class classification report. Changes nothing unless --update-card.",
            (
                MODEL_ARG,
                DATA,
                SEED,
                LEAK_FREE,
                Option("--json", "print the metrics as JSON", flag_only=True),
                Option(
                    "--update-card",
                    "write these metrics into the model's card; only for the test split the card records (same "
                    "dataset, --seed and --leak-free), since its dataset and split records stay those of training",
                    flag_only=True,
                ),
            ),
            PadJob("Evaluate Model", "&Evaluate…", "Measure a model's accuracy on the test split of a dataset."),
        ),
        Command(
            "report",
            "export a confusion-matrix report (PNG, PDF, CSV, JSON)",
            "Evaluate a model on the test split and write a report folder: confusion-matrix heatmap, "
            "classification-report table and misclassified-image gallery (PNG and one PDF), the numbers as CSV "
            "and JSON. The folder appears complete or not at all.",
            (
                MODEL_ARG,
                DATA,
                replace(OUTPUT_FOLDER, help="report folder (new, empty, or an older report)"),
                SEED,
                LEAK_FREE,
            ),
            PadJob(
                "Export Confusion-Matrix Report",
                "&Export Confusion-Matrix Report…",
                "Evaluate the model on the test split and write the confusion matrix and per-class report into "
                "a folder.",
                output="folder",
            ),
        ),
        Command(
            "predict",
            "recognise symbols in image files or folders",
            "Print the top-k classes of each image (folders are searched recursively). A file that cannot be read "
            "is reported and the others still predicted; the exit code is 1 if any failed.",
            (
                PATHS,
                ACTIVE_MODEL,
                Option("-k", "how many classes to show per image", type=positive_int, default=5),
                JSON_DOC,
            ),
        ),
        Command(
            "read",
            "read whole handwritten lines (e.g. 12÷4+3= or 2x+3=11) and calculate them",
            "Segment each image into symbols, recognise them in one batch, choose the reading that parses as a "
            "line of arithmetic, and calculate it exactly: a value, a fraction with its decimal, or an equation in "
            "x, y, z solved. A file without a result says why; the exit code is 1 only if a file cannot be read.",
            (
                PATHS,
                ACTIVE_MODEL,
                Option("-k", "how many classes to keep per symbol", type=positive_int, default=3),
                JSON_DOC,
            ),
        ),
        Command(
            "onnx",
            "write a model's ONNX twin (fast start, no TensorFlow when predicting)",
            "Export the model to X.onnx beside it, checked against the Keras model on template drawings; the pad, "
            "predict and read then run the twin with ONNX Runtime. For models that have none: a notebook .h5 or "
            "a model saved before twins existed (every save writes one now).",
            (replace(MODEL_ARG, field=None),),
        ),
        Command(
            "info",
            "show a model's card",
            "Print what a model's card records: labels, input, preprocessing, dataset, split, test metrics, "
            "training and library versions.",
            (
                replace(MODEL_ARG, field=None),
                Option("--json", "print the whole card as JSON", flag_only=True),
                Option("--check", "also load the model and check it matches its card", flag_only=True),
            ),
        ),
    )
}


@dataclass(frozen=True)
class Job:
    """One entry of the pad's job dialogs: the CLI words that start it, its options, and how it looks."""

    key: str
    words: tuple[str, ...]
    options: tuple[Option, ...]
    pad: PadJob

    @property
    def fields(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.field is not None)

    @property
    def title(self) -> str:
        return self.pad.title

    @property
    def intro(self) -> str:
        return self.pad.intro

    @property
    def command(self) -> str:
        return self.words[0]

    @property
    def trains(self) -> bool:
        return self.pad.output == "model"

    def default(self, dest: str) -> Any:
        """The value the CLI would use for an option the user leaves alone."""
        return next((o.default for o in self.options if o.dest == dest), None)


def pad_jobs() -> dict[str, Job]:
    """Every command and architecture the pad offers, keyed by command name, and by architecture name for
    ``train`` (``split``, ``alexnet``, ``vgg19``, ``default``, ``tune``, ``evaluate``, ``report``)."""
    jobs: dict[str, Job] = {}
    for command in COMMANDS.values():
        if command.name == "train":
            for arch in ARCHITECTURES.values():
                if arch.pad is not None:
                    jobs[arch.name] = Job(arch.name, ("train", arch.name), arch.options, arch.pad)
        elif command.pad is not None:
            jobs[command.name] = Job(command.name, (command.name,), command.options, command.pad)
    return jobs
