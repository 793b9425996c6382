"""solvent.market_data.yield_rate: exchange-rate growth by APY, the cap on reported rates,
and APR ↔ APY. Expected values are worked out in each docstring."""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent.market_data.yield_rate import apr_to_apy, apy_to_apr, clamp_reported, grow_rate, rate_cap

D = Decimal
YEAR = D(365 * 86400)


def test_a_whole_year_grows_by_the_apy_exactly():
    """1.1 × 1.05 = 1.155; two years: 1.1 × 1.05² = 1.1 × 1.1025 = 1.21275."""
    assert grow_rate(D("1.1"), D("0.05"), YEAR) == D("1.155")
    assert grow_rate(D("1.1"), D("0.05"), 2 * YEAR) == D("1.21275")


def test_a_fraction_of_a_year_compounds_and_rounds_down():
    """Half a year at 21 % APY: 1.21^0.5 = 1.1 exactly, so the exact rate is 1.1; the
    fractional power is computed to 100 digits and a 10^-80 safety margin taken off before
    rounding down to 18 places: 1.099999999999999999 — never above the exact value.
    30 days at 5 %: 1.05^(30/365) = e^(ln 1.05 × 0.082191780…) = 1.004018…, below the
    simple-interest bound 1 + 0.05 × 30/365 = 1.004109…"""
    assert grow_rate(D(1), D("0.21"), YEAR / 2) == D("1.099999999999999999")
    grown = grow_rate(D(1), D("0.05"), D(30 * 86400))
    assert D("1.004018") < grown < D("1.004019")
    assert grown.as_tuple().exponent >= -18


def test_no_apy_or_no_time_changes_nothing():
    assert grow_rate(D("1.23"), D(0), YEAR) == D("1.23")
    assert grow_rate(D("1.23"), D("0.1"), D(0)) == D("1.23")


def test_the_cap_grows_linearly_from_the_anchor():
    """Anchor 1.1 at t = 0, 20 % a year: half a year later the cap is 1.1 × (1 + 0.2 × 0.5)
    = 1.21. A report of 1.3 is applied at 1.21 (clamped), 1.2 as reported, a drop to 0.9 as
    reported."""
    cap = rate_cap(D("1.1"), D(0), YEAR / 2, D("0.2"))
    assert cap == D("1.21")
    assert clamp_reported(D("1.3"), cap) == (D("1.21"), True)
    assert clamp_reported(D("1.2"), cap) == (D("1.2"), False)
    assert clamp_reported(D("0.9"), cap) == (D("0.9"), False)


def test_without_a_clock_the_cap_is_the_anchor():
    assert rate_cap(D("1.1"), None, D(100), D("0.2")) == D("1.1")
    assert rate_cap(D("1.1"), D(100), None, D("0.2")) == D("1.1")


def test_apr_to_apy_monthly_and_back():
    """12 % APR compounded monthly: (1 + 0.01)^12 − 1 = 0.126825030131969720661201 exactly;
    the inverse gives 12 % back (to 90 digits)."""
    apy = apr_to_apy(D("0.12"), 12)
    assert apy == D("0.126825030131969720661201")
    assert abs(apy_to_apr(apy, 12) - D("0.12")) < D("1e-90")


def test_apr_to_apy_continuous():
    """Continuous: APY = e^APR − 1; ln(1.05) = 0.048790164169432…, so 5 % APY is that APR."""
    apr = apy_to_apr(D("0.05"), None)
    assert D("0.04879016416943") < apr < D("0.04879016416944")
    assert abs(apr_to_apy(apr, None) - D("0.05")) < D("1e-90")


@pytest.mark.parametrize("periods", [1, 12, 365, None])
def test_apy_is_never_below_apr(periods):
    """Compounding only adds: APY ≥ APR for a positive rate, equal for one period a year."""
    apy = apr_to_apy(D("0.08"), periods)
    assert apy >= D("0.08")
    assert (apy == D("0.08")) is (periods == 1)
