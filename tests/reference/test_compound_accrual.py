"""Interest accrual: simple interest per accrual on the borrow index, the reserve factor's
share to reserves.

Source
------
* compound-finance/compound-protocol, tests/Tokens/accrueInterestTest.js, "succeeds and
  saves updated values in storage on success": borrow rate 0.000001 per block, one block,
  total borrows 1e22, reserve factor 0.1 (1e17 mantissa):
    borrowIndex'  = borrowIndex + borrowIndex × borrowRate            (1e18 → 1.000001e18)
    totalBorrows' = totalBorrows + totalBorrows × borrowRate          (interest 1e16)
    totalReserves' = totalReserves + totalBorrows × borrowRate × reserveFactor   (+1e15)

SPEC terms: the engine's rates are yearly and its ticks in seconds; a rate model with
base 3.1536 % and no slopes, ticked over 1,000 s, gives 0.031536 × 1,000 / 31,536,000 =
0.000001: Compound's per-block factor. An 18-decimal asset; 10,000 units (1e22 quantums)
borrowed against ample collateral, supplied by one lender holding 20,000 (U = 0.5). The
borrower's debt grows by 1e16 quantums (0.01), the borrow index becomes 1.000001, and the
insurance fund (the engine's reserves) receives 1e15 (0.001): the reserve factor's share,
exactly, since the lender earns 0.9 × 1e16 × (20,000 × 0.5 / 10,000) = 9e15 — no dust.
"""

from __future__ import annotations

from solvent import Engine

from ._engine import events_named, ok


def test_one_accrual_matches_compound_v2():
    engine = Engine()
    ok(engine, {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"})
    ok(engine, {"op": "asset", "id": "DAI", "decimals": 18, "oracle": "DAI-USD", "weight_init": "1", "weight_maint": "1",
                "liability_weight_init": "1.25", "liability_weight_maint": "1.1",
                "rate_model": {"base": "0.031536", "slope1": "0", "slope2": "0", "optimal_utilization": "0.8",
                               "reserve_factor": "0.1"}})
    ok(engine, {"op": "price", "oracle": "DAI-USD", "price": "1"})
    ok(engine, {"op": "deposit", "account": "lender", "asset": "DAI", "amount": "20000"})
    ok(engine, {"op": "deposit", "account": "borrower", "asset": "USDC", "amount": "1000000"})
    ok(engine, {"op": "withdraw", "account": "borrower", "asset": "DAI", "amount": "10000"})
    ok(engine, {"op": "time", "ts": 2_000_000})
    events = ok(engine, {"op": "time", "ts": 2_001_000})

    [interest] = events_named(events, "interest")
    assert interest["borrow_index"] == "1.000001"
    assert interest["paid"] == "0.010000000000000000"  # 1e16 quantums
    assert interest["to_insurance"] == "0.001000000000000000"  # 1e15: the reserve factor's share
    ledger = engine.state.ledger
    assert ledger.balance("borrower", "DAI") == -(10**22 + 10**16)
    assert ledger.balance("@insurance", "DAI") == 10**15
    assert ledger.balance("lender", "DAI") == 20_000 * 10**18 + 9 * 10**15
    assert engine.state_document()["ledger"]["balanced"] is True
