"""Reading a dataset folder laid out as Kaggle ships it: one sub-folder of images per class."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from trainer.data.imageio import is_image_name
from trainer.digest import file_sha256
from trainer.errors import DatasetError
from trainer.labels import label_problem


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


@dataclass
class DatasetIndex:
    """The images of a dataset folder by class, and what was skipped while listing it."""

    root: Path
    class_names: tuple[str, ...]
    files: dict[str, list[Path]]  # class name -> image paths, in case-sensitive name order
    skipped: list[Path] = field(default_factory=list)  # files not used (see the two properties below)

    @property
    def outside_classes(self) -> list[Path]:
        """Skipped images at the top level: in no class folder, so without a label."""
        return [p for p in self.skipped if p.parent == self.root and is_image_name(p)]

    @property
    def hidden_or_non_image(self) -> list[Path]:
        """The other skipped files: hidden ones, and those that are not images."""
        outside = set(self.outside_classes)
        return [p for p in self.skipped if p not in outside]

    @property
    def samples(self) -> list[Sample]:
        return [Sample(p, i) for i, name in enumerate(self.class_names) for p in self.files[name]]

    def __len__(self) -> int:
        return sum(len(v) for v in self.files.values())

    def summary(self) -> str:
        line = f"{len(self)} images in {len(self.class_names)} classes under {self.root}"
        if self.outside_classes:
            line += f"; skipped {len(self.outside_classes)} image(s) outside any class folder"
        if self.hidden_or_non_image:
            line += f"; skipped {len(self.hidden_or_non_image)} hidden or non-image file(s)"
        return line


def scan_dataset(root: str | os.PathLike) -> DatasetIndex:
    """List a dataset folder; class order is the sorted folder names (the notebook's label order).

    Raises DatasetError for a missing folder, a train/test split, a folder without class sub-folders, or an
    empty class.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"Dataset folder {root} does not exist.")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; choose the folder that holds one sub-folder per class.")
    if _is_split(root):  # its train/ and test/ would be taken for two classes of a dataset
        raise DatasetError(
            f"{root} is a train/test split (as `mathsym-train split` writes), not a dataset: pass the original "
            "dataset folder, which every command splits the same way itself (a split's test folder would be split "
            "again)."
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"{root} has no class sub-folders; expected one folder of images per class.")
    for name in classes:  # folder names become the model's labels, shown in terminals and the pad
        problem = label_problem(name)
        if problem:
            raise DatasetError(f"Class folder {name!a} in {root} cannot name a class: it {problem}; rename it.")
    files: dict[str, list[Path]] = {}
    skipped: list[Path] = [p for p in root.iterdir() if not p.is_dir()]
    for name in classes:
        images: list[Path] = []
        for p in sorted((root / name).iterdir(), key=lambda q: q.name):
            (images if p.is_file() and is_image_name(p) else skipped).append(p)
        if not images:
            raise DatasetError(f"Class folder {root / name} has no images.")
        files[name] = images
    return DatasetIndex(root, tuple(classes), files, skipped)


def _is_split(root: Path) -> bool:
    """Whether ``root`` is a split's output: a split.json, or train/ and test/ folders of class folders."""
    if (root / "split.json").is_file():
        return True
    parts = (root / "train", root / "test")
    return all(part.is_dir() and any(p.is_dir() for p in part.iterdir()) for part in parts)


@dataclass
class Duplicates:
    """Byte-identical image groups; ``cross_class`` are those whose copies carry different labels."""

    groups: list[list[Path]]
    cross_class: list[list[Path]]
    digest: dict[Path, str]

    def summary(self) -> str:
        extra = sum(len(g) - 1 for g in self.groups)
        line = f"{len(self.groups)} groups of byte-identical images ({extra} redundant copies)"
        if self.cross_class:
            shown = "; ".join(" = ".join(str(p) for p in g) for g in self.cross_class[:5])
            line += f"; {len(self.cross_class)} sit in two classes: {shown}"
        return line


def find_duplicates(index: DatasetIndex) -> Duplicates:
    """Group byte-identical files of the dataset and flag groups spanning classes."""
    digest = {s.path: file_sha256(s.path) for s in index.samples}
    by_digest: dict[str, list[Path]] = defaultdict(list)
    for path, d in digest.items():
        by_digest[d].append(path)
    groups = [sorted(g) for g in by_digest.values() if len(g) > 1]
    groups.sort()
    cross = [g for g in groups if len({p.parent.name for p in g}) > 1]
    return Duplicates(groups, cross, digest)
