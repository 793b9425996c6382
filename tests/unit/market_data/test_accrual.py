"""solvent.market_data.accrual: interest over one tick, as transfers that balance.

The worked case (used again by the engine test of a 30-day accrual): an Aave-like model with
base 0, slope1 4 %, slope2 60 %, optimal utilization 80 %, reserve factor 10 %; suppliers
1,000,000 USDC (6 decimals), borrowers 800,000: U = 0.8, borrow rate 4 %, supply rate
4 % × 0.8 × 0.9 = 2.88 %. One tick of 30 days (2,592,000 s = 30/365 of a year):
  owed   = 800,000 × 0.04 × 30/365 = 960,000/365 = 2,630.136986301…  → up   2,630.136987
  earned = 1,000,000 × 0.0288 × 30/365 = 864,000/365 = 2,367.123287671… → down 2,367.123287
  to insurance = 2,630.136987 − 2,367.123287 = 263.013700
  (the reserve 263.0136986… plus the two rounding remainders 0.0000007 + 0.0000007)
  borrow index 1 + 0.04 × 30/365 = 1.00328767123287671232…,
  supply index 1 + 0.0288 × 30/365 = 1.00236712328767123287…
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from solvent.domain.specs import RateModel
from solvent.ledger import Transfer
from solvent.market_data.accrual import accrue, grow_index, interest_earned, interest_owed

D = Decimal
MODEL = RateModel(base=D(0), slope1=D("0.04"), slope2=D("0.6"), optimal_utilization=D("0.8"), reserve_factor=D("0.1"))
DAYS_30 = D(30 * 86400)
USDC = 10**6


def test_interest_owed_rounds_up():
    assert interest_owed(800_000 * USDC, D("0.04"), DAYS_30) == 2_630_136_987


def test_interest_earned_rounds_down():
    assert interest_earned(1_000_000 * USDC, D("0.04"), DAYS_30, D("0.1"), 800_000 * USDC, 1_000_000 * USDC) == 2_367_123_287


def test_grow_index_is_simple_interest_on_the_index():
    assert str(grow_index(D(1), D("0.04"), DAYS_30))[:24] == "1.0032876712328767123287"
    assert grow_index(D(2), D("0.0365"), D(86400)) == D("2.0002")  # 2 × (1 + 0.0365/365)


def test_a_30_day_tick_pays_suppliers_and_the_reserve():
    """Holders: the borrower (−800,000), the supplier (+1,000,000) and @insurance (+5, which
    is skipped: it is the other leg). The totals the ledger counts include it: D = 1,000,005,
    so U = 800,000 / 1,000,005 and the borrow rate is 0.04 × U / 0.8 = 40,000 / 1,000,005
    = 0.0399998000009…:
      owed   = 800,000 × 40,000/1,000,005 × 30/365 = 2,630.12383568… → up 2,630.123836
      earned = 1,000,000 × rate × U × 0.9 × 30/365 = 2,367.09961661… → down 2,367.099616
    (the supplier's share of the supply interest is 1,000,000 / 1,000,005; the rest of the
    pot stays with @insurance)."""
    plan = accrue("USDC", MODEL, [("@insurance", 5 * USDC), ("bob", -800_000 * USDC), ("sue", 1_000_000 * USDC)],
                  1_000_005 * USDC, 800_000 * USDC, DAYS_30, D(1), D(1))
    assert plan.owed == (("bob", 2_630_123_836),)
    assert plan.earned == (("sue", 2_367_099_616),)
    assert plan.to_insurance == 2_630_123_836 - 2_367_099_616
    assert plan.transfers() == [Transfer("bob", "@insurance", "USDC", 2_630_123_836),
                                Transfer("@insurance", "sue", "USDC", 2_367_099_616)]


def test_the_worked_case():
    plan = accrue("USDC", MODEL, [("bob", -800_000 * USDC), ("sue", 1_000_000 * USDC)],
                  1_000_000 * USDC, 800_000 * USDC, DAYS_30, D(1), D(1))
    assert (plan.paid, plan.distributed, plan.to_insurance) == (2_630_136_987, 2_367_123_287, 263_013_700)
    assert (plan.rates.borrow_rate, plan.rates.supply_rate) == (D("0.04"), D("0.0288"))
    assert str(plan.supply_index)[:24] == "1.0023671232876712328767"


@given(
    balances=st.lists(st.integers(-10**15, 10**15).filter(bool), min_size=1, max_size=8),
    seconds=st.integers(1, 10 * 365 * 86400),
    reserve=st.sampled_from([D(0), D("0.1"), D("0.35"), D(1)]),
)
def test_suppliers_never_receive_more_than_borrowers_pay(balances, seconds, reserve):
    """Whatever the balances (utilization above 1 included) and the reserve factor (0 too),
    Σ earned ≤ Σ owed: the insurance fund never pays, so the accrual cannot create money."""
    model = RateModel(base=D("0.02"), slope1=D("0.04"), slope2=D("3"), optimal_utilization=D("0.8"), reserve_factor=reserve)
    holders = [(f"a{i}", units) for i, units in enumerate(balances)]
    deposits = sum(u for _, u in holders if u > 0)
    borrows = -sum(u for _, u in holders if u < 0)
    plan = accrue("X", model, holders, deposits, borrows, D(seconds), D(1), D(1))
    assert plan.to_insurance >= 0
    assert all(units > 0 for _, units in plan.owed + plan.earned)
    assert len(plan.owed) == sum(1 for u in balances if u < 0)  # every debt pays at least a quantum
