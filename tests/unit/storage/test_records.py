"""Record and snapshot hashes: any flipped byte is found, and where."""

from __future__ import annotations

from solvent.storage.records import (
    GENESIS,
    Record,
    chain_after,
    make_record,
    make_snapshot,
    record_problem,
    snapshot_problem,
)


def test_a_record_follows_its_predecessor() -> None:
    first = make_record(0, GENESIS, b"a", b"e\n")
    second = make_record(1, first.chain, b"b", b"")
    assert record_problem(first, 0, GENESIS) is None
    assert record_problem(second, 1, first.chain) is None
    assert second.chain == chain_after(chain_after(GENESIS, b"a"), b"b")


def test_every_flipped_byte_is_detected() -> None:
    record = make_record(7, GENESIS, b'{"op":"deposit"}', b'{"event":"rejected","seq":7}\n')
    for field in ("command", "events", "chain", "checksum"):
        value = getattr(record, field)
        for at in range(len(value)):
            damaged = record._replace(**{field: value[:at] + bytes([value[at] ^ 1]) + value[at + 1:]})
            assert record_problem(damaged, 7, GENESIS) is not None, (field, at)


def test_gaps_and_wrong_order_are_detected() -> None:
    first = make_record(0, GENESIS, b"a", b"")
    assert "expected record 1" in (record_problem(first, 1, GENESIS) or "")
    other = make_record(1, chain_after(GENESIS, b"x"), b"b", b"")
    assert "chain mismatch" in (record_problem(other, 1, first.chain) or "")


def test_a_snapshot_is_tied_to_its_position_in_the_stream() -> None:
    chain = chain_after(GENESIS, b"a")
    snap = make_snapshot(1, chain, b"{}", "hash")
    assert snapshot_problem(snap, chain) is None
    assert snapshot_problem(snap, GENESIS) is not None
    assert snapshot_problem(snap._replace(state=b"{ }"), chain) is not None
    assert snapshot_problem(snap._replace(state_hash="other"), chain) is not None
    assert isinstance(make_record(0, GENESIS, b"", b""), Record)
