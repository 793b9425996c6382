"""solvent.engine.collector: bulk loads and snapshot restores run with the cyclic garbage
collector paused, and leave it as they found it, on success and on refusal."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from decimal import Decimal, localcontext
from typing import Any

import msgspec
import pytest

from solvent.domain.errors import Rejection
from solvent.domain.numbers import ARITHMETIC
from solvent.engine.bulk import Holding, load_book
from solvent.engine.collector import collector_paused
from solvent.engine.snapshot import SnapshotError, _decode_and_restore, _document, restore, snapshot
from solvent.engine.views import state_document, state_hash

from .test_bulk import configured

D = Decimal


@pytest.fixture
def collector_on() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was_enabled else gc.disable()


def test_the_collector_is_off_inside_and_restored_after(collector_on):
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_load_book_reads_its_input_with_the_collector_off(collector_on):
    seen: list[bool] = []

    def holdings() -> Iterator[Holding]:
        for holding in (Holding.at("a", "BTC-PERP", D("1"), D("60000")), Holding.at("b", "BTC-PERP", D("-1"), D("60000"))):
            seen.append(gc.isenabled())
            yield holding

    load_book(configured(), [("a", "USDC", 10**12), ("b", "USDC", 10**12)], holdings())
    assert seen == [False, False]
    assert gc.isenabled()


def test_a_refused_load_turns_the_collector_back_on(collector_on):
    with pytest.raises(Rejection):
        load_book(configured(), [("a", "USDC", 1)], [Holding.at("a", "BTC-PERP", D("1"), D("60000"))])
    assert gc.isenabled()


def collections_in(work: Callable[[], Any]) -> tuple[int, Any]:
    """How many collections `work` runs with the collector's threshold at 1 (a collection on
    nearly every container allocation), and its result."""
    collections: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    threshold = gc.get_threshold()
    gc.callbacks.append(count)
    try:
        gc.set_threshold(1)
        result = work()
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(count)
    return len(collections), result


@pytest.fixture
def book():
    engine = configured()
    load_book(engine, [("a", "USDC", 10**12), ("b", "USDC", 10**12)],
              [Holding.at("a", "BTC-PERP", D("1"), D("60000")), Holding.at("b", "BTC-PERP", D("-1"), D("60000"))])
    return engine


def test_restore_runs_with_the_collector_paused(collector_on, book):
    """The unpaused restore (`_decode_and_restore`) runs over a hundred collections, `restore`
    only the few before its pause begins (4 when measured)."""
    data = snapshot(book)
    unpaused, plain = collections_in(lambda: _decode_and_restore(data))
    paused, restored = collections_in(lambda: restore(data))
    assert plain.state_hash() == restored.state_hash() == book.state_hash()
    assert paused * 4 < unpaused
    assert gc.isenabled()
    with pytest.raises(SnapshotError):
        restore(b"not json")
    assert gc.isenabled()


@pytest.mark.parametrize("unpaused, paused", [
    (lambda engine: msgspec.json.encode(_document(engine)), snapshot),
    (lambda engine: state_hash(engine.state), lambda engine: engine.state_hash()),
    (lambda engine: state_document(engine.state), lambda engine: engine.state_document()),
], ids=["snapshot", "state_hash", "state_document"])
def test_whole_state_walks_run_with_the_collector_paused(collector_on, book, unpaused, paused):
    with localcontext(ARITHMETIC):
        without, expected = collections_in(lambda: unpaused(book))
    within, result = collections_in(lambda: paused(book))
    assert result == expected
    assert within * 4 < without  # only the few collections before the pause begins
    assert gc.isenabled()
