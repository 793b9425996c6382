"""A float mirror of every risk unit's health and free collateral, moved by price ticks.

Each row is one risk unit (an account's cross part, or one isolated position). Within the
current tiers, health and free collateral are linear in each oracle price
(`solvent.margin.linear`):

    health_i = c_i + Σ_k slope_health[k, i] × price_k        (free collateral likewise)

A tick of oracle k moves every row by `slope[k] × Δprice` (a rank-1 update). A row is a
*candidate* for exact re-evaluation when, after the tick,

* its estimated health or free collateral lies within its tolerance band of zero, or on the
  other side of zero from the row's last exactly-known sign, or
* the price left the interval on which the row's tiers (and so its slopes) hold.

The band of a row is `1e-9 × (|c| + Σ |slope × price|) + (terms + 2)` quantums: the first part
bounds float error by orders of magnitude, the second the per-term rounding of the exact
model. So a row that is not a candidate provably kept the sign of both figures, and needs no
exact look. Every `REANCHOR_EVERY` ticks the float values are rebuilt from the constants to
stop error from accumulating.

Anchoring a row (after a trade, a deposit...) only stages it in a Python dict; staged rows
are written to the arrays in one vectorized batch before the next tick reads them. Between
two ticks of a busy market many accounts change, and one fancy-indexed write per array is
far cheaper than many scalar writes into numpy.

Storage is dense: (oracles × rows) matrices. That is right for thousands of rows; the
million-account sparse layout is issue #5's.
"""

from __future__ import annotations

import numpy as np

REANCHOR_EVERY = 4096
RELATIVE_BAND = 1e-9


