"""The loss waterfall: who pays a bankrupt unit's deficit (SPEC §6).

A deficit is a balance below zero that nothing of its owner's is left to pay: a cross
account with no position and no collateral left, or an isolated wallet whose position has
closed. In order:

1. `bad_debt` {account, asset, amount}: the deficit, recorded.
2. The insurance fund pays what it is worth (`fund_capacity`: its equity, all its balances
   at their prices and the unrealized PnL of the positions it took over, in the asset).
3. What it cannot pay is collected by `bad_debt_policy`, into the insurance fund:
   * `adl`: in each market where the backstop has just taken over the
     bankrupt unit's positions, the opposite positions, ranked by `solvent.margin.adl`,
     are closed against the backstop at the bankrupt unit's bankruptcy price, up to the
     size taken over. A deleveraged position is closed at the mark and pays the difference
     to the bankruptcy price as a charge (rounded up), capped at the equity its unit has
     left, so ADL never makes a counterparty bankrupt. What ADL cannot collect (no
     positions taken over, as for a lending account; not enough counterparties; the caps)
     is socialized.
   * `socialize`: a pro-rata haircut of every positive balance of the asset (user
     balances, isolated wallets and `@fees`; not the insurance fund, the market pools, nor
     any balance of a bankrupt account, so an isolated loss never reaches its own cross
     balance), each share rounded up, as a `socialized_loss` event. The fund advances the
     loss at once; the haircut collects every socialized loss of the command at its end,
     once per asset.
4. The insurance fund pays the deficit (`insurance_fund`, reason `bad_debt`). Its worth
   stays at least zero, except where nothing was left to collect from (no positive balance
   of the asset anywhere but the market pools): then it is the venue's own shortfall, on
   record in the fund's balance rather than left on the bankrupt account.

Every amount moves by a ledger transfer and every change of the insurance fund is an
`insurance_fund` event, so conservation holds after each step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from ...domain.ids import INSURANCE, is_system, wallet_market, wallet_owner
from ...domain.numbers import ARITHMETIC, format_decimal, format_exact, format_units
from ...domain.rounding import Figure, to_units, units_to_decimal
from ...domain.specs import BadDebtPolicy
from ...ledger import Transfer
from ...margin.adl import adl_score
from ...margin.figures import cross_figures, position_figures
from .. import checks
from ..context import Step
from ..state import EngineState
from .fills import plan_close, post_close, report_backstop
from .positions import Takeovers, isolated_unit_figures, release_wallet


class LossCollector(Protocol):
    """Collects (part of) an uncovered deficit of `asset` into the insurance fund; returns
    the quantums collected."""

    def __call__(self, step: Step, asset: str, amount: int, debtor: str, takeovers: Takeovers) -> int: ...


def cover_deficit(step: Step, debtor: str, asset: str, units: int, account_id: str, takeovers: Takeovers,
                  market: str | None = None) -> None:
    """Run the waterfall for `units` (> 0) quantums of `asset` that ledger account `debtor`
    (the account, or its isolated wallet in `market`) owes."""
    state = step.state
    ledger = state.ledger
    decimals = state.book.assets[asset].decimals
    fields = {"market": market} if market is not None else {}
    step.emit("bad_debt", account=account_id, asset=asset, amount=format_units(units, decimals), **fields)
    shortfall = units - min(units, fund_capacity(state, asset))
    if shortfall:
        collected = 0
        for collector in _COLLECTORS[state.book.params.bad_debt_policy]:
            if collected >= shortfall:
                break
            collected += collector(step, asset, shortfall - collected, debtor, takeovers)
    ledger.post([Transfer(INSURANCE, debtor, asset, units)])
    step.insurance_fund(asset, -units, "bad_debt")


def fund_capacity(state: EngineState, asset: str) -> int:
    """What the insurance fund can pay of a loss in `asset`, in its quantums: its worth —
    its equity, every balance at its price plus the unrealized PnL of the positions the
    backstop holds — at `asset`'s price, rounded down; 0 when it is worth nothing. The fund
    may hold its worth in other assets than the one owed (collateral it seized): it pays in
    `asset` and runs below zero in it, backed by the rest, as in a borrow liquidation."""
    book = state.book
    price = book.asset_price(asset)
    backstop = state.accounts.get(INSURANCE)
    positions = state.cross_positions(backstop) if backstop is not None else []
    equity = cross_figures(state.ledger.balances(INSURANCE), positions, book).equity
    if equity <= 0 or price is None or price <= 0:
        return 0
    worth = units_to_decimal(equity, book.params.value_decimals) / price
    return to_units(worth, book.assets[asset].decimals, Figure.FUND_CAPACITY)


# -- auto-deleveraging -----------------------------------------------------------------------

def _unit_score(state: EngineState, account_id: str, market: str) -> Decimal:
    """The ADL key of the risk unit that holds `account_id`'s position in `market`."""
    book = state.book
    account = state.accounts[account_id]
    position = account.positions[market]
    vd = book.params.value_decimals
    if position.isolated:
        spec = book.markets[market]
        figures = isolated_unit_figures(state, state.wallet_units(account_id, market), position, spec)
        pnl = position_figures(position, spec, book.prices[spec.oracle], vd).unrealized_pnl
    else:
        detail: list = []
        figures = cross_figures(state.ledger.balances(account_id), state.cross_positions(account), book, detail)
        pnl = sum(pf.unrealized_pnl for _, pf in detail)
    collateral = figures.equity - pnl
    return adl_score(units_to_decimal(collateral, vd), units_to_decimal(pnl, vd), units_to_decimal(figures.maintenance_margin, vd))


