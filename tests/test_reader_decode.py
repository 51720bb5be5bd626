"""The line decoder's context rules, on hand-made per-symbol probabilities (no model needed)."""

import numpy as np

from trainer.labels import CLASS_NAMES
from trainer.serving.reader import redecode
from trainer.serving.reader.decode import Geometry, decode, tokens

LABELS = list(CLASS_NAMES)
DIGIT = Geometry(0.6, 1.0)
OPERATOR = Geometry(0.5, 0.5)
DOT = Geometry(0.12, 0.12)
BAR = Geometry(0.5, 0.08)


def probs(*symbols: dict[str, float]) -> np.ndarray:
    """One row per symbol: the given probabilities, the rest spread evenly."""
    out = np.zeros((len(symbols), len(LABELS)))
    for i, given in enumerate(symbols):
        rest = (1.0 - sum(given.values())) / (len(LABELS) - len(given))
        out[i] = rest
        for name, p in given.items():
            out[i, LABELS.index(name)] = p
    return out


def read(rows, geometry) -> list[str]:
    return decode(probs(*rows), LABELS, geometry).labels


def test_x_between_numbers_is_times():
    assert read([{"2": 0.95}, {"x": 0.7, "mul": 0.25}, {"3": 0.95}], [DIGIT, OPERATOR, DIGIT]) == ["2", "mul", "3"]


def test_coefficient_before_a_letter_makes_it_the_letter():
    rows = [{"2": 0.95}, {"mul": 0.7, "x": 0.25}, {"add": 0.9}, {"3": 0.95}, {"eq": 0.95}, {"7": 0.95}]
    geometry = [DIGIT, OPERATOR, OPERATOR, DIGIT, BAR, DIGIT]
    assert read(rows, geometry) == ["2", "x", "add", "3", "eq", "7"]
    assert read([{"2": 0.95}, {"mul": 0.7, "x": 0.25}], [DIGIT, OPERATOR]) == ["2", "x"]


def test_a_minus_straight_after_an_operator_is_unlikely_so_a_cross_before_it_is_a_letter():
    # "4x-3" whose x the model half-reads as a +: "4+-3" parses too, but by hand a negative operand is bracketed
    geometry = [DIGIT, OPERATOR, BAR, DIGIT]
    assert read([{"4": 0.95}, {"add": 0.7, "x": 0.25}, {"sub": 0.95}, {"3": 0.95}], geometry) == ["4", "x", "sub", "3"]
    # a sure + before a minus stays: the line is 4 + (-3)
    sure = [{"4": 0.95}, {"add": 0.95, "x": 0.03}, {"sub": 0.95}, {"3": 0.95}]
    assert read(sure, geometry) == ["4", "add", "sub", "3"]
    # a minus that starts the line or follows "=" costs nothing: a short bar half-read as a point stays a minus
    short = Geometry(0.3, 0.12)
    rows = [{"sub": 0.6, "dec": 0.35}, {"3": 0.95}, {"add": 0.95}, {"2": 0.95}]
    assert read(rows, [short, DIGIT, OPERATOR, DIGIT]) == ["sub", "3", "add", "2"]
    rows = [{"x": 0.95}, {"eq": 0.95}, {"sub": 0.6, "dec": 0.35}, {"3": 0.95}]
    assert read(rows, [OPERATOR, BAR, short, DIGIT]) == ["x", "eq", "sub", "3"]


def test_small_blob_between_digits_is_a_point_and_a_bar_is_minus():
    # the model calls the small blob a 0 (a ring), but it is tiny next to the digits
    assert read([{"3": 0.95}, {"0": 0.6, "dec": 0.3}, {"5": 0.95}], [DIGIT, DOT, DIGIT]) == ["3", "dec", "5"]
    # a bar the model half-reads as a point is a minus
    assert read([{"3": 0.95}, {"dec": 0.5, "sub": 0.4}, {"5": 0.95}], [DIGIT, BAR, DIGIT]) == ["3", "sub", "5"]


