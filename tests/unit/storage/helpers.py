"""Shared helpers of the storage tests: streams, journaling them, raw damage to a store."""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from solvent import Engine
from solvent.simulation.scenario import ScenarioConfig, scenario_commands
from solvent.storage import JournalSettings, JournalWriter, events_bytes, open_store
from solvent.storage.open import is_postgres


def stream(seed: int = 3, commands: int = 600, accounts: int = 30) -> list[bytes]:
    """A seeded scenario stream as JSON lines, with a few lines that are refused."""
    config = ScenarioConfig(accounts=accounts, commands=commands, seed=seed, start_ts=1_700_000_000)
    lines = [msgspec.json.encode(c) for c in scenario_commands(config)]
    for at in range(50, len(lines), 97):  # refusals consume a seq too
        lines.insert(at, b'{"op": "deposit", "account": "nobody", "asset": "USDC", "amount": "-1"}')
    lines.insert(70, b"not json")
    return lines


def uninterrupted(lines: list[bytes]) -> tuple[Engine, bytes]:
    """The engine after `lines` and every event, as `replay --events-out` writes them."""
    engine = Engine()
    events = b"".join(events_bytes(engine.apply(line)) for line in lines)
    return engine, events


def journal(target: str, lines: list[bytes], batch: int = 50, snapshot_every: int = 100, keep: int = 3) -> Engine:
    store = open_store(target)
    try:
        engine = Engine()
        from solvent.storage.records import GENESIS

        writer = JournalWriter(store, engine, GENESIS, JournalSettings(batch, snapshot_every, keep))
        for line in lines:
            writer.apply(line)
        writer.commit()
        return engine
    finally:
        store.close()


def execute(target: str, sql: str, args: tuple[Any, ...] = ()) -> list[tuple]:
    """Run raw SQL against the store's database (`?` placeholders)."""
    if is_postgres(target):
        import psycopg

        with psycopg.connect(target, autocommit=True) as db:
            cursor = db.execute(sql.replace("?", "%s"), args)
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in (cursor.fetchall() if cursor.description else [])]
    db = sqlite3.connect(target, isolation_level=None)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def flip(data: bytes, at: int) -> bytes:
    """`data` with one bit changed at `at` (an empty value gains a byte instead)."""
    if not data:
        return b" "
    at %= len(data)
    return data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1:]


def damage_record(target: str, seq: int, column: str = "command", at: int = 5) -> None:
    (value,) = execute(target, f"SELECT {column} FROM journal WHERE seq = ?", (seq,))[0]
    execute(target, f"UPDATE journal SET {column} = ? WHERE seq = ?", (flip(bytes(value), at), seq))


def damage_snapshot(target: str, seq: int, at: int = 40) -> None:
    (value,) = execute(target, "SELECT state FROM snapshots WHERE seq = ?", (seq,))[0]
    execute(target, "UPDATE snapshots SET state = ? WHERE seq = ?", (flip(bytes(value), at), seq))