def _queue(step: Step, market: str, long: bool) -> list[str]:
    """The ADL queue of one side of a market: its holders by descending score, then id.
    Ranked once per command, at its first use, from the figures of that moment (as venues
    publish their queue, not re-rank it per fill); closed or turned positions are skipped."""
    key = (market, long)
    queue = step.adl_queues.get(key)
    if queue is None:
        state = step.state
        side = [
            a for a in state.holders.of(market)
            if not is_system(a) and (state.accounts[a].positions[market].size_units > 0) == long
        ]
        queue = step.adl_queues[key] = sorted(side, key=lambda a: (-_unit_score(state, a, market), a))
    return queue


def _equity_left_units(state: EngineState, close, settle_decimals: int) -> int:
    """The equity (settle quantums, rounded down) the deleveraged unit has after `close`."""
    account = close.account
    spec = close.spec
    position = close.fill.position
    if account.positions[spec.id].isolated:
        wallet = state.wallet_units(account.id, spec.id) + close.account_leg
        equity = isolated_unit_figures(state, wallet, position, spec).equity
    else:
        equity = checks.cross_after(state, account, {spec.settle: close.account_leg}, (spec.id, position)).equity
    return to_units(units_to_decimal(max(equity, 0), state.book.params.value_decimals), settle_decimals, Figure.ADL_CHARGE_CAP)


