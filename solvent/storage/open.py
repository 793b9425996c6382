"""`open_store(target)`: a PostgreSQL URL or conninfo selects the server store, anything
else is the path of a SQLite journal file."""

from __future__ import annotations

from .store import JournalStore


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://")) or (
        "=" in target and any(target.lstrip().startswith(k) for k in ("host=", "dbname=", "user=", "port="))
    )


def open_store(target: str, create: bool = True) -> JournalStore:
    """Open (or create, unless `create` is False) the journal at `target`."""
    if is_postgres(target):
        from .postgres import PostgresStore

        return PostgresStore(target)
    from .sqlite import SQLiteStore

    return SQLiteStore(target, create=create)
