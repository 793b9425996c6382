"""solvent.codec: the JSON command schema of SPEC §2 — decoding, syntax checks, typed commands.

Every command may carry `ts` (ISO 8601 or Unix seconds) and a client id. For `asset` and
`market`, `id` is the asset / market id, so their client id travels as `client_id`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent.codec import OPS, decode, parse_command, parse_ts
from solvent.domain import commands as c
from solvent.domain.account import MarginMode
from solvent.domain.errors import Rejection
from solvent.domain.specs import (
    AssetSpec,
    BadDebtPolicy,
    CostBasis,
    LiquidationPolicy,
    MarketSpec,
    RateModel,
    YieldSpec,
)

D = Decimal
JAN_1_2024 = D(1704067200)  # 19,723 days (54 years, 13 of them leap) × 86,400 s


def code_of(raw: dict) -> str:
    with pytest.raises(Rejection) as caught:
        parse_command(raw)
    return caught.value.code


USDC = {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"}
MARKET = {
    "op": "market",
    "id": "BTC-PERP",
    "oracle": "BTC",
    "settle": "USDC",
    "tiers": [
        {"max_notional": "50000", "mmr": "0.004", "max_leverage": "125"},
        {"mmr": "0.005", "max_leverage": "100"},
    ],
    "step_size": "0.001",
    "liquidation_fee": "0.005",
}
DEPOSIT = {"op": "deposit", "account": "alice", "asset": "USDC", "amount": "100.5"}


# -- every op --------------------------------------------------------------------------------


def test_asset_command_builds_an_asset_spec():
    envelope = parse_command(dict(USDC))
    assert envelope.op == "asset"
    assert envelope.body == c.AssetCommand(AssetSpec("USDC", 6, None, D(1), D(1), None, None))
    assert envelope.client_id is None and envelope.ts is None


def test_borrowable_asset_with_rate_model_and_yield():
    raw = {
        "op": "asset", "id": "STETH", "decimals": 8, "oracle": "ETH", "weight_init": "0.75",
        "weight_maint": "0.8", "liability_weight_init": "1.3", "liability_weight_maint": "1.2",
        "rate_model": {"base": "0.01", "slope1": "0.04", "slope2": "0.6", "optimal_utilization": "0.8",
                       "reserve_factor": "0.1"},
        "yield": {"exchange_rate": "1.05", "apy": "0.04"},
    }
    spec = parse_command(raw).body.spec
    assert spec == AssetSpec(
        "STETH", 8, "ETH", D("0.75"), D("0.8"), D("1.3"), D("1.2"),
        RateModel(D("0.01"), D("0.04"), D("0.6"), D("0.8"), D("0.1")), YieldSpec(D("1.05"), D("0.04")),
    )
    assert spec.borrowable


def test_market_command_builds_tiers_with_cum():
    """Tiers (50,000, 0.4%), (∞, 0.5%): cum_2 = 50,000 × 0.001 = 50."""
    spec = parse_command(dict(MARKET)).body.spec
    assert isinstance(spec, MarketSpec)
    assert (spec.id, spec.oracle, spec.settle, spec.step_size, spec.liquidation_fee) == (
        "BTC-PERP", "BTC", "USDC", D("0.001"), D("0.005"))
    assert [(t.max_notional, t.mmr, t.max_leverage, t.cum) for t in spec.tiers] == [
        (D(50000), D("0.004"), D(125), D(0)),
        (None, D("0.005"), D(100), D(50)),
    ]
    assert spec.max_oracle_age_s is None


def test_params_command_lists_its_changes_sorted_by_name():
    envelope = parse_command({"op": "params", "liquidation_policy": "full", "cost_basis": "fifo",
                              "bad_debt_policy": "socialize", "liquidation_buffer": "0.2"})
    assert envelope.body == c.ParamsCommand((
        ("bad_debt_policy", BadDebtPolicy.SOCIALIZE),
        ("cost_basis", CostBasis.FIFO),
        ("liquidation_buffer", D("0.2")),
        ("liquidation_policy", LiquidationPolicy.FULL),
    ))


@pytest.mark.parametrize(
    "raw, body",
    [
        (DEPOSIT, c.Deposit("alice", "USDC", D("100.5"))),
        ({"op": "deposit", "account": "@insurance", "asset": "USDC", "amount": 5}, c.Deposit("@insurance", "USDC", D(5))),
        ({"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "1"}, c.Withdraw("alice", "USDC", D(1))),
        ({"op": "transfer", "from": "alice", "to": "bob", "asset": "USDC", "amount": "2"},
         c.TransferCommand("alice", "bob", "USDC", D(2))),
        ({"op": "trade", "market": "BTC-PERP", "buyer": "a", "seller": "b", "size": "0.5", "price": "60000",
          "buyer_fee": "1.5", "seller_fee": "0"},
         c.Trade("BTC-PERP", "a", "b", D("0.5"), D(60000), D("1.5"), D(0))),
        ({"op": "trade", "market": "BTC-PERP", "buyer": "a", "seller": "b", "size": "1", "price": "10"},
         c.Trade("BTC-PERP", "a", "b", D(1), D(10), D(0), D(0))),
        ({"op": "order_check", "account": "a", "market": "BTC-PERP", "size": "-2", "price": "100"},
         c.OrderCheck("a", "BTC-PERP", D(-2), D(100))),
        ({"op": "margin_mode", "account": "a", "market": "BTC-PERP", "mode": "isolated", "leverage": "5"},
         c.SetMarginMode("a", "BTC-PERP", MarginMode.ISOLATED, D(5))),
        ({"op": "margin_mode", "account": "a", "market": "BTC-PERP", "mode": "cross"},
         c.SetMarginMode("a", "BTC-PERP", MarginMode.CROSS, None)),
        ({"op": "isolated_margin", "account": "a", "market": "BTC-PERP", "amount": "-25"},
         c.IsolatedMargin("a", "BTC-PERP", D(-25))),
        ({"op": "price", "oracle": "BTC", "price": "60000.5"}, c.PriceUpdate("BTC", D("60000.5"), None)),
        ({"op": "price", "oracle": "BTC", "price": "1", "confidence": "0.01"}, c.PriceUpdate("BTC", D(1), D("0.01"))),
        ({"op": "funding", "market": "BTC-PERP", "rate": "-0.0001"}, c.Funding("BTC-PERP", D("-0.0001"))),
        ({"op": "exchange_rate", "asset": "STETH", "rate": "1.07"}, c.ExchangeRate("STETH", D("1.07"))),
        ({"op": "time", "ts": 1704067200}, c.Time()),
        ({"op": "account", "account": "alice"}, c.AccountQuery("alice")),
    ],
)
def test_each_op_builds_its_typed_command(raw, body):
    envelope = parse_command(dict(raw))
    assert envelope.op == raw["op"]
    assert envelope.body == body


def test_every_op_is_covered_above():
    assert set(OPS) == {"asset", "market", "params", "deposit", "withdraw", "transfer", "trade", "order_check",
                        "margin_mode", "isolated_margin", "price", "funding", "exchange_rate", "time", "account"}


# -- the envelope: op, unknown and missing fields ------------------------------------------------


@pytest.mark.parametrize(
    "raw, code",
    [
        ({}, "missing_field"),
        ({"op": None}, "missing_field"),
        ({"op": 5}, "invalid_type"),
        ({"op": "liquidate"}, "unknown_op"),
        ({"op": "DEPOSIT", "account": "a", "asset": "USDC", "amount": "1"}, "unknown_op"),
    ],
)
def test_op_must_name_a_known_command(raw, code):
    assert code_of(raw) == code


@pytest.mark.parametrize(
    "raw",
    [
        {**DEPOSIT, "memo": "hi"},
        {**DEPOSIT, "client_id": "c1"},  # only asset and market take client_id
        {**USDC, "decimals2": 6},
        {**MARKET, "tiers": [{"mmr": "0.01", "max_leverage": "10", "extra": "1"}]},
        {**USDC, "rate_model": {"base": "0", "slope1": "0", "slope2": "0", "optimal_utilization": "0.5",
                                "reserve_factor": "0", "kink": "1"}},
        {"op": "time", "ts": 1, "account": "a"},
    ],
)
def test_unknown_fields_are_rejected(raw):
    assert code_of(raw) == "unknown_field"


def test_params_with_an_unknown_parameter_is_rejected():
    assert code_of({"op": "params", "leverage": "10"}) == "unknown_field"


@pytest.mark.parametrize(
    "raw",
    [
        {"op": "deposit", "asset": "USDC", "amount": "1"},
        {"op": "deposit", "account": "a", "amount": "1"},
        {"op": "deposit", "account": "a", "asset": "USDC"},
        {"op": "deposit", "account": "a", "asset": "USDC", "amount": None},
        {"op": "transfer", "from": "a", "asset": "USDC", "amount": "1"},
        {"op": "trade", "market": "M", "buyer": "a", "seller": "b", "size": "1"},
        {"op": "price", "oracle": "BTC"},
        {"op": "time"},
        {"op": "account"},
        {k: v for k, v in USDC.items() if k != "oracle"},
        {k: v for k, v in USDC.items() if k != "weight_maint"},
        {k: v for k, v in MARKET.items() if k != "tiers"},
        {**MARKET, "tiers": [{"mmr": "0.004", "max_leverage": "125"}, {"mmr": "0.005", "max_leverage": "100"}]},
        {"op": "params"},
    ],
)
def test_missing_required_fields_are_rejected(raw):
    assert code_of(raw) == "missing_field"


# -- field checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, code",
    [
        ({**DEPOSIT, "amount": "0"}, "invalid_amount"),
        ({**DEPOSIT, "amount": "-5"}, "invalid_amount"),
        ({**DEPOSIT, "amount": "NaN"}, "invalid_number"),
        ({**DEPOSIT, "amount": True}, "invalid_type"),
        ({**DEPOSIT, "account": "a b"}, "invalid_id"),
        ({**DEPOSIT, "account": "@treasury"}, "invalid_id"),
        ({**DEPOSIT, "asset": "@fees"}, "invalid_id"),
        ({"op": "order_check", "account": "a", "market": "M", "size": "0", "price": "1"}, "invalid_amount"),
        ({"op": "isolated_margin", "account": "a", "market": "M", "amount": "0"}, "invalid_amount"),
        ({"op": "funding", "market": "M", "rate": "1.5"}, "out_of_range"),
        ({"op": "margin_mode", "account": "a", "market": "M", "mode": "portfolio"}, "invalid_value"),
        ({"op": "margin_mode", "account": "a", "market": "M", "mode": "cross", "leverage": "0.5"}, "out_of_range"),
        ({"op": "params", "cost_basis": "lifo"}, "invalid_value"),
        ({**USDC, "decimals": 19}, "out_of_range"),
        ({**USDC, "decimals": "6.5"}, "out_of_range"),
        ({**USDC, "decimals": True}, "invalid_type"),
        ({**USDC, "weight_maint": "1.1"}, "out_of_range"),
        ({**USDC, "weight_init": "0.9", "weight_maint": "0.8"}, "invalid_config"),
        ({**USDC, "liability_weight_init": "1.1"}, "invalid_config"),
        ({**USDC, "liability_weight_init": "1.1", "liability_weight_maint": "1.2"}, "invalid_config"),
        ({**USDC, "liability_weight_init": "0.9", "liability_weight_maint": "0.9"}, "out_of_range"),
        ({**USDC, "yield": {"exchange_rate": "1", "apy": "0.01"}}, "invalid_config"),  # no oracle
        ({**MARKET, "tiers": []}, "invalid_config"),
        ({**MARKET, "tiers": [{"max_notional": "10", "mmr": "0.01", "max_leverage": "10"}]}, "invalid_config"),
        ({**MARKET, "tiers": [{"mmr": "0.5", "max_leverage": "10"}]}, "invalid_config"),  # 0.5 × 10 > 1
        ({**MARKET, "tiers": [{"max_notional": "10", "mmr": "0.01", "max_leverage": "10"},
                              {"max_notional": "10", "mmr": "0.02", "max_leverage": "5"},
                              {"mmr": "0.03", "max_leverage": "2"}]}, "invalid_config"),
        ({**MARKET, "tiers": [{"max_notional": "10", "mmr": "0.02", "max_leverage": "10"},
                              {"mmr": "0.01", "max_leverage": "5"}]}, "invalid_config"),
        ({**MARKET, "tiers": [{"max_notional": "10", "mmr": "0.01", "max_leverage": "10"},
                              {"mmr": "0.02", "max_leverage": "20"}]}, "invalid_config"),
        ({**MARKET, "tiers": "flat"}, "invalid_type"),
        ({**MARKET, "step_size": "0"}, "invalid_amount"),
    ],
)
def test_fields_are_checked_before_the_engine_sees_them(raw, code):
    assert code_of(raw) == code


# -- timestamps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ts, seconds",
    [
        ("2024-01-01T00:00:00Z", JAN_1_2024),
        ("2024-01-01T02:00:00+02:00", JAN_1_2024),  # same instant, another zone
        ("2023-12-31T19:00:00-05:00", JAN_1_2024),
        ("2024-01-01T00:00:00", JAN_1_2024),  # naive: UTC
        ("2024-01-01T00:00:00.25Z", JAN_1_2024 + D("0.25")),
        ("1970-01-01T00:00:00Z", D(0)),
        (1704067200, JAN_1_2024),
        ("1704067200", JAN_1_2024),
        ("1704067200.5", JAN_1_2024 + D("0.5")),
        (D("1704067200.5"), JAN_1_2024 + D("0.5")),  # a JSON float, decoded through its text
        (0, D(0)),
    ],
)
def test_ts_accepts_iso_8601_and_unix_seconds(ts, seconds):
    assert parse_ts(ts) == seconds


@pytest.mark.parametrize(
    "ts",
    ["yesterday", "2024-13-01T00:00:00Z", "2024-01-01 nonsense", "", "1.2.3", -1, "-1", "1969-12-31T23:59:59Z",
     10**11, True, None, [1], "1e9", "\uff11\uff12"],
)
def test_invalid_ts_is_rejected(ts):
    with pytest.raises(Rejection) as caught:
        parse_ts(ts)
    assert caught.value.code == "invalid_ts"


def test_ts_of_a_command_lands_in_its_envelope():
    assert parse_command({**DEPOSIT, "ts": "2024-01-01T00:00:00Z"}).ts == JAN_1_2024
    assert parse_command({"op": "time", "ts": "1704067200"}).ts == JAN_1_2024


def test_a_command_with_an_invalid_ts_is_rejected():
    assert code_of({**DEPOSIT, "ts": "noon"}) == "invalid_ts"


# -- client ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_id, kept", [("c-1", "c-1"), ("a:b.c_d", "a:b.c_d"), (42, "42"), (-7, "-7"),
                                             ("x" * 128, "x" * 128)])
def test_client_id_is_kept_as_text(client_id, kept):
    assert parse_command({**DEPOSIT, "id": client_id}).client_id == kept


@pytest.mark.parametrize("client_id, code", [("", "invalid_id"), ("a b", "invalid_id"), ("x" * 129, "invalid_id"),
                                             ("c1\n", "invalid_id"), ("é", "invalid_id"), (True, "invalid_type"),
                                             (D("1.5"), "invalid_type"), ({"k": 1}, "invalid_type"),
                                             (["a"], "invalid_type")])
def test_bad_client_ids_are_rejected(client_id, code):
    assert code_of({**DEPOSIT, "id": client_id}) == code


def test_asset_and_market_take_their_client_id_from_client_id():
    """For these two, `id` names the asset or market."""
    asset = parse_command({**USDC, "client_id": "cfg-1"})
    assert asset.client_id == "cfg-1" and asset.body.spec.id == "USDC"
    market = parse_command({**MARKET, "client_id": 7})
    assert market.client_id == "7" and market.body.spec.id == "BTC-PERP"
    assert parse_command(dict(USDC)).client_id is None


def test_asset_client_id_follows_the_client_id_rules():
    assert code_of({**USDC, "client_id": "bad id"}) == "invalid_id"
    assert code_of({**USDC, "id": "bad id"}) == "invalid_id"
    assert code_of({**USDC, "id": 5}) == "invalid_type"


# -- decoding ----------------------------------------------------------------------------------------


def test_json_numbers_are_decoded_through_their_text():
    """0.1 stays exactly 0.1 (a binary float would be 0.1000000000000000055…)."""
    raw = decode('{"op": "deposit", "account": "a", "asset": "USDC", "amount": 0.1}')
    assert raw["amount"] == D("0.1")
    assert parse_command(raw).body.amount == D("0.1")


def test_decode_accepts_bytes_and_keeps_integers_exact():
    assert decode(b'{"n": 12345678901234567890}') == {"n": 12345678901234567890}


@pytest.mark.parametrize("text, code", [("{", "malformed_json"), ("", "malformed_json"), ("[1, 2]", "invalid_command"),
                                        ('"deposit"', "invalid_command"), ("NaN", "malformed_json")])
def test_decode_rejects_non_objects_and_broken_json(text, code):
    with pytest.raises(Rejection) as caught:
        decode(text)
    assert caught.value.code == code