def auto_deleverage(step: Step, asset: str, amount: int, debtor: str, takeovers: Takeovers) -> int:
    """Deleverage opposite positions in the markets the backstop took over; see the module."""
    state = step.state
    book = state.book
    decimals = book.assets[asset].decimals
    markets = [m for m in sorted(takeovers) if takeovers[m] and book.markets[m].settle == asset]
    if not markets:
        return 0
    notionals = {m: abs(takeovers[m]) * book.prices[book.markets[m].oracle] for m in markets}
    total = sum(notionals.values())
    owed = units_to_decimal(amount, decimals)
    bankrupt = wallet_owner(debtor)
    collected = 0
    touched: set[str] = set()
    for market in markets:
        spec = book.markets[market]
        mark = book.prices[spec.oracle]
        taken = takeovers[market]
        share = units_to_decimal(to_units(owed * notionals[market] / total, decimals, Figure.ADL_CHARGE), decimals)
        per_unit = min(share / abs(taken), mark)
        # the bankruptcy price, as shown: the charge is what is paid
        price = format_decimal(mark + per_unit, Figure.ADL_CHARGE) if taken > 0 else format_decimal(mark - per_unit, Figure.ADL_CHARGE_CAP)
        left = abs(taken)
        for account_id in _queue(step, market, long=taken < 0):
            if not left:
                break
            account = state.accounts[account_id]
            position = account.positions.get(market)
            if account_id == bankrupt or position is None or (position.size > 0) == (taken > 0):
                continue  # closed or turned since the queue was ranked
            size = min(abs(position.size), left)
            close = plan_close(state, account, spec, size, unwind_backstop=True)
            charge = min(
                to_units(per_unit * size, decimals, Figure.ADL_CHARGE),
                _equity_left_units(state, close, decimals),
            )
            holder = close.holder
            post_close(step, close, [Transfer(holder, INSURANCE, asset, charge)] if charge else [])
            step.emit("adl", account=account_id, market=market, size=format_exact(close.closed),
                      price=price, mark=format_exact(mark), charge=format_units(charge, decimals))
            report_backstop(step, close)
            if position.isolated and close.fill.position is None:
                release_wallet(step, account_id, spec)  # capped charge: never below zero
            left -= size
            collected += charge
            touched.add(account_id)
    if collected:
        step.insurance_fund(asset, collected, "adl")
    step.evaluate(*touched)
    return collected


# -- socialized loss -------------------------------------------------------------------------

def defer_socialization(step: Step, asset: str, amount: int, debtor: str, takeovers: Takeovers) -> int:
    """The socialize collector: note the loss; the fund advances it now, and
    `settle_socialization` collects every loss of the command at its end, in one haircut
    per asset (so a cascade of bankruptcies haircuts the book once, not once each)."""
    pending = step.socialize_later.setdefault(asset, [0, set()])
    pending[0] += amount
    pending[1].add(wallet_owner(debtor))
    return amount


def settle_socialization(step: Step) -> bool:
    """Collect the losses noted by `defer_socialization`; returns whether there were any."""
    if not step.socialize_later:
        return False
    pending, step.socialize_later = step.socialize_later, {}
    for asset in sorted(pending):
        amount, spared = pending[asset]
        socialize(step, asset, amount, spared)
    return True


def socialize(step: Step, asset: str, amount: int, spared: set[str]) -> int:
    """Haircut every positive balance of `asset` pro rata, but those of the `spared`
    (bankrupt) owners; see the module. Returns what was collected."""
    state = step.state
    ledger = state.ledger
    holders = [
        (account, units) for account, units in ledger.holders(asset)
        if units > 0 and account != INSURANCE and wallet_owner(account) not in spared
    ]
    base = sum(units for _, units in holders)
    if not base:
        return 0
    target = min(amount, base)
    shares = [(account, min(units, -(-units * target // base))) for account, units in holders]
    ledger.post([Transfer(account, INSURANCE, asset, share) for account, share in shares])
    collected = sum(share for _, share in shares)
    decimals = state.book.assets[asset].decimals
    haircut = ARITHMETIC.divide(Decimal(target), Decimal(base))
    step.emit("socialized_loss", asset=asset, amount=format_units(target, decimals),
              haircut=format_decimal(haircut, Figure.SOCIALIZED_HAIRCUT), collected=format_units(collected, decimals),
              balances=len(shares))
    step.insurance_fund(asset, collected, "socialized_loss")
    owners = [(account, share) for account, share in shares if not is_system(wallet_owner(account))]
    if state.book.assets[asset].oracle is None:  # a quote asset: shift the screen rows, evaluate what it flags
        moves = [((wallet_owner(account), wallet_market(account)), -share) for account, share in owners]
        step.evaluate(*step.monitor.quote_balance_moves(asset, moves))
    else:
        step.evaluate(*{wallet_owner(account) for account, _ in owners})
    return collected


_COLLECTORS: dict[BadDebtPolicy, tuple[LossCollector, ...]] = {
    BadDebtPolicy.ADL: (auto_deleverage, defer_socialization),
    BadDebtPolicy.SOCIALIZE: (defer_socialization,),
}
