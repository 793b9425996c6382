"""Price ticks between trades: what a tick costs when market makers have traded since the last one.

`solvent bench` times its ticks on a freshly loaded book, where no screen row is waiting to
be written. In a venue's stream, trades come between ticks: every trade re-anchors its
market maker's row (a maker holds a position in every market: one line per oracle), and the
next tick first writes those staged rows into the screen's columns. This script builds the
seeded book of `solvent bench` (`--accounts`, 200 markets, 16 makers), then runs `--rounds`
rounds of `--trades-per-tick` bench trades (a trader against a maker, Zipf-chosen markets)
followed by one price tick on the most-held market (±0.03 %), and reports per tick:

* `tick_ms`: the mean `Engine.apply` of the tick;
* `flush_ms`: the part spent writing the staged rows (`HealthScreen.flush`);
* `staged_rows`, `staged_overflow_rows`: rows waiting per tick, and how many of them keep
  their lines outside the packed index (more than `WIDTH` oracles: the makers);

beside a baseline measured in the same run on the same book: `baseline_tick_ms`, the same
ticks with no trade in between (nothing staged). It prints them and writes JSON.

    .venv/bin/python benchmarks/mixed_stream.py --accounts 20000 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:  # the installed solvent (pure, or compiled by tools/install-compiled.sh)...
    import solvent  # noqa: F401
except ImportError:  # ...or the checkout's, run without installing
    sys.path.insert(0, str(ROOT))

from solvent import Engine  # noqa: E402
from solvent.cli.bench import build  # noqa: E402
from solvent.domain.ids import is_system  # noqa: E402
from solvent.domain.numbers import ARITHMETIC  # noqa: E402
from solvent.engine.bulk import load_book  # noqa: E402
from solvent.risk.screen import HealthScreen  # noqa: E402
from solvent.simulation.bench_book import MAKER_PREFIX, BenchBook, market_id, oracle_id  # noqa: E402


class _TimedScreen(HealthScreen):
    """The risk screen, its flushes timed and counted while `flushed` is a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: dict[str, float] | None = None

    def flush(self) -> None:
        flushed = self.flushed
        if flushed is None:
            super().flush()
            return
        flushed["rows"] += len(self._staged)
        flushed["overflow"] += sum(1 for row in self._staged if row in self._overflow)
        started = time.perf_counter()
        super().flush()
        flushed["seconds"] += time.perf_counter() - started


def measure(accounts: int, rounds: int, trades_per_tick: int, seed: int) -> dict[str, Any]:
    screen = _TimedScreen()
    engine = Engine(screen)
    book = BenchBook(accounts, 200, seed)
    for command in book.config_commands():
        engine.apply(command)
    with localcontext(ARITHMETIC):
        load_book(engine, *book.book())
    state = engine.state
    screen.flush()
    makers = sorted(a for a in state.accounts if a.startswith(MAKER_PREFIX))
    traders = sorted(a for a in state.accounts if not a.startswith(MAKER_PREFIX) and not is_system(a))
    rng = random.Random(seed + 3)
    price = state.book.prices[oracle_id(0)]
    flushed = {"seconds": 0.0, "rows": 0, "overflow": 0}

    def tick() -> float:
        nonlocal price
        price = (price * Decimal("1.0003" if rng.random() < 0.5 else "0.9997")).quantize(Decimal("0.0001"))
        started = time.perf_counter()
        engine.apply({"op": "price", "oracle": oracle_id(0), "price": format(price, "f")})
        return time.perf_counter() - started

    baseline = sum(tick() for _ in range(rounds)) / rounds
    screen.flushed = flushed
    ticks = trading = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(trades_per_tick):
            index = min(int(rng.paretovariate(1.0)) - 1, 199)
            trader, maker = rng.choice(traders), rng.choice(makers)
            buyer, seller = (trader, maker) if rng.random() < 0.5 else (maker, trader)
            engine.apply({"op": "trade", "market": market_id(index), "buyer": buyer, "seller": seller,
                          "size": format(book.steps[index] * rng.randint(1, 20), "f"),
                          "price": format(state.book.prices[oracle_id(index)], "f")})
        trading += time.perf_counter() - started
        ticks += tick()
    screen.flushed = None
    return {
        "accounts": accounts, "rounds": rounds, "trades_per_tick": trades_per_tick, "seed": seed, "build": build(),
        "kernel": screen.kernel_name,
        "tick_ms": round(ticks / rounds * 1000, 3),
        "flush_ms": round(flushed["seconds"] / rounds * 1000, 3),
        "staged_rows": round(flushed["rows"] / rounds, 1),
        "staged_overflow_rows": round(flushed["overflow"] / rounds, 1),
        "trade_us": round(trading / (rounds * trades_per_tick) * 1e6, 1),
        "baseline_tick_ms": round(baseline * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--trades-per-tick", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    result = measure(args.accounts, args.rounds, args.trades_per_tick, args.seed)
    print(f"{result['accounts']:,} accounts, {result['build']} build, {result['kernel']} kernel: "
          f"{result['trades_per_tick']} trades then a tick, {result['rounds']} times")
    print(f"  tick            {result['tick_ms']:8.3f} ms   (of which writing staged rows {result['flush_ms']:.3f} ms: "
          f"{result['staged_rows']} rows, {result['staged_overflow_rows']} of them makers' overflow rows)")
    print(f"  baseline tick   {result['baseline_tick_ms']:8.3f} ms   (the same ticks, nothing traded between them)")
    print(f"  trade           {result['trade_us']:8.1f} µs")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