def test_zero_versus_point_by_size_relative_to_the_line():
    rows = [{"1": 0.95}, {"dec": 0.6, "0": 0.35}]
    assert read(rows, [DIGIT, DIGIT]) == ["1", "0"]  # as tall as the digits: a 0
    assert read([{"1": 0.95}, {"dec": 0.6, "0": 0.35}, {"5": 0.9}], [DIGIT, DOT, DIGIT]) == ["1", "dec", "5"]


def test_one_line_takes_at_most_one_equals_sign():
    rows = [{"1": 0.95}, {"eq": 0.8, "sub": 0.15}, {"2": 0.95}, {"eq": 0.6, "sub": 0.35}, {"3": 0.95}]
    assert read(rows, [DIGIT, BAR, DIGIT, BAR, DIGIT]) == ["1", "eq", "2", "sub", "3"]


def test_a_confident_symbol_is_not_overridden_and_the_line_does_not_parse():
    decoded = decode(
        probs({"3": 0.98}, {"add": 0.98}, {"eq": 0.98}, {"4": 0.98}), LABELS, [DIGIT, OPERATOR, BAR, DIGIT]
    )
    assert decoded.labels == ["3", "add", "eq", "4"] and not decoded.parses


def test_close_second_readings_are_offered_as_alternatives():
    decoded = decode(probs({"1": 0.95}, {"7": 0.55, "1": 0.4}), LABELS, [DIGIT, DIGIT])
    assert decoded.labels == ["1", "7"]
    assert decoded.alternatives and decoded.alternatives[0][0] == ["1", "1"]
    assert 0.5 < decoded.alternatives[0][1] < 0.9


def test_a_pinned_symbol_stays_and_the_rest_follows_the_grammar():
    rows = probs({"2": 0.95}, {"x": 0.9, "mul": 0.05}, {"3": 0.95})
    geometry = [DIGIT, OPERATOR, DIGIT]
    assert decode(rows, LABELS, geometry).labels == ["2", "mul", "3"]
    reading = redecode(rows, LABELS, geometry, [(0, 0, 1, 1)] * 3, fixed={2: "eq"})
    assert reading.text == "2x=" and reading.result == "2x"


def test_two_stacked_bars_are_an_equals_sign_even_when_a_broad_pen_runs_them_together():
    run_together = Geometry(0.6, 0.3, parts=2)  # the model sees one thick bar, or a blob
    rows = [{"z": 0.95}, {"dec": 0.6, "sub": 0.15, "eq": 0.06}, {"1": 0.95}]
    assert read(rows, [DIGIT, run_together, DIGIT]) == ["z", "eq", "1"]
    assert read(rows, [DIGIT, Geometry(0.6, 0.3), DIGIT]) == ["z", "sub", "1"]  # one stroke: a minus
    retraced = [{"3": 0.95}, {"sub": 0.9, "eq": 0.03}, {"1": 0.95}]  # a minus gone over twice, clearly a bar
    assert read(retraced, [DIGIT, run_together, DIGIT]) == ["3", "sub", "1"]


def test_two_bars_as_small_as_a_point_may_be_an_equals_sign_but_one_may_not():
    small_pair, small_bar = Geometry(0.25, 0.15, parts=2), Geometry(0.25, 0.08)  # an "=" pasted in from a crop
    rows = [{"x": 0.95}, {"eq": 0.6, "sub": 0.3}, {"4": 0.95}]
    assert read(rows, [DIGIT, small_pair, DIGIT]) == ["x", "eq", "4"]
    assert read(rows, [DIGIT, small_bar, DIGIT]) == ["x", "sub", "4"]


