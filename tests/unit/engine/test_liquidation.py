"""Liquidation and the loss waterfall (SPEC §6), worked by hand.

The book: USDC (6 decimals, the quote asset) and BTC-PERP with one tier (mmr 0.01, max
leverage 50), step 0.01, liquidation fee 0.005. Every expected figure below is computed in
the test's docstring from the formulas of docs/LIQUIDATION.md, not read off the engine.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from solvent import Engine

USDC = {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1",
        "liability_weight_init": "1", "liability_weight_maint": "1"}
BTC_PERP = {"op": "market", "id": "BTC-PERP", "oracle": "BTC", "settle": "USDC", "step_size": "0.01",
            "liquidation_fee": "0.005", "tiers": [{"mmr": "0.01", "max_leverage": "50"}]}


def ok(engine: Engine, command: dict[str, Any]) -> list[dict[str, Any]]:
    events = engine.apply(command)
    assert not [e for e in events if e["event"] == "rejected"], (command, events)
    return events


def named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


def strip(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: event[k] for k in keys}


def book(*params: dict[str, Any], insurance: str | None = None) -> Engine:
    engine = Engine()
    for command in (USDC, BTC_PERP, *params, {"op": "price", "oracle": "BTC", "price": "50000"}):
        ok(engine, command)
    if insurance is not None:
        ok(engine, {"op": "deposit", "account": "@insurance", "asset": "USDC", "amount": insurance})
    return engine


def deposit(engine: Engine, account: str, amount: str, asset: str = "USDC") -> None:
    ok(engine, {"op": "deposit", "account": account, "asset": asset, "amount": amount})


def trade(engine: Engine, buyer: str, seller: str, size: str, price: str = "50000", market: str = "BTC-PERP") -> None:
    ok(engine, {"op": "trade", "market": market, "buyer": buyer, "seller": seller, "size": size, "price": price})


def tick(engine: Engine, price: str, oracle: str = "BTC") -> list[dict[str, Any]]:
    return ok(engine, {"op": "price", "oracle": oracle, "price": price})


def balance(engine: Engine, account: str, asset: str = "USDC") -> str:
    return engine.account(account)["balances"].get(asset, "0")


def alice_long_one(engine: Engine) -> None:
    """alice: 1,000 USDC, long 1 BTC @ 50,000 at 50× (initial margin 1,000: free collateral 0);
    bob, rich, is short."""
    deposit(engine, "alice", "1000")
    deposit(engine, "bob", "100000")
    trade(engine, "alice", "bob", "1")


# -- partial and full --------------------------------------------------------------------------

def test_partial_closes_the_least_step_multiple_that_reaches_the_buffer():
    """Mark 49,400: PnL −600, equity 400, maintenance 494, health −94 < 0.
    Closing x: fee 0.005 × 49,400 x = 247x; maintenance 494(1 − x); equity 400 − 247x.
    Target health >= 0.1 × maintenance: 400 − 247x − 494(1 − x) >= 49.4(1 − x)
    ⇔ 296.4x >= 143.4 ⇔ x >= 0.48381 → x = 0.49 (0.48 misses: health 24.56 < 25.688).
    Fee 247 × 0.49 = 121.03 (below both caps: equity 400, health freed 242.06).
    alice: 1,000 − 0.49 × 600 − 121.03 = 584.97, long 0.51; health 278.97 − 251.94 = 27.03.
    The backstop holds long 0.49 @ 49,400; the fund gets 121.03."""
    engine = book()
    alice_long_one(engine)
    events = tick(engine, "49400")
    [liquidation] = named(events, "liquidation")
    assert strip(liquidation, "account", "market", "size", "price", "fee", "mode", "policy", "remaining") == {
        "account": "alice", "market": "BTC-PERP", "size": "0.49", "price": "49400", "fee": "121.030000",
        "mode": "cross", "policy": "partial", "remaining": "0.51"}
    [fund] = named(events, "insurance_fund")
    assert strip(fund, "delta", "balance", "reason") == {"delta": "121.030000", "balance": "121.030000",
                                                         "reason": "liquidation_fee"}
    alice = engine.account("alice")
    assert alice["balances"]["USDC"] == "584.970000"
    assert (alice["health"], alice["maintenance_margin"], alice["liquidatable"]) == ("27.030000", "251.940000", False)
    backstop = engine.account("@insurance")["positions"]["BTC-PERP"]
    assert (backstop["size"], backstop["entry_price"]) == ("0.49", "49400")
    assert engine.state_document()["ledger"]["balanced"] is True
    # the same price again: the buffer keeps alice out of liquidation
    assert not named(tick(engine, "49400"), "liquidation")


def test_full_policy_closes_everything():
    """Same breach under `full`: close 1; fee min(247, equity 400, health freed 494) = 247;
    alice keeps 1,000 − 600 − 247 = 153 and no position."""
    engine = book({"op": "params", "liquidation_policy": "full"})
    alice_long_one(engine)
    [liquidation] = named(tick(engine, "49400"), "liquidation")
    assert (liquidation["size"], liquidation["fee"], liquidation["policy"]) == ("1", "247.000000", "full")
    alice = engine.account("alice")
    assert (alice["balances"]["USDC"], alice["positions"]) == ("153.000000", {})


def test_fee_is_capped_at_the_equity_left():
    """Mark 49,100: equity 1,000 − 900 = 100, maintenance 491, health −391. The target needs
    100 − 245.5x − 1.1 × 491(1 − x) >= 0 ⇔ x >= 1.49: the whole position closes. Fee
    min(245.5, equity left 100, health freed 491) = 100: alice ends at exactly 0, no bad debt."""
    engine = book()
    alice_long_one(engine)
    events = tick(engine, "49100")
    [liquidation] = named(events, "liquidation")
    assert (liquidation["size"], liquidation["fee"], liquidation["remaining"]) == ("1", "100.000000", "0")
    assert not named(events, "bad_debt")
    assert engine.account("alice")["balances"] == {}


def test_a_healthy_account_is_never_liquidated_and_health_zero_is_safe():
    """Mark 49,494.95: PnL −505.05, equity 494.95, maintenance ⌈494.9495⌉ = 494.949500:
    health 0.0005 >= 0. One tick lower, 49,494.94: health = 494.94 − 494.9494 < 0."""
    engine = book()
    alice_long_one(engine)
    assert not named(tick(engine, "49494.95"), "liquidation")
    assert Decimal(engine.account("alice")["positions"]["BTC-PERP"]["size"]) == 1
    assert named(tick(engine, "49494.94"), "liquidation")


def test_min_notional_closes_a_small_remainder_whole():
    """As the partial case, with min_notional 30,000: the remainder 0.51 × 49,400 = 25,194
    is below it, so the whole position closes (fee 247)."""
    engine = Engine()
    for command in (USDC, {**BTC_PERP, "min_notional": "30000"}, {"op": "price", "oracle": "BTC", "price": "50000"}):
        ok(engine, command)
    alice_long_one(engine)
    [liquidation] = named(tick(engine, "49400"), "liquidation")
    assert (liquidation["size"], liquidation["fee"]) == ("1", "247.000000")


def test_paused_liquidations_keep_the_flag_and_run_when_resumed():
    engine = book({"op": "params", "liquidations": "paused"})
    alice_long_one(engine)
    assert not named(tick(engine, "49400"), "liquidation")
    assert engine.account("alice")["liquidatable"] is True
    events = ok(engine, {"op": "params", "liquidations": "on"})
    assert named(events, "liquidation")[0]["size"] == "0.49"


# -- isolated ----------------------------------------------------------------------------------

def isolated_alice(engine: Engine) -> None:
    """alice: 10,000 USDC; isolated long 1 @ 50,000 at 10× moves 5,000 into its wallet."""
    deposit(engine, "alice", "10000")
    deposit(engine, "bob", "100000")
    ok(engine, {"op": "margin_mode", "account": "alice", "market": "BTC-PERP", "mode": "isolated", "leverage": "10"})
    trade(engine, "alice", "bob", "1")
    assert engine.account("alice")["balances"]["USDC"] == "5000.000000"


def test_isolated_bankruptcy_beside_a_healthy_cross_balance():
    """Gap to 44,000: the isolated equity is 5,000 − 6,000 = −1,000. The position closes
    whole at the mark, fee 0 (no equity left); the wallet is −1,000: bad debt 1,000. The fund
    (300) pays 300 of it; ADL takes the other 700 from bob, short 1, at the bankruptcy price
    44,000 + 700 / 1 = 44,700 (his close at the mark plus a charge of 700). The fund ends at
    300 + 700 − 1,000 = 0. alice's cross balance is untouched: 5,000."""
    engine = book(insurance="300")
    isolated_alice(engine)
    events = tick(engine, "44000")
    [liquidation] = named(events, "liquidation")
    assert (liquidation["mode"], liquidation["size"], liquidation["fee"]) == ("isolated", "1", "0.000000")
    assert [strip(e, "account", "asset", "amount", "market") for e in named(events, "bad_debt")] == [
        {"account": "alice", "asset": "USDC", "amount": "1000.000000", "market": "BTC-PERP"}]
    [adl] = named(events, "adl")
    assert strip(adl, "account", "size", "price", "mark", "charge") == {
        "account": "bob", "size": "-1", "price": "44700", "mark": "44000", "charge": "700.000000"}
    assert [(e["delta"], e["reason"]) for e in named(events, "insurance_fund")] == [
        ("700.000000", "adl"), ("-1000.000000", "bad_debt")]
    assert engine.state_document()["insurance_fund"]["USDC"] == "0.000000"
    assert balance(engine, "alice") == "5000.000000"
    assert engine.account("alice")["positions"] == {}
    # bob: short 1 from 50,000 closed at 44,000 (+6,000), less the charge
    assert balance(engine, "bob") == "105300.000000"
    assert "BTC-PERP" not in engine.account("@insurance")["positions"]  # handed on whole
    assert engine.state_document()["ledger"]["balanced"] is True


