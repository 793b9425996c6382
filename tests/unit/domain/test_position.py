"""solvent.domain.position.apply_fill: cost basis under `average` and `fifo`.

A position keeps its signed size and exact signed cost (Σ size × price of the open part), so
unrealized PnL = size × mark − cost. Value is conserved: what is realized plus what stays
unrealized always equals the cash the fills moved, valued at any price.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvent.domain.numbers import ARITHMETIC
from solvent.domain.position import Lot, Position, apply_fill
from solvent.domain.rounding import Figure, to_units
from solvent.domain.specs import CostBasis

D = Decimal
AVG, FIFO = CostBasis.AVERAGE, CostBasis.FIFO
BASES = [AVG, FIFO]


def fills(basis: CostBasis, steps, decimals: int = 2) -> Position | None:
    position = None
    for delta, price in steps:
        position = apply_fill(position, "BTC-PERP", D(delta), D(price), basis, decimals).position
    return position


# -- opening and adding ------------------------------------------------------------------------


@pytest.mark.parametrize("basis", BASES)
def test_opening_fill_sets_size_and_cost(basis):
    """Buy 2 at 100: size 2, cost 200, entry 100; nothing realized."""
    outcome = apply_fill(None, "BTC-PERP", D(2), D(100), basis, 2)
    assert outcome.position.size == 2
    assert outcome.position.cost == 200
    assert outcome.position.entry_price == 100
    assert outcome.position.market == "BTC-PERP"
    assert (outcome.realized, outcome.closed, outcome.opened) == (0, 0, 2)
    assert outcome.position.realized_pnl == 0


@pytest.mark.parametrize("basis", BASES)
def test_opening_a_short_gives_negative_size_and_cost(basis):
    """Sell 3 at 50: size −3, cost −150, entry 50."""
    outcome = apply_fill(None, "M", D(-3), D(50), basis, 2)
    assert (outcome.position.size, outcome.position.cost, outcome.position.entry_price) == (-3, -150, 50)
    assert outcome.opened == 3


def test_new_position_takes_the_margin_setting_given():
    outcome = apply_fill(None, "M", D(1), D(10), AVG, 2, isolated=True, leverage=D(5))
    assert outcome.position.isolated is True
    assert outcome.position.leverage == 5


def test_open_position_keeps_its_own_margin_setting_when_added_to():
    first = apply_fill(None, "M", D(1), D(10), AVG, 2, isolated=True, leverage=D(5)).position
    added = apply_fill(first, "M", D(1), D(20), AVG, 2, isolated=False, leverage=D(2)).position
    assert added.isolated is True and added.leverage == 5


@pytest.mark.parametrize("basis", BASES)
def test_adding_to_a_position_adds_its_cost(basis):
    """Buy 2 at 100 then 1 at 130: size 3, cost 200 + 130 = 330, entry 110."""
    position = fills(basis, [(2, 100), (1, 130)])
    assert (position.size, position.cost, position.entry_price) == (3, 330, 110)


def test_fifo_keeps_one_lot_per_opening_fill():
    position = fills(FIFO, [(2, 100), (1, 130)])
    assert position.lots == (Lot(D(2), D(100)), Lot(D(1), D(130)))


def test_average_keeps_no_lots():
    assert fills(AVG, [(2, 100), (1, 130)]).lots == ()


def test_unrealized_pnl_is_size_times_mark_minus_cost():
    """Long 3 with cost 330 at mark 120: 360 − 330 = 30. Short 3 with cost −330 at 120: −30."""
    assert Position.of("M", D(3), D(330)).unrealized_pnl(D(120)) == 30
    assert Position.of("M", D(-3), D(-330)).unrealized_pnl(D(120)) == -30


# -- reducing under average cost ---------------------------------------------------------------

# Long 3 with cost 100 (fills 1 @ 33, 1 @ 33, 1 @ 34): entry 33.333…
LONG_3_COST_100 = [(1, 33), (1, 33), (1, 34)]


def test_partial_close_under_average_cost_floors_the_realized_pnl_to_quantums():
    """Sell 1 of the 3 at 40 (settle decimals 2): whole-position PnL 3 × 40 − 100 = 20;
    the part closed realizes 20 × 1/3 = 6.666… floored to 6.66. The cost removed is
    1 × 40 − 6.66 = 33.34, so cost becomes 66.66 and size 2."""
    before = fills(AVG, LONG_3_COST_100)
    outcome = apply_fill(before, "BTC-PERP", D(-1), D(40), AVG, 2)
    assert outcome.realized == D("6.66")
    assert (outcome.position.size, outcome.position.cost) == (2, D("66.66"))
    assert (outcome.closed, outcome.opened) == (1, 0)
    assert outcome.position.realized_pnl == 666  # quantums of the settle asset


def test_partial_close_under_average_cost_keeps_value_in_the_position():
    """Realized 6.66 + new unrealized at 40 (2 × 40 − 66.66 = 13.34) = 20, the old
    unrealized at the fill price, exactly: the floored-off 0.00666… stays in the position."""
    before = fills(AVG, LONG_3_COST_100)
    outcome = apply_fill(before, "BTC-PERP", D(-1), D(40), AVG, 2)
    assert outcome.position.unrealized_pnl(D(40)) == D("13.34")
    assert outcome.realized + outcome.position.unrealized_pnl(D(40)) == before.unrealized_pnl(D(40)) == 20


def test_partial_close_at_a_loss_floors_the_realized_loss_toward_minus_infinity():
    """Sell 1 of long-3-cost-100 at 30: whole PnL 90 − 100 = −10; the part: −3.333… floored
    to −3.34 (a loss is never understated). Cost: 100 − (30 + 3.34) = 66.66; unrealized at 30:
    60 − 66.66 = −6.66; −3.34 − 6.66 = −10."""
    before = fills(AVG, LONG_3_COST_100)
    outcome = apply_fill(before, "BTC-PERP", D(-1), D(30), AVG, 2)
    assert outcome.realized == D("-3.34")
    assert outcome.position.cost == D("66.66")
    assert outcome.position.realized_pnl == -334
    assert outcome.realized + outcome.position.unrealized_pnl(D(30)) == -10


def test_partial_close_of_a_short_under_average_cost():
    """Short 3 with cost −100 (sold 1 @ 33, 1 @ 33, 1 @ 34); buy 1 back at 30.
    Whole PnL −3 × 30 + 100 = 10; the part: 3.333… floored to 3.33. Removed cost:
    −1 × 30 − 3.33 = −33.33, so cost −100 + 33.33 = −66.67, size −2.
    Unrealized at 30: −60 + 66.67 = 6.67; 3.33 + 6.67 = 10."""
    before = fills(AVG, [(-1, 33), (-1, 33), (-1, 34)])
    outcome = apply_fill(before, "BTC-PERP", D(1), D(30), AVG, 2)
    assert outcome.realized == D("3.33")
    assert (outcome.position.size, outcome.position.cost) == (-2, D("-66.67"))
    assert outcome.realized + outcome.position.unrealized_pnl(D(30)) == 10


def test_realized_pnl_accumulates_over_partial_closes():
    """Long-3-cost-100: sell 1 at 40 realizes 6.66 (above); the rest, 2 with cost 66.66,
    sold 1 at 43: whole PnL 86 − 66.66 = 19.34, half is 9.67 exactly. Total 666 + 967."""
    position = fills(AVG, LONG_3_COST_100)
    position = apply_fill(position, "BTC-PERP", D(-1), D(40), AVG, 2).position
    outcome = apply_fill(position, "BTC-PERP", D(-1), D(43), AVG, 2)
    assert outcome.realized == D("9.67")
    assert outcome.position.realized_pnl == 666 + 967


def test_full_close_under_average_realizes_exactly_without_flooring():
    """Long 1 at 10.005 sold at 10 with 2 settle decimals: realized exactly −0.005 (the
    rounding of the posting is the ledger's business), and the position is gone."""
    position = fills(AVG, [(1, "10.005")])
    outcome = apply_fill(position, "BTC-PERP", D(-1), D(10), AVG, 2)
    assert outcome.realized == D("-0.005")
    assert outcome.position is None
    assert (outcome.closed, outcome.opened) == (1, 0)


@pytest.mark.parametrize("basis", BASES)
def test_full_close_realizes_size_times_price_minus_cost(basis):
    """Long-3-cost-100 sold at 40: 3 × 40 − 100 = 20."""
    outcome = apply_fill(fills(basis, LONG_3_COST_100), "BTC-PERP", D(-3), D(40), basis, 2)
    assert outcome.realized == 20
    assert outcome.position is None


def test_entry_price_moves_by_less_than_one_quantum_per_unit_after_a_partial_close():
    """Long-3-cost-100 minus 1 at 40: entry 66.66 / 2 = 33.33 vs 33.333…; the shift times the
    remaining size, 2 × 0.00333… = 0.00666…, is below one quantum 0.01."""
    before = fills(AVG, LONG_3_COST_100)
    after = apply_fill(before, "BTC-PERP", D(-1), D(40), AVG, 2).position
    assert after.entry_price == D("33.33")
    assert abs(after.entry_price - before.entry_price) * abs(after.size) < D("0.01")


# -- flips -------------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", BASES)
def test_flip_closes_the_position_then_opens_the_remainder_at_the_fill_price(basis):
    """Long 2 at 100 (cost 200); sell 5 at 110: close 2 realizing 2 × 110 − 200 = 20, then
    open short 3 at 110: size −3, cost −330."""
    outcome = apply_fill(fills(basis, [(2, 100)]), "BTC-PERP", D(-5), D(110), basis, 2)
    assert outcome.realized == 20
    assert (outcome.closed, outcome.opened) == (2, 3)
    assert (outcome.position.size, outcome.position.cost, outcome.position.entry_price) == (-3, -330, 110)
    assert outcome.position.realized_pnl == 0  # a new position


def test_flip_under_fifo_starts_with_one_lot_at_the_fill_price():
    """Lots (1 @ 100), (1 @ 120); sell 3 at 110: closes both (10 − 10 = 0), opens −1 @ 110."""
    outcome = apply_fill(fills(FIFO, [(1, 100), (1, 120)]), "BTC-PERP", D(-3), D(110), FIFO, 2)
    assert outcome.realized == 0
    assert outcome.position.lots == (Lot(D(-1), D(110)),)


def test_flip_from_short_to_long():
    """Short 1 at 50 (cost −50); buy 4 at 40: close 1 realizing −40 + 50 = 10, open long 3 at 40."""
    outcome = apply_fill(fills(AVG, [(-1, 50)]), "BTC-PERP", D(4), D(40), AVG, 2)
    assert outcome.realized == 10
    assert (outcome.position.size, outcome.position.cost) == (3, 120)


# -- FIFO ----------------------------------------------------------------------------------------


def test_fifo_consumes_the_oldest_lots_first_and_realizes_per_lot():
    """Lots 1 @ 10, 2 @ 20, 3 @ 30 (cost 10 + 40 + 90 = 140). Sell 2.5 at 25:
    1 from the first lot realizes 1 × (25 − 10) = 15; 1.5 from the second 1.5 × 5 = 7.5;
    total 22.5. Left: 0.5 @ 20 and 3 @ 30, size 3.5, cost 10 + 90 = 100."""
    position = fills(FIFO, [(1, 10), (2, 20), (3, 30)])
    outcome = apply_fill(position, "BTC-PERP", D("-2.5"), D(25), FIFO, 2)
    assert outcome.realized == D("22.5")
    assert outcome.position.lots == (Lot(D("0.5"), D(20)), Lot(D(3), D(30)))
    assert (outcome.position.size, outcome.position.cost) == (D("3.5"), 100)
    assert outcome.position.realized_pnl == 2250


def test_fifo_differs_from_average_on_the_same_fills():
    """Same fills under average: entry 140/6; selling 2.5 at 25 realizes
    2.5/6 × (150 − 140) = 4.1666… floored to 4.16, not FIFO's 22.5."""
    position = fills(AVG, [(1, 10), (2, 20), (3, 30)])
    assert apply_fill(position, "BTC-PERP", D("-2.5"), D(25), AVG, 2).realized == D("4.16")


def test_fifo_on_a_short_consumes_the_oldest_lots_first():
    """Lots −1 @ 50, −1 @ 40. Buy 1.5 at 45: the first lot realizes −1 × (45 − 50) = 5, half
    of the second −0.5 × (45 − 40) = −2.5; total 2.5. Left −0.5 @ 40, cost −20."""
    position = fills(FIFO, [(-1, 50), (-1, 40)])
    outcome = apply_fill(position, "BTC-PERP", D("1.5"), D(45), FIFO, 2)
    assert outcome.realized == D("2.5")
    assert outcome.position.lots == (Lot(D("-0.5"), D(40)),)
    assert (outcome.position.size, outcome.position.cost) == (D("-0.5"), -20)


def test_fifo_realized_is_exact_even_below_one_quantum():
    """Lots 1 @ 10.001, 1 @ 10; sell 1 at 10 (settle decimals 2): realized exactly −0.001; the
    credited counter rounds it down to −1 quantum (−0.01)."""
    position = fills(FIFO, [(1, "10.001"), (1, 10)])
    outcome = apply_fill(position, "BTC-PERP", D(-1), D(10), FIFO, 2)
    assert outcome.realized == D("-0.001")
    assert outcome.position.realized_pnl == -1


# -- value conservation ------------------------------------------------------------------------

sizes = st.integers(min_value=-5000, max_value=5000).filter(bool).map(lambda n: D(n).scaleb(-3))
prices = st.integers(min_value=1, max_value=10**7).map(lambda n: D(n).scaleb(-2))


@settings(max_examples=300)
@given(st.lists(st.tuples(sizes, prices), min_size=1, max_size=25), prices, st.sampled_from(BASES),
       st.integers(min_value=0, max_value=6))
def test_value_is_conserved_over_any_fill_sequence(steps, mark, basis, decimals):
    """Σ realized + final unrealized at P == Σ (−delta × fill price) + final size × P, exactly:
    each fill moves −delta × price of cash, and PnL is the cash plus what is held, valued at P."""
    position = None
    realized = D(0)
    cash = D(0)
    for delta, price in steps:
        outcome = apply_fill(position, "M", delta, price, basis, decimals)
        assert outcome.realized_units == to_units(outcome.realized, decimals, Figure.REALIZED_PNL_TO_ACCOUNT)
        position = outcome.position
        realized += outcome.realized
        cash -= delta * price
        size = position.size if position else D(0)
        if position is not None:
            assert position.size != 0
            if basis is FIFO:
                assert sum((lot.size for lot in position.lots), D(0)) == position.size
                assert sum((lot.size * lot.price for lot in position.lots), D(0)) == position.cost
                assert all((lot.size > 0) == (position.size > 0) for lot in position.lots)
    size = position.size if position else D(0)
    unrealized = position.unrealized_pnl(mark) if position else D(0)
    assert realized + unrealized == cash + size * mark
    assert size == sum((delta for delta, _ in steps), D(0))


@settings(max_examples=200)
@given(sizes, sizes, prices, prices, st.integers(min_value=0, max_value=6))
def test_average_partial_close_realizes_within_one_quantum_below_the_exact_share(open_size, close_size, open_price,
                                                                               close_price, decimals):
    """Closing x of q realizes x/|q| × (q × P − cost) floored to a quantum: within one
    quantum below the exact share, a whole number of quantums, and the entry moves by less
    than one quantum per unit of what remains."""
    if (open_size > 0) == (close_size > 0) or abs(close_size) >= abs(open_size):
        return
    position = apply_fill(None, "M", open_size, open_price, AVG, decimals).position
    outcome = apply_fill(position, "M", close_size, close_price, AVG, decimals)
    quantum = Fraction(1, 10**decimals)
    exact = Fraction(abs(close_size)) / Fraction(abs(open_size)) * Fraction(position.unrealized_pnl(close_price))
    realized = Fraction(outcome.realized)
    assert exact - quantum < realized <= exact
    assert (realized / quantum).denominator == 1
    old_entry = Fraction(position.cost) / Fraction(position.size)
    new_entry = Fraction(outcome.position.cost) / Fraction(outcome.position.size)
    assert abs(new_entry - old_entry) * abs(Fraction(outcome.position.size)) < quantum


# -- the integer pairs give what the Decimal formulas give, digit for digit -------------------


def _decimal_fill(size: Decimal, cost: Decimal, delta: Decimal, price: Decimal, settle: int):
    """The average-cost fill written with Decimals, straight from the module's formulas:
    (size, cost, realized, quantums credited, closed, opened); size 0 for flat."""
    with localcontext(ARITHMETIC):
        if not size or (delta > 0) == (size > 0):
            return size + delta, cost + delta * price, D(0), 0, D(0), abs(delta)
        close = min(abs(delta), abs(size))
        signed = close if size > 0 else -close
        pnl = size * price - cost
        if close == abs(size):
            new_size, new_cost, realized = D(0), D(0), pnl
        else:
            exact = pnl * close / abs(size)
            realized = Decimal(math.floor(exact.scaleb(settle))).scaleb(-settle)
            new_size, new_cost = size - signed, cost - (signed * price - realized)
        credited = math.floor(realized.scaleb(settle))
        if new_size:
            return new_size, new_cost, realized, credited, close, D(0)
        rest = delta + signed
        return rest, rest * price, realized, credited, close, abs(rest)


def _same(a: Decimal, b: Decimal) -> bool:
    return a.as_tuple() == b.as_tuple()


# sizes and prices written with varying places (1.5, 1.50, 1.500 ...), as commands may send them
written_sizes = st.builds(lambda n, extra: D(n).scaleb(-3).quantize(D(1).scaleb(-3 - extra)),
                          st.integers(-(10**7), 10**7).filter(bool), st.integers(0, 3))
written_prices = st.builds(lambda n, places: D(n).scaleb(-places), st.integers(1, 10**10), st.integers(0, 8))


@settings(max_examples=400)
@given(st.lists(st.tuples(written_sizes, written_prices), min_size=1, max_size=12), st.integers(0, 8))
def test_average_fills_on_pairs_equal_the_decimal_formulas_digit_for_digit(steps, settle):
    position = None
    size, cost, credited = D(0), D(0), 0
    for delta, price in steps:
        outcome = apply_fill(position, "M", delta, price, AVG, settle)
        size, cost, realized, gained, closed, opened = _decimal_fill(size, cost, delta, price, settle)
        assert _same(outcome.realized, realized)
        assert outcome.realized_units == gained  # (what the posting moves: the same floor)
        assert outcome.closed == closed and outcome.opened == opened
        position = outcome.position
        if not size:
            assert position is None
            size, cost, credited = D(0), D(0), 0  # flat: the next fill opens a new position
            continue
        flipped = bool(outcome.opened and outcome.closed)
        credited = 0 if flipped else credited + gained
        assert _same(position.size, size) and _same(position.cost, cost)
        assert position.realized_pnl == credited
