"""Damage to the SQLite files themselves, through the CLI: a flipped byte in the tail
record and in a snapshot (SQLite does not checksum its pages, so only the journal's own
checksums can notice), a truncated database file, and a torn write-ahead log."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solvent.storage import open_store

from .helpers import stream, uninterrupted

ROOT = Path(__file__).resolve().parents[3]
SOLVENT = [sys.executable, "-c", "from solvent.cli.main import main; main()"]
LINES = stream(seed=4, commands=700)


def solvent(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SOLVENT, *args], cwd=ROOT, capture_output=True, timeout=300)


@pytest.fixture
def journaled(tmp_path: Path) -> tuple[Path, Path]:
    """A stream file and a closed (checkpointed) SQLite journal of it, snapshots every 200."""
    source = tmp_path / "stream.jsonl"
    source.write_bytes(b"\n".join(LINES) + b"\n")
    db = tmp_path / "journal.db"
    result = solvent("replay", str(source), "--db", str(db), "--quiet", "--batch", "64", "--snapshot-every", "200")
    assert result.returncode == 0, result.stderr
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    return source, db


def _flip_in_file(path: Path, needle: bytes, offset: int) -> None:
    data = bytearray(path.read_bytes())
    at = data.rfind(needle)
    assert at >= 0 and data.count(needle) == 1, "the bytes to damage must be found once in the file"
    data[at + offset] ^= 0x04
    path.write_bytes(bytes(data))


def _state_hash(db: Path) -> bytes:
    result = solvent("state", "--db", str(db))
    return result.stdout


def test_a_flipped_byte_in_the_tail_record_is_found_and_repaired(journaled: tuple[Path, Path], tmp_path: Path) -> None:
    source, db = journaled
    reference, events = uninterrupted(LINES)
    _flip_in_file(db, LINES[-1], len(LINES[-1]) // 2)

    state = solvent("state", "--db", str(db))
    assert state.returncode == 1 and b"Traceback" not in state.stderr
    assert f"record {len(LINES) - 1} is damaged".encode() in state.stderr
    check = solvent("verify", "--db", str(db))
    assert check.returncode == 1 and f"FAILED at command {len(LINES) - 1}: ".encode() in check.stderr

    repaired = solvent("replay", str(source), "--db", str(db), "--events-out", str(tmp_path / "e"),
                       "--state-out", str(tmp_path / "s"))
    assert repaired.returncode == 0, repaired.stderr
    assert b"dropped" in repaired.stderr
    assert (tmp_path / "e").read_bytes() == events
    assert reference.state_hash().encode() in (tmp_path / "s").read_bytes()
    assert solvent("verify", "--db", str(db)).returncode == 0


def test_a_flipped_byte_in_a_snapshot_falls_back_to_an_older_one(journaled: tuple[Path, Path]) -> None:
    _, db = journaled
    reference, _ = uninterrupted(LINES)
    newest = len(LINES) // 200 * 200
    _flip_in_file(db, b'{"format":"solvent-snapshot/1","commands":%d,' % newest, 45)
    state = solvent("state", "--db", str(db))
    assert state.returncode == 0, state.stderr
    assert f"snapshot at {newest}: checksum mismatch".encode() in state.stderr
    assert f"from snapshot at {newest - 200}".encode() in state.stderr
    assert reference.state_hash().encode() in state.stdout
    check = solvent("verify", "--db", str(db))
    assert check.returncode == 1 and f"FAILED at command {newest}: snapshot".encode() in check.stderr


def test_a_truncated_database_file_is_reported_without_a_traceback(journaled: tuple[Path, Path]) -> None:
    source, db = journaled
    size = db.stat().st_size
    with db.open("r+b") as handle:
        handle.truncate(size // 3)
    for args in (["state", "--db", str(db)], ["verify", "--db", str(db)], ["replay", str(source), "--db", str(db)]):
        result = solvent(*args)
        assert result.returncode == 3, (args, result.stderr)
        assert b"Traceback" not in result.stderr and str(db).encode() in result.stderr


def _tear_last_commit(wal: Path) -> bool:
    """Cut the write-ahead log in the middle of its last commit frame (the frame that ends the
    newest committed transaction), as a power cut during that write would. Frames after it
    (a transaction the killed writer had not committed) and frames left from before the log
    was restarted (another salt) are not counted. False if the log holds no commit.

    Layout (sqlite.org/fileformat.html, "WAL file format"): a 32-byte header (page size at
    8, salts at 16), then frames of a 24-byte header (commit size at 4, nonzero on a commit
    frame; salts at 8) and one page."""
    data = wal.read_bytes()
    if len(data) < 32:
        return False
    page_size, salts = int.from_bytes(data[8:12], "big"), data[16:24]
    frame, offset, last_commit = 24 + page_size, 32, None
    while offset + frame <= len(data) and data[offset + 8:offset + 16] == salts:
        if int.from_bytes(data[offset + 4:offset + 8], "big"):
            last_commit = offset
        offset += frame
    if last_commit is None:
        return False
    with wal.open("r+b") as handle:
        handle.truncate(last_commit + 24 + page_size // 2)
    return True


def test_a_torn_write_ahead_log_leaves_a_consistent_prefix(tmp_path: Path) -> None:
    """Kill a writer so that its last commits are only in the WAL, then tear the WAL inside
    its last commit: SQLite drops that transaction, the journal is a shorter good prefix, and
    the replay resumes from it to the same final state. (The tear is placed in the last
    commit frame, not at the file's end: the kill may land while the writer is writing a
    transaction it has not committed, whose frames SQLite ignores anyway.)"""
    source = tmp_path / "stream.jsonl"
    source.write_bytes(b"\n".join(LINES) + b"\n")
    db = tmp_path / "journal.db"
    process = subprocess.Popen([*SOLVENT, "replay", str(source), "--db", str(db), "--quiet", "--batch", "16",
                                "--snapshot-every", "0"], cwd=ROOT, stderr=subprocess.DEVNULL)
    wal = Path(f"{db}-wal")
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None:
        if wal.exists() and wal.stat().st_size > 60_000:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    before = reader.execute("SELECT count(*) FROM journal").fetchone()[0]
    reader.close()  # no process has the database open when the WAL is torn (as after a power cut)
    assert before > 0 and _tear_last_commit(wal)
    store = open_store(str(db))
    try:
        after = store.length()
        assert 0 <= after < before
    finally:
        store.close()
    assert solvent("state", "--db", str(db)).returncode == 0
    resumed = solvent("replay", str(source), "--db", str(db), "--state-out", str(tmp_path / "s"))
    assert resumed.returncode == 0, resumed.stderr
    reference, _ = uninterrupted(LINES)
    assert reference.state_hash().encode() in (tmp_path / "s").read_bytes()
    assert solvent("verify", "--db", str(db)).returncode == 0