def test_isolated_bankruptcy_socialized():
    """The same gap under `socialize`, with carol holding 40,000 USDC: the 700 the fund
    cannot pay is a haircut of the positive USDC balances outside alice's own: bob 100,000
    and carol 40,000, 700 / 140,000 = 0.005 each: bob pays 500, carol 200. bob keeps his
    short (socializing closes nothing)."""
    engine = book({"op": "params", "bad_debt_policy": "socialize"}, insurance="300")
    isolated_alice(engine)
    deposit(engine, "carol", "40000")
    events = tick(engine, "44000")
    [loss] = named(events, "socialized_loss")
    assert strip(loss, "asset", "amount", "haircut", "collected") == {
        "asset": "USDC", "amount": "700.000000", "haircut": "0.005", "collected": "700.000000"}
    assert (balance(engine, "bob"), balance(engine, "carol"), balance(engine, "alice")) == (
        "99500.000000", "39800.000000", "5000.000000")
    assert Decimal(engine.account("bob")["positions"]["BTC-PERP"]["size"]) == -1
    assert not named(events, "adl")
    assert engine.state_document()["insurance_fund"]["USDC"] == "0.000000"


# -- a gap through bankruptcy: fund, then ADL ----------------------------------------------------

def test_gap_empties_the_fund_then_deleverages_the_top_ranked_first():
    """alice long 1 @ 50,000 on 1,000; dave short 0.4 on 2,000, bob short 0.6 on 10,000; the
    fund holds 100. Gap to 48,000: alice's equity is 1,000 − 2,000 = −1,000; she closes whole
    (fee 0) and owes 1,000. The fund pays 100; ADL collects 900: per unit 900, bankruptcy
    price 48,900. Ranking (max(0,U)/max(1,W) × MM/(W+U)):
      dave: U = 800, W = 2,000, MM = 0.01 × 0.4 × 48,000 = 192: 0.4 × 192/2,800 = 0.0274
      bob:  U = 1,200, W = 10,000, MM = 288:               0.12 × 288/11,200 = 0.0031
    dave first: closes 0.4, charge 360; then bob 0.6, charge 540. The fund: 100 + 900 −
    1,000 = 0; the backstop hands the whole position on and holds nothing."""
    engine = book(insurance="100")
    deposit(engine, "alice", "1000")
    deposit(engine, "dave", "2000")
    deposit(engine, "bob", "10000")
    trade(engine, "alice", "dave", "0.4")
    trade(engine, "alice", "bob", "0.6")
    events = tick(engine, "48000")
    [bad] = named(events, "bad_debt")
    assert (bad["account"], bad["amount"]) == ("alice", "1000.000000")
    assert [strip(e, "account", "size", "price", "charge") for e in named(events, "adl")] == [
        {"account": "dave", "size": "-0.4", "price": "48900", "charge": "360.000000"},
        {"account": "bob", "size": "-0.6", "price": "48900", "charge": "540.000000"},
    ]
    assert [(e["delta"], e["balance"], e["reason"]) for e in named(events, "insurance_fund")] == [
        ("900.000000", "1000.000000", "adl"), ("-1000.000000", "0.000000", "bad_debt")]
    assert balance(engine, "alice") == "0"
    assert (balance(engine, "dave"), balance(engine, "bob")) == ("2440.000000", "10660.000000")
    assert engine.account("@insurance")["positions"] == {}
    assert engine.state_document()["ledger"]["balanced"] is True


