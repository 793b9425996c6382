"""Worked scenarios for `solvent.engine.views`: the state document of SPEC §4, the `account`
query, and the canonical state hash of SPEC §6 ("equal states, equal hashes, whatever
command stream led there").

The document must have exactly the SPEC §4 keys, plus `clock` at the top (ARCHITECTURE.md)
and, on an isolated position, its own `health` and `liquidatable` (ARCHITECTURE.md:
"an isolated position's entry adds its own health and liquidatable").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from solvent import Engine
from solvent.domain.position import Lot, Position
from solvent.engine import views

from ._steps import ok

TOP_KEYS = {"accounts", "assets", "insurance_fund", "prices", "ledger", "clock", "oracles"}
ACCOUNT_KEYS = {"balances", "equity", "equity_maint", "equity_init", "initial_margin", "maintenance_margin",
                "free_collateral", "health", "margin_ratio", "health_factor", "liquidatable", "positions"}
POSITION_KEYS = {"size", "entry_price", "mode", "leverage", "notional", "unrealized_pnl", "realized_pnl",
                 "initial_margin", "maintenance_margin", "liquidation_price"}
ISOLATED_KEYS = POSITION_KEYS | {"isolated_margin", "health", "liquidatable"}
ASSET_KEYS = {"price", "exchange_rate", "total_deposits", "total_borrows", "utilization", "borrow_rate", "supply_rate",
              "borrow_index", "supply_index"}

USDC = {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"}
USD2 = {"op": "asset", "id": "USD2", "decimals": 2, "oracle": None, "weight_init": "1", "weight_maint": "1"}
PTS = {"op": "asset", "id": "PTS", "decimals": 0, "oracle": None, "weight_init": "1", "weight_maint": "1"}
ETH = {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.85",
       "liability_weight_init": "1.25", "liability_weight_maint": "1.1",
       "rate_model": {"base": "0.01", "slope1": "0.04", "slope2": "0.6", "optimal_utilization": "0.8",
                      "reserve_factor": "0.1"}}
PERP = {"op": "market", "id": "ETH-PERP", "oracle": "ETH", "settle": "USDC", "step_size": "0.01",
        "liquidation_fee": "0.01", "tiers": [{"mmr": "0.05", "max_leverage": "10"}]}




def run(*commands: dict[str, Any]) -> Engine:
    e = Engine()
    for command in commands:
        ok(e, command)
    return e


def dep(account: str, amount: str, asset: str = "USDC") -> dict[str, Any]:
    return {"op": "deposit", "account": account, "asset": asset, "amount": amount}


def buy(buyer: str, seller: str, size: str, price: str) -> dict[str, Any]:
    return {"op": "trade", "market": "ETH-PERP", "buyer": buyer, "seller": seller, "size": size, "price": price}


def price(oracle: str, value: str) -> dict[str, Any]:
    return {"op": "price", "oracle": oracle, "price": value}


def scenario() -> Engine:
    """alice: 1000 USDC, cross long 2 @100. bob: 1000 USDC, isolated (leverage 10) long 1 @100
    at the mark (margin 10). maker: 100,000 USDC, short 3. @insurance: 50. Mark then 110."""
    return run(USDC, ETH, PERP, price("ETH", "100"), price("ETH-USD", "2000"),
               dep("alice", "1000"), dep("bob", "1000"), dep("maker", "100000"), dep("@insurance", "50"),
               {"op": "margin_mode", "account": "bob", "market": "ETH-PERP", "mode": "isolated", "leverage": "10"},
               buy("alice", "maker", "2", "100"), buy("bob", "maker", "1", "100"), price("ETH", "110"),
               {"op": "time", "ts": 1700000000})


def test_the_state_document_has_exactly_the_spec_keys():
    doc = scenario().state_document()
    assert set(doc) == TOP_KEYS
    assert set(doc["accounts"]) == {"@fees", "@insurance", "@pnl:ETH-PERP", "alice", "bob", "maker"}
    for account_id, entry in doc["accounts"].items():
        assert set(entry) == ACCOUNT_KEYS, account_id
    assert set(doc["accounts"]["alice"]["positions"]["ETH-PERP"]) == POSITION_KEYS
    assert set(doc["accounts"]["maker"]["positions"]["ETH-PERP"]) == POSITION_KEYS
    assert set(doc["accounts"]["bob"]["positions"]["ETH-PERP"]) == ISOLATED_KEYS
    assert set(doc["assets"]) == {"USDC", "ETH"}
    for asset_id, entry in doc["assets"].items():
        assert set(entry) == ASSET_KEYS, asset_id
    assert doc["insurance_fund"] == {"ETH": "0.00000000", "USDC": "50.000000"}
    assert doc["prices"] == {"ETH": "110", "ETH-USD": "2000"}
    assert set(doc["ledger"]) == {"balanced", "hash"}
    assert doc["ledger"]["balanced"] is True
    assert isinstance(doc["ledger"]["hash"], str) and doc["ledger"]["hash"]
    assert doc["clock"] == "1700000000"


def test_the_figures_of_the_scenario_by_hand():
    """alice at mark 110: PnL 2 × 10 = 20, notional 220, initial 22, maintenance 11;
    equity = equity_maint = equity_init = 1020; health 1009; free 998;
    margin_ratio 11 / 1020 = 0.010784313725490196078431…; health_factor (1000 + 20) / 11 =
    92.7272…; liquidation price: 1000 + 2(x − 100) − 0.1 x = 800 + 1.9 x > 0 for every
    x > 0 → null.
    bob's isolated position: margin 10, PnL 10, notional 110, initial 11, maintenance 5.5,
    health 10 + 10 − 5.5 = 14.5; liquidation price 10 + (x − 100) − 0.05 x = 0 →
    x = 90 / 0.95 = 94.736842105263157894736…; his cross part holds 990 and nothing else."""
    doc = scenario().state_document()
    alice = doc["accounts"]["alice"]
    assert {k: alice[k] for k in ("equity", "equity_maint", "equity_init", "initial_margin", "maintenance_margin",
                                  "free_collateral", "health", "liquidatable")} == {
        "equity": "1020.000000", "equity_maint": "1020.000000", "equity_init": "1020.000000",
        "initial_margin": "22.000000", "maintenance_margin": "11.000000", "free_collateral": "998.000000",
        "health": "1009.000000", "liquidatable": False}
    exact_ratio = Decimal("0.010784313725490196078431")
    assert abs(Decimal(alice["margin_ratio"]) - exact_ratio) < Decimal("1e-15")
    assert Decimal(alice["margin_ratio"]) >= exact_ratio  # printed rounded up
    exact_factor = Decimal("92.727272727272727272727")
    assert abs(Decimal(alice["health_factor"]) - exact_factor) < Decimal("1e-12")
    assert Decimal(alice["health_factor"]) <= exact_factor  # printed rounded down
    pos = alice["positions"]["ETH-PERP"]
    assert {k: pos[k] for k in POSITION_KEYS} == {
        "size": "2.00", "entry_price": "100", "mode": "cross", "leverage": "10", "notional": "220.000000",
        "unrealized_pnl": "20.000000", "realized_pnl": "0.000000", "initial_margin": "22.000000",
        "maintenance_margin": "11.000000", "liquidation_price": None}
    bob = doc["accounts"]["bob"]
    assert (bob["balances"], bob["equity"], bob["initial_margin"]) == ({"USDC": "990.000000"}, "990.000000", "0.000000")
    iso = bob["positions"]["ETH-PERP"]
    assert {k: iso[k] for k in ISOLATED_KEYS - {"liquidation_price"}} == {
        "size": "1.00", "entry_price": "100", "mode": "isolated", "leverage": "10", "notional": "110.000000",
        "unrealized_pnl": "10.000000", "realized_pnl": "0.000000", "initial_margin": "11.000000",
        "maintenance_margin": "5.500000", "isolated_margin": "10.000000", "health": "14.500000",
        "liquidatable": False}
    assert abs(Decimal(iso["liquidation_price"]) - Decimal("94.736842105263157894736")) < Decimal("1e-12")
    # nothing owed, nothing at risk: null ratios
    fees = doc["accounts"]["@fees"]
    assert (fees["margin_ratio"], fees["health_factor"], fees["liquidatable"]) == (None, None, False)


def test_balances_print_with_the_assets_fixed_decimals():
    """PTS has 0 decimals, USD2 2, USDC 6, ETH 8. dave borrows 0.5 ETH against 10,000 USDC
    (0.5 × 2000 × 1.25 = 1250 of initial weight: allowed)."""
    e = run(USDC, USD2, PTS, ETH, price("ETH-USD", "2000"),
            dep("carol", "7", "PTS"), dep("carol", "5", "USD2"), dep("carol", "1.5", "ETH"), dep("dave", "10000"),
            {"op": "withdraw", "account": "dave", "asset": "ETH", "amount": "0.5"})
    doc = e.state_document()
    assert doc["accounts"]["carol"]["balances"] == {"ETH": "1.50000000", "PTS": "7", "USD2": "5.00"}
    assert doc["accounts"]["dave"]["balances"] == {"ETH": "-0.50000000", "USDC": "10000.000000"}
    assert (doc["assets"]["ETH"]["total_deposits"], doc["assets"]["ETH"]["total_borrows"]) == ("1.50000000", "0.50000000")
    assert doc["assets"]["PTS"]["total_deposits"] == "7"
    assert doc["insurance_fund"] == {"ETH": "0.00000000", "PTS": "0", "USD2": "0.00", "USDC": "0.000000"}


CONFIG = [USDC, ETH, PERP]


def stream_a() -> Engine:
    """The long way round: partial deposits, a transfer, a price visited twice, a refused
    command, the long bought in two fills."""
    e = run(*CONFIG, dep("alice", "600"), price("ETH", "90"), dep("alice", "500"), dep("bob", "900"),
            {"op": "transfer", "from": "alice", "to": "bob", "asset": "USDC", "amount": "100"},
            price("ETH", "100"), buy("alice", "bob", "1", "100"))
    assert e.apply({"op": "withdraw", "account": "nobody", "asset": "USDC", "amount": "1"})[0]["event"] == "rejected"
    ok(e, buy("alice", "bob", "1", "100"))
    return e


def stream_b() -> Engine:
    """The short way: bob first, one deposit each, one fill of 2."""
    return run(*CONFIG, price("ETH", "100"), dep("bob", "1000"), dep("alice", "1000"), buy("alice", "bob", "2", "100"))


def test_equal_states_reached_by_different_streams_have_equal_hashes():
    """Both end with alice 1000 and long 2 at cost 200, bob 1000 and short 2 at cost −200,
    ETH at 100."""
    a, b = stream_a(), stream_b()
    assert a.state_document() == b.state_document()
    assert a.state_hash() == b.state_hash()
    assert a.state_document()["ledger"]["hash"] == a.state_hash()


@pytest.mark.parametrize("change", [
    dep("alice", "0.000001"),  # one quantum
    price("ETH", "100.000000001"),  # a price
    buy("alice", "bob", "0.01", "100"),  # a position
    {"op": "margin_mode", "account": "carol", "market": "ETH-PERP", "mode": "isolated", "leverage": "5"},  # a setting
    {"op": "time", "ts": 1},  # the clock
    {"op": "params", "liquidation_buffer": "0.2"},  # a parameter
    {"op": "asset", **{k: v for k, v in ETH.items() if k != "op"}, "weight_init": "0.7"},  # a spec
])
def test_different_states_have_different_hashes(change):
    base = stream_b()
    ok(base, dep("carol", "1"))
    other = stream_b()
    ok(other, dep("carol", "1"))
    ok(other, change)
    assert other.state_hash() != base.state_hash()


def test_an_account_opened_and_emptied_is_part_of_the_state():
    """carol deposited 1 and withdrew it: her account exists (it is listed in the state
    document, and a transfer to her is accepted, where it is refused unknown_account in a
    state without her). The two states differ, so their hashes must too."""
    without = stream_b()
    with_carol = stream_b()
    ok(with_carol, dep("carol", "1"))
    ok(with_carol, {"op": "withdraw", "account": "carol", "asset": "USDC", "amount": "1"})
    assert "carol" in with_carol.state_document()["accounts"]
    assert "carol" not in without.state_document()["accounts"]
    # they behave differently: the same transfer is accepted in one and refused in the other
    probe_with, probe_without = stream_b(), stream_b()
    ok(probe_with, dep("carol", "1"))
    ok(probe_with, {"op": "withdraw", "account": "carol", "asset": "USDC", "amount": "1"})
    move = {"op": "transfer", "from": "alice", "to": "carol", "asset": "USDC", "amount": "1"}
    assert probe_with.apply(move) == []
    assert probe_without.apply(move)[0]["code"] == "unknown_account"
    assert with_carol.state_hash() != without.state_hash()


@pytest.mark.parametrize("account", ["alice", "bob", "maker", "@insurance", "@fees", "@pnl:ETH-PERP"])
def test_the_account_query_equals_the_state_documents_entry(account):
    e = scenario()
    events = ok(e, {"op": "account", "account": account})
    assert len(events) == 1
    event = dict(events[0])
    assert (event.pop("event"), event.pop("seq"), event.pop("account")) == ("account", e.state.commands - 1, account)
    assert event == e.state_document()["accounts"][account]
    assert e.account(account) == e.state_document()["accounts"][account]


@pytest.mark.parametrize("position", [
    Position.of("BTC-PERP", Decimal("1.500"), Decimal("75000.25")),
    Position.of("BTC-PERP", Decimal("-2"), Decimal("-120000"), (Lot(Decimal("-1.5"), Decimal("60000")), Lot(Decimal("-0.5"), Decimal("60000.0"))),
             realized_pnl=-1234, isolated=True, leverage=Decimal("12.50")),
    Position.of("ETH-PERP", Decimal("0.10"), Decimal("300.000"), (), 7, False, Decimal("3")),
])
def test_a_position_hashes_as_its_generic_canonical_form(position):
    """The state hash writes positions out directly (it runs over every position of every
    snapshot); the form must stay the generic one, or every recorded state hash changes."""
    generic = views._canonical([position.size, position.cost, [[lot.size, lot.price] for lot in position.lots],
                                position.realized_pnl, position.isolated, position.leverage])
    assert views._canonical_position(position) == generic
    assert msgspec.json.encode(views._canonical_position(position)) == msgspec.json.encode(generic)
