"""solvent.market_data.interest: the kinked borrow-rate model of SPEC §5.

Model used throughout (Aave-like): base 2%, slope1 4%, slope2 75%, U_opt 80%, reserve 10%.
    U <= 0.8: borrow = 0.02 + 0.04 × U / 0.8
    U >  0.8: borrow = 0.06 + 0.75 × (U − 0.8) / 0.2
    supply = borrow × U × 0.9
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solvent.domain.specs import RateModel
from solvent.market_data.interest import borrow_rate, rates, supply_rate, utilization

D = Decimal
MODEL = RateModel(base=D("0.02"), slope1=D("0.04"), slope2=D("0.75"), optimal_utilization=D("0.8"),
                  reserve_factor=D("0.1"))


@pytest.mark.parametrize(
    "u, borrow, supply",
    [
        (D(0), D("0.02"), D(0)),  # base only; nothing earns
        (D("0.4"), D("0.04"), D("0.0144")),  # 0.02 + 0.04 × 0.5; 0.04 × 0.4 × 0.9
        (D("0.8"), D("0.06"), D("0.0432")),  # at the kink: base + slope1; 0.06 × 0.8 × 0.9
        (D("0.9"), D("0.435"), D("0.35235")),  # 0.06 + 0.75 × 0.5; 0.435 × 0.9 × 0.9
        (D(1), D("0.81"), D("0.729")),  # base + slope1 + slope2; 0.81 × 1 × 0.9
    ],
)
def test_rates_at_key_utilizations(u, borrow, supply):
    assert borrow_rate(MODEL, u) == borrow
    assert supply_rate(MODEL, u, borrow) == supply


def test_borrow_rate_is_continuous_at_the_kink():
    """Just above U_opt the second slope starts from base + slope1 = 0.06:
    U = 0.8 + 1e-30 gives 0.06 + 0.75 × 1e-30 / 0.2 = 0.06 + 3.75e-30."""
    assert borrow_rate(MODEL, D("0.8") + D("1e-30")) == D("0.06") + D("3.75e-30")


def test_rate_jumps_in_slope_above_the_kink():
    """From 0.7 to 0.8 the rate rises 0.04 × 0.1 / 0.8 = 0.005; from 0.8 to 0.9 it rises
    0.75 × 0.1 / 0.2 = 0.375."""
    assert borrow_rate(MODEL, D("0.8")) - borrow_rate(MODEL, D("0.7")) == D("0.005")
    assert borrow_rate(MODEL, D("0.9")) - borrow_rate(MODEL, D("0.8")) == D("0.375")


@pytest.mark.parametrize(
    "borrows, deposits, u",
    [(D(50), D(200), D("0.25")), (D(0), D(100), D(0)), (D(100), D(100), D(1)), (D(0), D(0), D(0)), (D(5), D(0), D(0))],
)
def test_utilization_is_borrows_over_deposits_and_zero_when_nothing_is_deposited(borrows, deposits, u):
    assert utilization(borrows, deposits) == u


def test_rates_bundles_utilization_borrow_and_supply():
    """90 borrowed of 100 deposited: U 0.9, borrow 0.435, supply 0.35235 (table above)."""
    r = rates(MODEL, D(90), D(100))
    assert (r.utilization, r.borrow_rate, r.supply_rate) == (D("0.9"), D("0.435"), D("0.35235"))


def test_supply_rate_without_reserve_factor_pays_out_all_interest():
    """Reserve 0: supply = borrow × U; at U 0.5: borrow 0.02 + 0.04 × 0.625 = 0.045, supply 0.0225."""
    model = RateModel(D("0.02"), D("0.04"), D("0.75"), D("0.8"), D(0))
    r = rates(model, D(1), D(2))
    assert (r.borrow_rate, r.supply_rate) == (D("0.045"), D("0.0225"))


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_borrow_rate_never_decreases_with_utilization(a, b):
    low, high = sorted((D(a) / D(10**6), D(b) / D(10**6)))
    assert borrow_rate(MODEL, low) <= borrow_rate(MODEL, high)


@given(st.integers(0, 10**6))
def test_suppliers_never_earn_more_than_borrowers_pay(n):
    """Per unit deposited, suppliers get borrow × U × (1 − reserve) <= borrow × U."""
    u = D(n) / D(10**6)
    borrow = borrow_rate(MODEL, u)
    assert supply_rate(MODEL, u, borrow) <= borrow * u
