"""Recovery, verification and corruption, for every backend: the state rebuilt from the
newest good snapshot plus the tail equals the uninterrupted run's; damaged snapshots are
skipped; a damaged tail record ends the good prefix; `verify` names the first problem."""

from __future__ import annotations

import io

import msgspec
import pytest

from solvent.cli.durable import JournalMismatch, durable_replay
from solvent.engine.snapshot import snapshot
from solvent.storage import JournalSettings, open_store, recover, verify

from .helpers import damage_record, damage_snapshot, execute, journal, stream, uninterrupted

LINES = stream()


@pytest.fixture(scope="module")
def expected():
    return uninterrupted(LINES)


def _recover(target: str, **options):
    store = open_store(target)
    try:
        return recover(store, **options)
    finally:
        store.close()


def _verify(target: str):
    store = open_store(target)
    try:
        return verify(store)
    finally:
        store.close()


def test_journal_holds_every_command_and_its_events(target: str, expected) -> None:
    engine = journal(target, LINES)
    reference, events = expected
    assert engine.state_hash() == reference.state_hash()
    rows = execute(target, "SELECT seq, command, events FROM journal ORDER BY seq")
    assert [r[0] for r in rows] == list(range(len(LINES)))
    assert [bytes(r[1]) for r in rows] == LINES
    assert b"".join(bytes(r[2]) for r in rows) == events
    seqs = [r[0] for r in execute(target, "SELECT seq FROM snapshots ORDER BY seq")]
    assert seqs == [len(LINES) // 100 * 100 - 200, len(LINES) // 100 * 100 - 100, len(LINES) // 100 * 100]


@pytest.mark.parametrize("use_snapshots", [True, False])
def test_recovery_equals_the_uninterrupted_run(target: str, expected, use_snapshots: bool) -> None:
    journal(target, LINES)
    recovery = _recover(target, use_snapshots=use_snapshots)
    reference, _ = expected
    assert recovery.length == len(LINES) and not recovery.damaged and not recovery.problems
    assert recovery.divergence is None
    assert recovery.snapshot == (len(LINES) // 100 * 100 if use_snapshots else None)
    assert snapshot(recovery.engine) == snapshot(reference)
    assert msgspec.json.encode(recovery.engine.state_document()) == msgspec.json.encode(reference.state_document())


def test_verify_passes_on_a_good_journal(target: str, expected) -> None:
    journal(target, LINES)
    report = _verify(target)
    assert report.ok, report.divergence and report.divergence.describe()
    assert report.records == len(LINES) and report.snapshots_checked == 3
    assert report.final_hash == expected[0].state_hash()


def test_a_damaged_snapshot_is_skipped_for_an_older_one(target: str, expected) -> None:
    journal(target, LINES)
    newest = len(LINES) // 100 * 100
    damage_snapshot(target, newest)
    recovery = _recover(target)
    assert recovery.snapshot == newest - 100
    assert any(f"snapshot at {newest}" in p for p in recovery.problems)
    assert snapshot(recovery.engine) == snapshot(expected[0])
    report = _verify(target)
    assert not report.ok and report.divergence is not None and report.divergence.seq == newest
    assert "checksum" in report.divergence.what


def test_every_snapshot_damaged_means_a_full_replay(target: str, expected) -> None:
    journal(target, LINES)
    for (seq,) in execute(target, "SELECT seq FROM snapshots"):
        damage_snapshot(target, seq, at=3)
    recovery = _recover(target)
    assert recovery.snapshot is None and recovery.replayed == len(LINES)
    assert snapshot(recovery.engine) == snapshot(expected[0])


@pytest.mark.parametrize("column", ["command", "events", "checksum"])
def test_a_damaged_tail_record_ends_the_good_prefix_and_replay_repairs_it(target: str, expected, column: str) -> None:
    journal(target, LINES)
    last = len(LINES) - 1
    damage_record(target, last, column, at=2)
    recovery = _recover(target)
    assert recovery.damaged and recovery.length == last and recovery.stored == len(LINES)
    assert any(f"record {last}" in p for p in recovery.problems)
    assert not _verify(target).ok
    # the journaled replay cuts the damaged record off and applies it again from the input
    store = open_store(target)
    try:
        out = io.BytesIO()
        engine, summary = durable_replay(_source(LINES), store, out, JournalSettings(50, 100))
    finally:
        store.close()
    assert any("dropped" in note for note in summary.notes)
    assert summary.resumed == last and summary.commands == 1
    assert out.getvalue() == expected[1]
    assert snapshot(engine) == snapshot(expected[0])
    assert _verify(target).ok


def test_verify_names_the_first_damaged_record_in_the_middle(target: str) -> None:
    journal(target, LINES)
    damage_record(target, 123, "events", at=4)
    report = _verify(target)
    assert not report.ok and report.divergence is not None
    assert report.divergence.seq == 123 and "checksum" in report.divergence.what


def test_verify_reports_a_command_whose_events_differ(target: str) -> None:
    """A journal whose records are intact but whose recorded events are not what this engine
    gives (another version wrote it): verify names the command and shows both."""
    from solvent.storage.records import make_record

    journal(target, LINES[:300])
    rows = execute(target, "SELECT seq, command, events, chain FROM journal WHERE seq >= 149 ORDER BY seq")
    execute(target, "DELETE FROM journal WHERE seq >= 150")
    execute(target, "DELETE FROM snapshots")
    chain = bytes(rows[0][3])
    store = open_store(target)
    try:
        forged = []
        for seq, command, events, _ in rows[1:]:
            if seq == 150:
                events = b'{"event":"rejected","seq":150,"code":"x","message":"y"}\n'
            record = make_record(seq, chain, bytes(command), bytes(events))
            chain = record.chain
            forged.append(record)
        store.append(forged)
    finally:
        store.close()
    report = _verify(target)
    assert report.divergence is not None and report.divergence.seq == 150
    assert "events differ" in report.divergence.what and '"code":"x"' in report.divergence.journal
    assert _recover(target).divergence is not None


def _source(lines: list[bytes]):
    """A real file descriptor holding `lines` (durable_replay reads the descriptor)."""
    import tempfile

    handle = tempfile.TemporaryFile()
    handle.write(b"\n".join(lines) + b"\n")
    handle.seek(0)
    return handle


def test_resume_matches_the_input_by_position_and_content(target: str, expected) -> None:
    journal(target, LINES[:250])
    store = open_store(target)
    try:
        changed = LINES[:100] + [b'{"op": "time", "ts": 1}'] + LINES[101:]
        with pytest.raises(JournalMismatch, match="differs from the journal at command 100"):
            durable_replay(_source(changed), store, None, JournalSettings())
        with pytest.raises(JournalMismatch, match="holds 200 commands but the journal 250"):
            durable_replay(_source(LINES[:200]), store, None, JournalSettings())
        assert store.length() == 250  # nothing was applied
        out = io.BytesIO()
        engine, summary = durable_replay(_source(LINES), store, out, JournalSettings(64, 100), new_events_only=True)
        assert summary.resumed == 250 and summary.commands == len(LINES) - 250
    finally:
        store.close()
    _, events = expected
    full = b"".join(bytes(r[0]) for r in execute(target, "SELECT events FROM journal ORDER BY seq"))
    assert full == events
    assert events.endswith(out.getvalue()) and len(out.getvalue()) < len(events)
    assert snapshot(engine) == snapshot(expected[0])
