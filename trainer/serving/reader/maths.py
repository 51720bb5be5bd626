"""Exact maths on a read line: parse the tokens, evaluate with rationals, solve equations in x, y, z.

The 19 classes have no brackets and no powers; brackets come with a model taught ``(`` and ``)`` (Learn My
Handwriting), and then multiply out: ``2(3+4)``, ``(x+1)(x-1)``. A divisor must be one term (a number or a
coefficient with letters, ``6/(1+2)`` included), so every expression is a sum of rational multiples of
monomials with integer (possibly negative) exponents. That closed form is evaluated exactly with
:class:`fractions.Fraction`; nothing is ever ``eval``-ed, and nothing can grow without bound: lines have at
most MAX_SYMBOLS symbols and numbers at most MAX_DIGITS digits, and results longer than MAX_RESULT_DIGITS
digits are refused with a message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from trainer.errors import MathSymError

MAX_SYMBOLS = 64
MAX_DIGITS = 30
MAX_RESULT_DIGITS = 40
#: Significant digits of a non-terminating decimal.
DECIMALS = 12
#: Significant digits of the decimals shown after an exact surd: for orientation only, the surd is exact.
SURD_DECIMALS = 6
LETTERS = "xyz"
BINARY = "+-*/"
OPEN, CLOSE = "(", ")"

Monomial = tuple[int, int, int]  # exponents of x, y, z
ONE: Monomial = (0, 0, 0)


class MathError(MathSymError):
    """The line cannot be calculated; the message is one sentence for the user."""


class Expr(dict):
    """A sum of rational multiples of monomials in x, y, z: {exponents: coefficient}, no zero terms."""

    @classmethod
    def number(cls, value: Fraction) -> Expr:
        return cls({ONE: value} if value else {})

    @classmethod
    def letter(cls, name: str) -> Expr:
        exps = [0, 0, 0]
        exps[LETTERS.index(name)] = 1
        return cls({tuple(exps): Fraction(1)})

    def __add__(self, other: Expr) -> Expr:
        out = Expr(self)
        for m, c in other.items():
            v = out.get(m, 0) + c
            if v:
                out[m] = v
            else:
                out.pop(m, None)
        return out

    def __neg__(self) -> Expr:
        return Expr({m: -c for m, c in self.items()})

    def __sub__(self, other: Expr) -> Expr:
        return self + (-other)

    def __mul__(self, other: Expr) -> Expr:
        out = Expr()
        for m1, c1 in self.items():
            for m2, c2 in other.items():
                out = out + Expr({tuple(a + b for a, b in zip(m1, m2, strict=True)): c1 * c2})
        return out

    def divide(self, atom: Expr) -> Expr:
        """Divide by a one-term expression; a sum (``1/(x+1)``) would leave the closed form."""
        if not atom:
            raise MathError("Division by zero, so the line has no value.")
        if len(atom) > 1:
            raise MathError(
                f"MathSym divides only by a number or a single term such as 2x, not by ({show_expr(atom)})."
            )
        ((m, c),) = atom.items()
        return self * Expr({tuple(-e for e in m): 1 / c})

    @property
    def constant(self) -> Fraction | None:
        """The value when no letter is left (0 for an empty sum), else None."""
        if any(m != ONE for m in self):
            return None
        return self.get(ONE, Fraction(0))

    def letters(self) -> set[str]:
        return {LETTERS[i] for m in self for i, e in enumerate(m) if e}


# -- parsing ----------------------------------------------------------------------------------------------


@dataclass
class _Parser:
    """Recursive descent over one side of the line (``text[pos:end]``): expr := term (('+'|'-') term)*;
    term := factor (('*'|'/') factor)*; factor := '-' factor | primary primary*, a product written without
    ``*`` (``2(3+4)``, ``(x+1)(x-1)``, ``(x+1)x``, ``(1+2)3``); primary := '(' expr ')' | atom;
    atom := number letters* | letters+ (``2x`` is one atom). Letters divided by are recorded in ``nonzero``."""

    text: str
    pos: int
    end: int
    nonzero: set[str]

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def expr(self) -> Expr:
        value = self.term()
        while self.peek() and self.peek() in "+-":
            op = self.peek()
            self.pos += 1
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> Expr:
        value = self.factor()
        while self.peek() and self.peek() in "*/":
            op = self.peek()
            self.pos += 1
            rhs = self.factor()
            if op == "/":
                self.nonzero |= rhs.letters()
            value = value * rhs if op == "*" else value.divide(rhs)
        return value

    def factor(self) -> Expr:
        if self.peek() == "-":
            self.pos += 1
            return -self.factor()
        value = self.primary()
        while self._product_goes_on():
            value = value * self.primary()
        return value

    def _product_goes_on(self) -> bool:
        """An implicit product: a bracket opens next, or a digit or letter follows a closed bracket."""
        after_close = self.text[self.pos - 1] == CLOSE
        return self.peek() == OPEN or (after_close and self.peek() != "" and self.peek() in "0123456789" + LETTERS)

    def primary(self) -> Expr:
        if self.peek() != OPEN:
            return self.atom()
        self.pos += 1
        value = self.expr()
        if self.peek() != CLOSE:
            raise MathError(_unexpected(self.text, self.pos))
        self.pos += 1
        return value

    def atom(self) -> Expr:
        start = self.pos
        while self.peek() and (self.peek().isdigit() or self.peek() == "."):
            self.pos += 1
        digits = self.text[start : self.pos]
        value = Expr.number(Fraction(1))
        if digits:
            value = Expr.number(parse_number(digits))
        elif not (self.peek() and self.peek() in LETTERS):
            raise MathError(_unexpected(self.text, self.pos))
        while self.peek() and self.peek() in LETTERS:
            value = value * Expr.letter(self.peek())
            self.pos += 1
        return value


def parse_number(digits: str) -> Fraction:
    if digits.count(".") > 1 or digits == "." or digits.endswith("."):
        raise MathError(f"{digits} is not a number.")
    if sum(ch.isdigit() for ch in digits) > MAX_DIGITS:
        raise MathError(
            f"A number has more than {MAX_DIGITS} digits; MathSym calculates with at most {MAX_DIGITS}-digit numbers."
        )
    return Fraction(digits)


def _unexpected(text: str, pos: int) -> str:
    if text.count(OPEN) != text.count(CLOSE):
        missing, extra = (CLOSE, OPEN) if text.count(OPEN) > text.count(CLOSE) else (OPEN, CLOSE)
        return f"{text} has a {extra!r} without its {missing!r}."
    if pos >= len(text):
        return f"{text} is incomplete: it ends where a number or letter should follow."
    before = f" after {text[pos - 1]!r}" if pos else " at the start"
    return f"{text} does not parse: {text[pos]!r} cannot come{before}."


def parse_side(text: str, start: int, end: int, nonzero: set[str]) -> Expr:
    """Parse ``text[start:end]`` (one side of the line); messages quote the whole line."""
    if start == end:
        raise MathError(_unexpected(text, start))
    parser = _Parser(text, start, end, nonzero)
    value = parser.expr()
    if parser.pos != end:
        raise MathError(_unexpected(text, parser.pos))
    return value


# -- results ----------------------------------------------------------------------------------------------


def _check_size(value: Fraction) -> None:
    if len(str(abs(value.numerator))) > MAX_RESULT_DIGITS or len(str(value.denominator)) > MAX_RESULT_DIGITS:
        raise MathError(
            f"The result has more than {MAX_RESULT_DIGITS} digits; MathSym shows results of at "
            f"most {MAX_RESULT_DIGITS} digits."
        )


def decimal(value: Fraction) -> str:
    """Exact when the decimal terminates, else DECIMALS significant digits and an ellipsis."""
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    sign = "-" if value < 0 else ""
    v = abs(value)
    if den == 1:
        places = 0
        while (v * 10**places).denominator != 1:
            places += 1
        whole, frac = divmod(v.numerator * 10**places // v.denominator, 10**places)
        return sign + (f"{whole}.{frac:0{places}d}" if places else str(whole))
    magnitude = math.floor(math.log10(v)) if v else 0
    places = max(DECIMALS - 1 - magnitude, 0)
    scaled = round(v * 10**places)
    text = str(scaled).rjust(places + 1, "0")
    whole, frac = text[:-places] if places else text, text[-places:] if places else ""
    frac = frac.rstrip("0")
    return sign + whole + ("." + frac if frac else "") + "…"


def show_number(value: Fraction) -> str:
    """``6``, ``13/4 = 3.25``, ``1/3 = 0.333333333333…``."""
    _check_size(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator} = {decimal(value)}"


def _fraction_text(c: Fraction) -> str:
    return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"


def _monomial_text(m: Monomial) -> tuple[str, str]:
    def part(sign: int) -> str:
        out = ""
        for name, e in zip(LETTERS, m, strict=True):
            if e * sign > 0:
                out += name + (f"^{abs(e)}" if abs(e) > 1 else "")
        return out

    return part(1), part(-1)


def show_expr(value: Expr) -> str:
    """An expression in the line's own ASCII: ``5x - 3/2``, ``2xy``, ``3/(2x)``."""
    if not value:
        return "0"
    order = sorted(value.items(), key=lambda mc: (-sum(e for e in mc[0]), [-e for e in mc[0]]))
    out = ""
    for i, (m, c) in enumerate(order):
        _check_size(c)
        top, bottom = _monomial_text(m)
        mag = abs(c)
        num = "" if mag.numerator == 1 and top else str(mag.numerator)
        term = num + top
        den = (str(mag.denominator) if mag.denominator != 1 else "") + bottom
        if den:
            term += "/" + (f"({den})" if len(den) > 1 and not den.isdigit() else den)
        sign = "-" if c < 0 else "+"
        out += (sign if sign == "-" else "") + term if i == 0 else f" {sign} {term}"
    return out


