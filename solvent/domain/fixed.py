"""Exact decimals as two integers: `(units, places)` stands for units × 10**-places.

A position keeps its size and cost this way (`solvent.domain.position`): two Python ints
take about 60 bytes where two `Decimal`s take about 210, and the figures of a position are
then integer products and one floor or ceiling division each, with no `Decimal` built.

The pair keeps the exponent a `Decimal` would have (`places` = −exponent; negative for a
number such as 1E+2), and every operation here gives the exponent the same `Decimal`
operation gives when it is exact: a sum or difference takes the larger `places`, a product
their sum. So `join(split(x))` is `x` digit for digit, and a value computed on pairs prints
as the `Decimal` computation would have printed it (snapshots and state hashes keep their
bytes). The input limits (`solvent.domain.numbers`: below 10**18, at most 18 fractional
digits) keep every `Decimal` operation the engine forms exact, so the two always agree.
A negative zero reads as zero: the engine never holds one (`parse_decimal` returns +0, and
an exact difference of equal values is +0 under the engine's rounding).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from .numbers import ARITHMETIC

Pair = tuple[int, int]

#: 10**k for the exponents the engine forms (products of two inputs with 18 decimals, then
#: scaled to a value currency's decimals, stay far below 120). Typed: `10**k` is `Any` to
#: mypy (a negative exponent gives a float), and compiled, an `Any` item would make every
#: product and division here a generic object operation on boxed ints
POWERS: Final[list[int]] = [10**k for k in range(120)]


def split(number: Decimal) -> Pair:
    """(units, places) of a finite `Decimal`, keeping its exponent: 1.50 -> (150, 2)."""
    text = str(number)
    if "E" not in text:
        whole, _, fraction = text.partition(".")
        return int(whole + fraction), len(fraction)
    sign, digits, exponent = number.as_tuple()
    units = 0
    for digit in digits:
        units = units * 10 + digit
    return (-units if sign else units), -int(exponent)


#: `split_shared`'s memo, by identity: each entry keeps its `Decimal`, so its id cannot be
#: reused while the entry exists; a full memo is emptied, never consulted stale
_SHARED: dict[int, tuple[Decimal, int, int]] = {}
_SHARED_SIZE: Final = 4096


def split_shared(number: Decimal) -> Pair:
    """`split(number)`, remembered for a `Decimal` object read again and again (a mark at
    every valuation of a position in its market, a trade's price on both sides)."""
    found = _SHARED.get(id(number))
    if found is not None and found[0] is number:
        return found[1], found[2]
    units, places = split(number)
    if len(_SHARED) >= _SHARED_SIZE:
        _SHARED.clear()
    _SHARED[id(number)] = (number, units, places)
    return units, places


def parse(text: str) -> Pair:
    """(units, places) of a decimal text as `str(Decimal)` writes it (a snapshot's)."""
    if "E" in text or "e" in text:
        return split(Decimal(text))
    whole, _, fraction = text.partition(".")
    return int(whole + fraction), len(fraction)


def join(units: int, places: int) -> Decimal:
    """The `Decimal` units × 10**-places, with exponent −places."""
    return Decimal(units).scaleb(-places, ARITHMETIC)


def text(units: int, places: int) -> str:
    """`str(join(units, places))`, written without building the `Decimal` in the common case
    (plain notation: 0 <= places and at most 6 zeros after the point before the digits)."""
    if places == 0:
        return str(units)
    if places > 0:
        digits = str(-units if units < 0 else units)
        if len(digits) - places >= -5:  # (Decimal: adjusted exponent >= -6)
            sign = "-" if units < 0 else ""
            if len(digits) <= places:
                digits = "0" * (places + 1 - len(digits)) + digits
            return f"{sign}{digits[:-places]}.{digits[-places:]}"
    return str(join(units, places))


def exact_text(units: int, places: int) -> str:
    """`numbers.format_exact(join(units, places))`: plain text without exponent or trailing
    zeros ("0" for zero), written from the digits (a state hash writes every position's)."""
    if not units:
        return "0"
    sign = "-" if units < 0 else ""
    digits = str(-units if units < 0 else units)
    if places <= 0:
        return sign + digits + "0" * -places
    stripped = digits.rstrip("0")
    zeros = len(digits) - len(stripped)
    if zeros >= places:  # a whole number
        return sign + digits[:len(digits) - places]
    places -= zeros
    if len(stripped) <= places:
        stripped = "0" * (places + 1 - len(stripped)) + stripped
    return f"{sign}{stripped[:-places]}.{stripped[-places:]}"


def to_float(units: int, places: int) -> float:
    """The nearest float (as `float(Decimal)`: an int true division is correctly rounded)."""
    if places >= 0:
        return units / POWERS[places]
    return float(units * POWERS[-places])


def add(units: int, places: int, other_units: int, other_places: int) -> Pair:
    """The exact sum, at the larger number of places (as `Decimal` addition)."""
    if places == other_places:
        return units + other_units, places
    if places > other_places:
        return units + other_units * POWERS[places - other_places], places
    return units * POWERS[other_places - places] + other_units, other_places


def compare(units: int, places: int, other_units: int, other_places: int) -> int:
    """−1, 0 or 1 as the first number is below, equal to or above the second."""
    if places > other_places:
        other_units *= POWERS[places - other_places]
    elif other_places > places:
        units *= POWERS[other_places - places]
    return (units > other_units) - (units < other_units)


def floor_at(units: int, places: int, decimals: int) -> int:
    """floor(units × 10**-places × 10**decimals): the number in whole quantums of
    10**-decimals, rounded toward −∞."""
    if decimals >= places:
        return units * POWERS[decimals - places]
    return units // POWERS[places - decimals]


def ceil_at(units: int, places: int, decimals: int) -> int:
    """As `floor_at`, rounded toward +∞."""
    if decimals >= places:
        return units * POWERS[decimals - places]
    return -(-units // POWERS[places - decimals])


def _quotient_terms(units: int, places: int, divisor_units: int, divisor_places: int, decimals: int) -> Pair:
    """(numerator, denominator), whole numbers whose quotient is (units × 10**-places) ÷
    (divisor_units × 10**-divisor_places) × 10**decimals; the denominator is > 0."""
    if divisor_units < 0:
        units, divisor_units = -units, -divisor_units
    shift = decimals - places + divisor_places
    if shift >= 0:
        return units * POWERS[shift], divisor_units
    return units, divisor_units * POWERS[-shift]


def floor_quotient_at(units: int, places: int, divisor_units: int, divisor_places: int, decimals: int) -> int:
    """The exact quotient of two pairs in whole quantums of 10**-decimals, toward −∞."""
    numerator, denominator = _quotient_terms(units, places, divisor_units, divisor_places, decimals)
    return numerator // denominator


def ceil_quotient_at(units: int, places: int, divisor_units: int, divisor_places: int, decimals: int) -> int:
    """As `floor_quotient_at`, toward +∞."""
    numerator, denominator = _quotient_terms(units, places, divisor_units, divisor_places, decimals)
    return -(-numerator // denominator)
