"""Health and free collateral as functions of one oracle's price, every other price held.

Within one tier a position's maintenance margin is linear in the mark, so for one risk unit

    health(x) = K + S × x          S = Σ collateral × weight + Σ (q − |q| × mmr)
    free(x)   = K' + S' × x        S' = Σ collateral × weight_init + Σ (q − |q| / leverage)

on every price interval where no position on that oracle changes tier. These lines are what
the liquidation price is solved from (closed form per tier) and what the vectorized screen in
`solvent.risk` moves on a price tick. They are unrounded: the rounded figures of
`margin.figures` differ from them by less than one quantum per term.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ..domain.book import Book
from ..domain.numbers import ARITHMETIC, ZERO
from ..domain.position import Position
from ..domain.specs import Tier
from .tiers import effective_leverage, maintenance_margin, tier_index

_mul = ARITHMETIC.multiply
_add = ARITHMETIC.add
_sub = ARITHMETIC.subtract


@dataclass(frozen=True, slots=True)
class Leg:
    """A position's dependence on its market's oracle."""

    size: Decimal
    cost: Decimal
    tiers: tuple[Tier, ...]
    leverage: Decimal | None  # chosen; None = tier cap


@dataclass(slots=True)
class Exposure:
    """Everything in one risk unit that moves with one oracle's price."""

    collateral_maint: Decimal = ZERO  # Σ balance × exchange_rate × weight_maint (per unit price)
    collateral_init: Decimal = ZERO
    legs: list[Leg] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Segment:
    """The line of one risk unit in one oracle, valid while low < price <= high."""

    slope_health: Decimal
    slope_free: Decimal
    low: Decimal  # 0 when unbounded
    high: Decimal | None  # None when unbounded


def cross_exposures(
    balances: Mapping[str, int], positions: Iterable[Position], book: Book
) -> tuple[Decimal, Decimal, dict[str, Exposure]]:
    """Split a cross account into its price-free part (quote-asset collateral) and one
    `Exposure` per oracle. Returns (constant_maint, constant_init, exposures)."""
    constant_maint = constant_init = ZERO
    exposures: dict[str, Exposure] = {}
    for asset, units in balances.items():
        spec = book.assets[asset]
        amount = Decimal(units).scaleb(-spec.decimals, ARITHMETIC)
        w_maint = spec.weight_maint if units >= 0 else spec.debt_weight_maint
        w_init = spec.weight_init if units >= 0 else spec.debt_weight_init
        if spec.oracle is None:
            constant_maint = _add(constant_maint, _mul(amount, w_maint))
            constant_init = _add(constant_init, _mul(amount, w_init))
            continue
        if spec.oracle not in book.prices:
            continue  # unpriced collateral counts as nothing
        rate = book.exchange_rates.get(asset)
        if rate is not None:
            amount = _mul(amount, rate)
        exposure = exposures.setdefault(spec.oracle, Exposure())
        exposure.collateral_maint = _add(exposure.collateral_maint, _mul(amount, w_maint))
        exposure.collateral_init = _add(exposure.collateral_init, _mul(amount, w_init))
    for position in positions:
        market = book.markets[position.market]
        exposure = exposures.setdefault(market.oracle, Exposure())
        exposure.legs.append(Leg(position.size, position.cost, market.tiers, position.leverage))
    return constant_maint, constant_init, exposures


def health_part(exposure: Exposure, price: Decimal) -> Decimal:
    """This exposure's contribution to (unrounded) health at `price`."""
    total = _mul(exposure.collateral_maint, price)
    for leg in exposure.legs:
        notional = _mul(abs(leg.size), price)
        tier = leg.tiers[tier_index(leg.tiers, notional)]
        total = _add(total, _sub(_sub(_mul(leg.size, price), leg.cost), maintenance_margin(notional, tier)))
    return total


def segment_at(exposure: Exposure, price: Decimal) -> Segment:
    """The line through `price`, and the price interval on which it holds."""
    slope_h = exposure.collateral_maint
    slope_f = exposure.collateral_init
    low = ZERO
    high: Decimal | None = None
    for leg in exposure.legs:
        magnitude = abs(leg.size)
        notional = _mul(magnitude, price)
        index = tier_index(leg.tiers, notional)
        tier = leg.tiers[index]
        slope_h = _add(slope_h, _sub(leg.size, _mul(magnitude, tier.mmr)))
        slope_f = _add(slope_f, _sub(leg.size, ARITHMETIC.divide(magnitude, effective_leverage(tier, leg.leverage))))
        if index > 0:
            low = max(low, ARITHMETIC.divide(leg.tiers[index - 1].max_notional, magnitude))  # type: ignore[arg-type]
        if tier.max_notional is not None:
            bound = ARITHMETIC.divide(tier.max_notional, magnitude)
            high = bound if high is None else min(high, bound)
    return Segment(slope_h, slope_f, low, high)


def liquidation_price(exposure: Exposure, other: Decimal, current: Decimal) -> Decimal | None:
    """The price of this oracle, everything else held, at which health reaches zero.

    `other` is the unrounded health of everything that does not move with this oracle.
    Health is `other + Σ` of this exposure's terms; it is piecewise linear, with a break
    wherever a position on this oracle changes tier. On each piece the closed form
    `x = −K / S` is solved and kept only if x lies in that piece (Binance's rule: the tier
    used must be the tier at the solved price). Of the roots in (0, ∞), the one nearest the
    current price is returned; None when there is none.
    """
    breaks: set[Decimal] = set()
    for leg in exposure.legs:
        magnitude = abs(leg.size)
        for tier in leg.tiers[:-1]:
            breaks.add(ARITHMETIC.divide(tier.max_notional, magnitude))  # type: ignore[arg-type]
    edges = sorted(breaks)
    roots: list[Decimal] = []
    low = ZERO
    for high in [*edges, None]:
        # Probe strictly inside the piece: a boundary itself is a rounded quotient and may
        # fall a hair into the next tier.
        probe = ARITHMETIC.divide(_add(low, high), 2) if high is not None else _add(_mul(low, 2), 1)
        segment = segment_at(exposure, probe)
        if segment.slope_health:
            # K = health at probe − S × probe
            constant = _sub(_add(other, health_part(exposure, probe)), _mul(segment.slope_health, probe))
            root = ARITHMETIC.divide(-constant, segment.slope_health)
            if root > low and (high is None or root <= high):
                roots.append(root)
        low = high if high is not None else low
    if not roots:
        return None
    return min(roots, key=lambda root: (abs(_sub(root, current)), root))
