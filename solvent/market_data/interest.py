"""The kinked (two-slope) interest-rate model of SPEC §5, yearly rates on a 365-day year.

    U            = total_borrows / total_deposits            (0 when nothing is deposited)
    borrow_rate  = base + slope1 × U / U_opt                         for U <= U_opt
                 = base + slope1 + slope2 × (U − U_opt) / (1 − U_opt) for U >  U_opt
    supply_rate  = borrow_rate × U × (1 − reserve_factor)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..domain.numbers import ARITHMETIC, ONE, ZERO
from ..domain.specs import RateModel


@dataclass(frozen=True, slots=True)
class Rates:
    utilization: Decimal
    borrow_rate: Decimal
    supply_rate: Decimal


def utilization(total_borrows: Decimal, total_deposits: Decimal) -> Decimal:
    """`total_borrows / total_deposits`; 0 when nothing is deposited."""
    if total_deposits <= 0:
        return ZERO
    return ARITHMETIC.divide(total_borrows, total_deposits)


def borrow_rate(model: RateModel, u: Decimal) -> Decimal:
    if u <= model.optimal_utilization:
        if not model.optimal_utilization:
            return model.base
        return ARITHMETIC.add(model.base, ARITHMETIC.divide(ARITHMETIC.multiply(model.slope1, u), model.optimal_utilization))
    excess = ARITHMETIC.divide(ARITHMETIC.subtract(u, model.optimal_utilization), ARITHMETIC.subtract(ONE, model.optimal_utilization))
    return ARITHMETIC.add(ARITHMETIC.add(model.base, model.slope1), ARITHMETIC.multiply(model.slope2, excess))


def supply_rate(model: RateModel, u: Decimal, borrow: Decimal) -> Decimal:
    return ARITHMETIC.multiply(ARITHMETIC.multiply(borrow, u), ARITHMETIC.subtract(ONE, model.reserve_factor))


def rates(model: RateModel, total_borrows: Decimal, total_deposits: Decimal) -> Rates:
    u = utilization(total_borrows, total_deposits)
    borrow = borrow_rate(model, u)
    return Rates(u, borrow, supply_rate(model, u, borrow))
