"""The `solvent` command."""

from __future__ import annotations


import typer
from rich.console import Console

from .replay import ReplayError, close_output, open_input, open_output, replay, write_state

app = typer.Typer(
    add_completion=False,
    rich_markup_mode="markdown",
    no_args_is_help=True,
    help="solvent: an automated margin accounting engine. Exact double-entry ledger, tiered "
    "cross and isolated margin, liquidation with the loss waterfall, oracle guards, a durable "
    "journal, deterministic replay. See README.md and docs/.",
)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"solvent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """solvent: an automated margin accounting engine."""


_DB_HELP = (
    "Journal every command to this database and resume where a previous run stopped: a SQLite file "
    "(created if absent) or a PostgreSQL URL (postgresql://…). See docs/OPERATIONS.md."
)


@app.command("replay")
def replay_command(
    commands: str = typer.Argument(..., help="JSONL file of commands, one JSON object per line (SPEC §2); '-' reads stdin."),
    events_out: str | None = typer.Option(None, "--events-out", help="Write every event as a JSON line to this file ('-': stdout)."),
    state_out: str | None = typer.Option(None, "--state-out", help="Write the final state (SPEC §4) as JSON to this file ('-': stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not report rejected lines on stderr."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    batch: int = typer.Option(1000, "--batch", min=1, max=1_000_000, help="With --db: commands per durable transaction at most (group commit); a batch is also committed whenever the input pauses."),
    snapshot_every: int = typer.Option(10_000, "--snapshot-every", min=0, help="With --db: write a snapshot every N commands (0: never)."),
    keep_snapshots: int = typer.Option(3, "--keep-snapshots", min=0, help="With --db: keep the newest N snapshots (0: all)."),
    new_events_only: bool = typer.Option(False, "--new-events-only", help="With --db: write only the events of the commands this run applies (by default a resumed run first copies the journal's events, so the file holds the whole stream)."),
) -> None:
    """Apply a command stream and write the events and the final state.

    Every line is applied in order; a bad line (malformed JSON, unknown op, invalid number,
    failed margin check...) is answered by a `rejected` event naming its code and changes
    nothing, and the replay goes on. Rejections are listed on stderr with their line number.
    The same file always gives byte-identical events and state.

    With `--db`, every command is journaled, and its events are written only once its
    journal record is durable. If the database already holds a prefix of this stream (the
    same commands at the same positions), the replay resumes after it: killed and restarted
    any number of times, each command is applied exactly once.
    """
    try:
        source = open_input(commands)
        if db is not None:
            from ..storage import JournalSettings

            settings = JournalSettings(batch=batch, snapshot_every=snapshot_every, keep_snapshots=keep_snapshots)
            _durable_replay(source, db, events_out, state_out, quiet, settings, new_events_only)
            return
        sink = open_output(events_out) if events_out else None

        def report(line: int, event: dict) -> None:
            if not quiet:
                _err.print(f"line {line}: rejected [{event['code']}] {event['message']}", markup=False)

        try:
            engine, summary = replay(source, sink, on_rejected=report)
        finally:
            close_output(sink)
        if state_out:
            write_state(engine, state_out)
    except ReplayError as error:
        _err.print(f"solvent replay: {error}", markup=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    _err.print(
        f"{summary.commands} commands, {summary.commands - summary.rejected} applied, "
        f"{summary.rejected} rejected, {summary.events} events",
        markup=False,
    )


def _durable_replay(source, db: str, events_out: str | None, state_out: str | None, quiet: bool, settings,
                    new_events_only: bool) -> None:
    from ..storage import StoreError, open_store
    from .durable import JournalMismatch, durable_replay

    def report(line: int, event: dict) -> None:
        if not quiet:
            _err.print(f"line {line}: rejected [{event['code']}] {event['message']}", markup=False)

    try:
        store = open_store(db)
    except StoreError as error:
        _err.print(f"solvent replay: {error}", markup=False)
        raise typer.Exit(3) from None
    sink = None
    try:
        sink = open_output(events_out) if events_out else None
        engine, summary = durable_replay(source, store, sink, settings, new_events_only, on_rejected=report)
    except (StoreError, JournalMismatch) as error:
        _err.print(f"solvent replay: {error}", markup=False)
        raise typer.Exit(3) from None
    finally:
        close_output(sink)
        store.close()
    for note in summary.notes:
        _err.print(f"solvent replay: {note}", markup=False)
    if state_out:
        write_state(engine, state_out)
    resumed = f"resumed after {summary.resumed} journaled commands, " if summary.resumed else ""
    _err.print(
        f"{resumed}{summary.commands} commands, {summary.commands - summary.rejected} applied, "
        f"{summary.rejected} rejected, {summary.events} events; journal {db}: "
        f"{summary.resumed + summary.commands} commands in total",
        markup=False,
    )


def _open_existing(db: str, command: str):
    from ..storage import StoreError, open_store

    try:
        return open_store(db, create=False)
    except StoreError as error:
        _err.print(f"solvent {command}: {error}", markup=False)
        raise typer.Exit(3) from None


_DB_READ_HELP = "The journal database: a SQLite file or a PostgreSQL URL (postgresql://…)."


@app.command("state")
def state_command(
    db: str = typer.Option(..., "--db", help=_DB_READ_HELP),
    state_out: str = typer.Option("-", "--state-out", help="Write the state (SPEC §4) as JSON to this file ('-': stdout, the default)."),
    full: bool = typer.Option(False, "--full", help="Ignore snapshots: replay the whole journal from its first record."),
) -> None:
    """Rebuild the state from a journal: the newest good snapshot plus the records after it.

    A damaged snapshot is skipped in favour of an older one (or a full replay); a damaged
    record ends the good prefix, and the state is that of the commands before it (reported on
    stderr, exit status 1; `solvent replay FILE --db DB` cuts the damaged tail off and applies
    those commands again from FILE). Nothing in the database is changed.
    """
    from ..storage import StoreError, recover

    store = _open_existing(db, "state")
    try:
        recovery = recover(store, use_snapshots=not full)
    except StoreError as error:
        _err.print(f"solvent state: {error}", markup=False)
        raise typer.Exit(3) from None
    finally:
        store.close()
    try:
        write_state(recovery.engine, state_out)
    except ReplayError as error:
        _err.print(f"solvent state: {error}", markup=False)
        raise typer.Exit(2) from None
    start = f"snapshot at {recovery.snapshot}" if recovery.snapshot is not None else "the first record"
    _err.print(
        f"{recovery.length} commands: from {start}, replayed {recovery.replayed} in {recovery.seconds:.2f} s; "
        f"hash {recovery.engine.state_hash()}",
        markup=False,
    )
    for problem in recovery.problems:
        _err.print(f"solvent state: {problem}", markup=False)
    if recovery.damaged:
        _err.print(
            f"solvent state: the journal holds {recovery.stored} records but record {recovery.length} is damaged: "
            f"this is the state of the first {recovery.length} commands",
            markup=False,
        )
    if recovery.divergence is not None:
        _err.print(f"solvent state: replay differs from the journal at {recovery.divergence.describe()}", markup=False)
    if recovery.damaged or recovery.divergence is not None:
        raise typer.Exit(1)


@app.command("verify")
def verify_command(
    db: str = typer.Option(..., "--db", help=_DB_READ_HELP),
) -> None:
    """Replay the whole journal from scratch and check it: every record's checksum and chain,
    every command's events against the recorded ones, every snapshot (checksum, and its bytes
    against the replayed state), and that snapshot-plus-tail recovery ends in the same state.

    Prints the number of commands and the final state hash; on the first problem, its command
    index and what differs, with exit status 1. Nothing in the database is changed."""
    from ..storage import StoreError, verify

    store = _open_existing(db, "verify")
    try:
        report = verify(store)
    except StoreError as error:
        _err.print(f"solvent verify: {error}", markup=False)
        raise typer.Exit(3) from None
    finally:
        store.close()
    for note in report.notes:
        _err.print(f"solvent verify: {note}", markup=False)
    if report.divergence is not None:
        _err.print(f"solvent verify: FAILED at {report.divergence.describe()}", markup=False)
        _err.print(f"{report.records} commands verified before it", markup=False)
        raise typer.Exit(1)
    typer.echo(
        f"ok: {report.records} commands, {report.snapshots_checked} snapshots checked, "
        f"final hash {report.final_hash} ({report.seconds:.2f} s)"
    )


@app.command("events")
def events_command(
    db: str = typer.Option(..., "--db", help=_DB_READ_HELP),
    out: str = typer.Option("-", "--out", help="Write the events here ('-': stdout, the default)."),
    start: int = typer.Option(0, "--from", min=0, help="Start at this command index (seq)."),
) -> None:
    """Write the events the journal recorded, as JSON lines, in order: the same bytes
    `solvent replay --events-out` wrote for those commands."""
    from ..storage import StoreError

    store = _open_existing(db, "events")
    sink = None
    try:
        sink = open_output(out)
        for record in store.records(start):
            sink.write(record.events)
    except (StoreError, ReplayError) as error:
        _err.print(f"solvent events: {error}", markup=False)
        raise typer.Exit(3) from None
    finally:
        close_output(sink)
        store.close()


@app.command("bench")
def bench_command(
    accounts: int = typer.Option(1_000_000, "--accounts", min=100, max=5_000_000, help="Accounts in the seeded book."),
    markets: int = typer.Option(200, "--markets", min=1, max=1000, help="Markets, with Zipf popularity (the top one is held by about half the accounts)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the book, the ticks and the trades."),
    ticks: int = typer.Option(200, "--ticks", min=10, help="Price commands on the most-held market."),
    trades: int = typer.Option(20_000, "--trades", min=0, help="Trades through Engine.apply."),
    json_out: str | None = typer.Option(None, "--json", help="Write every figure as JSON to this file."),
) -> None:
    """Measure the real-time risk path on a large seeded book: the bulk load, a full re-anchor
    scan, price ticks on the most-held market (p50/p99, with candidate confirmation and
    events), the exact model scaled to a million accounts, trades per second, peak memory,
    and whether the screen's liquidatable set equals the exact model's on the whole book.
    Prints a table beside the targets and writes JSON. See docs/PERFORMANCE.md."""
    import json

    from rich.table import Table

    from .bench import TARGETS, run_bench

    console = Console()
    with console.status("building") as status:
        result = run_bench(accounts=accounts, markets=markets, seed=seed, ticks=ticks, trades=trades,
                           progress=lambda message: status.update(message))
    table = Table(title=f"solvent bench: {result['accounts']:,} accounts, {result['positions']:,} positions, "
                        f"{result['markets']} markets (seed {seed})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target (at 1M)", justify="right")
    for key in ("load_s", "full_scan_ms", "tick_p50_ms", "tick_p99_ms", "screen_tick_p50_ms", "candidates_per_tick_p50",
                "candidates_total", "candidates_at_zero", "candidates_retiered",
                "candidates_flipped", "exact_rows_per_tick_max", "exact_scan_ms_per_1m", "speedup_tick_vs_exact",
                "trades_per_s", "peak_rss_mb", "decisions_agree", "liquidatable", "top_market_holders", "kernel", "build"):
        value = result[key]
        target = TARGETS.get(key)
        shown = f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        table.add_row(key, shown, f"{target[0]} {target[1]:,}" if target else "")
    console.print(table)
    console.print(f"baseline (same run): the exact model would take {result['exact_scan_ms_per_1m']:,} ms per "
                  f"million accounts; a tick took {result['tick_p50_ms']} ms at the median.")
    if json_out:
        with open(json_out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2, sort_keys=True)
            handle.write("\n")


@app.command("demo")
def demo_command(
    accounts: int = typer.Option(3000, "--accounts", min=10, max=200_000, help="Accounts in the seeded book."),
    seed: int = typer.Option(7, "--seed", help="Seed of the book and the price path: the same seed, the same run."),
) -> None:
    """Build a seeded book over three markets and play a price path with a crash: accounts
    in breach are liquidated as the ticks arrive, with the insurance fund and ADL behind them.
    Shows the liquidations live and ends with a summary: liquidations, fees, bad debt, ADL,
    the insurance fund over the crash, the equity distribution, the largest losses, and the
    accounts closest to liquidation with their liquidation prices. Runs on the embedded
    default (no database, no server) in well under a minute."""
    from .demo import run_demo

    run_demo(accounts=accounts, seed=seed, console=Console())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
