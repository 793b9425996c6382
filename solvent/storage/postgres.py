"""The server journal store: PostgreSQL through psycopg 3 (the `postgres` extra).

Same tables as the SQLite store (`meta`, `journal`, `snapshots`), in the schema named by the
connection (the default search path). A batch is written with COPY in one transaction; with
PostgreSQL's defaults (`fsync=on`, `synchronous_commit=on`) COMMIT returns once the WAL is
flushed, so an appended batch survives a crash of the client, the server or the machine.
One writer at a time: `lock_writer` takes a session advisory lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .records import Record, Snapshot
from .store import StoreBusy, StoreError

FORMAT = "solvent-journal/1"
#: pg_advisory_lock key of the writer ("solv" in ASCII)
_WRITER_LOCK = 0x736F6C76

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq BIGINT PRIMARY KEY,
    command BYTEA NOT NULL,
    events BYTEA NOT NULL,
    chain BYTEA NOT NULL,
    checksum BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq BIGINT PRIMARY KEY,
    state BYTEA NOT NULL,
    state_hash TEXT NOT NULL,
    checksum BYTEA NOT NULL
);
"""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError("PostgreSQL journals need psycopg: pip install 'solvent[postgres]'") from None
    return psycopg


def _hide_password(conninfo: str) -> str:
    if "@" in conninfo and "://" in conninfo:
        scheme, rest = conninfo.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return conninfo


class PostgresStore:
    """A journal in a PostgreSQL database, given a libpq connection string or URL."""

    def __init__(self, conninfo: str) -> None:
        psycopg = _psycopg()
        self.location = _hide_password(conninfo)
        self._error = psycopg.Error
        try:
            self._db = psycopg.connect(conninfo, autocommit=True)
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITER_LOCK + 1,))  # one schema creator at a time
                self._db.execute(_SCHEMA)
                self._db.execute("INSERT INTO meta VALUES ('format', %s) ON CONFLICT DO NOTHING", (FORMAT,))
            found = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except psycopg.Error as error:
            raise StoreError(f"{self.location}: cannot open the journal ({str(error).strip()})") from None
        if found is None or found[0] != FORMAT:
            raise StoreError(f"{self.location}: journal format {found and found[0]!r}, this version reads {FORMAT!r}")

    def _run(self, sql: str, args: tuple = ()) -> Any:
        try:
            return self._db.execute(sql, args)
        except self._error as error:
            raise StoreError(f"{self.location}: {str(error).strip()}") from None

    # -- reading ----------------------------------------------------------------------------
    def length(self) -> int:
        row = self._run("SELECT max(seq) FROM journal").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def record(self, seq: int) -> Record | None:
        row = self._run("SELECT seq, command, events, chain, checksum FROM journal WHERE seq = %s", (seq,)).fetchone()
        return None if row is None else Record(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]), bytes(row[4]))

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[Record]:
        end = (1 << 62) if stop is None else stop
        position = start
        while position < end:  # keyset pages: no long-lived server cursor to hold
            rows = self._run(
                "SELECT seq, command, events, chain, checksum FROM journal WHERE seq >= %s AND seq < %s "
                "ORDER BY seq LIMIT 8192",
                (position, end),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield Record(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]), bytes(row[4]))
            position = rows[-1][0] + 1

    def snapshot_seqs(self) -> list[int]:
        return [row[0] for row in self._run("SELECT seq FROM snapshots ORDER BY seq DESC").fetchall()]

    def snapshot(self, seq: int) -> Snapshot | None:
        row = self._run("SELECT seq, state, state_hash, checksum FROM snapshots WHERE seq = %s", (seq,)).fetchone()
        return None if row is None else Snapshot(row[0], bytes(row[1]), row[2], bytes(row[3]))

    # -- writing ----------------------------------------------------------------------------
    def append(self, records: Sequence[Record], snapshot: Snapshot | None = None, keep_snapshots: int = 0) -> None:
        db = self._db
        try:
            with db.transaction():
                if records:
                    expected = self.length()
                    if records[0].seq != expected:
                        raise StoreError(
                            f"{self.location}: records start at {records[0].seq} but the journal holds {expected} "
                            "(another writer?)"
                        )
                    with db.cursor().copy("COPY journal (seq, command, events, chain, checksum) FROM STDIN") as copy:
                        for record in records:
                            copy.write_row(record)
                if snapshot is not None:
                    db.execute(
                        "INSERT INTO snapshots VALUES (%s, %s, %s, %s) ON CONFLICT (seq) DO UPDATE SET "
                        "state = excluded.state, state_hash = excluded.state_hash, checksum = excluded.checksum",
                        tuple(snapshot),
                    )
                    if keep_snapshots > 0:
                        db.execute(
                            "DELETE FROM snapshots WHERE seq NOT IN "
                            "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT %s)",
                            (keep_snapshots,),
                        )
        except self._error as error:
            raise StoreError(f"{self.location}: cannot write the journal ({str(error).strip()})") from None

    def truncate(self, length: int) -> int:
        try:
            with self._db.transaction():
                dropped = self._db.execute("DELETE FROM journal WHERE seq >= %s", (length,)).rowcount
                self._db.execute("DELETE FROM snapshots WHERE seq > %s", (length,))
            return dropped
        except self._error as error:
            raise StoreError(f"{self.location}: cannot truncate the journal ({str(error).strip()})") from None

    def delete_snapshot(self, seq: int) -> None:
        self._run("DELETE FROM snapshots WHERE seq = %s", (seq,))

    def lock_writer(self) -> None:
        (locked,) = self._run("SELECT pg_try_advisory_lock(%s)", (_WRITER_LOCK,)).fetchone()
        if not locked:
            raise StoreBusy(f"{self.location}: another process is writing to this journal")

    def close(self) -> None:
        self._db.close()
