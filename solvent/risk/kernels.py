"""The hot loop of a price tick, over plain arrays: numpy always, numba when installed.

    tick(margins, rows, slope_h, slope_f, low, high, delta, price) -> candidate rows

For every line i of one oracle's column (row `rows[i]`): add `slope × delta` to the row's two
safety margins, and report the row when a margin is ≤ 0 or `price` left (low, high].

Both kernels do the same IEEE operations in the same order (a product, then a sum; numba
compiles without fast-math, so nothing is fused or reordered) and report candidates in column
order: their results are identical, bit for bit, and a test checks it. `pip install
solvent[fast]` adds numba; `SOLVENT_KERNEL=numpy` forces the numpy kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float], np.ndarray]


def tick_numpy(margins: np.ndarray, rows: np.ndarray, slope_h: np.ndarray, slope_f: np.ndarray,
               low: np.ndarray, high: np.ndarray, delta: float, price: float) -> np.ndarray:
    health = margins[0, rows]
    free = margins[1, rows]
    if delta:
        health += slope_h * delta
        free += slope_f * delta
        margins[0, rows] = health
        margins[1, rows] = free
    flagged = (health <= 0.0) | (free <= 0.0) | (low >= price) | (high < price)
    return rows[flagged]


def _tick_loop(margins, rows, slope_h, slope_f, low, high, delta, price):  # pragma: no cover - compiled
    out = np.empty(rows.shape[0], np.int64)
    found = 0
    for i in range(rows.shape[0]):
        row = rows[i]
        health = margins[0, row]
        free = margins[1, row]
        if delta != 0.0:
            health = health + slope_h[i] * delta
            free = free + slope_f[i] * delta
            margins[0, row] = health
            margins[1, row] = free
        if health <= 0.0 or free <= 0.0 or low[i] >= price or high[i] < price:
            out[found] = row
            found += 1
    return out[:found]


#: Columns shorter than this stay on numpy: numba's import and first compile (about a
#: second) only pay off on large books, and small runs (a CLI replay, the demo) skip them.
NUMBA_FROM = 20_000

_compiled: list[Kernel | None] = []


def _numba_kernel() -> Kernel | None:
    """The compiled kernel, loaded once; None without numba."""
    if not _compiled:
        try:
            import numba
        except ImportError:
            _compiled.append(None)
        else:
            _compiled.append(numba.njit(cache=False, fastmath=False, nogil=True)(_tick_loop))
    return _compiled[0]


def numba_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def select(name: str | None = None) -> tuple[str, Kernel]:
    """The kernel to use: `name` ("numba" or "numpy"), else `SOLVENT_KERNEL`, else numba
    when it is installed (for columns of `NUMBA_FROM` lines and more), else numpy."""
    wanted = name or os.environ.get("SOLVENT_KERNEL", "")
    if wanted == "numpy":
        return "numpy", tick_numpy
    if not numba_available():
        if wanted == "numba":
            raise RuntimeError("SOLVENT_KERNEL=numba but numba is not installed (pip install solvent[fast])")
        return "numpy", tick_numpy
    if wanted == "numba":
        return "numba", _always_numba
    return "numba", _numba_when_large


def _always_numba(margins, rows, slope_h, slope_f, low, high, delta, price):
    kernel = _numba_kernel()
    assert kernel is not None
    return kernel(margins, rows, slope_h, slope_f, low, high, delta, price)


def _numba_when_large(margins, rows, slope_h, slope_f, low, high, delta, price):
    if rows.shape[0] < NUMBA_FROM:
        return tick_numpy(margins, rows, slope_h, slope_f, low, high, delta, price)
    return _always_numba(margins, rows, slope_h, slope_f, low, high, delta, price)
