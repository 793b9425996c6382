"""Rebuild the engine from a journal: the newest good snapshot, then the records after it.

Every record read is checked (its checksum, and that it follows the one before it); the
first damaged record ends the good prefix, and the engine is the state of that prefix. A
snapshot whose checksum or state hash does not match is skipped in favour of an older one,
or of a full replay from the first record. The events each replayed command gives are
compared with the ones the journal holds: a difference means the journal was written by an
engine that behaves differently (another version), and is reported as a divergence.

Nothing here writes: cutting a damaged tail off the journal is the writer's decision
(`solvent replay` does it; `solvent state` only reports it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..engine import Engine, EngineFault
from ..engine.snapshot import SnapshotError, restore
from .records import GENESIS, events_bytes, record_problem, snapshot_problem
from .store import JournalStore, StoreError


@dataclass
class Divergence:
    """The first command whose replay differs from what the journal recorded."""

    seq: int
    what: str
    journal: str = ""
    replay: str = ""

    def describe(self) -> str:
        text = f"command {self.seq}: {self.what}"
        if self.journal or self.replay:
            text += f"\n  journal: {self.journal}\n  replay:  {self.replay}"
        return text


@dataclass
class Recovery:
    engine: Engine
    #: records in the good prefix (= commands applied to `engine`)
    length: int
    #: chain of the last good record (GENESIS for an empty journal)
    chain: bytes
    #: records the store holds (more than `length` when a damaged tail was found)
    stored: int
    #: seq of the snapshot the engine started from (None: a full replay)
    snapshot: int | None = None
    replayed: int = 0
    seconds: float = 0.0
    #: what was found wrong: skipped snapshots, the damaged record
    problems: list[str] = field(default_factory=list)
    divergence: Divergence | None = None

    @property
    def damaged(self) -> bool:
        return self.length < self.stored


def _from_snapshot(store: JournalStore, stored: int, problems: list[str]) -> tuple[Engine, int, bytes] | None:
    """The engine restored from the newest good snapshot, with its seq and chain."""
    for seq in store.snapshot_seqs():
        if seq > stored:
            problems.append(f"snapshot at {seq}: past the end of the journal ({stored} records), skipped")
            continue
        snap = store.snapshot(seq)
        if snap is None:
            continue
        if seq == 0:
            chain = GENESIS
        else:
            before = store.record(seq - 1)
            if before is None:
                problems.append(f"snapshot at {seq}: record {seq - 1} is missing, skipped")
                continue
            chain = before.chain
        problem = snapshot_problem(snap, chain)
        if problem is None:
            try:
                engine = restore(snap.state)
            except SnapshotError as error:
                problem = f"snapshot at {seq}: {error}"
            else:
                if engine.state_hash() != snap.state_hash or engine.state.commands != seq:
                    problem = f"snapshot at {seq}: restored state does not match its recorded hash"
                else:
                    return engine, seq, chain
        problems.append(problem + ", skipped")
    return None


def recover(store: JournalStore, use_snapshots: bool = True) -> Recovery:
    """The engine after every good record of the journal (see the module docstring)."""
    started = time.perf_counter()
    stored = store.length()
    problems: list[str] = []
    found = _from_snapshot(store, stored, problems) if use_snapshots else None
    engine, start, chain = found if found is not None else (Engine(), 0, GENESIS)
    recovery = Recovery(engine, start, chain, stored, snapshot=start if found is not None else None, problems=problems)
    expected = start
    for record in store.records(start):
        problem = record_problem(record, expected, chain)
        if problem is not None:
            problems.append(problem)
            break
        try:
            produced = events_bytes(engine.apply(record.command))
        except EngineFault as fault:
            raise StoreError(f"record {record.seq}: internal engine fault while replaying: {fault}") from None
        if produced != record.events and recovery.divergence is None:
            recovery.divergence = Divergence(record.seq, "events differ from the journal's",
                                             record.events.decode(errors="replace").strip(),
                                             produced.decode(errors="replace").strip())
        chain = record.chain
        expected += 1
    recovery.length = expected
    recovery.chain = chain
    recovery.replayed = expected - start
    recovery.seconds = time.perf_counter() - started
    return recovery
