"""The embedded journal store: one SQLite file (stdlib `sqlite3`).

WAL journal mode with `synchronous=FULL`: a transaction is on disk (the WAL fsynced) when
COMMIT returns, and a crash at any moment leaves the last committed transaction intact
(SQLite checksums WAL frames and ignores a torn one). Group commit: `append` writes a whole
batch of records in one transaction, so the fsync is paid once per batch.

Only one process writes: `lock_writer` takes an exclusive `flock` on the database file
(SQLite's own locks are POSIX record locks, independent of it); readers (`solvent state`,
`verify`, `events`) do not take it and can run beside a writer.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from .records import Record, Snapshot
from .store import StoreBusy, StoreError

FORMAT = "solvent-journal/1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    command BLOB NOT NULL,
    events BLOB NOT NULL,
    chain BLOB NOT NULL,
    checksum BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY,
    state BLOB NOT NULL,
    state_hash TEXT NOT NULL,
    checksum BLOB NOT NULL
);
"""


class SQLiteStore:
    """A journal in one SQLite database file (created if absent, unless `create` is False)."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self.location = str(path)
        self._lock_fd: int | None = None
        if not create and not self.path.exists():
            raise StoreError(f"{path}: no such journal")
        if self.path.is_dir():
            raise StoreError(f"{path}: is a directory, not a journal database")
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            found = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if found is None:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
            elif found[0] != FORMAT:
                raise StoreError(f"{path}: journal format {found[0]!r}, this version reads {FORMAT!r}")
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: not a usable journal database ({error})") from None

    # -- reading ----------------------------------------------------------------------------
    def length(self) -> int:
        row = self._query("SELECT max(seq) FROM journal").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def record(self, seq: int) -> Record | None:
        row = self._query("SELECT seq, command, events, chain, checksum FROM journal WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else Record(*row)

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[Record]:
        end = (1 << 62) if stop is None else stop
        cursor = self._query(
            "SELECT seq, command, events, chain, checksum FROM journal WHERE seq >= ? AND seq < ? ORDER BY seq", (start, end)
        )
        try:
            while True:
                rows = cursor.fetchmany(4096)
                if not rows:
                    return
                for row in rows:
                    yield Record(*row)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.location}: cannot read the journal ({error})") from None
        finally:
            try:
                cursor.close()
            except sqlite3.Error:  # the store was closed before the reader finished
                pass

    def snapshot_seqs(self) -> list[int]:
        return [row[0] for row in self._query("SELECT seq FROM snapshots ORDER BY seq DESC")]

    def snapshot(self, seq: int) -> Snapshot | None:
        row = self._query("SELECT seq, state, state_hash, checksum FROM snapshots WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else Snapshot(*row)

    def _query(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.location}: cannot read the journal ({error})") from None

    # -- writing ----------------------------------------------------------------------------
    def append(self, records: Sequence[Record], snapshot: Snapshot | None = None, keep_snapshots: int = 0) -> None:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                if records:
                    expected = self.length()
                    if records[0].seq != expected:
                        raise StoreError(
                            f"{self.location}: records start at {records[0].seq} but the journal holds {expected} "
                            "(another writer?)"
                        )
                    db.executemany("INSERT INTO journal VALUES (?, ?, ?, ?, ?)", records)
                if snapshot is not None:
                    db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)", snapshot)
                    if keep_snapshots > 0:
                        db.execute(
                            "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                            (keep_snapshots,),
                        )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.location}: cannot write the journal ({error})") from None

    def truncate(self, length: int) -> int:
        try:
            with_tx = self._db
            with_tx.execute("BEGIN IMMEDIATE")
            dropped = with_tx.execute("DELETE FROM journal WHERE seq >= ?", (length,)).rowcount
            with_tx.execute("DELETE FROM snapshots WHERE seq > ?", (length,))
            with_tx.execute("COMMIT")
            return dropped
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.location}: cannot truncate the journal ({error})") from None

    def delete_snapshot(self, seq: int) -> None:
        try:
            self._db.execute("DELETE FROM snapshots WHERE seq = ?", (seq,))
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.location}: cannot delete snapshot {seq} ({error})") from None

    def lock_writer(self) -> None:
        if self._lock_fd is not None:
            return
        fd = os.open(str(self.path), os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreBusy(f"{self.location}: another process is writing to this journal") from None
        self._lock_fd = fd

    def checkpoint(self) -> None:
        """Move the WAL into the main file (before a file-level backup copy, say)."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
