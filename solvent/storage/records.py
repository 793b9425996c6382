"""Journal records and snapshots, and the hashes that make them checkable.

One record per command the engine was given (rejected ones included: they consume a `seq`),
in order:

* `seq`: the command's 0-based index in the stream (the `seq` of its events);
* `command`: the command line exactly as received (stripped of surrounding blanks);
* `events`: the events it caused, as the JSON lines `solvent replay` writes;
* `chain`: sha256(previous chain ‖ command), the content hash of the stream up to and
  including this command (the first record chains from 32 zero bytes). A resumed input is
  matched against the journal by position and this content;
* `checksum`: sha256 over the record's own fields (seq, chain, command, events), so that any
  flipped byte in a record is detected on its own.

A snapshot carries the state after the first `seq` commands, the state hash, and a checksum
over (seq, the chain of record seq − 1, state bytes), which ties it to the stream it came from.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import msgspec

GENESIS = bytes(32)
_ENCODER = msgspec.json.Encoder()


class Record(NamedTuple):
    seq: int
    command: bytes
    events: bytes
    chain: bytes
    checksum: bytes


class Snapshot(NamedTuple):
    seq: int  # commands applied in the state it holds (= index of the next command)
    state: bytes
    state_hash: str
    checksum: bytes


def chain_after(previous: bytes, command: bytes) -> bytes:
    """The stream's content hash after `command`."""
    return hashlib.sha256(previous + command).digest()


def record_checksum(seq: int, chain: bytes, command: bytes, events: bytes) -> bytes:
    digest = hashlib.sha256(b"solvent-record\0")
    digest.update(seq.to_bytes(8, "big"))
    digest.update(chain)
    digest.update(len(command).to_bytes(8, "big"))
    digest.update(command)
    digest.update(events)
    return digest.digest()


def make_record(seq: int, previous_chain: bytes, command: bytes, events: bytes) -> Record:
    chain = chain_after(previous_chain, command)
    return Record(seq, command, events, chain, record_checksum(seq, chain, command, events))


def record_problem(record: Record, expected_seq: int, previous_chain: bytes) -> str | None:
    """What is wrong with `record` as the one following `previous_chain`, or None."""
    if record.seq != expected_seq:
        return f"expected record {expected_seq}, found {record.seq}"
    if record.checksum != record_checksum(record.seq, record.chain, record.command, record.events):
        return f"record {record.seq}: checksum mismatch (the record is damaged)"
    if record.chain != chain_after(previous_chain, record.command):
        return f"record {record.seq}: chain mismatch (it does not follow record {record.seq - 1})"
    return None


def snapshot_checksum(seq: int, chain: bytes, state: bytes, state_hash: str) -> bytes:
    digest = hashlib.sha256(b"solvent-snapshot\0")
    digest.update(seq.to_bytes(8, "big"))
    digest.update(chain)
    digest.update(state_hash.encode())
    digest.update(state)
    return digest.digest()


def make_snapshot(seq: int, chain: bytes, state: bytes, state_hash: str) -> Snapshot:
    return Snapshot(seq, state, state_hash, snapshot_checksum(seq, chain, state, state_hash))


def snapshot_problem(snapshot: Snapshot, chain: bytes) -> str | None:
    """What is wrong with `snapshot`, given the chain of the record before it, or None."""
    if snapshot.checksum != snapshot_checksum(snapshot.seq, chain, snapshot.state, snapshot.state_hash):
        return f"snapshot at {snapshot.seq}: checksum mismatch (the snapshot is damaged or not of this journal)"
    return None


def events_bytes(events: list[dict]) -> bytes:
    """Events as the JSON lines `solvent replay` writes (one per line, in order)."""
    return b"".join(_ENCODER.encode(event) + b"\n" for event in events)
