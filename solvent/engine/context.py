"""What a handler gets besides its command: the state, the monitor, and this step."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .monitor import RiskMonitor
from .state import EngineState


@dataclass(slots=True)
class Step:
    state: EngineState
    monitor: RiskMonitor
    seq: int
    now: Decimal | None
    events: list[dict] = field(default_factory=list)

    def emit(self, name: str, **fields: object) -> None:
        self.events.append({"event": name, "seq": self.seq, **fields})

    def evaluate(self, *account_ids: str) -> None:
        for account_id in sorted(set(account_ids)):
            self.monitor.evaluate(account_id, self.seq, self.events)
