"""solvent.domain.rounding: the rounding table decides every direction.

Requirements (notional, margins, funding paid, isolated margin in, the pool's PnL leg) round
up (toward +∞); values and payouts round down (toward −∞, so a negative value — a debt or a
loss — grows in magnitude).
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solvent.domain.rounding import (
    Figure,
    rounder,
    scale,
    divide_to_units,
    scale_between,
    to_units,
    units_to_decimal,
)

D = Decimal

REQUIREMENTS = [
    "NOTIONAL",
    "MAINTENANCE_MARGIN",
    "INITIAL_MARGIN",
    "FUNDING_PAID",
    "ISOLATED_MARGIN_IN",
    "INTEREST_OWED",
    "MARGIN_RATIO",  # printed: the closer to liquidation, the higher
    "LIQUIDATION_FEE",  # charges to the account being liquidated or deleveraged
    "COLLATERAL_SEIZED",
    "COLLATERAL_VALUE_SPENT",
    "ADL_CHARGE",
    "SOCIALIZED_HAIRCUT",
]
VALUES_AND_PAYOUTS = [
    "COLLATERAL_VALUE",
    "WEIGHTED_VALUE",
    "UNREALIZED_PNL",
    "REALIZED_PNL_TO_ACCOUNT",
    "FUNDING_RECEIVED",
    "ISOLATED_MARGIN_RELEASED",
    "INTEREST_EARNED",
    "EXCHANGE_RATE",  # it values collateral
    "HEALTH_FACTOR",  # printed: the closer to liquidation, the lower
    "LIQUIDATION_FEE_CAP",  # the equity a charge may take, never overstated
    "ADL_CHARGE_CAP",
    "DEBT_REPAID_BY_COLLATERAL",  # what collateral is worth in debt, never overstated
    "FUND_CAPACITY",
]


@pytest.mark.parametrize("name", REQUIREMENTS)
def test_requirements_round_up(name):
    """1.0000001 at 6 decimals is 1000000.1 quantums: up gives 1000001; -1.0000001 up is
    -1000000 (toward +∞: a smaller requirement is never produced)."""
    direction = getattr(Figure, name)
    assert to_units(D("1.0000001"), 6, direction) == 1000001
    assert to_units(D("-1.0000001"), 6, direction) == -1000000


@pytest.mark.parametrize("name", VALUES_AND_PAYOUTS)
def test_values_and_payouts_round_down(name):
    """1.0000009 at 6 decimals is 1000000.9 quantums: down gives 1000000."""
    direction = getattr(Figure, name)
    assert to_units(D("1.0000009"), 6, direction) == 1000000


@pytest.mark.parametrize("name", VALUES_AND_PAYOUTS)
def test_negative_values_floor_toward_minus_infinity(name):
    """-1.0000001 at 6 decimals is -1000000.1 quantums: floor gives -1000001 (a debt or a
    loss is never understated)."""
    direction = getattr(Figure, name)
    assert to_units(D("-1.0000001"), 6, direction) == -1000001


def test_every_figure_is_in_the_table():
    """The two lists above cover every Figure attribute, so no figure escapes these tests."""
    names = {n for n in vars(Figure) if n.isupper()}
    assert names == set(REQUIREMENTS) | set(VALUES_AND_PAYOUTS)


@pytest.mark.parametrize(
    "amount, decimals, down, up",
    [
        (D("12.345"), 2, 1234, 1235),
        (D("-12.345"), 2, -1235, -1234),
        (D("12.34"), 2, 1234, 1234),  # already whole quantums: no rounding either way
        (D("0.5"), 0, 0, 1),
        (D("-0.5"), 0, -1, 0),
        (D("0"), 6, 0, 0),
        (D("-0"), 6, 0, 0),
        (D("0E-12"), 2, 0, 0),
        (D("1e-18"), 18, 1, 1),
        (D("1e-19"), 18, 0, 1),
    ],
)
def test_to_units_scales_then_rounds_in_the_given_direction(amount, decimals, down, up):
    assert to_units(amount, decimals, Figure.COLLATERAL_VALUE) == down
    assert to_units(amount, decimals, Figure.MAINTENANCE_MARGIN) == up


def test_to_units_returns_a_python_int():
    assert type(to_units(D("1.5"), 2, Figure.NOTIONAL)) is int
    assert type(to_units(D("-0.000"), 2, Figure.NOTIONAL)) is int


@pytest.mark.parametrize("units, decimals, value", [(-1500, 3, D("-1.5")), (1, 6, D("0.000001")), (7, 0, D(7))])
def test_units_to_decimal_is_units_times_ten_to_minus_decimals(units, decimals, value):
    assert units_to_decimal(units, decimals) == value


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=0, max_value=18))
def test_units_round_trip_through_decimal_in_both_directions(units, decimals):
    """A whole number of quantums needs no rounding: up and down give it back."""
    amount = units_to_decimal(units, decimals)
    assert to_units(amount, decimals, Figure.NOTIONAL) == units
    assert to_units(amount, decimals, Figure.UNREALIZED_PNL) == units


@given(
    st.integers(min_value=-(10**24), max_value=10**24),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=6),
)
def test_up_and_down_bracket_the_exact_amount_within_one_quantum(numerator, places, decimals):
    amount = D(numerator).scaleb(-places)
    down = to_units(amount, decimals, Figure.COLLATERAL_VALUE)
    up = to_units(amount, decimals, Figure.INITIAL_MARGIN)
    assert units_to_decimal(down, decimals) <= amount <= units_to_decimal(up, decimals)
    assert up - down in (0, 1)
    assert (up == down) == (units_to_decimal(down, decimals) == amount)


def test_scale_is_ten_to_the_decimals():
    assert scale(0) == 1
    assert scale(6) == D(1000000)
    assert scale(18) == D(10) ** 18


@pytest.mark.parametrize(
    "source, target, factor",
    [(6, 2, D("0.0001")), (2, 6, D(10000)), (3, 3, D(1)), (8, 6, D("0.01")), (0, 18, D(10) ** 18)],
)
def test_scale_between_converts_quantums_of_one_precision_into_another(source, target, factor):
    """1 quantum at `source` decimals = factor quantums at `target` decimals: 10^(target−source)."""
    assert scale_between(source, target) == factor


def test_scale_between_turns_eight_decimal_units_into_six_decimal_value_units():
    """0.5 BTC = 50,000,000 units at 8 decimals = 500,000 units at 6 decimals."""
    assert D(50_000_000) * scale_between(8, 6) == D(500_000)


def test_rounder_gives_floor_for_down_and_ceil_for_up():
    assert rounder(Figure.UNREALIZED_PNL) is math.floor
    assert rounder(Figure.MAINTENANCE_MARGIN) is math.ceil
    assert rounder(Figure.UNREALIZED_PNL)(D("-2.5")) == -3
    assert rounder(Figure.NOTIONAL)(D("-2.5")) == -2


@pytest.mark.parametrize(
    "numerator, denominator, down, up",
    [
        (D("10"), 3, 3, 4),  # 3.333…
        (D("9"), 3, 3, 3),  # exact: no direction moves it
        (D("-10"), 3, -4, -3),  # toward −∞ / +∞
        (D("0.000000000000000001"), 31_536_000, 0, 1),  # the smallest positive quotient still rounds up to 1
    ],
)
def test_divide_to_units_rounds_the_exact_quotient(numerator, denominator, down, up):
    assert divide_to_units(numerator, denominator, Figure.INTEREST_EARNED) == down
    assert divide_to_units(numerator, denominator, Figure.INTEREST_OWED) == up


def test_divide_to_units_is_exact_where_a_100_digit_division_is_not():
    """(3 × 10^100 − 1) / 3 = 10^100 − 1/3. Divided at 100 significant digits it rounds to
    10^100 (whose floor is 10^100: one too many); the exact quotient floors to 10^100 − 1."""
    from solvent.domain.numbers import ARITHMETIC

    numerator = D(3 * 10**100 - 1)
    assert int(ARITHMETIC.divide(numerator, D(3)).to_integral_value(Figure.INTEREST_EARNED)) == 10**100
    assert divide_to_units(numerator, 3, Figure.INTEREST_EARNED) == 10**100 - 1
    assert divide_to_units(numerator, 3, Figure.INTEREST_OWED) == 10**100
