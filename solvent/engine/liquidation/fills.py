"""Closing part of a position at the mark against the backstop (`@insurance`).

Liquidations and auto-deleveraging move positions this way: the account's side and the
backstop's side are two fills at the mark under the market's cost basis, and each side's
realized PnL settles through the market's pool exactly as a trade's does (the account's
leg rounded down, the pool paying exactly it). A close is planned whole, without changing
anything, so that the sizing policies can try many sizes before one is posted.

The backstop's realized PnL changes the insurance fund: it is posted with an
`insurance_fund` event (reason `backstop_pnl`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from ...domain.account import Account
from ...domain.ids import INSURANCE, isolated_wallet, pnl_pool
from ...domain.position import FillOutcome, apply_fill, sign_times, unwind
from ...domain.specs import MarketSpec
from ...ledger import Transfer
from ..context import Step
from ..state import EngineState
from ..pools import sweep_flat_pool


class BackstopClose(NamedTuple):
    """`closed` (signed, the part of the account's position closed) at the mark, both sides."""

    account: Account
    spec: MarketSpec
    mark: Decimal
    closed: Decimal
    fill: FillOutcome  # the account's side
    account_leg: int  # realized PnL credited to the account (settle quantums, rounded down)
    backstop_fill: FillOutcome
    backstop_leg: int

    @property
    def holder(self) -> str:
        """The ledger account the account's side settles in: its isolated wallet or itself."""
        position = self.account.positions[self.spec.id]
        return isolated_wallet(self.account.id, self.spec.id) if position.isolated else self.account.id

    def transfers(self) -> list[Transfer]:
        pool = pnl_pool(self.spec.id)
        settle = self.spec.settle
        moves = []
        for holder, leg in ((self.holder, self.account_leg), (INSURANCE, self.backstop_leg)):
            if leg > 0:
                moves.append(Transfer(pool, holder, settle, leg))
            elif leg < 0:
                moves.append(Transfer(holder, pool, settle, -leg))
        return moves


def plan_close(state: EngineState, account: Account, spec: MarketSpec, size: Decimal, unwind_backstop: bool = False) -> BackstopClose:
    """Close `size` (> 0, at most the position's size) of `account`'s position in `spec`.

    With `unwind_backstop`, the backstop's side takes back, at the same mark, part of what it
    has just taken over in this market (auto-deleveraging hands a bankrupt position on):
    it realizes nothing, whatever else the backstop holds (`solvent.domain.position.unwind`).
    (Where the backstop held the other way before the takeover and so holds less than
    `size` now, its side is an ordinary fill.)"""
    book = state.book
    position = account.positions[spec.id]
    mark = book.prices[spec.oracle]
    decimals = book.assets[spec.settle].decimals
    basis = book.params.cost_basis
    closed = sign_times(position.size, size)
    fill = apply_fill(position, spec.id, -closed, mark, basis, decimals)
    backstop = state.accounts.get(INSURANCE)
    held = backstop.positions.get(spec.id) if backstop is not None else None
    if unwind_backstop and held is not None and (held.size > 0) == (closed < 0) and abs(held.size) >= size:
        backstop_fill = FillOutcome(unwind(held, -closed, mark), Decimal(0), size, Decimal(0), 0)
    else:
        backstop_fill = apply_fill(held, spec.id, closed, mark, basis, decimals)
    return BackstopClose(
        account, spec, mark, closed, fill,
        fill.realized_units,
        backstop_fill,
        backstop_fill.realized_units,
    )


def post_close(step: Step, close: BackstopClose, extra: list[Transfer]) -> None:
    """Post the close and `extra` transfers (a fee, a charge) in one batch and move both
    positions. The caller reports the close, then calls `report_backstop`."""
    state = step.state
    state.ledger.post(close.transfers() + extra)
    state.set_position(close.account, close.spec.id, close.fill.position)
    state.set_position(state.account(INSURANCE), close.spec.id, close.backstop_fill.position)


def report_backstop(step: Step, close: BackstopClose) -> None:
    """What the backstop's side of a posted close did to the insurance fund, and the
    market pool's dust if the market is now flat."""
    if close.backstop_leg:
        step.insurance_fund(close.spec.settle, close.backstop_leg, "backstop_pnl")
    sweep_flat_pool(step, close.spec)
