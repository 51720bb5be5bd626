"""Train/validation/test splits, exactly as the notebook made them, plus a leak-free variant.

The notebook called ``splitfolders.ratio(..., seed=1001, ratio=(0.9, 0, 0.1))`` on Windows. split-folders
lists each class folder (skipping dot-files), sorts the paths, seeds Python's ``random`` with the seed and
shuffles; on Windows ``Path`` sorting is case-insensitive, so we sort by the lower-cased name on every OS.
Then ``image_dataset_from_directory(validation_split=0.25, seed=1001)`` held out the last quarter of the
training files after a NumPy shuffle of their case-sensitively sorted paths.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import random
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.atomic import replacement_mode
from trainer.data.dataset import DatasetIndex, Duplicates, Sample, find_duplicates
from trainer.errors import DatasetError

NOTEBOOK_SEED = 1001
NOTEBOOK_RATIO = (0.9, 0.0, 0.1)
NOTEBOOK_VALIDATION = 0.25
#: Written first into a split's staging folder: which process made it. A later split removes such a folder only
#: when that process (on this machine) is gone; a folder without it is never touched.
STAGING_MARKER = ".mathsym-split-staging"


@dataclass
class Split:
    """Which files went where; ``kind`` says how ("notebook" or "leak-free")."""

    kind: str
    seed: int
    class_names: tuple[str, ...]
    train: list[Sample]
    test: list[Sample]
    val: list[Sample] = field(default_factory=list)  # split-folders' own val part (empty for the notebook)
    moved_to_train: int = 0  # leak-free: test images moved to train because a copy sat there

    def fingerprint(self) -> str:
        """A short hash of the test file list (class/name), recorded in model cards."""
        names = "\n".join(f"{s.path.parent.name}/{s.path.name}" for s in self.test)
        return hashlib.sha256(names.encode()).hexdigest()[:16]

    def test_counts(self) -> dict[str, int]:
        counts = {name: 0 for name in self.class_names}
        for s in self.test:
            counts[self.class_names[s.label]] += 1
        return counts

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "ratio": list(NOTEBOOK_RATIO),
            "train": len(self.train),
            "test": len(self.test),
            "test_per_class": self.test_counts(),
            "test_fingerprint": self.fingerprint(),
            "moved_to_train": self.moved_to_train,
        }


def notebook_split(
    index: DatasetIndex, seed: int = NOTEBOOK_SEED, ratio: tuple[float, float, float] = NOTEBOOK_RATIO
) -> Split:
    """split-folders' ratio split, reproduced file for file as it ran on Windows."""
    if round(sum(ratio), 5) != 1 or len(ratio) != 3:
        raise DatasetError(f"Split ratios must be three numbers summing to 1; got {ratio}.")
    train: list[Sample] = []
    val: list[Sample] = []
    test: list[Sample] = []
    for label, name in enumerate(index.class_names):
        files = sorted(index.files[name], key=lambda p: str(p).lower())
        rng = random.Random(seed)
        rng.shuffle(files)
        n_train = int(ratio[0] * len(files))
        n_val = int(ratio[1] * len(files))
        train += [Sample(p, label) for p in files[:n_train]]
        val += [Sample(p, label) for p in files[n_train : n_train + n_val]]
        test += [Sample(p, label) for p in files[n_train + n_val :]]
    return Split("notebook", seed, index.class_names, train, test, val)


def leak_free_split(index: DatasetIndex, seed: int = NOTEBOOK_SEED, duplicates: Duplicates | None = None) -> Split:
    """The notebook split, but any test image with a byte-identical copy in train moves to train."""
    split = notebook_split(index, seed)
    duplicates = duplicates or find_duplicates(index)
    leaked = leaked_test_samples(split, duplicates)
    split.kind = "leak-free"
    split.train += [s for s in split.test if s.path in leaked]
    split.test = [s for s in split.test if s.path not in leaked]
    split.moved_to_train = len(leaked)
    return split


def leaked_test_samples(split: Split, duplicates: Duplicates) -> set[Path]:
    """Test files that have a byte-identical copy among the training files (any class)."""
    train_digests = {duplicates.digest[s.path] for s in split.train + split.val}
    return {s.path for s in split.test if duplicates.digest[s.path] in train_digests}


def validation_split(
    train: list[Sample], fraction: float = NOTEBOOK_VALIDATION, seed: int = NOTEBOOK_SEED
) -> tuple[list[Sample], list[Sample]]:
    """(fit, validation) as ``image_dataset_from_directory`` cut them from the split's train folder."""
    ordered = sorted(train, key=lambda s: (s.label, s.path.name))
    rng = np.random.RandomState(seed)
    order = np.arange(len(ordered))
    rng.shuffle(order)
    shuffled = [ordered[i] for i in order]
    n_val = int(fraction * len(shuffled))
    if n_val == 0:
        return shuffled, []
    return shuffled[:-n_val], shuffled[-n_val:]


def write_split(split: Split, output: str | os.PathLike, link: bool = False) -> Path:
    """Write train/val/test class folders like split-folders (copies, or symlinks) plus split.json.

    Files go into a new hidden staging folder beside ``output`` (marked as this run's) that is renamed into
    place at the end. On any failure or interruption only that folder is removed; staging folders left by a
    split that was killed are removed by the next split to the same output.
    """
    output = Path(output)
    if output.exists() and any(output.iterdir()):
        raise DatasetError(f"Output folder {output} is not empty; choose a new or empty folder.")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_staging(output)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
    except OSError as exc:
        raise DatasetError(f"Cannot write the split to {output}: {exc.strerror or exc}.") from exc
    try:
        marker = {"pid": os.getpid(), "host": socket.gethostname()}
        (staging / STAGING_MARKER).write_text(json.dumps(marker), encoding="utf-8")
        for part, samples in (("train", split.train), ("val", split.val), ("test", split.test)):
            for name in split.class_names:
                (staging / part / name).mkdir(parents=True, exist_ok=True)
            for s in samples:
                target = staging / part / split.class_names[s.label] / s.path.name
                if link:
                    target.symlink_to(s.path.resolve())
                else:
                    shutil.copy2(s.path, target)
        (staging / "split.json").write_text(json.dumps(split.describe(), indent=2))
        (staging / STAGING_MARKER).unlink()
        mode = replacement_mode(output, 0o755)  # mkdtemp makes it private; an empty old folder's mode is kept
        if output.exists():
            output.rmdir()
        os.chmod(staging, mode)
        staging.rename(output)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)  # made by mkdtemp above: this run's own
        if isinstance(exc, OSError):
            raise DatasetError(f"Cannot write the split to {output}: {exc.strerror or exc}.") from exc
        raise
    return output


def _remove_abandoned_staging(output: Path) -> None:
    """Remove the staging folders that earlier splits to ``output`` left when they were killed."""
    for folder in output.parent.glob(f".{glob.escape(output.name)}.*.partial"):
        try:
            marker = json.loads((folder / STAGING_MARKER).read_text(encoding="utf-8"))
            pid, host = int(marker["pid"]), str(marker["host"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # no marker: not made by a split, not ours to remove
        if host == socket.gethostname() and not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (assumed so where it cannot be probed safely)."""
    if os.name != "posix":
        return True  # os.kill would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
