"""Positions and their cost basis.

A position is held as its signed `size` and its exact signed `cost` (Σ size × price of the
part still open), so that `unrealized_pnl = size × mark − cost` needs no rounding and the
entry price is `cost / size`. Under FIFO the open part is also kept as lots. Size and cost
are integer pairs (`solvent.domain.fixed`), read as `Decimal`s through `Position.size` and
`Position.cost`: about 150 bytes a position less than two `Decimal`s, and fills and figures
computed with integers.

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

from .fixed import add, compare, join, split, split_shared
from .numbers import ARITHMETIC, ZERO
from .rounding import Figure, pair_quotient_to_units, pair_to_units, to_units
from .specs import CostBasis
from .values import Value


class Lot(NamedTuple):
    size: Decimal  # signed, same sign as the position
    price: Decimal


class Position(Value):
    """A position. Its size and cost are held as integer pairs (`solvent.domain.fixed`:
    units × 10**-places, the exponent a `Decimal` would have), read as `Decimal`s through
    `size` and `cost`; the figures and fills work on the pairs. Built from `Decimal`s by
    `Position.of`."""

    __slots__ = ("market", "size_units", "size_places", "cost_units", "cost_places", "lots", "realized_pnl", "isolated",
                 "leverage")
    _fields = ("market", "size_units", "size_places", "cost_units", "cost_places", "lots", "realized_pnl", "isolated",
               "leverage")

    def __init__(
        self,
        market: str,
        size_units: int,
        size_places: int,
        cost_units: int,
        cost_places: int,
        lots: tuple[Lot, ...] = (),
        realized_pnl: int = 0,
        isolated: bool = False,
        leverage: Decimal | None = None,
    ) -> None:
        self.market: Final = market
        self.size_units: Final = size_units  # signed: long > 0, short < 0
        self.size_places: Final = size_places
        self.cost_units: Final = cost_units  # signed: Σ size × entry price of the open part
        self.cost_places: Final = cost_places
        self.lots: Final = lots  # FIFO only
        #: quantums of the settle asset credited since the position opened
        self.realized_pnl: Final = realized_pnl
        self.isolated: Final = isolated  # margin mode, fixed while the position is open
        self.leverage: Final = leverage  # leverage chosen; None: the tier's max_leverage

    @staticmethod
    def of(
        market: str,
        size: Decimal,
        cost: Decimal,
        lots: tuple[Lot, ...] = (),
        realized_pnl: int = 0,
        isolated: bool = False,
        leverage: Decimal | None = None,
    ) -> Position:
        """The position of signed `size` and `cost` (`Decimal`s)."""
        size_units, size_places = split(size)
        cost_units, cost_places = split(cost)
        return Position(market, size_units, size_places, cost_units, cost_places, lots, realized_pnl, isolated, leverage)

    @property
    def size(self) -> Decimal:
        """Signed size: long > 0, short < 0."""
        return join(self.size_units, self.size_places)

    @property
    def cost(self) -> Decimal:
        """Signed Σ size × entry price of the open part."""
        return join(self.cost_units, self.cost_places)

    @property
    def entry_price(self) -> Decimal:
        """Average entry price, `cost / size` (not rounded here)."""
        return ARITHMETIC.divide(self.cost, self.size)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """`size × mark − cost`, exact."""
        return ARITHMETIC.subtract(ARITHMETIC.multiply(self.size, mark), self.cost)

    def __repr__(self) -> str:
        return (f"Position(market={self.market!r}, size={self.size}, cost={self.cost}, lots={self.lots!r}, "
                f"realized_pnl={self.realized_pnl}, isolated={self.isolated}, leverage={self.leverage!r})")


class FillOutcome(Value):
    __slots__ = ("position", "realized", "closed", "opened", "realized_units")
    _fields = ("position", "realized", "closed", "opened", "realized_units")

    def __init__(self, position: Position | None, realized: Decimal, closed: Decimal, opened: Decimal,
                 realized_units: int) -> None:
        self.position: Final = position  # None: the position is flat
        self.realized: Final = realized  # exact realized PnL of the part closed (0 if only opening)
        self.closed: Final = closed  # absolute size closed
        self.opened: Final = opened  # absolute size opened or added
        #: `realized` in settle quantums as the rounding table gives what the account is
        #: credited (REALIZED_PNL_TO_ACCOUNT): the posting's amount
        self.realized_units: Final = realized_units


def _sign(x: Decimal) -> int:
    return 1 if x > 0 else -1


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

    Computed on integer pairs (`solvent.domain.fixed`), which give every figure the digits
    and exponent the `Decimal` formulas of the module give (checked against them by
    tests/unit/domain/test_position.py).
    """
    delta_units, delta_places = split(delta)
    price_units, price_places = split_shared(price)  # (the same price object on both sides of a trade)
    if position is None or not position.size_units:
        position = Position(market, 0, 0, 0, 0, (), 0, isolated, leverage)
    size_units, size_places = position.size_units, position.size_places
    if not size_units or (delta_units > 0) == (size_units > 0):
        lots = position.lots + (Lot(delta, price),) if basis is CostBasis.FIFO else ()
        new_size_units, new_size_places = add(size_units, size_places, delta_units, delta_places)
        new_cost_units, new_cost_places = add(position.cost_units, position.cost_places, delta_units * price_units,
                                              delta_places + price_places)
        new = Position(market, new_size_units, new_size_places, new_cost_units, new_cost_places, lots,
                       position.realized_pnl, position.isolated, position.leverage)
        return FillOutcome(new, ZERO, ZERO, abs(delta), 0)
    # closing: close_abs = min(|delta|, |size|) (|delta| when equal, as `min` picks)
    magnitude = -size_units if size_units < 0 else size_units
    if compare(magnitude, size_places, -delta_units if delta_units < 0 else delta_units, delta_places) < 0:
        close_units, close_places = magnitude, size_places
        close_abs = join(magnitude, size_places)
    else:
        close_units, close_places = (-delta_units if delta_units < 0 else delta_units), delta_places
        close_abs = abs(delta)
    signed_close = close_units if size_units > 0 else -close_units  # the size closed, signed as the position
    lots = ()
    if basis is CostBasis.FIFO:
        fifo_size, fifo_cost, lots, realized = _reduce_fifo(position, close_abs, price)
        new_size_units, new_size_places = split(fifo_size)
        new_cost_units, new_cost_places = split(fifo_cost)
        realized_units = to_units(realized, settle_decimals, Figure.REALIZED_PNL_TO_ACCOUNT)
    else:
        # average cost: the position's whole PnL at `price` is size × price − cost
        pnl_units, pnl_places = add(size_units * price_units, size_places + price_places,
                                    -position.cost_units, position.cost_places)
        if not compare(close_units, close_places, magnitude, size_places):
            # a full close realizes all of it, exactly
            new_size_units = new_size_places = new_cost_units = new_cost_places = 0
            realized = join(pnl_units, pnl_places)
            realized_units = pair_to_units(pnl_units, pnl_places, settle_decimals, Figure.REALIZED_PNL_TO_ACCOUNT)
        else:
            # a partial close realizes floor(pnl × closed / |size|) settle quantums; what is
            # not realized stays in the cost of the part still open
            realized_units = pair_quotient_to_units(pnl_units * close_units, pnl_places + close_places, magnitude,
                                                    size_places, settle_decimals, Figure.REALIZED_PNL_TO_ACCOUNT)
            realized = join(realized_units, settle_decimals)
            removed_units, removed_places = add(signed_close * price_units, close_places + price_places,
                                                -realized_units, settle_decimals)
            new_size_units, new_size_places = add(size_units, size_places, -signed_close, close_places)
            new_cost_units, new_cost_places = add(position.cost_units, position.cost_places, -removed_units,
                                                  removed_places)
    credited = position.realized_pnl + realized_units
    if new_size_units:
        return FillOutcome(
            Position(market, new_size_units, new_size_places, new_cost_units, new_cost_places, lots, credited,
                     position.isolated, position.leverage),
            realized, close_abs, ZERO, realized_units,
        )
    rest_units, rest_places = add(delta_units, delta_places, signed_close, close_places)
    if not rest_units:
        return FillOutcome(None, realized, close_abs, ZERO, realized_units)
    rest = join(rest_units, rest_places)
    flipped_lots = (Lot(rest, price),) if basis is CostBasis.FIFO else ()
    flipped = Position(market, rest_units, rest_places, rest_units * price_units, rest_places + price_places,
                       flipped_lots, 0, position.isolated, position.leverage)
    return FillOutcome(flipped, realized, close_abs, abs(rest), realized_units)


def sign_times(reference: Decimal, magnitude: Decimal) -> Decimal:
    """`magnitude` with the sign of `reference`."""
    return magnitude if reference > 0 else -magnitude


def unwind(position: Position, size: Decimal, price: Decimal) -> Position | None:
    """Take back `size` (signed, same sign as the position) that was added at `price` by the
    position's latest fill(s): size − s, cost − s × price, lots taken from the newest end.
    Realizes nothing (specific identification of that lot): the backstop hands on a
    position it took over at the same mark within the same command."""
    size_units, size_places = split(size)
    price_units, price_places = split(price)
    new_size_units, new_size_places = add(position.size_units, position.size_places, -size_units, size_places)
    if not new_size_units:
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
    new_cost_units, new_cost_places = add(position.cost_units, position.cost_places, -size_units * price_units,
                                          size_places + price_places)
    return Position(position.market, new_size_units, new_size_places, new_cost_units, new_cost_places, tuple(lots),
                    position.realized_pnl, position.isolated, position.leverage)
