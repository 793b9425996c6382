"""Aave v3's two-slope interest-rate curve.

Source
------
* aave/aave-v3-core (and its successor aave-dao/aave-v3-origin),
  tests/misc/rates/RateStrategy.calculateRates.t.sol, as restated in
  /work/shared/REFERENCE-CASES.md, "Interest rate model": optimal utilization 80%, base 1%,
  slope1 4%, slope2 60%, reserve factor 10%:
  - utilization 80%: borrow 5%, supply 3.6%;
  - utilization 100%: borrow 65%, supply 58.5%;
  - utilization 0.8% (debt 80, available liquidity 9,920): borrow 1.04%, supply 0.007488%;
  - no debt: supply 0, borrow = base.

SPEC terms (§2 `asset` rate_model, §5 borrowing): rate_model {base 0.01, slope1 0.04, slope2
0.6, optimal_utilization 0.8, reserve_factor 0.1} on a borrowable USDC. Aave's utilization is
debt / (debt + available liquidity); SPEC's is total_borrows / total_deposits, where
total_deposits is what lenders supplied (the sum of positive balances). A lender supplying
debt + available liquidity and a borrower withdrawing `debt` beyond a zero balance make the
two the same number: 80/100, 100/100, 80/10,000, 0/100.

By hand: borrow = base + slope1 × U / U_opt below the kink, base + slope1 + slope2 × (U −
U_opt) / (1 − U_opt) above; supply = borrow × U × (1 − reserve_factor).
  U = 0.8:   0.01 + 0.04 × 1 = 0.05;          supply 0.05 × 0.8 × 0.9 = 0.036
  U = 1:     0.01 + 0.04 + 0.6 × 0.2/0.2 = 0.65; supply 0.65 × 1 × 0.9 = 0.585
  U = 0.008: 0.01 + 0.04 × 0.01 = 0.0104;     supply 0.0104 × 0.008 × 0.9 = 0.00007488
  U = 0:     0.01;                            supply 0
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent import Engine
from solvent.domain.specs import RateModel
from solvent.market_data import interest

from ._engine import deposit, ok, price, quote_asset

D = Decimal
RATE_MODEL = {"base": "0.01", "slope1": "0.04", "slope2": "0.6", "optimal_utilization": "0.8",
              "reserve_factor": "0.1"}

CASES = [
    # (supplied, debt, utilization, borrow_rate, supply_rate) — expected from the source
    pytest.param("100", "80", "0.8", "0.05", "0.036", id="U=80%"),
    pytest.param("100", "100", "1", "0.65", "0.585", id="U=100%"),
    pytest.param("10000", "80", "0.008", "0.0104", "0.00007488", id="U=0.8%"),
    pytest.param("100", "0", "0", "0.01", "0", id="no-debt"),
]


def _lending_engine(supplied: str, debt: str) -> Engine:
    """USDC (borrowable, Aave's curve) lent by `lender`; `borrower` posts 1 ETH at 1,000 with
    collateral weights 0.8 (worth 800 for the initial check, more than any debt here) and
    withdraws `debt` USDC from a zero balance, which opens the borrow."""
    engine = Engine()
    quote_asset(engine, "USDC", liability_weight_init="1", liability_weight_maint="1", rate_model=RATE_MODEL)
    ok(engine, {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH", "weight_init": "0.8",
                "weight_maint": "0.8"})
    price(engine, "ETH", "1000")
    deposit(engine, "lender", supplied)
    deposit(engine, "borrower", "1", asset="ETH")
    if D(debt):
        ok(engine, {"op": "withdraw", "account": "borrower", "asset": "USDC", "amount": debt})
    return engine


@pytest.mark.parametrize("supplied, debt, utilization, borrow, supply", CASES)
def test_rates_in_the_engine_state(supplied, debt, utilization, borrow, supply):
    """The `assets` section of the state (SPEC §4) for USDC after the borrow."""
    engine = _lending_engine(supplied, debt)
    usdc = engine.state_document()["assets"]["USDC"]
    assert D(usdc["total_deposits"]) == D(supplied)
    assert D(usdc["total_borrows"]) == D(debt)
    assert D(usdc["utilization"]) == D(utilization)
    assert D(usdc["borrow_rate"]) == D(borrow)
    assert D(usdc["supply_rate"]) == D(supply)
    if D(debt):
        assert engine.account("borrower")["balances"]["USDC"] == f"-{D(debt):.6f}"


@pytest.mark.parametrize("supplied, debt, utilization, borrow, supply", CASES)
def test_rates_from_the_interest_module(supplied, debt, utilization, borrow, supply):
    """`solvent.market_data.interest.rates(model, total_borrows, total_deposits)`."""
    model = RateModel(**{k: D(v) for k, v in RATE_MODEL.items()})
    r = interest.rates(model, D(debt), D(supplied))
    assert (r.utilization, r.borrow_rate, r.supply_rate) == (D(utilization), D(borrow), D(supply))


def test_no_deposits_at_all_gives_base_rate_and_no_supply_rate():
    """No debt and nothing supplied either: utilization 0, borrow = base 0.01, supply 0."""
    model = RateModel(**{k: D(v) for k, v in RATE_MODEL.items()})
    r = interest.rates(model, D(0), D(0))
    assert (r.utilization, r.borrow_rate, r.supply_rate) == (D(0), D("0.01"), D(0))
