"""Replay throughput of the engine on a seeded command stream.

Generates a stream with solvent.simulation.scenario (default: 100,000 commands over 2,000
accounts and 3 markets, ~70 % trades, ~25 % oracle prices, the rest deposits, withdrawals,
funding, margin-mode changes and isolated-margin top-ups), then replays it twice through a
fresh `Engine`:

* the dict path: `Engine.apply(dict)`, the library call;
* the text path: `Engine.apply(json_line_bytes)`, what `solvent replay` and the service do.

Each `apply` is timed on its own (perf_counter_ns), so the figures are engine time only; the
loop's own bookkeeping is reported separately as wall time. A baseline measured in the same
run shows the floor: decoding the same JSON lines with the engine's decoder and walking every
value (no engine at all), and a walk of the dicts alone.

Both paths must end in the same state and emit the same events (a determinism check).

    .venv/bin/python benchmarks/replay_throughput.py
    .venv/bin/python benchmarks/replay_throughput.py --commands 20000 --json out.json --jsonl stream.jsonl
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:  # the installed solvent (pure, or compiled by tools/install-compiled.sh)...
    import solvent  # noqa: F401
except ImportError:  # ...or the checkout's, run without installing
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

import solvent  # noqa: E402
from solvent import Engine  # noqa: E402
from solvent.simulation.scenario import Scenario, ScenarioConfig  # noqa: E402

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # what solvent.codec uses


def _walk(value: Any) -> int:
    """Touch every value of a decoded command (the floor of any command handling)."""
    if isinstance(value, dict):
        return sum(_walk(v) for v in value.values()) + len(value)
    if isinstance(value, list):
        return sum(_walk(v) for v in value) + len(value)
    return 1


class PathResult:
    def __init__(self, name: str) -> None:
        self.name = name
        self.times: dict[str, list[int]] = defaultdict(list)
        self.rejected: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.digest = hashlib.sha256()
        self.engine_ns = 0
        self.wall_s = 0.0
        self.setup_s = 0.0
        self.state_hash = ""

    @property
    def commands(self) -> int:
        return sum(len(t) for t in self.times.values())

    def rate(self) -> float:
        return self.commands / (self.engine_ns / 1e9) if self.engine_ns else 0.0

    def as_dict(self) -> dict[str, Any]:
        per_op = {}
        for op in sorted(self.times, key=lambda o: -len(self.times[o])):
            ns = sorted(self.times[op])
            per_op[op] = {
                "count": len(ns),
                "rejected": self.rejected[op],
                "mean_us": round(statistics.fmean(ns) / 1e3, 2),
                "p50_us": round(ns[len(ns) // 2] / 1e3, 2),
                "p99_us": round(ns[min(len(ns) - 1, int(len(ns) * 0.99))] / 1e3, 2),
                "max_us": round(ns[-1] / 1e3, 2),
                "total_s": round(sum(ns) / 1e9, 3),
            }
        rejected = sum(self.rejected.values())
        return {
            "commands": self.commands,
            "accepted": self.commands - rejected,
            "rejected": rejected,
            "rejected_codes": dict(self.codes.most_common()),
            "engine_s": round(self.engine_ns / 1e9, 3),
            "wall_s": round(self.wall_s, 3),
            "setup_s": round(self.setup_s, 3),
            "commands_per_s": round(self.rate(), 1),
            "mean_us": round(self.engine_ns / 1e3 / max(1, self.commands), 2),
            "per_op": per_op,
            "events": dict(sorted(self.events.items())),
            "events_sha256": self.digest.hexdigest(),
            "state_hash": self.state_hash,
        }


def replay(name: str, setup: list, stream: list, ops: list[str]) -> PathResult:
    result = PathResult(name)
    engine = Engine()
    started = time.perf_counter()
    for command in setup:
        for event in engine.apply(command):
            if event["event"] == "rejected":
                raise SystemExit(f"setup command refused on the {name} path: {event}")
    result.setup_s = time.perf_counter() - started
    clock = time.perf_counter_ns
    apply = engine.apply
    times = result.times
    digest = result.digest
    gc.collect()
    started = time.perf_counter()
    for op, command in zip(ops, stream):
        t0 = clock()
        events = apply(command)
        elapsed = clock() - t0
        times[op].append(elapsed)
        result.engine_ns += elapsed
        for event in events:
            kind = event["event"]
            result.events[kind] += 1
            if kind == "rejected":
                result.rejected[op] += 1
                result.codes[f"{op}:{event['code']}"] += 1
        digest.update(_ENCODER.encode(events))
    result.wall_s = time.perf_counter() - started
    result.state_hash = engine.state_hash()
    return result


def baseline(lines: list[bytes], stream: list[dict]) -> dict[str, Any]:
    gc.collect()
    t0 = time.perf_counter_ns()
    touched = 0
    for line in lines:
        touched += _walk(_DECODER.decode(line))
    decode_ns = time.perf_counter_ns() - t0
    t0 = time.perf_counter_ns()
    for command in stream:
        touched += _walk(command)
    walk_ns = time.perf_counter_ns() - t0
    n = len(lines)
    return {
        "decode_and_walk": {"seconds": round(decode_ns / 1e9, 3), "commands_per_s": round(n / (decode_ns / 1e9), 1),
                            "mean_us": round(decode_ns / 1e3 / n, 3)},
        "dict_walk": {"seconds": round(walk_ns / 1e9, 3), "commands_per_s": round(n / (walk_ns / 1e9), 1),
                      "mean_us": round(walk_ns / 1e3 / n, 3)},
        "values_touched": touched,
    }


def _print_report(report: dict[str, Any]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a dependency of solvent
        print(json.dumps(report, indent=2))
        return
    console = Console(width=None if sys.stdout.isatty() else 132)
    cfg = report["config"]
    console.rule("[bold]solvent replay throughput")
    console.print(
        f"{cfg['commands']:,} commands after {report['setup_commands']:,} setup commands · {cfg['accounts']:,} accounts · "
        f"{cfg['markets']} markets · seed {cfg['seed']} · generated in {report['generate_s']:.2f} s · "
        f"{report['stream_bytes'] / 1e6:.1f} MB of JSON lines"
    )
    console.print(f"Python {report['python']} on {report['machine']} ({report['cpus']} CPUs), solvent {report['build']}")
    summary = Table(title="Throughput (engine time: the sum of the apply calls)", title_justify="left")
    summary.add_column("path")
    summary.add_column("commands/s", justify="right")
    summary.add_column("mean µs", justify="right")
    summary.add_column("engine s", justify="right")
    summary.add_column("wall s", justify="right")
    summary.add_column("accepted", justify="right")
    summary.add_column("rejected", justify="right")
    for key, label in (("dict", "apply(dict)"), ("text", "apply(json bytes)")):
        r = report["paths"].get(key)
        if r:
            summary.add_row(label, f"{r['commands_per_s']:,.0f}", f"{r['mean_us']:,.1f}", f"{r['engine_s']:.2f}",
                            f"{r['wall_s']:.2f}", f"{r['accepted']:,}", f"{r['rejected']:,}")
    b = report["baseline"]
    summary.add_row("[dim]baseline: json decode + walk", f"[dim]{b['decode_and_walk']['commands_per_s']:,.0f}",
                    f"[dim]{b['decode_and_walk']['mean_us']:.2f}", f"[dim]{b['decode_and_walk']['seconds']:.2f}", "", "", "")
    summary.add_row("[dim]baseline: dict walk", f"[dim]{b['dict_walk']['commands_per_s']:,.0f}",
                    f"[dim]{b['dict_walk']['mean_us']:.2f}", f"[dim]{b['dict_walk']['seconds']:.2f}", "", "", "")
    console.print(summary)
    for key, label in (("dict", "apply(dict)"), ("text", "apply(json bytes)")):
        r = report["paths"].get(key)
        if not r:
            continue
        table = Table(title=f"Per op type, {label}", title_justify="left")
        for column in ("op", "count", "share", "rejected", "mean µs", "p50 µs", "p99 µs", "max µs", "total s", "time share"):
            table.add_column(column, justify="left" if column == "op" else "right")
        for op, row in r["per_op"].items():
            table.add_row(op, f"{row['count']:,}", f"{row['count'] / r['commands']:.1%}", f"{row['rejected']:,}",
                          f"{row['mean_us']:,.1f}", f"{row['p50_us']:,.1f}", f"{row['p99_us']:,.1f}",
                          f"{row['max_us']:,.0f}", f"{row['total_s']:.2f}",
                          f"{row['total_s'] / max(r['engine_s'], 1e-9):.1%}")
        console.print(table)
    dict_path = report["paths"].get("dict", {})
    console.print(f"events (dict path): {dict_path.get('events')}")
    if dict_path.get("rejected_codes"):
        console.print(f"rejections: {dict_path['rejected_codes']}")
    verdict = report.get("deterministic")
    if verdict is not None:
        console.print("both paths: identical events and final state" if verdict
                      else "[bold red]the two paths DIFFER (events or final state)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=100_000, help="commands in the main stream (default 100000)")
    parser.add_argument("--accounts", type=int, default=2_000, help="accounts (default 2000)")
    parser.add_argument("--markets", type=int, default=3, help="markets (default 3: BTC, ETH, SOL; more are synthetic)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the stream (default 42)")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE")
    parser.add_argument("--jsonl", metavar="FILE", help="also write the stream (setup + main) as JSON lines to FILE")
    parser.add_argument("--skip-text", action="store_true", help="measure the dict path only")
    args = parser.parse_args(argv)

    config = ScenarioConfig(accounts=args.accounts, markets=args.markets, commands=args.commands, seed=args.seed)
    started = time.perf_counter()
    scenario = Scenario(config)
    setup = scenario.setup_commands()
    stream = list(scenario.commands())
    generate_s = time.perf_counter() - started
    ops = [c["op"] for c in stream]
    setup_lines = [_ENCODER.encode(c) for c in setup]
    lines = [_ENCODER.encode(c) for c in stream]
    if args.jsonl:
        with open(args.jsonl, "wb") as out:
            for line in setup_lines + lines:
                out.write(line + b"\n")

    report: dict[str, Any] = {
        "config": {"commands": args.commands, "accounts": args.accounts, "markets": args.markets, "seed": args.seed,
                   "trade_share": config.trade_share, "price_share": config.price_share},
        "setup_commands": len(setup),
        "stream_ops": dict(Counter(ops).most_common()),
        "stream_bytes": sum(len(line) + 1 for line in lines),
        "generate_s": round(generate_s, 3),
        "python": platform.python_version(),
        "build": solvent.build(),
        "machine": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "baseline": baseline(lines, stream),
        "paths": {},
    }
    results = {"dict": replay("dict", setup, stream, ops)}
    if not args.skip_text:
        results["text"] = replay("text", setup_lines, lines, ops)
    report["paths"] = {key: r.as_dict() for key, r in results.items()}
    if "text" in results:
        d, t = report["paths"]["dict"], report["paths"]["text"]
        report["deterministic"] = d["events_sha256"] == t["events_sha256"] and d["state_hash"] == t["state_hash"]
    _print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report.get("deterministic", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
