"""price, funding, exchange_rate: market data entering the engine (`time`: accrual.py)."""

from __future__ import annotations

from ..domain.commands import ExchangeRate, Funding, PriceUpdate
from ..domain.errors import Rejection
from ..domain.ids import INSURANCE, isolated_wallet, pnl_pool, wallet_owner
from ..domain.numbers import format_exact, format_units
from ..domain.rounding import Figure, rounder, scale
from ..ledger import Transfer
from ..market_data.oracle_guard import NEW_ORACLE, is_stale, judge
from ..market_data.yield_rate import clamp_reported, rate_cap
from . import checks, oracles
from .context import Step
from .state import EngineState


def price(step: Step, command: PriceUpdate) -> None:
    """A new oracle price, judged by the oracle guards first (`market_data/oracle_guard.py`):
    a price that is not believed yields an `oracle` event and changes nothing but the
    oracle's guard record. A believed one is applied: accounts exposed to the oracle are
    screened (float, rank-1 update) and the candidates evaluated exactly."""
    state = step.state
    oracle = command.oracle
    if oracle not in step.monitor.oracle_index:
        raise Rejection("unknown_oracle", f"no asset or market uses oracle {oracle!r}")
    record = state.oracles.get(oracle, NEW_ORACLE)
    limit = oracles.max_age(state, oracle)
    first = oracle not in state.book.prices
    verdict = judge(
        record, state.book.prices.get(oracle), command.price, command.confidence,
        published_at=step.ts if step.ts is not None else step.now, now=step.now, max_age=limit,
        policy=oracles.guard_policy(state.book.params),
        stale_before=not first and is_stale(record.published_at, step.now, limit),
    )
    state.oracles[oracle] = verdict.record
    oracles.forget_usable(state)
    if verdict.reason is not None:
        step.emit("oracle", oracle=oracle, status=verdict.status, reason=verdict.reason, price=format_exact(command.price))
    if not verdict.applied:
        return
    state.book.prices[oracle] = command.price
    oracles.forget_usable(state)
    state.marks_moved(oracle)
    step.monitor.price_changed(oracle, first, step.seq, step.events)


def funding(step: Step, command: Funding) -> None:
    """One funding settlement: each position pays `size × mark × rate` to the market's pool,
    which pays it on to the other side. Payers round up, receivers round down; the pool's
    remainder (dust) goes to the insurance fund."""
    state = step.state
    spec = checks.market(state, command.market)
    mark = checks.mark(state, spec)
    oracles.require_usable(state, [spec.oracle], step.now, f"funding of {spec.id}")
    decimals = state.book.assets[spec.settle].decimals
    pool = pnl_pool(spec.id)
    settle = spec.settle
    # each position pays size × mark × rate; in settle quantums that is size × (mark × rate
    # × 10^decimals): one exact product per holder, then rounded as the table says
    per_size = mark * command.rate * scale(decimals)
    paid_units, received_units = rounder(Figure.FUNDING_PAID), rounder(Figure.FUNDING_RECEIVED)
    accounts = state.accounts
    market = spec.id
    moves: list[Transfer] = []
    changes: list[tuple[tuple[str, str], int]] = []  # (risk unit, signed units)
    paid = received = 0
    for account_id in state.holders.of(market):
        position = accounts[account_id].positions[market]
        payment = position.size * per_size
        if not payment:
            continue
        if position.isolated:
            payer, unit = isolated_wallet(account_id, market), (account_id, market)
        else:
            payer, unit = account_id, (account_id, "")
        if payment > 0:
            units = paid_units(payment)
            moves.append(Transfer(payer, pool, settle, units))
            paid += units
            changes.append((unit, -units))
        else:
            units = received_units(-payment)
            moves.append(Transfer(pool, payer, settle, units))
            received += units
            changes.append((unit, units))
    dust = paid - received
    if dust < 0:  # only possible if positions do not net to zero, which trades never allow
        raise Rejection("internal_error", "funding legs do not balance")
    moves.append(Transfer(pool, INSURANCE, spec.settle, dust))
    state.ledger.post(moves)
    step.emit("funding", market=spec.id, rate=format_exact(command.rate), paid=format_units(paid, decimals),
              received=format_units(received, decimals), dust=format_units(dust, decimals))
    for (account_id, _), units in changes:
        if account_id == INSURANCE:  # the backstop's own positions pay and receive funding too
            step.insurance_fund(spec.settle, units, "funding")
    if dust:
        step.insurance_fund(spec.settle, dust, "funding_rounding")
    # balances moved by known amounts: the screen shifts the holders' rows; only what it
    # flags is evaluated exactly
    step.evaluate(*step.monitor.quote_balance_moves(settle, changes))


def exchange_rate(step: Step, command: ExchangeRate) -> None:
    """A reported exchange rate, capped (`market_data/yield_rate.py`): at most
    `max_yearly_growth` a year (linear) above the last applied report, and never clamped
    below the rate already in force. Emits `exchange_rate` {asset, reported, applied,
    clamped}; the holders of the asset are re-evaluated."""
    state = step.state
    spec = checks.asset(state, command.asset)
    if spec.yield_spec is None:
        raise Rejection("not_yield_bearing", f"{spec.id} has no exchange rate")
    current = state.book.exchange_rates[spec.id]
    anchor, anchor_ts = state.rate_anchors.get(spec.id, (current, None))
    cap = max(rate_cap(anchor, anchor_ts, step.now, spec.yield_spec.max_yearly_growth), current)
    applied, clamped = clamp_reported(command.rate, cap)
    state.book.exchange_rates[spec.id] = applied
    state.rate_anchors[spec.id] = (applied, step.now)
    step.emit("exchange_rate", asset=spec.id, reported=format_exact(command.rate), applied=format_exact(applied),
              clamped=clamped)
    step.evaluate(*holders_of(state, spec.id))


def holders_of(state: EngineState, asset: str) -> list[str]:
    """The accounts holding a non-zero balance of `asset` (their own or an isolated wallet's)."""
    return sorted({wallet_owner(account) for account, _ in state.ledger.holders(asset)})
