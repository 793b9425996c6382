"""A snapshot taken anywhere in a stream, restored and continued, behaves exactly like the
engine that never stopped: every later event, the final state document and `state_hash()`,
and the snapshot bytes of the final state are byte-identical.

The streams are the project's seeded generators: `solvent.simulation.scenario` (trades,
ticks, funding, isolated margin, ETH collateral) and the determinism test's own generator
(every op, refusals, duplicates, lines that are not JSON). New engine state that the
snapshot does not carry shows up here as a divergence, and `check_known_fields` names it.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvent import Engine
from solvent.engine.snapshot import SnapshotError, check_known_fields, restore, snapshot

_HERE = Path(__file__).resolve().parent


def _determinism_module() -> Any:
    spec = importlib.util.spec_from_file_location("_determinism_streams", _HERE / "test_replay_determinism.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_streams = _determinism_module()


def scenario(seed: int, commands: int) -> list[Any]:
    from solvent.simulation.scenario import ScenarioConfig, scenario_commands

    config = ScenarioConfig(accounts=40, commands=commands, seed=seed, start_ts=1_700_000_000, isolated_margin_weight=3.0)
    return list(scenario_commands(config))


def own(seed: int, commands: int) -> list[Any]:
    return list(_streams.own_stream(seed=seed, commands=commands))


def _encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


def check_cuts(commands: list[Any], cuts: list[int]) -> None:
    """Run `commands` once without stopping, snapshotting at each cut; restore every snapshot
    and run the rest; compare everything."""
    lines = [_streams.as_line(c) for c in commands]
    engine = Engine()
    events: list[bytes] = []
    saved: dict[int, bytes] = {}
    for index, line in enumerate(lines):
        if index in cuts:
            saved[index] = snapshot(engine)
        events.append(_encode(engine.apply(line)))
    final_document = _encode(engine.state_document())
    final_hash = engine.state_hash()
    final_snapshot = snapshot(engine)
    for cut, data in saved.items():
        restored = restore(data)
        assert snapshot(restored) == data, f"restore(snapshot) is not the identity at command {cut}"
        for index in range(cut, len(lines)):
            got = _encode(restored.apply(lines[index]))
            assert got == events[index], f"cut at {cut}: command {index} diverged:\n{got!r}\n{events[index]!r}"
        assert _encode(restored.state_document()) == final_document, f"cut at {cut}: final state differs"
        assert restored.state_hash() == final_hash
        assert snapshot(restored) == final_snapshot
        _streams.assert_monitor_current(restored)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scenario_stream_continues_identically_after_restore(seed: int) -> None:
    commands = scenario(seed, 1500)
    rng = random.Random(seed)
    check_cuts(commands, sorted(rng.sample(range(1, len(commands)), 4)) + [0])


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_own_stream_continues_identically_after_restore(seed: int) -> None:
    commands = own(seed, 1500)
    rng = random.Random(seed)
    check_cuts(commands, sorted(rng.sample(range(1, len(commands)), 4)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), commands=st.integers(50, 400), data=st.data())
def test_restore_anywhere_in_generated_streams(seed: int, commands: int, data: st.DataObject) -> None:
    stream = own(seed, commands) if seed % 2 else scenario(seed, commands)
    cuts = data.draw(st.lists(st.integers(0, len(stream) - 1), min_size=1, max_size=3, unique=True))
    check_cuts(stream, cuts)


def test_snapshot_is_deterministic_and_restores_fifo_lots() -> None:
    commands = own(11, 600)
    commands.insert(len(_streams.CONFIG), {"op": "params", "cost_basis": "fifo"})
    first, second = Engine(), Engine()
    for command in commands:
        first.apply(command)
        second.apply(command)
    assert snapshot(first) == snapshot(second)
    lots = [p.lots for a in first.state.accounts.values() for p in a.positions.values()]
    assert any(lots), "the stream should leave FIFO lots open"
    check_cuts(commands, [len(commands) // 2, len(commands) - 1])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10, 16))
def test_long_streams_continue_identically_after_restore(seed: int) -> None:
    commands = scenario(seed, 8000) if seed % 2 else own(seed, 8000)
    rng = random.Random(seed)
    check_cuts(commands, sorted(rng.sample(range(1, len(commands)), 6)))


def test_known_fields_match_the_engine() -> None:
    """Fails when the engine gains state that the snapshot does not write."""
    check_known_fields(Engine())


def test_unknown_state_is_refused_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine()
    if hasattr(type(engine.monitor), "__mypyc_attrs__"):
        # the compiled build (mypyc): a compiled class takes no attribute it does not
        # declare, and what it declares is what `check_known_fields` compares
        with pytest.raises(AttributeError):
            engine.monitor.new_memory = set()  # type: ignore[attr-defined]
        return
    engine.monitor.new_memory = set()  # type: ignore[attr-defined]
    with pytest.raises(SnapshotError, match="new_memory"):
        snapshot(engine)


@pytest.mark.parametrize("data", [b"", b"[1]", b'{"format": "other"}', b'{"format": "solvent-snapshot/1"}', b"\xff"])
def test_garbage_is_a_snapshot_error(data: bytes) -> None:
    with pytest.raises(SnapshotError):
        restore(data)
