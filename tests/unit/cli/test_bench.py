"""`solvent bench` at a small size (the CI smoke run): it builds the book, its figures are
consistent with the engine, and the screen's decisions equal the exact model's. No timing
is asserted."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from solvent.cli.bench import run_bench
from solvent.cli.main import app
from solvent.simulation.bench_book import BenchBook


def test_bench_book_is_zipf_and_balanced():
    """About half the accounts hold the top market; every market nets to zero."""
    _, stream = BenchBook(4000, 50, seed=3).book()
    holdings = list(stream)
    holders = {h.account for h in holdings if h.market == "M000-PERP" and not h.account.startswith("mm-")}
    assert 0.35 * 4000 < len(holders) < 0.65 * 4000
    totals: dict[str, list] = {}
    for h in holdings:
        size, cost = totals.setdefault(h.market, [0, 0])
        totals[h.market] = [size + h.size, cost + h.cost]
    assert len(totals) == 50 and all(size == 0 and cost == 0 for size, cost in totals.values())


def test_bench_book_streams_replay_the_same_draws():
    """The balances and the holdings are two streams over the same draws: every trader with
    a position has a balance, and a second pass gives the same book."""
    book = BenchBook(3000, 40, seed=9)
    balances, holdings = list(book.balances()), list(book.holdings())
    assert (balances, holdings) == tuple(list(stream) for stream in book.book())
    funded = {account for account, _, units in balances if units > 0}
    assert {h.account for h in holdings} <= funded
    assert len({account for account, _, _ in balances}) == 3000 + book.makers


def test_small_bench_agrees_with_the_exact_model(tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--accounts", "20000", "--markets", "200", "--ticks", "60",
                                      "--trades", "300", "--json", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["decisions_agree"] is True
    assert figures["liquidatable"] > 0  # the path down puts accounts in breach: the agreement is not vacuous
    assert figures["ledger_balanced"] is True
    assert figures["accounts"] == 20000 and figures["screen_rows"] >= 20000
    assert figures["trades_accepted"] > 0
    # every account that crossed was a candidate at zero; the rest only left a tier interval
    assert 0 < figures["candidates_at_zero"] <= figures["candidates_total"]
    # some crossings at zero were proved in floats; the rest of the at-zero ones were evaluated
    assert 0 < figures["candidates_flipped"] < figures["candidates_at_zero"]
    # margin calls the floats proved are evaluated for their event only (not re-anchored)
    assert 0 < figures["candidates_calls_flipped"] < figures["candidates_at_zero"] - figures["candidates_flipped"]
    assert 0 < figures["exact_rows_per_tick_max"] <= figures["candidates_per_tick_max"]
    for key in ("full_scan_ms", "tick_p50_ms", "tick_p99_ms", "exact_scan_ms_per_1m", "trades_per_s", "peak_rss_mb"):
        assert figures[key] > 0
    assert "decisions_agree" in result.output


def test_run_bench_is_seeded():
    first = run_bench(accounts=500, markets=20, seed=5, ticks=20, trades=50, sample=100)
    second = run_bench(accounts=500, markets=20, seed=5, ticks=20, trades=50, sample=100)
    for key in ("positions", "liquidatable", "tick_events", "trades_accepted", "top_market_holders",
                "candidates_total", "candidates_at_zero", "candidates_retiered", "candidates_flipped",
                "candidates_calls_flipped", "exact_rows_per_tick_max"):
        assert first[key] == second[key]


def test_tick_path_benchmark_applies_the_bench_ticks():
    """`benchmarks/tick_path.py` times the same ticks on the same book as `solvent bench`:
    the same events, the same rows carried across tiers and flipped, the same margin calls
    proved in floats."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "tick_path.py"
    spec = importlib.util.spec_from_file_location("tick_path", path)
    assert spec is not None and spec.loader is not None
    tick_path = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tick_path)
    alone = tick_path.run(accounts=3000, markets=20, seed=4, ticks=60)
    bench = run_bench(accounts=3000, markets=20, seed=4, ticks=60, trades=10, sample=100)
    assert alone["events"] == bench["tick_events"] > 0
    assert (alone["retiered"], alone["flipped"], alone["calls_flipped"]) == (
        bench["candidates_retiered"], bench["candidates_flipped"], bench["candidates_calls_flipped"])
    assert alone["retiered"] > 0 and alone["flipped"] > 0 and alone["calls_flipped"] > 0
    assert len(alone["per_tick_ms"]) == 60 and alone["ticks"] == 60
