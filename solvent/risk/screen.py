"""A float mirror of every risk unit's health and free collateral, moved by price ticks.

Each row is one risk unit (an account's cross part, or one isolated position). Within the
current tiers, health and free collateral are linear in each oracle price
(`solvent.margin.linear`):

    health_i = c_i + Σ_k slope_health[i, k] × price_k        (free collateral likewise)

The screen does not keep health itself but its *safety margin*:

    margin_health_i = sign_i × health_i − band_i

where `sign_i` is the sign (±1) the exact model last gave and `band_i` bounds every error
the float figure can carry. While the margin is positive the true health provably has the
sign last seen. A tick of oracle k adds `sign × slope[:, k] × Δprice` to every row (a rank-1
update); a row is a *candidate* for exact re-evaluation when a margin is ≤ 0 or the price
left the interval on which the row's tiers (and so its slopes) hold.

`band_i = 1e-9 × (|c| + Σ |slope × price|) + (terms + 2)` quantums: the first part exceeds
float error by orders of magnitude, the second covers the exact model's per-term rounding.
Every `REANCHOR_EVERY` ticks the margins are rebuilt from the constants so that error cannot
accumulate.

Anchoring a row (after a trade, a deposit...) only stages it in a Python dict; staged rows
are written in one batch (a few fancy-indexed writes) before the next tick reads them. What
a tick reads is contiguous per oracle. Storage is dense (oracles × rows), which suits
thousands of rows; the million-account sparse layout is issue #5's.
"""

from __future__ import annotations

from array import array

import numpy as np

REANCHOR_EVERY = 4096
RELATIVE_BAND = 1e-9
#: Tier intervals are shrunk by this relative amount, so that a price on a boundary is a candidate.
EDGE = 1e-12
_INF = float("inf")

Line = tuple[int, float, float, float, float]  # (oracle index, slope_health, slope_free, low, high)


# Columns of the per-row record (read on re-anchoring, not on ticks).
CONST_H, CONST_F, SIGN_H, SIGN_F, BAND = range(5)
_EMPTY_RECORD = (0.0, 0.0, 1.0, 1.0, 0.0)
_EMPTY_RECORD_VIEW = memoryview(array("d", _EMPTY_RECORD))


