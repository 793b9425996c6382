"""Configuration values: assets, markets with their margin tiers, engine parameters.

All immutable. They are built by the codec from `asset`, `market` and `params` commands
after validation; nothing here checks input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from .numbers import ARITHMETIC, ONE, ZERO


@dataclass(frozen=True, slots=True)
class RateModel:
    """Kinked (two-slope) borrow-rate model, yearly rates (SPEC §5)."""

    base: Decimal
    slope1: Decimal
    slope2: Decimal
    optimal_utilization: Decimal
    reserve_factor: Decimal


@dataclass(frozen=True, slots=True)
class YieldSpec:
    """Yield-bearing collateral: value = units × exchange_rate × oracle price. The rate grows
    by `apy` (compounded yearly) as time passes; a reported rate is capped at
    `max_yearly_growth` (linear, per year) above the last report (MARKET_DATA.md)."""

    exchange_rate: Decimal
    apy: Decimal
    max_yearly_growth: Decimal = Decimal("0.2")


@dataclass(frozen=True, slots=True)
class AssetSpec:
    id: str
    decimals: int
    oracle: str | None  # None: a quote asset, worth exactly 1
    weight_init: Decimal
    weight_maint: Decimal
    liability_weight_init: Decimal | None  # None: cannot be borrowed
    liability_weight_maint: Decimal | None
    rate_model: RateModel | None = None
    yield_spec: YieldSpec | None = None
    #: a price of this asset's oracle older than this (engine clock) is stale
    max_oracle_age_s: Decimal | None = None
    #: extra value the backstop takes when it seizes this asset as collateral (borrow liquidation)
    liquidation_bonus: Decimal = Decimal("0.05")

    @property
    def borrowable(self) -> bool:
        return self.liability_weight_maint is not None

    @property
    def debt_weight_maint(self) -> Decimal:
        """Weight of a negative balance for maintenance; 1 for a settle asset that cannot be
        borrowed but went negative through PnL, fees or funding."""
        return self.liability_weight_maint if self.liability_weight_maint is not None else ONE

    @property
    def debt_weight_init(self) -> Decimal:
        return self.liability_weight_init if self.liability_weight_init is not None else ONE


@dataclass(frozen=True, slots=True)
class Tier:
    """One margin tier. `max_notional` is None on the last tier. `cum` is the maintenance
    amount that keeps maintenance margin continuous across tiers (SPEC §5)."""

    max_notional: Decimal | None
    mmr: Decimal
    max_leverage: Decimal
    cum: Decimal


def build_tiers(raw: list[tuple[Decimal | None, Decimal, Decimal]]) -> tuple[Tier, ...]:
    """Derive each tier's `cum` from (max_notional, mmr, max_leverage) rows, ascending:

        cum_1 = 0
        cum_k = cum_(k−1) + max_notional_(k−1) × (mmr_k − mmr_(k−1))
    """
    tiers: list[Tier] = []
    cum = ZERO
    previous: tuple[Decimal | None, Decimal, Decimal] | None = None
    for max_notional, mmr, max_leverage in raw:
        if previous is not None:
            assert previous[0] is not None
            cum = ARITHMETIC.add(cum, ARITHMETIC.multiply(previous[0], ARITHMETIC.subtract(mmr, previous[1])))
        tiers.append(Tier(max_notional, mmr, max_leverage, cum))
        previous = (max_notional, mmr, max_leverage)
    return tuple(tiers)


@dataclass(frozen=True, slots=True)
class MarketSpec:
    id: str
    oracle: str
    settle: str
    tiers: tuple[Tier, ...]
    step_size: Decimal
    liquidation_fee: Decimal
    max_oracle_age_s: Decimal | None = None
    min_notional: Decimal | None = None


class LiquidationPolicy(str, enum.Enum):
    PARTIAL = "partial"
    FULL = "full"


class Liquidations(str, enum.Enum):
    """The operator's switch: `paused` keeps every status and margin call exact but executes
    no liquidation (an incident, or a what-if study); `on` liquidates before the next command."""

    ON = "on"
    PAUSED = "paused"


class BadDebtPolicy(str, enum.Enum):
    ADL = "adl"
    SOCIALIZE = "socialize"


class CostBasis(str, enum.Enum):
    """How a reduced position's realized PnL is measured (Beancount's booking methods)."""

    AVERAGE = "average"
    FIFO = "fifo"


@dataclass(frozen=True, slots=True)
class Params:
    """Engine-wide settings (the `params` command); defaults documented in MARGIN_MODEL.md."""

    liquidation_policy: LiquidationPolicy = LiquidationPolicy.PARTIAL
    liquidations: Liquidations = Liquidations.ON
    liquidation_buffer: Decimal = Decimal("0.1")
    bad_debt_policy: BadDebtPolicy = BadDebtPolicy.ADL
    cost_basis: CostBasis = CostBasis.AVERAGE
    #: oracle guards (MARKET_DATA.md): a move beyond this fraction of the last price is
    #: held until a second update within `jump_confirmation` of it confirms it (None: off)
    max_price_jump: Decimal | None = None
    jump_confirmation: Decimal = Decimal("0.02")
    #: a price whose confidence exceeds this fraction of it is not believed (None: off)
    max_confidence: Decimal | None = Decimal("0.02")
    #: borrow liquidation: the share of a debt one liquidation may repay ...
    close_factor: Decimal = Decimal("0.5")
    #: ... and the health factor below which it may repay all of it (Aave's 0.95)
    full_close_health_factor: Decimal = Decimal("0.95")
    #: quantums of the figures valued in the quote currency (equity, margins, health)
    value_decimals: int = 6
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)
