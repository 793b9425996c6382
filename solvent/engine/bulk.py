"""Loading a whole book at once: balances and cross positions written straight into the
engine's own state, checked, then evaluated once.

`Engine.apply` admits one command at a time (thousands a second); a venue migrating a
million accounts, or a researcher starting from a snapshot of one, needs the book in
seconds to minutes. `load_book` takes what the book *is* — every account's balances and
positions — validates all of it before it changes anything, posts each balance as a deposit
(so conservation holds as for any deposit), puts the positions in place, and evaluates every
account exactly once, which anchors the risk screen.

What it checks: the engine is configured and empty of accounts; every account id is valid
and not a system account; every asset and market exists; balances are non-negative whole
quantums; sizes are on the market's step grid and non-zero; and, per market, the positions
net to zero in size **and** in cost (Σ size × entry = 0), as positions that trades opened
do, so that the market's PnL pool can pay every gain. Positions are cross positions (an
isolated position needs its margin moved by a trade).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from ..domain.account import Account
from ..domain.errors import Rejection
from ..domain.ids import check_id, is_system
from ..domain.numbers import ARITHMETIC, ZERO
from ..domain.position import Lot, Position
from ..domain.specs import CostBasis
from ..ledger import EXTERNAL, Transfer
from .collector import collector_paused
from .engine import Engine


class Holding(NamedTuple):
    """A cross position to load: `size` signed, `cost` = Σ size × price of its fills (so its
    entry price is cost / size, and its unrealized PnL size × mark − cost)."""

    account: str
    market: str
    size: Decimal
    cost: Decimal

    @classmethod
    def at(cls, account: str, market: str, size: Decimal, entry_price: Decimal) -> Holding:
        return cls(account, market, size, ARITHMETIC.multiply(size, entry_price))


def load_book(engine: Engine, balances: Iterable[tuple[str, str, int]], holdings: Iterable[Holding]) -> int:
    """Load `balances` (account, asset, quantums ≥ 0) and `holdings` into an engine that has
    its assets, markets and prices but no account yet. All or nothing: a `Rejection` leaves
    the engine as it was. Returns the number of accounts loaded. The cyclic garbage
    collector is paused meanwhile (`collector.collector_paused`)."""
    with collector_paused():
        return _load_book(engine, balances, holdings)


def _load_book(engine: Engine, balances: Iterable[tuple[str, str, int]], holdings: Iterable[Holding]) -> int:
    state = engine.state
    book = state.book
    if state.accounts:
        raise Rejection("accounts_exist", "bulk loading needs an engine with no account yet")
    deposits: list[Transfer] = []
    accounts: dict[str, Account] = {}

    def account(account_id: str) -> Account:
        found = accounts.get(account_id)
        if found is None:
            if isinstance(account_id, str) and is_system(account_id):
                raise Rejection("system_account", f"{account_id}: system accounts are not loaded")
            check_id(account_id, "account")
            found = accounts[account_id] = Account(account_id)
        return found

    for account_id, asset, units in balances:
        if asset not in book.assets:
            raise Rejection("unknown_asset", f"no asset {asset!r}")
        if not isinstance(units, int) or units < 0:
            raise Rejection("invalid_amount", f"{account_id} {asset}: a balance is a whole, non-negative number of quantums")
        account(account_id)
        if units:
            deposits.append(Transfer(EXTERNAL, account_id, asset, units))
    fifo = book.params.cost_basis is CostBasis.FIFO
    net: dict[str, tuple[Decimal, Decimal]] = {}
    for account_id, market_id, size, cost in holdings:
        spec = book.markets.get(market_id)
        if spec is None:
            raise Rejection("unknown_market", f"no market {market_id!r}")
        if spec.oracle not in book.prices:
            raise Rejection("no_price", f"market {market_id} has no price yet")
        if not size or ARITHMETIC.remainder(size, spec.step_size) or not (cost > 0) == (size > 0) or not cost:
            raise Rejection("invalid_size", f"{account_id} {market_id}: a size on the step grid and a positive entry price")
        market_id = spec.id  # one string per market, however the input spelled its copies
        holder = account(account_id)
        if market_id in holder.positions:
            raise Rejection("duplicate", f"{account_id} holds {market_id} twice")
        lots = (Lot(size, ARITHMETIC.divide(cost, size)),) if fifo else ()
        holder.positions[market_id] = Position.of(market_id, size, cost, lots)
        total_size, total_cost = net.get(market_id, (ZERO, ZERO))
        net[market_id] = (ARITHMETIC.add(total_size, size), ARITHMETIC.add(total_cost, cost))
    for market_id, (total_size, total_cost) in sorted(net.items()):
        if total_size or total_cost:
            raise Rejection("unbalanced_book", f"{market_id}: positions net to size {total_size}, cost {total_cost}; both must be 0")
    # everything is checked: now change the state
    state.ledger.post(deposits)
    state.accounts.update(accounts)
    for holder in accounts.values():
        state.holders.register(holder)
        for market_id in holder.positions:
            state.holders.add(market_id, holder)
    engine.monitor.evaluate_all(state.commands, [])  # anchors every row; a load emits no event
    engine.monitor.screen.flush()  # the rows written now, with the collector paused, not at the first tick
    return len(accounts)
