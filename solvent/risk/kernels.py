"""The hot loops of the screen, over plain arrays: numpy always, numba when installed.

    tick(margins, rows, slope_h, slope_f, low, high, delta, price) -> candidate rows

For every line i of one oracle's column (row `rows[i]`): add `slope × delta` to the row's two
safety margins, and report the row when a margin is ≤ 0 or `price` left (low, high].

    moving_numpy | moving_numba (columns, rows) -> moving[2, rows]
    margins_numpy | margins_numba (margins, record, moving, rows)

For a full re-anchor: per row, Σ over its lines of `slope × price` (health, free collateral),
summed line by line in column order; then each margin = sign × constant + moving − band.
numpy gathers every column into one array and uses `bincount`, which adds its weights in
input order; the numba loop scatters column by column in the same order: the same products,
summed in the same order, so the same bits.

A third kernel, *native*, is the same loops in C (`_native.c`), built only with the
compiled build (`tools/install-compiled.sh`). It takes the screen's `array.array` columns as
they are (no numpy views) and has no compile step at run time, so unlike numba it pays off
on small columns too: a tick of 1,300 lines costs about a tenth of the numpy kernel's
instructions (docs/PERFORMANCE.md). Its full re-anchor scatters a block of rows at a time
(`moving_native`): for each block, every column's lines there, column after column, so each
row still receives its terms in column order while the block's sums stay in the cache
(column by column, each line was a cache line of `moving` fetched from memory). It also has the screen's per-row work in C: writing
staged rows (`flush_native`), carrying a row across a tier boundary and restating a trade
side's row (`_native.retier`, `_native.restate`, called by `HealthScreen` directly through
`native_function`), a tick's candidates flipped or carried across their tiers at once
(`_native.flip_rows`), each the Python method's operations in the same order. Its large
loops run in `SCREEN_THREADS` threads at once, each over a consecutive part: a tick's lines
(a column's rows are distinct, so the threads write disjoint margins, and the candidates come
out in column order as from one thread), a full re-anchor's blocks of rows, and its margins
row by row — the same bits whatever the count.

Every kernel does the same IEEE operations in the same order (a product, then a sum; numba
compiles without fast-math and the C is built with -ffp-contract=off, so nothing is fused or
reordered) and reports candidates in column order: their results are identical, bit for
bit, and a test checks it. `pip install solvent[fast]` adds numba; `SOLVENT_KERNEL=numpy`
(or `numba`, `native`) forces a kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float], np.ndarray]


def tick_numpy(margins: np.ndarray, rows: np.ndarray, slope_h: np.ndarray, slope_f: np.ndarray,
               low: np.ndarray, high: np.ndarray, delta: float, price: float) -> np.ndarray:
    health = margins[0].take(rows)
    free = margins[1].take(rows)
    if delta:
        health += slope_h * delta
        free += slope_f * delta
        margins[0][rows] = health  # (indexed assignment: twice as fast as `put` here)
        margins[1][rows] = free
    flagged = np.minimum(health, free) <= 0.0
    flagged |= low >= price
    flagged |= high < price
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


def moving_numpy(columns: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]], rows: int) -> np.ndarray:
    """[2, rows]: per row, Σ slope_health × price and Σ slope_free × price over `columns`
    ((rows, slope_h, slope_f, price) each)."""
    moving = np.zeros((2, rows))
    if columns:
        index = np.concatenate([column[0] for column in columns])
        for figure in (0, 1):
            weights = np.concatenate([column[1 + figure] * column[3] for column in columns])
            moving[figure] = np.bincount(index, weights=weights, minlength=rows)
    return moving


def _scatter_loop(moving, rows, slope_h, slope_f, price):  # pragma: no cover - compiled
    for i in range(rows.shape[0]):
        row = rows[i]
        moving[row, 0] += slope_h[i] * price
        moving[row, 1] += slope_f[i] * price


def moving_numba(columns: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]], rows: int) -> np.ndarray:
    """As `moving_numpy`, laid out [rows, 2] (a row's two sums side by side: one cache line
    per scattered line instead of two)."""
    scatter = _numba_loops()[0]
    moving = np.zeros((rows, 2))
    for column_rows, slope_h, slope_f, price in columns:
        scatter(moving, column_rows, slope_h, slope_f, price)
    return moving


def use_numba_for(kernel_name: str, lines: int) -> bool:
    """Whether a screen with kernel `kernel_name` runs a loop over `lines` lines in numba."""
    return kernel_name == "numba" and (_forced_numba() or lines >= NUMBA_FROM)


def margins_numpy(margins: np.ndarray, record: np.ndarray, moving: np.ndarray, rows: int) -> None:
    """margin = sign × constant + moving − band, per figure, for every row holding one
    (a finite health margin); the others stay infinite. `record` columns: CONST_H, CONST_F,
    SIGN_H, SIGN_F, BAND."""
    present = np.isfinite(margins[0, :rows])
    record = record[:rows]
    for figure in (0, 1):
        value = record[:, 2 + figure] * record[:, figure] + moving[figure, :rows]
        margins[figure, :rows] = np.where(present, value - record[:, 4], np.inf)


def _margins_loop(margins, record, moving, rows):  # pragma: no cover - compiled
    for row in range(rows):
        if np.isfinite(margins[0, row]):
            band = record[row, 4]
            margins[0, row] = (record[row, 2] * record[row, 0] + moving[row, 0]) - band
            margins[1, row] = (record[row, 3] * record[row, 1] + moving[row, 1]) - band
        else:
            margins[1, row] = np.inf


def margins_numba(margins: np.ndarray, record: np.ndarray, moving: np.ndarray, rows: int) -> None:
    """As `margins_numpy`, with `moving` laid out as `moving_numba` gives it ([rows, 2])."""
    _numba_loops()[1](margins, record, moving, rows)


#: Columns shorter than this stay on numpy: numba's import and first compile (about a
#: second) only pay off on large books, and small runs (a CLI replay, the demo) skip them.
NUMBA_FROM = 20_000

_compiled: list[Kernel | None] = []
_compiled_rebuild: list = []


def _numba_loops() -> tuple:
    """The compiled loops of a full re-anchor (scatter, margins), loaded once (numba must be
    installed)."""
    if not _compiled_rebuild:
        import numba

        compile_ = numba.njit(cache=False, fastmath=False, nogil=True)
        _compiled_rebuild.append((compile_(_scatter_loop), compile_(_margins_loop)))
    return _compiled_rebuild[0]


def _forced_numba() -> bool:
    return os.environ.get("SOLVENT_KERNEL", "") == "numba"


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


def _load_native() -> Any:
    """The C loops (`_native.c`), or None when this install was not built with them."""
    try:
        from . import _native  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _native


#: loaded once (an import statement per tick cost more than the tick's loop)
_NATIVE = _load_native()


def _screen_threads() -> int:
    """`SOLVENT_SCREEN_THREADS` (default 2, this project's machine's cores): how many threads
    the C kernel's large loops run in — a tick's lines (each thread given at least 65,536 of
    them: a smaller column is moved by one), a full re-anchor's blocks of rows and margins.
    The results do not depend on it."""
    text = os.environ.get("SOLVENT_SCREEN_THREADS", "2")
    try:
        return max(1, min(8, int(text)))
    except ValueError:
        return 2


SCREEN_THREADS = _screen_threads()
#: the candidates of a tick that has none (most ticks): one read-only empty array
_NO_ROWS = np.empty(0, dtype=np.int64)
_NO_ROWS.flags.writeable = False


def native_available() -> bool:
    return _NATIVE is not None


def tick_native(margins: np.ndarray, rows: Any, slope_h: Any, slope_f: Any, low: Any, high: Any,
                delta: float, price: float) -> np.ndarray:
    """The tick in C, in `SCREEN_THREADS` threads for a large column. The line arrays may be numpy
    arrays or the columns' own `array.array`s."""
    found = _NATIVE.tick(margins, rows, slope_h, slope_f, low, high, delta, price, SCREEN_THREADS)
    return np.array(found, dtype=np.int64) if found else _NO_ROWS


