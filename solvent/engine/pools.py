"""The market PnL pools' rounding dust."""

from __future__ import annotations

from ..domain.ids import INSURANCE, pnl_pool
from ..domain.specs import MarketSpec
from ..ledger import Transfer
from .context import Step


def sweep_flat_pool(step: Step, spec: MarketSpec) -> None:
    """Realized PnL is credited rounded down and the pool pays exactly that, so the pool
    keeps the fraction. With no position open the exact PnL of the market sums to zero, and
    what the pool holds is that rounding dust (never negative): it goes to the insurance fund."""
    state = step.state
    if state.holders.count(spec.id):
        return
    pool = pnl_pool(spec.id)
    dust = state.ledger.balance(pool, spec.settle)
    if dust > 0:
        state.ledger.post([Transfer(pool, INSURANCE, spec.settle, dust)])
        step.insurance_fund(spec.settle, dust, "rounding")
