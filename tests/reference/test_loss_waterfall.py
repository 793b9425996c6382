"""The loss waterfall against published cases, restated in SPEC terms.

Sources
-------
* dYdX v4, protocol/x/clob/keeper/liquidations_test.go (insurance-fund delta), as restated
  in /work/shared/REFERENCE-CASES.md, "Loss waterfall": a 0.1 BTC long whose account owes
  5,100 USDC (so 51,000 is its bankruptcy price) closed at 51,051 pays the insurance fund
  5.10; closed at 50,490 the fund pays 51.00.
* Drift v2 liquidation tests (social loss), same section: a bankrupt account owing 100 with
  5 long / 5 short open: 100 spread as 10 per unit over the longs' side, each 5-unit holder
  bears 50.

SPEC terms. dYdX books a perpetual's quote leg in the balance; solvent keeps a perpetual's
entry in the position. "Owes 5,100 with 0.1 BTC long" is the same account as a USDC balance B
with a long 0.1 entered at E where B − 0.1 E = −5,100: here B = 500, E = 56,000. solvent
closes at the mark, so dYdX's fill price is the mark of the liquidating tick; dYdX's
insurance-fund delta is the liquidation fee (capped at the equity left, SPEC §6) when the
close is above bankruptcy, and the bad debt the fund pays when it is below.
"""

from __future__ import annotations

from decimal import Decimal

from solvent import Engine

from ._engine import deposit, events_named, market, ok, price, quote_asset


def _dydx_account() -> Engine:
    """USDC; BTC-PERP with mmr 0.05 / max leverage 20 and a liquidation fee of 1.5% (larger
    than any equity left here, so the cap decides). alice: 500 USDC, long 0.1 @ 56,000
    (initial margin 280). The fund holds 1,000."""
    engine = Engine()
    quote_asset(engine)
    market(engine, "BTC-PERP", "BTC", [{"mmr": "0.05", "max_leverage": "20"}], step_size="0.001", liquidation_fee="0.015")
    price(engine, "BTC", "56000")
    deposit(engine, "alice", "500")
    deposit(engine, "bob", "100000")
    deposit(engine, "@insurance", "1000")
    ok(engine, {"op": "trade", "market": "BTC-PERP", "buyer": "alice", "seller": "bob", "size": "0.1", "price": "56000"})
    return engine


def test_dydx_closed_above_bankruptcy_pays_the_fund_5_10():
    """Mark 51,051: equity 500 + 0.1 × (51,051 − 56,000) = 5.10 (bankruptcy price 51,000);
    maintenance 255.255: liquidatable. The close leaves equity 5.10, so the fee is
    min(1.5% × 5,105.10, 5.10, health freed 255.255) = 5.10: the fund gains 5.10."""
    engine = _dydx_account()
    events = price(engine, "BTC", "51051")
    [liquidation] = events_named(events, "liquidation", "alice")
    assert Decimal(liquidation["size"]) == Decimal("0.1") and liquidation["fee"] == "5.100000"
    funds = [e for e in events if e["event"] == "insurance_fund"]
    assert [(e["delta"], e["reason"]) for e in funds] == [("5.100000", "liquidation_fee")]
    assert engine.state_document()["insurance_fund"]["USDC"] == "1005.100000"
    assert not [e for e in events if e["event"] == "bad_debt"]


def test_dydx_closed_below_bankruptcy_the_fund_pays_51():
    """Mark 50,490: equity 500 + 0.1 × (50,490 − 56,000) = −51: no fee, bad debt 51, which
    the fund pays."""
    engine = _dydx_account()
    events = price(engine, "BTC", "50490")
    [bad] = [e for e in events if e["event"] == "bad_debt"]
    assert (bad["account"], bad["amount"]) == ("alice", "51.000000")
    funds = [e for e in events if e["event"] == "insurance_fund"]
    assert [(e["delta"], e["reason"]) for e in funds] == [("-51.000000", "bad_debt")]
    assert engine.state_document()["insurance_fund"]["USDC"] == "949.000000"


def _drift_book(bad_debt_policy: str) -> tuple[Engine, list[dict]]:
    """SOL-PERP (mmr 0.05, max leverage 10, step 1). alice: 200 USDC, short 10 @ 100; bob and
    carol: 1,000 USDC each, long 5 each. The fund is empty. SOL gaps to 130: alice's equity is
    200 − 10 × 30 = −100: she owes 100 and nothing pays it but the policy."""
    engine = Engine()
    quote_asset(engine)
    market(engine, "SOL-PERP", "SOL", [{"mmr": "0.05", "max_leverage": "10"}], step_size="1", liquidation_fee="0.01")
    ok(engine, {"op": "params", "bad_debt_policy": bad_debt_policy})
    price(engine, "SOL", "100")
    deposit(engine, "alice", "200")
    deposit(engine, "bob", "1000")
    deposit(engine, "carol", "1000")
    for buyer in ("bob", "carol"):
        ok(engine, {"op": "trade", "market": "SOL-PERP", "buyer": buyer, "seller": "alice", "size": "5", "price": "100"})
    return engine, price(engine, "SOL", "130")


def test_drift_social_loss_as_adl_ten_per_unit_over_the_longs():
    """`adl`: the longs' side takes the 100 at 100 / 10 = 10 per unit (bankruptcy price
    130 − 10 = 120): each 5-unit holder bears 50."""
    engine, events = _drift_book("adl")
    adl = sorted(events_named(events, "adl", "bob") + events_named(events, "adl", "carol"), key=lambda e: e["account"])
    assert [(e["account"], Decimal(e["size"]), e["price"], e["charge"]) for e in adl] == [
        ("bob", Decimal(5), "120", "50.000000"), ("carol", Decimal(5), "120", "50.000000")]


def test_drift_social_loss_as_a_haircut_of_positive_balances():
    """`socialize`: 100 over the positive USDC balances (bob and carol, 1,000 each, the only
    ones): a haircut of 0.05, each bears 50."""
    engine, events = _drift_book("socialize")
    [loss] = [e for e in events if e["event"] == "socialized_loss"]
    assert (loss["amount"], loss["haircut"], loss["collected"]) == ("100.000000", "0.05", "100.000000")
    assert [engine.account(a)["balances"]["USDC"] for a in ("bob", "carol")] == ["950.000000", "950.000000"]
