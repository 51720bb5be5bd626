"""The user's personal samples: corrected drawings saved class-per-folder, exactly like the Kaggle dataset.

``<folder>/<class>/<stem>.png`` is the 224 px raster the model saw and ``<stem>.json`` beside it holds the
strokes, so :func:`trainer.data.dataset.scan_dataset` (and every trainer command) reads the folder as a
dataset. A class the shipped labels do not know may carry ``symbol.txt``: its character on the first line
and its LaTeX on the second. No Qt here: the pad and ``mathsym-train adapt`` share this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from trainer.atomic import atomic_write_bytes
from trainer.data.dataset import DatasetIndex, scan_dataset
from trainer.data.imageio import is_image_name
from trainer.digest import file_sha256
from trainer.errors import DatasetError
from trainer.labels import label_problem

SAMPLE_FORMAT = "mathsym-sample/1"
RASTER_SIZE = 224
SYMBOL_FILE = "symbol.txt"
#: ``adapt`` needs at least this many samples of every class it learns from.
MIN_PER_CLASS = 2
#: Characters refused in class names: path separators, and what Windows cannot put in a folder name.
_FORBIDDEN = set('/\\<>:"|?*')


class SampleError(DatasetError):
    """A sample or samples folder that cannot be used; the message says why and what to do."""


def validate_label(name: object) -> str:
    """Return ``name`` when it can be a class label (trainer.labels) and a class folder on every OS; raise
    SampleError otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise SampleError("A class name cannot be empty.")
    problem = label_problem(name)
    if problem is not None:
        raise SampleError(f"Class name {name!r} {problem}.")  # repr escapes what printable() would
    if name.startswith("."):
        raise SampleError(f"Class name {name!r} cannot start with a dot (such folders are hidden or special).")
    bad = sorted({c for c in name if c in _FORBIDDEN})
    if bad:
        raise SampleError(
            f"Class name {name!r} contains {', '.join(repr(c) for c in bad)}; path separators and "
            "the characters Windows refuses in folder names cannot be used."
        )
    if name != name.strip():
        raise SampleError(f"Class name {name!r} starts or ends with a space.")
    return name


@dataclass(frozen=True)
class SavedSample:
    """The files of one saved sample (what undo removes)."""

    label: str
    image: Path
    strokes: Path


def _raster_png(raster: np.ndarray) -> bytes:
    raster = np.asarray(raster)
    if raster.dtype != np.uint8 or raster.ndim != 3 or raster.shape[2] != 3:
        raise SampleError("A sample raster must be an (H, W, 3) uint8 RGB image.")
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(raster, cv2.COLOR_RGB2BGR))
    if not ok:
        raise SampleError("The sample could not be encoded as PNG.")
    return encoded.tobytes()


