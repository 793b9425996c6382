"""`solvent demo` on a small book: it runs, its summary agrees with the engine's state, and
the crash puts accounts at risk."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from rich.console import Console

from solvent import Engine
from solvent.cli.demo import run_demo


def _in_breach(entry: dict) -> bool:
    return bool(entry["liquidatable"]) or any(p.get("liquidatable") for p in entry["positions"].values())


@pytest.fixture(scope="module")
def demo() -> tuple[dict, Engine, str]:
    engine = Engine()
    out = io.StringIO()
    summary = run_demo(accounts=300, seed=7, ticks=40, console=Console(file=out, width=140), engine=engine)
    return summary, engine, out.getvalue()


def test_summary_matches_the_state(demo) -> None:
    summary, engine, _ = demo
    state = engine.state_document()
    users = {a: e for a, e in state["accounts"].items() if not a.startswith("@")}
    breached = sorted(a for a, e in users.items() if _in_breach(e))
    assert summary["liquidatable"] == len(breached)
    assert summary["liquidatable_accounts"] == breached
    assert summary["monitor_liquidatable"] == len(breached)  # the live count agrees with the exact state
    assert summary["accounts"] == len(users)
    assert summary["traders"] == 300
    assert summary["positions"] == sum(len(e["positions"]) for e in users.values())
    assert summary["ledger_balanced"] is True and state["ledger"]["balanced"]
    assert summary["state_hash"] == state["ledger"]["hash"]
    assert summary["ticks"] == 40
    assert summary["commands"] == engine.state.commands  # every command the demo sent reached the engine


def test_crash_puts_accounts_at_risk(demo) -> None:
    summary, _, _ = demo
    assert summary["margin_calls"] >= 1
    assert summary["peak_liquidatable"] >= summary["liquidatable"] >= 1
    assert summary["trades"] > 300
    assert summary["trades_rejected"] <= summary["trades"] * 0.02


def test_top_lists_are_consistent(demo) -> None:
    summary, engine, _ = demo
    state = engine.state_document()
    losses = [row["unrealized_pnl"] for row in summary["largest_losses"]]
    assert losses == sorted(losses) and len(losses) == 10
    worst = summary["largest_losses"][0]
    pnl = sum(Decimal(p["unrealized_pnl"]) for p in state["accounts"][worst["account"]]["positions"].values())
    assert float(pnl) == pytest.approx(worst["unrealized_pnl"], abs=0.01)
    assert 1 <= len(summary["at_risk"]) <= 10
    for row in summary["at_risk"]:
        entry = state["accounts"][row["account"]]
        assert _in_breach(entry)
        assert {p["market"] for p in row["positions"]} == set(entry["positions"])
        for p in row["positions"]:
            assert p["liquidation_price"] == entry["positions"][p["market"]]["liquidation_price"]
    q = summary["equity_quantiles"]
    assert q["min"] <= q["p25"] <= q["p50"] <= q["p75"] <= q["max"]


def test_output_is_readable(demo) -> None:
    _, _, text = demo
    for heading in ("Equity distribution", "Largest losses", "Would be liquidated", "liquidatable", "margin calls"):
        assert heading in text


def test_same_seed_same_run() -> None:
    first = run_demo(accounts=60, seed=3, ticks=12, console=Console(file=io.StringIO()))
    second = run_demo(accounts=60, seed=3, ticks=12, console=Console(file=io.StringIO()))
    for key in ("state_hash", "liquidatable", "margin_calls", "equity_quantiles", "largest_losses"):
        assert first[key] == second[key]
