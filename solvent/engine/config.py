"""asset, market, params: configuration. Changing one re-evaluates every account."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..domain.commands import AssetCommand, MarketCommand, ParamsCommand
from ..domain.errors import Rejection
from . import checks
from .context import Step


def asset(step: Step, command: AssetCommand) -> None:
    state = step.state
    spec = command.spec
    old = state.book.assets.get(spec.id)
    if old is not None:
        if old.decimals != spec.decimals or old.oracle != spec.oracle:
            raise Rejection("immutable_field", f"asset {spec.id}: decimals and oracle cannot change")
    state.book.assets[spec.id] = spec
    state.age_limits.clear()
    state.usable.clear()
    state.figure_caches.clear()
    step.monitor.forget_floats()
    if spec.oracle is not None:
        step.monitor.register_oracle(spec.oracle)
        assets = state.oracle_assets.setdefault(spec.oracle, [])
        if spec.id not in assets:
            assets.append(spec.id)
    if spec.yield_spec is not None and spec.id not in state.book.exchange_rates:
        state.book.exchange_rates[spec.id] = spec.yield_spec.exchange_rate
        state.rate_anchors[spec.id] = (spec.yield_spec.exchange_rate, step.now)  # the cap's first anchor
    elif spec.yield_spec is None:
        state.book.exchange_rates.pop(spec.id, None)
        state.rate_anchors.pop(spec.id, None)
    if old is not None:
        step.monitor.evaluate_all(step.seq, step.events)


def market(step: Step, command: MarketCommand) -> None:
    state = step.state
    spec = command.spec
    settle = checks.asset(state, spec.settle)
    if settle.oracle is not None:
        raise Rejection("invalid_config", f"settle asset {settle.id} must be a quote asset (oracle null)")
    old = state.book.markets.get(spec.id)
    if old is not None and (old.oracle != spec.oracle or old.settle != spec.settle):
        raise Rejection("immutable_field", f"market {spec.id}: oracle and settle asset cannot change")
    state.book.markets[spec.id] = spec
    state.age_limits.clear()
    state.usable.clear()
    state.figure_caches.clear()
    step.monitor.register_oracle(spec.oracle)
    step.monitor.forget_floats()
    markets = state.oracle_markets.setdefault(spec.oracle, [])
    if spec.id not in markets:
        markets.append(spec.id)
    if old is not None:
        step.monitor.evaluate_all(step.seq, step.events)


def params(step: Step, command: ParamsCommand) -> None:
    state = step.state
    changes: dict[str, Any] = dict(command.changes)
    current = state.book.params
    if "cost_basis" in changes and changes["cost_basis"] is not current.cost_basis and state.open_positions():
        raise Rejection("positions_open", "cost_basis can change only while no position is open")
    if "value_decimals" in changes and changes["value_decimals"] != current.value_decimals and state.accounts:
        raise Rejection("accounts_exist", "value_decimals can change only before the first account")
    state.book.params = replace(current, **changes)
    state.figure_caches.clear()
    step.monitor.evaluate_all(step.seq, step.events)
