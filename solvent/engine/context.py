"""What a handler gets besides its command: the state, the monitor, and this step."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..domain.ids import INSURANCE
from ..domain.numbers import format_units
from .monitor import RiskMonitor
from .state import EngineState


@dataclass(slots=True)
class Step:
    state: EngineState
    monitor: RiskMonitor
    seq: int
    now: Decimal | None
    events: list[dict] = field(default_factory=list)
    #: (market, side) -> accounts in ADL order, ranked once per command at first use
    adl_queues: dict[tuple[str, bool], list[str]] = field(default_factory=dict)
    #: asset -> [loss to socialize at the end of the command, owners whose balances are spared]
    socialize_later: dict[str, list] = field(default_factory=dict)
    #: the command's own ts (None if it carried none); `now` is the clock including it
    ts: Decimal | None = None

    def emit(self, name: str, **fields: object) -> None:
        self.events.append({"event": name, "seq": self.seq, **fields})

    def insurance_fund(self, asset: str, delta: int, reason: str) -> None:
        """The `insurance_fund` event for a change of `delta` quantums already posted."""
        decimals = self.state.book.assets[asset].decimals
        balance = self.state.ledger.balance(INSURANCE, asset)
        self.emit("insurance_fund", asset=asset, delta=format_units(delta, decimals),
                  balance=format_units(balance, decimals), reason=reason)

    def evaluate(self, *account_ids: str) -> None:
        for account_id in sorted(set(account_ids)):
            self.monitor.evaluate(account_id, self.seq, self.events)
