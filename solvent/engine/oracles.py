"""Is an oracle's price usable? The predicates behind the action matrix (MARKET_DATA.md).

An oracle's price is usable at time `now` when the oracle has an accepted price, its last
update was not refused by a guard (no unconfirmed jump, no too-wide confidence), and that
price is not stale: not older than the smallest `max_oracle_age_s` of the markets and assets
it prices. With an unusable price:

* a trade side that increases risk, and a withdrawal or transfer out of an account that holds
  risk, are refused `oracle_stale` when a price they depend on is unusable;
* a side that only reduces a position is never refused; deposits always go through;
* a liquidation in that market waits for a usable price: the liquidation engine asks
  `market_price_usable` before it closes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ..domain.account import Account
from ..domain.errors import Rejection
from ..domain.specs import Params
from ..market_data.oracle_guard import NEW_ORACLE, OK, REJECTED, STALE, GuardPolicy, is_stale
from .context import Step
from .state import EngineState


def guard_policy(params: Params) -> GuardPolicy:
    return GuardPolicy(params.max_price_jump, params.jump_confirmation, params.max_confidence)


def max_age(state: EngineState, oracle: str) -> Decimal | None:
    """The smallest `max_oracle_age_s` of the markets and assets priced by `oracle` (None:
    no limit): the oracle is one feed, stale for all once stale for its strictest user.
    Remembered in `state.age_limits` (the configuration commands empty it)."""
    limits = state.age_limits
    if oracle in limits:
        return limits[oracle]
    limit = limits[oracle] = _max_age(state, oracle)
    return limit


def _max_age(state: EngineState, oracle: str) -> Decimal | None:
    book = state.book
    ages = [book.markets[m].max_oracle_age_s for m in state.oracle_markets.get(oracle, ())]
    ages += [book.assets[a].max_oracle_age_s for a in state.oracle_assets.get(oracle, ()) if a in book.assets]
    limits = [age for age in ages if age is not None]
    return min(limits) if limits else None


def oracle_stale(state: EngineState, oracle: str, now: Decimal | None) -> bool:
    record = state.oracles.get(oracle, NEW_ORACLE)
    return is_stale(record.published_at, now, max_age(state, oracle))


def oracle_status(state: EngineState, oracle: str, now: Decimal | None) -> str:
    """`rejected` while the last update was refused, else `stale` or `ok`."""
    if state.oracles.get(oracle, NEW_ORACLE).invalid is not None:
        return REJECTED
    return STALE if oracle_stale(state, oracle, now) else OK


def oracle_usable(state: EngineState, oracle: str, now: Decimal | None) -> bool:
    """A price exists, the last update was believed, and the price is not stale.
    Remembered in `state.usable` until a price, an oracle record or the configuration
    changes (`forget_usable`)."""
    key = (oracle, now)
    known = state.usable.get(key)
    if known is None:
        if len(state.usable) >= _USABLE_REMEMBERED:
            state.usable.clear()
        record = state.oracles.get(oracle, NEW_ORACLE)
        known = state.usable[key] = (
            oracle in state.book.prices
            and record.invalid is None
            and not is_stale(record.published_at, now, max_age(state, oracle))
        )
    return known


#: At most this many (oracle, time) answers are remembered between price updates.
_USABLE_REMEMBERED = 4096


def forget_usable(state: EngineState) -> None:
    """Call when a price, an oracle's guard record or an age limit changes."""
    state.usable.clear()


def market_price_usable(state: EngineState, market: str, now: Decimal | None) -> bool:
    """May anything that depends on `market`'s mark act now? Liquidations ask this and wait
    for a usable price when it says no."""
    return oracle_usable(state, state.book.markets[market].oracle, now)


def account_oracles(state: EngineState, account: Account, market: str | None = None) -> list[str]:
    """The priced oracles the account's cross figures depend on: those of its non-zero
    balances of priced assets and of its cross positions, plus `market`'s (sorted)."""
    book = state.book
    oracles = set()
    for asset in state.ledger.balances(account.id):
        oracle = book.assets[asset].oracle
        if oracle is not None and oracle in book.prices:
            oracles.add(oracle)
    for position in account.positions.values():
        if not position.isolated:
            oracles.add(book.markets[position.market].oracle)
    if market is not None:
        oracles.add(book.markets[market].oracle)
    return sorted(oracles)


#: the key under which `every_price_usable` is remembered in `state.usable` ("*" is no oracle id)
_EVERY = "*"


def every_price_usable(state: EngineState, now: Decimal | None) -> bool:
    """Is every oracle that has a price usable at `now`? The common case, answered once per
    (time, price change) and remembered like `oracle_usable`, so that a check over an
    account's oracles need not look at them one by one."""
    key = (_EVERY, now)
    known = state.usable.get(key)
    if known is None:
        known = all(oracle_usable(state, oracle, now) for oracle in state.book.prices)
        state.usable[key] = known
    return known


def require_account_usable(state: EngineState, account: Account, now: Decimal | None, who: str,
                           market: str | None = None) -> None:
    """Refuse `oracle_stale` if a price the account's cross figures depend on (and
    `market`'s, if given) is unusable (`account_oracles`)."""
    if not every_price_usable(state, now):
        require_usable(state, account_oracles(state, account, market), now, who)


def require_usable(state: EngineState, oracles: Iterable[str], now: Decimal | None, who: str) -> None:
    """Refuse `oracle_stale` if any of `oracles` has no usable price."""
    for oracle in oracles:
        if not oracle_usable(state, oracle, now):
            status = oracle_status(state, oracle, now) if oracle in state.book.prices else "unpriced"
            raise Rejection("oracle_stale", f"{who}: oracle {oracle} has no usable price ({status})")


def report_newly_stale(step: Step, since: Decimal | None) -> None:
    """`oracle` events (status `stale`, reason `age`) for every priced oracle that has become
    stale between `since` (the previous tick) and now: once per crossing."""
    state = step.state
    for oracle in sorted(state.book.prices):
        limit = max_age(state, oracle)
        if limit is None:
            continue
        published = state.oracles.get(oracle, NEW_ORACLE).published_at
        if is_stale(published, step.now, limit) and not is_stale(published, since, limit):
            step.emit("oracle", oracle=oracle, status=STALE, reason="age")
