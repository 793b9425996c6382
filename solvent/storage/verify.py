"""`verify`: replay the whole journal from nothing and check everything on the way.

Every record's checksum and chain, every command's events against the recorded ones, every
snapshot (its checksum, and its bytes against a snapshot of the replaying engine at the same
point), and at the end the state hash of the full replay against the newest snapshot's
recovery. The first problem is reported with its command index and what differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from ..engine import Engine, EngineFault
from ..engine.snapshot import snapshot as take_snapshot
from .records import GENESIS, events_bytes, record_problem, snapshot_problem
from .recovery import Divergence, recover
from .store import JournalStore


@dataclass
class VerifyReport:
    records: int = 0
    snapshots_checked: int = 0
    final_hash: str | None = None
    seconds: float = 0.0
    divergence: Divergence | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.divergence is None


def _snapshot_difference(stored: bytes, replayed: bytes) -> str:
    """Which top-level sections of two snapshots differ."""
    try:
        a, b = msgspec.json.decode(stored), msgspec.json.decode(replayed)
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return "sections differ: " + ", ".join(keys)
    except (msgspec.DecodeError, TypeError, AttributeError):
        return "the stored snapshot is not readable"


def verify(store: JournalStore, progress: Callable[[int], None] | None = None) -> VerifyReport:
    started = time.perf_counter()
    report = VerifyReport()
    snapshots = sorted(store.snapshot_seqs())
    stored = store.length()
    pending = [s for s in snapshots if s <= stored]
    report.notes += [f"snapshot at {s} is past the end of the journal ({stored} records)" for s in snapshots if s > stored]
    engine = Engine()
    chain = GENESIS
    expected = 0

    def check_snapshot(seq: int) -> Divergence | None:
        snap = store.snapshot(seq)
        if snap is None:
            return None
        report.snapshots_checked += 1
        problem = snapshot_problem(snap, chain)
        if problem is not None:
            return Divergence(seq, problem)
        mine = take_snapshot(engine)
        if mine != snap.state:
            return Divergence(seq, f"snapshot at {seq} differs from the replayed state ({_snapshot_difference(snap.state, mine)})")
        if engine.state_hash() != snap.state_hash:
            return Divergence(seq, f"snapshot at {seq}: state hash differs", snap.state_hash, engine.state_hash())
        return None

    for record in store.records():
        while pending and pending[0] == expected:
            report.divergence = check_snapshot(pending.pop(0))
            if report.divergence:
                break
        if report.divergence:
            break
        problem = record_problem(record, expected, chain)
        if problem is not None:
            report.divergence = Divergence(expected, problem)
            break
        try:
            produced = events_bytes(engine.apply(record.command))
        except EngineFault as fault:
            report.divergence = Divergence(record.seq, f"internal engine fault: {fault}")
            break
        if produced != record.events:
            report.divergence = Divergence(record.seq, "events differ from the journal's",
                                           record.events.decode(errors="replace").strip(),
                                           produced.decode(errors="replace").strip())
            break
        chain = record.chain
        expected += 1
        if progress is not None and expected % 10_000 == 0:
            progress(expected)
    if report.divergence is None:
        for seq in pending:
            if seq == expected:
                report.divergence = check_snapshot(seq)
        if report.divergence is None and expected < stored:
            report.divergence = Divergence(expected, f"record {expected} is missing")
    report.records = expected
    report.final_hash = engine.state_hash()
    if report.divergence is None and snapshots:
        recovered = recover(store)  # the path `solvent state` takes must end in the same state
        if take_snapshot(recovered.engine) != take_snapshot(engine):
            report.divergence = Divergence(expected, "the state recovered from the newest snapshot plus the tail "
                                           "differs from the full replay", engine.state_hash(),
                                           recovered.engine.state_hash())
    report.seconds = time.perf_counter() - started
    return report