class HealthScreen:
    """Rows of risk units.

    Hot, contiguous per oracle k (what a tick reads):
      `margins[0|1, row]`            safety margins of health and free collateral
      `slopes[k, 0|1, row]`          sign × slope of health / free collateral in price k
      `bounds[k, 0|1, row]`          the price interval (low, high] on which those slopes hold
    Cold, per row: `record[row]` = (const_h, const_f, sign_h, sign_f, band).
    """

    margins: np.ndarray
    slopes: np.ndarray
    bounds: np.ndarray
    record: np.ndarray
    prices: np.ndarray
    _views: tuple[memoryview[float], ...]

    def __init__(self, capacity: int = 1024, oracles: int = 4) -> None:
        self._rows = 0
        self._oracles = 0
        self._free_rows: list[int] = []
        self._ticks = 0
        self._staged: dict[int, tuple | None] = {}
        self._allocate(max(capacity, 1), max(oracles, 1))

    # -- storage --------------------------------------------------------------------------
    def _allocate(self, rows: int, oracles: int) -> None:
        old = self.__dict__.get("record")
        if old is not None:
            self.flush()
        margins = np.full((2, rows), _INF)
        slopes = np.zeros((oracles, 2, rows))
        bounds = np.empty((oracles, 2, rows))
        bounds[:, 0] = -_INF
        bounds[:, 1] = _INF
        record = np.tile(np.array(_EMPTY_RECORD), (rows, 1))
        prices = np.zeros(oracles)
        if old is not None:
            n, k = self.record.shape[0], self.slopes.shape[0]
            margins[:, :n] = self.margins
            slopes[:k, :, :n] = self.slopes
            bounds[:k, :, :n] = self.bounds
            record[:n] = self.record
            prices[:k] = self.prices
        self.margins, self.slopes, self.bounds, self.record, self.prices = margins, slopes, bounds, record, prices
        #: flat float views of the arrays, for cheap scalar writes (rebuilt with the arrays)
        self._views = tuple(a.data.cast("B").cast("d") for a in (slopes, bounds, margins, record))

    def add_oracle(self) -> int:
        index = self._oracles
        self._oracles += 1
        if self._oracles > self.slopes.shape[0]:
            self._allocate(self.record.shape[0], self.slopes.shape[0] * 2)
        return index

    def new_row(self) -> int:
        if self._free_rows:
            return self._free_rows.pop()
        row = self._rows
        self._rows += 1
        if self._rows > self.record.shape[0]:
            self._allocate(self.record.shape[0] * 2, self.slopes.shape[0])
        return row

    def release_row(self, row: int) -> None:
        self.clear(row)
        self._free_rows.append(row)

    @property
    def rows(self) -> int:
        return self._rows

    # -- writing rows ---------------------------------------------------------------------
    def clear(self, row: int) -> None:
        """Stage the row as holding nothing at risk: it is never a candidate."""
        self._staged[row] = None

    def anchor(self, row: int, health: float, free: float, health_negative: bool, free_negative: bool,
               lines: list[Line], terms: int, quantum: float) -> None:
        """Stage a row from an exact evaluation: its figures at the current prices, the signs
        the exact model gave them, and one line per oracle it depends on."""
        self._staged[row] = (health, free, health_negative, free_negative, lines, terms, quantum)

    def flush(self) -> None:
        """Write every staged row into the arrays.

        Writes go through flat memoryviews of the arrays: a plain buffer store costs ~50 ns,
        a numpy call several µs, and a tick typically finds only a handful of staged rows."""
        staged = self._staged
        if not staged:
            return
        prices = self.prices.tolist()
        cap = self.record.shape[0]
        oracles = self.slopes.shape[0]
        slopes, bounds, margins, record = self._views
        for row, entry in staged.items():
            for k in range(oracles):
                at = 2 * k * cap + row
                slopes[at] = slopes[at + cap] = 0.0
                bounds[at] = -_INF
                bounds[at + cap] = _INF
            base = 5 * row
            if entry is None:
                margins[row] = margins[cap + row] = _INF
                record[base:base + 5] = _EMPTY_RECORD_VIEW
                continue
            health, free, h_negative, f_negative, lines, terms, quantum = entry
            sign_h = -1.0 if h_negative else 1.0
            sign_f = -1.0 if f_negative else 1.0
            moving_h = moving_f = spread = 0.0
            for index, s_h, s_f, lo, hi in lines:
                at = 2 * index * cap + row
                slopes[at] = sign_h * s_h
                slopes[at + cap] = sign_f * s_f
                bounds[at] = lo * (1 + EDGE) if lo > 0 else lo
                bounds[at + cap] = hi * (1 - EDGE)
                price = prices[index]
                moving_h += s_h * price
                moving_f += s_f * price
                spread += abs(s_h) * price + abs(s_f) * price
            band = RELATIVE_BAND * (spread + abs(health) + abs(free)) + (terms + 2) * quantum
            margins[row] = sign_h * health - band
            margins[cap + row] = sign_f * free - band
            record[base] = health - moving_h
            record[base + 1] = free - moving_f
            record[base + 2] = sign_h
            record[base + 3] = sign_f
            record[base + 4] = band
        staged.clear()

    def shift(self, shifts: list[tuple[int, float, float]]) -> list[int]:
        """Move rows' health and free collateral by known amounts (a funding payment, say)
        and return the rows that become candidates."""
        self.flush()
        cap = self.record.shape[0]
        _, _, margins, record = self._views
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
        """Move every row to oracle `index` at `price`; return the candidate rows."""
        self.flush()
        n = self._rows
        delta = price - self.prices[index]
        self.prices[index] = price
        self._ticks += 1
        if self._ticks % REANCHOR_EVERY == 0:
            self.rebuild()
        elif delta:
            self.margins[:, :n] += self.slopes[index, :, :n] * delta
        return self.candidates(index)

    def candidates(self, index: int) -> np.ndarray:
        n = self._rows
        price = self.prices[index]
        bounds = self.bounds[index, :, :n]
        flagged = self.margins[:, :n].min(axis=0) <= 0.0
        flagged |= bounds[0] >= price
        flagged |= bounds[1] < price
        return np.flatnonzero(flagged)

    def rebuild(self) -> None:
        """Recompute every margin from the constants (no accumulated error)."""
        n = self._rows
        record = self.record[:n]
        present = np.isfinite(self.margins[0, :n])
        for figure, (const, sign) in enumerate(((CONST_H, SIGN_H), (CONST_F, SIGN_F))):
            signed = np.tensordot(self.prices, self.slopes[:, figure, :n], axes=1)  # = sign × Σ slope × price
            value = record[:, sign] * record[:, const] + signed  # = sign × figure
            self.margins[figure, :n] = np.where(present, value - record[:, BAND], _INF)

    # -- reading (tests and diagnostics) ----------------------------------------------------
    def estimate(self, row: int) -> tuple[float, float]:
        """The float (health, free collateral) of a row at the current prices."""
        self.flush()
        const_h, const_f, sign_h, sign_f, _ = self.record[row]
        return (
            float(const_h + sign_h * (self.slopes[:, 0, row] @ self.prices)),
            float(const_f + sign_f * (self.slopes[:, 1, row] @ self.prices)),
        )
