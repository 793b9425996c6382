"""Group commit: apply commands, make a batch durable, only then let its output out.

`JournalWriter.apply(line)` applies one command to the engine and keeps its record pending.
`commit()` writes every pending record (and a snapshot, when one is due) in one durable
transaction and then hands each record to `on_durable`, in order: that callback is the only
way events leave (the CLI writes them to `--events-out` there). So no one ever sees an event
of a command that a crash could still lose; a crash loses at most the pending batch, which
nobody has seen, and which a resumed replay applies again.

A batch is committed when it holds `batch` records, when the next command would reach a
snapshot point (every `snapshot_every` commands: the snapshot goes into the same
transaction), and whenever the caller says the input paused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine import Engine
from ..engine.snapshot import snapshot
from .records import Record, events_bytes, make_record, make_snapshot
from .store import JournalStore


@dataclass(frozen=True)
class JournalSettings:
    #: records per transaction at most (group commit)
    batch: int = 1000
    #: a snapshot after every this many commands (0: never)
    snapshot_every: int = 10_000
    #: snapshots kept (the newest; 0: all)
    keep_snapshots: int = 3

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError("batch must be at least 1")
        if self.snapshot_every < 0 or self.keep_snapshots < 0:
            raise ValueError("snapshot_every and keep_snapshots must be >= 0")


#: (record, the caller's tag for it, the events as dicts) once the record is durable
Durable = Callable[[Record, Any, list[dict]], None]


class JournalWriter:
    def __init__(self, store: JournalStore, engine: Engine, chain: bytes, settings: JournalSettings,
                 on_durable: Durable | None = None, on_commit: Callable[[], None] | None = None) -> None:
        self.store = store
        self.engine = engine
        self.chain = chain
        self.settings = settings
        self.on_durable = on_durable
        self.on_commit = on_commit
        self.pending: list[tuple[Record, Any, list[dict]]] = []
        self.commits = 0

    def apply(self, line: bytes, tag: Any = None) -> None:
        """Apply one command; its record is pending until the next `commit`."""
        seq = self.engine.state.commands
        events = self.engine.apply(line)
        record = make_record(seq, self.chain, line, events_bytes(events))
        self.chain = record.chain
        self.pending.append((record, tag, events))
        every = self.settings.snapshot_every
        if len(self.pending) >= self.settings.batch or (every and self.engine.state.commands % every == 0):
            self.commit()

    def commit(self) -> None:
        """Make every pending record durable, then release them to `on_durable`."""
        if not self.pending:
            return
        every = self.settings.snapshot_every
        commands = self.engine.state.commands
        snap = None
        if every and commands % every == 0:
            snap = make_snapshot(commands, self.chain, snapshot(self.engine), self.engine.state_hash())
        self.store.append([p[0] for p in self.pending], snap, self.settings.keep_snapshots)
        self.commits += 1
        released, self.pending = self.pending, []
        if self.on_durable is not None:
            for record, tag, events in released:
                self.on_durable(record, tag, events)
        if self.on_commit is not None:
            self.on_commit()
