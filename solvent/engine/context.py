"""What a handler gets besides its command: the state, the monitor, and this step."""

from __future__ import annotations

from decimal import Decimal

from ..domain.ids import INSURANCE
from ..domain.numbers import format_units
from .monitor import RiskMonitor
from .state import EngineState


class Step:
    """One command's working context: the state and monitor, the command's sequence number
    and clock, and what it has emitted so far.

    A plain class with its own `__init__` (not a dataclass): one is built per command, and a
    dataclass's generated `__init__` stays interpreted in the compiled build."""

    __slots__ = ("state", "monitor", "seq", "now", "events", "adl_queues", "socialize_later", "ts")

    def __init__(self, state: EngineState, monitor: RiskMonitor, seq: int, now: Decimal | None,
                 ts: Decimal | None = None) -> None:
        self.state = state
        self.monitor = monitor
        self.seq = seq
        self.now = now
        self.events: list[dict] = []
        #: (market, side) -> accounts in ADL order, ranked once per command at first use
        self.adl_queues: dict[tuple[str, bool], list[str]] = {}
        #: asset -> [loss to socialize at the end of the command, owners whose balances are spared]
        self.socialize_later: dict[str, list] = {}
        #: the command's own ts (None if it carried none); `now` is the clock including it
        self.ts = ts

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
