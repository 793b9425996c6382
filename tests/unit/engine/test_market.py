"""Worked scenarios for `solvent.engine.market`: price, funding, exchange_rate, time.

Rules: SPEC §2 (funding: each position pays size × mark × rate, longs pay when the rate is
positive; exchange_rate; time), MARGIN_MODEL.md "Funding" (payers round up, receivers down,
the pool's remainder to @insurance) and "Unpriced collateral counts as worth nothing"
(ARCHITECTURE.md). Expected values are computed by hand in each docstring.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from solvent import Engine
from solvent.ledger import EXTERNAL

from ._steps import named, ok, refused


def usdc(decimals: int) -> dict[str, Any]:
    return {"op": "asset", "id": "USDC", "decimals": decimals, "oracle": None, "weight_init": "1", "weight_maint": "1"}


def perp(market: str = "ETH-PERP", oracle: str = "ETH", step: str = "1", max_leverage: str = "10") -> dict[str, Any]:
    return {"op": "market", "id": market, "oracle": oracle, "settle": "USDC", "step_size": step,
            "liquidation_fee": "0.01", "tiers": [{"mmr": "0.05", "max_leverage": max_leverage}]}


def trade(engine: Engine, buyer: str, seller: str, size: str, price: str, market: str = "ETH-PERP") -> list[dict[str, Any]]:
    return ok(engine, {"op": "trade", "market": market, "buyer": buyer, "seller": seller, "size": size, "price": price})


def deposit(engine: Engine, account: str, amount: str, asset: str = "USDC") -> None:
    ok(engine, {"op": "deposit", "account": account, "asset": asset, "amount": amount})


def bal(engine: Engine, account: str, asset: str = "USDC") -> int:
    return engine.state.ledger.balance(account, asset)


def total(engine: Engine, asset: str = "USDC") -> int:
    ledger = engine.state.ledger
    return sum(ledger.balance(a, asset) for a in list(ledger.accounts()) if a != EXTERNAL)


# -- funding ----------------------------------------------------------------------------------

def funding_setup() -> Engine:
    """USDC with 2 decimals; mark 100.01; alice long 3 (1 from bob, 2 from carol), each
    with 1000 USDC."""
    e = Engine()
    ok(e, usdc(2))
    ok(e, perp())
    ok(e, {"op": "price", "oracle": "ETH", "price": "100.01"})
    for who in ("alice", "bob", "carol"):
        deposit(e, who, "1000")
    trade(e, "alice", "bob", "1", "100.01")
    trade(e, "alice", "carol", "2", "100.01")
    return e


def test_funding_payers_round_up_receivers_down_dust_to_insurance():
    """Rate 0.0001 at mark 100.01 (longs pay):
    alice (+3) pays 3 × 100.01 × 0.0001 = 0.030003 → up 0.04;
    bob (−1) receives 0.010001 → down 0.01; carol (−2) receives 0.020002 → down 0.02.
    paid 0.04, received 0.03, dust 0.01 → @insurance (reason funding_rounding); pool 0.
    Rate −0.0001 (shorts pay): alice receives 0.030003 → 0.03; bob pays 0.010001 → 0.02;
    carol pays 0.020002 → 0.03. paid 0.05, received 0.03, dust 0.02 (insurance 0.03).
    Balances: alice 1000 − 0.04 + 0.03 = 999.99; bob 1000 + 0.01 − 0.02 = 999.99;
    carol 1000 + 0.02 − 0.03 = 999.99."""
    e = funding_setup()
    events = ok(e, {"op": "funding", "market": "ETH-PERP", "rate": "0.0001"})
    [funding] = named(events, "funding")
    assert {k: funding[k] for k in ("market", "rate", "paid", "received", "dust")} == {
        "market": "ETH-PERP", "rate": "0.0001", "paid": "0.04", "received": "0.03", "dust": "0.01"}
    [fund] = named(events, "insurance_fund")
    assert {k: fund[k] for k in ("asset", "delta", "balance", "reason")} == {
        "asset": "USDC", "delta": "0.01", "balance": "0.01", "reason": "funding_rounding"}
    assert (bal(e, "alice"), bal(e, "bob"), bal(e, "carol")) == (99996, 100001, 100002)
    assert bal(e, "@pnl:ETH-PERP") == 0 and bal(e, "@insurance") == 1

    events = ok(e, {"op": "funding", "market": "ETH-PERP", "rate": "-0.0001"})
    [funding] = named(events, "funding")
    assert (funding["rate"], funding["paid"], funding["received"], funding["dust"]) == ("-0.0001", "0.05", "0.03", "0.02")
    assert named(events, "insurance_fund")[0]["balance"] == "0.03"
    assert (bal(e, "alice"), bal(e, "bob"), bal(e, "carol")) == (99999, 99999, 99999)
    assert bal(e, "@pnl:ETH-PERP") == 0 and bal(e, "@insurance") == 3
    assert total(e) == 300000
    assert e.state_document()["ledger"]["balanced"] is True


def test_a_price_for_an_oracle_nobody_uses_is_refused():
    e = Engine()
    ok(e, usdc(2))
    ok(e, perp())
    refused(e, {"op": "price", "oracle": "BTC", "price": "100"}, "unknown_oracle")
    assert e.state_document()["prices"] == {}


def test_funding_without_positions_pays_nothing():
    e = Engine()
    ok(e, usdc(2))
    ok(e, perp())
    ok(e, {"op": "price", "oracle": "ETH", "price": "100"})
    events = ok(e, {"op": "funding", "market": "ETH-PERP", "rate": "0.01"})
    assert [(ev["event"], ev["paid"], ev["received"], ev["dust"]) for ev in events] == [("funding", "0.00", "0.00", "0.00")]


def test_funding_needs_a_mark():
    e = Engine()
    ok(e, usdc(2))
    ok(e, perp())
    refused(e, {"op": "funding", "market": "ETH-PERP", "rate": "0.01"}, "no_price")
    refused(e, {"op": "funding", "market": "BTC-PERP", "rate": "0.01"}, "unknown_market")


def test_funding_of_an_isolated_position_moves_its_margin_not_the_cross_balance():
    """USDC 6 decimals, max_leverage 20. alice isolated at leverage 10 buys 2 @100 at the
    mark: margin 2 × 100 / 10 = 20, cross 980. bob (cross) is short 2.
    Rate 0.001: alice pays 2 × 100 × 0.001 = 0.2 from her isolated margin (19.8); her cross
    balance stays 980; bob receives 0.2. paid = received = 0.2, dust 0 (no insurance event)."""
    e = Engine()
    ok(e, usdc(6))
    ok(e, perp(step="0.01", max_leverage="20"))
    ok(e, {"op": "price", "oracle": "ETH", "price": "100"})
    deposit(e, "alice", "1000")
    deposit(e, "bob", "1000")
    ok(e, {"op": "margin_mode", "account": "alice", "market": "ETH-PERP", "mode": "isolated", "leverage": "10"})
    trade(e, "alice", "bob", "2", "100")
    assert e.account("alice")["positions"]["ETH-PERP"]["isolated_margin"] == "20.000000"
    events = ok(e, {"op": "funding", "market": "ETH-PERP", "rate": "0.001"})
    [funding] = named(events, "funding")
    assert (funding["paid"], funding["received"], funding["dust"]) == ("0.200000", "0.200000", "0.000000")
    assert named(events, "insurance_fund") == []
    assert e.account("alice")["positions"]["ETH-PERP"]["isolated_margin"] == "19.800000"
    assert bal(e, "alice") == 980_000_000
    assert bal(e, "bob") == 1_000_200_000
    assert total(e) == 2_000_000_000


def test_funding_that_pushes_free_collateral_below_zero_emits_one_margin_call():
    """USDC 6 decimals. alice: 10 USDC, long 1 @100 at the mark: initial margin 10, free 0.
    Rate 0.0001: she pays 1 × 100 × 0.0001 = 0.01: free = 9.99 − 10 = −0.01 → one
    margin_call (health = 9.99 − maintenance 100 × 0.05 = 4.99). bob, short with 1000,
    receives 0.01 and gets no call. A second funding: no second call (already below)."""
    e = Engine()
    ok(e, usdc(6))
    ok(e, perp(step="0.01"))
    ok(e, {"op": "price", "oracle": "ETH", "price": "100"})
    deposit(e, "alice", "10")
    deposit(e, "bob", "1000")
    trade(e, "alice", "bob", "1", "100")
    assert e.account("alice")["free_collateral"] == "0.000000"
    events = ok(e, {"op": "funding", "market": "ETH-PERP", "rate": "0.0001"})
    calls = named(events, "margin_call")
    assert [(c["account"], c["health"], c["free_collateral"]) for c in calls] == [("alice", "4.990000", "-0.010000")]
    events = ok(e, {"op": "funding", "market": "ETH-PERP", "rate": "0.0001"})
    assert named(events, "margin_call") == []
    assert e.account("alice")["free_collateral"] == "-0.020000"
    # balance 9.98. A deposit of 0.01 is evaluated exactly and leaves her below zero
    # (free −0.01): still no call. Another 0.01: balance 10, free 0 (recovered). One more
    # payment of 0.01: free −0.01, a new crossing, a new call.
    assert ok(e, {"op": "deposit", "account": "alice", "asset": "USDC", "amount": "0.01"}) == []
    deposit(e, "alice", "0.01")
    assert e.account("alice")["free_collateral"] == "0.000000"
    events = ok(e, {"op": "funding", "market": "ETH-PERP", "rate": "0.0001"})
    assert [(c["account"], c["free_collateral"]) for c in named(events, "margin_call")] == [("alice", "-0.010000")]


# -- prices and exchange rates ----------------------------------------------------------------

ETH_ASSET = {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.85"}


def test_the_first_price_values_collateral_that_was_unpriced():
    """alice: 10 USDC and 1 ETH deposited before ETH-USD has a price (ETH counts as 0). She
    buys 1 BTC-PERP @100 at the mark (initial margin 10: free 0). BTC 97: unrealized −3,
    equity_init 7, initial margin 9.7 → free −2.7: margin call.
    ETH-USD's first price, 2000: ETH is worth 2000 (maint 1700, init 1600):
    equity 10 − 3 + 2000 = 2007; health 7 + 1700 − 97 × 0.05 = 1702.15;
    free collateral 7 + 1600 − 9.7 = 1597.3; the margin call status clears."""
    e = Engine()
    ok(e, usdc(6))
    ok(e, ETH_ASSET)
    ok(e, perp("BTC-PERP", "BTC", step="0.01"))
    ok(e, {"op": "price", "oracle": "BTC", "price": "100"})
    deposit(e, "alice", "10")
    deposit(e, "alice", "1", "ETH")
    deposit(e, "maker", "1000")
    assert e.account("alice")["equity"] == "10.000000"
    trade(e, "alice", "maker", "1", "100", market="BTC-PERP")
    events = ok(e, {"op": "price", "oracle": "BTC", "price": "97"})
    assert [(c["account"], c["free_collateral"]) for c in named(events, "margin_call")] == [("alice", "-2.700000")]
    assert ("alice", "") in e.monitor.margin_called
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    entry = e.account("alice")
    assert (entry["equity"], entry["health"], entry["free_collateral"]) == ("2007.000000", "1702.150000", "1597.300000")
    assert ("alice", "") not in e.monitor.margin_called
    assert e.state_document()["prices"] == {"BTC": "97", "ETH-USD": "2000"}


STETH = {"op": "asset", "id": "stETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.9",
         "yield": {"exchange_rate": "1.1", "apy": "0.03"}}


def test_exchange_rate_changes_a_yield_bearing_collateral_value():
    """2 stETH at exchange rate 1.1, ETH 2000: value 2 × 1.1 × 2000 = 4400, maint 0.9 →
    3960, init 0.8 → 3520. Rate 1.2 reported a year later (within the default cap of 20 % a
    year: 1.1 × 1.2 = 1.32): value 4800, maint 4320, init 3840."""
    e = Engine()
    ok(e, usdc(6))
    ok(e, {**STETH, "ts": 0})
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    deposit(e, "alice", "2", "stETH")
    entry = e.account("alice")
    assert (entry["equity"], entry["equity_maint"], entry["equity_init"]) == ("4400.000000", "3960.000000", "3520.000000")
    ok(e, {"op": "exchange_rate", "asset": "stETH", "rate": "1.2", "ts": 365 * 86400})
    entry = e.account("alice")
    assert (entry["equity"], entry["equity_maint"], entry["equity_init"]) == ("4800.000000", "4320.000000", "3840.000000")
    assert e.state_document()["assets"]["stETH"]["exchange_rate"] == "1.2"


def test_an_exchange_rate_drop_re_evaluates_accounts():
    """0.01 stETH at rate 1.1, ETH 2000: value 22, init 17.6. Long 1 BTC-PERP @100: initial
    margin 10, free 7.6. Rate 0.5: value 10, init 8 → free −2: the exchange_rate command
    itself emits the margin call (health = 10 × 0.9 − 100 × 0.05 = 4)."""
    e = Engine()
    ok(e, usdc(6))
    ok(e, STETH)
    ok(e, perp("BTC-PERP", "BTC", step="0.01"))
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    ok(e, {"op": "price", "oracle": "BTC", "price": "100"})
    deposit(e, "alice", "0.01", "stETH")
    deposit(e, "maker", "1000")
    trade(e, "alice", "maker", "1", "100", market="BTC-PERP")
    assert e.account("alice")["free_collateral"] == "7.600000"
    events = ok(e, {"op": "exchange_rate", "asset": "stETH", "rate": "0.5"})
    assert [(c["account"], c["health"], c["free_collateral"]) for c in named(events, "margin_call")] == [
        ("alice", "4.000000", "-2.000000")]


def test_exchange_rate_of_a_non_yield_asset_is_refused():
    e = Engine()
    ok(e, usdc(6))
    ok(e, ETH_ASSET)
    refused(e, {"op": "exchange_rate", "asset": "ETH", "rate": "1.1"}, "not_yield_bearing")
    refused(e, {"op": "exchange_rate", "asset": "USDC", "rate": "1.1"}, "not_yield_bearing")
    refused(e, {"op": "exchange_rate", "asset": "DAI", "rate": "1.1"}, "unknown_asset")


# -- time -------------------------------------------------------------------------------------

def test_time_moves_the_clock_and_a_refused_command_does_not():
    """The clock is the largest ts applied. 1000 → "1000"; a refused withdrawal at 5000
    leaves it; an earlier ts (500) does not move it back; a deposit at 1500 moves it;
    ISO 8601 1970-01-01T00:33:20Z is 33 × 60 + 20 = 2000 s."""
    e = Engine()
    ok(e, usdc(6))
    assert e.state_document()["clock"] is None
    ok(e, {"op": "time", "ts": 1000})
    assert e.state_document()["clock"] == "1000"
    refused(e, {"op": "withdraw", "account": "nobody", "asset": "USDC", "amount": "1", "ts": 5000}, "unknown_account")
    assert e.state_document()["clock"] == "1000"
    ok(e, {"op": "time", "ts": 500})
    assert e.state_document()["clock"] == "1000"
    ok(e, {"op": "deposit", "account": "alice", "asset": "USDC", "amount": "1", "ts": "1500"})
    assert e.state_document()["clock"] == "1500"
    ok(e, {"op": "time", "ts": "1970-01-01T00:33:20Z"})
    assert e.state_document()["clock"] == "2000"
    refused(e, {"op": "time", "ts": "yesterday"}, "invalid_ts")
    assert Decimal(e.state_document()["clock"]) == 2000