def save_sample(
    strokes: list[dict] | None, raster: np.ndarray, label: str, folder: str | os.PathLike, meta: dict | None = None
) -> SavedSample:
    """Write one labelled sample (raster PNG + strokes JSON) into ``folder/label/``, each file atomically.

    ``strokes`` is None for an opened image. On any write error both new files are removed, earlier samples
    are untouched, and SampleError says what went wrong.
    """
    validate_label(label)
    png = _raster_png(raster)
    created = datetime.now(UTC)
    record = {
        "format": SAMPLE_FORMAT,
        "label": label,
        "created": created.isoformat(timespec="seconds"),
        "source": "drawing" if strokes is not None else "image",
        **(meta or {}),
        "strokes": strokes or [],
    }
    stem = created.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    target = Path(folder) / label
    saved = SavedSample(label, target / f"{stem}.png", target / f"{stem}.json")
    try:
        target.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(saved.strokes, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        atomic_write_bytes(saved.image, png)
    except OSError as exc:
        for p in (saved.strokes, saved.image):
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass
        raise SampleError(
            f"Cannot save the sample in {target}: {exc.strerror or exc}. Your drawing and earlier samples are kept."
        ) from exc
    return saved


def remove_sample(saved: SavedSample) -> None:
    """Delete a saved sample's files (undo); its class folder goes too when nothing else is left in it."""
    try:
        for p in (saved.image, saved.strokes):
            p.unlink(missing_ok=True)
        folder = saved.image.parent
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    except OSError as exc:
        raise SampleError(f"Cannot remove the sample {saved.image.name}: {exc.strerror or exc}.") from exc


def count_samples(folder: str | os.PathLike) -> dict[str, int]:
    """Images per class folder (what the pad shows); a missing or unreadable folder counts as empty."""
    root = Path(folder)
    counts: dict[str, int] = {}
    try:
        for sub in sorted(root.iterdir()):
            if sub.is_dir() and not sub.name.startswith("."):
                n = sum(1 for p in sub.iterdir() if p.is_file() and is_image_name(p))
                if n:
                    counts[sub.name] = n
    except OSError:
        return {}
    return counts


def read_symbol_file(class_folder: str | os.PathLike) -> dict[str, str] | None:
    """``{"symbol": char, "latex": latex}`` from a class folder's symbol.txt, or None when it has none."""
    path = Path(class_folder) / SYMBOL_FILE
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SampleError(f"{path} cannot be read: {exc}.") from exc
    if not lines or any(unicodedata.category(c) == "Cc" for c in "".join(lines)):
        raise SampleError(f"{path} must give the symbol on its first line (and its LaTeX on the second).")
    return {"symbol": lines[0], "latex": lines[1] if len(lines) > 1 else lines[0]}


@dataclass
class SampleSet:
    """A checked samples folder: its dataset index, counts per class, symbols of new classes, content hash."""

    index: DatasetIndex
    counts: dict[str, int]
    symbols: dict[str, dict[str, str]]
    digest: str

    def summary(self) -> str:
        return f"{len(self.index)} samples in {len(self.counts)} classes under {self.index.root}"


def _is_sample_file(p: Path) -> bool:
    """Files a samples class folder may hold: images, strokes JSON beside an image, symbol.txt, hidden files."""
    if p.name.startswith(".") or p.name == SYMBOL_FILE or is_image_name(p):
        return True
    return p.suffix == ".json" and any(p.with_suffix(s).is_file() for s in (".png", ".jpg", ".jpeg"))


def scan_samples(folder: str | os.PathLike, min_per_class: int = MIN_PER_CLASS) -> SampleSet:
    """Check a samples folder before anything is trained or written: one clear SampleError if it is missing,
    empty, unreadable, holds junk files or invalid class names, or has a class with too few samples."""
    root = Path(folder)
    if not root.exists():
        raise SampleError(f"Samples folder {root} does not exist; correct some drawings in the pad first.")
    if not root.is_dir():
        raise SampleError(f"{root} is not a folder; choose the samples folder (one sub-folder per class).")
    try:
        entries = sorted(root.iterdir())
        classes = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
        junk = [p for p in entries if p.is_file() and not p.name.startswith(".")]
        for c in classes:
            validate_label(c.name)
            junk += [p for p in sorted(c.iterdir()) if not (p.is_file() and _is_sample_file(p))]
    except PermissionError as exc:
        raise SampleError(f"Samples folder {exc.filename or root} cannot be read: permission denied.") from exc
    except OSError as exc:
        raise SampleError(f"Samples folder {root} cannot be read: {exc.strerror or exc}.") from exc
    if not classes:
        raise SampleError(f"Samples folder {root} holds no samples yet (no class sub-folders).")
    if junk:
        shown = ", ".join(str(p.relative_to(root)) for p in junk[:3]) + (" …" if len(junk) > 3 else "")
        raise SampleError(
            f"Samples folder {root} holds {len(junk)} file(s) that are not samples ({shown}); move them elsewhere."
        )
    try:
        index = scan_dataset(root)
    except DatasetError as exc:
        raise SampleError(str(exc)) from exc
    counts = {name: len(files) for name, files in index.files.items()}
    few = {name: n for name, n in counts.items() if n < min_per_class}
    if few:
        shown = ", ".join(f"{name!r} has {n}" for name, n in few.items())
        raise SampleError(f"Every class needs at least {min_per_class} samples; {shown}.")
    symbols = {c.name: s for c in classes if (s := read_symbol_file(c)) is not None}
    h = hashlib.sha256()
    for name, files in index.files.items():
        for p in files:
            h.update(f"{name}/{p.name}:{file_sha256(p)}\n".encode())
    return SampleSet(index, counts, symbols, h.hexdigest()[:16])