class HealthScreen:
    def __init__(self, capacity: int = 1024, oracles: int = 4) -> None:
        self._rows = 0
        self._oracles = 0
        self._free_rows: list[int] = []
        self._ticks = 0
        self._staged: dict[int, tuple | None] = {}
        self._alloc(capacity, oracles)

    # -- storage --------------------------------------------------------------------------
    def _alloc(self, rows: int, oracles: int) -> None:
        if getattr(self, "_staged", None):
            self.flush()
        def grow(old, shape, fill):
            new = np.full(shape, fill, dtype=old.dtype if old is not None else np.float64)
            if old is not None:
                new[tuple(slice(0, n) for n in old.shape)] = old
            return new

        current = getattr(self, "health", None)
        self.health = grow(current, (rows,), 0.0)
        self.free = grow(getattr(self, "free", None), (rows,), 0.0)
        self.const_health = grow(getattr(self, "const_health", None), (rows,), 0.0)
        self.const_free = grow(getattr(self, "const_free", None), (rows,), 0.0)
        self.band = grow(getattr(self, "band", None), (rows,), 0.0)
        self.sign_health = grow(getattr(self, "sign_health", None), (rows,), 1.0)
        self.sign_free = grow(getattr(self, "sign_free", None), (rows,), 1.0)
        self.slope_health = grow(getattr(self, "slope_health", None), (oracles, rows), 0.0)
        self.slope_free = grow(getattr(self, "slope_free", None), (oracles, rows), 0.0)
        self.low = grow(getattr(self, "low", None), (oracles, rows), -np.inf)
        self.high = grow(getattr(self, "high", None), (oracles, rows), np.inf)
        exposed = getattr(self, "exposed", None)
        self.exposed = np.zeros((oracles, rows), dtype=bool)
        if exposed is not None:
            self.exposed[: exposed.shape[0], : exposed.shape[1]] = exposed
        self.prices = grow(getattr(self, "prices", None), (oracles,), 0.0)
        self._capacity = rows
        self._oracle_capacity = oracles

    def add_oracle(self) -> int:
        index = self._oracles
        self._oracles += 1
        if self._oracles > self._oracle_capacity:
            self._alloc(self._capacity, self._oracle_capacity * 2)
        return index

    def new_row(self) -> int:
        if self._free_rows:
            return self._free_rows.pop()
        row = self._rows
        self._rows += 1
        if self._rows > self._capacity:
            self._alloc(self._capacity * 2, self._oracle_capacity)
        return row

    def release_row(self, row: int) -> None:
        self.clear(row)
        self._free_rows.append(row)

    @property
    def rows(self) -> int:
        return self._rows

    # -- writing a row --------------------------------------------------------------------
    def clear(self, row: int) -> None:
        """Stage the row as exposed to nothing (it can never be a candidate)."""
        self._staged[row] = None

    def anchor(
        self,
        row: int,
        health: float,
        free: float,
        health_negative: bool,
        free_negative: bool,
        lines: list[tuple[int, float, float, float, float]],
        terms: int,
        quantum: float,
    ) -> None:
        """Stage a row from an exact evaluation: figures at the current prices, their known
        signs, and per oracle (index, slope_health, slope_free, low, high)."""
        self._staged[row] = (health, free, health_negative, free_negative, lines, terms, quantum)

    def flush(self) -> None:
        """Write every staged row into the arrays (a few vectorized writes in all)."""
        staged = self._staged
        if not staged:
            return
        prices = self.prices
        rows: list[int] = []
        health: list[float] = []
        free: list[float] = []
        const_h: list[float] = []
        const_f: list[float] = []
        sign_h: list[float] = []
        sign_f: list[float] = []
        band: list[float] = []
        line_oracle: list[int] = []
        line_row: list[int] = []
        line_values: list[tuple[float, float, float, float]] = []
        for row, entry in staged.items():
            rows.append(row)
            if entry is None:
                health.append(0.0), free.append(0.0), const_h.append(0.0), const_f.append(0.0)
                sign_h.append(1.0), sign_f.append(1.0), band.append(0.0)
                continue
            h, f, h_negative, f_negative, lines, terms, quantum = entry
            moving_h = moving_f = spread = 0.0
            for index, s_h, s_f, lo, hi in lines:
                line_oracle.append(index)
                line_row.append(row)
                line_values.append((s_h, s_f, lo, hi))
                price = prices[index]
                moving_h += s_h * price
                moving_f += s_f * price
                spread += abs(s_h * price) + abs(s_f * price)
            health.append(h)
            free.append(f)
            const_h.append(h - moving_h)
            const_f.append(f - moving_f)
            sign_h.append(-1.0 if h_negative else 1.0)
            sign_f.append(-1.0 if f_negative else 1.0)
            band.append(RELATIVE_BAND * (spread + abs(h) + abs(f)) + (terms + 2) * quantum)
        staged.clear()
        index = np.array(rows, dtype=np.int64)
        self.slope_health[:, index] = 0.0
        self.slope_free[:, index] = 0.0
        self.low[:, index] = -np.inf
        self.high[:, index] = np.inf
        self.exposed[:, index] = False
        self.health[index] = health
        self.free[index] = free
        self.const_health[index] = const_h
        self.const_free[index] = const_f
        self.sign_health[index] = sign_h
        self.sign_free[index] = sign_f
        self.band[index] = band
        if line_oracle:
            values = np.array(line_values)
            at = (np.array(line_oracle, dtype=np.int64), np.array(line_row, dtype=np.int64))
            self.slope_health[at] = values[:, 0]
            self.slope_free[at] = values[:, 1]
            self.low[at] = values[:, 2]
            self.high[at] = values[:, 3]
            self.exposed[at] = True

    # -- price ticks ----------------------------------------------------------------------
    def set_price(self, index: int, price: float) -> None:
        """Record a price without moving rows (used before any row depends on it)."""
        self.flush()
        self.prices[index] = price

    def tick(self, index: int, price: float) -> np.ndarray:
        """Move every row exposed to oracle `index` to `price`; return candidate rows."""
        self.flush()
        n = self._rows
        delta = price - self.prices[index]
        self.prices[index] = price
        self._ticks += 1
        if self._ticks % REANCHOR_EVERY == 0:
            self._rebuild()
        else:
            health = self.health[:n]
            free = self.free[:n]
            health += self.slope_health[index, :n] * delta
            free += self.slope_free[index, :n] * delta
        return self.candidates(index)

    def candidates(self, index: int) -> np.ndarray:
        n = self._rows
        band = self.band[:n]
        near = (self.health[:n] * self.sign_health[:n] <= band) | (self.free[:n] * self.sign_free[:n] <= band)
        price = self.prices[index]
        outside = (self.low[index, :n] >= price) | (self.high[index, :n] < price)
        return np.flatnonzero((near | outside) & self.exposed[index, :n])

    def _rebuild(self) -> None:
        n, k = self._rows, self._oracles
        prices = self.prices[:k]
        self.health[:n] = self.const_health[:n] + prices @ self.slope_health[:k, :n]
        self.free[:n] = self.const_free[:n] + prices @ self.slope_free[:k, :n]
