"""The engine's derived caches change no outcome.

Position figures and screen legs are cached for accounts with many positions
(`solvent.engine.state.FIGURE_CACHE_FROM`), and oracle usability per (oracle, time). An engine
that caches for every account must emit the very same events and reach the very same state
as one that never caches, command by command, over streams with trades, price moves,
funding, isolated margin, deposits, withdrawals and liquidations.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import solvent.engine.state as engine_state
from solvent import Engine
from solvent.domain.numbers import ARITHMETIC
from solvent.domain.position import Position
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


def test_a_cached_figure_is_reused_only_for_the_same_position_mark_and_spec():
    """Same objects: reused. An equal but new mark, or a new position, is computed afresh —
    and a cache entry planted with wrong figures shows which path was taken."""
    engine = Engine()
    for command in (
        {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"},
        {"op": "market", "id": "BTC-PERP", "oracle": "BTC", "settle": "USDC", "step_size": "0.001",
         "liquidation_fee": "0.01", "tiers": [{"mmr": "0.01", "max_leverage": "50"}]},
        {"op": "price", "oracle": "BTC", "price": "60000"},
    ):
        ok(engine, command)
    book = engine.state.book
    position = Position("BTC-PERP", Decimal("1"), Decimal("50000"))
    with_mark = book.prices["BTC"]
    cache: dict = {}
    with_cache = lambda: cross_figures({}, [position], book, None, cache)  # noqa: E731
    from decimal import localcontext

    with localcontext(ARITHMETIC):
        first = with_cache()
        assert first.equity == 10_000 * 10**6  # 1 × 60,000 − 50,000
        entry = cache["BTC-PERP"]
        wrong = entry[4]._replace(unrealized_pnl=1)
        cache["BTC-PERP"] = (*entry[:4], wrong)
        assert with_cache().equity == 1  # the same objects: the (planted) entry is used
        book.prices["BTC"] = Decimal("60000")  # equal value, a new object
        assert book.prices["BTC"] is not with_mark
        assert with_cache().equity == 10_000 * 10**6  # recomputed
        position = Position("BTC-PERP", Decimal("2"), Decimal("100000"))
        assert with_cache().equity == 20_000 * 10**6


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