def test_the_event_order_of_a_bankruptcy():
    engine = book(insurance="100")
    alice_long_one(engine)
    events = tick(engine, "48000")
    assert [e["event"] for e in events] == [
        "margin_call", "liquidation", "bad_debt", "adl", "insurance_fund", "insurance_fund"]


def test_replaying_a_liquidation_gives_identical_events():
    commands = [USDC, BTC_PERP, {"op": "price", "oracle": "BTC", "price": "50000"},
                {"op": "deposit", "account": "@insurance", "asset": "USDC", "amount": "100"},
                {"op": "deposit", "account": "alice", "asset": "USDC", "amount": "1000"},
                {"op": "deposit", "account": "bob", "asset": "USDC", "amount": "5000"},
                {"op": "trade", "market": "BTC-PERP", "buyer": "alice", "seller": "bob", "size": "1", "price": "50000"},
                {"op": "price", "oracle": "BTC", "price": "49400"},
                {"op": "price", "oracle": "BTC", "price": "47000"}]
    first, second = Engine(), Engine()
    assert [first.apply(c) for c in commands] == [second.apply(c) for c in commands]
    assert first.state_hash() == second.state_hash()


# -- lending -----------------------------------------------------------------------------------

def lending_book(eth_price: str, fund: tuple[str, str] = ("20000", "USDC")) -> Engine:
    """ETH: 8 decimals, weight_init 0.75, weight_maint 0.8, bonus 0.05. alice deposits 10 ETH
    at 2,000 and borrows 14,000 USDC (free collateral 15,000 − 14,000 >= 0) from a lender;
    the fund holds 20,000 USDC. Then ETH moves to `eth_price`."""
    engine = Engine()
    ok(engine, USDC)
    ok(engine, {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH", "weight_init": "0.75",
                "weight_maint": "0.8", "liquidation_bonus": "0.05"})
    ok(engine, {"op": "price", "oracle": "ETH", "price": "2000"})
    deposit(engine, "lender", "50000")
    deposit(engine, "@insurance", *fund)
    deposit(engine, "alice", "10", "ETH")
    ok(engine, {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "14000"})
    return engine


