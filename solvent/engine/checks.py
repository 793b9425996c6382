"""Checks shared by the command handlers. None of them changes anything."""

from __future__ import annotations

from decimal import Decimal

from ..domain.account import Account
from ..domain.errors import Rejection
from ..domain.ids import is_system
from ..domain.numbers import ARITHMETIC
from ..domain.position import Position
from ..domain.rounding import scale
from ..domain.specs import AssetSpec, MarketSpec
from ..margin.figures import RiskFigures, account_cross_figures
from .oracles import account_oracles, every_price_usable, require_usable
from .state import EngineState


def asset(state: EngineState, asset_id: str) -> AssetSpec:
    spec = state.book.assets.get(asset_id)
    if spec is None:
        raise Rejection("unknown_asset", f"no asset {asset_id!r}")
    return spec


def market(state: EngineState, market_id: str) -> MarketSpec:
    spec = state.book.markets.get(market_id)
    if spec is None:
        raise Rejection("unknown_market", f"no market {market_id!r}")
    return spec


def existing_account(state: EngineState, account_id: str) -> None:
    if not state.account_exists(account_id):
        raise Rejection("unknown_account", f"no account {account_id!r} (accounts open with their first deposit)")


def user_account(state: EngineState, account_id: str, role: str) -> Account:
    """An existing non-system account."""
    if is_system(account_id):
        raise Rejection("system_account", f"{role} {account_id!r} is a system account: it trades only through the engine")
    existing_account(state, account_id)
    return state.accounts[account_id]


def units(spec: AssetSpec, amount: Decimal, field: str) -> int:
    """`amount` as whole quantums of `spec`; more decimal places than the asset has is refused."""
    if not amount:  # (a fee of zero, the common case)
        return 0
    scaled = ARITHMETIC.multiply(amount, scale(spec.decimals))
    if scaled != scaled.to_integral_value():
        raise Rejection("too_many_decimals", f"{field} has more decimal places than {spec.id} allows ({spec.decimals})")
    return int(scaled)


def mark(state: EngineState, spec: MarketSpec) -> Decimal:
    price = state.book.prices.get(spec.oracle)
    if price is None:
        raise Rejection("no_price", f"market {spec.id} has no price yet (oracle {spec.oracle})")
    return price


def on_step(spec: MarketSpec, size: Decimal, field: str = "size") -> None:
    if ARITHMETIC.remainder(size, spec.step_size):
        raise Rejection("invalid_size", f"{field} must be a multiple of the step size {spec.step_size}")


def cross_after(
    state: EngineState,
    account: Account,
    deltas: dict[str, int] | None = None,
    position: tuple[str, Position | None] | None = None,
    detail: list | None = None,
) -> RiskFigures:
    """The cross figures the account would have with its balances moved by `deltas` and,
    if given, the position in one market replaced (None: closed, or moved to isolated).
    `detail` as `solvent.margin.figures.account_cross_figures` says (empty for an account
    with a figure cache)."""
    balances = state.ledger.balances(account.id)  # (a new dict: the deltas may go into it)
    if deltas:
        for asset_id, delta in deltas.items():
            balances[asset_id] = balances.get(asset_id, 0) + delta
    return account_cross_figures(balances, account.positions, state.book, state.figure_cache(account), position, detail)


def outflow(state: EngineState, account: Account, spec: AssetSpec, amount: int, *, leaves_venue: bool,
            now: Decimal | None = None) -> None:
    """May `account` send `amount` quantums of `spec` out of its cross balance?

    Beyond its balance it borrows: only a borrowable, priced asset, and only from liquidity
    that is there (the borrow may not exceed total deposits minus total borrows). A withdrawal
    can never take more than the venue holds of the asset. Afterwards free collateral must
    stay >= 0 — and if the account then holds risk (a position or a debt), every price that
    figure depends on must be usable (`oracle_stale` otherwise: the action matrix).
    """
    ledger = state.ledger
    balance = ledger.balance(account.id, spec.id)
    borrowed = amount - max(balance, 0)
    if borrowed > 0:
        if not spec.borrowable:
            raise Rejection("insufficient_balance", f"{account.id} holds less {spec.id} than that and {spec.id} cannot be borrowed")
        if state.book.asset_price(spec.id) is None:
            raise Rejection("no_price", f"{spec.id} has no price: it cannot be borrowed yet")
        available = ledger.total_deposits(spec.id) - ledger.total_borrows(spec.id)
        if borrowed > available:
            raise Rejection("insufficient_liquidity", f"only {available} quantums of {spec.id} are available to borrow")
    if leaves_venue and amount > ledger.net_deposits(spec.id):
        raise Rejection("insufficient_liquidity", f"the venue holds less {spec.id} than that")
    figures = cross_after(state, account, {spec.id: -amount})
    if figures.at_risk and not every_price_usable(state, now):
        depends = account_oracles(state, account)
        if borrowed > 0 and spec.oracle is not None:
            depends.append(spec.oracle)
        require_usable(state, depends, now, account.id)
    if figures.free_collateral < 0:
        raise Rejection("insufficient_margin", f"{account.id} would have free collateral below zero")