#: rows of `moving` a full re-anchor's C scatter fills at a time: 16,384 rows of two floats
#: are 256 KB, which stay in a core's cache while every column's lines for them go by
SCATTER_BLOCK_ROWS = 16_384


def moving_native(columns: list[tuple[Any, Any, Any, float]], rows: int,
                  block_rows: int = SCATTER_BLOCK_ROWS, threads: int | None = None) -> np.ndarray:
    """As `moving_numba` ([rows, 2]), in C, a block of `block_rows` rows at a time (the same
    sums in the same order: `_native.scatter_columns`), the blocks shared out among `threads`
    (default `SCREEN_THREADS`); the line arrays may be `array.array`s."""
    moving = np.zeros((rows, 2))
    _NATIVE.scatter_columns(moving, list(columns), block_rows, SCREEN_THREADS if threads is None else threads)
    return moving


def margins_native(margins: np.ndarray, record: np.ndarray, moving: np.ndarray, rows: int,
                   threads: int | None = None) -> None:
    """As `margins_numba`, in C, the rows shared out among `threads` (default `SCREEN_THREADS`)."""
    _NATIVE.margins(margins, record, moving, rows, SCREEN_THREADS if threads is None else threads)


def shift_native(margins: np.ndarray, record: np.ndarray, shifts: list[tuple[int, float, float]]) -> list[int]:
    """`HealthScreen.shift`'s loop in C: per (row, delta_h, delta_f), in order, constant +=
    delta and margin += sign × delta; returns the rows then at or below zero."""
    return _NATIVE.shift(margins, record, shifts)


def flush_native(screen: Any, staged: dict, width: int, low_factor: float, high_factor: float,
                 relative_band: float) -> list[int]:
    """`HealthScreen.flush`'s common case in C: writes every staged row whose lines are in
    exactly the oracles it already has lines in (an overflow row's: in the same order too),
    and returns the other rows, in staged order, for the Python loop (the same operations,
    so the same bits either way)."""
    return _NATIVE.flush(screen.margins, screen.record, screen._line_count, screen._line_oracle, screen._line_slot,
                         screen._overflow, screen._column_arrays, screen.prices, staged, width, low_factor, high_factor,
                         relative_band)


def native_function(name: str) -> Any:
    """The C function `name` of `_native.c` (None without the C kernels), for a caller that
    calls it per row, where a Python-level wrapper would cost more than the function (the
    screen's `retier` and `restate`)."""
    return getattr(_NATIVE, name, None) if _NATIVE is not None else None


def select(name: str | None = None) -> tuple[str, Kernel]:
    """The kernel to use: `name` ("native", "numba" or "numpy"), else `SOLVENT_KERNEL`, else
    native when this install has it, else numba when it is installed (for columns of
    `NUMBA_FROM` lines and more), else numpy."""
    wanted = name or os.environ.get("SOLVENT_KERNEL", "")
    if wanted == "numpy":
        return "numpy", tick_numpy
    if wanted == "native" or (not wanted and native_available()):
        if not native_available():
            raise RuntimeError("SOLVENT_KERNEL=native but this install has no C kernels (tools/install-compiled.sh builds them)")
        return "native", tick_native
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
