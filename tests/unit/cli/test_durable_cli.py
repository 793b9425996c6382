"""`solvent replay --db`, `state`, `verify` and `events` as a user meets them: help, exit
codes, messages (never a traceback), resuming, and acknowledgements when the input pauses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from solvent.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("command", ["state", "verify", "events", "replay"])
def test_every_command_explains_itself(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--db" in result.output


def test_replay_with_db_gives_the_same_events_and_resumes(runner, tmp_path):
    plain = runner.invoke(app, ["replay", str(QUICKSTART), "--events-out", str(tmp_path / "plain"), "-q"])
    assert plain.exit_code == 0
    db = str(tmp_path / "j.db")
    first = runner.invoke(app, ["replay", str(QUICKSTART), "--db", db, "--events-out", str(tmp_path / "first")])
    assert first.exit_code == 0, first.output
    assert "12 commands in total" in first.output
    again = runner.invoke(app, ["replay", str(QUICKSTART), "--db", db, "--events-out", str(tmp_path / "again")])
    assert again.exit_code == 0 and "resumed after 12 journaled commands, 0 commands" in again.output
    assert (tmp_path / "first").read_bytes() == (tmp_path / "plain").read_bytes() == (tmp_path / "again").read_bytes()
    new_only = runner.invoke(app, ["replay", str(QUICKSTART), "--db", db, "--new-events-only",
                                   "--events-out", str(tmp_path / "new")])
    assert new_only.exit_code == 0 and (tmp_path / "new").read_bytes() == b""
    events = runner.invoke(app, ["events", "--db", db, "--out", str(tmp_path / "stored")])
    assert events.exit_code == 0 and (tmp_path / "stored").read_bytes() == (tmp_path / "plain").read_bytes()
    state = runner.invoke(app, ["state", "--db", db, "--state-out", str(tmp_path / "state.json")])
    assert state.exit_code == 0
    assert json.loads((tmp_path / "state.json").read_text())["ledger"]["balanced"] is True
    verified = runner.invoke(app, ["verify", "--db", db])
    assert verified.exit_code == 0 and verified.output.startswith("ok: 12 commands")


def test_a_different_stream_is_refused_with_exit_status_3(runner, tmp_path):
    db = str(tmp_path / "j.db")
    assert runner.invoke(app, ["replay", str(QUICKSTART), "--db", db]).exit_code == 0
    other = tmp_path / "other.jsonl"
    other.write_text(QUICKSTART.read_text().replace('"amount": "6000"', '"amount": "6001"', 1))
    result = runner.invoke(app, ["replay", str(other), "--db", db])
    assert result.exit_code == 3
    assert "differs from the journal at command 3" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["state", "verify", "events"])
def test_a_missing_journal_is_a_clear_error(runner, tmp_path, command):
    result = runner.invoke(app, [command, "--db", str(tmp_path / "absent.db")])
    assert result.exit_code == 3
    assert "absent.db: no such journal" in result.output
    assert not (tmp_path / "absent.db").exists()


def test_an_unreachable_postgres_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(app, ["state", "--db", f"postgresql://nobody@/none?host={tmp_path}&connect_timeout=2"])
    assert result.exit_code == 3
    assert "Traceback" not in result.output


def test_a_second_writer_is_refused(tmp_path):
    db = tmp_path / "j.db"
    writer = subprocess.Popen([sys.executable, "-c", "from solvent.cli.main import main; main()",
                               "replay", "-", "--db", str(db), "--events-out", "-", "-q"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdin is not None and writer.stdout is not None
    try:
        # the writer answers a line only once it is journaled: it holds the journal by then
        # (a fixed wait instead lost the race on a loaded machine)
        writer.stdin.write(b"not json\n")
        writer.stdin.flush()
        assert json.loads(writer.stdout.readline())["code"] == "malformed_json"
        second = subprocess.run([sys.executable, "-c", "from solvent.cli.main import main; main()",
                                 "replay", str(QUICKSTART), "--db", str(db)], capture_output=True, timeout=60)
        assert second.returncode == 3
        assert b"another process is writing" in second.stderr
    finally:
        writer.stdin.close()  # type: ignore[union-attr]
        writer.wait(timeout=60)


def test_a_pause_in_the_input_commits_and_acknowledges(tmp_path):
    """A producer that waits for the events of what it sent gets them: the batch is committed
    when the input pauses, not only when it is full."""
    db = tmp_path / "j.db"
    process = subprocess.Popen([sys.executable, "-c", "from solvent.cli.main import main; main()",
                                "replay", "-", "--db", str(db), "--events-out", "-", "--batch", "1000", "-q"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(b'{"op": "time", "ts": 5}\nnot json\n')
        process.stdin.flush()
        line = process.stdout.readline()  # blocks until the batch is durable and released
        assert json.loads(line) == {"event": "rejected", "seq": 1, "code": "malformed_json",
                                    "message": json.loads(line)["message"]}
        from solvent.storage import open_store

        store = open_store(str(db))
        try:
            assert store.length() == 2  # durable before it was visible
        finally:
            store.close()
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    assert process.returncode == 0
