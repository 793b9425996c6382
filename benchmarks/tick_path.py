"""The price path of `solvent bench` alone: its book loaded, its ticks applied, each timed.

`solvent bench` measures everything in one run (load, full scan, ticks, the exact sample,
trades, memory); on a shared 2-core machine its tick figures move with whatever else runs
during its several minutes. This script does only the part the tick targets are about, so
that two versions of the engine can be compared pair after pair, alternated, in a few
minutes: it builds the same book (`solvent.simulation.bench_book`, the same seed), applies
the same ticks on the most-held market (`price_path`, the same generator state as the
bench's) through `Engine.apply`, and times each command with `perf_counter`.

    python benchmarks/tick_path.py                        # 1,000,000 accounts, 200 ticks
    python benchmarks/tick_path.py --accounts 200000 --json ticks.json

Run it with the environment whose build it measures (the compiled build's venv, from
outside the checkout, as `count_instructions.py`).

It prints the 200 ticks' total, median, p99 (the bench's definition) and maximum, the sum
of the 20 heaviest ticks, the events, the candidate rows carried across tiers and flipped
on the screen, and the margin calls the floats proved (evaluated for their event only); `--json` writes the same with every tick's time and event count.
Both figures compare only within one run of alternated versions: the machine's speed moves
by 10-30 % from hour to hour. The book's load is not timed.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from decimal import localcontext
from pathlib import Path

try:  # the installed solvent (pure, or compiled by tools/install-compiled.sh)...
    import solvent  # noqa: F401
except ImportError:  # ...or the checkout's, run without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solvent import Engine  # noqa: E402
from solvent.domain.numbers import ARITHMETIC  # noqa: E402
from solvent.engine.bulk import load_book  # noqa: E402
from solvent.simulation.bench_book import BenchBook, oracle_id, price_path  # noqa: E402


def run(accounts: int, markets: int, seed: int, ticks: int) -> dict:
    engine = Engine()
    book = BenchBook(accounts, markets, seed)
    for command in book.config_commands():
        engine.apply(command)
    with localcontext(ARITHMETIC):
        load_book(engine, *book.book())
    engine.monitor.screen.flush()
    gc.collect()
    rng = random.Random(seed + 1)  # (as `solvent bench` draws its path)
    oracle = oracle_id(0)
    times: list[float] = []
    events: list[int] = []
    for price in price_path(engine.state.book.prices[oracle], ticks, rng):
        command = {"op": "price", "oracle": oracle, "price": format(price, "f")}
        started = time.perf_counter()
        answer = engine.apply(command)
        times.append((time.perf_counter() - started) * 1000)
        events.append(len(answer))
    ordered = sorted(times)
    return {
        "accounts": accounts, "markets": markets, "seed": seed, "ticks": ticks,
        "total_ms": round(sum(times), 3),
        "tick_p50_ms": round(statistics.median(times), 3),
        "tick_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "tick_max_ms": round(ordered[-1], 3),
        "heaviest_20_ms": round(sum(ordered[-20:]), 3),
        "events": sum(events),
        "retiered": engine.monitor.retiered,
        "flipped": engine.monitor.flipped,
        "calls_flipped": engine.monitor.calls_flipped,
        "per_tick_ms": [round(t, 4) for t in times],
        "per_tick_events": events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--markets", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--json", help="write every figure, and each tick's time, to this file")
    options = parser.parse_args()
    result = run(options.accounts, options.markets, options.seed, options.ticks)
    print(f"{result['ticks']} ticks at {result['accounts']:,} accounts: total {result['total_ms']:.0f} ms, "
          f"p50 {result['tick_p50_ms']:.2f}, p99 {result['tick_p99_ms']:.2f}, max {result['tick_max_ms']:.2f}, "
          f"heaviest 20 {result['heaviest_20_ms']:.1f} ms; {result['events']:,} events, "
          f"{result['retiered']:,} rows carried across tiers, {result['flipped']:,} flipped, "
          f"{result['calls_flipped']:,} margin calls proved in floats")
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
