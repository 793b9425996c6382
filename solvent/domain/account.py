"""An account: its positions and its per-market margin settings. Balances live in the ledger."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from .position import Position


class MarginMode(str, enum.Enum):
    CROSS = "cross"
    ISOLATED = "isolated"


@dataclass(frozen=True, slots=True)
class MarginSetting:
    mode: MarginMode = MarginMode.CROSS
    leverage: Decimal | None = None  # None: capped only by the tier's max_leverage


CROSS_DEFAULT = MarginSetting()


@dataclass(slots=True)
class Account:
    id: str
    positions: dict[str, Position] = field(default_factory=dict)
    settings: dict[str, MarginSetting] = field(default_factory=dict)

    def setting(self, market: str) -> MarginSetting:
        return self.settings.get(market, CROSS_DEFAULT)

    def is_isolated(self, market: str) -> bool:
        return self.setting(market).mode is MarginMode.ISOLATED
