"""Every class of bad input is answered by one `rejected` event with its code, and changes
nothing (SPEC §1: "a rejected command changes nothing and yields one `rejected` event").

"Nothing" is checked on the state document (SPEC §4) byte for byte, the state hash, the
positions, margin settings, applied client ids, the clock and the risk monitor's statuses.
(A `commands` counter in the document, the seq of the next command, would be left out: every
command, a refused one included, takes a seq.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from solvent import Engine

USDC = {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"}
ETH = {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.85",
       "liability_weight_init": "1.25", "liability_weight_maint": "1.1"}
USD2 = {"op": "asset", "id": "USD2", "decimals": 2, "oracle": None, "weight_init": "1", "weight_maint": "1"}
ETH_PERP = {"op": "market", "id": "ETH-PERP", "oracle": "ETH-USD", "settle": "USDC", "step_size": "0.01",
            "liquidation_fee": "0.01",
            "tiers": [{"max_notional": "5000", "mmr": "0.01", "max_leverage": "50"},
                      {"max_notional": "20000", "mmr": "0.025", "max_leverage": "20"},
                      {"mmr": "0.05", "max_leverage": "10"}]}
BTC_PERP = {"op": "market", "id": "BTC-PERP", "oracle": "BTC-USD", "settle": "USDC", "step_size": "0.001",
            "liquidation_fee": "0.01",
            "tiers": [{"max_notional": "10000", "mmr": "0.005", "max_leverage": "100"},
                      {"mmr": "0.05", "max_leverage": "10"}]}
SOL_PERP = {"op": "market", "id": "SOL-PERP", "oracle": "SOL-USD", "settle": "USD2", "step_size": "0.1",
            "liquidation_fee": "0.015",
            "tiers": [{"max_notional": "2000", "mmr": "0.02", "max_leverage": "25"},
                      {"mmr": "0.05", "max_leverage": "10"}]}
CONFIG = [USDC, ETH, USD2, ETH_PERP, BTC_PERP, SOL_PERP]
PRICES = [{"op": "price", "oracle": "ETH-USD", "price": "3000"},
          {"op": "price", "oracle": "BTC-USD", "price": "60000"},
          {"op": "price", "oracle": "SOL-USD", "price": "150"}]


def ok(engine: Engine, command: Any) -> list[dict]:
    events = engine.apply(command)
    assert not [e for e in events if e["event"] == "rejected"], (command, events)
    return events


def fingerprint(engine: Engine) -> bytes:
    """Everything a command may change."""
    document = engine.state_document()
    document.pop("commands", None)
    state = engine.state
    internals = [
        engine.state_hash(),
        {a: dict(sorted(state.ledger.balances(a).items())) for a in sorted(state.ledger.accounts())},
        {a: [repr(acct.positions), repr(acct.settings)] for a, acct in sorted(state.accounts.items())},
        sorted(state.applied_ids),
        str(state.clock),
        sorted(engine.monitor.liquidatable),
        sorted(engine.monitor.margin_called),
        sorted(state.book.assets),
        sorted(state.book.markets),
    ]
    return msgspec.json.encode([document, internals])


def rejected(engine: Engine, command: Any, code: str) -> dict:
    """Apply `command`; it must be refused with `code` and change nothing."""
    before = fingerprint(engine)
    seq = engine.state.commands
    events = engine.apply(command)
    assert len(events) == 1, events
    event = events[0]
    assert event["event"] == "rejected", (command, events)
    assert event["code"] == code, (command, event)
    assert event["seq"] == seq
    assert isinstance(event["message"], str) and event["message"]
    assert fingerprint(engine) == before, f"refused command {command!r} changed the state"
    return event


@pytest.fixture
def bare() -> Engine:
    """Configured, no prices, no accounts."""
    engine = Engine()
    for command in CONFIG:
        ok(engine, command)
    return engine


@pytest.fixture
def engine(bare: Engine) -> Engine:
    """Prices set; alice and bob hold USDC and USD2, carol ETH; alice is long 1 ETH-PERP
    from bob at the mark."""
    for command in PRICES:
        ok(bare, command)
    for account, asset, amount in [("alice", "USDC", "1000"), ("bob", "USDC", "100000"), ("alice", "USD2", "500"),
                                   ("bob", "USD2", "10000"), ("carol", "ETH", "1")]:
        ok(bare, {"op": "deposit", "account": account, "asset": asset, "amount": amount})
    ok(bare, {"op": "trade", "market": "ETH-PERP", "buyer": "alice", "seller": "bob", "size": "1", "price": "3000"})
    return bare


def deposit(account: str = "alice", asset: str = "USDC", amount: Any = "1", **extra: Any) -> dict:
    return {"op": "deposit", "account": account, "asset": asset, "amount": amount, **extra}


def trade(size: Any = "0.1", price: Any = "3000", buyer: Any = "alice", seller: Any = "bob",
          market: Any = "ETH-PERP", **extra: Any) -> dict:
    return {"op": "trade", "market": market, "buyer": buyer, "seller": seller, "size": size, "price": price, **extra}


def balance(engine: Engine, account: str, asset: str) -> Decimal:
    return Decimal(engine.account(account)["balances"].get(asset, "0"))


# -- the shape of a command ---------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    '{"op": "deposit", ',
    "",
    "   ",
    "{op: deposit}",
    "{'op': 'deposit'}",
    '{"op": "deposit"}}',
    '{"op": "deposit", "account": "alice", "asset": "USDC", "amount": NaN}',
    '{"op": "deposit", "account": "alice", "asset": "USDC", "amount": Infinity}',
    '{"op": "deposit", "account": "alice", "asset": "USDC", "amount": -Infinity}',
    '{"op": "deposit", "account": "alice", "asset": "USDC", "amount": 01}',
    b'\xff\xfe{"op": "deposit"}',
])
def test_malformed_json(engine: Engine, text: str | bytes) -> None:
    rejected(engine, text, "malformed_json")


@pytest.mark.parametrize("text", ["[1, 2]", '"deposit"', "42", "null", "true", "[]"])
def test_json_that_is_not_an_object(engine: Engine, text: str) -> None:
    rejected(engine, text, "invalid_command")


@pytest.mark.parametrize("value", [[deposit()], "not json either", 42, None])
def test_library_value_that_is_not_an_object(engine: Engine, value: Any) -> None:
    code = "malformed_json" if isinstance(value, str) else "invalid_command"
    rejected(engine, value, code)


@pytest.mark.parametrize("command, code", [
    ({}, "missing_field"),
    ({"account": "alice", "asset": "USDC", "amount": "1"}, "missing_field"),
    ({"op": None, "account": "alice", "asset": "USDC", "amount": "1"}, "missing_field"),
    ({"op": "steal", "account": "alice", "asset": "USDC", "amount": "1"}, "unknown_op"),
    ({"op": "Deposit", "account": "alice", "asset": "USDC", "amount": "1"}, "unknown_op"),
    ({"op": "", "account": "alice", "asset": "USDC", "amount": "1"}, "unknown_op"),
    ({"op": 5, "account": "alice", "asset": "USDC", "amount": "1"}, "invalid_type"),
    ({"op": ["deposit"], "account": "alice", "asset": "USDC", "amount": "1"}, "invalid_type"),
])
def test_missing_or_unknown_op(engine: Engine, command: dict, code: str) -> None:
    rejected(engine, command, code)


@pytest.mark.parametrize("command", [
    deposit(colour="red"),
    deposit(Amount="1"),
    trade(sizee="1"),
    {"op": "price", "oracle": "ETH-USD", "price": "3000", "source": "binance"},
    {"op": "params", "liquidation_bufer": "0.2"},
    {"op": "account", "account": "alice", "verbose": True},
    {**ETH, "rate_model": {"base": "0", "slope1": "0.1", "slope2": "1", "optimal_utilization": "0.8",
                           "reserve_factor": "0.1", "kink": "0.9"}},
    {**ETH_PERP, "tiers": [{"mmr": "0.1", "max_leverage": "5", "extra": "1"}]},
])
def test_unknown_field(engine: Engine, command: dict) -> None:
    rejected(engine, command, "unknown_field")


# -- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", [
    "NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "abc", "", "1,5", "0x10", "1_000",
    " 5", "5 ", "+", ".", "1.2.3", "--1",
    Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"),
])
def test_not_a_number(engine: Engine, amount: Any) -> None:
    rejected(engine, deposit(amount=amount), "invalid_number")


@pytest.mark.parametrize("amount", ["5\n", "1\n"])
def test_number_with_trailing_newline_is_not_a_number(engine: Engine, amount: str) -> None:
    """SPEC §1: amounts are decimal strings. " 5" is refused; "5\\n" must be too (a `$` regex
    anchor matches before a final newline)."""
    rejected(engine, deposit(amount=amount), "invalid_number")


@pytest.mark.parametrize("amount", ["\u0663", "\uff15", "1\u0660"])
def test_non_ascii_digits_are_not_a_number(engine: Engine, amount: str) -> None:
    """Arabic-Indic or full-width digits are not the decimal text of SPEC §1 (the output is
    ASCII, and no JSON producer writes numbers that way); `\\d` in a Python regex and
    `Decimal()` both accept them, the codec must not."""
    rejected(engine, deposit(amount=amount), "invalid_number")


@pytest.mark.parametrize("amount", [
    "1e999", "1E+999", "-1e999", "1e18", "1000000000000000000", "999999999999999999999", Decimal("1e999"),
])
def test_number_out_of_range(engine: Engine, amount: Any) -> None:
    rejected(engine, deposit(amount=amount), "out_of_range")


def test_json_number_exponent_out_of_range(engine: Engine) -> None:
    rejected(engine, '{"op": "deposit", "account": "alice", "asset": "USDC", "amount": 1e999}', "out_of_range")
    rejected(engine, '{"op": "deposit", "account": "alice", "asset": "USDC", "amount": 1e18}', "out_of_range")


def test_json_number_is_read_through_its_text(engine: Engine) -> None:
    """0.1 as a JSON number is exactly 0.1 (a binary float would not be), and a JSON number
    with too many places for the asset is refused, not rounded."""
    ok(engine, '{"op": "deposit", "account": "dave", "asset": "USDC", "amount": 0.1}')
    ok(engine, '{"op": "deposit", "account": "dave", "asset": "USDC", "amount": 0.2}')
    assert engine.account("dave")["balances"] == {"USDC": "0.300000"}
    rejected(engine, '{"op": "deposit", "account": "dave", "asset": "USDC", "amount": 0.0000001}', "too_many_decimals")
    rejected(engine, '{"op": "deposit", "account": "dave", "asset": "USDC", "amount": 1e-999}', "too_many_decimals")


@pytest.mark.parametrize("command", [
    deposit(amount=1.5),
    deposit(amount=0.1),
    trade(size=0.1),
    trade(price=3000.0),
    trade(buyer_fee=0.5),
    {"op": "price", "oracle": "ETH-USD", "price": 3100.5},
    {"op": "funding", "market": "ETH-PERP", "rate": 0.001},
    {"op": "margin_mode", "account": "alice", "market": "BTC-PERP", "mode": "isolated", "leverage": 5.0},
    {**USDC, "id": "USDT", "decimals": 6.0},
    {**USDC, "id": "USDT", "weight_init": 1.0},
])
def test_python_float_is_refused(engine: Engine, command: dict) -> None:
    rejected(engine, command, "invalid_type")


@pytest.mark.parametrize("command", [
    deposit(amount=True),
    deposit(amount=False),
    trade(size=True),
    trade(price=False),
    {"op": "funding", "market": "ETH-PERP", "rate": True},
    {**USDC, "id": "USDT", "decimals": True},
    {**USDC, "id": "USDT", "weight_maint": True},
    deposit(id=True),
])
def test_boolean_is_not_a_number(engine: Engine, command: dict) -> None:
    rejected(engine, command, "invalid_type")


@pytest.mark.parametrize("command", [
    deposit(amount="0"),
    deposit(amount="-0"),
    deposit(amount="0.000000"),
    deposit(amount="-1"),
    deposit(amount=-1),
    {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "-5"},
    {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "0"},
    {"op": "transfer", "from": "alice", "to": "bob", "asset": "USDC", "amount": "0"},
    {"op": "transfer", "from": "alice", "to": "bob", "asset": "USDC", "amount": "-10"},
    trade(size="0"),
    trade(size="-0.1"),
    trade(price="0"),
    trade(price="-3000"),
    trade(buyer_fee="-1"),
    trade(seller_fee="-0.01"),
    {"op": "price", "oracle": "ETH-USD", "price": "0"},
    {"op": "price", "oracle": "ETH-USD", "price": "-2900"},
    {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "0", "price": "3000"},
    {"op": "isolated_margin", "account": "alice", "market": "ETH-PERP", "amount": "0"},
])
def test_zero_or_negative_amount(engine: Engine, command: dict) -> None:
    rejected(engine, command, "invalid_amount")


@pytest.mark.parametrize("command", [
    deposit(amount="1.0000001"),
    deposit(asset="USD2", amount="0.001"),
    deposit(asset="USD2", amount="10.005"),
    deposit(asset="ETH", amount="0.000000001"),
    deposit(amount="0.0000000000000000001"),  # beyond 18 places: refused while parsing
    {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "0.0000005"},
    {"op": "transfer", "from": "alice", "to": "bob", "asset": "USD2", "amount": "0.125"},
    trade(buyer_fee="0.0000001"),
    trade(market="SOL-PERP", price="150", seller_fee="0.001"),
])
def test_too_many_decimals_for_the_asset(engine: Engine, command: dict) -> None:
    rejected(engine, command, "too_many_decimals")


def test_trailing_zeros_are_not_extra_decimals(engine: Engine) -> None:
    ok(engine, deposit(account="dave", asset="USD2", amount="1.50000000"))
    assert engine.account("dave")["balances"] == {"USD2": "1.50"}


@pytest.mark.parametrize("command", [
    trade(size="1e18"),
    trade(size="1000000000000000000"),
    trade(size="12345678901234567890.5"),
    trade(price="1e18"),
    trade(price="1e30"),
    {"op": "price", "oracle": "ETH-USD", "price": "1e18"},
    {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "-1e18", "price": "3000"},
    {"op": "funding", "market": "ETH-PERP", "rate": "1.5"},
    {"op": "funding", "market": "ETH-PERP", "rate": "-2"},
    {"op": "margin_mode", "account": "alice", "market": "BTC-PERP", "mode": "isolated", "leverage": "0.5"},
    {**USDC, "id": "USDT", "decimals": 19},
    {**USDC, "id": "USDT", "decimals": -1},
    {**USDC, "id": "USDT", "weight_maint": "1.5"},
])
def test_out_of_range(engine: Engine, command: dict) -> None:
    rejected(engine, command, "out_of_range")


def test_large_in_range_size_is_a_margin_refusal_not_a_crash(engine: Engine) -> None:
    rejected(engine, trade(size="999999999999999999"), "insufficient_margin")
    rejected(engine, trade(size="0.01", price="999999999999999999"), "insufficient_margin")


# -- ids -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, code", [
    (deposit(account="ghost-never-deposited", amount="1", asset="NOPE"), "unknown_asset"),
    ({"op": "withdraw", "account": "ghost", "asset": "USDC", "amount": "1"}, "unknown_account"),
    ({"op": "transfer", "from": "alice", "to": "ghost", "asset": "USDC", "amount": "1"}, "unknown_account"),
    ({"op": "transfer", "from": "ghost", "to": "alice", "asset": "USDC", "amount": "1"}, "unknown_account"),
    (trade(seller="ghost"), "unknown_account"),
    (trade(buyer="ghost"), "unknown_account"),
    ({"op": "account", "account": "ghost"}, "unknown_account"),
    ({"op": "margin_mode", "account": "ghost", "market": "ETH-PERP", "mode": "isolated"}, "unknown_account"),
    ({"op": "order_check", "account": "ghost", "market": "ETH-PERP", "size": "1", "price": "3000"}, "unknown_account"),
    (deposit(account="@pnl:DOGE-PERP"), "unknown_account"),
    (deposit(asset="DOGE"), "unknown_asset"),
    ({"op": "withdraw", "account": "alice", "asset": "DOGE", "amount": "1"}, "unknown_asset"),
    ({"op": "exchange_rate", "asset": "DOGE", "rate": "1.1"}, "unknown_asset"),
    ({**ETH_PERP, "id": "DOGE-PERP", "oracle": "DOGE-USD", "settle": "DOGE"}, "unknown_asset"),
    (trade(market="DOGE-PERP"), "unknown_market"),
    ({"op": "funding", "market": "DOGE-PERP", "rate": "0.001"}, "unknown_market"),
    ({"op": "margin_mode", "account": "alice", "market": "DOGE-PERP", "mode": "isolated"}, "unknown_market"),
    ({"op": "isolated_margin", "account": "alice", "market": "DOGE-PERP", "amount": "1"}, "unknown_market"),
    ({"op": "price", "oracle": "DOGE-USD", "price": "0.1"}, "unknown_oracle"),
    ({"op": "price", "oracle": "eth-usd", "price": "3000"}, "unknown_oracle"),
])
def test_unknown_references(engine: Engine, command: dict, code: str) -> None:
    rejected(engine, command, code)


@pytest.mark.parametrize("command", [
    {"op": "deposit", "asset": "USDC", "amount": "1"},
    {"op": "deposit", "account": "alice", "amount": "1"},
    {"op": "deposit", "account": "alice", "asset": "USDC"},
    deposit(amount=None),
    {"op": "withdraw", "account": "alice", "asset": "USDC"},
    {"op": "transfer", "from": "alice", "asset": "USDC", "amount": "1"},
    {"op": "trade", "market": "ETH-PERP", "buyer": "alice", "seller": "bob", "size": "0.1"},
    {"op": "trade", "market": "ETH-PERP", "buyer": "alice", "seller": "bob", "price": "3000"},
    {"op": "trade", "market": "ETH-PERP", "seller": "bob", "size": "0.1", "price": "3000"},
    {"op": "trade", "buyer": "alice", "seller": "bob", "size": "0.1", "price": "3000"},
    {"op": "price", "oracle": "ETH-USD"},
    {"op": "price", "price": "3000"},
    {"op": "funding", "market": "ETH-PERP"},
    {"op": "margin_mode", "account": "alice", "market": "BTC-PERP"},
    {"op": "isolated_margin", "account": "alice", "market": "BTC-PERP"},
    {"op": "order_check", "account": "alice", "market": "ETH-PERP", "price": "3000"},
    {"op": "account"},
    {"op": "time"},
    {"op": "params"},
    {k: v for k, v in USDC.items() if k != "decimals"},
    {k: v for k, v in USDC.items() if k != "oracle"},
    {k: v for k, v in ETH_PERP.items() if k != "tiers"},
    {**ETH_PERP, "id": "X-PERP", "tiers": [{"mmr": "0.01", "max_leverage": "50"}, {"mmr": "0.05", "max_leverage": "10"}]},
])
def test_missing_field(engine: Engine, command: dict) -> None:
    rejected(engine, command, "missing_field")


@pytest.mark.parametrize("command", [
    deposit(account=["alice"]),
    deposit(account={"id": "alice"}),
    deposit(account=7),
    deposit(asset=["USDC"]),
    deposit(amount=["1"]),
    deposit(amount={"value": "1"}),
    trade(market=["ETH-PERP"]),
    trade(buyer=["alice"]),
    {"op": "price", "oracle": ["ETH-USD"], "price": "3000"},
    {"op": "transfer", "from": "alice", "to": ["bob"], "asset": "USDC", "amount": "1"},
    {**ETH_PERP, "id": "X-PERP", "tiers": "0.01"},
    {**ETH_PERP, "id": "X-PERP", "tiers": ["0.01"]},
    {**ETH, "id": "ETH2", "rate_model": "kinked"},
    deposit(id=["a"]),
    deposit(id={"a": 1}),
    deposit(id=1.5),
])
def test_wrong_type(engine: Engine, command: dict) -> None:
    rejected(engine, command, "invalid_type")


@pytest.mark.parametrize("bad", [
    "a" * 129, "", "a b", "a/b", "a\\b", "é", "ä", "a;drop", "a\tb", "a\n", "\na", "alice\n", "a,b", "a@b", "a*", "@nobody",
])
def test_bad_account_id(engine: Engine, bad: str) -> None:
    rejected(engine, deposit(account=bad), "invalid_id")


@pytest.mark.parametrize("bad", ["U" * 129, "", "US DC", "USDC\n", "US/DC", "€"])
def test_bad_asset_and_market_ids(engine: Engine, bad: str) -> None:
    rejected(engine, {**USDC, "id": bad}, "invalid_id")
    rejected(engine, {**ETH_PERP, "id": bad}, "invalid_id")
    rejected(engine, {**ETH_PERP, "id": "NEW-PERP", "oracle": bad}, "invalid_id")
    rejected(engine, deposit(asset=bad), "invalid_id")
    rejected(engine, trade(market=bad), "invalid_id")


@pytest.mark.parametrize("bad", ["c" * 129, "", "bad id", "x/y", "é", "x\n"])
def test_bad_client_id(engine: Engine, bad: str) -> None:
    rejected(engine, deposit(id=bad), "invalid_id")


def test_ids_of_128_characters_are_accepted(engine: Engine) -> None:
    long_id = "a" * 128
    ok(engine, deposit(account=long_id, amount="5", id="c" * 128))
    assert engine.account(long_id)["balances"] == {"USDC": "5.000000"}
    ok(engine, {**USDC, "id": "Q" * 128})
    ok(engine, deposit(account="A-z_0.9:x", amount="1"))


# -- client ids ---------------------------------------------------------------------------------

def test_duplicate_client_id(engine: Engine) -> None:
    ok(engine, deposit(amount="10", id="dep-1"))
    after_first = balance(engine, "alice", "USDC")
    event = rejected(engine, deposit(amount="10", id="dep-1"), "duplicate")
    assert "dep-1" in event["message"]
    # the id is taken whatever the command
    rejected(engine, {"op": "withdraw", "account": "bob", "asset": "USDC", "amount": "1", "id": "dep-1"}, "duplicate")
    rejected(engine, {"op": "price", "oracle": "ETH-USD", "price": "2999", "id": "dep-1"}, "duplicate")
    assert balance(engine, "alice", "USDC") == after_first
    # an integer id is the same id as its text
    ok(engine, deposit(amount="1", id=77))
    rejected(engine, deposit(amount="1", id="77"), "duplicate")


def test_configuration_commands_carry_their_client_id_as_client_id(engine: Engine) -> None:
    """`asset` and `market` use `id` for the asset or market: their client id is `client_id`."""
    command = {**USDC, "id": "USDT", "client_id": "cfg-1"}
    ok(engine, command)
    rejected(engine, command, "duplicate")
    rejected(engine, {"op": "time", "ts": 1_700_000_000, "id": "cfg-1"}, "duplicate")
    rejected(engine, deposit(client_id="k-1"), "unknown_field")


def test_client_id_of_a_rejected_command_is_free(engine: Engine) -> None:
    rejected(engine, deposit(amount="1.0000001", id="retry-1"), "too_many_decimals")
    rejected(engine, trade(size="100", id="retry-2"), "insufficient_margin")
    before = balance(engine, "alice", "USDC")
    ok(engine, deposit(amount="1", id="retry-1"))
    ok(engine, trade(size="0.1", id="retry-2"))
    assert balance(engine, "alice", "USDC") == before + 1
    rejected(engine, deposit(amount="1", id="retry-1"), "duplicate")
    rejected(engine, trade(size="0.1", id="retry-2"), "duplicate")


def test_a_duplicate_does_not_move_the_clock(engine: Engine) -> None:
    ok(engine, deposit(amount="1", id="t-1", ts=1_700_000_000))
    rejected(engine, deposit(amount="1", id="t-1", ts=1_800_000_000), "duplicate")
    assert engine.state_document()["clock"] == "1700000000"


def test_queries_may_repeat_an_id(engine: Engine) -> None:
    for _ in range(2):
        events = ok(engine, {"op": "account", "account": "alice", "id": "q-1"})
        assert events[0]["event"] == "account"
        events = ok(engine, {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "0.1",
                             "price": "3000", "id": "q-1"})
        assert events[0]["event"] == "order_check"
    ok(engine, deposit(amount="1", id="q-1"))  # a query does not consume the id


# -- state-dependent refusals -------------------------------------------------------------------

def test_trade_that_breaks_initial_margin(engine: Engine) -> None:
    # alice: 1000 USDC, long 1 ETH (initial margin 60). 0.31 ETH more at tier 1 (50x) needs
    # 26.2 more: fine; 15 ETH more lands in the last tier (10x): 4800 of initial margin.
    event = rejected(engine, trade(size="15"), "insufficient_margin")
    assert "alice" in event["message"]
    # the seller side is checked too, and a refusal for the seller leaves the buyer untouched
    ok(engine, deposit(account="dave", amount="1000000"))
    event = rejected(engine, trade(buyer="dave", seller="alice", size="20"), "insufficient_margin")
    assert "alice" in event["message"]
    # within margin: accepted
    ok(engine, trade(size="0.3"))


def test_order_check_answers_without_changing_anything(engine: Engine) -> None:
    before = fingerprint(engine)
    [event] = ok(engine, {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "15", "price": "3000"})
    assert event["event"] == "order_check" and event["accepted"] is False
    assert event.get("reason") == "insufficient_margin"
    [event] = ok(engine, {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "0.3", "price": "3000"})
    assert event["accepted"] is True and Decimal(event["free_collateral"]) >= 0
    assert fingerprint(engine) == before


def test_reducing_trade_is_never_refused_even_under_water(engine: Engine) -> None:
    ok(engine, {"op": "params", "liquidations": "paused"})  # admission under water, not liquidation
    ok(engine, trade(size="2"))  # alice long 3 ETH on 1000 USDC + 500 USD2
    ok(engine, {"op": "price", "oracle": "ETH-USD", "price": "2400"})
    alice = engine.account("alice")
    # equity 1500 - 1800; maintenance 7200 × 0.025 - 75 = 105
    assert alice["health"] == "-405.000000" and Decimal(alice["free_collateral"]) < 0 and alice["liquidatable"]
    [check] = ok(engine, {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "-1", "price": "2300"})
    assert check["accepted"] is True
    # a partial close at a worse price, with a fee, still goes through
    ok(engine, trade(buyer="bob", seller="alice", size="1", price="2300", seller_fee="50"))
    assert engine.account("alice")["positions"]["ETH-PERP"]["size"] == "2.00"
    # and the full close, which leaves the account with a debt
    ok(engine, trade(buyer="bob", seller="alice", size="2", price="2300", seller_fee="50"))
    alice = engine.account("alice")
    assert alice["positions"] == {}
    assert Decimal(alice["balances"]["USDC"]) < 0
    assert engine.state_document()["ledger"]["balanced"] is True


def test_flip_is_not_a_pure_reduction(engine: Engine) -> None:
    """Selling more than the position opens the other way: that part increases risk."""
    ok(engine, {"op": "params", "liquidations": "paused"})  # admission under water, not liquidation
    ok(engine, {"op": "price", "oracle": "ETH-USD", "price": "1400"})  # alice under water
    assert Decimal(engine.account("alice")["free_collateral"]) < 0
    rejected(engine, trade(buyer="bob", seller="alice", size="1.5", price="1400"), "insufficient_margin")
    ok(engine, trade(buyer="bob", seller="alice", size="1", price="1400"))


def test_isolated_close_under_water_is_accepted(engine: Engine) -> None:
    ok(engine, {"op": "params", "liquidations": "paused"})  # admission under water, not liquidation
    ok(engine, {"op": "margin_mode", "account": "alice", "market": "SOL-PERP", "mode": "isolated", "leverage": "10"})
    ok(engine, trade(market="SOL-PERP", size="5", price="150"))
    position = engine.account("alice")["positions"]["SOL-PERP"]
    assert position["mode"] == "isolated" and Decimal(position["isolated_margin"]) == Decimal("75")
    ok(engine, {"op": "price", "oracle": "SOL-USD", "price": "100"})
    assert engine.account("alice")["positions"]["SOL-PERP"]["liquidatable"] is True
    usd2_before = balance(engine, "alice", "USD2")
    events = ok(engine, trade(market="SOL-PERP", buyer="bob", seller="alice", size="5", price="100"))
    assert "SOL-PERP" not in engine.account("alice")["positions"]
    # the loss beyond the isolated margin never reaches the cross balance
    assert balance(engine, "alice", "USD2") == usd2_before
    assert [e for e in events if e["event"] == "bad_debt"]
    assert engine.state_document()["ledger"]["balanced"] is True


def test_isolated_margin_removal_below_initial_margin(engine: Engine) -> None:
    ok(engine, {"op": "margin_mode", "account": "alice", "market": "SOL-PERP", "mode": "isolated", "leverage": "10"})
    ok(engine, trade(market="SOL-PERP", size="5", price="150"))  # isolated margin 75 = initial margin
    rejected(engine, {"op": "isolated_margin", "account": "alice", "market": "SOL-PERP", "amount": "-0.01"},
             "insufficient_margin")
    ok(engine, {"op": "isolated_margin", "account": "alice", "market": "SOL-PERP", "amount": "20"})
    rejected(engine, {"op": "isolated_margin", "account": "alice", "market": "SOL-PERP", "amount": "-20.01"},
             "insufficient_margin")
    ok(engine, {"op": "isolated_margin", "account": "alice", "market": "SOL-PERP", "amount": "-20"})
    rejected(engine, {"op": "isolated_margin", "account": "alice", "market": "SOL-PERP", "amount": "100000"},
             "insufficient_balance")
    rejected(engine, {"op": "isolated_margin", "account": "alice", "market": "SOL-PERP", "amount": "1.001"},
             "too_many_decimals")
    rejected(engine, {"op": "isolated_margin", "account": "alice", "market": "ETH-PERP", "amount": "1"},
             "not_isolated")
    rejected(engine, {"op": "isolated_margin", "account": "@insurance", "market": "SOL-PERP", "amount": "1"},
             "system_account")


def test_withdrawal_beyond_free_collateral(engine: Engine) -> None:
    # alice: 1000 USDC, long 1 ETH at the mark: initial margin 3000 / 50 = 60, free 940
    ok(engine, {"op": "withdraw", "account": "alice", "asset": "USD2", "amount": "500"})
    assert engine.account("alice")["free_collateral"] == "940.000000"
    rejected(engine, {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "940.000001"},
             "insufficient_margin")
    rejected(engine, {"op": "transfer", "from": "alice", "to": "bob", "asset": "USDC", "amount": "941"},
             "insufficient_margin")
    ok(engine, {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "940"})  # exactly to zero
    assert engine.account("alice")["free_collateral"] == "0.000000"
    rejected(engine, {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "0.000001"},
             "insufficient_margin")


def test_borrowing(engine: Engine) -> None:
    ok(engine, deposit(account="dave", amount="100000"))
    # 1 ETH deposited by carol is all there is to borrow
    rejected(engine, {"op": "withdraw", "account": "dave", "asset": "ETH", "amount": "1.00000001"},
             "insufficient_liquidity")
    rejected(engine, {"op": "transfer", "from": "dave", "to": "bob", "asset": "ETH", "amount": "1.5"},
             "insufficient_liquidity")
    # the collateral check applies to a borrow: 0.5 ETH borrowed needs 0.5 × 3000 × 1.25 of collateral
    ok(engine, deposit(account="erin", amount="1874.99"))
    rejected(engine, {"op": "withdraw", "account": "erin", "asset": "ETH", "amount": "0.5"}, "insufficient_margin")
    ok(engine, deposit(account="erin", amount="0.01"))
    ok(engine, {"op": "withdraw", "account": "erin", "asset": "ETH", "amount": "0.5"})
    assert engine.account("erin")["balances"]["ETH"] == "-0.50000000"
    assets = engine.state_document()["assets"]["ETH"]
    assert assets["total_borrows"] == "0.50000000" and assets["total_deposits"] == "1.00000000"
    # only 0.5 is left to borrow
    rejected(engine, {"op": "withdraw", "account": "dave", "asset": "ETH", "amount": "0.50000001"},
             "insufficient_liquidity")
    ok(engine, {"op": "transfer", "from": "dave", "to": "bob", "asset": "ETH", "amount": "0.5"})


@pytest.mark.parametrize("asset, amount", [("USDC", "1000.000001"), ("USD2", "500.01"), ("USD2", "100000")])
def test_borrowing_a_non_borrowable_asset(engine: Engine, asset: str, amount: str) -> None:
    rejected(engine, {"op": "withdraw", "account": "alice", "asset": asset, "amount": amount}, "insufficient_balance")
    rejected(engine, {"op": "transfer", "from": "alice", "to": "bob", "asset": asset, "amount": amount},
             "insufficient_balance")


def test_system_accounts_cannot_overdraw(engine: Engine) -> None:
    ok(engine, deposit(account="@insurance", amount="5"))
    rejected(engine, {"op": "withdraw", "account": "@insurance", "asset": "USDC", "amount": "5.000001"},
             "insufficient_balance")
    rejected(engine, {"op": "transfer", "from": "@pnl:ETH-PERP", "to": "alice", "asset": "USDC", "amount": "1"},
             "system_account")


def test_self_trade(engine: Engine) -> None:
    rejected(engine, trade(buyer="alice", seller="alice"), "self_trade")
    rejected(engine, trade(buyer="bob", seller="bob", size="0.001"), "self_trade")


def test_transfer_to_oneself(engine: Engine) -> None:
    rejected(engine, {"op": "transfer", "from": "alice", "to": "alice", "asset": "USDC", "amount": "1"},
             "invalid_value")


@pytest.mark.parametrize("command", [
    trade(size="0.015"),
    trade(size="0.001"),
    trade(size="1.234"),
    trade(market="BTC-PERP", price="60000", size="0.0001"),
    trade(market="SOL-PERP", price="150", size="0.05"),
    {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "-0.005", "price": "3000"},
])
def test_trade_off_the_step_grid(engine: Engine, command: dict) -> None:
    rejected(engine, command, "invalid_size")


@pytest.mark.parametrize("buyer, seller", [
    ("@insurance", "bob"), ("alice", "@insurance"), ("@fees", "bob"), ("alice", "@pnl:ETH-PERP"),
])
def test_trading_a_system_account(engine: Engine, buyer: str, seller: str) -> None:
    ok(engine, deposit(account="@insurance", amount="100000"))
    rejected(engine, trade(buyer=buyer, seller=seller), "system_account")


def test_margin_mode_on_a_system_account(engine: Engine) -> None:
    rejected(engine, {"op": "margin_mode", "account": "@insurance", "market": "ETH-PERP", "mode": "isolated"},
             "system_account")


def test_margin_mode_while_a_position_is_open(engine: Engine) -> None:
    rejected(engine, {"op": "margin_mode", "account": "alice", "market": "ETH-PERP", "mode": "isolated"},
             "position_open")
    rejected(engine, {"op": "margin_mode", "account": "bob", "market": "ETH-PERP", "mode": "cross", "leverage": "5"},
             "position_open")
    rejected(engine, {"op": "margin_mode", "account": "alice", "market": "ETH-PERP", "mode": "bogus"},
             "invalid_value")
    ok(engine, trade(buyer="bob", seller="alice", size="1"))  # close
    ok(engine, {"op": "margin_mode", "account": "alice", "market": "ETH-PERP", "mode": "isolated", "leverage": "5"})


def test_commands_before_any_price(bare: Engine) -> None:
    ok(bare, deposit(account="alice", amount="1000"))
    ok(bare, deposit(account="bob", amount="1000"))
    rejected(bare, trade(), "no_price")
    rejected(bare, {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "1", "price": "3000"},
             "no_price")
    rejected(bare, {"op": "funding", "market": "ETH-PERP", "rate": "0.001"}, "no_price")
    ok(bare, deposit(account="carol", asset="ETH", amount="1"))
    rejected(bare, {"op": "withdraw", "account": "alice", "asset": "ETH", "amount": "0.1"}, "no_price")
    ok(bare, {"op": "price", "oracle": "ETH-USD", "price": "3000"})
    ok(bare, trade())


@pytest.mark.parametrize("command, code", [
    ({**USDC, "decimals": 2}, "immutable_field"),
    ({**ETH, "oracle": "ETH-USD-2"}, "immutable_field"),
    ({**ETH_PERP, "settle": "USD2"}, "immutable_field"),
    ({**ETH_PERP, "id": "E2-PERP", "settle": "ETH"}, "invalid_config"),
    ({**USDC, "id": "USDT", "weight_init": "0.9", "weight_maint": "0.8"}, "invalid_config"),
    ({**ETH, "id": "ETH2", "oracle": "ETH2-USD", "liability_weight_maint": None}, "invalid_config"),
    ({**ETH_PERP, "id": "X-PERP", "tiers": []}, "invalid_config"),
    ({**ETH_PERP, "id": "X-PERP", "tiers": [{"mmr": "0.5", "max_leverage": "10"}]}, "invalid_config"),
    ({"op": "params", "cost_basis": "fifo"}, "positions_open"),
    ({"op": "params", "value_decimals": 2}, "accounts_exist"),
    ({"op": "params", "liquidation_policy": "sometimes"}, "invalid_value"),
    ({"op": "exchange_rate", "asset": "ETH", "rate": "1.1"}, "not_yield_bearing"),
    (deposit(ts="yesterday"), "invalid_ts"),
    (deposit(ts=-1), "invalid_ts"),
])
def test_configuration_refusals(engine: Engine, command: dict, code: str) -> None:
    rejected(engine, command, code)


def test_no_bad_input_reaches_a_handler_as_an_internal_error(engine: Engine) -> None:
    """A sweep of odd values into every field of every command: each is either accepted or
    refused with a named code; never `internal_error`, never an exception."""
    templates = [
        deposit(), {"op": "withdraw", "account": "alice", "asset": "USDC", "amount": "1"},
        {"op": "transfer", "from": "alice", "to": "bob", "asset": "USDC", "amount": "1"},
        trade(buyer_fee="0", seller_fee="0"),
        {"op": "order_check", "account": "alice", "market": "ETH-PERP", "size": "-0.1", "price": "3000"},
        {"op": "margin_mode", "account": "alice", "market": "BTC-PERP", "mode": "isolated", "leverage": "5"},
        {"op": "isolated_margin", "account": "alice", "market": "ETH-PERP", "amount": "1"},
        {"op": "price", "oracle": "ETH-USD", "price": "3000", "confidence": "1"},
        {"op": "funding", "market": "ETH-PERP", "rate": "0.0001"},
        {"op": "exchange_rate", "asset": "ETH", "rate": "1"},
        {"op": "time", "ts": 1_700_000_000},
        {"op": "account", "account": "alice"},
        {"op": "params", "liquidation_buffer": "0.2"},
    ]
    odd = [None, True, 0, -1, 10**40, 1.5, "", "x" * 200, [], {}, ["a"], "NaN", "-0", "1e-30", "@insurance",
           Decimal("NaN"), Decimal("-1e50")]
    codes = set()
    for template in templates:
        for field in list(template) + ["id", "ts"]:
            if field == "op":
                continue
            for value in odd:
                command = {**template, field: value}
                before = fingerprint(engine)
                events = engine.apply(command)
                bad = [e for e in events if e["event"] == "rejected"]
                if bad:
                    assert len(events) == 1
                    assert bad[0]["code"] != "internal_error", (command, bad)
                    codes.add(bad[0]["code"])
                    assert fingerprint(engine) == before, command
    assert {"invalid_type", "invalid_number", "out_of_range", "invalid_id", "missing_field"} <= codes
