"""Liquidating positions: an account's cross part, or one isolated position.

Positions close at the mark against the backstop (`fills`), sized by the policy
(`sizing`). The fee, `liquidation_fee × notional closed` (rounded up), goes to the insurance
fund, capped at the smaller of the equity the unit has left after the close and the health
the close freed: the fee never creates bad debt and a liquidation never leaves the unit less
healthy than it was.

A cross account closes its positions largest maintenance margin first (ties by market id).
Under `partial` it stops as soon as `health >= liquidation_buffer × maintenance_margin`.
An isolated position is its own unit: its realized PnL and fee settle in its wallet; closed
whole, what is left of the wallet returns to the cross balance, and a wallet below zero is
bad debt for the waterfall, never a charge on the cross balance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from ...domain.account import Account
from ...domain.ids import INSURANCE, isolated_wallet
from ...domain.numbers import format_exact, format_units
from ...domain.position import Position
from ...domain.rounding import Figure, to_units, units_to_decimal
from ...domain.specs import LiquidationPolicy, MarketSpec
from ...ledger import Transfer
from ...margin.figures import RiskFigures, isolated_figures, position_figures
from .. import checks
from ..context import Step
from ..state import EngineState
from .fills import BackstopClose, plan_close, post_close, report_backstop
from .sizing import close_size

Takeovers = dict[str, Decimal]  # market -> signed size the backstop took over


class ClosePlan(NamedTuple):
    close: BackstopClose
    fee: int  # settle quantums
    after: RiskFigures  # the unit's figures once posted


def reaches_target(figures: RiskFigures, buffer: Decimal) -> bool:
    """`health >= liquidation_buffer × maintenance_margin` (exact)."""
    return figures.health >= buffer * figures.maintenance_margin


def liquidation_fee(state: EngineState, close: BackstopClose, before: RiskFigures, unfeed: RiskFigures) -> int:
    """`min(⌈fee × |size| × mark⌉, ⌊min(equity left, health freed)⌋)`, in settle quantums."""
    spec = close.spec
    decimals = state.book.assets[spec.settle].decimals
    nominal = to_units(spec.liquidation_fee * abs(close.closed) * close.mark, decimals, Figure.LIQUIDATION_FEE)
    room = min(unfeed.equity, unfeed.health - before.health)
    if room <= 0:
        return 0
    cap = to_units(units_to_decimal(room, state.book.params.value_decimals), decimals, Figure.LIQUIDATION_FEE_CAP)
    return min(nominal, cap)


def plan_cross(state: EngineState, account: Account, spec: MarketSpec, size: Decimal, before: RiskFigures) -> ClosePlan:
    close = plan_close(state, account, spec, size)
    replaced = (spec.id, close.fill.position)
    unfeed = checks.cross_after(state, account, {spec.settle: close.account_leg}, replaced)
    fee = liquidation_fee(state, close, before, unfeed)
    after = unfeed if not fee else checks.cross_after(state, account, {spec.settle: close.account_leg - fee}, replaced)
    return ClosePlan(close, fee, after)


def wallet_figures(state: EngineState, wallet_units: int, spec: MarketSpec) -> RiskFigures:
    """The figures of an isolated wallet with no position left (nothing at risk)."""
    equity = to_units(
        units_to_decimal(wallet_units, state.book.assets[spec.settle].decimals),
        state.book.params.value_decimals,
        Figure.COLLATERAL_VALUE,
    )
    return RiskFigures(equity, equity, equity, 0, 0, max(equity, 0), max(-equity, 0), False)


def isolated_unit_figures(state: EngineState, wallet_units: int, position: Position | None, spec: MarketSpec) -> RiskFigures:
    if position is None:
        return wallet_figures(state, wallet_units, spec)
    return isolated_figures(wallet_units, state.book.assets[spec.settle].decimals, position, state.book)


def plan_isolated(state: EngineState, account: Account, spec: MarketSpec, size: Decimal, before: RiskFigures) -> ClosePlan:
    close = plan_close(state, account, spec, size)
    wallet = state.wallet_units(account.id, spec.id) + close.account_leg
    unfeed = isolated_unit_figures(state, wallet, close.fill.position, spec)
    fee = liquidation_fee(state, close, before, unfeed)
    after = unfeed if not fee else isolated_unit_figures(state, wallet - fee, close.fill.position, spec)
    return ClosePlan(close, fee, after)


def _execute(step: Step, plan: ClosePlan, mode: str) -> None:
    close = plan.close
    state = step.state
    settle = close.spec.settle
    fee = [Transfer(close.holder, INSURANCE, settle, plan.fee)] if plan.fee else []
    post_close(step, close, fee)
    remaining = close.fill.position.size if close.fill.position is not None else Decimal(0)
    step.emit(
        "liquidation",
        account=close.account.id,
        market=close.spec.id,
        size=format_exact(close.closed),
        price=format_exact(close.mark),
        fee=format_units(plan.fee, state.book.assets[settle].decimals),
        mode=mode,
        policy=state.book.params.liquidation_policy.value,
        remaining=format_exact(remaining),
    )
    if plan.fee:
        step.insurance_fund(settle, plan.fee, "liquidation_fee")
    report_backstop(step, close)


def _by_maintenance(state: EngineState, account: Account) -> list:
    """Cross positions, largest maintenance margin first, ties by market id."""
    book = state.book
    keyed = []
    for position in state.cross_positions(account):
        spec = book.markets[position.market]
        figures = position_figures(position, spec, book.prices[spec.oracle], book.params.value_decimals)
        keyed.append((-figures.maintenance_margin, position.market, position))
    return [position for _, _, position in sorted(keyed, key=lambda k: (k[0], k[1]))]


def liquidate_cross_positions(step: Step, account: Account, takeovers: Takeovers, usable) -> bool:
    """Close the account's cross positions as the policy says. Returns whether any closed."""
    state = step.state
    params = state.book.params
    buffer = params.liquidation_buffer
    full = params.liquidation_policy is LiquidationPolicy.FULL
    acted = False
    for position in _by_maintenance(state, account):
        spec = state.book.markets[position.market]
        if not usable(spec):
            continue
        before = checks.cross_after(state, account)
        if not full and acted and reaches_target(before, buffer):
            break
        size = close_size(
            params.liquidation_policy, spec, abs(position.size), state.book.prices[spec.oracle],
            lambda s: reaches_target(plan_cross(state, account, spec, s, before).after, buffer),
        )
        plan = plan_cross(state, account, spec, size, before)
        _execute(step, plan, "cross")
        takeovers[spec.id] = takeovers.get(spec.id, Decimal(0)) + plan.close.closed
        acted = True
    return acted


