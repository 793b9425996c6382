"""Helpers shared by the engine's unit tests: apply a command and say what must follow."""

from __future__ import annotations

from typing import Any

from solvent import Engine


def ok(engine: Engine, command: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply `command`, which must not be refused; return its events."""
    events = engine.apply(command)
    assert not [e for e in events if e["event"] == "rejected"], (command, events)
    return events


def refused(engine: Engine, command: dict[str, Any], code: str) -> None:
    """The command is refused with `code`, in one event, and nothing changes."""
    before_hash, before_doc = engine.state_hash(), engine.state_document()
    events = engine.apply(command)
    assert [(e["event"], e.get("code")) for e in events] == [("rejected", code)], events
    assert engine.state_hash() == before_hash
    assert engine.state_document() == before_doc


def named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The events called `name`, in order."""
    return [e for e in events if e["event"] == name]