def _poly_in(value: Expr, letter: str) -> tuple[dict[int, Expr], int]:
    """``value`` as powers of one letter with coefficients in the others, multiplied by the letter's power
    that clears negative exponents (returned too: solutions must not make that letter 0)."""
    k = LETTERS.index(letter)
    shift = max(0, -min(m[k] for m in value)) if value else 0
    powers: dict[int, Expr] = {}
    for m, c in value.items():
        rest = tuple(0 if i == k else e for i, e in enumerate(m))
        powers[m[k] + shift] = powers.get(m[k] + shift, Expr()) + Expr({rest: c})
    return {p: e for p, e in powers.items() if e}, shift


def _solve_one(diff: Expr, letter: str, nonzero: bool) -> str:
    powers, shift = _poly_in(diff, letter)
    shift = shift or nonzero
    degree = max(powers, default=0)
    coeff = {p: e.constant or Fraction(0) for p, e in powers.items()}  # one letter: every power's is a number
    if degree == 0:
        if not powers:
            return f"every value of {letter}" + (f" except {letter} = 0" if shift else "")
        return "no solution"
    if degree == 1:
        root = -coeff.get(0, Fraction(0)) / coeff[1]
        if shift and root == 0:
            return "no solution"
        return f"{letter} = {show_number(root)}"
    if degree == 2:
        return _quadratic(
            coeff.get(2, Fraction(0)),
            coeff.get(1, Fraction(0)),
            coeff.get(0, Fraction(0)),
            letter,
            exclude_zero=bool(shift),
        )
    raise MathError(f"This is an equation of degree {degree} in {letter}; MathSym solves equations of degree 1 and 2.")


