"""Crash tests with real processes: `solvent replay --db` killed with SIGKILL at seeded random
moments, several times, then resumed until it completes.

Kill points are seeded: a number of journaled records to wait for, then a random extra
moment. After every kill: the journal holds exactly the first L commands of the input, each once, in
order (no command applied twice), L never shrinks (nothing acknowledged is lost), and every
event the killed process had written is in the journal (durable before visible). At the end:
the events file, the state document (hence `ledger.hash`) and `verify` equal an
uninterrupted run's.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from solvent.simulation.scenario import ScenarioConfig, scenario_commands
from solvent.storage import open_store

ROOT = Path(__file__).resolve().parents[3]
SOLVENT = [sys.executable, "-c", "from solvent.cli.main import main; main()"]


def _write_stream(path: Path, commands: int, seed: int) -> list[bytes]:
    config = ScenarioConfig(accounts=200, commands=commands, seed=seed, start_ts=1_700_000_000)
    lines = [msgspec.json.encode(c) for c in scenario_commands(config)]
    lines[len(lines) // 2] = b"not json at all"  # a refused line consumes a seq like any other
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def _replay(stream: Path, target: str, events: Path, *extra: str) -> subprocess.Popen:
    args = [*SOLVENT, "replay", str(stream), "--db", target, "--events-out", str(events), "--quiet",
            "--batch", "37", "--snapshot-every", "400", *extra]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _journal(target: str) -> tuple[list[bytes], bytes]:
    store = open_store(target)
    try:
        records = list(store.records())
        assert [r.seq for r in records] == list(range(len(records)))
        return [r.command for r in records], b"".join(r.events for r in records)
    finally:
        store.close()


def _wait_for(target: str, goal: int, process: subprocess.Popen, deadline: float) -> None:
    """Until the journal holds `goal` records, the process ends, or the deadline passes."""
    while process.poll() is None and time.monotonic() < deadline:
        try:
            store = open_store(target, create=False)
            try:
                if store.length() >= goal:
                    return
            finally:
                store.close()
        except Exception:  # noqa: BLE001 - the writer may be creating the database right now
            pass
        time.sleep(0.02)


def _complete_lines(data: bytes) -> bytes:
    return data[: data.rfind(b"\n") + 1]


def run_crash_test(tmp_path: Path, make_target, commands: int, kills: int, seed: int) -> None:
    stream = tmp_path / "stream.jsonl"
    lines = _write_stream(stream, commands, seed)

    reference_target = make_target("reference")
    started = time.perf_counter()
    reference = _replay(stream, reference_target, tmp_path / "reference.events", "--state-out", str(tmp_path / "reference.json"))
    assert reference.wait(timeout=600) == 0, reference.stderr.read() if reference.stderr else ""
    duration = time.perf_counter() - started
    expected_events = (tmp_path / "reference.events").read_bytes()

    target = make_target("crashed")
    rng = random.Random(seed)
    journaled = 0
    interrupted = 0
    for run in range(kills):
        events = tmp_path / f"run{run}.events"
        # a seeded point: once the journal holds `goal` records, a seeded extra moment later
        # (so the kill falls anywhere: applying, committing, writing events)
        goal = rng.randint(journaled + 1, journaled + max(1, (len(lines) - journaled) // 2))
        extra = rng.uniform(0.0, 0.08)
        process = _replay(stream, target, events)
        _wait_for(target, goal, process, deadline=time.monotonic() + 10 * duration + 60)
        time.sleep(extra)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=600)
        commands_so_far, journal_events = _journal(target)
        assert commands_so_far == lines[: len(commands_so_far)], "the journal is not a prefix of the input"
        assert len(commands_so_far) >= journaled, "an acknowledged command was lost"
        visible = _complete_lines(events.read_bytes()) if events.exists() else b""
        assert journal_events.startswith(visible), "an event was visible before its command was durable"
        assert expected_events.startswith(journal_events)
        journaled = len(commands_so_far)
        if code == -signal.SIGKILL and 0 < journaled < len(lines):
            interrupted += 1
        if code == 0:
            break
    assert interrupted >= 1, "no kill landed in the middle of the run; the test proved nothing"

    final = _replay(stream, target, tmp_path / "final.events", "--state-out", str(tmp_path / "final.json"))
    assert final.wait(timeout=600) == 0, final.stderr.read() if final.stderr else ""
    assert (tmp_path / "final.events").read_bytes() == expected_events
    assert (tmp_path / "final.json").read_bytes() == (tmp_path / "reference.json").read_bytes()
    commands_done, journal_events = _journal(target)
    assert commands_done == lines and journal_events == expected_events
    check = subprocess.run([*SOLVENT, "verify", "--db", target], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stderr
    document = msgspec.json.decode((tmp_path / "final.json").read_bytes())
    assert document["ledger"]["balanced"] is True
    assert document["ledger"]["hash"] in check.stdout


@pytest.fixture
def make_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    def make(name: str) -> str:
        if backend == "sqlite":
            return str(tmp_path / f"{name}.db")
        return request.getfixturevalue("postgres_server").new_database()

    return make


def test_killed_replays_resume_exactly_once(tmp_path: Path, make_target) -> None:
    run_crash_test(tmp_path, make_target, commands=5000, kills=4, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22, 23])
def test_many_kills_on_a_longer_stream(tmp_path: Path, make_target, seed: int) -> None:
    run_crash_test(tmp_path, make_target, commands=20_000, kills=10, seed=seed)
