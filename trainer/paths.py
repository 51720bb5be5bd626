"""Where models and the user's files live and which model to use; free of TensorFlow so the window can ask
before it loads.

Two kinds of place, never mixed: the shipped models are read-only package data (``mathsym_models``, the
checkout's ``models/`` folder, found through importlib.resources), and everything MathSym writes (trained
models, personal samples, caches, logs) goes to the platform's user folders, or under ``$MATHSYM_HOME``.
"""

from __future__ import annotations

import importlib.resources
import os
from datetime import datetime
from pathlib import Path

#: The package that holds the shipped models (the folder ``models/`` of the checkout).
SHIPPED_PACKAGE = "mathsym_models"
DEFAULT_MODEL_NAME = "default.keras"
APP_DIR_NAME = "mathsym"
#: One root for everything MathSym writes: ``models/``, ``samples/``, ``cache/``, ``logs/`` inside it.
HOME_ENV = "MATHSYM_HOME"
#: Narrower overrides, kept for scripts and tests that set them.
MODELS_ENV = "MATHSYM_MODELS"
CACHE_ENV = "MATHSYM_CACHE"
USER_FOLDERS = ("models", "samples", "cache", "logs")


def _shipped_dir() -> Path:
    try:
        folder = importlib.resources.files(SHIPPED_PACKAGE)
    except ModuleNotFoundError:  # a bare checkout run without installing (python -m trainer from the repo)
        return Path(__file__).resolve().parent.parent / "models"
    # pip always unpacks wheels, so the package is a real folder (not a zip) in every supported install.
    return Path(str(folder))


#: The shipped models' folder: read-only, never written to.
MODELS_DIR = _shipped_dir()


def shipped_default() -> Path:
    """The shipped default model (its ``.card.json`` and ``.onnx`` twin lie beside it)."""
    return MODELS_DIR / DEFAULT_MODEL_NAME


def card_path(model_path: str | os.PathLike) -> Path:
    """Where the card of a model file lives: ``name.keras`` -> ``name.card.json``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


def user_dir(kind: str) -> Path:
    """The folder for one kind of the user's files (``models``, ``samples``, ``cache`` or ``logs``).

    ``$MATHSYM_HOME/<kind>`` when set, else the platform's place (on Linux ``~/.local/share/mathsym/models``,
    ``~/.cache/mathsym``, ``~/.local/state/mathsym/log``). Only the path: callers create it when they write.
    """
    if kind not in USER_FOLDERS:
        raise ValueError(f"unknown user folder {kind!r}; expected one of {USER_FOLDERS}")
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / kind
    import platformdirs

    if kind == "cache":
        return Path(platformdirs.user_cache_dir(APP_DIR_NAME, appauthor=False))
    if kind == "logs":
        return Path(platformdirs.user_log_dir(APP_DIR_NAME, appauthor=False))
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)) / kind


def models_dir() -> Path:
    """Where trained models are written and looked for ($MATHSYM_MODELS overrides the user folder)."""
    env = os.environ.get(MODELS_ENV)
    return Path(env).expanduser() if env else user_dir("models")


def cache_dir() -> Path:
    """Where recomputable data is cached: preprocessed arrays, VGG19 features, tuning searches
    ($MATHSYM_CACHE overrides the user folder)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else user_dir("cache")


def samples_dir() -> Path:
    """Where the user's personal samples are kept."""
    return user_dir("samples")


def logs_dir() -> Path:
    return user_dir("logs")


def unwritable(folders) -> dict[Path, str]:
    """The folders (created when missing) that cannot be written, each with the reason; empty when all are fine."""
    problems = {}
    for folder in map(Path, folders):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            problems[folder] = exc.strerror or str(exc)
    return problems


def default_output(architecture: str, folder: str | os.PathLike | None = None) -> Path:
    """A fresh, time-stamped model path in the user's models folder, such as ``vgg19-20261125-143000.keras``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(folder if folder is not None else models_dir()) / f"{architecture}-{stamp}.keras"


def newest_trained(folder: str | os.PathLike | None = None) -> Path | None:
    """The most recently written non-default ``.keras`` model (with its card) in the folder, if any."""
    folder = Path(folder if folder is not None else models_dir())
    if not folder.is_dir():
        return None
    found = [
        p
        for p in folder.glob("*.keras")
        if p.name != DEFAULT_MODEL_NAME and not p.name.startswith(".") and p.is_file() and card_path(p).is_file()
    ]
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


def find_model(
    folder: str | os.PathLike | None = None,
    remembered: str | os.PathLike | None = None,
    default: str | os.PathLike | None = None,
) -> Path | None:
    """The model to start with: the remembered one if it still exists, else the newest trained in ``folder``,
    else ``default``, else None.

    Without ``folder`` the user's models folder is searched and ``default`` is the shipped default model;
    with a ``folder``, ``default`` is that folder's ``default.keras``.
    """
    if remembered and Path(remembered).is_file():
        return Path(remembered)
    newest = newest_trained(folder)
    if newest is not None:
        return newest
    if default is None:
        default = shipped_default() if folder is None else Path(folder) / DEFAULT_MODEL_NAME
    return Path(default) if Path(default).is_file() else None
