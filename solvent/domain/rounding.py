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
| realized PnL credited to an account      | down      | payouts round down, debts up           |
| realized PnL paid by the market's pool   | up        | the pool's leg; dust → insurance fund  |
| funding paid by a position               | up        | debts round up                         |
| funding received by a position           | down      | payouts round down; dust → insurance   |
| isolated margin moved in on opening      | up        | a requirement                          |
| isolated margin released on reducing     | down      | a payout                               |

The difference between an "up" leg and a "down" leg of the same exact amount is dust; the
engine posts it to `@insurance`, so every posting stays balanced to the last quantum.
"""

from __future__ import annotations

import enum
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from .numbers import ARITHMETIC


class Direction(enum.Enum):
    DOWN = ROUND_FLOOR  # toward −∞
    UP = ROUND_CEILING  # toward +∞


class Figure(enum.Enum):
    """Every figure that is ever rounded to quantums, with its direction."""

    COLLATERAL_VALUE = Direction.DOWN
    WEIGHTED_VALUE = Direction.DOWN
    UNREALIZED_PNL = Direction.DOWN
    NOTIONAL = Direction.UP
    MAINTENANCE_MARGIN = Direction.UP
    INITIAL_MARGIN = Direction.UP
    REALIZED_PNL_TO_ACCOUNT = Direction.DOWN
    REALIZED_PNL_FROM_POOL = Direction.UP
    FUNDING_PAID = Direction.UP
    FUNDING_RECEIVED = Direction.DOWN
    ISOLATED_MARGIN_IN = Direction.UP
    ISOLATED_MARGIN_RELEASED = Direction.DOWN


_SCALES = [Decimal(10) ** d for d in range(0, 40)]


def scale(decimals: int) -> Decimal:
    """10**decimals as a Decimal (cached)."""
    return _SCALES[decimals]


def to_units(amount: Decimal, decimals: int, figure: Figure) -> int:
    """`amount` (in whole currency) as an integer count of 10**-decimals quantums,
    rounded in the direction the table gives for `figure`."""
    return int(ARITHMETIC.multiply(amount, _SCALES[decimals]).to_integral_value(figure.value.value))


def units_to_decimal(units: int, decimals: int) -> Decimal:
    """Exact inverse of `to_units` for a whole number of quantums."""
    return Decimal(units).scaleb(-decimals, ARITHMETIC)