def test_borrow_liquidation_within_the_close_factor():
    """ETH → 1,680: A = 10 × 1,680 × 0.8 = 13,440, L = 14,000, health −560, health factor
    0.96 >= 0.95, so at most half the debt: 7,000. Each USDC repaid takes 1.05 / 1,680 ETH
    and improves health by 1 − 1.05 × 0.8 = 0.16; reaching 0.1 × L would need
    −560 + 0.16r >= 0.1(14,000 − r), r >= 7,538.46: the close factor binds, r = 7,000,
    seized 7,000 × 1.05 / 1,680 = 4.375 ETH. After: A = 5.625 × 1,680 × 0.8 = 7,560,
    L = 7,000, health 560. The fund: −7,000 USDC, +4.375 ETH."""
    engine = lending_book("2000")
    events = tick(engine, "1680", "ETH")
    [liquidation] = named(events, "borrow_liquidation")
    assert strip(liquidation, "account", "debt_asset", "repaid", "collateral_asset", "seized", "bonus", "close_factor") == {
        "account": "alice", "debt_asset": "USDC", "repaid": "7000.000000", "collateral_asset": "ETH",
        "seized": "4.37500000", "bonus": "0.05", "close_factor": "0.5"}
    alice = engine.account("alice")
    assert alice["balances"] == {"ETH": "5.62500000", "USDC": "-7000.000000"}
    assert (alice["health"], alice["liquidatable"]) == ("560.000000", False)
    assert engine.state_document()["insurance_fund"] == {"ETH": "4.37500000", "USDC": "13000.000000"}


