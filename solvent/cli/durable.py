"""`solvent replay --db`: a journaled replay that resumes where a previous run stopped.

1. Take the writer lock; rebuild the engine from the journal (newest good snapshot + tail).
   A damaged tail is cut off (and reported): those commands are applied again from the input.
2. Match the input against the journal: its first n commands must be the journal's n
   records, byte for byte (position and content). Their events are copied from the journal
   to `--events-out` (unless `new_events_only`), so that a completed run's events file is
   the whole stream's, identical to an uninterrupted run's.
3. Apply the rest through `JournalWriter` (group commit): events reach `--events-out`, and
   rejections stderr, only once their batch is durable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from ..engine import Engine, EngineFault
from ..storage import JournalSettings, JournalStore, JournalWriter, Record, recover
from ..storage.records import GENESIS, record_problem
from .lines import Lines
from .replay import ReplayError, ReplaySummary


class JournalMismatch(ReplayError):
    """The input is not the stream the journal was written from, or the journal is unusable."""


@dataclass
class DurableSummary(ReplaySummary):
    resumed: int = 0  # commands the journal already held
    commits: int = 0
    snapshot: int | None = None
    notes: list[str] = field(default_factory=list)


def _preview(data: bytes, limit: int = 160) -> str:
    text = data.decode(errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "…"


def durable_replay(
    source: IO[bytes],
    store: JournalStore,
    events_out: IO[bytes] | None,
    settings: JournalSettings,
    new_events_only: bool = False,
    on_rejected: Callable[[int, dict], None] | None = None,
) -> tuple[Engine, DurableSummary]:
    store.lock_writer()
    recovery = recover(store)
    summary = DurableSummary(snapshot=recovery.snapshot)
    if recovery.divergence is not None:
        raise JournalMismatch(
            "replaying the journal does not give the events it recorded (written by another engine version?): "
            + recovery.divergence.describe()
        )
    summary.notes += recovery.problems
    if recovery.damaged:
        dropped = store.truncate(recovery.length)
        summary.notes.append(
            f"cut the journal to its last good record: {dropped} record(s) from {recovery.length} on dropped; "
            "they are applied again from the input"
        )
    engine, known = recovery.engine, recovery.length
    summary.resumed = known

    def durable(record: Record, number: int, events: list[dict]) -> None:
        summary.commands += 1
        summary.events += len(events)
        for event in events:
            if event["event"] == "rejected":
                summary.rejected += 1
                summary.codes[event["code"]] = summary.codes.get(event["code"], 0) + 1
                if on_rejected is not None:
                    on_rejected(number, event)
        if events_out is not None and record.events:
            events_out.write(record.events)

    def flush() -> None:
        if events_out is not None:
            events_out.flush()

    writer = JournalWriter(store, engine, recovery.chain, settings, durable, flush)
    lines = Lines(source)
    index = 0
    prefix = store.records(0, known)
    chain = GENESIS
    try:
        for number, line in lines:
            if index < known:
                record = next(prefix)
                problem = record_problem(record, index, chain)
                if problem is not None:
                    raise JournalMismatch(f"{problem}; the journal is damaged before its newest good snapshot: "
                                          "run `solvent verify` and restore it from a backup")
                if record.command != line:
                    raise JournalMismatch(
                        f"line {number}: the input differs from the journal at command {index}: the journal holds "
                        f"{_preview(record.command)!r}, the input {_preview(line)!r}; nothing was applied"
                    )
                chain = record.chain
                if events_out is not None and not new_events_only:
                    events_out.write(record.events)
                index += 1
                if index == known:
                    prefix.close()  # type: ignore[attr-defined]
                continue
            try:
                writer.apply(line, number)
            except EngineFault as fault:
                writer.commit()
                raise ReplayError(f"line {number}: internal engine fault, state may be inconsistent: {fault}") from None
            index += 1
            if writer.pending and lines.would_block():
                writer.commit()
        writer.commit()
    finally:
        summary.commits = writer.commits
        prefix.close()  # type: ignore[attr-defined]
    if index < known:
        raise JournalMismatch(
            f"the input holds {index} commands but the journal {known}: it is not the stream this journal "
            "was written from (nothing was applied)"
        )
    return engine, summary
