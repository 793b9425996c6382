"""solvent.domain.fixed: a decimal as (units, places). Every operation must give the digits
and the exponent the `Decimal` operation gives, since a position's size and cost are kept
this way and printed into snapshots and state hashes."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvent.domain import fixed
from solvent.domain.numbers import ARITHMETIC, format_exact

D = Decimal

#: finite decimals of up to 36 digits with exponents from 10**-24 to 10**6, zeros included
#: (written with and without places: 0, 0.00, 0E-8, 1E+2 ...)
decimals = st.builds(
    lambda units, exponent: Decimal(units).scaleb(exponent),
    st.integers(-(10**36), 10**36) | st.integers(-300, 300)
    | st.builds(lambda n, zeros: n * 10**zeros, st.integers(-999, 999), st.integers(0, 12)),  # trailing zeros
    st.integers(-24, 6),
)


def same(number: Decimal, other: Decimal) -> bool:
    """Equal digit for digit, exponent included (what `str` and a snapshot see)."""
    return number.as_tuple() == other.as_tuple()


@pytest.mark.parametrize("text, pair", [
    ("1.50", (150, 2)), ("-0.5", (-5, 1)), ("0", (0, 0)), ("0.00", (0, 2)), ("0E-8", (0, 8)),
    ("1E+2", (1, -2)), ("-2.5E-7", (-25, 8)), ("123456789012345678.123456789012345678",
                                             (123456789012345678123456789012345678, 18)),
])
def test_split_keeps_digits_and_exponent(text, pair):
    assert fixed.split(D(text)) == pair
    assert fixed.parse(text) == pair
    assert same(fixed.join(*pair), D(text))
    assert fixed.text(*pair) == str(D(text))


@settings(max_examples=500)
@given(decimals)
def test_split_join_and_text_give_back_the_decimal(number):
    units, places = fixed.split(number)
    assert same(fixed.join(units, places), number)
    assert fixed.text(units, places) == str(number)
    assert fixed.parse(str(number)) == (units, places)
    assert fixed.to_float(units, places) == float(number)
    assert fixed.exact_text(units, places) == format_exact(number)


@settings(max_examples=500)
@given(decimals, decimals)
def test_sum_and_comparison_as_decimal(a, b):
    with localcontext(ARITHMETIC):
        total = a + b
    got = fixed.add(*fixed.split(a), *fixed.split(b))
    assert same(fixed.join(*got), total)
    assert fixed.compare(*fixed.split(a), *fixed.split(b)) == (a > b) - (a < b)


@settings(max_examples=500)
@given(decimals, st.integers(0, 12))
def test_rounding_to_quantums_floor_and_ceil(number, places):
    units, exponent_places = fixed.split(number)
    exact = Fraction(number) * 10**places
    assert fixed.floor_at(units, exponent_places, places) == math.floor(exact)
    assert fixed.ceil_at(units, exponent_places, places) == math.ceil(exact)


@settings(max_examples=500)
@given(decimals, decimals.filter(bool), st.integers(0, 12))
def test_quotients_are_the_exact_rational_rounded_once(number, divisor, places):
    exact = Fraction(number) / Fraction(divisor) * 10**places
    pair, divisor_pair = fixed.split(number), fixed.split(divisor)
    assert fixed.floor_quotient_at(*pair, *divisor_pair, places) == math.floor(exact)
    assert fixed.ceil_quotient_at(*pair, *divisor_pair, places) == math.ceil(exact)


def test_shared_split_never_answers_for_another_object():
    """The memo is by identity: a `Decimal` freed and another built at the same address must
    get its own pair, and the memo stays bounded."""
    for n in range(3 * fixed._SHARED_SIZE):
        number = Decimal(n).scaleb(-(n % 7))  # the previous one is freed: its id is often reused
        assert fixed.split_shared(number) == fixed.split(number)
        assert fixed.split_shared(number) == (n, n % 7)
    assert len(fixed._SHARED) <= fixed._SHARED_SIZE


@pytest.mark.parametrize("text, exact", [
    ("1.00", "1"), ("-2.500", "-2.5"), ("100", "100"), ("1E+2", "100"), ("0.000", "0"), ("0E-8", "0"),
    ("0.0012300", "0.00123"), ("-120.0", "-120"), ("5E-7", "0.0000005"), ("12345.678900", "12345.6789"),
])
def test_exact_text_strips_trailing_zeros_and_writes_no_exponent(text, exact):
    assert fixed.exact_text(*fixed.split(D(text))) == exact == format_exact(D(text))