def test_borrow_liquidation_below_the_full_close_health_factor_repays_the_least_that_restores():
    """ETH → 1,600: A = 12,800, health −1,200, health factor 0.914 < 0.95: the whole debt may
    be repaid. Least r with −1,200 + 0.16r >= 0.1(14,000 − r): r = 10,000 exactly, seized
    10,000 × 1.05 / 1,600 = 6.5625 ETH. After: A = 3.4375 × 1,600 × 0.8 = 4,400, L = 4,000,
    health 400 = 0.1 × L."""
    engine = lending_book("2000")
    [liquidation] = named(tick(engine, "1600", "ETH"), "borrow_liquidation")
    assert (liquidation["repaid"], liquidation["seized"], liquidation["close_factor"]) == (
        "10000.000000", "6.56250000", "1")
    assert engine.account("alice")["health"] == "400.000000"


def test_a_lending_account_under_water_is_bankrupt():
    """ETH → 1,000: equity 10,000 − 14,000 = −4,000. The backstop seizes the 10 ETH (worth
    10,000 at the oracle), pays 10,000 of the debt with it, and the 4,000 left is bad debt:
    the fund (20,000) pays it. No position was taken over, so there is nothing to deleverage.
    The fund ends at 20,000 − 10,000 − 4,000 = 6,000 USDC and 10 ETH."""
    engine = lending_book("2000")
    events = tick(engine, "1000", "ETH")
    [bad] = named(events, "bad_debt")
    assert (bad["account"], bad["amount"]) == ("alice", "4000.000000")
    assert [(e["asset"], e["delta"], e["reason"]) for e in named(events, "insurance_fund")] == [
        ("ETH", "10.00000000", "seized_collateral"),
        ("USDC", "-10000.000000", "debt_paid_from_collateral"),
        ("USDC", "-4000.000000", "bad_debt")]
    assert engine.account("alice")["balances"] == {}
    assert engine.state_document()["insurance_fund"] == {"ETH": "10.00000000", "USDC": "6000.000000"}


@pytest.mark.parametrize("bad_input", [
    {"op": "params", "liquidations": "sometimes"},
    {"op": "params", "close_factor": "0"},
    {"op": "params", "close_factor": "1.5"},
    {"op": "params", "full_close_health_factor": "-1"},
    {"op": "asset", "id": "X", "decimals": 2, "oracle": "X", "weight_init": "0.5", "weight_maint": "0.5",
     "liquidation_bonus": "1"},
])
def test_liquidation_settings_are_validated(bad_input):
    engine = Engine()
    events = engine.apply(bad_input)
    assert len(events) == 1 and events[0]["event"] == "rejected"
    assert engine.state_document() == Engine().state_document()


