"""Property tests with generated hostile inputs (issue 10): image decoding and model-card parsing fail only with
their own user-facing error, never with a crash of another kind, and never hang.

Derandomized (the same examples on every run, so CI is stable) with no example database written to disk.
About 4,500 inputs in all.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from trainer.data.imageio import read_image
from trainer.data.preprocess import to_model_input
from trainer.errors import ImageError, ModelError
from trainer.serving.card import ModelCard, card_summary

ROOT = Path(__file__).resolve().parent.parent
#: Per example: "never hangs". Generous, so a busy 2-core CI machine does not fail it.
DEADLINE_MS = 4000


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=DEADLINE_MS,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- image decoding -------------------------------------------------------------------------------------------


def _encoded(fmt: str, mode: str) -> bytes:
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (24, 20, len(mode)), dtype=np.uint8)
    image = Image.fromarray(array[:, :, 0] if mode == "L" else array, mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


SEEDS = {
    f"{fmt}-{mode}": _encoded(fmt, mode)
    for fmt, mode in [
        ("PNG", "RGBA"),
        ("PNG", "L"),
        ("JPEG", "RGB"),
        ("GIF", "L"),
        ("BMP", "RGB"),
        ("TIFF", "RGB"),
        ("WEBP", "RGB"),
    ]
}


@st.composite
def mutated_image(draw) -> bytes:
    """A valid small image file with bytes flipped, overwritten, cut off or inserted."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "big"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
            if not data:
                break
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:  # a header field (size, length, offset) made huge
            data[at : at + 4] = b"\xff\xff\x7f\xff"
    return bytes(data)


def assert_decodes_or_refuses(data: bytes, limit: int | None) -> None:
    try:
        rgb = read_image(data, limit=limit)
    except ImageError as exc:
        assert str(exc)  # a sentence for the user
        return
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and min(rgb.shape[:2]) >= 1


@fuzz(1500)
@given(data=mutated_image(), limit=st.sampled_from([None, 8]))
def test_mutated_images_decode_or_raise_image_error(data, limit):
    assert_decodes_or_refuses(data, limit)


@fuzz(1000)
@given(
    data=st.binary(max_size=300)
    | st.sampled_from(sorted(SEEDS)).flatmap(
        lambda key: st.binary(max_size=200).map(lambda tail: SEEDS[key][:16] + tail)
    )
)
def test_random_bytes_decode_or_raise_image_error(data):
    """Pure noise, and noise behind a real format's magic number (so each decoder parses it)."""
    assert_decodes_or_refuses(data, None)


@fuzz(300)
@given(
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([None, 1, 3, 4])),
    dtype=st.sampled_from([np.uint8, np.float32]),
    seed=st.integers(0, 2**16),
    sparse=st.booleans(),
    method=st.sampled_from(["ink", "notebook"]),
)
def test_any_image_array_becomes_a_model_input_or_an_image_error(shape, dtype, seed, sparse, method):
    """Tiny, flat, one-pixel, transparent and noisy pictures: a (size, size, 3) input or an ImageError."""
    h, w, channels = shape
    rng = np.random.default_rng(seed)
    full = (h, w) if channels is None else (h, w, channels)
    array = rng.random(full) if dtype == np.float32 else rng.integers(0, 256, full)
    if sparse:  # mostly paper, a few marks
        array = np.where(rng.random(full) < 0.9, array.max(initial=0), array)
    array = array.astype(dtype)
    try:
        x = to_model_input(array, method, 32)
    except ImageError:
        return
    assert x.shape == (32, 32, 3) and x.dtype == np.uint8


# -- model cards ----------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
VALID = json.loads((ROOT / "models" / "default.card.json").read_text(encoding="utf-8"))


@st.composite
def mutated_card(draw) -> dict:
    """The shipped default model's card with keys removed, replaced by any JSON, or nested values changed."""
    card = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(sorted(VALID)))
        kind = draw(st.sampled_from(["replace", "delete", "nested"]))
        if kind == "delete":
            card.pop(key, None)
        elif kind == "nested" and isinstance(card.get(key), dict) and card[key]:
            sub = draw(st.sampled_from(sorted(card[key])))
            card[key][sub] = draw(JSON)
        elif kind == "nested" and isinstance(card.get(key), list) and card[key]:
            card[key][draw(st.integers(0, len(card[key]) - 1))] = draw(JSON)
        else:
            card[key] = draw(JSON)
    return card


def assert_reads_or_refuses(path: Path) -> None:
    """``ModelCard.read`` gives a card that can be shown, or a ModelError; nothing else."""
    try:
        card = ModelCard.read(path)
    except ModelError as exc:
        assert str(exc)
        return
    card.test_accuracy  # noqa: B018  (what the pad's status bar reads)
    card_summary(path, card)  # what `info` prints


@pytest.fixture(scope="module")
def card_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cards") / "fuzzed.card.json"


@fuzz(1200)
@given(card=mutated_card())
def test_mutated_cards_read_or_raise_model_error(card_file, card):
    card_file.write_text(json.dumps(card), encoding="utf-8")
    assert_reads_or_refuses(card_file)


@fuzz(500)
@given(document=JSON | st.binary(max_size=64))
def test_any_json_or_bytes_as_a_card_raise_model_error(card_file, document):
    card_file.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    assert_reads_or_refuses(card_file)


def test_deeply_nested_json_is_refused_as_a_card(card_file):
    card_file.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelError):
        ModelCard.read(card_file)
