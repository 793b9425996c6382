"""`solvent demo` on a small book: it runs, its summary agrees with the engine's state, and
the crash liquidates accounts, with the waterfall behind them."""

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


def test_crash_liquidates(demo) -> None:
    summary, engine, _ = demo
    assert summary["margin_calls"] >= 1
    assert summary["trades"] > 300
    assert summary["trades_rejected"] <= summary["trades"] * 0.02
    liquidation = summary["liquidation"]
    assert liquidation["liquidations"] >= 1 and liquidation["accounts_liquidated"] >= 1
    assert liquidation["liquidating_ticks"] >= 1
    # every breach was liquidated before the next command: none is left at the end
    assert summary["liquidatable"] == 0 and not engine.monitor.liquidatable
    # the fund's path ends at what the backstop is worth now
    fund = liquidation["insurance_fund"]
    assert len(fund["path"]) == summary["ticks"] + 1
    assert fund["end"] == pytest.approx(float(engine.account("@insurance")["equity"]), abs=0.01)
    assert fund["low"] <= fund["end"] and fund["low"] <= fund["start"]


def test_top_lists_are_consistent(demo) -> None:
    summary, engine, _ = demo
    state = engine.state_document()
    losses = [row["unrealized_pnl"] for row in summary["largest_losses"]]
    assert losses == sorted(losses) and len(losses) == 10
    worst = summary["largest_losses"][0]
    pnl = sum(Decimal(p["unrealized_pnl"]) for p in state["accounts"][worst["account"]]["positions"].values())
    assert float(pnl) == pytest.approx(worst["unrealized_pnl"], abs=0.01)
    assert len(summary["at_risk"]) == 10
    for row in summary["at_risk"]:
        entry = state["accounts"][row["account"]]
        assert entry["positions"]
        assert {p["market"] for p in row["positions"]} == set(entry["positions"])
        for p in row["positions"]:
            assert p["liquidation_price"] == entry["positions"][p["market"]]["liquidation_price"]
    q = summary["equity_quantiles"]
    assert q["min"] <= q["p25"] <= q["p50"] <= q["p75"] <= q["max"]


def test_output_is_readable(demo) -> None:
    _, _, text = demo
    for heading in ("Equity distribution", "Largest losses", "Closest to liquidation", "Largest liquidations",
                    "liquidations", "insurance fund", "bad debt", "margin calls"):
        assert heading in text


def test_same_seed_same_run() -> None:
    first = run_demo(accounts=60, seed=3, ticks=12, console=Console(file=io.StringIO()))
    second = run_demo(accounts=60, seed=3, ticks=12, console=Console(file=io.StringIO()))
    for key in ("state_hash", "liquidatable", "margin_calls", "equity_quantiles", "largest_losses"):
        assert first[key] == second[key]
