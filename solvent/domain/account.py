"""An account: its positions and its per-market margin settings. Balances live in the ledger."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from .position import Position


class MarginMode(str, enum.Enum):
    CROSS = "cross"
    ISOLATED = "isolated"


@dataclass(frozen=True, slots=True)
class MarginSetting:
    mode: MarginMode = MarginMode.CROSS
    leverage: Decimal | None = None  # None: capped only by the tier's max_leverage


CROSS_DEFAULT = MarginSetting()


#: the settings of an account that never chose any: one shared, read-only empty mapping, so
#: that a million such accounts do not each hold an empty dict
NO_SETTINGS: Mapping[str, MarginSetting] = MappingProxyType({})


@dataclass(slots=True)
class Account:
    id: str
    positions: dict[str, Position] = field(default_factory=dict)
    #: replaced, never changed in place (`with_setting`)
    settings: Mapping[str, MarginSetting] = field(default_factory=lambda: NO_SETTINGS)
    #: the account's number in its engine (the order of creation), given when the engine
    #: creates it: it places the account in the per-market holder bitmaps
    #: (`solvent.engine.holders`); -1 for an account no engine holds. Derived: a restore
    #: numbers the accounts again in the same order.
    index: int = field(default=-1, compare=False)

    def setting(self, market: str) -> MarginSetting:
        return self.settings.get(market, CROSS_DEFAULT)

    def is_isolated(self, market: str) -> bool:
        return self.setting(market).mode is MarginMode.ISOLATED

    def with_setting(self, market: str, setting: MarginSetting) -> None:
        """Choose `setting` for `market` (the default setting drops the entry)."""
        settings = dict(self.settings)
        if setting == CROSS_DEFAULT:
            settings.pop(market, None)
        else:
            settings[market] = setting
        self.settings = settings or NO_SETTINGS
