"""Tier lookup and the per-position requirements (SPEC §5).

    tier(notional)      = the first tier whose max_notional >= notional
    maintenance_margin  = notional × mmr − cum
    initial_margin      = notional / min(leverage chosen, max_leverage of the tier)
"""

from __future__ import annotations

from decimal import Decimal

from ..domain.numbers import ARITHMETIC
from ..domain.specs import Tier


def tier_index(tiers: tuple[Tier, ...], notional: Decimal) -> int:
    """Index of the first tier whose `max_notional` is at least `notional`."""
    last = len(tiers) - 1
    for index in range(last):
        if notional <= tiers[index].max_notional:  # type: ignore[operator]
            return index
    return last


def tier_for(tiers: tuple[Tier, ...], notional: Decimal) -> Tier:
    return tiers[tier_index(tiers, notional)]


def maintenance_margin(notional: Decimal, tier: Tier) -> Decimal:
    """`notional × mmr − cum` (exact)."""
    return ARITHMETIC.subtract(ARITHMETIC.multiply(notional, tier.mmr), tier.cum)


def effective_leverage(tier: Tier, chosen: Decimal | None) -> Decimal:
    """`min(leverage chosen, max_leverage of the tier)`; the tier's cap when none is chosen."""
    if chosen is None or chosen > tier.max_leverage:
        return tier.max_leverage
    return chosen


def initial_margin(notional: Decimal, tier: Tier, chosen: Decimal | None) -> Decimal:
    """`notional / min(leverage chosen, max_leverage)` (exact to 100 digits; rounded up by the caller)."""
    return ARITHMETIC.divide(notional, effective_leverage(tier, chosen))
