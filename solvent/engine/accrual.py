"""time: the clock moves. Oracle ages are checked, interest and yield accrue.

One `time` tick covers the seconds since the previous tick (or, for the first, since the
clock the engine had): `Δt = now − accrued_at`. A `ts` at or before that moves nothing.
In order:

1. every priced oracle that has become stale since the previous tick yields an `oracle`
   event (`stale`, reason `age`), once per crossing;
2. every asset with a rate model accrues interest (`market_data/accrual.py`): borrowers pay,
   suppliers earn, the reserve and the rounding remainder go to `@insurance`, all as one
   balanced posting; an `interest` event and an `insurance_fund` event say how much;
3. every yield-bearing asset with an APY grows its exchange rate (`market_data/yield_rate.py`);
4. the accounts whose balances or collateral value moved are re-evaluated exactly.

Interest is charged on the balances held at the tick, for the whole tick: send `time` at
the cadence interest should be measured at (MARKET_DATA.md).
"""

from __future__ import annotations

from decimal import Decimal

from ..domain.commands import Time
from ..domain.ids import wallet_owner
from ..domain.numbers import ONE, format_decimal, format_exact, format_units
from ..market_data.accrual import accrue
from ..market_data.yield_rate import grow_rate
from .context import Step
from .market import holders_of
from .oracles import report_newly_stale


def time(step: Step, command: Time) -> None:
    state = step.state
    since = state.accrued_at if state.accrued_at is not None else state.clock
    now = step.now
    report_newly_stale(step, since)
    if since is not None and now is not None and now > since:
        seconds = now - since
        touched = _accrue_interest(step, seconds) + _grow_exchange_rates(step, seconds)
        step.evaluate(*touched)
    if now is not None:
        state.accrued_at = now


def _accrue_interest(step: Step, seconds: Decimal) -> list[str]:
    """Post every rate-model asset's accrual over `seconds` at once (each asset's rates come
    from the totals the tick started with); return the accounts it moved."""
    state = step.state
    ledger = state.ledger
    plans = []
    for asset_id in sorted(state.book.assets):
        spec = state.book.assets[asset_id]
        if spec.rate_model is None:
            continue
        borrow_index, supply_index = state.indices.get(asset_id, (ONE, ONE))
        plan = accrue(asset_id, spec.rate_model, ledger.holders(asset_id), ledger.total_deposits(asset_id),
                      ledger.total_borrows(asset_id), seconds, borrow_index, supply_index)
        state.indices[asset_id] = (plan.borrow_index, plan.supply_index)
        if plan.paid:
            plans.append(plan)
    ledger.post([move for plan in plans for move in plan.transfers()])
    touched: list[str] = []
    for plan in plans:
        decimals = state.book.assets[plan.asset].decimals
        step.emit("interest", asset=plan.asset, seconds=format_exact(seconds),
                  borrow_rate=format_decimal(plan.rates.borrow_rate), supply_rate=format_decimal(plan.rates.supply_rate),
                  borrow_index=format_decimal(plan.borrow_index), supply_index=format_decimal(plan.supply_index),
                  paid=format_units(plan.paid, decimals), earned=format_units(plan.distributed, decimals),
                  to_insurance=format_units(plan.to_insurance, decimals))
        if plan.to_insurance:
            step.insurance_fund(plan.asset, plan.to_insurance, "interest")
        touched.extend(wallet_owner(account) for account, _ in plan.owed + plan.earned)
    return touched


def _grow_exchange_rates(step: Step, seconds: Decimal) -> list[str]:
    state = step.state
    touched: list[str] = []
    for asset_id in sorted(state.book.exchange_rates):
        spec = state.book.assets[asset_id]
        assert spec.yield_spec is not None
        old = state.book.exchange_rates[asset_id]
        new = grow_rate(old, spec.yield_spec.apy, seconds)
        if new != old:
            state.book.exchange_rates[asset_id] = new
            touched.extend(holders_of(state, asset_id))
    return touched
