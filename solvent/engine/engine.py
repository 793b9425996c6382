"""The state machine: `Engine().apply(command) -> [event, ...]` (SPEC §1).

Orchestration only: decode and check the command (solvent.codec), refuse duplicates, run the
handler (which validates everything before it changes anything), advance the clock, and
return the events. No formula lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import localcontext
from typing import Any

from .. import codec
from ..domain import commands as c
from ..domain.errors import Rejection
from ..domain.numbers import ARITHMETIC
from ..risk.screen import HealthScreen
from . import accrual, config, liquidation, market, trading, value
from .collector import collector_paused
from .context import Step
from .monitor import RiskMonitor
from .state import EngineState
from .views import account_entry, state_document, state_hash

_HANDLERS: dict[type, Callable[[Step, Any], None]] = {
    c.AssetCommand: config.asset,
    c.MarketCommand: config.market,
    c.ParamsCommand: config.params,
    c.Deposit: value.deposit,
    c.Withdraw: value.withdraw,
    c.TransferCommand: value.transfer,
    c.Trade: trading.trade,
    c.OrderCheck: trading.order_check,
    c.SetMarginMode: trading.margin_mode,
    c.IsolatedMargin: trading.isolated_margin,
    c.PriceUpdate: market.price,
    c.Funding: market.funding,
    c.ExchangeRate: market.exchange_rate,
    c.Time: accrual.time,
}

#: Commands that change nothing: they may repeat a client id.
_QUERIES = (c.AccountQuery, c.OrderCheck)


class EngineFault(Exception):
    """A bug: a handler failed after it had started to change the state."""


class Engine:
    """A deterministic margin engine. The same commands always give the same events and state."""

    def __init__(self, screen: HealthScreen | None = None) -> None:
        """`screen`: the risk screen to use, empty (default: a new `HealthScreen`); a
        subclass that observes it lets a benchmark or a test see what it does."""
        self.state = EngineState()
        self.monitor = RiskMonitor(self.state, screen)

    def apply(self, command: object) -> list[dict[str, Any]]:
        """Apply one command (a dict, or its JSON text) and return the events it caused.

        A refused command returns one `rejected` event and changes nothing."""
        state = self.state
        seq = state.commands
        state.commands += 1
        with localcontext(ARITHMETIC):
            try:
                raw = codec.decode(command) if isinstance(command, (str, bytes)) else command
                if not isinstance(raw, dict):
                    raise Rejection("invalid_command", "a command must be a JSON object")
                envelope = codec.parse_command(raw)
                return self._run(envelope, seq)
            except Rejection as refusal:
                return [{"event": "rejected", "seq": seq, "code": refusal.code, "message": refusal.message}]

    def _run(self, envelope: c.Envelope, seq: int) -> list[dict[str, Any]]:
        state = self.state
        body = envelope.body
        if envelope.client_id is not None and not isinstance(body, _QUERIES) and envelope.client_id in state.applied_ids:
            raise Rejection("duplicate", f"a command with id {envelope.client_id!r} was already applied")
        now = state.clock
        if envelope.ts is not None and (now is None or envelope.ts > now):
            now = envelope.ts
        step = Step(state, self.monitor, seq, now, ts=envelope.ts)
        if isinstance(body, c.AccountQuery):
            if not state.account_exists(body.account):
                raise Rejection("unknown_account", f"no account {body.account!r}")
            step.emit("account", account=body.account, **account_entry(state, body.account))
        else:
            handler = _HANDLERS[type(body)]
            changed_before = state.ledger.postings
            try:
                handler(step, body)
            except Rejection:
                if state.ledger.postings != changed_before:
                    raise EngineFault("a command was refused after it had posted") from None
                raise
            except Exception as error:  # a bug in a handler
                if state.ledger.postings != changed_before:
                    raise EngineFault(f"{type(error).__name__}: {error}") from error
                raise Rejection("internal_error", f"{type(error).__name__}: {error}") from None
            if not isinstance(body, _QUERIES):  # a query changes nothing, not even by liquidating
                try:
                    liquidation.run(step)
                except Exception as error:  # a bug: the command's own changes are already posted
                    raise EngineFault(f"liquidation failed: {type(error).__name__}: {error}") from error
        state.clock = now
        if envelope.client_id is not None and not isinstance(body, _QUERIES):
            state.applied_ids.add(envelope.client_id)
        return step.events

    # -- reading --------------------------------------------------------------------------
    def state_document(self) -> dict[str, Any]:
        """The state as SPEC §4 describes it (the cyclic garbage collector paused meanwhile:
        `collector.collector_paused`)."""
        with localcontext(ARITHMETIC), collector_paused():
            return state_document(self.state)

    def account(self, account_id: str) -> dict[str, Any]:
        with localcontext(ARITHMETIC):
            return account_entry(self.state, account_id)

    def state_hash(self) -> str:
        """`ledger.hash`: the sha256 of the canonical state (the collector paused meanwhile)."""
        with collector_paused():
            return state_hash(self.state)
