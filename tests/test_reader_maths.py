"""Exact maths of a read line: precedence, unary minus, decimals, fractions, equations, limits."""

import math
import re
import time
from fractions import Fraction

import pytest

from trainer.serving.reader.maths import MathError, calculate, decimal


@pytest.mark.parametrize(
    "text, result",
    [
        ("12/4+3", "6"),
        ("12/4+3=", "6"),
        ("2+3*4", "14"),
        ("2-3-4", "-5"),
        ("8/4/2", "1"),
        ("-3*-2", "6"),
        ("-3+5", "2"),
        ("1/3", "1/3 = 0.333333333333…"),
        ("13/4", "13/4 = 3.25"),
        ("0.1+0.2", "3/10 = 0.3"),
        (".5*4", "2"),
        ("2/3*3", "2"),
        ("7-10/4", "9/2 = 4.5"),
        ("100/7=", "100/7 = 14.2857142857…"),
        ("3+4=7", "true (7)"),
        ("3+4=8", "false (7 is not 8)"),
        ("0=0", "true (0)"),
    ],
)
def test_arithmetic_is_exact(text, result):
    assert calculate(text) == result


@pytest.mark.parametrize(
    "text, result",
    [
        ("2x+3=11", "x = 4"),
        ("x=4", "x = 4"),
        ("3=2y+1", "y = 1"),
        ("4z=1", "z = 1/4 = 0.25"),
        ("2x=x+1", "x = 1"),
        ("x/2=3", "x = 6"),
        ("1.5x=3", "x = 2"),
        ("-x=2", "x = -2"),
        ("x=x+1", "no solution"),
        ("x=x", "every value of x"),
        ("2x-x=x", "every value of x"),
        ("x*x=4", "x = -2 or x = 2"),
        ("x*x=-4", "no real solution"),
        ("6/x=3", "x = 2"),
        ("0/x=0", "every value of x except x = 0"),
        ("x/x=1", "every value of x except x = 0"),
        ("x*x=2", "x = ±√2 ≈ -1.41421 or 1.41421"),
        ("x*x-2x-1=0", "x = 1 ± √2 ≈ -0.414214 or 2.41421"),
        ("x*x=8", "x = ±2√2 ≈ -2.82843 or 2.82843"),
        ("3x*x=1", "x = ±√3/3 ≈ -0.57735 or 0.57735"),
        ("1/x=x+1", "x = (-1 ± √5)/2 ≈ -1.61803 or 0.618034"),
    ],
)
def test_equations_in_one_letter_are_solved(text, result):
    assert calculate(text) == result


@pytest.mark.parametrize(
    "a, b, c", [(1, 0, -2), (2, 3, -1), (-5, 7, 3), (9, -12, 1), (7, 1, -50), (3, 0, Fraction(-7, 4))]
)
def test_irrational_roots_are_exact_surds_that_solve_the_equation(a, b, c):
    """The exact form (p ± q√m)/r gives both roots of a·x² + b·x + c = 0, matching the decimals printed
    after it, lower root first; the surd has no square factor left."""
    line = f"{Fraction(a)}x*x+{Fraction(b)}x+{Fraction(c)}=0".replace("+-", "-")
    exact, decimals = calculate(line).removeprefix("x = ").split(" ≈ ")
    match = re.fullmatch(r"\(?(?:(-?\d+) ± |±)(\d*)√(\d+)\)?(?:/(\d+))?", exact)
    assert match, exact
    p, q, m, r = (int(v) if v else default for v, default in zip(match.groups(), (0, 1, 0, 1), strict=True))
    roots = [(p + sign * q * math.sqrt(m)) / r for sign in (-1, 1)]
    for root, shown in zip(roots, decimals.split(" or "), strict=True):
        assert a * root * root + b * root + c == pytest.approx(0, abs=1e-9 * (abs(a) + abs(b) + abs(c)))
        assert root == pytest.approx(float(shown), rel=1e-5)
    assert all(m % (f * f) for f in range(2, math.isqrt(m) + 1))


@pytest.mark.parametrize(
    "text, result",
    [
        ("2x+3x", "5x"),
        ("2x+3x=", "5x"),
        ("x*y*2", "2xy"),
        ("y=2x+1", "y = 2x + 1"),
        ("y=x+x", "y = 2x"),
        ("2x+4y=8", "y = -x/2 + 2"),
        ("x+y=z", "z = x + y"),
    ],
)
def test_letters_are_simplified_or_solved_for_the_last_written(text, result):
    assert calculate(text) == result


@pytest.mark.parametrize(
    "text, result",
    [
        ("2(3+4)=", "14"),
        ("-(2+3)*4=", "-20"),
        ("6/(1+2)=", "2"),
        ("(1+2)3=", "9"),
        ("2((1+2)+1)=", "8"),
        ("3(2.5-1)=", "9/2 = 4.5"),
        ("(x+1)(x-2)=0", "x = -1 or x = 2"),
        ("2x(x+1)=12", "x = -3 or x = 2"),
        ("(x+1)x=", "x^2 + x"),
        ("(x-1)/2=3", "x = 7"),
    ],
)
def test_brackets_of_a_taught_model_group_and_multiply(text, result):
    assert calculate(text) == result


@pytest.mark.parametrize(
    "text, words",
    [
        ("(2+3=", "'(' without its ')'"),
        ("2+3)=", "')' without its '('"),
        ("()=", "')' cannot come after '('"),
        ("1/(x+1)=", "a single term such as 2x, not by (x + 1)"),
        ("4/(2-2)=", "Division by zero"),
    ],
)
def test_bad_brackets_give_one_sentence(text, words):
    with pytest.raises(MathError, match=re.escape(words)):
        calculate(text)


@pytest.mark.parametrize(
    "text, words",
    [
        ("5/0", "Division by zero"),
        ("x/0=1", "Division by zero"),
        ("3/-0", "Division by zero"),
        ("3+=4", "does not parse"),
        ("3+", "incomplete"),
        ("1=2=3", "more than one '='"),
        ("1" + "0" * 40, "more than 30 digits"),
        ("9" * 30 + "*" + "9" * 30, "more than 40 digits"),
        ("x*x=1234567890123456789012347/9876543210987654321098761", "more than 40 digits"),  # the surd
        ("1+" * 40 + "1", "more than 64 symbols"),
        ("x*x*x=1", "degree 3"),
        (".", "not a number"),
        ("", "Nothing"),
    ],
)
def test_bad_lines_give_one_sentence(text, words):
    with pytest.raises(MathError) as info:
        calculate(text)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_largest_allowed_lines_are_fast():
    """64 symbols of the costliest kind (products of 30-digit numbers, a letter) finish at once."""
    start = time.perf_counter()
    with pytest.raises(MathError):
        calculate("*".join(["9" * 10] * 6) + "=x")  # 66 symbols: refused by length
    with pytest.raises(MathError):
        calculate("x*" * 30 + "2=2")  # degree 30: refused with a message
    assert time.perf_counter() - start < 1.0


def test_decimals_terminate_exactly_or_are_marked_as_cut():
    assert decimal(Fraction(1, 8)) == "0.125"
    assert decimal(Fraction(-5, 2)) == "-2.5"
    assert decimal(Fraction(2, 3)) == "0.666666666667…"
