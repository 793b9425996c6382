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
        self._alloc(capacity, oracles)

    # -- storage --------------------------------------------------------------------------
    def _alloc(self, rows: int, oracles: int) -> None:
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
        self.slope_health[:, row] = 0.0
        self.slope_free[:, row] = 0.0
        self.low[:, row] = -np.inf
        self.high[:, row] = np.inf
        self.exposed[:, row] = False
        self.health[row] = self.free[row] = 0.0
        self.const_health[row] = self.const_free[row] = 0.0
        self.sign_health[row] = self.sign_free[row] = 1.0
        self.band[row] = 0.0

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
        """Set a row from an exact evaluation: figures at the current prices, their known
        signs, and per oracle (index, slope_health, slope_free, low, high)."""
        self.clear(row)
        prices = self.prices
        moving_h = moving_f = scale = 0.0
        for index, slope_h, slope_f, low, high in lines:
            self.slope_health[index, row] = slope_h
            self.slope_free[index, row] = slope_f
            self.low[index, row] = low
            self.high[index, row] = high
            self.exposed[index, row] = True
            price = prices[index]
            moving_h += slope_h * price
            moving_f += slope_f * price
            scale += abs(slope_h * price) + abs(slope_f * price)
        self.health[row] = health
        self.free[row] = free
        self.const_health[row] = health - moving_h
        self.const_free[row] = free - moving_f
        self.sign_health[row] = -1.0 if health_negative else 1.0
        self.sign_free[row] = -1.0 if free_negative else 1.0
        self.band[row] = RELATIVE_BAND * (scale + abs(health) + abs(free)) + (terms + 2) * quantum

    # -- price ticks ----------------------------------------------------------------------
    def set_price(self, index: int, price: float) -> None:
        """Record a price without moving rows (used before any row depends on it)."""
        self.prices[index] = price

    def tick(self, index: int, price: float) -> np.ndarray:
        """Move every row exposed to oracle `index` to `price`; return candidate rows."""
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
