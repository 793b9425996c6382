"""solvent.domain.numbers: reading decimal input exactly, printing decimal output plainly.

SPEC §1: every number is a decimal string (a JSON number is read through its text, never a
binary float); NaN, infinities and out-of-range exponents are rejected; output is plain text
without exponent.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solvent.domain.errors import Rejection
from solvent.domain.numbers import (
    format_decimal,
    format_exact,
    format_units,
    is_plain_decimal,
    parse_decimal,
)

D = Decimal


def rejected_code(value: object) -> str:
    with pytest.raises(Rejection) as caught:
        parse_decimal(value, "amount")
    return caught.value.code


# -- parse_decimal: what is accepted ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", D(0)),
        ("60000.5", D("60000.5")),
        ("-12.25", D("-12.25")),
        ("+7", D(7)),
        (".5", D("0.5")),
        ("5.", D(5)),
        ("1e3", D(1000)),  # exponent forms are read exactly
        ("1.5E+2", D(150)),
        ("25e-1", D("2.5")),
        ("0.000000000000000001", D("1e-18")),  # exactly 18 places
        ("999999999999999999.999999999999999999", D("999999999999999999.999999999999999999")),
    ],
)
def test_plain_decimal_strings_are_read_exactly(text, expected):
    """Each text denotes the value on the right, by reading it as written."""
    value = parse_decimal(text, "amount")
    assert value == expected
    assert isinstance(value, Decimal)


def test_json_integer_is_accepted_as_an_exact_decimal():
    """A JSON integer 12345678901234567 (beyond a float's 2^53) stays exact."""
    assert parse_decimal(12345678901234567, "amount") == D(12345678901234567)


def test_json_number_already_decoded_as_decimal_is_accepted():
    """The codec decodes JSON floats through their text into Decimal: 0.1 stays 0.1."""
    assert parse_decimal(D("0.1"), "amount") == D("0.1")


def test_trailing_zeros_beyond_eighteen_places_do_not_count():
    """'1.' followed by 22 zeros has 22 written places but needs none: it is 1."""
    assert parse_decimal("1." + "0" * 22, "amount") == D(1)
    assert parse_decimal(D("2.50000000000000000000000"), "amount") == D("2.5")


def test_nineteen_places_written_as_exponent_with_trailing_zeros_is_accepted():
    """'1000e-21' = 1e-18: written with 21 places but needs only 18."""
    assert parse_decimal("1000e-21", "amount") == D("1e-18")


def test_negative_zero_is_read_as_plain_zero():
    """'-0' and '-0.000' are 0; the result carries no sign (it prints as '0')."""
    for text in ("-0", "-0.000"):
        value = parse_decimal(text, "amount")
        assert value == 0
        assert not value.is_signed()


def test_largest_magnitude_below_the_limit_is_accepted():
    """The limit is |x| < 10^18: 10^18 − 1 and −(10^18 − 1) pass."""
    assert parse_decimal(str(10**18 - 1), "amount") == D(10**18 - 1)
    assert parse_decimal(-(10**18 - 1), "amount") == D(-(10**18 - 1))


# -- parse_decimal: what is rejected -------------------------------------------------------------


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "inf", "-inf", "Infinity", "-Infinity"])
def test_nan_and_infinity_text_are_rejected(text):
    assert rejected_code(text) == "invalid_number"


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity"), D("-Infinity"), D("sNaN")])
def test_nan_and_infinity_decimals_are_rejected(value):
    assert rejected_code(value) == "invalid_number"


@pytest.mark.parametrize(
    "text",
    ["", " ", "1_000", "1,000", "0x10", "1/2", "abc", "1.2.3", "--1", "+-1", ".", "e5", "1e", "1e+", "½"],
)
def test_text_that_is_not_a_plain_decimal_is_rejected(text):
    assert rejected_code(text) == "invalid_number"


@pytest.mark.parametrize("text", [" 1", "1 ", "\t1", "1\t", " 1 ", "\n1"])
def test_surrounding_whitespace_is_rejected(text):
    assert rejected_code(text) == "invalid_number"


def test_trailing_newline_is_rejected():
    """'1\\n' is not a decimal string. (Python's `$` also matches before a final newline, and
    `Decimal('1\\n')` strips whitespace, so a regex anchored with `$` lets it through.)"""
    assert rejected_code("1\n") == "invalid_number"


@pytest.mark.parametrize("text", ["\u0661\u0662", "\uff11", "\u0967.5"])
def test_non_ascii_digits_are_rejected(text):
    """Arabic-Indic '١٢', fullwidth '１', Devanagari '१.5': a decimal string is ASCII digits.
    (`\\d` in a str regex matches every Unicode digit, and `Decimal()` accepts them.)"""
    assert rejected_code(text) == "invalid_number"


def test_exponent_of_more_than_three_digits_is_rejected():
    assert rejected_code("1e1000") == "invalid_number"


def test_text_longer_than_sixty_four_characters_is_rejected():
    """'0.' + 70 zeros + '1' is 73 characters."""
    assert rejected_code("0." + "0" * 70 + "1") == "invalid_number"


