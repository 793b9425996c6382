"""The journal store interface: what every backend (SQLite, PostgreSQL) provides.

A store holds the journal (records 0..n−1, contiguous, append-only) and some snapshots.
Every write is one durable transaction: when `append` returns, its records (and the
snapshot written with them) survive a crash of the process or of the machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from .records import Record, Snapshot


class StoreError(Exception):
    """The store cannot be opened, read or written (reported without a traceback)."""


class StoreBusy(StoreError):
    """Another process is writing to this journal."""


class JournalStore(Protocol):
    #: where the data lives, for messages ("journal.db", "postgresql://…/solvent")
    location: str

    def length(self) -> int:
        """Number of records (= the seq of the next one)."""

    def record(self, seq: int) -> Record | None:
        """One record, or None past the end."""

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[Record]:
        """Records start..stop−1 in order, streamed."""

    def append(self, records: Sequence[Record], snapshot: Snapshot | None = None, keep_snapshots: int = 0) -> None:
        """Write `records` (which must start at `length()`) and optionally a snapshot, in one
        durable transaction; then keep only the newest `keep_snapshots` snapshots (0: all).
        Raises StoreError if the records do not start at the end (another writer was first)."""

    def truncate(self, length: int) -> int:
        """Drop every record from `length` on, and the snapshots past it; returns how many
        records were dropped."""

    def snapshot_seqs(self) -> list[int]:
        """The seqs of the stored snapshots, newest first."""

    def snapshot(self, seq: int) -> Snapshot | None:
        ...

    def delete_snapshot(self, seq: int) -> None:
        ...

    def lock_writer(self) -> None:
        """Become the only writer until `close`, or raise StoreBusy."""

    def close(self) -> None:
        ...
