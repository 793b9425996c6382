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
    changes: list[tuple[str, bool, int]] = []  # (account, isolated, signed units)
    paid = received = 0
    holders = sorted(state.holders.get(spec.id, ()))
    for account_id in holders:
        position = state.accounts[account_id].positions[spec.id]
        payer = isolated_wallet(account_id, spec.id) if position.isolated else account_id
        payment = ARITHMETIC.multiply(ARITHMETIC.multiply(position.size, mark), command.rate)
        if payment > 0:
            units = to_units(payment, decimals, Figure.FUNDING_PAID)
            moves.append(Transfer(payer, pool, spec.settle, units))
            paid += units
            changes.append((account_id, position.isolated, -units))
        elif payment < 0:
            units = to_units(-payment, decimals, Figure.FUNDING_RECEIVED)
            moves.append(Transfer(pool, payer, spec.settle, units))
            received += units
            changes.append((account_id, position.isolated, units))
    dust = paid - received
    if dust < 0:  # only possible if positions do not net to zero, which trades never allow
        raise Rejection("internal_error", "funding legs do not balance")
    moves.append(Transfer(pool, INSURANCE, spec.settle, dust))
    state.ledger.post(moves)
    step.emit("funding", market=spec.id, rate=format_exact(command.rate), paid=format_units(paid, decimals),
              received=format_units(received, decimals), dust=format_units(dust, decimals))
    for account_id, _, units in changes:
        if account_id == INSURANCE:  # the backstop's own positions pay and receive funding too
            step.insurance_fund(spec.settle, units, "funding")
    if dust:
        step.insurance_fund(spec.settle, dust, "funding_rounding")
    _rescreen(step, spec.id, spec.settle, changes)


def _rescreen(step: Step, market: str, settle: str, changes: list[tuple[str, bool, int]]) -> None:
    """Funding moved settle-asset balances by known amounts: shift the holders' screen rows
    by the weighted change and evaluate exactly only what the screen flags, and the cross
    accounts whose balance changed sign (their weight changed)."""
    state = step.state
    spec = state.book.assets[settle]
    unit = 10.0 ** -spec.decimals
    shifts = []
    exact = []
    for account_id, isolated, units in changes:
        value = units * unit
        if isolated:
            shifts.append(((account_id, market), value, value))
            continue
        new = state.ledger.balance(account_id, settle)
        old = new - units
        if (old < 0) != (new < 0):
            exact.append(account_id)
        elif new >= 0:
            shifts.append(((account_id, ""), value * float(spec.weight_maint), value * float(spec.weight_init)))
        else:
            shifts.append(((account_id, ""), value * float(spec.debt_weight_maint), value * float(spec.debt_weight_init)))
    step.evaluate(*step.monitor.shift(shifts), *exact)


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
