"""The oracle guards and the action matrix (MARKET_DATA.md), through the engine.

Setup (`engine()`): USDC (6 decimals, quote); ETH collateral (weights 0.8/0.9) on oracle
ETH-USD; ETH-PERP on ETH-USD with `max_oracle_age_s` 60, BTC-PERP on BTC without one; one
tier, mmr 5 %, max leverage 10; `max_price_jump` 10 %. At ts 1000: ETH-USD 2000, BTC 60000;
alice, bob, carol and dave hold 10,000 USDC each; alice is long 1 ETH-PERP from bob at 2000.
"""

from __future__ import annotations

from typing import Any

import pytest

from solvent import Engine
from solvent.engine.oracles import market_price_usable, oracle_usable

from ._steps import named, ok, refused


def market(market_id: str, oracle: str, **extra: Any) -> dict[str, Any]:
    return {"op": "market", "id": market_id, "oracle": oracle, "settle": "USDC", "step_size": "0.1",
            "liquidation_fee": "0.01", "tiers": [{"mmr": "0.05", "max_leverage": "10"}], **extra}


def engine() -> Engine:
    e = Engine()
    ok(e, {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"})
    ok(e, {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.9"})
    ok(e, market("ETH-PERP", "ETH-USD", max_oracle_age_s="60"))
    ok(e, market("BTC-PERP", "BTC"))
    ok(e, {"op": "params", "max_price_jump": "0.1"})
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000", "ts": 1000})
    ok(e, {"op": "price", "oracle": "BTC", "price": "60000", "ts": 1000})
    for who in ("alice", "bob", "carol", "dave"):
        ok(e, {"op": "deposit", "account": who, "asset": "USDC", "amount": "10000"})
    trade(e, "alice", "bob", "1")
    return e


def trade(e: Engine, buyer: str, seller: str, size: str, price: str = "2000", market_id: str = "ETH-PERP", **extra):
    return e.apply({"op": "trade", "market": market_id, "buyer": buyer, "seller": seller, "size": size,
                    "price": price, **extra})


def stale_engine() -> Engine:
    """engine() with the clock at 1061: the ETH-USD price (published at 1000) is 61 s old."""
    e = engine()
    events = ok(e, {"op": "time", "ts": 1061})
    assert [(ev["oracle"], ev["status"], ev["reason"]) for ev in named(events, "oracle")] == [("ETH-USD", "stale", "age")]
    return e


def jumped_engine() -> Engine:
    """engine() after a −25 % tick (2000 → 1500): held, not applied."""
    e = engine()
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1500", "ts": 1001})
    assert [(ev["event"], ev["status"], ev["reason"]) for ev in events] == [("oracle", "rejected", "price_jump")]
    return e


INVALID = [stale_engine, jumped_engine]


# -- the guards ----------------------------------------------------------------------------

def test_a_price_exactly_at_its_max_age_is_fresh_and_one_second_later_stale():
    """Published at 1000, max age 60: at 1060 the age is 60 (not older than the limit)."""
    e = engine()
    assert named(ok(e, {"op": "time", "ts": 1060}), "oracle") == []
    assert market_price_usable(e.state, "ETH-PERP", e.state.clock)
    assert named(ok(e, {"op": "time", "ts": 1061}), "oracle")[0]["status"] == "stale"
    assert not market_price_usable(e.state, "ETH-PERP", e.state.clock)
    assert named(ok(e, {"op": "time", "ts": 1100}), "oracle") == []  # once per crossing
    assert e.state_document()["oracles"]["ETH-USD"]["status"] == "stale"
    assert e.state_document()["oracles"]["BTC"]["status"] == "ok"  # no max age: never stale


def test_a_crash_arriving_as_one_jump_is_held_then_confirmed_by_the_next_tick():
    """alice (10,000 USDC, long 1 at 2000) is far from breach; carol is long 10 ETH-PERP at
    2000 from dave with 10,000 USDC... she needs 2,000 initial margin: fine. ETH crashes to
    1200 in one tick (−40 %): held. Nothing is re-valued: carol's health stays
    10,000 − 10 × 2000 × 0.05 = 9,000. The next tick, 1190, is 0.83 % from the pending 1200
    (≤ 2 %): confirmed and applied. carol: equity 10,000 + 10 × (1190 − 2000) = 1,900,
    maintenance 10 × 1190 × 0.05 = 595, health 1,305; free collateral 1,900 − 1,190 = 710."""
    e = engine()
    assert not named(trade(e, "carol", "dave", "10"), "rejected")
    before = e.state_document()
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1200", "ts": 1001})
    assert [(ev["event"], ev["status"], ev["reason"], ev["price"]) for ev in events] == [
        ("oracle", "rejected", "price_jump", "1200")]
    after = e.state_document()
    assert after["prices"] == before["prices"] == {"BTC": "60000", "ETH-USD": "2000"}
    assert after["accounts"] == before["accounts"] and after["assets"] == before["assets"]
    assert after["oracles"]["ETH-USD"] == {"status": "rejected", "reason": "price_jump", "published_at": "1000",
                                           "pending": "1200"}
    assert after["ledger"]["hash"] != before["ledger"]["hash"]  # the pending jump is state
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1190", "ts": 1002})
    assert [(ev["status"], ev["reason"]) for ev in named(events, "oracle")] == [("ok", "jump_confirmed")]
    carol = e.account("carol")
    assert (carol["equity"], carol["health"], carol["free_collateral"]) == ("1900.000000", "1305.000000", "710.000000")
    assert e.state_document()["oracles"]["ETH-USD"] == {"status": "ok", "reason": None, "published_at": "1002",
                                                        "pending": None}


def test_a_spike_that_is_not_confirmed_never_values_anything():
    """2000 → 3000 (+50 %) held; the next tick 2010 is within 10 % of 2000: applied (the
    spike is dropped, reason recovered); 3000 never became a price."""
    e = engine()
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "3000", "ts": 1001})
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2010", "ts": 1002})
    assert [(ev["status"], ev["reason"]) for ev in named(events, "oracle")] == [("ok", "recovered")]
    assert e.state_document()["prices"]["ETH-USD"] == "2010"
    assert e.state_document()["oracles"]["ETH-USD"]["pending"] is None


def test_a_wide_confidence_is_rejected_and_marks_the_oracle_invalid():
    """Default max_confidence 2 %: 2001 ± 40.02 passes, ± 40.03 does not."""
    e = engine()
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2001", "confidence": "40.02", "ts": 1001})
    assert e.state_document()["prices"]["ETH-USD"] == "2001"
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2001", "confidence": "40.03", "ts": 1002})
    assert [(ev["status"], ev["reason"]) for ev in events] == [("rejected", "confidence")]
    assert e.state_document()["prices"]["ETH-USD"] == "2001"
    assert not oracle_usable(e.state, "ETH-USD", e.state.clock)
    assert trade(e, "carol", "dave", "1")[0]["code"] == "oracle_stale"


def test_a_late_or_old_price_is_not_applied():
    """Clock 1000 after setup. A price stamped 999 is older than the last accepted (1000):
    rejected out_of_order, and it does not mark the feed invalid. At clock 1200, a price
    stamped 1100 is 100 s old (> 60): stale on arrival, not applied."""
    e = engine()
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2001", "ts": 999})
    assert [(ev["status"], ev["reason"]) for ev in events] == [("rejected", "out_of_order")]
    assert oracle_usable(e.state, "ETH-USD", e.state.clock)
    ok(e, {"op": "time", "ts": 1200})
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2001", "ts": 1100})
    assert [(ev["status"], ev["reason"]) for ev in events] == [("stale", "too_old")]
    assert e.state_document()["prices"]["ETH-USD"] == "2000"


@pytest.mark.parametrize("price", ["0", "-5", "NaN"])
def test_a_malformed_price_is_a_refused_command(price):
    refused(engine(), {"op": "price", "oracle": "ETH-USD", "price": price}, "invalid_amount" if price != "NaN" else "invalid_number")


def test_guard_parameters_are_validated_and_can_be_switched_off():
    e = engine()
    refused(e, {"op": "params", "max_confidence": "1.5"}, "out_of_range")
    refused(e, {"op": "params", "jump_confirmation": "-0.1"}, "invalid_amount")
    ok(e, {"op": "params", "max_price_jump": None})
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "100", "ts": 1001})
    assert e.state_document()["prices"]["ETH-USD"] == "100"


