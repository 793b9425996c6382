"""An account in breach with no position left: borrow liquidation, or bankruptcy.

Borrow liquidation (equity >= 0): the backstop repays part of the account's largest debt
and takes collateral for it at the oracle price plus the collateral asset's
`liquidation_bonus`, Aave-style:

    seized = ⌈repaid × price(debt) × (1 + bonus) / price(collateral)⌉

* the debt is the negative balance with the largest weighted value, the collateral the
  positive balance with the largest weighted value (ties by asset id);
* at most `close_factor` of the debt (`params.close_factor`, 0.5), or all of it where the
  health factor is below `params.full_close_health_factor` (0.95); at most what the
  collateral balance pays for;
* within that, the least that brings `health >= liquidation_buffer × L` (L: what the
  account owes, weighted; i.e. health factor >= 1 + buffer), else the most allowed;
* the bonus is lowered where it would make the account less healthy (it may not exceed
  `liability_weight_maint(debt) / weight_maint(collateral) − 1`);
* one borrow liquidation per account per command: the close factor means something.

The backstop pays with its own balance of the debt asset and may run below zero in it: it
holds the seized collateral, worth more, against it.

Bankruptcy (equity < 0): the backstop seizes every positive balance, pays off the debts
with what that collateral is worth at the oracle (largest debt first), and what remains of
each debt goes to the loss waterfall.
"""

from __future__ import annotations

from decimal import Decimal

from ...domain.account import Account
from ...domain.ids import INSURANCE
from ...domain.numbers import ARITHMETIC, ONE, ZERO, format_decimal, format_units
from ...domain.rounding import Figure, to_units, units_to_decimal
from ...ledger import Transfer
from ...margin.figures import RiskFigures
from .. import checks
from ..context import Step
from ..state import EngineState
from .positions import Takeovers
from .sizing import least_amount
from .waterfall import cover_deficit


def _weighted_value(state: EngineState, asset: str, units: int) -> Decimal:
    spec = state.book.assets[asset]
    price = state.book.asset_price(asset) or ZERO
    weight = spec.weight_maint if units >= 0 else spec.debt_weight_maint
    return abs(units_to_decimal(units, spec.decimals) * price * weight)


def _largest(state: EngineState, balances: dict[str, int]) -> str | None:
    if not balances:
        return None
    return min(balances, key=lambda a: (-_weighted_value(state, a, balances[a]), a))


def borrow_liquidation(step: Step, account: Account, figures: RiskFigures) -> bool:
    """Repay part of the largest debt for collateral; see the module. Returns whether it acted."""
    state = step.state
    book = state.book
    params = book.params
    balances = state.ledger.balances(account.id)
    debts = {a: u for a, u in balances.items() if u < 0 and book.asset_price(a) is not None}
    collaterals = {
        a: u for a, u in balances.items()
        if u > 0 and book.asset_price(a) is not None and book.assets[a].weight_maint > 0
    }
    debt, collateral = _largest(state, debts), _largest(state, collaterals)
    if debt is None or collateral is None:
        return False
    debt_spec, coll_spec = book.assets[debt], book.assets[collateral]
    debt_price, coll_price = book.asset_price(debt), book.asset_price(collateral)
    assert debt_price is not None and coll_price is not None
    bonus = min(coll_spec.liquidation_bonus, max(ZERO, debt_spec.debt_weight_maint / coll_spec.weight_maint - ONE))
    rate = debt_price * (ONE + bonus) / coll_price  # collateral units per debt unit

    def seized(repaid: int) -> int:
        return to_units(units_to_decimal(repaid, debt_spec.decimals) * rate, coll_spec.decimals, Figure.COLLATERAL_SEIZED)

    health_factor = figures.health_factor()
    factor = ONE if health_factor is not None and health_factor < params.full_close_health_factor else params.close_factor
    owed = -debts[debt]
    limit = min(
        to_units(units_to_decimal(owed, debt_spec.decimals) * factor, debt_spec.decimals, Figure.DEBT_REPAID_BY_COLLATERAL),
        to_units(units_to_decimal(collaterals[collateral], coll_spec.decimals) / rate, debt_spec.decimals,
                 Figure.DEBT_REPAID_BY_COLLATERAL),
    )
    while limit > 0 and seized(limit) > collaterals[collateral]:
        limit -= 1
    if limit <= 0:
        return False
    buffer = params.liquidation_buffer

    def margin(repaid: int) -> Decimal:
        """health − buffer × L after repaying `repaid`: >= 0 reaches the target."""
        after = checks.cross_after(state, account, {debt: repaid, collateral: -seized(repaid)})
        return after.health - buffer * after.liabilities

    repaid = least_amount(limit, margin)
    taken = seized(repaid)
    state.ledger.post([Transfer(INSURANCE, account.id, debt, repaid), Transfer(account.id, INSURANCE, collateral, taken)])
    step.emit(
        "borrow_liquidation", account=account.id,
        debt_asset=debt, repaid=format_units(repaid, debt_spec.decimals),
        collateral_asset=collateral, seized=format_units(taken, coll_spec.decimals),
        bonus=format_decimal(bonus), close_factor=format_decimal(factor),
    )
    step.insurance_fund(debt, -repaid, "borrow_liquidation")
    step.insurance_fund(collateral, taken, "borrow_liquidation")
    return True


def bankruptcy(step: Step, account: Account, takeovers: Takeovers) -> None:
    """Seize the collateral, pay the debts with its value, send the rest to the waterfall."""
    state = step.state
    book = state.book
    ledger = state.ledger
    vd = book.params.value_decimals
    balances = dict(ledger.balances(account.id))
    budget = 0  # value of the seized collateral not yet spent on debts (value quantums)
    for asset in sorted(a for a, u in balances.items() if u > 0):
        units = balances[asset]
        ledger.post([Transfer(account.id, INSURANCE, asset, units)])
        step.insurance_fund(asset, units, "seized_collateral")
        price = book.asset_price(asset)
        if price is not None:
            budget += to_units(units_to_decimal(units, book.assets[asset].decimals) * price, vd, Figure.COLLATERAL_VALUE)
    debts = {a: u for a, u in balances.items() if u < 0}
    for asset in sorted(debts, key=lambda a: (-_weighted_value(state, a, debts[a]), a)):
        spec = book.assets[asset]
        owed = -debts[asset]
        price = book.asset_price(asset)
        if budget > 0 and price is not None:
            paid = min(owed, to_units(ARITHMETIC.divide(units_to_decimal(budget, vd), price), spec.decimals,
                                      Figure.DEBT_REPAID_BY_COLLATERAL))
            if paid:
                ledger.post([Transfer(INSURANCE, account.id, asset, paid)])
                step.insurance_fund(asset, -paid, "debt_paid_from_collateral")
                budget -= to_units(units_to_decimal(paid, spec.decimals) * price, vd, Figure.COLLATERAL_VALUE_SPENT)
                owed -= paid
        if owed > 0:
            cover_deficit(step, account.id, asset, owed, account.id, takeovers)
