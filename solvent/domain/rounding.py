"""The rounding table: the one place that decides which way every figure rounds.

Money is held as integer quantums (10**-decimals of its asset, or of `value_decimals` for
figures valued in the quote currency). Whenever an exact value has to become a whole number
of quantums, the direction is looked up here, never chosen at the call site:

| figure                                   | direction | why                                    |
|------------------------------------------|-----------|----------------------------------------|
| collateral value (balance × price)       | down      | collateral is never overstated         |
| debt value (negative balance × price)    | down      | toward −∞: a debt's size rounds up     |
| weighted collateral / weighted debt      | down      | as above                               |
| unrealized PnL                           | down      | a gain is understated, a loss overstated|
| notional                                 | up        | the base of requirements               |
| maintenance margin, initial margin       | up        | requirements round up                  |
| realized PnL credited to an account      | down      | payouts round down, debts up; the      |
|                                          |           | market's pool pays exactly that and    |
|                                          |           | keeps the fraction (dust → insurance   |
|                                          |           | fund when the market is flat)          |
| funding paid by a position               | up        | debts round up                         |
| funding received by a position           | down      | payouts round down; dust → insurance   |
| isolated margin moved in on opening      | up        | a requirement                          |
| isolated margin released on reducing     | down      | a payout                               |
| interest owed by a borrower (per tick)   | up        | debts round up                         |
| interest earned by a supplier (per tick) | down      | payouts round down; rest → insurance   |
| exchange rate grown by its APY or capped | down      | it values collateral                   |
| health factor (printed, 20 digits)       | down      | never reads 1 while health < 0         |
| margin ratio (printed, 20 digits)        | up        | never reads 1 or less while health < 0 |
| liquidation fee (fee × notional closed)  | up        | a charge; then capped at the equity    |
|                                          |           | left and the health the close freed    |
| that cap (equity left, settle quantums)  | down      | the fee never creates bad debt         |
| collateral seized in a borrow liquidation| up        | the account owes it to the backstop    |
| debt paid off by seized collateral       | down      | collateral is never overstated         |
| the collateral value that used up        | up        | as above                               |
| ADL charge (units × (bankruptcy − mark)) | up        | a charge; the excess is insurance dust |
| its cap (the deleveraged unit's equity)  | down      | ADL never makes a counterparty bankrupt|
| socialized haircut of each balance       | up        | a charge; the excess is insurance dust |
| what the insurance fund can pay          | down      | the fund is never overstated           |

Where two legs of one exact amount round apart (funding: payers up, receivers down; interest:
borrowers up, suppliers down), the
difference is dust and the engine posts it to `@insurance`; realized PnL's dust stays in the
market's pool until no position is open, then goes to `@insurance`. Every posting stays
balanced to the last quantum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

from .fixed import ceil_at, ceil_quotient_at, floor_at, floor_quotient_at
from .numbers import ARITHMETIC

DOWN: Final = ROUND_FLOOR  # toward −∞
UP: Final = ROUND_CEILING  # toward +∞


class Figure:
    """Every figure that is ever rounded to quantums, with its direction (the table above).
    Plain class attributes: they are read on the hottest path."""

    COLLATERAL_VALUE: Final = DOWN
    WEIGHTED_VALUE: Final = DOWN
    UNREALIZED_PNL: Final = DOWN
    NOTIONAL: Final = UP
    MAINTENANCE_MARGIN: Final = UP
    INITIAL_MARGIN: Final = UP
    REALIZED_PNL_TO_ACCOUNT: Final = DOWN
    FUNDING_PAID: Final = UP
    FUNDING_RECEIVED: Final = DOWN
    ISOLATED_MARGIN_IN: Final = UP
    ISOLATED_MARGIN_RELEASED: Final = DOWN
    INTEREST_OWED: Final = UP
    INTEREST_EARNED: Final = DOWN
    EXCHANGE_RATE: Final = DOWN
    HEALTH_FACTOR: Final = DOWN
    LIQUIDATION_FEE: Final = UP  # charged to the liquidated account (then capped)
    LIQUIDATION_FEE_CAP: Final = DOWN  # the equity left, as settle quantums
    COLLATERAL_SEIZED: Final = UP  # the account owes it to the backstop
    DEBT_REPAID_BY_COLLATERAL: Final = DOWN  # what seized collateral pays off in a bankruptcy
    COLLATERAL_VALUE_SPENT: Final = UP  # ... and the value it used up doing so
    ADL_CHARGE: Final = UP  # what a deleveraged position pays on top of its close at the mark
    ADL_CHARGE_CAP: Final = DOWN  # the equity the deleveraged unit has left
    SOCIALIZED_HAIRCUT: Final = UP  # each balance's share of a socialized loss
    FUND_CAPACITY: Final = DOWN  # what the insurance fund is worth, in the asset owed
    MARGIN_RATIO: Final = UP


_SCALES = [Decimal(10) ** d for d in range(40)]


def scale(decimals: int) -> Decimal:
    """10**decimals as a Decimal (cached)."""
    return _SCALES[decimals]


_BETWEEN = {(a, b): Decimal(10) ** (b - a) for a in range(40) for b in range(40)}


def scale_between(from_decimals: int, to_decimals: int) -> Decimal:
    """10**(to − from): turns quantums of one precision into quantums of another."""
    return _BETWEEN[from_decimals, to_decimals]


def to_units(amount: Decimal, decimals: int, direction: str) -> int:
    """`amount` (in whole currency) as an integer count of 10**-decimals quantums, rounded
    in `direction` — always one of the `Figure` entries, never chosen at the call site."""
    if not amount:  # (the realized PnL of every opening fill, every fee of zero)
        return 0
    return int(amount.scaleb(decimals, ARITHMETIC).to_integral_value(direction))


def units_to_decimal(units: int, decimals: int) -> Decimal:
    """Exact inverse of `to_units` for a whole number of quantums."""
    return Decimal(units).scaleb(-decimals, ARITHMETIC)


def rounder(direction: str) -> Callable[[Decimal], int]:
    """The function that rounds an already-scaled value to an int in `direction`
    (`math.floor` or `math.ceil`, exact on Decimals). For hot loops that pre-scale."""
    return math.floor if direction == DOWN else math.ceil


def pair_to_units(units: int, places: int, decimals: int, direction: str) -> int:
    """An integer pair (units × 10**-places, `solvent.domain.fixed`) as whole quantums of
    10**-decimals, rounded in `direction` (a `Figure` entry, as for `to_units`). A direct
    call: compiled, a rounding function held in a variable would be a Python-level call."""
    if direction == DOWN:
        return floor_at(units, places, decimals)
    return ceil_at(units, places, decimals)


def pair_quotient_to_units(units: int, places: int, divisor_units: int, divisor_places: int, decimals: int,
                           direction: str) -> int:
    """The exact quotient of two pairs as whole quantums of 10**-decimals, rounded in
    `direction` (a `Figure` entry)."""
    if direction == DOWN:
        return floor_quotient_at(units, places, divisor_units, divisor_places, decimals)
    return ceil_quotient_at(units, places, divisor_units, divisor_places, decimals)


def divide_to_units(numerator: Decimal, denominator: int, direction: str) -> int:
    """`numerator / denominator` as an int, rounded in `direction` exactly: the quotient is
    formed from integers (`Decimal.as_integer_ratio`), never from a rounded division, so a
    value a hair below a whole number can never be rounded to it. `denominator` > 0."""
    top, bottom = numerator.as_integer_ratio()
    bottom *= denominator
    return top // bottom if direction == DOWN else -((-top) // bottom)