# -- the action matrix ---------------------------------------------------------------------

@pytest.mark.parametrize("make", INVALID)
def test_risk_increasing_trades_are_refused(make):
    e = make()
    refused(e, {"op": "trade", "market": "ETH-PERP", "buyer": "alice", "seller": "carol", "size": "1", "price": "2000"},
            "oracle_stale")
    # a new position on a healthy oracle, by an account whose cross figures read ETH-USD
    refused(e, {"op": "trade", "market": "BTC-PERP", "buyer": "alice", "seller": "carol", "size": "0.1",
                "price": "60000"}, "oracle_stale")


@pytest.mark.parametrize("make", INVALID)
def test_trades_that_do_not_depend_on_the_bad_price_go_through(make):
    e = make()
    assert not named(trade(e, "carol", "dave", "0.1", "60000", "BTC-PERP"), "rejected")


@pytest.mark.parametrize("make", INVALID)
def test_risk_reducing_trades_are_always_allowed(make):
    """bob (short 1) buys 0.5 back from alice (long 1): both sides reduce."""
    e = make()
    ok(e, {"op": "trade", "market": "ETH-PERP", "buyer": "bob", "seller": "alice", "size": "0.5", "price": "2000"})
    assert e.account("alice")["positions"]["ETH-PERP"]["size"] == "0.5"


@pytest.mark.parametrize("make", INVALID)
def test_order_check_answers_the_same(make):
    e = make()
    [check] = ok(e, {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "1", "price": "2000"})
    assert (check["accepted"], check["reason"]) == (False, "oracle_stale")
    [check] = ok(e, {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "-1", "price": "2000"})
    assert check["accepted"] is True


