"""Compound v3 (Comet): liquidation is strict — a borrower exactly at the threshold is safe.

Source
------
* compound-finance/comet, test/is-liquidatable-test.ts (``isLiquidatable``), as restated in
  /work/shared/REFERENCE-CASES.md, "Strict liquidation threshold". Debt 100,000 USDC against
  100,000 COMP at 1.00:
  - "takes liquidateCollateralFactor into account": borrowCF 0.75, liquidateCF 0.8 ->
    liquidation value 80,000 < 100,000 -> liquidatable (health −20,000);
  - "is false when collateral can cover the borrowed principal": factor 1.0 -> health
    exactly 0 -> NOT liquidatable;
  - "changes when the underlying asset price changes": COMP at 0.50 -> liquidatable;
  - "is true when the collateral cannot cover the borrowed principal": 95,000 COMP ->
    liquidatable.

SPEC terms (§2 `asset`, §5): COMP is a collateral asset with weight_init = borrowCF and
weight_maint = liquidateCF; USDC is the quote asset, borrowable with liability weights 1.
The borrower deposits COMP and `withdraw`s 100,000 USDC from a zero balance, which opens the
debt; a `lender` supplies the USDC. health = Σ weighted_maint = COMP × price × weight_maint
− 100,000; liquidatable iff health < 0 with a negative balance held.

Comet's tests write the balances directly; here the state must be reached through commands,
and a borrow is refused while free collateral would go below zero. So where the final state
is below the borrow limit, the borrow happens with COMP at a higher price and the oracle then
moves to the price of the case. The breach is caused by that `price` command: per SPEC the
account is then liquidatable (or liquidated by that command), and the `margin_call` it emits
when free collateral crosses below zero carries the health.
"""

from __future__ import annotations

from solvent import Engine

from ._engine import deposit, events_named, in_breach, not_in_breach, ok, price, quote_asset


def _comet(comp_amount: str, borrow_price: str, weight_init: str, weight_maint: str, paused: bool = False) -> Engine:
    engine = Engine()
    if paused:  # keep the breach in place to read its figures
        ok(engine, {"op": "params", "liquidations": "paused"})
    quote_asset(engine, "USDC", liability_weight_init="1", liability_weight_maint="1")
    ok(engine, {"op": "asset", "id": "COMP", "decimals": 18, "oracle": "COMP",
                "weight_init": weight_init, "weight_maint": weight_maint})
    price(engine, "COMP", borrow_price)
    deposit(engine, "lender", "200000")
    deposit(engine, "alice", comp_amount, asset="COMP")
    ok(engine, {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "100000"})
    assert engine.account("alice")["balances"]["USDC"] == "-100000.000000"
    return engine


def test_liquidation_factor_0_8_is_liquidatable_at_minus_20000():
    """weight_init 0.75, weight_maint 0.8. Borrow with COMP at 1.50 (100,000 × 1.5 × 0.75
    = 112,500 >= 100,000), then COMP -> 1.00: health = 100,000 × 1 × 0.8 − 100,000
    = −20,000 < 0 -> liquidatable. Free collateral = 75,000 − 100,000 < 0: a margin call
    with health −20,000. health_factor = 80,000 / 100,000 = 0.8."""
    for paused in (True, False):
        engine = _comet("100000", "1.5", "0.75", "0.8", paused)
        events = price(engine, "COMP", "1")
        calls = events_named(events, "margin_call", "alice")
        assert calls and calls[0]["health"] == "-20000.000000"
        assert in_breach(engine, events, "alice")
    paused_engine = _comet("100000", "1.5", "0.75", "0.8", paused=True)
    price(paused_engine, "COMP", "1")
    alice = paused_engine.account("alice")
    assert alice["health"] == "-20000.000000" and alice["liquidatable"] is True
    assert alice["health_factor"] == "0.8"


def test_liquidation_factor_1_health_exactly_zero_is_not_liquidatable():
    """weight 1.0 (init and maint): 100,000 COMP × 1.00 × 1 − 100,000 = 0. The borrow itself
    leaves free collateral exactly 0, which SPEC allows; health 0 is not liquidatable
    (Comet: liquidity >= 0). health_factor = 100,000 / 100,000 = 1."""
    engine = _comet("100000", "1", "1", "1")
    alice = engine.account("alice")
    assert alice["health"] == "0.000000"
    assert alice["free_collateral"] == "0.000000"
    assert alice["health_factor"] == "1"
    assert alice["liquidatable"] is False
    events = price(engine, "COMP", "1")  # a fresh tick at the same price changes nothing
    assert not_in_breach(engine, events, "alice")


def test_liquidation_factor_1_and_comp_at_0_50_is_liquidatable():
    """Same account; COMP -> 0.50: health = 100,000 × 0.5 − 100,000 = −50,000 -> liquidatable."""
    engine = _comet("100000", "1", "1", "1")
    events = price(engine, "COMP", "0.5")
    calls = events_named(events, "margin_call", "alice")
    assert calls and calls[0]["health"] == "-50000.000000"
    assert in_breach(engine, events, "alice")


def test_95000_comp_at_weight_1_is_liquidatable():
    """95,000 COMP, weight 1.0. Borrow with COMP at 1.10 (104,500 >= 100,000), then
    COMP -> 1.00: health = 95,000 − 100,000 = −5,000 -> liquidatable."""
    engine = _comet("95000", "1.1", "1", "1")
    events = price(engine, "COMP", "1")
    calls = events_named(events, "margin_call", "alice")
    assert calls and calls[0]["health"] == "-5000.000000"
    assert in_breach(engine, events, "alice")
