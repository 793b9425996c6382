"""Interest accrual of one borrowable asset over one `time` tick, materialized as transfers.

Over a tick of `Δt` seconds, at the rates of the kinked model (`interest.py`) taken at the
utilization the tick starts with, on a 365-day year (`Y = 31,536,000 s`):

    borrow_index' = borrow_index × (1 + borrow_rate × Δt / Y)
    supply_index' = supply_index × (1 + supply_rate × Δt / Y)
    owed_i   = ⌈ debt_i × borrow_rate × Δt / Y ⌉                              (each borrower)
    earned_j = ⌊ supply_j × borrow_rate × (B / D) × (1 − reserve_factor) × Δt / Y ⌋  (each supplier)
    to_insurance = Σ owed − Σ earned

Simple interest within a tick, compounding from tick to tick (the balances the next tick
charges already hold this tick's interest). `B / D` is the exact utilization (total borrows
over total deposits, the ledger's running totals), so `Σ earned ≤ (1 − reserve_factor) ×
Σ exact interest ≤ Σ owed`: the insurance fund receives the reserve factor's share plus every
rounding remainder, and never pays. Each quotient is rounded exactly (`divide_to_units`).

Borrowers are the negative balances, suppliers the positive ones, of every ledger account
the ledger counts in its totals (users, isolated wallets, `@fees`) except `@insurance`: the
insurance fund is the other leg of the accrual (it collects and pays), so its own share of
supply interest is part of what it keeps, and a negative insurance balance pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..domain.ids import INSURANCE
from ..domain.numbers import ARITHMETIC, ONE
from ..domain.rounding import Figure, divide_to_units
from ..domain.specs import RateModel
from ..ledger import Transfer
from .interest import Rates, rates

SECONDS_PER_YEAR = 365 * 86_400


def grow_index(index: Decimal, rate: Decimal, seconds: Decimal) -> Decimal:
    """`index × (1 + rate × seconds / 31,536,000)`, to 100 significant digits."""
    growth = ARITHMETIC.divide(ARITHMETIC.multiply(rate, seconds), Decimal(SECONDS_PER_YEAR))
    return ARITHMETIC.multiply(index, ARITHMETIC.add(ONE, growth))


def interest_owed(debt: int, borrow_rate: Decimal, seconds: Decimal) -> int:
    """`⌈debt × borrow_rate × seconds / 31,536,000⌉` quantums (debt in quantums, > 0)."""
    exact = ARITHMETIC.multiply(ARITHMETIC.multiply(Decimal(debt), borrow_rate), seconds)
    return divide_to_units(exact, SECONDS_PER_YEAR, Figure.INTEREST_OWED)


def interest_earned(supply: int, borrow_rate: Decimal, seconds: Decimal, reserve_factor: Decimal,
                    total_borrows: int, total_deposits: int) -> int:
    """`⌊supply × borrow_rate × (B / D) × (1 − reserve_factor) × seconds / 31,536,000⌋`
    quantums, the utilization `B / D` taken exactly (D > 0)."""
    exact = Decimal(supply)
    for factor in (borrow_rate, seconds, ARITHMETIC.subtract(ONE, reserve_factor), Decimal(total_borrows)):
        exact = ARITHMETIC.multiply(exact, factor)
    return divide_to_units(exact, SECONDS_PER_YEAR * total_deposits, Figure.INTEREST_EARNED)


@dataclass(frozen=True, slots=True)
class InterestAccrual:
    """One asset's accrual over one tick: the rates used, the new indices, and who pays and
    earns what (quantums), in sorted account order."""

    asset: str
    seconds: Decimal
    rates: Rates
    borrow_index: Decimal
    supply_index: Decimal
    owed: tuple[tuple[str, int], ...]
    earned: tuple[tuple[str, int], ...]

    @property
    def paid(self) -> int:
        return sum(units for _, units in self.owed)

    @property
    def distributed(self) -> int:
        return sum(units for _, units in self.earned)

    @property
    def to_insurance(self) -> int:
        """The reserve factor's share and the rounding remainder (never negative)."""
        return self.paid - self.distributed

    def transfers(self) -> list[Transfer]:
        """Borrowers pay the insurance fund, which pays the suppliers: balanced, all-or-nothing."""
        moves = [Transfer(account, INSURANCE, self.asset, units) for account, units in self.owed]
        moves.extend(Transfer(INSURANCE, account, self.asset, units) for account, units in self.earned)
        return moves


def accrue(
    asset: str,
    model: RateModel,
    balances: Iterable[tuple[str, int]],
    total_deposits: int,
    total_borrows: int,
    seconds: Decimal,
    borrow_index: Decimal,
    supply_index: Decimal,
) -> InterestAccrual:
    """Plan the accrual of `asset` over `seconds` (> 0). `balances`: (ledger account, units)
    of every counted holder, sorted; the ledger's totals are those the tick starts with."""
    current = rates(model, Decimal(total_borrows), Decimal(total_deposits))
    owed: list[tuple[str, int]] = []
    earned: list[tuple[str, int]] = []
    for account, units in balances:
        if account == INSURANCE:
            continue
        if units < 0:
            owed.append((account, interest_owed(-units, current.borrow_rate, seconds)))
        elif units > 0 and total_deposits > 0:
            earned.append((account, interest_earned(units, current.borrow_rate, seconds, model.reserve_factor,
                                                    total_borrows, total_deposits)))
    return InterestAccrual(
        asset,
        seconds,
        current,
        grow_index(borrow_index, current.borrow_rate, seconds),
        grow_index(supply_index, current.supply_rate, seconds),
        tuple((a, u) for a, u in owed if u),
        tuple((a, u) for a, u in earned if u),
    )
