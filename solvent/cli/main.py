"""The `solvent` command."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from .replay import ReplayError, open_input, open_output, replay, write_state

app = typer.Typer(
    add_completion=False,
    rich_markup_mode="markdown",
    no_args_is_help=True,
    help="solvent: an automated margin accounting engine. Exact double-entry ledger, tiered "
    "cross and isolated margin, deterministic replay. See README.md and docs/.",
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


@app.command("replay")
def replay_command(
    commands: str = typer.Argument(..., help="JSONL file of commands, one JSON object per line (SPEC §2); '-' reads stdin."),
    events_out: str | None = typer.Option(None, "--events-out", help="Write every event as a JSON line to this file ('-': stdout)."),
    state_out: str | None = typer.Option(None, "--state-out", help="Write the final state (SPEC §4) as JSON to this file ('-': stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not report rejected lines on stderr."),
) -> None:
    """Apply a command stream and write the events and the final state.

    Every line is applied in order; a bad line (malformed JSON, unknown op, invalid number,
    failed margin check...) is answered by a `rejected` event naming its code and changes
    nothing, and the replay goes on. Rejections are listed on stderr with their line number.
    The same file always gives byte-identical events and state.
    """
    try:
        source = open_input(commands)
        sink = open_output(events_out) if events_out else None

        def report(line: int, event: dict) -> None:
            if not quiet:
                _err.print(f"line {line}: rejected [{event['code']}] {event['message']}", markup=False)

        try:
            engine, summary = replay(source, sink, on_rejected=report)
        finally:
            if sink is not None and sink is not sys.stdout.buffer:
                sink.close()
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
