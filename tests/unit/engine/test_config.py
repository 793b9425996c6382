"""Worked scenarios for `solvent.engine.config`: asset, market, params.

Rules: SPEC §2 and ARCHITECTURE.md (decimals and oracle of an asset, oracle and settle asset
of a market are fixed once set; the settle asset is a quote asset; tiers ascending with
mmr ≤ 1/max_leverage, mmr non-decreasing, max_leverage non-increasing; cost_basis only with
no open position; value_decimals only before the first account; a configuration change
re-evaluates every account). Tier figures: MARGIN_MODEL.md "Tiers".
"""

from __future__ import annotations

from typing import Any

import pytest

from solvent import Engine

from ._steps import named, ok, refused

USDC = {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"}
USD2 = {"op": "asset", "id": "USD2", "decimals": 2, "oracle": None, "weight_init": "1", "weight_maint": "1"}
ETH = {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.85"}






def market(tiers: list[dict[str, str]], *, market_id: str = "BTC-PERP", oracle: str = "BTC",
           settle: str = "USDC") -> dict[str, Any]:
    return {"op": "market", "id": market_id, "oracle": oracle, "settle": settle, "step_size": "0.01",
            "liquidation_fee": "0.01", "tiers": tiers}


ONE_TIER = [{"mmr": "0.05", "max_leverage": "10"}]


def engine_with(*commands: dict[str, Any]) -> Engine:
    e = Engine()
    for command in commands:
        ok(e, command)
    return e




def long_position(e: Engine, size: str, price: str, deposit: str, market_id: str = "BTC-PERP") -> None:
    """alice buys `size` @`price` from a well-funded maker."""
    ok(e, {"op": "deposit", "account": "alice", "asset": "USDC", "amount": deposit})
    ok(e, {"op": "deposit", "account": "maker", "asset": "USDC", "amount": "1000000"})
    ok(e, {"op": "trade", "market": market_id, "buyer": "alice", "seller": "maker", "size": size, "price": price})


# -- assets -----------------------------------------------------------------------------------

def test_asset_redefinition_keeps_decimals_and_oracle():
    """Weights may change (alice's 1 ETH at 2000: equity_init 0.8 × 2000 = 1600, then
    0.5 × 2000 = 1000); decimals and oracle may not."""
    e = engine_with(USDC, ETH, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    ok(e, {"op": "deposit", "account": "alice", "asset": "ETH", "amount": "1"})
    assert e.account("alice")["equity_init"] == "1600.000000"
    refused(e, {**USDC, "decimals": 8}, "immutable_field")
    refused(e, {**ETH, "decimals": 6}, "immutable_field")
    refused(e, {**ETH, "oracle": "ETH-USD-2"}, "immutable_field")
    refused(e, {**ETH, "oracle": None}, "immutable_field")
    refused(e, {**USDC, "oracle": "USD"}, "immutable_field")
    ok(e, {**ETH, "weight_init": "0.5"})
    entry = e.account("alice")
    assert (entry["equity_init"], entry["equity_maint"]) == ("1000.000000", "1700.000000")
    assert entry["balances"] == {"ETH": "1.00000000"}


def test_an_asset_change_re_evaluates_accounts():
    """alice: 1 ETH (2000: init 0.8 → 1600), long 100 BTC-PERP @100 at the mark (notional
    10,000: initial margin 1000) → free 600. ETH weight_init 0.4: 800 − 1000 = −200 → the
    asset command emits the margin call (health = 1700 − 10,000 × 0.05 = 1200)."""
    e = engine_with(USDC, ETH, market(ONE_TIER), {"op": "price", "oracle": "ETH-USD", "price": "2000"},
                    {"op": "price", "oracle": "BTC", "price": "100"})
    ok(e, {"op": "deposit", "account": "alice", "asset": "ETH", "amount": "1"})
    ok(e, {"op": "deposit", "account": "maker", "asset": "USDC", "amount": "1000000"})
    ok(e, {"op": "trade", "market": "BTC-PERP", "buyer": "alice", "seller": "maker", "size": "100", "price": "100"})
    assert e.account("alice")["free_collateral"] == "600.000000"
    events = ok(e, {**ETH, "weight_init": "0.4"})
    assert [(c["account"], c["health"], c["free_collateral"]) for c in named(events, "margin_call")] == [
        ("alice", "1200.000000", "-200.000000")]


# -- markets ----------------------------------------------------------------------------------

def test_market_redefinition_keeps_oracle_and_settle():
    e = engine_with(USDC, USD2, market(ONE_TIER))
    refused(e, market(ONE_TIER, oracle="XBT"), "immutable_field")
    refused(e, market(ONE_TIER, settle="USD2"), "immutable_field")
    ok(e, market([{"mmr": "0.02", "max_leverage": "20"}]))
    assert e.state.book.markets["BTC-PERP"].tiers[0].max_leverage == 20


def test_a_market_settles_in_a_quote_asset():
    e = engine_with(USDC, ETH)
    refused(e, market(ONE_TIER, settle="ETH"), "invalid_config")
    refused(e, market(ONE_TIER, settle="DAI"), "unknown_asset")
    assert "@pnl:BTC-PERP" not in e.state_document()["accounts"]


@pytest.mark.parametrize("tiers, code", [
    # max_notional must increase
    ([{"max_notional": "1000", "mmr": "0.01", "max_leverage": "50"},
      {"max_notional": "1000", "mmr": "0.02", "max_leverage": "25"},
      {"mmr": "0.05", "max_leverage": "10"}], "invalid_config"),
    # mmr must not decrease
    ([{"max_notional": "1000", "mmr": "0.02", "max_leverage": "25"},
      {"mmr": "0.01", "max_leverage": "25"}], "invalid_config"),
    # max_leverage must not increase (0.02 × 50 = 1 is itself fine)
    ([{"max_notional": "1000", "mmr": "0.01", "max_leverage": "25"},
      {"mmr": "0.02", "max_leverage": "50"}], "invalid_config"),
    # mmr 0.11 > 1 / 10: maintenance above initial
    ([{"mmr": "0.11", "max_leverage": "10"}], "invalid_config"),
    # the last tier is unbounded
    ([{"max_notional": "1000", "mmr": "0.01", "max_leverage": "50"},
      {"max_notional": "5000", "mmr": "0.05", "max_leverage": "10"}], "invalid_config"),
    # every tier but the last needs max_notional
    ([{"mmr": "0.01", "max_leverage": "50"},
      {"mmr": "0.05", "max_leverage": "10"}], "missing_field"),
    ([], "invalid_config"),
])
def test_tier_validation(tiers, code):
    e = engine_with(USDC)
    refused(e, market(tiers), code)
    assert "BTC-PERP" not in e.state.book.markets


def test_mmr_exactly_one_over_max_leverage_is_allowed():
    e = engine_with(USDC)
    ok(e, market([{"mmr": "0.1", "max_leverage": "10"}]))


def test_tiers_give_continuous_maintenance_margin():
    """Tiers 1000 / 1% / 50 and (last) 5% / 10: cum₂ = 1000 × (0.05 − 0.01) = 40.
    Long 10 @100: notional 1000, exactly the first tier's bound → tier 1:
    maintenance 1000 × 0.01 = 10, initial 1000 / 50 = 20.
    Another 10 @100 (20 in all): notional 2000 → tier 2: maintenance 2000 × 0.05 − 40 = 60,
    initial 2000 / 10 = 200."""
    tiers = [{"max_notional": "1000", "mmr": "0.01", "max_leverage": "50"}, {"mmr": "0.05", "max_leverage": "10"}]
    e = engine_with(USDC, market(tiers), {"op": "price", "oracle": "BTC", "price": "100"})
    long_position(e, "10", "100", "1000")
    pos = e.account("alice")["positions"]["BTC-PERP"]
    assert (pos["maintenance_margin"], pos["initial_margin"]) == ("10.000000", "20.000000")
    ok(e, {"op": "trade", "market": "BTC-PERP", "buyer": "alice", "seller": "maker", "size": "10", "price": "100"})
    pos = e.account("alice")["positions"]["BTC-PERP"]
    assert (pos["maintenance_margin"], pos["initial_margin"]) == ("60.000000", "200.000000")


def test_raising_mmr_re_evaluates_accounts():
    """alice: 10 USDC, long 1 @100 (mmr 0.05, max_leverage 10). Mark 96: unrealized −4,
    equity 6, maintenance 4.8 → health 1.2 (not liquidatable). mmr raised to 0.07:
    maintenance 6.72 → health 6 − 6.72 = −0.72: liquidatable in the monitor's state
    (liquidations paused, so the flag stays to be read)."""
    e = engine_with(USDC, market(ONE_TIER), {"op": "price", "oracle": "BTC", "price": "100"},
                    {"op": "params", "liquidations": "paused"})
    long_position(e, "1", "100", "10")
    ok(e, {"op": "price", "oracle": "BTC", "price": "96"})
    assert e.account("alice")["health"] == "1.200000"
    assert ("alice", "") not in e.monitor.liquidatable
    ok(e, market([{"mmr": "0.07", "max_leverage": "10"}]))
    assert ("alice", "") in e.monitor.liquidatable
    entry = e.account("alice")
    assert (entry["health"], entry["liquidatable"]) == ("-0.720000", True)


def test_lowering_max_leverage_emits_a_margin_call():
    """alice: 10 USDC, long 1 @100 with max_leverage 20: initial margin 5, free 5. The tier
    becomes max_leverage 5 (mmr 0.05 × 5 = 0.25 ≤ 1): initial margin 20, free −10 → the
    market command emits the margin call (health = 10 − 5 = 5)."""
    e = engine_with(USDC, market([{"mmr": "0.05", "max_leverage": "20"}]), {"op": "price", "oracle": "BTC", "price": "100"})
    long_position(e, "1", "100", "10")
    assert e.account("alice")["free_collateral"] == "5.000000"
    events = ok(e, market([{"mmr": "0.05", "max_leverage": "5"}]))
    assert [(c["account"], c["health"], c["free_collateral"]) for c in named(events, "margin_call")] == [
        ("alice", "5.000000", "-10.000000")]


# -- params -----------------------------------------------------------------------------------

def test_cost_basis_changes_only_without_open_positions():
    e = engine_with(USDC, market(ONE_TIER), {"op": "price", "oracle": "BTC", "price": "100"})
    ok(e, {"op": "params", "cost_basis": "fifo"})  # nothing open yet
    long_position(e, "1", "100", "1000")
    refused(e, {"op": "params", "cost_basis": "average"}, "positions_open")
    ok(e, {"op": "params", "cost_basis": "fifo"})  # unchanged: allowed
    ok(e, {"op": "trade", "market": "BTC-PERP", "buyer": "maker", "seller": "alice", "size": "1", "price": "100"})
    ok(e, {"op": "params", "cost_basis": "average"})
    assert e.state.book.params.cost_basis.value == "average"


def test_value_decimals_only_before_the_first_account():
    """With value_decimals 2 the figures print with 2 decimals: 10 USDC → equity "10.00"."""
    e = engine_with(USDC)
    ok(e, {"op": "params", "value_decimals": 2})
    ok(e, {"op": "deposit", "account": "alice", "asset": "USDC", "amount": "10"})
    entry = e.account("alice")
    assert (entry["equity"], entry["free_collateral"], entry["balances"]) == ("10.00", "10.00", {"USDC": "10.000000"})
    refused(e, {"op": "params", "value_decimals": 6}, "accounts_exist")
    refused(e, {"op": "params", "value_decimals": 4}, "accounts_exist")