@pytest.mark.parametrize(
    "value",
    ["1000000000000000000", "-1000000000000000000", "1e18", "1e999", "-5e20", 10**18, -(10**18), D("1E+18")],
)
def test_magnitude_of_ten_to_the_eighteen_or_more_is_rejected(value):
    assert rejected_code(value) == "out_of_range"


@pytest.mark.parametrize(
    "value",
    ["0.0000000000000000001", "1e-19", "1.0000000000000000001", "1e-999", D("1e-19"), D("0.1234567890123456789")],
)
def test_more_than_eighteen_significant_places_is_rejected(value):
    assert rejected_code(value) == "too_many_decimals"


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_rejected_even_though_they_are_ints(value):
    assert rejected_code(value) == "invalid_type"


@pytest.mark.parametrize("value", [1.5, 0.1, float("nan"), None, [1], {"v": 1}])
def test_floats_and_other_types_are_rejected(value):
    assert rejected_code(value) == "invalid_type"


def test_rejection_message_names_the_field():
    with pytest.raises(Rejection) as caught:
        parse_decimal("x", "buyer_fee")
    assert "buyer_fee" in caught.value.message


@given(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1), st.integers(min_value=0, max_value=18))
def test_any_in_range_value_round_trips_through_its_text(units, places):
    """units × 10^-places printed plainly reads back as the same number."""
    value = D(units).scaleb(-places)
    text = format(value, "f")
    if len(text) <= 64:
        assert parse_decimal(text, "amount") == value


# -- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (D(0), "0"),
        (D("-0"), "0"),
        (D("0.000"), "0"),
        (D("60000.50"), "60000.5"),
        (D("-1.50"), "-1.5"),
        (D("1E+5"), "100000"),  # no exponent in output
        (D("1.5E-12"), "0.0000000000015"),
        (D("-2.5E+3"), "-2500"),
    ],
)
def test_format_decimal_prints_plain_text_without_trailing_zeros_or_exponent(value, text):
    assert format_decimal(value) == text


def test_format_decimal_keeps_twenty_significant_digits():
    """1/3 shows as 0. followed by 20 threes (SPEC: at least 12 significant digits)."""
    assert format_decimal(D(1) / D(3)) == "0." + "3" * 20


def test_format_decimal_rounds_the_twenty_first_digit_half_even():
    """1.0000000000000000000|5 (a 5 after 20 digits): tie, last kept digit 0 is even -> '1'.
    1.0000000000000000001|5: tie, last kept digit 1 is odd -> up to ...0002."""
    assert format_decimal(D("1." + "0" * 19 + "5")) == "1"
    assert format_decimal(D("1." + "0" * 18 + "15")) == "1." + "0" * 18 + "2"


def test_format_decimal_of_a_large_integer_has_no_exponent():
    """123456789012345678901 (21 digits) rounds to 20 significant digits:
    12345678901234567890|1 -> 123456789012345678900."""
    assert format_decimal(D("123456789012345678901")) == "123456789012345678900"


@pytest.mark.parametrize(
    "value, text",
    [
        (D(0), "0"),
        (D("-0.00"), "0"),
        (D("1.2300"), "1.23"),
        (D("-0.50"), "-0.5"),
        (D("1E+3"), "1000"),
        (D("1.000000000000000000000000000001"), "1.000000000000000000000000000001"),  # all 31 digits
    ],
)
def test_format_exact_prints_every_significant_digit(value, text):
    assert format_exact(value) == text


@pytest.mark.parametrize(
    "units, decimals, text",
    [
        (-1500, 3, "-1.500"),
        (1500, 3, "1.500"),
        (5, 3, "0.005"),
        (-5, 3, "-0.005"),
        (0, 2, "0.00"),
        (0, 0, "0"),
        (-7, 0, "-7"),
        (42, 0, "42"),
        (123456, 2, "1234.56"),
        (100, 2, "1.00"),
        (-99, 2, "-0.99"),
        (1, 18, "0.000000000000000001"),
    ],
)
def test_format_units_prints_fixed_point_with_exactly_decimals_places(units, decimals, text):
    assert format_units(units, decimals) == text


@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=0, max_value=18))
def test_format_units_text_denotes_units_times_ten_to_minus_decimals(units, decimals):
    text = format_units(units, decimals)
    assert D(text) == D(units).scaleb(-decimals)
    if decimals:
        assert len(text.split(".")[1]) == decimals
    else:
        assert "." not in text


_PLAIN_RULE = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?\Z")


@given(st.one_of(st.text(st.sampled_from("0123456789.-+eE ٣²\n"), max_size=40),
                 st.builds(lambda whole, fraction: whole + "." + fraction,
                           st.text(st.sampled_from("0123456789"), max_size=20),
                           st.text(st.sampled_from("0123456789"), max_size=20))))
def test_is_plain_decimal_is_the_regular_expression(text):
    """The plain-number fast path of `parse_decimal` agrees with `[0-9]{1,18}(\\.[0-9]{1,18})?`
    on every text: 18 and 19 digits on either side, points without digits, signs, exponents,
    non-ASCII digits."""
    assert is_plain_decimal(text) == (_PLAIN_RULE.match(text) is not None)
