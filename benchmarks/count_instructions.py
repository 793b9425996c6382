"""Instructions per command on the issue's stream, counted by valgrind (callgrind).

Wall-clock figures on a shared 2-core machine move by 10-30 % from hour to hour; the number
of instructions the CPU executes does not (the same binary and input give the same count,
whatever else runs). This script counts the instructions of the replay loop only: it
generates the stream (`solvent.simulation.scenario`, as `replay_throughput.py` does), applies
the setup commands with counting off, turns counting on (`callgrind_control -i on`) for the
stream, and off again before exit. Instructions are not time (cache misses are not counted),
so use it to compare two versions of the engine, not as a throughput.

    python benchmarks/count_instructions.py [--commands 5000] [--json out.json]
    python benchmarks/count_instructions.py --workload ticks --accounts 50000
    python benchmarks/count_instructions.py --workload trades --accounts 20000

`--workload ticks` and `trades` count `solvent bench`'s own ticks and trades on its book
instead (`solvent.simulation.bench_book`: loaded with counting off; for trades, 200 more not
counted first).

It runs itself under `valgrind --tool=callgrind` (valgrind must be installed; Debian:
valgrind) and takes about a minute for 5,000 commands. The compiled build counts the same
way: run it with that venv's python, from outside the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CHILD = "SOLVENT_COUNT_INSTRUCTIONS_CHILD"


def _bench_stream(workload: str, commands: int, accounts: int, seed: int):
    """`solvent bench`'s book at `accounts` (seed `seed`), loaded, and the commands to count:
    its `commands` price ticks on the most-held market, or `commands` of its trades after
    200 not counted (the first trades of a maker in a market grow its lines)."""
    import gc
    import random
    from decimal import localcontext

    from solvent import Engine
    from solvent.domain.ids import is_system
    from solvent.domain.numbers import ARITHMETIC
    from solvent.engine.bulk import load_book
    from solvent.simulation.bench_book import MAKER_PREFIX, BenchBook, oracle_id, price_path, trade_commands

    engine = Engine()
    book = BenchBook(accounts, 200, seed)
    for command in book.config_commands():
        engine.apply(command)
    with localcontext(ARITHMETIC):
        load_book(engine, *book.book())
    engine.monitor.screen.flush()
    state = engine.state
    if workload == "ticks":
        oracle = oracle_id(0)
        stream = [{"op": "price", "oracle": oracle, "price": format(price, "f")}
                  for price in price_path(state.book.prices[oracle], commands, random.Random(seed + 1))]
    else:
        traders = sorted(a for a in state.accounts if not a.startswith(MAKER_PREFIX) and not is_system(a))
        makers = sorted(a for a in state.accounts if a.startswith(MAKER_PREFIX))
        drawn = list(trade_commands(book, state.book.prices, traders, makers, random.Random(seed + 2), 200 + commands))
        for command in drawn[:200]:
            engine.apply(command)
        stream = drawn[200:]
    gc.collect()
    gc.freeze()  # (the loaded book: no collection walks it while counting)
    return engine, stream


def _child(workload: str, commands: int, accounts: int, seed: int) -> None:
    try:
        import solvent  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(ROOT))
    from solvent import Engine
    from solvent.simulation.scenario import Scenario, ScenarioConfig

    if workload == "scenario":
        scenario = Scenario(ScenarioConfig(accounts=accounts, markets=3, commands=commands, seed=seed))
        setup, stream = scenario.setup_commands(), list(scenario.commands())
        engine = Engine()
        for command in setup:
            engine.apply(command)
    else:
        engine, stream = _bench_stream(workload, commands, accounts, seed)
    pid = os.getpid()
    subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, capture_output=True)
    for command in stream:
        engine.apply(command)
    subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("scenario", "ticks", "trades"), default="scenario",
                        help="the issue's stream (default), or `solvent bench`'s ticks or trades on its book")
    parser.add_argument("--commands", type=int, default=None,
                        help="commands counted (default 5,000; 200 ticks; 3,200 trades)")
    parser.add_argument("--accounts", type=int, default=2000, help="accounts (default 2,000)")
    parser.add_argument("--seed", type=int, default=None, help="seed (default 42; the bench's 1)")
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON to FILE")
    parser.add_argument("--keep", metavar="FILE",
                        help="keep callgrind's output in FILE (for callgrind_annotate --inclusive=yes)")
    args = parser.parse_args(argv)
    if args.commands is None:
        args.commands = {"scenario": 5000, "ticks": 200, "trades": 3200}[args.workload]
    if args.seed is None:
        args.seed = 42 if args.workload == "scenario" else 1
    if os.environ.get(_CHILD):
        _child(args.workload, args.commands, args.accounts, args.seed)
        return 0
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                   sys.executable, __file__, "--workload", args.workload, "--commands", str(args.commands),
                   "--accounts", str(args.accounts), "--seed", str(args.seed)]
        try:
            subprocess.run(command, check=True, capture_output=True, env={**os.environ, _CHILD: "1"})
        except FileNotFoundError:
            print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
            return 2
        except subprocess.CalledProcessError as error:
            print(error.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
            return 1
        if args.keep:
            Path(args.keep).write_bytes(out.read_bytes())
        summary = re.search(rb"^totals: (\d+)", out.read_bytes(), re.M)
        if summary is None:
            print("callgrind wrote no summary", file=sys.stderr)
            return 1
    try:
        import solvent
    except ImportError:
        sys.path.insert(0, str(ROOT))
        import solvent

    instructions = int(summary.group(1))
    result = {"workload": args.workload, "commands": args.commands, "accounts": args.accounts, "seed": args.seed,
              "build": solvent.build(),
              "instructions": instructions, "instructions_per_command": round(instructions / args.commands)}
    print(f"{result['build']}: {instructions:,} instructions over {args.commands:,} commands, "
          f"{result['instructions_per_command']:,} per command")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
