"""Liquidation (SPEC §6): after every command, every risk unit in breach is liquidated
before the next command.

The risk monitor keeps, exactly, the set of liquidatable units: an account's cross part
(`(account, "")`) or one isolated position (`(account, market)`). `run` takes them in
rounds, in sorted order (account id, then the cross part before the isolated positions by
market id), until none is left that can be acted on:

* an isolated position: `positions.liquidate_isolated`; a wallet left below zero goes to
  the loss waterfall;
* a cross part: its positions (`positions.liquidate_cross_positions`); then, if it is still
  in breach with no position left, a bankruptcy (equity < 0) or one borrow liquidation
  (`lending`).

Socialized losses are collected at the end of each round, once per asset, for all the
bankruptcies of the round (`waterfall.settle_socialization`). A liquidation can put another
unit in breach (an ADL charge, a socialized haircut): the next round takes it. A unit waits,
and stays flagged, while a price it needs is not usable (missing, stale, or not believed:
`engine.oracles`), and after its one borrow liquidation of the command. A healthy unit is
never touched: only units the monitor has found exactly in breach are.
"""

from __future__ import annotations

from ...domain.ids import isolated_wallet
from ...domain.specs import Liquidations, MarketSpec
from .. import checks
from ..context import Step
from ..monitor import Unit
from ..oracles import account_oracles, market_price_usable, oracle_usable
from .lending import bankruptcy, borrow_liquidation
from .positions import Takeovers, liquidate_cross_positions, liquidate_isolated
from .waterfall import cover_deficit, settle_socialization

#: A bound on rounds per command, far above any real cascade; what is left waits.
MAX_ROUNDS = 1000


def run(step: Step) -> None:
    """Liquidate every unit in breach; see the module."""
    monitor = step.monitor
    active = step.state.book.params.liquidations is Liquidations.ON
    waiting: set[Unit] = set()
    borrow_liquidated: set[str] = set()
    for _ in range(MAX_ROUNDS):
        pending = sorted(monitor.liquidatable - waiting) if active else []
        for unit in pending:
            if unit in monitor.liquidatable and not _liquidate(step, unit, borrow_liquidated):
                waiting.add(unit)
        # the command's socialized losses, once per asset; a haircut can breach another unit
        if not settle_socialization(step) and not pending:
            return


def _usable(step: Step, spec: MarketSpec) -> bool:
    """May a liquidation act at this market's price now? Not while it is missing, stale, or
    its last update was not believed (docs/MARKET_DATA.md, the action matrix)."""
    return market_price_usable(step.state, spec.id, step.now)


def _liquidate(step: Step, unit: Unit, borrow_liquidated: set[str]) -> bool:
    """Liquidate one unit; returns whether anything was done."""
    state = step.state
    account_id, market = unit
    account = state.accounts[account_id]
    takeovers: Takeovers = {}
    if market:
        spec = state.book.markets[market]
        if not _usable(step, spec):
            return False
        deficit = liquidate_isolated(step, account, market, takeovers)
        if deficit:
            cover_deficit(step, isolated_wallet(account_id, market), spec.settle, deficit, account_id, takeovers, market)
        step.evaluate(account_id)
        return True
    acted = liquidate_cross_positions(step, account, takeovers, lambda spec: _usable(step, spec))
    figures = checks.cross_after(state, account)
    if figures.liquidatable and not state.cross_positions(account) and all(
        oracle_usable(state, oracle, step.now) for oracle in account_oracles(state, account)
    ):
        if figures.equity < 0:
            bankruptcy(step, account, takeovers)
            acted = True
        elif account_id not in borrow_liquidated:
            borrow_liquidated.add(account_id)
            acted = borrow_liquidation(step, account, figures) or acted
    if acted:
        step.evaluate(account_id)
    return acted

