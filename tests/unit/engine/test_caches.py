"""The engine's derived caches change no outcome.

Position figures and screen legs are cached for accounts with many positions
(`solvent.engine.state.FIGURE_CACHE_FROM`), and oracle usability per (oracle, time). An engine
that caches for every account must emit the very same events and reach the very same state
as one that never caches, command by command, over streams with trades, price moves,
funding, isolated margin, deposits, withdrawals and liquidations.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

import solvent.engine.state as engine_state
from solvent import Engine
from solvent.risk.screen import HealthScreen
from solvent.domain.numbers import ARITHMETIC
from solvent.domain.position import Position
from solvent.engine import checks, trading
from solvent.margin.figures import cross_figures
from solvent.simulation.scenario import Scenario, ScenarioConfig

from ._steps import ok


def _stream(config: ScenarioConfig) -> list[dict]:
    """The scenario, then a crash and a rally in every market, in steps of 10 %."""
    scenario = Scenario(config)
    commands = [*scenario.setup_commands(), *scenario.commands()]
    last = {c["oracle"]: Decimal(c["price"]) for c in commands if c["op"] == "price"}
    for factor in ("0.9", "0.9", "0.9", "0.9", "1.1", "1.1", "1.1", "1.1", "1.1", "1.1"):
        for oracle in sorted(last):
            last[oracle] = (last[oracle] * Decimal(factor)).quantize(Decimal("0.01"))
            commands.append({"op": "price", "oracle": oracle, "price": str(last[oracle])})
    return commands


def _run(config: ScenarioConfig, cache_from: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list[str], Engine]:
    monkeypatch.setattr(engine_state, "FIGURE_CACHE_FROM", cache_from)
    engine = Engine()
    events: list = []
    hashes: list[str] = []
    for number, command in enumerate(_stream(config)):
        events.append(engine.apply(command))
        if number % 50 == 0:
            hashes.append(engine.state_hash())
    hashes.append(engine.state_hash())
    return events, hashes, engine


@pytest.mark.parametrize("seed", [3, 11])
def test_caching_every_account_changes_nothing(seed, monkeypatch):
    config = ScenarioConfig(accounts=40, markets=3, commands=1500, seed=seed, leverage=(3.0, 12.0))
    cached_events, cached_hashes, cached = _run(config, 1, monkeypatch)
    assert cached.state.figure_caches, "the cache was not exercised"
    plain_events, plain_hashes, plain = _run(config, 10**9, monkeypatch)
    assert not plain.state.figure_caches
    assert cached_events == plain_events
    assert cached_hashes == plain_hashes
    assert cached.monitor.liquidatable == plain.monitor.liquidatable
    assert cached.monitor.margin_called == plain.monitor.margin_called
    assert any(e["event"] in ("liquidation", "margin_call") for events in cached_events for e in events), \
        "the stream should reach margin calls or liquidations"
    # the screen's rows hold the same lines: its float estimates agree to float precision
    assert {unit for unit, _ in cached.monitor.unit_rows()} == {unit for unit, _ in plain.monitor.unit_rows()}
    for unit, row in plain.monitor.unit_rows():
        expected = plain.monitor.screen.estimate(row)
        got = cached.monitor.screen.estimate(cached.monitor.row_of(unit))
        for a, b in zip(got, expected):
            assert abs(a - b) <= 1e-9 * (1 + abs(b)), (unit, got, expected)


class JudgingScreen(HealthScreen):
    """The screen, recording while `judged` is a list every side judged on it: (its row,
    whether the row was rewritten) (`HealthScreen.restate`, which only a judged side calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.judged: list | None = None

    def restate(self, *args):
        written = super().restate(*args)
        if self.judged is not None:
            self.judged.append((args[0], written))
        return written


def _judgements(engine: Engine) -> list:
    """Every side judged on the screen from now on (an engine made with a `JudgingScreen`)."""
    screen = engine.monitor.screen
    assert isinstance(screen, JudgingScreen)
    screen.judged = []
    return screen.judged


def _with_large_trades(commands: list[dict]) -> list[dict]:
    """Every 20th trade again at 2 to 9 times its size, so that sides reach their margin
    limits: some are refused, some accepted close to them."""
    out = []
    trades = 0
    for command in commands:
        out.append(command)
        if command["op"] == "trade":
            trades += 1
            if trades % 20 == 0:
                factor = 2 + trades // 20 % 8
                out.append({**command, "size": str(Decimal(command["size"]) * factor)})
    return out


def _run_sides(config: ScenarioConfig, screened: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list[str], Engine, int]:
    monkeypatch.setattr(trading, "SCREENED_SIDES", screened)
    engine = Engine(JudgingScreen())
    judgements = _judgements(engine)
    events: list = []
    hashes: list[str] = []
    for number, command in enumerate(_with_large_trades(_stream(config))):
        events.append(engine.apply(command))
        if number % 50 == 0:
            hashes.append(engine.state_hash())
            with localcontext(ARITHMETIC):
                for account_id, account in engine.state.accounts.items():
                    row = engine.monitor.row_of((account_id, ""))
                    found = row is not None and engine.monitor.screen.settled(row)
                    if found:  # the screen's promise: within the band of the exact figures
                        exact = checks.cross_after(engine.state, account)
                        health, free, band = found
                        assert abs(health - exact.health * 1e-6) <= band, (account_id, health, exact.health)
                        assert abs(free - exact.free_collateral * 1e-6) <= band, (account_id, free, exact)
                        # and what a full re-anchor would rebuild the margins from (the constants and lines)
                        rebuilt_health, rebuilt_free = engine.monitor.screen.estimate(row)
                        assert abs(rebuilt_health - exact.health * 1e-6) <= band, (account_id, rebuilt_health)
                        assert abs(rebuilt_free - exact.free_collateral * 1e-6) <= band, (account_id, rebuilt_free)
    hashes.append(engine.state_hash())
    return events, hashes, engine, sum(written for _, written in judgements)


@pytest.mark.parametrize("seed", [5, 17])
def test_trade_sides_judged_on_the_screen_change_nothing(seed, monkeypatch):
    """Trade sides admitted on the screen's estimate (`trading.SCREENED_SIDES`) give the
    same events and states, command by command, as sides valued exactly, and every row the
    screen vouches for stays within its band of the exact figures."""
    config = ScenarioConfig(accounts=40, markets=3, commands=1500, seed=seed, leverage=(3.0, 12.0))
    screened_events, screened_hashes, screened, judged = _run_sides(config, True, monkeypatch)
    assert judged > 500, "the screen judged too few sides for the comparison to mean anything"
    exact_events, exact_hashes, exact, none = _run_sides(config, False, monkeypatch)
    assert none == 0
    assert screened_events == exact_events
    assert screened_hashes == exact_hashes
    assert screened.monitor.liquidatable == exact.monitor.liquidatable
    assert screened.monitor.margin_called == exact.monitor.margin_called
    rejected = [e for events in exact_events for e in events if e["event"] == "rejected"]
    assert any(e["code"] == "insufficient_margin" for e in rejected), "no side reached its margin limit"
    assert any(e["event"] in ("liquidation", "margin_call") for events in exact_events for e in events)


#: Two markets on two oracles; mm holds both: long 1 BTC from 50,000, short 10 ETH at 3,000.
MAKER_BOOK = [
    {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"},
    {"op": "market", "id": "BTC-PERP", "oracle": "BTC", "settle": "USDC", "step_size": "0.001",
     "liquidation_fee": "0.01", "tiers": [{"mmr": "0.01", "max_leverage": "50"}]},
    {"op": "market", "id": "ETH-PERP", "oracle": "ETH", "settle": "USDC", "step_size": "0.01",
     "liquidation_fee": "0.01", "tiers": [{"mmr": "0.02", "max_leverage": "20"}]},
    {"op": "price", "oracle": "BTC", "price": "60000"},
    {"op": "price", "oracle": "ETH", "price": "3000"},
    {"op": "deposit", "account": "mm", "asset": "USDC", "amount": "100000"},
    {"op": "deposit", "account": "taker", "asset": "USDC", "amount": "100000"},
    {"op": "trade", "market": "BTC-PERP", "buyer": "mm", "seller": "taker", "size": "1", "price": "50000"},
    {"op": "trade", "market": "ETH-PERP", "buyer": "taker", "seller": "mm", "size": "10", "price": "3000"},
]


def _maker_book(cache_from: int, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """MAKER_BOOK, with figure caches for accounts holding `cache_from` positions or more."""
    monkeypatch.setattr(engine_state, "FIGURE_CACHE_FROM", cache_from)
    engine = Engine()
    for command in MAKER_BOOK:
        ok(engine, command)
    return engine


def _cached_figures(engine: Engine):
    state = engine.state
    with localcontext(ARITHMETIC):
        return checks.cross_after(state, state.accounts["mm"])


def test_a_cached_figure_is_recomputed_when_its_position_or_mark_changes(monkeypatch):
    """mm at marks 60,000 and 3,000: PnL +10,000 and 0. A wrong figure planted in the cache
    is used while nothing it depends on changed, and replaced as soon as its market's mark
    changes — and only that market's."""
    engine = _maker_book(1, monkeypatch)
    cache = engine.state.figure_caches["mm"]
    assert _cached_figures(engine).equity == (100_000 + 10_000) * 10**6
    position, figures = cache.entries["BTC-PERP"]
    cache.entries["BTC-PERP"] = (position, figures.replace(unrealized_pnl=figures.unrealized_pnl + 7))
    cache.pnl += 7
    cache.gains += 7
    assert _cached_figures(engine).equity == (100_000 + 10_000) * 10**6 + 7  # not dirty: the planted entry is used
    ok(engine, {"op": "price", "oracle": "ETH", "price": "3000"})  # another oracle: BTC stays planted
    assert _cached_figures(engine).equity == (100_000 + 10_000) * 10**6 + 7
    ok(engine, {"op": "price", "oracle": "BTC", "price": "60000"})  # the same value, yet a new price: recomputed
    assert _cached_figures(engine).equity == (100_000 + 10_000) * 10**6
    ok(engine, {"op": "price", "oracle": "ETH", "price": "2900"})  # the short gains 10 × 100
    assert _cached_figures(engine).equity == (100_000 + 10_000 + 1_000) * 10**6


def test_the_position_a_trade_leaves_is_valued_once_before_posting(monkeypatch):
    """A trade plans mm's figures with the position it would leave (valued then: `pending`);
    after posting, the cache takes those figures instead of valuing that position again —
    shown by planting a wrong figure there — but only for that very position at that very
    mark: another position object, or the same one after a new price, is valued afresh."""
    engine = _maker_book(1, monkeypatch)
    state = engine.state
    account = state.accounts["mm"]
    cache = state.figure_caches["mm"]
    old = account.positions["BTC-PERP"]
    bigger = Position.of(old.market, old.size + 1, old.cost + 60000, old.lots, old.realized_pnl, old.isolated,
                         old.leverage)  # bought 1 more at 60,000
    with localcontext(ARITHMETIC):
        planned = checks.cross_after(state, account, None, ("BTC-PERP", bigger))
    market, position, mark, figures = cache.pending
    assert (market, position, mark) == ("BTC-PERP", bigger, state.book.prices["BTC"])
    cache.pending = (market, position, mark, figures.replace(unrealized_pnl=figures.unrealized_pnl + 7))
    state.set_position(account, "BTC-PERP", bigger)
    assert _cached_figures(engine).equity == planned.equity + 7  # the planned (here: planted) figures
    assert cache.pending is None
    ok(engine, {"op": "price", "oracle": "BTC", "price": "60000"})  # the same value, a new mark object
    assert _cached_figures(engine).equity == planned.equity
    with localcontext(ARITHMETIC):
        checks.cross_after(state, account, None, ("BTC-PERP", old))
    market, position, mark, figures = cache.pending
    cache.pending = (market, position, mark, figures.replace(unrealized_pnl=figures.unrealized_pnl + 7))
    state.set_position(account, "BTC-PERP", old.replace())  # equal, but another object
    assert _cached_figures(engine).equity == (100_000 + 10_000) * 10**6
    with localcontext(ARITHMETIC):
        checks.cross_after(state, account, None, ("BTC-PERP", bigger))
    market, position, mark, figures = cache.pending
    cache.pending = (market, position, mark, figures.replace(unrealized_pnl=figures.unrealized_pnl + 7))
    ok(engine, {"op": "price", "oracle": "BTC", "price": "61000"})  # a new mark before the posting
    assert cache.pending is not None  # (mm is far from zero: the tick did not value it)
    state.set_position(account, "BTC-PERP", bigger)
    assert _cached_figures(engine).equity == planned.equity + 2 * 1000 * 10**6  # 2 BTC long, +1,000 each


@pytest.mark.parametrize("command", [
    {"op": "trade", "market": "BTC-PERP", "buyer": "taker", "seller": "mm", "size": "0.5", "price": "60000"},
    {"op": "trade", "market": "ETH-PERP", "buyer": "mm", "seller": "taker", "size": "10", "price": "3000"},
    {"op": "market", "id": "BTC-PERP", "oracle": "BTC", "settle": "USDC", "step_size": "0.001",
     "liquidation_fee": "0.01", "tiers": [{"max_notional": "10000", "mmr": "0.01", "max_leverage": "50"},
                                          {"mmr": "0.1", "max_leverage": "5"}]},
    {"op": "price", "oracle": "BTC", "price": "55000"},
])
def test_after_any_change_the_cache_equals_a_recomputation(command, monkeypatch):
    """A trade (reducing one position, closing another), a new market spec, a price: the
    cached figures and their sums equal figures computed from scratch, and an engine that
    never caches emits the same events and reaches the same state."""
    cached = _maker_book(1, monkeypatch)
    cached_events = cached.apply(dict(command))
    state = cached.state
    account = state.accounts["mm"]
    with localcontext(ARITHMETIC):
        recomputed = cross_figures(state.ledger.balances("mm"), state.cross_positions(account), state.book)
        assert checks.cross_after(state, account) == recomputed
    cache = state.figure_caches["mm"]
    assert set(cache.entries) == set(account.positions)
    assert cache.pnl == sum(f.unrealized_pnl for _, f in cache.entries.values())
    assert (cache.initial, cache.maintenance) == (recomputed.initial_margin, recomputed.maintenance_margin)
    plain = _maker_book(10**9, monkeypatch)
    assert plain.apply(dict(command)) == cached_events
    assert plain.state_hash() == cached.state_hash()


def test_usability_remembered_at_one_time_is_forgotten_when_the_oracle_changes():
    """At one engine time (ts 1001 throughout): a trade reads ETH-USD as usable, then a −25 %
    jump is held (the oracle becomes invalid), and the next risk-increasing trade at the same
    time must see that, then a confirming tick makes it usable again."""
    from .test_oracles import engine as oracle_engine, trade

    e = oracle_engine()
    ok(e, {"op": "time", "ts": 1001})
    assert not [ev for ev in trade(e, "carol", "dave", "0.1") if ev["event"] == "rejected"]
    held = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1500", "ts": 1001})
    assert [(ev["event"], ev["reason"]) for ev in held] == [("oracle", "price_jump")]
    assert [ev.get("code") for ev in trade(e, "carol", "dave", "0.1")] == ["oracle_stale"]
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1510", "ts": 1001})
    assert not [ev for ev in trade(e, "carol", "dave", "0.1", "1510") if ev["event"] == "rejected"]


#: Two perpetuals on one oracle (BTC-PERP with tiers, BTC-QPERP without) and ETH collateral
#: on an oracle a market shares, so that a trade's rebuilt line holds other legs and a balance.
SHARED_ORACLE_BOOK = [
    {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"},
    {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH", "weight_init": "0.8", "weight_maint": "0.9"},
    {"op": "market", "id": "BTC-PERP", "oracle": "BTC", "settle": "USDC", "step_size": "0.001", "liquidation_fee": "0.01",
     "tiers": [{"max_notional": "100000", "mmr": "0.01", "max_leverage": "50"}, {"mmr": "0.05", "max_leverage": "10"}]},
    {"op": "market", "id": "BTC-QPERP", "oracle": "BTC", "settle": "USDC", "step_size": "0.001",
     "liquidation_fee": "0.01", "tiers": [{"mmr": "0.02", "max_leverage": "25"}]},
    {"op": "market", "id": "ETH-PERP", "oracle": "ETH", "settle": "USDC", "step_size": "0.01",
     "liquidation_fee": "0.01", "tiers": [{"mmr": "0.02", "max_leverage": "20"}]},
    {"op": "price", "oracle": "BTC", "price": "60000"},
    {"op": "price", "oracle": "ETH", "price": "3000"},
    {"op": "deposit", "account": "a", "asset": "USDC", "amount": "40000"},
    {"op": "deposit", "account": "a", "asset": "ETH", "amount": "5"},
    {"op": "deposit", "account": "b", "asset": "USDC", "amount": "1000000"},
    {"op": "trade", "market": "BTC-QPERP", "buyer": "a", "seller": "b", "size": "2", "price": "60000"},
    {"op": "trade", "market": "ETH-PERP", "buyer": "b", "seller": "a", "size": "10", "price": "3000"},
]


@pytest.mark.parametrize("trade", [
    {"market": "BTC-PERP", "buyer": "a", "seller": "b", "size": "1"},  # opens a second leg on BTC
    {"market": "BTC-PERP", "buyer": "a", "seller": "b", "size": "3"},  # into the second tier
    {"market": "BTC-QPERP", "buyer": "b", "seller": "a", "size": "1.5"},  # reduces, BTC-PERP beside it
    {"market": "ETH-PERP", "buyer": "a", "seller": "b", "size": "4"},  # on the oracle of the ETH balance
    {"market": "ETH-PERP", "buyer": "a", "seller": "b", "size": "10"},  # closes it: the line keeps the balance
])
def test_a_screened_side_rebuilds_the_whole_line_of_its_oracle(trade):
    """After a side judged on the screen, the row's line in the traded market's oracle holds
    every leg and balance there: its estimates follow the exact figures as prices move."""
    engine = Engine(JudgingScreen())
    for command in SHARED_ORACLE_BOOK:
        ok(engine, command)
    if trade["market"] != "BTC-PERP" or trade["size"] != "1":
        ok(engine, {"op": "trade", "market": "BTC-PERP", "buyer": "a", "seller": "b", "size": "0.5", "price": "60000"})
    ok(engine, {"op": "price", "oracle": "BTC", "price": "60010"})  # the row is written (flushed)
    judged = _judgements(engine)
    ok(engine, {"op": "trade", "price": "60000" if trade["market"].startswith("BTC") else "3000", **trade})
    assert (engine.monitor.row_of(("a", "")), True) in judged, "a's side was not judged on the screen"
    for oracle, price in (("BTC", "57000"), ("ETH", "2700"), ("BTC", "63000"), ("ETH", "3300")):
        ok(engine, {"op": "price", "oracle": oracle, "price": price})
        row = engine.monitor.row_of(("a", ""))
        with localcontext(ARITHMETIC):
            exact = checks.cross_after(engine.state, engine.state.accounts["a"])
        estimate = engine.monitor.screen.estimate(row)
        assert estimate[0] == pytest.approx(exact.health * 1e-6, rel=1e-9, abs=1e-4), (oracle, price)
        assert estimate[1] == pytest.approx(exact.free_collateral * 1e-6, rel=1e-9, abs=1e-4), (oracle, price)


def test_a_side_whose_notional_sits_on_a_tier_boundary_is_valued_exactly():
    """2 BTC at a mark of 50,000 is a notional of exactly 100,000, the first tier's bound:
    the tier is the exact model's to pick, so the side is not judged on floats."""
    engine = Engine(JudgingScreen())
    for command in SHARED_ORACLE_BOOK:
        ok(engine, command)
    ok(engine, {"op": "price", "oracle": "BTC", "price": "50000"})
    judged = _judgements(engine)
    ok(engine, {"op": "trade", "market": "BTC-PERP", "buyer": "a", "seller": "b", "size": "2", "price": "50000"})
    assert engine.monitor.row_of(("a", "")) not in {row for row, _ in judged}, "a side on a tier boundary was judged"
    with localcontext(ARITHMETIC):
        exact = checks.cross_after(engine.state, engine.state.accounts["a"])
    health, free = engine.monitor.screen.estimate(engine.monitor.row_of(("a", "")))
    assert health == pytest.approx(exact.health * 1e-6, rel=1e-12)
    assert free == pytest.approx(exact.free_collateral * 1e-6, rel=1e-12)


def test_a_makers_kept_lines_are_staged_without_a_copy_and_stay_right(monkeypatch):
    """mm (cached) trades BTC-PERP twice with no tick between: the screen stages mm's kept
    list of lines itself (no copy), whose BTC line is replaced in place by the second trade;
    after the next tick's flush mm's row estimates its exact figures, at that price and at
    others."""
    engine = _maker_book(1, monkeypatch)
    ok(engine, {"op": "price", "oracle": "BTC", "price": "60010"})  # everything written
    monitor = engine.monitor
    row = monitor.row_of(("mm", ""))
    for size in ("0.5", "0.25"):
        ok(engine, {"op": "trade", "market": "BTC-PERP", "buyer": "taker", "seller": "mm", "size": size, "price": "60010"})
        kept = monitor._line_caches["mm"]
        assert monitor.screen._staged[row][4] is kept.rows  # staged as kept, not copied
    for price in ("60020", "55000", "66000"):
        ok(engine, {"op": "price", "oracle": "BTC", "price": price})
        health, free = monitor.screen.estimate(row)
        exact = _cached_figures(engine)
        assert health == pytest.approx(exact.health * 1e-6, rel=1e-9), price
        assert free == pytest.approx(exact.free_collateral * 1e-6, rel=1e-9), price
