"""Yield-bearing collateral: the exchange rate (underlying per unit), its growth and its cap.

    value of a unit      = exchange_rate × oracle price of the underlying      (SPEC §2, §5)
    growth over Δt       = rate × (1 + apy) ^ (Δt / 31,536,000)                (compounded yearly APY)
    cap on a reported rate = anchor × (1 + max_yearly_growth × (now − anchor_ts) / 31,536,000)

The cap is a capped exchange-rate oracle's (linear growth from the last applied report, the
anchor): a report above it is applied at the cap. Drops are applied as reported. Every rate
the engine computes is rounded down to 18 decimal places, since it values collateral; the
power over a whole number of years is exact; over a fraction of a year it is evaluated with
100 significant digits and a safety margin of 10^-80 of the value is taken off before
rounding, so the applied rate never exceeds the exact one (it may be one 10^-18 below).

APR ↔ APY helpers, with `n` compounding periods a year (`n = None`: continuous):

    apy = (1 + apr / n) ^ n − 1          apr = n × ((1 + apy) ^ (1 / n) − 1)
    apy = e ^ apr − 1                    apr = ln(1 + apy)                    (continuous)
"""

from __future__ import annotations

from decimal import Context, Decimal

from ..domain.numbers import ARITHMETIC, ONE
from ..domain.rounding import Figure

SECONDS_PER_YEAR = Decimal(365 * 86_400)
RATE_PLACES = 18
_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
_SAFETY = Decimal(1).scaleb(-80)
#: whole-year growth (1 + apy)^n is computed exactly: n × 20 digits fit in 10,000
_EXACT = Context(prec=10_000, Emax=999_999, Emin=-999_999)


def round_rate(rate: Decimal) -> Decimal:
    """A rate rounded down to 18 decimal places (the rounding table: it values collateral)."""
    return rate.quantize(_QUANTUM, rounding=Figure.EXCHANGE_RATE, context=ARITHMETIC)


def years(seconds: Decimal) -> Decimal:
    return ARITHMETIC.divide(seconds, SECONDS_PER_YEAR)


def grow_rate(rate: Decimal, apy: Decimal, seconds: Decimal) -> Decimal:
    """`rate × (1 + apy) ^ (seconds / 31,536,000)`, rounded down to 18 places (never above
    the exact value: see the module docstring)."""
    if not apy or seconds <= 0:
        return rate
    exponent = years(seconds)
    if exponent == exponent.to_integral_value():  # whole years: an exact integer power
        return round_rate(_EXACT.multiply(rate, _EXACT.power(ARITHMETIC.add(ONE, apy), exponent)))
    grown = ARITHMETIC.multiply(rate, ARITHMETIC.power(ARITHMETIC.add(ONE, apy), exponent))
    return round_rate(ARITHMETIC.subtract(grown, ARITHMETIC.multiply(grown, _SAFETY)))


def rate_cap(anchor: Decimal, anchor_ts: Decimal | None, now: Decimal | None, max_yearly_growth: Decimal) -> Decimal:
    """`anchor × (1 + max_yearly_growth × (now − anchor_ts) / 31,536,000)`, rounded down;
    the anchor itself while either time is unknown."""
    if anchor_ts is None or now is None or now <= anchor_ts:
        return anchor
    growth = ARITHMETIC.multiply(max_yearly_growth, years(ARITHMETIC.subtract(now, anchor_ts)))
    return round_rate(ARITHMETIC.multiply(anchor, ARITHMETIC.add(ONE, growth)))


def clamp_reported(reported: Decimal, cap: Decimal) -> tuple[Decimal, bool]:
    """(applied rate, clamped?): a report above the cap is applied at the cap."""
    return (cap, True) if reported > cap else (reported, False)


def apr_to_apy(apr: Decimal, periods: int | None) -> Decimal:
    """`(1 + apr / n) ^ n − 1`, or `e ^ apr − 1` for continuous compounding (periods None)."""
    if periods is None:
        return ARITHMETIC.subtract(ARITHMETIC.exp(apr), ONE)
    per_period = ARITHMETIC.add(ONE, ARITHMETIC.divide(apr, Decimal(periods)))
    return ARITHMETIC.subtract(ARITHMETIC.power(per_period, Decimal(periods)), ONE)


def apy_to_apr(apy: Decimal, periods: int | None) -> Decimal:
    """`n × ((1 + apy) ^ (1 / n) − 1)`, or `ln(1 + apy)` for continuous compounding."""
    if periods is None:
        return ARITHMETIC.ln(ARITHMETIC.add(ONE, apy))
    root = ARITHMETIC.power(ARITHMETIC.add(ONE, apy), ARITHMETIC.divide(ONE, Decimal(periods)))
    return ARITHMETIC.multiply(Decimal(periods), ARITHMETIC.subtract(root, ONE))
