"""Journal throughput and recovery time (issue #6).

Four measurements, each printed and written to the JSON report:

1. store append: records (real command lines of the seeded stream, hashed and chained)
   appended with group commit, per batch size, without the engine: the journal's own limit;
2. journaled replay: the same stream through `JournalWriter` (engine + records + group
   commit + snapshots) beside the engine alone, so the overhead of durability is visible;
3. recovery: `recover()` on the journal written in (2), from its newest snapshot, with the
   longest possible tail (snapshot_every − 1 commands) and with none, and a full replay;
4. a journal of `--store-records` (default 1,000,000) records written by the store directly
   (synthetic `time` commands): opening it, finding its end and newest snapshot, and reading
   a tail, to show what the journal's length itself costs recovery.

    .venv/bin/python benchmarks/journal_throughput.py --json journal.json
    .venv/bin/python benchmarks/journal_throughput.py --commands 100000 --postgres "host=/tmp/pg port=5432 dbname=x"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:  # the installed solvent (pure, or compiled by tools/install-compiled.sh)...
    import solvent  # noqa: F401
except ImportError:  # ...or the checkout's, run without installing
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from solvent import Engine  # noqa: E402
from solvent.engine.snapshot import restore, snapshot  # noqa: E402
from solvent.simulation.scenario import Scenario, ScenarioConfig  # noqa: E402
from solvent.storage import JournalSettings, JournalWriter, open_store, recover  # noqa: E402
from solvent.storage.records import GENESIS, events_bytes, make_record, make_snapshot  # noqa: E402


def stream_lines(commands: int, accounts: int, seed: int) -> list[bytes]:
    scenario = Scenario(ScenarioConfig(accounts=accounts, commands=commands, seed=seed))
    encode = msgspec.json.Encoder().encode
    return [encode(c) for c in scenario.setup_commands()] + [encode(c) for c in scenario.commands()]


def store_append(target: str, lines: list[bytes], batch: int, limit: int) -> dict[str, Any]:
    """Records/s of hashing + appending `limit` records in batches of `batch` (no engine)."""
    store = open_store(target)
    try:
        chain, seq, pending = GENESIS, store.length(), []
        count = 0
        started = time.perf_counter()
        while count < limit:
            line = lines[count % len(lines)]
            record = make_record(seq, chain, line, b"")
            chain, seq = record.chain, seq + 1
            pending.append(record)
            count += 1
            if len(pending) == batch:
                store.append(pending)
                pending = []
        if pending:
            store.append(pending)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {"batch": batch, "records": count, "seconds": round(seconds, 3), "records_per_s": round(count / seconds)}


def engine_alone(lines: list[bytes]) -> dict[str, Any]:
    engine = Engine()
    started = time.perf_counter()
    for line in lines:
        events_bytes(engine.apply(line))
    seconds = time.perf_counter() - started
    return {"commands": len(lines), "seconds": round(seconds, 3), "commands_per_s": round(len(lines) / seconds),
            "state_hash": engine.state_hash()}


def journaled(target: str, lines: list[bytes], settings: JournalSettings) -> dict[str, Any]:
    store = open_store(target)
    try:
        engine = Engine()
        writer = JournalWriter(store, engine, GENESIS, settings)
        started = time.perf_counter()
        for line in lines:
            writer.apply(line)
        writer.commit()
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(target).parent.glob(Path(target).name + "*")) if "=" not in target else None
    finally:
        store.close()
    return {"commands": len(lines), "seconds": round(seconds, 3), "commands_per_s": round(len(lines) / seconds),
            "commits": writer.commits, "batch": settings.batch, "snapshot_every": settings.snapshot_every,
            "state_hash": engine.state_hash(), "bytes_on_disk": size}


def timed_recovery(target: str, **options: Any) -> dict[str, Any]:
    started = time.perf_counter()
    store = open_store(target, create=False)
    try:
        recovery = recover(store, **options)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "commands": recovery.length, "snapshot": recovery.snapshot,
            "replayed": recovery.replayed, "state_hash": recovery.engine.state_hash()}


def big_store(target: str, records: int, state: bytes, state_hash: str) -> dict[str, Any]:
    """A journal of `records` synthetic records with a snapshot at the end; what opening it,
    finding the end and the newest snapshot, and reading the last 10,000 records cost."""
    build = store_append(target, [b'{"op":"time","ts":%d}' % i for i in range(1000)], 10_000, records)
    store = open_store(target)
    try:
        last = store.record(records - 1)
        assert last is not None
        store.append([], make_snapshot(records, last.chain, state, state_hash))
    finally:
        store.close()
    started = time.perf_counter()
    store = open_store(target, create=False)
    try:
        length = store.length()
        newest = store.snapshot_seqs()[0]
        snap = store.snapshot(newest)
        found = time.perf_counter() - started
        tail = sum(1 for _ in store.records(length - 10_000))
        read_tail = time.perf_counter() - started - found
    finally:
        store.close()
    assert snap is not None and tail == 10_000
    started = time.perf_counter()
    restore(snap.state)
    restored = time.perf_counter() - started
    return {"records": length, "build": build, "open_find_end_and_snapshot_s": round(found, 4),
            "read_10000_tail_records_s": round(read_tail, 4), "restore_snapshot_s": round(restored, 4),
            "snapshot_bytes": len(snap.state)}


def _empty(target: str) -> None:
    store = open_store(target)
    try:
        store.truncate(0)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=30_000, help="commands of the seeded stream (default 30000)")
    parser.add_argument("--accounts", type=int, default=2_000, help="accounts (default 2000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch", type=int, default=1000, help="group-commit batch of the journaled replay")
    parser.add_argument("--snapshot-every", type=int, default=10_000)
    parser.add_argument("--store-records", type=int, default=1_000_000, help="records of the synthetic big journal")
    parser.add_argument("--postgres", metavar="CONNINFO", help="also measure the PostgreSQL store (an empty database)")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE")
    args = parser.parse_args(argv)

    lines = stream_lines(args.commands, args.accounts, args.seed)
    report: dict[str, Any] = {
        "config": vars(args) | {"postgres": bool(args.postgres), "stream_commands": len(lines)},
        "python": platform.python_version(), "machine": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="solvent-bench-") as tmp:
        report["store_append_sqlite"] = [store_append(f"{tmp}/append{b}.db", lines, b, min(len(lines), 2_000 * b))
                                         for b in (1, 10, 100, 1000)]
        if args.postgres:
            report["store_append_postgres"] = [store_append(args.postgres, lines, b, min(len(lines), 500 * b))
                                               for b in (1, 100, 1000)]
        report["engine_alone"] = engine_alone(lines)
        settings = JournalSettings(batch=args.batch, snapshot_every=args.snapshot_every, keep_snapshots=3)
        report["journaled_sqlite"] = journaled(f"{tmp}/journal.db", lines, settings)
        report["engine_alone_again"] = engine_alone(lines)  # the machine is shared: bracket the journaled run
        assert report["journaled_sqlite"]["state_hash"] == report["engine_alone"]["state_hash"]
        target = f"{tmp}/journal.db"
        recovery: dict[str, Any] = {"newest_snapshot_tail": timed_recovery(target)}
        store = open_store(target)
        try:  # cut the journal just before its newest snapshot: the tail from the one before is longest
            seqs = store.snapshot_seqs()
            if len(seqs) >= 2:
                store.truncate(seqs[0] - 1)
        finally:
            store.close()
        recovery["longest_tail"] = timed_recovery(target)
        recovery["full_replay"] = timed_recovery(target, use_snapshots=False)
        report["recovery_sqlite"] = recovery
        engine = Engine()
        for line in lines:
            engine.apply(line)
        report["big_journal_sqlite"] = big_store(f"{tmp}/big.db", args.store_records, snapshot(engine), engine.state_hash())
        if args.postgres:
            _empty(args.postgres)  # the append measurement above left its records there
            report["journaled_postgres"] = journaled(args.postgres, lines[: min(len(lines), 20_000)], settings)
    _print(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _print(report: dict[str, Any]) -> None:
    print(f"stream: {report['config']['stream_commands']} commands, {report['config']['accounts']} accounts")
    for row in report["store_append_sqlite"]:
        print(f"store append (SQLite, no engine), batch {row['batch']:>5}: {row['records_per_s']:>9,} records/s")
    for row in report.get("store_append_postgres", []):
        print(f"store append (PostgreSQL, no engine), batch {row['batch']:>5}: {row['records_per_s']:>9,} records/s")
    e, j = report["engine_alone"], report["journaled_sqlite"]
    print(f"engine alone:               {e['commands_per_s']:>9,} commands/s "
          f"(again after the journaled run: {report['engine_alone_again']['commands_per_s']:,})")
    print(f"journaled replay (SQLite):  {j['commands_per_s']:>9,} commands/s  ({j['commits']} commits)")
    if "journaled_postgres" in report:
        print(f"journaled replay (PostgreSQL): {report['journaled_postgres']['commands_per_s']:>6,} commands/s")
    for name, row in report["recovery_sqlite"].items():
        print(f"recovery, {name:<22} {row['seconds']:>7.2f} s  ({row['replayed']} commands replayed, "
              f"snapshot {row['snapshot']})")
    big = report["big_journal_sqlite"]
    print(f"big journal: {big['records']:,} records; open + end + snapshot {big['open_find_end_and_snapshot_s']} s, "
          f"read 10,000 tail records {big['read_10000_tail_records_s']} s, restore snapshot "
          f"{big['restore_snapshot_s']} s ({big['snapshot_bytes']:,} bytes)")


if __name__ == "__main__":
    raise SystemExit(main())
