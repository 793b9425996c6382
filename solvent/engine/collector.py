"""Whole-book work with CPython's cyclic garbage collector paused.

Loading a book, restoring or writing a snapshot, hashing the state and building the state
document each allocate millions of objects at a large book (positions, decimals, dicts,
the lists of a document). The collector runs after every 700 net container allocations,
and its older generations walk the whole growing heap again and again. Measured at 200,000
accounts, compiled (docs/PERFORMANCE.md, "Whole-book work"): `load_book` 12.6 → 7.8 s,
`snapshot` 11.3 → 1.2 s, `state_hash` 4.1 → 1.5 s, `restore` 12.4 → 5.3 s. Pausing loses
nothing: objects are still freed by reference counting as usual, and a garbage cycle made
meanwhile is collected by the first collection after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it afterwards, on success or
    error, if (and only if) it was enabled before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
