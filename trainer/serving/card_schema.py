"""The model card's schema: every key a reader of the card relies on, with its type, so a malformed card is one
clear ModelError when it is read, never an AttributeError later in whatever shows it.

Version 1 cards (written before the schema, without ``card_version`` and ``files``) are still read; version
2 adds ``card_version`` and ``files`` (``model``, ``onnx``: the SHA-256 of the model file and of its ONNX twin,
null with ``onnx_missing`` saying why when there is none).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

from trainer.data.preprocess import METHODS
from trainer.errors import ModelError
from trainer.labels import label_problem

CARD_VERSION = 2
CARD_FORMAT = "mathsym-model-card"
#: Format names written before ``card_version`` existed; such cards are version 1.
LEGACY_FORMATS = ("mathsym-model-card/1",)
SCALINGS = ("inside", "outside")

Check = tuple[Callable[[object], bool], str]  # a test and what it asks for, in words


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _list_of(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: isinstance(v, list) and all(test(x) for x in v)


def _dict_of(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and test(x) for k, x in v.items())


def _or_none(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or test(v)


def _is_sha256(v: object) -> bool:
    return isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None


INT: Check = (_is_int, "a whole number")
COUNT: Check = (lambda v: isinstance(v, int) and _is_int(v) and v >= 0, "a count (0 or more)")
NUMBER: Check = (_is_number, "a number")
FRACTION: Check = (lambda v: isinstance(v, int | float) and _is_number(v) and 0 <= v <= 1, "a number from 0 to 1")
TEXT: Check = (_is_str, "text")
TEXTS: Check = (_list_of(_is_str), "a list of texts")
OBJECT: Check = (lambda v: isinstance(v, dict), "an object")
LIST: Check = (lambda v: isinstance(v, list), "a list")

#: Keys inside each section (all optional; other keys are kept unchecked) and what they must hold.
SECTIONS: dict[str, dict[str, Check]] = {
    "dataset": {
        "path": TEXT,
        "images": COUNT,
        "skipped": TEXTS,
        "duplicate_groups": COUNT,
        "unreadable": (
            _list_of(lambda x: isinstance(x, list) and len(x) == 2 and all(map(_is_str, x))),
            "a list of [path, reason] pairs",
        ),
        "cross_class_duplicates": (_list_of(_list_of(_is_str)), "a list of lists of paths"),
    },
    "split": {
        "kind": TEXT,
        "seed": INT,
        "train": COUNT,
        "test": COUNT,
        "fit": COUNT,
        "val": COUNT,
        "test_fingerprint": TEXT,
        "moved_to_train": COUNT,
        "validation": FRACTION,
        "ratio": (_list_of(_is_number), "a list of numbers"),
        "test_per_class": (_dict_of(_is_int), "an object of counts per class"),
        "subset_per_class": (_or_none(_is_int), "a whole number or null"),
    },
    "metrics": {
        "test_accuracy": (_or_none(FRACTION[0]), "a number from 0 to 1 or null"),
        "test_images": COUNT,
        "test_errors": COUNT,
        "per_class_recall": (_dict_of(FRACTION[0]), "an object of numbers from 0 to 1 per class"),
        "confusion_matrix": (_list_of(_list_of(_is_int)), "a list of rows of whole numbers"),
        "classification_report": OBJECT,
        "evaluated": TEXT,
        "evaluated_split": OBJECT,
        "unreadable": LIST,
    },
    "training": {
        "command": TEXT,
        "epochs": COUNT,
        "batch_size": COUNT,
        "seconds": NUMBER,
        "history": LIST,
        "best_epoch": (_or_none(_is_int), "a whole number or null"),
    },
    "versions": {},
    "files": {
        "model": (_is_sha256, "a SHA-256 hex digest"),
        "onnx": (_or_none(_is_sha256), "a SHA-256 hex digest or null"),
        "onnx_missing": TEXT,
    },
}


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _need(ok: bool, where: str, what: str, value: object) -> None:
    if not ok:
        raise ModelError(f"{where} must be {what}, not {_show(value)}")


def check_labels(labels: object, where: str = '"labels"') -> None:
    """Labels are a non-empty list of distinct class names, none with control characters."""
    if not isinstance(labels, list) or not labels:
        raise ModelError(f"{where} must be a non-empty list of class names, not {_show(labels)}")
    for label in labels:
        problem = label_problem(label)
        if problem:
            raise ModelError(f"{where} holds an unusable class name {_show(label)}: it {problem}")
    _need(len(set(labels)) == len(labels), where, "a list of distinct class names", labels)


def card_version(data: dict) -> int:
    """The schema version a card dict claims (1 for cards written before versions existed)."""
    version = data.get("card_version", 1)
    _need(_is_int(version) and version >= 1, '"card_version"', "a whole number from 1", version)
    if version > CARD_VERSION:
        raise ModelError(
            f"it is card version {version}, newer than this MathSym reads ({CARD_VERSION}); update MathSym"
        )
    return version


def check_card(data: dict) -> None:
    """Raise ModelError (a sentence fragment naming the key) unless ``data`` follows the schema."""
    version = card_version(data)
    for key in ("labels", "architecture"):
        if key not in data:
            raise ModelError(f'the required key "{key}" is missing')
    check_labels(data["labels"])
    _need(_is_str(data["architecture"]), '"architecture"', "text", data["architecture"])
    if "input_size" in data:
        size = data["input_size"]
        _need(_is_int(size) and 8 <= size <= 1024, '"input_size"', "a whole number from 8 to 1024", size)
    if "preprocessing" in data:
        _need(
            data["preprocessing"] in METHODS, '"preprocessing"', f"one of {', '.join(METHODS)}", data["preprocessing"]
        )
    if "scaling" in data:
        _need(data["scaling"] in SCALINGS, '"scaling"', "inside or outside", data["scaling"])
    for key in ("created", "notes"):
        if key in data:
            _need(_is_str(data[key]), f'"{key}"', "text", data[key])
    if "format" in data:
        _need(data["format"] in (CARD_FORMAT, *LEGACY_FORMATS), '"format"', f"{CARD_FORMAT!r}", data["format"])
    for section, keys in SECTIONS.items():
        if section not in data:
            continue
        value = data[section]
        _need(isinstance(value, dict), f'"{section}"', "an object", value)
        for key, (test, what) in keys.items():
            if key in value:
                _need(test(value[key]), f'"{section}.{key}"', what, value[key])
    if version >= 2:
        files = data.get("files")
        if not isinstance(files, dict) or "model" not in files:
            raise ModelError('a version 2 card must record the model file\'s SHA-256 in "files.model"')
