"""Where models live and which one to use; free of TensorFlow so the window can ask before it loads."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from .card import card_path

#: The checkout's models/ folder: the embedded default model and, by default, every trained one.
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL_NAME = "default.keras"


def models_dir() -> Path:
    """The models folder (MATHSYM_MODELS overrides ``models/`` of the checkout)."""
    env = os.environ.get("MATHSYM_MODELS")
    return Path(env) if env else MODELS_DIR


def default_output(architecture: str, folder: str | os.PathLike | None = None) -> Path:
    """A fresh, time-stamped model path such as ``models/vgg19-20261125-143000.keras``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(folder if folder is not None else models_dir()) / f"{architecture}-{stamp}.keras"


def newest_trained(folder: str | os.PathLike | None = None) -> Path | None:
    """The most recently written non-default ``.keras`` model (with its card) in the folder, if any."""
    folder = Path(folder if folder is not None else models_dir())
    if not folder.is_dir():
        return None
    found = [p for p in folder.glob("*.keras") if p.name != DEFAULT_MODEL_NAME and not p.name.startswith(".")
             and p.is_file() and card_path(p).is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


def find_model(folder: str | os.PathLike | None = None, remembered: str | os.PathLike | None = None) -> Path | None:
    """The model to start with: the remembered one if it still exists, else the newest trained, else the
    embedded default, else None."""
    if remembered and Path(remembered).is_file():
        return Path(remembered)
    newest = newest_trained(folder)
    if newest is not None:
        return newest
    default = Path(folder if folder is not None else models_dir()) / DEFAULT_MODEL_NAME
    return default if default.is_file() else None