def test_a_y_hangs_below_the_line_and_digits_and_x_stand_on_it():
    rows = [{"2": 0.95}, {"y": 0.6, "4": 0.35}, {"add": 0.95}, {"1": 0.95}]
    standing, hanging = Geometry(0.6, 1.0, drop=0.0), Geometry(0.6, 0.85, drop=0.3)
    assert read(rows, [DIGIT, standing, OPERATOR, DIGIT]) == ["2", "4", "add", "1"]  # an open 4 on the line
    assert read(rows, [DIGIT, hanging, OPERATOR, DIGIT]) == ["2", "y", "add", "1"]
    assert read(rows, [DIGIT, DIGIT, OPERATOR, DIGIT]) == ["2", "y", "add", "1"]  # no baseline: the model's answer
    letter = [{"2": 0.95}, {"x": 0.55, "y": 0.4}]
    assert read(letter, [DIGIT, Geometry(0.6, 0.85, drop=0.3)]) == ["2", "y"]  # its tail hangs: not an x
    assert read(letter, [DIGIT, Geometry(0.6, 0.62, drop=0.0)]) == ["2", "x"]
    assert read([{"2": 0.95}, {"y": 0.9, "4": 0.05}], [DIGIT, standing]) == ["2", "y"]  # a sure y stays a y


def test_x_and_z_are_lower_case_so_a_tall_one_with_a_close_digit_is_the_digit():
    rows = [{"4": 0.95}, {"x": 0.55, "2": 0.4}]
    assert read(rows, [DIGIT, DIGIT]) == ["4", "2"]  # as tall as the 4: the 2
    assert read(rows, [DIGIT, Geometry(0.6, 0.62)]) == ["4", "x"]  # lower-case height: the letter
    assert read([{"4": 0.95}, {"z": 0.5, "7": 0.45}], [DIGIT, DIGIT]) == ["4", "7"]
    assert read([{"4": 0.95}, {"x": 0.85, "2": 0.1}], [DIGIT, DIGIT]) == ["4", "x"]  # a sure x stays an x


def test_taught_brackets_are_read_where_they_balance_and_never_without_a_model_that_knows_them():
    labels = [*LABELS, "lparen", "rparen"]
    known = tokens(labels, {"lparen": {"symbol": "(", "latex": "\\left("}, "rparen": {"symbol": ")", "latex": ")"}})
    assert {known["lparen"], known["rparen"]} == {"(", ")"} and known["add"] == "+"

    def row(**given: float) -> np.ndarray:
        p = np.full(len(labels), 1e-4)
        for name, value in given.items():
            p[labels.index(name)] = value
        return p / p.sum()

    # 2 ( 3 + 4 ) =, the closing bracket written like a 1: the open one makes it a bracket
    line = np.stack(
        [row(**{"2": 0.9}), row(lparen=0.6, **{"1": 0.35}), row(**{"3": 0.9}), row(add=0.9), row(**{"4": 0.9})]
        + [row(rparen=0.4, **{"1": 0.55}), row(eq=0.9)]
    )
    shapes = [DIGIT, DIGIT, DIGIT, OPERATOR, DIGIT, DIGIT, OPERATOR]
    reading = redecode(line, labels, shapes, [(0, 0, 1, 1)] * 7, known_tokens=known)
    assert (reading.text, reading.result) == ("2(3+4)=", "14")
    assert redecode(line, labels, shapes, [(0, 0, 1, 1)] * 7).text == "213+41="  # no brackets known: 1s
    # a bracket left open is unlikely: without its closing symbol, an unsure "(" reads as the 1 it may be ...
    assert decode(line[[0, 1, 2, 3, 4, 6]], labels, shapes[:5] + [OPERATOR], None, known).labels[1] == "1"
    # ... and a sure one stays, the line saying what it lacks (a line being written: "(2+3" before its ")")
    line[1] = row(lparen=0.9, **{"1": 0.05})
    unclosed = redecode(line[1:5], labels, shapes[1:5], [(0, 0, 1, 1)] * 4, known_tokens=known)
    assert unclosed.text == "(3+4" and unclosed.result is None and "'(' without its ')'" in unclosed.error
