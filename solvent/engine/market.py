"""price, funding, exchange_rate, time: market data entering the engine."""

from __future__ import annotations

from ..domain.commands import ExchangeRate, Funding, PriceUpdate, Time
from ..domain.errors import Rejection
from ..domain.ids import INSURANCE, isolated_wallet, pnl_pool
from ..domain.numbers import ARITHMETIC, format_exact, format_units
from ..domain.rounding import Figure, to_units
from ..ledger import Transfer
from . import checks
from .context import Step


def price(step: Step, command: PriceUpdate) -> None:
    """A new oracle price. Accounts exposed to the oracle are screened (float, rank-1 update)
    and the candidates evaluated exactly before the next command."""
    state = step.state
    if command.oracle not in step.monitor.oracle_index:
        raise Rejection("unknown_oracle", f"no asset or market uses oracle {command.oracle!r}")
    first = command.oracle not in state.book.prices
    state.book.prices[command.oracle] = command.price
    step.monitor.price_changed(command.oracle, first, step.seq, step.events)


def funding(step: Step, command: Funding) -> None:
    """One funding settlement: each position pays `size × mark × rate` to the market's pool,
    which pays it on to the other side. Payers round up, receivers round down; the pool's
    remainder (dust) goes to the insurance fund."""
    state = step.state
    spec = checks.market(state, command.market)
    mark = checks.mark(state, spec)
    decimals = state.book.assets[spec.settle].decimals
    pool = pnl_pool(spec.id)
    moves: list[Transfer] = []
    paid = received = 0
    holders = sorted(state.holders.get(spec.id, ()))
    for account_id in holders:
        account = state.accounts[account_id]
        position = account.positions[spec.id]
        payer = isolated_wallet(account_id, spec.id) if account.is_isolated(spec.id) else account_id
        payment = ARITHMETIC.multiply(ARITHMETIC.multiply(position.size, mark), command.rate)
        if payment > 0:
            units = to_units(payment, decimals, Figure.FUNDING_PAID)
            moves.append(Transfer(payer, pool, spec.settle, units))
            paid += units
        elif payment < 0:
            units = to_units(-payment, decimals, Figure.FUNDING_RECEIVED)
            moves.append(Transfer(pool, payer, spec.settle, units))
            received += units
    dust = paid - received
    if dust < 0:  # only possible if positions do not net to zero, which trades never allow
        raise Rejection("internal_error", "funding legs do not balance")
    moves.append(Transfer(pool, INSURANCE, spec.settle, dust))
    state.ledger.post(moves)
    step.emit("funding", market=spec.id, rate=format_exact(command.rate), paid=format_units(paid, decimals),
              received=format_units(received, decimals), dust=format_units(dust, decimals))
    if dust:
        step.emit("insurance_fund", asset=spec.settle, delta=format_units(dust, decimals),
                  balance=format_units(state.ledger.balance(INSURANCE, spec.settle), decimals), reason="funding_rounding")
    step.evaluate(*holders)


def exchange_rate(step: Step, command: ExchangeRate) -> None:
    state = step.state
    spec = checks.asset(state, command.asset)
    if spec.yield_spec is None:
        raise Rejection("not_yield_bearing", f"{spec.id} has no exchange rate")
    state.book.exchange_rates[spec.id] = command.rate
    step.monitor.evaluate_all(step.seq, step.events)


def time(step: Step, command: Time) -> None:
    """The clock moves (the engine does it for every command with a ts). Accrual of interest
    and yield over time, and oracle ages, come with issue #4."""
