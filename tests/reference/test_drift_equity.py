"""Drift v2 account equity: collateral plus unrealized PnL.

Source
------
* drift-labs/protocol-v2, programs/drift/src/math/margin/tests.rs, as restated in
  /work/shared/REFERENCE-CASES.md, "Equity": 10 USDC deposited; 1 SOL long entered at 90;
  SOL oracle 100: equity 20 (total collateral = 10 + 1 × (100 − 90)).

SPEC terms (§5): equity = Σ value + Σ unrealized_pnl, unrealized_pnl = q × (M − E). The long
is a SOL-PERP position (settled in USDC) opened at 90 against a counterparty; its single tier
(mmr 0.05, max_leverage 10) is chosen for the test only: requirements do not enter equity. The trade is made with the oracle at 90 (initial margin 9 <= 10 USDC),
then the oracle moves to 100.
"""

from __future__ import annotations

from solvent import Engine

from ._engine import deposit, market, price, quote_asset, trade


def test_equity_of_10_usdc_and_1_sol_long_from_90_at_oracle_100():
    """equity = 10 + 1 × (100 − 90) = 20; unrealized PnL 10; notional 1 × 100 = 100;
    maintenance margin 100 × 0.05 = 5, so health = 20 − 5 = 15."""
    engine = Engine()
    quote_asset(engine, "USDC")
    market(engine, "SOL-PERP", "SOL", [{"mmr": "0.05", "max_leverage": "10"}], step_size="0.1")
    price(engine, "SOL", "90")
    deposit(engine, "alice", "10")
    deposit(engine, "maker", "1000")
    trade(engine, "SOL-PERP", "alice", "maker", "1", "90")
    price(engine, "SOL", "100")

    alice = engine.account("alice")
    assert alice["balances"] == {"USDC": "10.000000"}
    assert alice["equity"] == "20.000000"
    position = alice["positions"]["SOL-PERP"]
    assert position["entry_price"] == "90"
    assert position["unrealized_pnl"] == "10.000000"
    assert position["notional"] == "100.000000"
    assert alice["maintenance_margin"] == "5.000000"
    assert alice["health"] == "15.000000"
