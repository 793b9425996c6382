"""`time`: interest accrual and exchange-rate growth through the engine (MARKET_DATA.md).

Lending setup (`lending()`): USDC (6 decimals, quote, borrowable with liability weights
1.1 / 1.25) with an Aave-like rate model: base 0, slope1 4 %, slope2 60 %, optimal
utilization 80 %, reserve factor 10 %. ETH collateral (weights 0.8 / 0.9) at 2000.
"""

from __future__ import annotations

from decimal import Decimal

from solvent import Engine

from ._steps import named, ok, refused

DAY = 86_400
YEAR = 365 * DAY


def lending() -> Engine:
    e = Engine()
    ok(e, {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1",
           "liability_weight_init": "1.25", "liability_weight_maint": "1.1",
           "rate_model": {"base": "0", "slope1": "0.04", "slope2": "0.6", "optimal_utilization": "0.8",
                          "reserve_factor": "0.1"}})
    ok(e, {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.9"})
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    return e


def balance(e: Engine, account: str, asset: str = "USDC") -> int:
    return e.state.ledger.balance(account, asset)


def test_a_30_day_accrual_matches_the_hand_computation():
    """sue supplies 1,000,000 USDC; bob borrows 800,000 against 1,000 ETH: U = 0.8, borrow
    rate 4 %, supply rate 4 % × 0.8 × 0.9 = 2.88 %. A first tick at ts 0 starts the clock;
    the next, 30 days later (2,592,000 s = 30/365 year), accrues:
      bob owes    800,000 × 0.04 × 30/365 = 960,000/365 = 2,630.1369863… → up 2,630.136987
      sue earns 1,000,000 × 0.0288 × 30/365 = 864,000/365 = 2,367.1232876… → down 2,367.123287
      insurance 2,630.136987 − 2,367.123287 = 263.013700 (10 % reserve 263.0136986… + dust)
      borrow index 1 + 0.04 × 30/365 = 1.0032876712328767123…; supply index
      1 + 0.0288 × 30/365 = 1.0023671232876712328…
    The venue still holds 1,000,000 − 800,000 = 200,000 USDC: balances sum to exactly that."""
    e = lending()
    ok(e, {"op": "deposit", "account": "sue", "asset": "USDC", "amount": "1000000"})
    ok(e, {"op": "deposit", "account": "bob", "asset": "ETH", "amount": "1000"})
    ok(e, {"op": "withdraw", "account": "bob", "asset": "USDC", "amount": "800000"})
    assert ok(e, {"op": "time", "ts": 0}) == []
    events = ok(e, {"op": "time", "ts": 30 * DAY})
    [interest] = named(events, "interest")
    assert {k: interest[k] for k in ("asset", "seconds", "borrow_rate", "supply_rate", "paid", "earned", "to_insurance")} == {
        "asset": "USDC", "seconds": "2592000", "borrow_rate": "0.04", "supply_rate": "0.0288",
        "paid": "2630.136987", "earned": "2367.123287", "to_insurance": "263.013700"}
    assert interest["borrow_index"] == "1.0032876712328767123"
    assert interest["supply_index"] == "1.0023671232876712329"  # 20 digits, rounded half-even
    [fund] = named(events, "insurance_fund")
    assert (fund["delta"], fund["balance"], fund["reason"]) == ("263.013700", "263.013700", "interest")
    assert balance(e, "bob") == -802_630_136_987
    assert balance(e, "sue") == 1_002_367_123_287
    assert balance(e, "@insurance") == 263_013_700
    document = e.state_document()
    assert document["ledger"]["balanced"] is True
    assert sum(balance(e, a) for a in ("bob", "sue", "@insurance")) == 200_000 * 10**6
    usdc = document["assets"]["USDC"]
    assert (usdc["total_borrows"], usdc["total_deposits"]) == ("802630.136987", "1002630.136987")
    assert usdc["borrow_index"] == "1.0032876712328767123"


def test_compounding_happens_from_tick_to_tick():
    """The same book ticked daily for 30 days: each tick charges interest on a debt that
    already holds the previous ticks' interest, at the utilization of its start. bob owes more
    than with one 30-day tick (2,630.136987), and less than the rate at full utilization
    would charge (at most 800,000 × ((1 + 0.0425/365)^30 − 1) ≈ 2,796: the rate never reaches
    4.25 % while U stays below 0.8033 — and it does, since deposits grow with the debt)."""
    e = lending()
    ok(e, {"op": "deposit", "account": "sue", "asset": "USDC", "amount": "1000000"})
    ok(e, {"op": "deposit", "account": "bob", "asset": "ETH", "amount": "1000"})
    ok(e, {"op": "withdraw", "account": "bob", "asset": "USDC", "amount": "800000"})
    ok(e, {"op": "time", "ts": 0})
    for day in range(1, 31):
        ok(e, {"op": "time", "ts": day * DAY})
    owed = -balance(e, "bob") - 800_000 * 10**6
    assert 2_630_136_987 < owed < 2_796_000_000
    assert e.state_document()["ledger"]["balanced"] is True
    assert sum(balance(e, a) for a in ("bob", "sue", "@insurance")) == 200_000 * 10**6


def test_time_never_goes_back_and_a_repeated_tick_accrues_nothing():
    e = lending()
    ok(e, {"op": "deposit", "account": "sue", "asset": "USDC", "amount": "1000"})
    ok(e, {"op": "deposit", "account": "bob", "asset": "ETH", "amount": "1"})
    ok(e, {"op": "withdraw", "account": "bob", "asset": "USDC", "amount": "500"})
    ok(e, {"op": "time", "ts": 1000})
    ok(e, {"op": "time", "ts": 1000 + DAY})
    before = (e.state_hash(), e.state_document())
    assert ok(e, {"op": "time", "ts": 1000}) == []  # earlier: nothing moves
    assert ok(e, {"op": "time", "ts": 1000 + DAY}) == []  # the same instant: Δt = 0
    assert (e.state_hash(), e.state_document()) == before


def test_interest_that_pushes_free_collateral_below_zero_sends_a_margin_call():
    """bob: 1 ETH (init value 2000 × 0.8 = 1600) borrows 1,280 USDC (× 1.25 = 1600): free
    collateral 0. sue supplies 10,000: U = 0.128, rate 0.04 × 0.128 / 0.8 = 0.64 %. One day:
    1,280 × 0.0064 / 365 = 0.0224438… → up 0.022444. Debt 1,280.022444: init weight
    1,600.028055 → free −0.028055; maint 1,280.022444 × 1.1 = 1,408.0246884 → 1,408.024689
    (a debt rounds up), health 1,800 − 1,408.024689 = 391.975311."""
    e = lending()
    ok(e, {"op": "deposit", "account": "sue", "asset": "USDC", "amount": "10000"})
    ok(e, {"op": "deposit", "account": "bob", "asset": "ETH", "amount": "1"})
    ok(e, {"op": "withdraw", "account": "bob", "asset": "USDC", "amount": "1280"})
    assert e.account("bob")["free_collateral"] == "0.000000"
    ok(e, {"op": "time", "ts": 0})
    events = ok(e, {"op": "time", "ts": DAY})
    assert named(events, "interest")[0]["paid"] == "0.022444"
    assert [(c["account"], c["health"], c["free_collateral"]) for c in named(events, "margin_call")] == [
        ("bob", "391.975311", "-0.028055")]
    assert ("bob", "") in e.monitor.margin_called


def test_suppliers_in_isolated_wallets_and_fees_earn_like_anyone():
    """Every positive balance counted in total_deposits earns: here @fees holds 100 USDC
    beside sue's 900 and bob borrows 500 (U = 0.5, rate 0.04 × 0.5 / 0.8 = 2.5 %, supply
    2.5 % × 0.5 × 0.9 = 1.125 %). One year: bob owes 12.5; sue earns 900 × 0.01125 =
    10.125, @fees 1.125; insurance 12.5 − 11.25 = 1.25 (the 10 % reserve)."""
    e = lending()
    ok(e, {"op": "deposit", "account": "sue", "asset": "USDC", "amount": "900"})
    ok(e, {"op": "deposit", "account": "@fees", "asset": "USDC", "amount": "100"})
    ok(e, {"op": "deposit", "account": "bob", "asset": "ETH", "amount": "1"})
    ok(e, {"op": "withdraw", "account": "bob", "asset": "USDC", "amount": "500"})
    ok(e, {"op": "time", "ts": 0})
    ok(e, {"op": "time", "ts": YEAR})
    assert (balance(e, "bob"), balance(e, "sue"), balance(e, "@fees"), balance(e, "@insurance")) == (
        -512_500_000, 910_125_000, 101_125_000, 1_250_000)


# -- yield-bearing collateral ---------------------------------------------------------------

def staking(**yield_fields) -> Engine:
    """stETH (8 decimals) on the ETH-USD oracle (2000), exchange rate 1, APY 5 %, defined at
    ts 0; alice holds 2 stETH."""
    e = Engine()
    ok(e, {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"})
    ok(e, {"op": "asset", "id": "stETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.9",
           "yield": {"exchange_rate": "1", "apy": "0.05", **yield_fields}, "ts": 0})
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    ok(e, {"op": "deposit", "account": "alice", "asset": "stETH", "amount": "2"})
    return e


def test_the_exchange_rate_grows_by_the_apy_over_time():
    """A year at 5 % APY: rate 1.05; alice's 2 stETH are worth 2 × 1.05 × 2000 = 4,200."""
    e = staking()
    ok(e, {"op": "time", "ts": 0})
    ok(e, {"op": "time", "ts": YEAR})
    assert e.state_document()["assets"]["stETH"]["exchange_rate"] == "1.05"
    assert e.account("alice")["equity"] == "4200.000000"


def test_a_reported_rate_above_the_cap_is_clamped():
    """Default cap 20 % a year, linear from the anchor (rate 1 at ts 0). A year on, a report
    of 1.5 is applied at 1 × (1 + 0.2) = 1.2 (clamped); 1.25 at the same instant is capped at
    the new anchor 1.2; a drop to 1.1 is applied as reported. alice at 1.1: 2 × 1.1 × 2000 =
    4,400."""
    e = staking()
    events = ok(e, {"op": "exchange_rate", "asset": "stETH", "rate": "1.5", "ts": YEAR})
    assert [(ev["reported"], ev["applied"], ev["clamped"]) for ev in named(events, "exchange_rate")] == [("1.5", "1.2", True)]
    events = ok(e, {"op": "exchange_rate", "asset": "stETH", "rate": "1.25"})
    assert [(ev["applied"], ev["clamped"]) for ev in events] == [("1.2", True)]
    events = ok(e, {"op": "exchange_rate", "asset": "stETH", "rate": "1.1"})
    assert [(ev["applied"], ev["clamped"]) for ev in events] == [("1.1", False)]
    assert e.account("alice")["equity"] == "4400.000000"
    assert e.state_document()["ledger"]["balanced"] is True


def test_the_cap_is_a_parameter_of_the_asset():
    """max_yearly_growth 0.5: a year on, the cap is 1.5: a report of 1.5 is not clamped."""
    e = staking(max_yearly_growth="0.5")
    events = ok(e, {"op": "exchange_rate", "asset": "stETH", "rate": "1.5", "ts": YEAR})
    assert [(ev["applied"], ev["clamped"]) for ev in events] == [("1.5", False)]
    refused(e, {"op": "asset", "id": "stETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8",
                "weight_maint": "0.9", "yield": {"exchange_rate": "1", "apy": "0.05", "max_yearly_growth": "-1"}},
            "invalid_amount")


def test_a_report_is_never_clamped_below_the_rate_in_force():
    """APY 30 % above a 20 % cap: after a year the rate is 1.3; the linear cap 1.2 is below
    it, so a report of 1.3 is applied as reported (the cap never lowers a rate)."""
    e = Engine()
    ok(e, {"op": "asset", "id": "stETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.9",
           "yield": {"exchange_rate": "1", "apy": "0.3"}, "ts": 0})
    ok(e, {"op": "time", "ts": 0})
    ok(e, {"op": "time", "ts": YEAR})
    events = ok(e, {"op": "exchange_rate", "asset": "stETH", "rate": "1.3"})
    assert [(ev["applied"], ev["clamped"]) for ev in events] == [("1.3", False)]
    assert Decimal(e.state_document()["assets"]["stETH"]["exchange_rate"]) == Decimal("1.3")
