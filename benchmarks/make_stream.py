"""Write a seeded command stream as JSON lines (setup, then the main stream), for
`solvent replay` and the journal's recovery measurement in docs/OPERATIONS.md.

    .venv/bin/python benchmarks/make_stream.py 1000000 stream.jsonl [--accounts 2000] [--seed 42]
"""

from __future__ import annotations

import argparse

import msgspec

from solvent.simulation.scenario import Scenario, ScenarioConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commands", type=int, help="commands in the main stream")
    parser.add_argument("out", help="the JSONL file to write")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--markets", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    scenario = Scenario(ScenarioConfig(accounts=args.accounts, markets=args.markets, commands=args.commands, seed=args.seed))
    with open(args.out, "wb") as out:
        for command in scenario.setup_commands():
            out.write(msgspec.json.encode(command) + b"\n")
        for command in scenario.commands(args.commands):
            out.write(msgspec.json.encode(command) + b"\n")


if __name__ == "__main__":
    main()