def liquidate_isolated(step: Step, account: Account, market: str, takeovers: Takeovers) -> int:
    """Liquidate one isolated position. Returns the wallet's deficit (settle quantums, > 0
    where the position closed whole with its wallet below zero), for the waterfall."""
    state = step.state
    params = state.book.params
    spec = state.book.markets[market]
    position = account.positions[market]
    wallet_id = isolated_wallet(account.id, market)
    before = isolated_unit_figures(state, state.ledger.balance(wallet_id, spec.settle), position, spec)
    buffer = params.liquidation_buffer
    size = close_size(
        params.liquidation_policy, spec, abs(position.size), state.book.prices[spec.oracle],
        lambda s: reaches_target(plan_isolated(state, account, spec, s, before).after, buffer),
    )
    plan = plan_isolated(state, account, spec, size, before)
    _execute(step, plan, "isolated")
    takeovers[market] = takeovers.get(market, Decimal(0)) + plan.close.closed
    if plan.close.fill.position is not None:
        return 0
    return release_wallet(step, account.id, spec)


def release_wallet(step: Step, account_id: str, spec: MarketSpec) -> int:
    """An isolated position has closed whole: what is left of its wallet returns to the
    cross balance. Returns the wallet's deficit (> 0 where it is below zero)."""
    ledger = step.state.ledger
    wallet_id = isolated_wallet(account_id, spec.id)
    left = ledger.balance(wallet_id, spec.settle)
    if left > 0:
        ledger.post([Transfer(wallet_id, account_id, spec.settle, left)])
    return max(-left, 0)
