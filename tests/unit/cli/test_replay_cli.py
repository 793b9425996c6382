"""`solvent replay` as a user meets it: exit codes, stderr lines, files, stdin."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from solvent.cli.main import app

USDC = {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"}


def lines(*commands) -> str:
    return "".join((c if isinstance(c, str) else json.dumps(c)) + "\n" for c in commands)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_a_missing_file_is_a_clear_error_with_exit_status_2(runner, tmp_path):
    result = runner.invoke(app, ["replay", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "nope.jsonl: no such file" in result.output
    assert "Traceback" not in result.output


def test_a_directory_is_not_a_command_file(runner, tmp_path):
    result = runner.invoke(app, ["replay", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a directory" in result.output


def test_an_unwritable_state_file_is_a_clear_error(runner, tmp_path):
    commands = tmp_path / "c.jsonl"
    commands.write_text(lines(USDC))
    result = runner.invoke(app, ["replay", str(commands), "--state-out", str(tmp_path / "missing" / "state.json")])
    assert result.exit_code == 2
    assert "cannot write" in result.output
    assert "Traceback" not in result.output


def test_bad_lines_are_reported_with_their_line_number_and_the_replay_goes_on(runner, tmp_path):
    """Line 2 is not JSON, line 3 has too many decimals for USDC (6), line 4 is fine: the
    replay reads to the end (exit 0), names lines 2 and 3 on stderr, and the good deposit
    is in the final state."""
    commands = tmp_path / "c.jsonl"
    commands.write_text(lines(
        USDC,
        "{not json",
        {"op": "deposit", "account": "a", "asset": "USDC", "amount": "1.0000001"},
        {"op": "deposit", "account": "a", "asset": "USDC", "amount": "5"},
    ))
    events, state = tmp_path / "events.jsonl", tmp_path / "state.json"
    result = runner.invoke(app, ["replay", str(commands), "--events-out", str(events), "--state-out", str(state)])
    assert result.exit_code == 0
    assert "line 2: rejected [malformed_json]" in result.output
    assert "line 3: rejected [too_many_decimals]" in result.output
    assert "4 commands, 2 applied, 2 rejected, 2 events" in result.output
    written = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["event"], e["seq"], e["code"]) for e in written] == [
        ("rejected", 1, "malformed_json"), ("rejected", 2, "too_many_decimals")]
    assert json.loads(state.read_text())["accounts"]["a"]["balances"] == {"USDC": "5.000000"}


def test_quiet_silences_the_per_line_reports_but_not_the_summary(runner, tmp_path):
    commands = tmp_path / "c.jsonl"
    commands.write_text(lines(USDC, "[]"))
    result = runner.invoke(app, ["replay", str(commands), "--quiet"])
    assert result.exit_code == 0
    assert "line 2" not in result.output
    assert "2 commands, 1 applied, 1 rejected, 1 events" in result.output


def test_dash_reads_commands_from_stdin_and_writes_events_to_stdout(runner):
    stdin = lines(USDC, {"op": "account", "account": "nobody"}, "", "")
    result = runner.invoke(app, ["replay", "-", "--events-out", "-", "--quiet"], input=stdin)
    assert result.exit_code == 0
    event = json.loads(result.stdout.splitlines()[0])
    assert (event["event"], event["seq"], event["code"]) == ("rejected", 1, "unknown_account")


def test_every_command_explains_itself(runner):
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "replay" in top.output and "demo" in top.output and "--version" in top.output
    replay = runner.invoke(app, ["replay", "--help"])
    assert replay.exit_code == 0
    for option in ("--events-out", "--state-out", "--quiet"):
        assert option in replay.output
    demo = runner.invoke(app, ["demo", "--help"])
    assert demo.exit_code == 0 and "--accounts" in demo.output and "--seed" in demo.output
