"""Brackets taught in the pad: the shipped model, adapted on drawings of "(" and ")", reads and calculates
bracketed lines written as pen strokes, end to end (``adapt``, then ``read_strokes``)."""

from pathlib import Path

import numpy as np
import pytest
from support import BRACKET_CLASSES, bracket_line

from trainer.serving.modelio import load_model
from trainer.serving.reader import read_strokes

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.keras"


@pytest.fixture(scope="module")
def taught(bracket_model):
    return load_model(bracket_model)


def test_a_model_taught_brackets_knows_them_as_brackets(taught):
    assert sorted(taught.labels[-2:]) == sorted(BRACKET_CLASSES)
    assert {taught.card.dataset["symbols"][name]["symbol"] for name in BRACKET_CLASSES} == {"(", ")"}


@pytest.mark.parametrize(
    "text, result",
    [("2(3+4)=", "14"), ("(x+1)(x-1)=0", "x = -1 or x = 1"), ("6/(1+2)=", "2"), ("-(2+3)*4=", "-20")],
)
def test_bracketed_lines_are_read_and_calculated(taught, text, result):
    reading = read_strokes(taught, bracket_line(text, np.random.default_rng(len(text))), 4.0)
    assert (reading.text, reading.result) == (text, result), reading.error
    opened = reading.symbols[text.index("(")]
    assert (opened.label, opened.token) == ("open", "(")


def test_the_shipped_model_without_brackets_never_reads_one():
    reading = read_strokes(load_model(DEFAULT_MODEL), bracket_line("2(3+4)=", np.random.default_rng(7)), 4.0)
    assert reading.text and "(" not in reading.text and ")" not in reading.text
