"""A float mirror of every risk unit's health and free collateral, moved by price ticks.

Each row is one risk unit (an account's cross part, or one isolated position). Within the
current tiers, health and free collateral are linear in each oracle price
(`solvent.margin.linear`):

    health_i = c_i + Σ_k slope_health[i, k] × price_k        (free collateral likewise)

The screen does not keep health itself but its *safety margin*:

    margin_health_i = sign_i × health_i − band_i

where `sign_i` is the sign (±1) the exact model last gave and `band_i` bounds every error
the float figure can carry. While the margin is positive the true health provably has the
sign last seen. A tick of oracle k adds `sign × slope[i, k] × Δprice` to the rows exposed to
k (a rank-1 update); a row is a *candidate* for exact re-evaluation when a margin is ≤ 0 or
the price left the interval on which the row's tiers (and so its slopes) hold.

A row that only left a tier interval can be carried into its new tier without an exact
evaluation (`retier`; `flip_rows` does it itself from each line's `size`, the size of the one
position the line is the leg of, see `Line` and `carry`; the risk monitor for the rest), and
a row whose margin fell so far below zero that the other sign is proved takes that sign
without one (`flip`: the float estimate decides a crossing as it decides a non-crossing).

`band_i = 1e-9 × (|c| + Σ |slope × price|) + (terms + 2)` quantums: the first part exceeds
float error by orders of magnitude, the second covers the exact model's per-term rounding.
Every `REANCHOR_EVERY` ticks the margins are rebuilt from the constants so that error cannot
accumulate.

Layout (struct of arrays, sparse in oracles). Per row, dense: `margins[0|1, row]` and the
cold `record[row]` = (const_h, const_f, sign_h, sign_f, band). Per oracle k, one *column*
holding only the rows exposed to k, packed: `rows`, `slope_h`, `slope_f` (sign applied),
`low`, `high` (the price interval of the slopes), `size` (see `Line`). A tick of k reads and
writes only its column's rows, so its cost is the number of accounts exposed to that oracle,
not the book: a market held by half of a million accounts moves half a million rows.
Columns are `array.array`s (cheap appends and scalar writes) seen by numpy without a copy on
each tick; a removed line is filled by the column's last one, so a column never has holes.
Each row remembers where its lines are (`_line_oracle`, `_line_slot`, `WIDTH` per row; the
rare row with more, a market maker in many markets, keeps them in a dict).

The tick's loop itself is `solvent.risk.kernels` (numpy, numba when installed, or C in the
compiled build; identical results). Anchoring a row (after a trade, a deposit...) only
stages it; staged rows are written before the next tick reads them (`flush`: in C for the
common case with the native kernel, `kernels.flush_native`, the same bits).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from mypy_extensions import mypyc_attr

from . import kernels

REANCHOR_EVERY = 4096
#: lines a row keeps in the packed per-row index; a row with more keeps them in a dict
WIDTH: Final = 8
RELATIVE_BAND: Final = 1e-9
#: Tier intervals are shrunk by this relative amount, so that a price on a boundary is a candidate.
EDGE: Final = 1e-12
_INF = float("inf")

#: `HealthScreen.retier` and `restate` in C (`_native.c`), called per row without a
#: Python-level wrapper; None without the C kernels
_RETIER_NATIVE: Any = kernels.native_function("retier")
_RESTATE_NATIVE: Any = kernels.native_function("restate")
_FLIP_ROWS_NATIVE: Any = kernels.native_function("flip_rows")
_RESET_NATIVE: Any = kernels.native_function("reset")

#: `HealthScreen.flip`'s answers: refused (evaluate exactly), or done, with the bits of the
#: signs the row's two figures have after it
FLIP_REFUSED: Final = 0
FLIP_DONE: Final = 1
FLIP_HEALTH_NEGATIVE: Final = 2
FLIP_FREE_NEGATIVE: Final = 4
#: `HealthScreen.flip_rows`' answer for a row with both margins positive (not at zero) that
#: it did not carry across a tier boundary itself (decide it with the account's objects)
FLIP_NOT_AT_ZERO: Final = -2
#: `HealthScreen.flip_rows`' answer for a row it carried across a tier boundary (`retier`)
FLIP_RETIERED: Final = -3

#: (oracle index, slope_health, slope_free, low, high[, size]): a tuple or a list. `size`, where
#: given, is the float size of the one cross position whose leg the line is, when its chosen
#: leverage is at or above every tier's maximum (so each tier's own maximum applies);
#: LEVERAGE_BINDS for such a leg whose chosen leverage is below a tier's maximum; NO_SIZE (the
#: default) for any other line (two legs merged, a balance's part, an isolated position's).
#: `flip_rows` reads it at a tick of an oracle with one market, whose tiers it is given
Line = Sequence[Any]
NO_SIZE: Final = float("nan")
LEVERAGE_BINDS: Final = float("inf")
#: a tier in floats: (mmr, notional low, notional high, max leverage (exact), its float, cum)
TierFloats = tuple[float, float, float, Any, float, float]
#: what `HealthScreen.flip_rows` needs to carry rows across tiers: (oracle index, the price
#: before the tick, the tiers of the one market on that oracle)
Carry = tuple[int, float, Sequence[TierFloats]]

# Columns of the per-row record (read on re-anchoring, not on ticks).
CONST_H, CONST_F, SIGN_H, SIGN_F, BAND = range(5)
_EMPTY_RECORD = (0.0, 0.0, 1.0, 1.0, 0.0)


class OracleColumn:
    """The rows exposed to one oracle, packed, with their signed slopes and intervals, and
    each line's `size`: the float size of the one cross position whose leg the line is,
    for `HealthScreen.flip_rows` to carry the row across a tier boundary itself (NO_SIZE
    where the line is not one such leg; LEVERAGE_BINDS where it is, but the position's
    chosen leverage is below a tier's maximum: see `Line`)."""

    __slots__ = ("rows", "slope_h", "slope_f", "low", "high", "size")

    def __init__(self) -> None:
        self.rows = array("q")
        self.slope_h = array("d")
        self.slope_f = array("d")
        self.low = array("d")
        self.high = array("d")
        self.size = array("d")

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: int, slope_h: float, slope_f: float, low: float, high: float, size: float) -> int:
        self.rows.append(row)
        self.slope_h.append(slope_h)
        self.slope_f.append(slope_f)
        self.low.append(low)
        self.high.append(high)
        self.size.append(size)
        return len(self.rows) - 1

    def set(self, slot: int, slope_h: float, slope_f: float, low: float, high: float, size: float) -> None:
        """Rewrite a line in place (its row stays)."""
        self.slope_h[slot] = slope_h
        self.slope_f[slot] = slope_f
        self.low[slot] = low
        self.high[slot] = high
        self.size[slot] = size

    def remove(self, slot: int) -> int | None:
        """Drop `slot`, moving the last line into it; returns the row whose line moved
        (None if the last slot itself was dropped)."""
        last = len(self.rows) - 1
        moved = None
        if slot != last:
            moved = self.rows[last]
            self.rows[slot] = moved
            for floats in (self.slope_h, self.slope_f, self.low, self.high, self.size):
                floats[slot] = floats[last]
        self.rows.pop()
        for floats in (self.slope_h, self.slope_f, self.low, self.high, self.size):
            floats.pop()
        return moved

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Zero-copy numpy views of rows, slope_h, slope_f, low, high (valid until the
        column changes)."""
        return tuple(np.frombuffer(values, dtype=np.int64 if values.typecode == "q" else np.float64)
                     for values in (self.rows, self.slope_h, self.slope_f, self.low, self.high))


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled native; `solvent bench` times a subclass of it
class HealthScreen:
    """Rows of risk units; see the module."""

    margins: np.ndarray
    record: np.ndarray
    #: the last price of each oracle (a list: read one at a time, on every trade side)
    prices: list[float]

    def __init__(self, capacity: int = 1024, oracles: int = 0, kernel: str | None = None) -> None:
        """`oracles` is only a hint: columns are added by `add_oracle`. `kernel`: "native",
        "numba" or "numpy" (default: see `solvent.risk.kernels.select`)."""
        del oracles
        self.kernel_name, self.kernel = kernels.select(kernel)
        self._rows = 0
        self._free_rows: list[int] = []
        self._ticks = 0
        self._staged: dict[int, tuple | None] = {}
        self.columns: list[OracleColumn] = []
        #: per oracle, its column's (slope_h, slope_f, low, high, rows, size) arrays, for the C
        #: kernels (a column keeps its array objects for life: they grow and shrink in place)
        self._column_arrays: list[tuple[array, array, array, array, array, array]] = []
        self.prices = []
        self._line_count = bytearray()
        self._line_oracle = array("i")
        self._line_slot = array("i")
        #: lines of the few rows with more than WIDTH of them (a market maker in many markets)
        self._overflow: dict[int, list[list[int]]] = {}
        self._allocate(max(capacity, 1))

    # -- storage --------------------------------------------------------------------------
    def _allocate(self, rows: int) -> None:
        old = getattr(self, "record", None)
        margins = np.full((2, rows), _INF)
        record = np.tile(np.array(_EMPTY_RECORD), (rows, 1))
        if old is not None:
            n = old.shape[0]
            margins[:, :n] = self.margins
            record[:n] = self.record
        self.margins, self.record = margins, record
        self._capacity = rows
        grow = rows - len(self._line_count)
        self._line_count.extend(bytes(grow))
        self._line_oracle.extend(array("i", bytes(4 * grow * WIDTH)))
        self._line_slot.extend(array("i", bytes(4 * grow * WIDTH)))
        self._margin_view = margins.data.cast("B").cast("d")
        self._record_view = record.data.cast("B").cast("d")

    def _lines_of(self, row: int) -> list[list[int]]:
        """[oracle, slot] of every line of `row`."""
        if row in self._overflow:
            return self._overflow[row]
        base = row * WIDTH
        return [[self._line_oracle[base + j], self._line_slot[base + j]] for j in range(self._line_count[row])]

    def _record_lines(self, row: int, placed: list[list[int]]) -> None:
        """Remember where `row`'s lines are: [oracle, slot] each."""
        if len(placed) > WIDTH:
            self._overflow[row] = placed
            self._line_count[row] = 0
            return
        self._overflow.pop(row, None)
        base = row * WIDTH
        for j, (index, slot) in enumerate(placed):
            self._line_oracle[base + j] = index
            self._line_slot[base + j] = slot
        self._line_count[row] = len(placed)

    def _moved_slot(self, row: int, oracle: int, old: int, new: int) -> None:
        """The line of `row` in `oracle`'s column moved from slot `old` to `new`."""
        lines = self._overflow.get(row)
        if lines is not None:
            for line in lines:
                if line[0] == oracle and line[1] == old:
                    line[1] = new
                    return
            return
        base = row * WIDTH
        for j in range(self._line_count[row]):
            if self._line_oracle[base + j] == oracle and self._line_slot[base + j] == old:
                self._line_slot[base + j] = new
                return

    def add_oracle(self) -> int:
        column = OracleColumn()
        self.columns.append(column)
        self._column_arrays.append((column.slope_h, column.slope_f, column.low, column.high, column.rows, column.size))
        self.prices.append(0.0)
        return len(self.columns) - 1

    def new_row(self) -> int:
        if self._free_rows:
            return self._free_rows.pop()
        row = self._rows
        self._rows += 1
        if self._rows > self._capacity:
            self._allocate(self._capacity * 2)
        return row

    def release_row(self, row: int) -> None:
        self.clear(row)
        self._free_rows.append(row)

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def lines(self) -> int:
        """Lines held, over every oracle (a row has one per oracle it depends on)."""
        return sum(len(column) for column in self.columns)

    # -- writing rows ---------------------------------------------------------------------
    def clear(self, row: int) -> None:
        """Stage the row as holding nothing at risk: it is never a candidate."""
        self._staged[row] = None

    def anchor(self, row: int, health: float, free: float, health_negative: bool, free_negative: bool,
               lines: Sequence[Line], terms: int, quantum: float) -> None:
        """Stage a row from an exact evaluation: its figures at the current prices, the signs
        the exact model gave them, and one line per oracle it depends on."""
        self._staged[row] = (health, free, health_negative, free_negative, lines, terms, quantum)

    def _drop_lines(self, row: int) -> None:
        for index, slot in self._lines_of(row):
            column = self.columns[index]
            moved = column.remove(slot)
            if moved is not None:  # the column's last line now sits in the freed slot
                self._moved_slot(moved, index, len(column), slot)
        self._line_count[row] = 0
        self._overflow.pop(row, None)

    def flush(self) -> None:
        """Write every staged row into the columns and the row arrays."""
        staged = self._staged
        if not staged:
            return
        prices = self.prices
        cap = self._capacity
        margins, record = self._margin_view, self._record_view
        if self.kernel_name == "native":  # the common case in C; the rest below, in order
            pending: Any = kernels.flush_native(self, staged, WIDTH, 1 + EDGE, 1 - EDGE, RELATIVE_BAND)
        else:
            pending = staged
        for row in pending:
            entry = staged[row]
            base = 5 * row
            if entry is None:
                self._drop_lines(row)
                margins[row] = margins[cap + row] = _INF
                record[base:base + 5] = array("d", _EMPTY_RECORD)
                continue
            health, free, h_negative, f_negative, lines, terms, quantum = entry
            sign_h = -1.0 if h_negative else 1.0
            sign_f = -1.0 if f_negative else 1.0
            moving_h = moving_f = spread = 0.0
            count = self._line_count[row]
            targets = None
            if count == len(lines) and row not in self._overflow:
                base_line = row * WIDTH
                slots = dict(zip(self._line_oracle[base_line:base_line + count],
                                 self._line_slot[base_line:base_line + count]))
                targets = [slots.get(line[0], -1) for line in lines]
                if -1 in targets:
                    targets = None
            if targets is not None:
                # the common case (a trade in a market the row already holds): the row keeps
                # its oracles, so every line is rewritten where it is
                for line, slot in zip(lines, targets):
                    index, s_h, s_f, lo, hi = line[0], line[1], line[2], line[3], line[4]
                    column = self.columns[index]
                    column.slope_h[slot] = sign_h * s_h
                    column.slope_f[slot] = sign_f * s_f
                    column.low[slot] = lo * (1 + EDGE) if lo > 0 else lo
                    column.high[slot] = hi * (1 - EDGE)
                    column.size[slot] = line[5] if len(line) > 5 else NO_SIZE
                    price = prices[index]
                    moving_h += s_h * price
                    moving_f += s_f * price
                    spread += abs(s_h) * price + abs(s_f) * price
            else:
                # a line in an oracle the row already had is rewritten in place; the others
                # are appended, and the row's lines in oracles it no longer has are removed
                kept = {index: slot for index, slot in self._lines_of(row)}
                placed: list[list[int]] = []
                for line in lines:
                    index, s_h, s_f, lo, hi = line[0], line[1], line[2], line[3], line[4]
                    column = self.columns[index]
                    values = (sign_h * s_h, sign_f * s_f, lo * (1 + EDGE) if lo > 0 else lo, hi * (1 - EDGE))
                    size = line[5] if len(line) > 5 else NO_SIZE
                    if index in kept:
                        slot = kept.pop(index)
                        column.set(slot, values[0], values[1], values[2], values[3], size)
                    else:
                        slot = column.append(row, values[0], values[1], values[2], values[3], size)
                    placed.append([index, slot])
                    price = prices[index]
                    moving_h += s_h * price
                    moving_f += s_f * price
                    spread += abs(s_h) * price + abs(s_f) * price
                for index, slot in kept.items():
                    column = self.columns[index]
                    moved = column.remove(slot)
                    if moved is not None:  # another row's line (this row has none left in `index`)
                        self._moved_slot(moved, index, len(column), slot)
                self._record_lines(row, placed)
            self._write_anchored(row, health, free, sign_h, sign_f, moving_h, moving_f, spread, terms, quantum)
        staged.clear()

    def _write_anchored(self, row: int, health: float, free: float, sign_h: float, sign_f: float, moving_h: float,
                        moving_f: float, spread: float, terms: int, quantum: float) -> None:
        """Write a row anchored at `health` and `free` with these signs, its lines' sums
        (`moving` = Σ slope × price, `spread` = Σ |slope| × price, both figures) already
        taken: the band, the margins and the record (the C flush and reset write the same)."""
        band = RELATIVE_BAND * (spread + abs(health) + abs(free)) + (terms + 2) * quantum
        margins, record = self._margin_view, self._record_view
        base = 5 * row
        margins[row] = sign_h * health - band
        margins[self._capacity + row] = sign_f * free - band
        record[base] = health - moving_h
        record[base + 1] = free - moving_f
        record[base + 2] = sign_h
        record[base + 3] = sign_f
        record[base + 4] = band

    # -- a change known within a bound, applied to the estimate ----------------------------
    def settled(self, row: int) -> tuple[float, float, float] | None:
        """(health, free collateral, band) of a written row whose two figures are provably
        positive now: both signs positive and both margins > 0, so the exact figures are
        within `band` of these estimates. None for a staged or cleared row, or when either
        figure is not provably positive."""
        if row in self._staged:
            return None
        base = 5 * row
        record = self._record_view
        if record[base + 2] < 0.0 or record[base + 3] < 0.0:
            return None
        margins = self._margin_view
        margin_h, margin_f = margins[row], margins[self._capacity + row]
        if not (0.0 < margin_h < _INF and 0.0 < margin_f < _INF):
            return None
        band = record[base + 4]
        return margin_h + band, margin_f + band, band

    def _written_lines(self, row: int, oracle: int) -> tuple[list[list[int]], int] | None:
        """([oracle, slot] of each line of a written row, the slot of its line in `oracle` or
        -1); None for a row staged since (it is not written yet)."""
        if row in self._staged:
            return None
        lines = self._lines_of(row)
        slot = -1
        for index, at in lines:
            if index == oracle:
                slot = at
        return lines, slot

    def restate(self, row: int, oracle: int, line: Line | None, health: float, free: float, carried: float,
                terms: int, quantum: float) -> bool:
        """Rewrite a written row after a change whose effect on its figures is known within
        a bound (a trade in one market): its line in `oracle` becomes `line` (None: the row no
        longer depends on that oracle), its estimates `health` and `free`. The band is the
        usual one plus `carried`, which bounds the error the estimates already carry. Written only if both figures
        are then provably positive; returns whether it was (if not, evaluate the row exactly).
        A row staged since it was judged is not rewritten either. With the native kernel,
        the common cases (a row in the packed index keeping its line in `oracle`, or gaining
        one) are done in C (`_native.restate`, the same operations: the same bits)."""
        if self.kernel_name == "native" and line is not None and row not in self._staged:
            written: int = _RESTATE_NATIVE(self._margin_view, self._record_view, self._line_count,
                                           self._line_oracle, self._line_slot, self._column_arrays, self.prices, row,
                                           oracle, line[1], line[2], line[3], line[4],
                                           line[5] if len(line) > 5 else NO_SIZE, health, free, carried, terms,
                                           quantum, 1 + EDGE, 1 - EDGE, RELATIVE_BAND, WIDTH)
            if written >= 0:
                return written == 1
        found = self._written_lines(row, oracle)
        if found is None:
            return False
        lines, slot = found
        prices = self.prices
        columns = self.columns
        moving_h = moving_f = spread = 0.0
        s_h: float
        s_f: float
        price: float
        for index, at in lines:
            if index != oracle:
                column = columns[index]
                s_h, s_f, price = column.slope_h[at], column.slope_f[at], prices[index]
                moving_h += s_h * price
                moving_f += s_f * price
                spread += abs(s_h) * price + abs(s_f) * price
        if line is not None:
            s_h, s_f, price = line[1], line[2], prices[oracle]
            moving_h += s_h * price
            moving_f += s_f * price
            spread += abs(s_h) * price + abs(s_f) * price
        band = RELATIVE_BAND * (spread + abs(health) + abs(free)) + (terms + 2) * quantum + carried
        if not (health - band > 0.0 and free - band > 0.0):
            return False
        column = columns[oracle]
        if line is None:
            if slot >= 0:
                moved = column.remove(slot)
                if moved is not None:
                    self._moved_slot(moved, oracle, len(column), slot)
                self._record_lines(row, [entry for entry in self._lines_of(row) if entry[0] != oracle])
        else:
            low, high = line[3], line[4]
            s_h, s_f, low, high = line[1], line[2], low * (1 + EDGE) if low > 0 else low, high * (1 - EDGE)
            size = line[5] if len(line) > 5 else NO_SIZE
            if slot >= 0:
                column.set(slot, s_h, s_f, low, high, size)
            else:
                self._record_lines(row, [*lines, [oracle, column.append(row, s_h, s_f, low, high, size)]])
        cap = self._capacity
        margins, record = self._margin_view, self._record_view
        margins[row] = health - band
        margins[cap + row] = free - band
        base = 5 * row
        record[base] = health - moving_h
        record[base + 1] = free - moving_f
        record[base + 2] = 1.0
        record[base + 3] = 1.0
        record[base + 4] = band
        return True

    def at_zero(self, row: int) -> bool:
        """Whether either safety margin of a written row is not provably positive: at or below
        zero (a possible crossing, not only a tier interval left), or not a number (never
        carried on: `_native.flip_rows` tests `margin > 0` the same way)."""
        margins = self._margin_view
        return not (margins[row] > 0.0 and margins[self._capacity + row] > 0.0)

    def retier(self, row: int, oracle: int, line: Line, shift_health: float) -> bool:
        """Carry a written row across a tier boundary without an exact evaluation: its line in
        `oracle` (the only leg there: one position) becomes `line`, for the tier the price is
        in now, and its health constant moves by `shift_health` (the change of the position's
        `cum`). Outside the old tier the old line is not the figures any more, but the
        difference is known exactly as a formula: the change of the position's maintenance
        margin (`notional × Δmmr − Δcum`) and initial margin (`notional × Δ(1/leverage)`),
        which the new slopes and the shift carry. So the estimate keeps its bound: the band
        keeps what it had (the quantums of the terms, what a restate carried) and adds
        RELATIVE_BAND of the new magnitudes for the float error of the new terms.

        Written only if both margins are then provably positive and the price inside the
        new line's interval; returns whether it was (if not, evaluate the row exactly).
        With the native kernel, a row whose lines are in the packed index is done in C
        (`_native.retier`, the same operations: the same bits)."""
        if self.kernel_name == "native" and row not in self._staged:
            carried: int = _RETIER_NATIVE(self._margin_view, self._record_view, self._line_count, self._line_oracle,
                                          self._line_slot, self._column_arrays, self.prices, row, oracle, line[1], line[2],
                                          line[3], line[4], shift_health, 1 + EDGE, 1 - EDGE, RELATIVE_BAND, WIDTH)
            if carried >= 0:
                return carried == 1
        return self._retier_in_python(row, oracle, line, shift_health)

    def _retier_in_python(self, row: int, oracle: int, line: Line, shift_health: float) -> bool:
        """`retier`'s loop (the pure build, and the rows the C leaves)."""
        found = self._written_lines(row, oracle)
        if found is None or found[1] < 0:
            return False
        lines, slot = found
        base = 5 * row
        record = self._record_view
        sign_h: float = record[base + 2]
        sign_f: float = record[base + 3]
        prices = self.prices
        price = prices[oracle]
        line_h: float = line[1]
        line_f: float = line[2]
        low: float = line[3]
        high: float = line[4]
        low = low * (1 + EDGE) if low > 0 else low
        high = high * (1 - EDGE)
        if not (low < price <= high):
            return False
        moving_h = moving_f = spread = 0.0
        columns = self.columns
        for index, at in lines:
            s_h: float
            s_f: float
            if index == oracle:
                s_h, s_f = line_h, line_f
            else:
                column = columns[index]
                stored_h: float = column.slope_h[at]
                stored_f: float = column.slope_f[at]
                s_h, s_f = sign_h * stored_h, sign_f * stored_f
            value = prices[index]
            moving_h += s_h * value
            moving_f += s_f * value
            spread += abs(s_h) * value + abs(s_f) * value
        const_h: float = record[base]
        const_h += shift_health
        const_f: float = record[base + 1]
        health = const_h + moving_h
        free = const_f + moving_f
        band: float = record[base + 4]
        band += RELATIVE_BAND * (spread + abs(health) + abs(free))
        margin_h = sign_h * health - band
        margin_f = sign_f * free - band
        if not (margin_h > 0.0 and margin_f > 0.0):
            return False
        column = columns[oracle]
        column.set(slot, sign_h * line_h, sign_f * line_f, low, high, column.size[slot])  # (the same position)
        margins = self._margin_view
        margins[row] = margin_h
        margins[self._capacity + row] = margin_f
        record[base] = const_h
        record[base + 4] = band
        return True

    def _held_lines(self, row: int) -> list[list[int]] | None:
        """[oracle, slot] of each line of a written, uncleared row whose every line's price is
        inside its interval (low < price <= high, as the tick tests it): its slopes hold at
        the current prices. None otherwise (`flip` and `reset` refuse such a row)."""
        if not (self._margin_view[row] < _INF and self._margin_view[self._capacity + row] < _INF):
            return None
        lines = self._lines_of(row)
        prices = self.prices
        columns = self.columns
        for index, at in lines:
            price: float = prices[index]
            low: float = columns[index].low[at]
            high: float = columns[index].high[at]
            if not (low < price <= high):
                return None
        return lines

    def flip(self, row: int, free_may_fall: bool) -> int:
        """Carry a crossing the floats prove: a written row with a margin at or below zero
        whose every figure has either provably kept its sign (margin > 0) or provably taken
        the other one. With `sign × estimate = margin + band`, the other sign's margin is

            flipped = −(margin + band) − band

        and if that is > 0 the exact figure has the other sign: the estimate is within
        `band` of it, so it lies strictly beyond zero (strictly: a figure at exactly zero
        counts as ≥ 0 and never proves a fall below). The flip writes that margin, the new
        sign in the record and the figure's slopes negated in every line of the row (they
        are stored with the sign applied), which is what anchoring the row with the other
        sign would have written for the same estimate: constants and band stay.

        Refused (returns FLIP_REFUSED; evaluate the row exactly) when a figure is
        undecided (neither margin > 0), when no figure flips, when the price of any of the
        row's lines is outside that line's interval (its slopes no longer hold), for a staged
        or cleared row, and when the free-collateral figure would fall below zero and not
        `free_may_fall` (a margin call: its event carries the exact figures). Otherwise
        returns FLIP_DONE, plus FLIP_HEALTH_NEGATIVE and FLIP_FREE_NEGATIVE for the signs
        the two figures have now. With the native kernel, a row in the packed index is done
        in C (`_native.flip_rows`, the same operations: the same bits)."""
        if row in self._staged:
            return FLIP_REFUSED
        if self.kernel_name == "native":
            flipped: int = _FLIP_ROWS_NATIVE(self._margin_view, self._record_view, self._line_count,
                                             self._line_oracle, self._line_slot, self._column_arrays, self.prices,
                                             [row], b"\x01" if free_may_fall else b"\x00", WIDTH)[0]
            if flipped == FLIP_NOT_AT_ZERO:
                return FLIP_REFUSED
            if flipped >= 0:
                return flipped
        return self._flip_in_python(row, free_may_fall)

    def flip_rows(self, rows: list[int], free_may_fall: bytes, carry: Carry | None = None) -> list[int]:
        """`flip` of each of `rows` at zero (`free_may_fall[i]` non-zero where row i's free
        collateral may fall), in order: a tick's candidates at once. A row with both margins
        positive has only left a tier interval: with `carry` (the tick's oracle, the price
        before the tick, and the tiers of the one market on that oracle) it is carried across
        the boundary here when its line there says what position it is (`carry`), else it
        gets FLIP_NOT_AT_ZERO. With the native kernel in one C call (`_native.flip_rows`: the
        screen's arrays acquired once for the batch, each column once), the rows it leaves
        (an overflow row) in Python; rows are independent, so the answers are those of
        `flip` and `carry` row by row."""
        if self.kernel_name == "native" and not self._staged:
            if carry is None:
                answers: list[int] = _FLIP_ROWS_NATIVE(self._margin_view, self._record_view, self._line_count,
                                                       self._line_oracle, self._line_slot, self._column_arrays,
                                                       self.prices, rows, free_may_fall, WIDTH)
            else:
                answers = _FLIP_ROWS_NATIVE(self._margin_view, self._record_view, self._line_count, self._line_oracle,
                                            self._line_slot, self._column_arrays, self.prices, rows, free_may_fall,
                                            WIDTH, carry[0], carry[1], carry[2], 1 + EDGE, 1 - EDGE, RELATIVE_BAND)
            for i, answer in enumerate(answers):
                if answer == -1:
                    row = rows[i]
                    if self.at_zero(row):
                        answers[i] = self._flip_in_python(row, bool(free_may_fall[i]))
                    else:
                        answers[i] = self.carry(row, carry) if carry is not None else FLIP_NOT_AT_ZERO
            return answers
        return [self.flip(row, bool(may_fall)) if self.at_zero(row)
                else self.carry(row, carry) if carry is not None else FLIP_NOT_AT_ZERO
                for row, may_fall in zip(rows, free_may_fall)]

    def carry(self, row: int, carry: Carry) -> int:
        """Carry a written row whose line in oracle `carry[0]` left its tier interval when the
        price moved from `carry[1]` to the current one (the tiers `carry[2]` are those of
        the one market on that oracle) into its new tier, from what the line says: its `size`
        (see `Line`). FLIP_RETIERED if carried (`retier`, with the line `position_line`
        builds for the new tier and the change of `cum`); FLIP_REFUSED (evaluate exactly) if
        the line is not one cross position's leg, if floats cannot place the notional in a
        tier at either price (`tier_at`), if the tier did not change, or if `retier`
        refuses; FLIP_NOT_AT_ZERO where the position's chosen leverage binds (its objects
        decide). The same operations as `_native.flip_rows` does for a row in the packed
        index."""
        oracle, previous, tiers = carry
        found = self._written_lines(row, oracle)
        if found is None or found[1] < 0:
            return FLIP_REFUSED
        size: float = self.columns[oracle].size[found[1]]
        if size != size or size == 0.0:  # NO_SIZE (a position is never of size 0)
            return FLIP_REFUSED
        if size == LEVERAGE_BINDS:
            return FLIP_NOT_AT_ZERO
        magnitude = size if size > 0 else -size
        old = tier_at(tiers, magnitude * previous)
        new = tier_at(tiers, magnitude * self.prices[oracle])
        if old is None or new is None or old == new:
            return FLIP_REFUSED
        mmr, low, high, _, leverage, cum = tiers[new]
        line = position_line(oracle, size, mmr, low, high, leverage, size)
        return FLIP_RETIERED if self._retier_in_python(row, oracle, line, cum - tiers[old][5]) else FLIP_REFUSED

    def _flip_in_python(self, row: int, free_may_fall: bool) -> int:
        """`flip`'s loop (the pure build, and the rows the C leaves)."""
        if row in self._staged:
            return FLIP_REFUSED
        lines = self._held_lines(row)
        if lines is None:
            return FLIP_REFUSED
        margins, record = self._margin_view, self._record_view
        cap = self._capacity
        base = 5 * row
        margin_h: float = margins[row]
        margin_f: float = margins[cap + row]
        columns = self.columns
        band: float = record[base + 4]
        sign_h: float = record[base + 2]
        sign_f: float = record[base + 3]
        flip_h = flip_f = False
        if not margin_h > 0.0:
            margin_h = -(margin_h + band) - band
            if not margin_h > 0.0:
                return FLIP_REFUSED
            flip_h = True
        if not margin_f > 0.0:
            margin_f = -(margin_f + band) - band
            if not margin_f > 0.0 or (sign_f > 0.0 and not free_may_fall):
                return FLIP_REFUSED
            flip_f = True
        if not (flip_h or flip_f):
            return FLIP_REFUSED
        for index, at in lines:
            column = columns[index]
            if flip_h:
                column.slope_h[at] = -column.slope_h[at]
            if flip_f:
                column.slope_f[at] = -column.slope_f[at]
        if flip_h:
            sign_h = -sign_h
            margins[row] = margin_h
            record[base + 2] = sign_h
        if flip_f:
            sign_f = -sign_f
            margins[cap + row] = margin_f
            record[base + 3] = sign_f
        return FLIP_DONE | (FLIP_HEALTH_NEGATIVE if sign_h < 0.0 else 0) | (FLIP_FREE_NEGATIVE if sign_f < 0.0 else 0)

    def reset(self, row: int, health: float, free: float, health_negative: bool, free_negative: bool, terms: int,
              quantum: float) -> bool:
        """Re-anchor a written row from an exact evaluation while keeping its lines: what
        `anchor` then `flush` would write for the same lines, without building them again.
        Valid when the lines are still what anchoring would build — nothing they depend on
        changed since they were written (a price tick moves no position, balance or
        leverage) and every line's price is inside its interval (no tier changed). Each
        line's slopes are read back unsigned (`sign × stored`, exact), summed in the row's
        order as `flush` sums them, and stored again with the new signs; the band is
        `flush`'s.

        Returns whether the row was written; False (anchor it instead) for a staged or
        cleared row and for a row with any line off its interval. With the native kernel, a
        row in the packed index is done in C (`_native.reset`, the same operations: the same
        bits)."""
        if row in self._staged:
            return False
        if self.kernel_name == "native":
            written: int = _RESET_NATIVE(self._margin_view, self._record_view, self._line_count, self._line_oracle,
                                         self._line_slot, self._column_arrays, self.prices, row, health, free,
                                         health_negative, free_negative, terms, quantum, RELATIVE_BAND, WIDTH)
            if written >= 0:
                return written == 1
        lines = self._held_lines(row)
        if lines is None:
            return False
        record = self._record_view
        prices = self.prices
        columns = self.columns
        old_h: float = record[5 * row + 2]
        old_f: float = record[5 * row + 3]
        sign_h = -1.0 if health_negative else 1.0
        sign_f = -1.0 if free_negative else 1.0
        moving_h = moving_f = spread = 0.0
        for index, at in lines:
            column = columns[index]
            stored_h: float = column.slope_h[at]
            stored_f: float = column.slope_f[at]
            s_h = old_h * stored_h
            s_f = old_f * stored_f
            column.slope_h[at] = sign_h * s_h
            column.slope_f[at] = sign_f * s_f
            price = prices[index]
            moving_h += s_h * price
            moving_f += s_f * price
            spread += abs(s_h) * price + abs(s_f) * price
        self._write_anchored(row, health, free, sign_h, sign_f, moving_h, moving_f, spread, terms, quantum)
        return True

    def shift(self, shifts: list[tuple[int, float, float]]) -> list[int]:
        """Move rows' health and free collateral by known amounts (a funding payment, say)
        and return the rows that become candidates. (In C where the screen's kernel is:
        a funding settlement shifts every holder's row.)"""
        self.flush()
        if self.kernel_name == "native":
            return kernels.shift_native(self.margins, self.record, shifts)
        cap = self._capacity
        margins, record = self._margin_view, self._record_view
        flagged = []
        for row, delta_h, delta_f in shifts:
            base = 5 * row
            record[base] += delta_h
            record[base + 1] += delta_f
            margins[row] += record[base + 2] * delta_h
            margins[cap + row] += record[base + 3] * delta_f
            if margins[row] <= 0.0 or margins[cap + row] <= 0.0:
                flagged.append(row)
        return flagged

    # -- price ticks ----------------------------------------------------------------------
    def set_price(self, index: int, price: float) -> None:
        """Record a price without moving rows (used before any row depends on it)."""
        self.flush()
        self.prices[index] = price

    def tick(self, index: int, price: float) -> np.ndarray:
        """Move the rows exposed to oracle `index` to `price`; return the candidate rows."""
        self.flush()
        delta = price - self.prices[index]
        self.prices[index] = price
        self._ticks += 1
        if self._ticks % REANCHOR_EVERY == 0:
            self.rebuild()
            return self.candidates(index)
        column = self.columns[index]
        if not len(column):
            return np.empty(0, dtype=np.int64)
        if self.kernel_name == "native":  # reads the columns' own arrays, no numpy views
            return kernels.tick_native(self.margins, column.rows, column.slope_h, column.slope_f, column.low,
                                       column.high, float(delta), float(price))
        rows, slope_h, slope_f, low, high = column.arrays()
        return self.kernel(self.margins, rows, slope_h, slope_f, low, high, float(delta), float(price))

    def candidates(self, index: int) -> np.ndarray:
        """The rows exposed to oracle `index` that are candidates at its current price."""
        self.flush()
        rows, _, _, low, high = self.columns[index].arrays()
        price = self.prices[index]
        margins = self.margins[:, rows]
        flagged = (margins.min(axis=0) <= 0.0) | (low >= price) | (high < price)
        return rows[flagged]

    def rebuild(self) -> None:
        """Recompute every margin from the constants (no accumulated error)."""
        self.flush()
        n = self._rows
        if self.kernel_name == "native":
            moving = kernels.moving_native([(column.rows, column.slope_h, column.slope_f, float(self.prices[index]))
                                            for index, column in enumerate(self.columns) if len(column)], n)
            kernels.margins_native(self.margins, self.record, moving, n)
            return
        columns = []
        for index, column in enumerate(self.columns):
            if len(column):
                rows, slope_h, slope_f, _, _ = column.arrays()
                columns.append((rows, slope_h, slope_f, float(self.prices[index])))
        if kernels.use_numba_for(self.kernel_name, sum(len(column[0]) for column in columns)):
            moving = kernels.moving_numba(columns, n)
            del columns  # the column views: a column may grow again
            kernels.margins_numba(self.margins, self.record, moving, n)
        else:
            moving = kernels.moving_numpy(columns, n)
            del columns
            kernels.margins_numpy(self.margins, self.record, moving, n)

    # -- reading (tests and diagnostics) ----------------------------------------------------
    def estimate(self, row: int) -> tuple[float, float]:
        """The float (health, free collateral) of a row at the current prices."""
        self.flush()
        const_h, const_f, sign_h, sign_f, _ = self.record[row]
        moving_h = moving_f = 0.0
        for index, slot in self._lines_of(row):
            column = self.columns[index]
            moving_h += column.slope_h[slot] * self.prices[index]
            moving_f += column.slope_f[slot] * self.prices[index]
        return float(const_h + sign_h * moving_h), float(const_f + sign_f * moving_f)


def tier_at(tiers: Sequence[TierFloats], notional: float) -> int | None:
    """The index of the tier a float `notional` is in; None within 1e-9 of a boundary, where
    floats cannot tell the tier the exact model would pick."""
    for index, (_, low, high, _, _, _) in enumerate(tiers):
        if notional <= high:
            if abs(notional - high) <= 1e-9 * notional or abs(notional - low) <= 1e-9 * notional:
                return None
            return index
    return None


def position_line(oracle: int, size: float, mmr: float, low: float, high: float, leverage: float,
                  fact: float) -> list:
    """A cross position's leg of its oracle's line in a tier (maintenance rate `mmr`,
    notional interval (low, high], the leverage that applies): health moves by
    q − |q| × mmr per unit of price, free collateral by q − |q| / leverage, while the price
    stays in (low / |q|, high / |q|]. `fact` is the line's size (see `Line`)."""
    magnitude = size if size > 0 else -size
    return [oracle, size - magnitude * mmr, size - magnitude / leverage, low / magnitude, high / magnitude, fact]
