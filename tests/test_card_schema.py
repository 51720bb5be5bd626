"""The model card's schema (issue 10, causes 6 and 9): malformed or hostile cards are one clear ModelError, never
an AttributeError in whatever shows them; class names with control characters are refused."""

from __future__ import annotations

import json
import string
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainer.errors import DatasetError, ModelError
from trainer.serving.card import ModelCard, card_summary

ROOT = Path(__file__).resolve().parent.parent
VALID = {
    "labels": ["0", "1", "add"],
    "architecture": "t",
    "input_size": 32,
    "preprocessing": "ink",
    "scaling": "inside",
    "metrics": {
        "test_accuracy": 0.5,
        "test_images": 4,
        "test_errors": 2,
        "per_class_recall": {"0": 1.0, "1": 0.0, "add": 0.5},
    },
    "dataset": {"path": "/d", "images": 30, "skipped": [], "unreadable": [["a.png", "truncated"]]},
    "training": {"epochs": 1, "command": "x"},
    "versions": {"python": "3.11"},
    "format": "mathsym-model-card/1",
}


def _read(tmp_path, data) -> ModelCard:
    path = tmp_path / "m.card.json"
    path.write_text(json.dumps(data))
    return ModelCard.read(path)


@pytest.mark.parametrize(
    "change,key",
    [
        ({"metrics": "oops"}, "metrics"),
        ({"dataset": []}, "dataset"),
        ({"split": 3}, "split"),
        ({"training": None}, "training"),
        ({"versions": "3.11"}, "versions"),
        ({"files": []}, "files"),
        ({"labels": "0123"}, "labels"),
        ({"labels": []}, "labels"),
        ({"labels": [0, 1]}, "labels"),
        ({"labels": ["0", "0"]}, "labels"),
        ({"labels": ["3\x1b[2J", "4"]}, "labels"),
        ({"labels": ["3", "\u202e4"]}, "labels"),
        ({"labels": ["3\n", "4"]}, "labels"),
        ({"labels": [" ", "4"]}, "labels"),
        ({"architecture": ["t"]}, "architecture"),
        ({"input_size": "32"}, "input_size"),
        ({"input_size": True}, "input_size"),
        ({"input_size": 100000}, "input_size"),
        ({"preprocessing": "magic"}, "preprocessing"),
        ({"scaling": 255}, "scaling"),
        ({"notes": {}}, "notes"),
        ({"metrics": {"test_accuracy": "high"}}, "metrics.test_accuracy"),
        ({"metrics": {"test_accuracy": 1.5}}, "metrics.test_accuracy"),
        ({"metrics": {"test_errors": -1}}, "metrics.test_errors"),
        ({"metrics": {"per_class_recall": ["0"]}}, "metrics.per_class_recall"),
        ({"dataset": {"unreadable": "x"}}, "dataset.unreadable"),
        ({"dataset": {"skipped": [1]}}, "dataset.skipped"),
        ({"training": {"epochs": "3"}}, "training.epochs"),
        ({"split": {"seed": 1.5}}, "split.seed"),
        ({"card_version": "2"}, "card_version"),
        ({"card_version": 0}, "card_version"),
        ({"card_version": 2}, "files.model"),
        ({"card_version": 2, "files": {"model": "abc"}}, "files.model"),
        ({"format": "something-else"}, "format"),
    ],
)
def test_malformed_cards_are_one_clear_error(tmp_path, change, key):
    with pytest.raises(ModelError) as info:
        _read(tmp_path, {**VALID, **change})
    message = str(info.value)
    assert str(tmp_path / "m.card.json") in message and f'"{key}"' in message
    assert "\n" not in message and "\x1b" not in message


@pytest.mark.parametrize("missing", ["labels", "architecture"])
def test_required_keys(tmp_path, missing):
    with pytest.raises(ModelError, match=f'"{missing}" is missing'):
        _read(tmp_path, {k: v for k, v in VALID.items() if k != missing})


def test_a_card_from_a_newer_version_is_refused_with_the_reason(tmp_path):
    with pytest.raises(ModelError, match="newer than this MathSym reads"):
        _read(tmp_path, {**VALID, "card_version": 99})


def test_version_1_cards_are_read(tmp_path):
    """Cards from before the schema (no card_version, no hashes) stay readable; unknown keys are ignored."""
    card = _read(tmp_path, {**VALID, "something_new": [1, 2]})
    assert card.card_version == 1 and card.labels == ["0", "1", "add"] and card.test_accuracy == 0.5


def test_the_shipped_default_card_follows_the_schema():
    card = ModelCard.read(ROOT / "models" / "default.card.json")
    assert card.card_version == 2 and len(card.files["model"]) == 64


def test_a_card_with_control_characters_cannot_be_made():
    with pytest.raises(ModelError, match="control character U\\+001B"):
        ModelCard(labels=["3\x1b[2J"], architecture="t")


def test_class_folders_with_control_characters_are_refused(tmp_path):
    from trainer.data.dataset import scan_dataset

    for name in ("3", "4\x1b[2J"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.png").write_bytes(b"x")
    with pytest.raises(DatasetError) as info:
        scan_dataset(tmp_path)
    assert "\\x1b" in str(info.value) and "\x1b" not in str(info.value)


def test_cli_info_on_a_malformed_card_is_one_line(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"PK")
    (tmp_path / "m.card.json").write_text(json.dumps({**VALID, "metrics": "oops"}))
    done = subprocess.run(
        ["python", "-m", "trainer.cli", "info", str(model)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and '"metrics" must be an object' in done.stderr


# -- fuzz: whatever JSON a card holds, reading it either fails with ModelError or gives a card that shows ----------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True)
    | st.text(string.printable + "\x1b\u202e", max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
SECTION_KEYS = {
    "dataset": ["path", "images", "skipped", "unreadable", "duplicate_groups", "cross_class_duplicates"],
    "split": ["kind", "seed", "train", "test", "fit", "val", "test_fingerprint"],
    "metrics": ["test_accuracy", "test_images", "test_errors", "per_class_recall"],
    "training": ["epochs", "batch_size", "best_epoch", "seconds", "command"],
    "versions": ["python"],
}


@st.composite
def cards(draw):
    data = dict(VALID)
    for key in draw(st.lists(st.sampled_from([*VALID, "card_version", "files", "created", "notes"]), max_size=4)):
        if draw(st.booleans()) and key in SECTION_KEYS:  # a plausible section with one odd value
            data[key] = {**(VALID.get(key) or {}), draw(st.sampled_from(SECTION_KEYS[key])): draw(JSON)}
        else:
            data[key] = draw(JSON)
    return data


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cards())
def test_fuzzed_cards_never_fail_other_than_model_error(data):
    try:
        card = ModelCard.from_dict(data)
    except ModelError as exc:
        assert "\n" not in str(exc)
        return
    assert all(isinstance(line, str) for line in card_summary(Path("m.keras"), card))
    assert card.test_accuracy is None or 0 <= card.test_accuracy <= 1
