"""`solvent replay`: apply a JSONL command file, write events and the final state."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import msgspec

from ..engine import Engine, EngineFault

_ENCODER = msgspec.json.Encoder()


class ReplayError(Exception):
    """A problem with the input or output files, reported without a traceback."""


@dataclass
class ReplaySummary:
    commands: int = 0
    rejected: int = 0
    events: int = 0
    codes: dict[str, int] = field(default_factory=dict)


def read_lines(source: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every non-blank line."""
    for number, line in enumerate(source, start=1):
        stripped = line.strip()
        if stripped:
            yield number, stripped


def replay(
    commands: IO[bytes],
    events_out: IO[bytes] | None,
    engine: Engine | None = None,
    on_rejected=None,
) -> tuple[Engine, ReplaySummary]:
    """Apply every line of `commands`; write each event as one JSON line to `events_out`.

    A line that is not a JSON object is answered like any bad command: a `rejected` event
    (code `malformed_json`), and the replay goes on. `on_rejected(line_number, event)` is
    called for each refusal so the CLI can say which line it was."""
    engine = engine or Engine()
    summary = ReplaySummary()
    for number, line in read_lines(commands):
        try:
            events = engine.apply(line)
        except EngineFault as fault:
            raise ReplayError(f"line {number}: internal engine fault, state may be inconsistent: {fault}") from None
        summary.commands += 1
        for event in events:
            summary.events += 1
            if event["event"] == "rejected":
                summary.rejected += 1
                summary.codes[event["code"]] = summary.codes.get(event["code"], 0) + 1
                if on_rejected is not None:
                    on_rejected(number, event)
            if events_out is not None:
                events_out.write(_ENCODER.encode(event) + b"\n")
    return engine, summary


def open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    file = Path(path)
    if not file.exists():
        raise ReplayError(f"{path}: no such file")
    if file.is_dir():
        raise ReplayError(f"{path}: is a directory, not a command file")
    try:
        return file.open("rb")
    except OSError as error:
        raise ReplayError(f"{path}: cannot read ({error.strerror})") from None


def open_output(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    try:
        return Path(path).open("wb")
    except OSError as error:
        raise ReplayError(f"{path}: cannot write ({error.strerror})") from None


def close_output(target: IO[bytes] | None) -> None:
    """Close what `open_output` opened (standard output stays open)."""
    if target is not None and target is not sys.stdout.buffer:
        target.close()


def write_state(engine: Engine, path: str) -> None:
    data = msgspec.json.format(msgspec.json.encode(engine.state_document()), indent=2) + b"\n"
    target = open_output(path)
    try:
        target.write(data)
    finally:
        close_output(target)
