"""Whole-book work at scale: bulk load, snapshot, state hash and restore of `solvent bench`'s book.

A venue restarting, or a researcher starting from a saved book, needs a million accounts back
in memory quickly. This script builds the seeded book of `solvent bench` (`--accounts`,
200 markets, Zipf popularity) with `load_book`, then measures, one after the other:

1. `load_s`: generating and bulk-loading the book (every account evaluated exactly once);
2. `snapshot_s`: `snapshot(engine)`, the canonical JSON bytes the journal stores;
3. `state_hash_s`: `engine.state_hash()` (`ledger.hash`);
4. `restore_s`: `restore(bytes)` in a new process that has only read the bytes from a
   file, as a restarting venue does, with that process's own peak, `restore_peak_rss_mb`;
   the restored engine must give the same state hash;

(the peak RSS so far is recorded after each phase of this process: it only grows) beside
two baselines measured in the same run on the same bytes: `decode_only_s`, decoding the
snapshot's JSON into Python objects with msgspec in a new process (what any JSON restore
pays; `decode_only_peak_rss_mb` its peak), and
`exact_evaluation_s`, evaluating every account exactly once more (what deriving the risk
monitor's statuses and screen rows costs: a snapshot stores the book, not what follows from
it). It prints them and writes JSON.

    .venv/bin/python benchmarks/snapshot_restore.py --accounts 200000 [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from decimal import localcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:  # the installed solvent (pure, or compiled by tools/install-compiled.sh)...
    import solvent  # noqa: F401
except ImportError:  # ...or the checkout's, run without installing
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from solvent import Engine  # noqa: E402
from solvent.cli.bench import build  # noqa: E402
from solvent.domain.numbers import ARITHMETIC  # noqa: E402
from solvent.engine.bulk import load_book  # noqa: E402
from solvent.engine.collector import collector_paused  # noqa: E402
from solvent.engine.snapshot import restore, snapshot  # noqa: E402
from solvent.simulation.bench_book import BenchBook  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(accounts: int, markets: int, seed: int) -> dict[str, Any]:
    result: dict[str, Any] = {"accounts": accounts, "markets": markets, "seed": seed, "build": build(),
                              "python": platform.python_version()}
    engine = Engine()
    book = BenchBook(accounts, markets, seed)
    for command in book.config_commands():
        engine.apply(command)
    started = time.perf_counter()
    balances, holdings = book.book()
    with localcontext(ARITHMETIC):
        load_book(engine, balances, holdings)
    result["load_s"] = round(time.perf_counter() - started, 2)
    result["positions"] = sum(len(account.positions) for account in engine.state.accounts.values())
    result["peak_rss_after_load_mb"] = round(_rss_mb())

    started = time.perf_counter()
    data = snapshot(engine)
    result["snapshot_s"] = round(time.perf_counter() - started, 2)
    result["snapshot_mb"] = round(len(data) / 1e6, 1)
    result["peak_rss_after_snapshot_mb"] = round(_rss_mb())
    started = time.perf_counter()
    expected = engine.state_hash()
    result["state_hash_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    events: list[dict] = []
    with localcontext(ARITHMETIC), collector_paused():
        engine.monitor.evaluate_all(engine.state.commands, events)
    result["exact_evaluation_s"] = round(time.perf_counter() - started, 2)
    assert not events  # nothing changed: no status moves
    del engine
    gc.collect()

    # decoding and restoring each run in a fresh process, as a restarting venue does, so that
    # each peak is its own (this process's peak only grows): the bytes are read from a file
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snapshot.json"
        path.write_bytes(data)
        del data
        decoded = _child("decode", path)
        result["decode_only_s"] = decoded["seconds"]
        result["decode_only_peak_rss_mb"] = decoded["peak_rss_mb"]
        restored = _child("restore", path)
    result["restore_s"] = restored["seconds"]
    result["restore_peak_rss_mb"] = restored["peak_rss_mb"]
    result["restored_hash_equal"] = restored["state_hash"] == expected
    result["peak_rss_mb"] = round(_rss_mb())
    return result


def _child(phase: str, path: Path) -> dict[str, Any]:
    """Run `phase` ("decode" or "restore") on the snapshot at `path` in a new process."""
    output = subprocess.run([sys.executable, __file__, "--child", phase, str(path)], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output)


def _own_peak_mb() -> float:
    """This process's peak resident memory since its `exec` (VmHWM). Not `ru_maxrss`: Linux
    carries the parent's peak at the fork into a child's."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return _rss_mb()


def _run_child(phase: str, path: str) -> None:
    data = Path(path).read_bytes()
    started = time.perf_counter()
    with collector_paused():
        if phase == "decode":
            kept: Any = msgspec.json.decode(data)
        else:
            kept = restore(data)
    seconds = round(time.perf_counter() - started, 2)
    found = {"seconds": seconds, "peak_rss_mb": round(_own_peak_mb())}
    if phase == "restore":
        found["state_hash"] = kept.state_hash()
    print(json.dumps(found))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200_000, help="accounts in the book (default 200,000)")
    parser.add_argument("--markets", type=int, default=200, help="markets (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the book (default 1, as solvent bench)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    parser.add_argument("--child", nargs=2, metavar=("PHASE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _run_child(*args.child)
        return 0
    result = measure(args.accounts, args.markets, args.seed)
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool)
              else f"{key:<{width}}  {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["restored_hash_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
