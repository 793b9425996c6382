"""dYdX v4 margin requirements, and the strict liquidation threshold.

Sources
-------
* dydxprotocol/v4-chain, protocol/x/perpetuals/lib/lib_test.go (margin requirements in quote
  quantums: initial = notional × initial margin fraction, maintenance = initial ×
  maintenance fraction), as restated in /work/shared/REFERENCE-CASES.md, "Margin
  requirements": 0.012 BTC at oracle 36,750 (notional 441), initial fraction 20% (max
  leverage 5), maintenance 10%: initial margin 88.20, maintenance margin 44.10.
* dYdX's liquidation rule (an account is liquidatable when its net collateral is strictly
  below its maintenance requirement), shared by SPEC §5: "An account exactly at its
  requirement (health = 0) is not liquidatable"; one quantum below, it is.

SPEC terms: a market with a single tier {mmr 0.1, max_leverage 5} (initial margin =
notional / 5 = 20% of notional; maintenance = notional × 0.1 − 0), settled in USDC (6
decimals), figures in value quantums of 10^-6 (value_decimals 6, the default).
"""

from __future__ import annotations

from solvent import Engine

from ._engine import deposit, events_named, in_breach, market, not_in_breach, ok, price, quote_asset, trade

DYDX_TIERS = [{"mmr": "0.1", "max_leverage": "5"}]


def _engine() -> Engine:
    engine = Engine()
    quote_asset(engine, "USDC")
    market(engine, "BTC-USD", "BTC", DYDX_TIERS, step_size="0.001")
    return engine


def test_initial_and_maintenance_margin_of_0_012_btc_at_36750():
    """0.012 BTC long at oracle 36,750: notional 0.012 × 36,750 = 441;
    initial margin 441 × 20% = 441 / 5 = 88.20; maintenance margin 441 × 10% = 44.10.
    The short side (the counterparty) has the same requirements."""
    engine = _engine()
    price(engine, "BTC", "36750")
    deposit(engine, "alice", "100")
    deposit(engine, "bob", "100")
    trade(engine, "BTC-USD", "alice", "bob", "0.012", "36750")
    for account in ("alice", "bob"):
        entry = engine.account(account)
        position = entry["positions"]["BTC-USD"]
        assert position["notional"] == "441.000000"
        assert position["initial_margin"] == "88.200000"
        assert position["maintenance_margin"] == "44.100000"
        assert entry["initial_margin"] == "88.200000"
        assert entry["maintenance_margin"] == "44.100000"
        # free collateral = 100 − 88.20; health = 100 − 44.10
        assert entry["free_collateral"] == "11.800000"
        assert entry["health"] == "55.900000"


def test_exactly_at_maintenance_is_not_liquidatable_one_quantum_below_is():
    """dYdX / SPEC §5: health = 0 is safe; health = −1 quantum is liquidatable.

    Construction (all exact by hand): alice deposits C = 99.225 USDC and buys 0.012 BTC at
    E = 41,343.75 with the oracle there; her initial margin is 0.012 × 41,343.75 / 5
    = 496.125 / 5 = 99.225 = C, so free collateral is exactly 0 and the trade is accepted.
    The oracle then moves to 36,750: unrealized PnL = 0.012 × (36,750 − 41,343.75)
    = 0.012 × −4,593.75 = −55.125, equity = 99.225 − 55.125 = 44.10, and the maintenance
    margin is the reference figure 44.10: health exactly 0 -> not liquidatable,
    margin_ratio = 44.10 / 44.10 = 1.

    One quantum below: a funding settlement at rate 0.000000001 makes the long pay
    0.012 × 36,750 × 10^-9 = 4.41 × 10^-7 USDC, rounded up (SPEC §1: never in the
    account's favour) to one quantum, 0.000001. Equity 44.099999, health −0.000001 -> in
    breach (liquidatable, or liquidated by the command that put it there).
    """
    engine = _engine()
    price(engine, "BTC", "41343.75")
    deposit(engine, "alice", "99.225")
    deposit(engine, "bob", "1000")
    trade(engine, "BTC-USD", "alice", "bob", "0.012", "41343.75")
    assert engine.account("alice")["free_collateral"] == "0.000000"

    events = price(engine, "BTC", "36750")
    alice = engine.account("alice")
    assert alice["equity"] == "44.100000"
    assert alice["maintenance_margin"] == "44.100000"
    assert alice["health"] == "0.000000"
    assert alice["margin_ratio"] == "1"
    assert not_in_breach(engine, events, "alice")

    events = ok(engine, {"op": "funding", "market": "BTC-USD", "rate": "0.000000001"})
    funding = events_named(events, "funding")
    assert funding and funding[0]["paid"] == "0.000001"
    if not events_named(events, "liquidation", "alice"):
        alice = engine.account("alice")
        assert alice["balances"]["USDC"] == "99.224999"
        assert alice["health"] == "-0.000001"
    assert in_breach(engine, events, "alice")