def test_the_fund_pays_with_what_it_is_worth_not_only_its_balance_of_the_asset():
    """The fund holds 5 ETH and no USDC. ETH → 1,000: alice (10 ETH, owes 14,000 USDC) is
    bankrupt. The backstop seizes her 10 ETH and pays 10,000 of the debt with it (USDC −10,000
    for the fund); the 4,000 left is bad debt. The fund is worth 15 ETH × 1,000 − 10,000 =
    5,000 >= 4,000: it pays it all, ending at −14,000 USDC and 15 ETH (worth 1,000), and no
    one else is touched: the lender's 50,000 USDC stay whole."""
    engine = lending_book("2000", fund=("5", "ETH"))
    events = tick(engine, "1000", "ETH")
    assert not named(events, "socialized_loss") and not named(events, "adl")
    assert engine.state_document()["insurance_fund"] == {"ETH": "15.00000000", "USDC": "-14000.000000"}
    assert engine.account("@insurance")["equity"] == "1000.000000"
    assert balance(engine, "lender") == "50000.000000"


def test_a_fund_worth_nothing_leaves_the_loss_to_the_policy():
    """The fund holds 1 ETH only. At ETH 1,000 it is worth 10 × 1,000 + 1,000 − 10,000 =
    1,000 after the exchange, so of the 4,000 of bad debt 1,000 is the fund's and 3,000 is
    socialized (no position was taken over, so there is nothing to deleverage): the lender,
    the only positive USDC balance, pays 3,000 (haircut 0.06)."""
    engine = lending_book("2000", fund=("1", "ETH"))
    events = tick(engine, "1000", "ETH")
    [loss] = named(events, "socialized_loss")
    assert (loss["amount"], loss["haircut"], loss["collected"]) == ("3000.000000", "0.06", "3000.000000")
    assert balance(engine, "lender") == "47000.000000"
    assert engine.account("@insurance")["equity"] == "0.000000"


def test_a_query_never_liquidates_a_unit_left_waiting():
    """One borrow liquidation per unit and command (LIQUIDATION.md §1): a crash leaves a1's
    position closed and a USDC debt still in breach after the first one. An `order_check`
    or `account` query that follows changes nothing; the next applied command (a deposit by
    another account) takes the unit up again."""
    eth = {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8",
           "weight_maint": "0.85", "liability_weight_init": "1.25", "liability_weight_maint": "1.1"}
    steth = {"op": "asset", "id": "stETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.7",
             "weight_maint": "0.8", "yield": {"exchange_rate": "1.05", "apy": "0.04"}}
    eth_perp = {"op": "market", "id": "ETH-PERP", "oracle": "ETH-USD", "settle": "USDC", "step_size": "0.01",
                "liquidation_fee": "0.01", "tiers": [{"max_notional": "5000", "mmr": "0.01", "max_leverage": "50"},
                                                    {"max_notional": "20000", "mmr": "0.025", "max_leverage": "20"},
                                                    {"mmr": "0.05", "max_leverage": "10"}]}
    engine = Engine()
    for command in (USDC, eth, steth, eth_perp, {"op": "price", "oracle": "ETH-USD", "price": "3000"}):
        ok(engine, command)
    for account in ("a1", "a2"):
        ok(engine, {"op": "deposit", "account": account, "asset": "USDC", "amount": "250"})
        ok(engine, {"op": "deposit", "account": account, "asset": "ETH", "amount": "1"})
        ok(engine, {"op": "deposit", "account": account, "asset": "stETH", "amount": "1"})
    ok(engine, {"op": "trade", "market": "ETH-PERP", "buyer": "a1", "seller": "a2", "size": "16.18", "price": "3000"})
    crash = ok(engine, {"op": "price", "oracle": "ETH-USD", "price": "2700"})
    assert [e["collateral_asset"] for e in named(crash, "borrow_liquidation")] == ["ETH"]
    assert ("a1", "") in engine.monitor.liquidatable  # still in breach: it waits for the next command
    before = engine.state_hash()
    for query in ({"op": "order_check", "account": "a1", "market": "ETH-PERP", "size": "0.01", "price": "2700"},
                  {"op": "account", "account": "a1"}):
        events = engine.apply(query)
        assert [e["event"] for e in events] in (["order_check"], ["account"])
        assert engine.state_hash() == before
    after = ok(engine, {"op": "deposit", "account": "a2", "asset": "USDC", "amount": "1"})
    assert [e["collateral_asset"] for e in named(after, "borrow_liquidation")] == ["stETH"]
