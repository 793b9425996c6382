"""The JournalStore contract, for every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from solvent.storage import StoreBusy, StoreError, open_store
from solvent.storage.records import GENESIS, make_record, make_snapshot


def _records(start: int, count: int, chain: bytes = GENESIS) -> list:
    out = []
    for seq in range(start, start + count):
        record = make_record(seq, chain, b'{"op":"time","ts":%d}' % seq, b'{"event":"x","seq":%d}\n' % seq)
        chain = record.chain
        out.append(record)
    return out


def test_empty_store(target: str) -> None:
    store = open_store(target)
    try:
        assert store.length() == 0
        assert store.record(0) is None
        assert list(store.records()) == []
        assert store.snapshot_seqs() == []
    finally:
        store.close()


def test_append_and_read_back_in_order(target: str) -> None:
    store = open_store(target)
    try:
        first = _records(0, 10)
        store.append(first)
        second = _records(10, 5, first[-1].chain)
        store.append(second)
        assert store.length() == 15
        assert list(store.records()) == first + second
        assert list(store.records(3, 7)) == (first + second)[3:7]
        assert store.record(12) == second[2]
    finally:
        store.close()
    reopened = open_store(target)
    try:
        assert list(reopened.records()) == first + second
    finally:
        reopened.close()


def test_append_must_continue_at_the_end(target: str) -> None:
    store = open_store(target)
    try:
        store.append(_records(0, 3))
        with pytest.raises(StoreError, match="another writer"):
            store.append(_records(1, 3))
        with pytest.raises(StoreError):
            store.append(_records(5, 1))
        assert store.length() == 3  # the refused batches left nothing
    finally:
        store.close()


def test_snapshots_are_kept_newest_first_and_pruned(target: str) -> None:
    store = open_store(target)
    try:
        records = _records(0, 40)
        for block in range(4):
            part = records[block * 10:(block + 1) * 10]
            snap = make_snapshot(part[-1].seq + 1, part[-1].chain, b"state %d" % block, f"h{block}")
            store.append(part, snap, keep_snapshots=2)
        assert store.snapshot_seqs() == [40, 30]
        snap = store.snapshot(40)
        assert snap is not None and snap.state == b"state 3" and snap.state_hash == "h3"
        assert store.snapshot(10) is None
        store.delete_snapshot(30)
        assert store.snapshot_seqs() == [40]
    finally:
        store.close()


def test_truncate_drops_the_tail_and_later_snapshots(target: str) -> None:
    store = open_store(target)
    try:
        records = _records(0, 20)
        store.append(records[:10], make_snapshot(10, records[9].chain, b"a", "ha"))
        store.append(records[10:], make_snapshot(20, records[19].chain, b"b", "hb"))
        assert store.truncate(15) == 5
        assert store.length() == 15
        assert store.snapshot_seqs() == [10]
        store.append(records[15:])  # and it continues where it was cut
        assert list(store.records()) == records
    finally:
        store.close()


def test_one_writer_at_a_time(target: str) -> None:
    first, second = open_store(target), open_store(target)
    try:
        first.lock_writer()
        with pytest.raises(StoreBusy):
            second.lock_writer()
        assert second.length() == 0  # readers are not blocked
    finally:
        first.close()
    try:
        second.lock_writer()  # released with the first store
    finally:
        second.close()


def test_sqlite_reader_does_not_create_a_missing_file(tmp_path) -> None:
    with pytest.raises(StoreError, match="no such journal"):
        open_store(str(tmp_path / "absent.db"), create=False)
    assert not (tmp_path / "absent.db").exists()


def test_a_file_that_is_not_a_database_is_refused(tmp_path) -> None:
    path = tmp_path / "text.db"
    path.write_text("hello, this is not SQLite\n" * 100)
    with pytest.raises(StoreError, match="not a usable journal"):
        open_store(str(path))