@pytest.mark.parametrize("make", INVALID)
def test_withdrawals_that_depend_on_the_price_are_refused_others_go_through(make):
    """alice holds a position: her withdrawal is checked against its mark: refused. dave
    holds only USDC: nothing at risk, no price read: allowed. Deposits always go through."""
    e = make()
    refused(e, {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "1"}, "oracle_stale")
    refused(e, {"op": "transfer", "from": "alice", "to": "dave", "asset": "USDC", "amount": "1"}, "oracle_stale")
    ok(e, {"op": "withdraw", "account": "dave", "asset": "USDC", "amount": "1"})
    ok(e, {"op": "deposit", "account": "alice", "asset": "USDC", "amount": "1"})


@pytest.mark.parametrize("make", INVALID)
def test_funding_waits_for_a_valid_mark(make):
    refused(make(), {"op": "funding", "market": "ETH-PERP", "rate": "0.0001"}, "oracle_stale")


@pytest.mark.parametrize("make", INVALID)
def test_isolated_margin_removal_waits_adding_goes_through(make):
    """carol opens an isolated long 1 at leverage 5 (margin 400) before the oracle fails."""
    e = engine()
    ok(e, {"op": "margin_mode", "account": "carol", "market": "ETH-PERP", "mode": "isolated", "leverage": "5"})
    assert not named(trade(e, "carol", "dave", "1"), "rejected")
    if make is stale_engine:
        ok(e, {"op": "time", "ts": 1061})
    else:
        ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1500", "ts": 1001})
    refused(e, {"op": "isolated_margin", "account": "carol", "market": "ETH-PERP", "amount": "-1"}, "oracle_stale")
    ok(e, {"op": "isolated_margin", "account": "carol", "market": "ETH-PERP", "amount": "100"})


@pytest.mark.parametrize("make", INVALID)
def test_liquidation_predicate_says_wait(make):
    e = make()
    now = e.state.clock
    assert market_price_usable(e.state, "ETH-PERP", now) is False
    assert market_price_usable(e.state, "BTC-PERP", now) is True


def test_a_fresh_price_restores_everything():
    e = stale_engine()
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000", "ts": 1062})
    assert [(ev["status"], ev["reason"]) for ev in named(events, "oracle")] == [("ok", "recovered")]
    assert market_price_usable(e.state, "ETH-PERP", e.state.clock)
    assert not named(trade(e, "alice", "carol", "1"), "rejected")


def test_an_unknown_age_is_stale_once_the_clock_runs():
    """A price accepted before any ts has no publication time: with a max age it is stale
    as soon as the engine has a clock (send prices with their ts)."""
    e = Engine()
    ok(e, {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"})
    ok(e, market("ETH-PERP", "ETH-USD", max_oracle_age_s="60"))
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    assert oracle_usable(e.state, "ETH-USD", None)
    events = ok(e, {"op": "time", "ts": 5})
    assert [(ev["status"], ev["reason"]) for ev in named(events, "oracle")] == [("stale", "age")]


def test_an_asset_max_age_makes_its_oracle_stale_for_withdrawals():
    """ETH collateral with max_oracle_age_s 30: carol deposits 1 ETH and borrows nothing; a
    USDC withdrawal by her reads no price (nothing at risk): allowed even when stale."""
    e = engine()
    ok(e, {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.9",
           "max_oracle_age_s": "30"})
    ok(e, {"op": "deposit", "account": "carol", "asset": "ETH", "amount": "1"})
    ok(e, {"op": "time", "ts": 1031})
    assert not oracle_usable(e.state, "ETH-USD", e.state.clock)  # the asset's 30 s is the strictest
    ok(e, {"op": "withdraw", "account": "carol", "asset": "USDC", "amount": "1"})
    refused(e, {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1",
                "max_oracle_age_s": "5"}, "invalid_config")


def test_a_liquidation_waits_for_a_usable_price_then_runs():
    """dave: 10,000 USDC, long 45 ETH-PERP @ 2000 (initial margin 9,000). At 1850 his health
    is 10,000 − 45 × 150 − 0.05 × 45 × 1850 = −912.5: in breach (liquidations paused to set
    it up). The price ages past 60 s; liquidations are switched on: the breach waits, flagged,
    because the mark is stale. The next fresh price liquidates him in the same command."""
    e = engine()
    ok(e, {"op": "params", "liquidations": "paused"})
    assert not named(trade(e, "dave", "bob", "45"), "rejected")
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1850", "ts": 1010})
    assert e.account("dave")["health"] == "-912.500000"
    ok(e, {"op": "time", "ts": 1071})
    events = ok(e, {"op": "params", "liquidations": "on"})
    assert not named(events, "liquidation")
    assert ("dave", "") in e.monitor.liquidatable
    events = ok(e, {"op": "price", "oracle": "ETH-USD", "price": "1850", "ts": 1072})
    [liquidation] = named(events, "liquidation")
    assert (liquidation["account"], liquidation["market"]) == ("dave", "ETH-PERP")
    assert ("dave", "") not in e.monitor.liquidatable