def _exact_sqrt(q: Fraction) -> Fraction | None:
    n, d = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(n, d) if n * n == q.numerator and d * d == q.denominator else None


#: Square factors are taken out of a surd by trial division up to this factor: enough for the numbers a
#: line can hold to come out fully simplified in practice; a larger square factor left inside keeps the
#: value exact, only less simplified.
SURD_TRIAL = 2000


def _surd(q: Fraction) -> tuple[Fraction, int]:
    """sqrt(q) for q > 0 as (c, m): sqrt(q) = c * sqrt(m) with m > 0 an integer without small square factors."""
    inside, outside = q.numerator * q.denominator, 1  # sqrt(n/d) = sqrt(n * d) / d
    f = 2
    while f <= SURD_TRIAL and f * f <= inside:
        while inside % (f * f) == 0:
            inside //= f * f
            outside *= f
        f += 1
    return Fraction(outside, q.denominator), inside


def _surd_roots_text(p: int, q: int, m: int, r: int) -> str:
    """(p ± q*sqrt(m)) / r in the line's ASCII: ``1 ± √2``, ``(-3 ± √17)/4``, ``±2√3``, ``±√3/3``."""
    surd = ("" if q == 1 else str(q)) + f"√{m}"
    top = f"{p} ± {surd}" if p else f"±{surd}"
    if r == 1:
        return top
    return f"({top})/{r}" if p else f"{top}/{r}"


