"""The README's worked example is what the engine does: replaying examples/quickstart.jsonl
gives exactly the commands, events and summary line the README shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from solvent.cli.main import app

ROOT = Path(__file__).resolve().parents[3]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_readme_example_matches_the_replay(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = ROOT / "examples" / "quickstart.jsonl"
    section = readme[readme.index("## A worked example"):]
    commands_block, events_block = _blocks(section, "json")[:2]
    # the commands shown are the file's
    shown = [json.loads(line) for line in commands_block.strip().splitlines()]
    in_file = [json.loads(line) for line in example.read_text(encoding="utf-8").strip().splitlines()]
    assert shown == in_file
    # the events shown are the replay's, line for line
    events = tmp_path / "events.jsonl"
    result = CliRunner().invoke(app, ["replay", str(example), "--events-out", str(events), "--state-out", str(tmp_path / "s.json")])
    assert result.exit_code == 0, result.output
    assert events.read_text(encoding="utf-8").strip().splitlines() == events_block.strip().splitlines()
    summary = re.search(r"^\d+ commands, \d+ applied, \d+ rejected, \d+ events$", section, flags=re.M)
    assert summary is not None and summary.group(0) in result.output
