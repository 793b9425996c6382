"""Write a seeded command stream as JSON lines (setup, then the main stream), for
`solvent replay` and the journal's recovery measurement in docs/OPERATIONS.md.

    .venv/bin/python benchmarks/make_stream.py 1000000 stream.jsonl [--accounts 2000] [--seed 42] [--crash]

`--crash` appends a crash and a rally: every oracle down 10 % four times, then up 10 % six
times, so that accounts get margin calls and are liquidated (CI replays such a stream through
the pure and the compiled build and compares every byte).
"""

from __future__ import annotations

import argparse
from decimal import Decimal

import msgspec

from solvent.simulation.scenario import Scenario, ScenarioConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commands", type=int, help="commands in the main stream")
    parser.add_argument("out", help="the JSONL file to write")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--markets", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--crash", action="store_true", help="end with a crash and a rally in every market")
    args = parser.parse_args()
    scenario = Scenario(ScenarioConfig(accounts=args.accounts, markets=args.markets, commands=args.commands, seed=args.seed))
    with open(args.out, "wb") as out:
        for command in scenario.setup_commands():
            out.write(msgspec.json.encode(command) + b"\n")
        last: dict[str, Decimal] = {}
        for command in scenario.commands(args.commands):
            if command["op"] == "price":
                last[command["oracle"]] = Decimal(command["price"])
            out.write(msgspec.json.encode(command) + b"\n")
        if args.crash:
            for factor in ("0.9",) * 4 + ("1.1",) * 6:
                for oracle in sorted(last):
                    last[oracle] = (last[oracle] * Decimal(factor)).quantize(Decimal("0.01"))
                    out.write(msgspec.json.encode({"op": "price", "oracle": oracle, "price": str(last[oracle])}) + b"\n")


if __name__ == "__main__":
    main()
