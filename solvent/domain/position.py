"""Positions and their cost basis.

A position is held as its signed `size` and its exact signed `cost` (Σ size × price of the
part still open), so that `unrealized_pnl = size × mark − cost` needs no rounding and the
entry price is `cost / size`. Under FIFO the open part is also kept as lots.

Reducing a position realizes PnL through a `CostBasis` policy:

* average: closing x of a position q realizes `x/|q| × (q × P − cost)`. For a partial close
  that amount is floored to whole quantums of the settle asset and the unrealized remainder
  stays in the cost of what is still open, so nothing is lost and the entry price moves by
  less than one quantum per unit of size. A full close realizes `q × P − cost` exactly.
* fifo: the oldest lots close first; each closed part realizes `x × (P − lot price)` exactly.

The realized amount returned is exact; turning it into postings (account leg rounded down,
pool leg rounded up, dust to the insurance fund) is the ledger's business.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, NamedTuple

from .numbers import ARITHMETIC, ZERO
from .rounding import Figure, to_units, units_to_decimal
from .specs import CostBasis
from .values import Value


class Lot(NamedTuple):
    size: Decimal  # signed, same sign as the position
    price: Decimal


class Position(Value):
    __slots__ = ("market", "size", "cost", "lots", "realized_pnl", "isolated", "leverage")
    _fields = ("market", "size", "cost", "lots", "realized_pnl", "isolated", "leverage")

    def __init__(
        self,
        market: str,
        size: Decimal,
        cost: Decimal,
        lots: tuple[Lot, ...] = (),
        realized_pnl: int = 0,
        isolated: bool = False,
        leverage: Decimal | None = None,
    ) -> None:
        self.market: Final = market
        self.size: Final = size  # signed: long > 0, short < 0
        self.cost: Final = cost  # signed: Σ size × entry price of the open part
        self.lots: Final = lots  # FIFO only
        #: quantums of the settle asset credited since the position opened
        self.realized_pnl: Final = realized_pnl
        self.isolated: Final = isolated  # margin mode, fixed while the position is open
        self.leverage: Final = leverage  # leverage chosen; None: the tier's max_leverage

    @property
    def entry_price(self) -> Decimal:
        """Average entry price, `cost / size` (not rounded here)."""
        return ARITHMETIC.divide(self.cost, self.size)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """`size × mark − cost`, exact."""
        return ARITHMETIC.subtract(ARITHMETIC.multiply(self.size, mark), self.cost)


class FillOutcome(Value):
    __slots__ = ("position", "realized", "closed", "opened")
    _fields = ("position", "realized", "closed", "opened")

    def __init__(self, position: Position | None, realized: Decimal, closed: Decimal, opened: Decimal) -> None:
        self.position: Final = position  # None: the position is flat
        self.realized: Final = realized  # exact realized PnL of the part closed (0 if only opening)
        self.closed: Final = closed  # absolute size closed
        self.opened: Final = opened  # absolute size opened or added


def _sign(x: Decimal) -> int:
    return 1 if x > 0 else -1


def _reduce_average(position: Position, close_abs: Decimal, price: Decimal, settle_decimals: int):
    size, cost = position.size, position.cost
    if close_abs == abs(size):
        return ZERO, ZERO, (), ARITHMETIC.subtract(ARITHMETIC.multiply(size, price), cost)
    full_pnl = ARITHMETIC.subtract(ARITHMETIC.multiply(size, price), cost)
    exact = ARITHMETIC.divide(ARITHMETIC.multiply(full_pnl, close_abs), abs(size))
    realized = units_to_decimal(to_units(exact, settle_decimals, Figure.REALIZED_PNL_TO_ACCOUNT), settle_decimals)
    closed_signed = close_abs if size > 0 else -close_abs
    removed_cost = ARITHMETIC.subtract(ARITHMETIC.multiply(closed_signed, price), realized)
    return (
        ARITHMETIC.subtract(size, closed_signed),
        ARITHMETIC.subtract(cost, removed_cost),
        (),
        realized,
    )


def _reduce_fifo(position: Position, close_abs: Decimal, price: Decimal):
    lots = list(position.lots)
    remaining = close_abs
    realized = ZERO
    sign = _sign(position.size)
    while remaining:
        lot = lots[0]
        take = min(abs(lot.size), remaining)
        realized = ARITHMETIC.add(realized, ARITHMETIC.multiply(sign * take, ARITHMETIC.subtract(price, lot.price)))
        remaining = ARITHMETIC.subtract(remaining, take)
        if take == abs(lot.size):
            lots.pop(0)
        else:
            lots[0] = Lot(ARITHMETIC.subtract(lot.size, sign * take), lot.price)
    new_size = ARITHMETIC.subtract(position.size, sign * close_abs)
    new_cost = ZERO
    for lot in lots:
        new_cost = ARITHMETIC.add(new_cost, ARITHMETIC.multiply(lot.size, lot.price))
    return new_size, new_cost, tuple(lots), realized


def apply_fill(
    position: Position | None,
    market: str,
    delta: Decimal,
    price: Decimal,
    basis: CostBasis,
    settle_decimals: int,
    isolated: bool = False,
    leverage: Decimal | None = None,
) -> FillOutcome:
    """The position after buying (`delta` > 0) or selling (`delta` < 0) at `price`.

    A fill larger than the position and opposite to it closes the position and opens the
    remainder the other way (a flip). A new position takes `isolated` and `leverage` (the
    account's margin setting for the market); an open one keeps its own.
    """
    if position is None or not position.size:
        position = Position(market, ZERO, ZERO, (), 0, isolated, leverage)
    size = position.size
    if not size or (delta > 0) == (size > 0):
        lots = position.lots + (Lot(delta, price),) if basis is CostBasis.FIFO else ()
        new = Position(
            market,
            ARITHMETIC.add(size, delta),
            ARITHMETIC.add(position.cost, ARITHMETIC.multiply(delta, price)),
            lots,
            position.realized_pnl,
            position.isolated,
            position.leverage,
        )
        return FillOutcome(new, ZERO, ZERO, abs(delta))
    close_abs = min(abs(delta), abs(size))
    if basis is CostBasis.FIFO:
        new_size, new_cost, lots, realized = _reduce_fifo(position, close_abs, price)
    else:
        new_size, new_cost, lots, realized = _reduce_average(position, close_abs, price, settle_decimals)
    credited = position.realized_pnl + to_units(realized, settle_decimals, Figure.REALIZED_PNL_TO_ACCOUNT)
    rest = ARITHMETIC.add(delta, sign_times(size, close_abs))
    if new_size:
        return FillOutcome(
            Position(market, new_size, new_cost, lots, credited, position.isolated, position.leverage), realized, close_abs, ZERO
        )
    if not rest:
        return FillOutcome(None, realized, close_abs, ZERO)
    lots = (Lot(rest, price),) if basis is CostBasis.FIFO else ()
    flipped = Position(market, rest, ARITHMETIC.multiply(rest, price), lots, 0, position.isolated, position.leverage)
    return FillOutcome(flipped, realized, close_abs, abs(rest))


def sign_times(reference: Decimal, magnitude: Decimal) -> Decimal:
    """`magnitude` with the sign of `reference`."""
    return magnitude if reference > 0 else -magnitude


def unwind(position: Position, size: Decimal, price: Decimal) -> Position | None:
    """Take back `size` (signed, same sign as the position) that was added at `price` by the
    position's latest fill(s): size − s, cost − s × price, lots taken from the newest end.
    Realizes nothing (specific identification of that lot): the backstop hands on a
    position it took over at the same mark within the same command."""
    new_size = ARITHMETIC.subtract(position.size, size)
    if not new_size:
        return None
    lots = list(position.lots)
    remaining = abs(size)
    while remaining and lots:
        lot = lots[-1]
        take = min(abs(lot.size), remaining)
        remaining = ARITHMETIC.subtract(remaining, take)
        if take == abs(lot.size):
            lots.pop()
        else:
            lots[-1] = Lot(ARITHMETIC.subtract(lot.size, sign_times(lot.size, take)), lot.price)
    return position.replace(
        size=new_size, cost=ARITHMETIC.subtract(position.cost, ARITHMETIC.multiply(size, price)), lots=tuple(lots)
    )