def _irrational_roots(a: Fraction, b: Fraction, disc: Fraction, letter: str) -> str:
    """Both roots (-b ± sqrt(disc)) / (2a) exactly, as (p ± q*sqrt(m))/r in lowest terms, and as decimals."""
    s, m = _surd(disc)
    centre, half = -b / (2 * a), abs(s / (2 * a))
    for part in (centre, half, Fraction(m)):
        _check_size(part)
    r = math.lcm(centre.denominator, half.denominator)
    p, q = int(centre * r), int(half * r)
    g = math.gcd(p, q, r)
    low, high = (float(centre) + sign * float(half) * math.sqrt(m) for sign in (-1, 1))
    exact = _surd_roots_text(p // g, q // g, m, r // g)
    return f"{letter} = {exact} ≈ {low:.{SURD_DECIMALS}g} or {high:.{SURD_DECIMALS}g}"


def _quadratic(a: Fraction, b: Fraction, c: Fraction, letter: str, exclude_zero: bool) -> str:
    disc = b * b - 4 * a * c
    if disc < 0:
        return "no real solution"
    root = _exact_sqrt(disc)
    if root is None:  # irrational roots are never 0: nothing to exclude
        return _irrational_roots(a, b, disc, letter)
    roots = sorted({(-b - root) / (2 * a), (-b + root) / (2 * a)})
    roots = [r for r in roots if not (exclude_zero and r == 0)]
    if not roots:
        return "no solution"
    return " or ".join(f"{letter} = {show_number(r)}" for r in roots)


def _solve_for(lhs: Expr, rhs: Expr, letter: str) -> str:
    """Solve a relation between several letters for ``letter`` when it appears linearly, else simplify."""
    diff = lhs - rhs
    powers, shift = _poly_in(diff, letter)
    if max(powers, default=0) == 1 and not shift:
        a, b = powers[1], powers.get(0, Expr())
        if len(a) == 1:
            return f"{letter} = {show_expr((-b).divide(a))}"
        return f"{letter} = ({show_expr(-b)})/({show_expr(a)})"
    return f"{show_expr(diff)} = 0"


def calculate(text: str) -> str:
    """The result of a line in the reader's ASCII (``12/4+3=``, ``2x+3=11``), as a string for the user.

    Raises MathError with one sentence when there is no result.
    """
    if not text:
        raise MathError("Nothing to calculate.")
    if len(text) > MAX_SYMBOLS:
        raise MathError(f"The line has more than {MAX_SYMBOLS} symbols; MathSym reads at most {MAX_SYMBOLS}.")
    if text.count("=") > 1:
        raise MathError(f"{text} has more than one '='; write one equation per line.")
    nonzero: set[str] = set()
    split = text.find("=")
    if split < 0 or split == len(text) - 1:
        value = parse_side(text, 0, len(text) if split < 0 else split, nonzero)
        constant = value.constant
        return show_number(constant) if constant is not None else show_expr(value)
    lhs, rhs = parse_side(text, 0, split, nonzero), parse_side(text, split + 1, len(text), nonzero)
    letters = [ch for ch in text if ch in LETTERS]
    names = sorted(set(letters), key=letters.index)
    if not names:
        left, right = lhs.constant or Fraction(0), rhs.constant or Fraction(0)  # no letters: numbers
        if left == right:
            return f"true ({show_number(left)})"
        return f"false ({show_number(left)} is not {show_number(right)})"
    if len(names) == 1:
        return _solve_one(lhs - rhs, names[0], names[0] in nonzero)
    if split == 1 and text[0] in LETTERS and text[0] not in rhs.letters():
        return f"{text[0]} = {show_expr(rhs)}"  # already a definition: show it simplified
    return _solve_for(lhs, rhs, names[-1])
