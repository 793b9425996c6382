"""Exact numbers at the edge: parsing decimal input and printing decimal output.

Every amount, price, rate and size enters as a decimal string (or a JSON number read through
its text) and becomes a `Decimal`; binary floats are never accepted. Limits keep every
product the engine forms far inside the arithmetic context's precision, so that sums and
products are exact and only the divisions the rounding table names are ever rounded.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from typing import Final

from .errors import Rejection

#: The context every engine computation runs in: 100 significant digits. With the input
#: limits below, additions and multiplications of inputs are exact.
ARITHMETIC = Context(prec=100, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)

#: Largest magnitude accepted for any decimal input (amounts, prices, sizes, rates).
MAX_MAGNITUDE = Decimal(10) ** 18
#: Most fractional digits accepted for any decimal input.
MAX_FRACTION_DIGITS = 18
#: Longest decimal string accepted.
MAX_TEXT = 64

#: The plain form most input takes: at most 18 integer and 18 fractional digits, so within
#: every limit below without further checks (`is_plain_decimal`).
_DIGITS: Final = "0123456789"
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]{1,3}))?\Z")

ZERO = Decimal(0)
ONE = Decimal(1)

#: Significant digits printed for prices and ratios (SPEC: at least 12).
DISPLAY_DIGITS = 20
_DISPLAY = {
    rounding: Context(prec=DISPLAY_DIGITS, rounding=rounding)
    for rounding in (ROUND_HALF_EVEN, ROUND_FLOOR, ROUND_CEILING)
}


def is_plain_decimal(text: str) -> bool:
    """Whether `text` is 1 to 18 digits, optionally a point and 1 to 18 more: the regular
    expression `[0-9]{1,18}(\\.[0-9]{1,18})?` (checked against it in
    tests/unit/domain/test_numbers.py), without its cost on every amount of every command."""
    whole, point, fraction = text.partition(".")
    return (0 < len(whole) <= 18 and not whole.strip(_DIGITS)
            and (not point or (0 < len(fraction) <= 18 and not fraction.strip(_DIGITS))))


def parse_decimal(value: object, field: str) -> Decimal:
    """Read a JSON value as an exact finite decimal, or raise a `Rejection`.

    Accepts a decimal string, a JSON integer, or a JSON number already read as `Decimal`
    (the codec decodes floats through their text). Refuses booleans, NaN, infinities, text
    that is not a plain decimal, magnitudes of 10**18 and more, and more than 18 fractional
    digits (trailing zeros do not count).
    """
    if type(value) is str:
        if is_plain_decimal(value):
            number = Decimal(value)
            return number if number else ZERO
        match = _DECIMAL_TEXT.match(value) if len(value) <= MAX_TEXT else None
        if match is None:
            raise Rejection("invalid_number", f"{field} is not a decimal number: {value[:40]!r}")
        number = Decimal(value)
        fraction = match.group(1) or match.group(2) or ""
        places = len(fraction) - int(match.group(3) or 0)
    elif isinstance(value, bool):
        raise Rejection("invalid_type", f"{field} must be a decimal string, not a boolean")
    elif isinstance(value, int):
        number = Decimal(value)
        places = 0
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise Rejection("invalid_number", f"{field} must be finite")
        number = value
        places = -number.as_tuple().exponent  # type: ignore[operator]
    else:
        raise Rejection("invalid_type", f"{field} must be a decimal string")
    if not -MAX_MAGNITUDE < number < MAX_MAGNITUDE:
        raise Rejection("out_of_range", f"{field} is too large (limit 10^18)")
    if places > MAX_FRACTION_DIGITS:
        number = number.normalize(ARITHMETIC)
        if -number.as_tuple().exponent > MAX_FRACTION_DIGITS:  # type: ignore[operator]
            raise Rejection("too_many_decimals", f"{field} has more than {MAX_FRACTION_DIGITS} decimal places")
    return number if number else ZERO


def format_decimal(number: Decimal, rounding: str = ROUND_HALF_EVEN) -> str:
    """Plain decimal text without exponent or trailing zeros, at most 20 significant digits,
    rounded half-even unless a direction is given (a ratio whose side of 1 matters takes its
    direction from the rounding table).

    Used for prices, sizes and ratios; money goes through `format_units`.
    """
    if not number:
        return "0"
    context = _DISPLAY[rounding]
    return format(context.plus(number).normalize(context), "f")


def format_exact(number: Decimal) -> str:
    """Plain decimal text of an exact value, without exponent or trailing zeros."""
    if not number:
        return "0"
    return format(number.normalize(ARITHMETIC), "f")


def format_units(units: int, decimals: int) -> str:
    """An integer count of quantums as fixed-point text: `format_units(-1500, 3) == "-1.500"`."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"
