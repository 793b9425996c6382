"""The seeded scenario generator: deterministic, exact length, shares as configured, and a
stream the engine mostly accepts."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pytest

from solvent import Engine
from solvent.simulation.scenario import (
    PRESETS,
    ScenarioConfig,
    crash_path,
    fmt_units,
    generate,
    market_defs,
    scenario_commands,
    setup_commands,
    write_jsonl,
)


def _stream(**kwargs) -> tuple[list[dict], list[dict]]:
    config = ScenarioConfig(**kwargs)
    return setup_commands(config), list(generate(config))


def _numbers_are_strings(value) -> bool:
    if isinstance(value, dict):
        return all(_numbers_are_strings(v) for k, v in value.items() if k != "decimals")
    if isinstance(value, list):
        return all(_numbers_are_strings(v) for v in value)
    return not isinstance(value, float) and (not isinstance(value, int) or isinstance(value, bool))


def test_same_seed_same_stream() -> None:
    first = _stream(accounts=40, commands=800, seed=11)
    second = _stream(accounts=40, commands=800, seed=11)
    assert json.dumps(first) == json.dumps(second)


def test_different_seed_different_stream() -> None:
    setup_a, stream_a = _stream(accounts=40, commands=800, seed=1)
    setup_b, stream_b = _stream(accounts=40, commands=800, seed=2)
    assert stream_a != stream_b
    assert setup_a != setup_b  # the deposits differ too


def test_generation_touches_no_global_random_state() -> None:
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    _stream(accounts=20, commands=200, seed=5)
    assert random.random() == expected


@pytest.mark.parametrize("commands", [0, 1, 7, 1000])
def test_exact_length(commands: int) -> None:
    _, stream = _stream(accounts=10, commands=commands, seed=3)
    assert len(stream) == commands


def test_setup_then_stream_is_one_sequence() -> None:
    config = ScenarioConfig(accounts=15, commands=300, seed=9)
    combined = list(scenario_commands(config))
    assert combined == setup_commands(config) + list(generate(config))


def test_shares_roughly_as_configured() -> None:
    _, stream = _stream(accounts=200, commands=20_000, seed=4)
    ops = Counter(c["op"] for c in stream)
    assert ops["trade"] / len(stream) == pytest.approx(0.70, abs=0.02)
    assert ops["price"] / len(stream) == pytest.approx(0.25, abs=0.02)
    rest = len(stream) - ops["trade"] - ops["price"]
    assert rest / len(stream) == pytest.approx(0.05, abs=0.01)
    assert {"deposit", "withdraw", "funding", "margin_mode"} <= set(ops)


def test_other_shares_follow_the_config() -> None:
    _, stream = _stream(accounts=50, commands=4000, seed=4, trade_share=0.5, price_share=0.5)
    ops = Counter(c["op"] for c in stream)
    assert set(ops) == {"trade", "price"}
    assert ops["trade"] / len(stream) == pytest.approx(0.5, abs=0.04)


def test_commands_are_spec_json() -> None:
    setup, stream = _stream(accounts=30, commands=2000, seed=6, start_ts=1_700_000_000)
    for command in setup + stream:
        assert _numbers_are_strings(command), command
        json.dumps(command)  # plain JSON values only
    assert [int(c["ts"]) for c in setup + stream] == list(range(1_700_000_000, 1_700_000_000 + len(setup) + len(stream)))
    trades = [c for c in stream if c["op"] == "trade"]
    assert all(t["buyer"] != t["seller"] for t in trades)
    steps = {m.id: Decimal(m.step_size) for m in market_defs(3)}
    for trade in trades:
        assert Decimal(trade["size"]) > 0
        assert Decimal(trade["size"]) % steps[trade["market"]] == 0
        assert Decimal(trade["price"]) > 0
        assert -Decimal(trade["buyer_fee"]).as_tuple().exponent <= 6


def test_setup_is_accepted_and_covers_every_account() -> None:
    config = ScenarioConfig(accounts=25, commands=0, seed=8)
    engine = Engine()
    for command in setup_commands(config):
        events = engine.apply(command)
        assert not [e for e in events if e["event"] == "rejected"], (command, events)
    state = engine.state_document()
    users = [a for a in state["accounts"] if not a.startswith("@")]
    assert sorted(users) == [config.account_id(i) for i in range(25)]
    assert all(Decimal(state["accounts"][a]["balances"]["USDC"]) > 0 for a in users)
    assert set(state["prices"]) == {"BTC-USD", "ETH-USD", "SOL-USD"}
    assert "ETH" in state["assets"]


def test_more_markets_than_presets() -> None:
    config = ScenarioConfig(accounts=10, markets=5, commands=500, seed=1)
    engine = Engine()
    for command in setup_commands(config):
        assert not [e for e in engine.apply(command) if e["event"] == "rejected"], command
    markets = {c["market"] for c in generate(config) if c["op"] == "trade"}
    assert markets == {m.id for m in market_defs(5)}


def test_most_trades_accepted_and_ledger_balanced() -> None:
    config = ScenarioConfig(accounts=100, commands=4000, seed=21)
    engine = Engine()
    for command in setup_commands(config):
        engine.apply(command)
    applied = Counter()
    refused = Counter()
    for command in generate(config):
        events = engine.apply(command)
        applied[command["op"]] += 1
        if any(e["event"] == "rejected" for e in events):
            refused[command["op"]] += 1
    assert refused["trade"] / applied["trade"] < 0.05
    assert sum(refused.values()) / sum(applied.values()) < 0.05
    state = engine.state_document()
    assert state["ledger"]["balanced"]
    holders = [a for a, e in state["accounts"].items() if e["positions"] and not a.startswith("@")]
    assert len(holders) > 50  # the book is spread over many accounts


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        ScenarioConfig(accounts=1)
    with pytest.raises(ValueError):
        ScenarioConfig(trade_share=0.8, price_share=0.3)
    with pytest.raises(ValueError):
        market_defs(0)


def test_preset_tiers_are_valid() -> None:
    for market in PRESETS:
        tiers = market.tiers
        assert tiers[-1][0] is None and all(t[0] is not None for t in tiers[:-1])
        for index, (_, mmr, lev) in enumerate(tiers):
            assert Decimal(mmr) * Decimal(lev) <= 1
            if index:
                assert Decimal(mmr) >= Decimal(tiers[index - 1][1])
                assert Decimal(lev) <= Decimal(tiers[index - 1][2])


def test_crash_path_shape() -> None:
    path = crash_path(PRESETS, ticks=90, seed=7)
    assert len(path) == 90
    assert path == crash_path(PRESETS, ticks=90, seed=7)
    assert path != crash_path(PRESETS, ticks=90, seed=8)
    for market in PRESETS:
        prices = [float(p[market.oracle]) for p in path]
        start = float(market.price)
        low = min(prices)
        assert max(prices[:35]) > start  # drifts up first
        assert low < start * 0.75  # then crashes hard
        assert prices.index(low) > 30
        assert low < prices[-1] < start  # and partially recovers
        for text in (p[market.oracle] for p in path):
            assert len(text.partition(".")[2]) == market.price_decimals


def test_fmt_units() -> None:
    assert fmt_units(-1500, 3) == "-1.500"
    assert fmt_units(5, 2) == "0.05"
    assert fmt_units(12, 0) == "12"


def test_write_jsonl(tmp_path) -> None:
    config = ScenarioConfig(accounts=5, commands=50, seed=2)
    path = tmp_path / "stream.jsonl"
    assert write_jsonl(path, scenario_commands(config)) == len(setup_commands(config)) + 50
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == list(scenario_commands(config))
