"""The JSON command schema of SPEC §2: decode, check syntax, build typed commands.

Everything a command says about itself is checked here (types, number syntax, id syntax,
ranges that do not depend on state). What depends on state (does the account exist, does
the amount fit the asset's decimals, is there margin) is checked by the engine. A failure
raises `Rejection`; the engine turns it into one `rejected` event.
"""

from __future__ import annotations

import enum
import re
from dataclasses import replace
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from .domain import commands as c
from .domain.account import MarginMode
from .domain.errors import Rejection
from .domain.ids import check_account_id, check_id, is_plain_id
from .domain.numbers import ONE, ZERO, parse_decimal
from .domain.specs import (
    AssetSpec,
    BadDebtPolicy,
    CostBasis,
    LiquidationPolicy,
    Liquidations,
    MarketSpec,
    RateModel,
    YieldSpec,
    build_tiers,
)

MAX_COMMAND_BYTES = 1 << 20
MAX_TIERS = 64
MAX_DECIMALS = 18
MAX_TS = Decimal(10) ** 11  # Unix seconds, year ~5138
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode(text: str | bytes) -> dict[str, Any]:
    """Parse one JSON command. Floats are read through their text as `Decimal`."""
    if len(text) > MAX_COMMAND_BYTES:
        raise Rejection("malformed_json", "command larger than 1 MiB")
    try:
        value = _DECODER.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise Rejection("malformed_json", f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise Rejection("invalid_command", "a command must be a JSON object")
    return value


class _Reader:
    """Reads the fields of one command object, remembering which were used."""

    __slots__ = ("raw", "used")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.used: set[str] = {"op", "id", "ts"}

    def _get(self, name: str, required: bool) -> Any:
        self.used.add(name)
        value = self.raw.get(name)
        if value is None and required:
            raise Rejection("missing_field", f"field {name!r} is required")
        return value

    def id(self, name: str) -> str:
        return check_id(self._get(name, True), name)

    def account(self, name: str) -> str:
        return check_account_id(self._get(name, True), name)

    def optional_id(self, name: str) -> str | None:
        value = self._get(name, False)
        return None if value is None else check_id(value, name)

    def decimal(self, name: str, *, low: Decimal | None = None, high: Decimal | None = None,
                strict_low: bool = False, strict_high: bool = False) -> Decimal:
        number = parse_decimal(self._get(name, True), name)
        return _bounded(number, name, low, high, strict_low, strict_high)

    def optional_decimal(self, name: str, **bounds: Any) -> Decimal | None:
        if self.raw.get(name) is None:
            self.used.add(name)
            return None
        return self.decimal(name, **bounds)

    def integer(self, name: str, low: int, high: int) -> int:
        value = self._get(name, True)
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            raise Rejection("invalid_type", f"{name} must be an integer")
        number = parse_decimal(value, name)
        if number != number.to_integral_value() or not low <= number <= high:
            raise Rejection("out_of_range", f"{name} must be an integer from {low} to {high}")
        return int(number)

    def choice(self, name: str, options: type[enum.Enum], required: bool = True) -> Any:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            return options(value)
        except ValueError:
            allowed = ", ".join(member.value for member in options)
            raise Rejection("invalid_value", f"{name} must be one of: {allowed}") from None

    def object(self, name: str) -> dict[str, Any] | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise Rejection("invalid_type", f"{name} must be an object")
        return value

    def list(self, name: str) -> list[Any]:
        value = self._get(name, True)
        if not isinstance(value, list):
            raise Rejection("invalid_type", f"{name} must be a list")
        return value

    def done(self) -> None:
        if self.used.issuperset(self.raw):  # the common case, answered without building a set
            return
        extra = sorted(set(self.raw) - self.used)
        if extra:
            raise Rejection("unknown_field", f"unknown field {extra[0]!r}")


def _bounded(number: Decimal, name: str, low: Decimal | None, high: Decimal | None, strict_low: bool, strict_high: bool) -> Decimal:
    if low is not None and (number < low or (strict_low and number == low)):
        code = "invalid_amount" if low == ZERO else "out_of_range"
        relation = "greater than" if strict_low else "at least"
        raise Rejection(code, f"{name} must be {relation} {low}")
    if high is not None and (number > high or (strict_high and number == high)):
        relation = "less than" if strict_high else "at most"
        raise Rejection("out_of_range", f"{name} must be {relation} {high}")
    return number


def _positive(reader: _Reader, name: str) -> Decimal:
    return reader.decimal(name, low=ZERO, strict_low=True)


def _fraction(reader: _Reader, name: str) -> Decimal:
    return reader.decimal(name, low=ZERO, high=ONE)


# -- configuration ----------------------------------------------------------------------------

def _asset(r: _Reader) -> c.Command:
    asset_id = r.id("id")
    decimals = r.integer("decimals", 0, MAX_DECIMALS)
    if "oracle" not in r.raw:
        raise Rejection("missing_field", "field 'oracle' is required (null for the quote asset)")
    oracle = r.optional_id("oracle")
    weight_init = _fraction(r, "weight_init")
    weight_maint = _fraction(r, "weight_maint")
    if weight_init > weight_maint:
        raise Rejection("invalid_config", "weight_init must not exceed weight_maint (initial is the stricter haircut)")
    lw_init = r.optional_decimal("liability_weight_init", low=ONE, high=Decimal(100))
    lw_maint = r.optional_decimal("liability_weight_maint", low=ONE, high=Decimal(100))
    if (lw_init is None) != (lw_maint is None):
        raise Rejection("invalid_config", "give both liability weights, or neither (not borrowable)")
    if lw_init is not None and lw_maint is not None and lw_init < lw_maint:
        raise Rejection("invalid_config", "liability_weight_init must be at least liability_weight_maint")
    rate_model = None
    raw_model = r.object("rate_model")
    if raw_model is not None:
        m = _Reader(raw_model)
        m.used = set()
        rate_model = RateModel(
            base=m.decimal("base", low=ZERO, high=Decimal(100)),
            slope1=m.decimal("slope1", low=ZERO, high=Decimal(100)),
            slope2=m.decimal("slope2", low=ZERO, high=Decimal(100)),
            optimal_utilization=m.decimal("optimal_utilization", low=ZERO, high=ONE, strict_low=True, strict_high=True),
            reserve_factor=m.decimal("reserve_factor", low=ZERO, high=ONE),
        )
        m.done()
    yield_spec = None
    raw_yield = r.object("yield")
    if raw_yield is not None:
        y = _Reader(raw_yield)
        y.used = set()
        rate = y.decimal("exchange_rate", low=ZERO, strict_low=True)
        apy = y.decimal("apy", low=ZERO, high=Decimal(100))
        growth = y.optional_decimal("max_yearly_growth", low=ZERO, high=Decimal(100))
        yield_spec = YieldSpec(rate, apy) if growth is None else YieldSpec(rate, apy, growth)
        y.done()
        if oracle is None:
            raise Rejection("invalid_config", "a yield-bearing asset needs the oracle of its underlying")
    max_age = r.optional_decimal("max_oracle_age_s", low=ZERO, strict_low=True)
    if max_age is not None and oracle is None:
        raise Rejection("invalid_config", "max_oracle_age_s needs an oracle (a quote asset has no price to age)")
    spec = AssetSpec(asset_id, decimals, oracle, weight_init, weight_maint, lw_init, lw_maint, rate_model, yield_spec, max_age)
    bonus = r.optional_decimal("liquidation_bonus", low=ZERO, high=ONE, strict_high=True)
    return c.AssetCommand(spec if bonus is None else replace(spec, liquidation_bonus=bonus))


def _market(r: _Reader) -> c.Command:
    market_id = r.id("id")
    oracle = r.id("oracle")
    settle = r.id("settle")
    raw_tiers = r.list("tiers")
    if not 1 <= len(raw_tiers) <= MAX_TIERS:
        raise Rejection("invalid_config", f"a market needs 1 to {MAX_TIERS} tiers")
    rows: list[tuple[Decimal | None, Decimal, Decimal]] = []
    for index, raw in enumerate(raw_tiers):
        if not isinstance(raw, dict):
            raise Rejection("invalid_type", f"tiers[{index}] must be an object")
        t = _Reader(raw)
        t.used = set()
        last = index == len(raw_tiers) - 1
        max_notional = t.optional_decimal("max_notional", low=ZERO, strict_low=True)
        if max_notional is None and not last:
            raise Rejection("missing_field", f"tiers[{index}].max_notional is required on every tier but the last")
        if last and max_notional is not None:
            raise Rejection("invalid_config", "the last tier has no max_notional (it is unbounded)")
        mmr = t.decimal("mmr", low=ZERO, high=ONE, strict_low=True)
        max_leverage = t.decimal("max_leverage", low=ONE, high=Decimal(10000))
        t.done()
        if mmr * max_leverage > ONE:
            raise Rejection("invalid_config", f"tiers[{index}]: mmr exceeds the initial requirement 1/max_leverage")
        if rows:
            previous = rows[-1]
            if previous[0] is not None and max_notional is not None and max_notional <= previous[0]:
                raise Rejection("invalid_config", "tier max_notional must increase")
            if mmr < previous[1]:
                raise Rejection("invalid_config", "tier mmr must not decrease")
            if max_leverage > previous[2]:
                raise Rejection("invalid_config", "tier max_leverage must not increase")
        rows.append((max_notional, mmr, max_leverage))
    step_size = _positive(r, "step_size")
    liquidation_fee = r.decimal("liquidation_fee", low=ZERO, high=ONE)
    max_age = r.optional_decimal("max_oracle_age_s", low=ZERO, strict_low=True)
    min_notional = r.optional_decimal("min_notional", low=ZERO)
    return c.MarketCommand(MarketSpec(market_id, oracle, settle, build_tiers(rows), step_size, liquidation_fee, max_age, min_notional))


_PARAMS: dict[str, Callable[[_Reader, str], object]] = {
    "liquidation_policy": lambda r, n: r.choice(n, LiquidationPolicy),
    "liquidations": lambda r, n: r.choice(n, Liquidations),
    "liquidation_buffer": lambda r, n: r.decimal(n, low=ZERO, high=Decimal(10)),
    "bad_debt_policy": lambda r, n: r.choice(n, BadDebtPolicy),
    "cost_basis": lambda r, n: r.choice(n, CostBasis),
    "max_price_jump": lambda r, n: r.optional_decimal(n, low=ZERO, strict_low=True, high=Decimal(100)),
    "jump_confirmation": lambda r, n: r.decimal(n, low=ZERO, high=ONE),
    "max_confidence": lambda r, n: r.optional_decimal(n, low=ZERO, strict_low=True, high=ONE),
    "value_decimals": lambda r, n: r.integer(n, 0, MAX_DECIMALS),
    "close_factor": lambda r, n: r.decimal(n, low=ZERO, strict_low=True, high=ONE),
    "full_close_health_factor": lambda r, n: r.decimal(n, low=ZERO, high=ONE),
}


def _params(r: _Reader) -> c.Command:
    changes = []
    for name in sorted(set(r.raw) - r.used):
        if name not in _PARAMS:
            raise Rejection("unknown_field", f"unknown parameter {name!r}")
        changes.append((name, _PARAMS[name](r, name)))
    if not changes:
        raise Rejection("missing_field", "params needs at least one parameter")
    return c.ParamsCommand(tuple(changes))


# -- value, trading, market data, queries ----------------------------------------------------

def _deposit(r: _Reader) -> c.Command:
    return c.Deposit(r.account("account"), r.id("asset"), _positive(r, "amount"))


def _withdraw(r: _Reader) -> c.Command:
    return c.Withdraw(r.account("account"), r.id("asset"), _positive(r, "amount"))


def _transfer(r: _Reader) -> c.Command:
    return c.TransferCommand(r.account("from"), r.account("to"), r.id("asset"), _positive(r, "amount"))


def _trade(r: _Reader) -> c.Command:
    return c.Trade(
        market=r.id("market"),
        buyer=r.account("buyer"),
        seller=r.account("seller"),
        size=_positive(r, "size"),
        price=_positive(r, "price"),
        buyer_fee=r.optional_decimal("buyer_fee", low=ZERO) or ZERO,
        seller_fee=r.optional_decimal("seller_fee", low=ZERO) or ZERO,
    )


def _order_check(r: _Reader) -> c.Command:
    size = r.decimal("size")
    if not size:
        raise Rejection("invalid_amount", "size must not be zero")
    return c.OrderCheck(r.account("account"), r.id("market"), size, _positive(r, "price"))


def _margin_mode(r: _Reader) -> c.Command:
    return c.SetMarginMode(
        r.account("account"),
        r.id("market"),
        r.choice("mode", MarginMode),
        r.optional_decimal("leverage", low=ONE, high=Decimal(10000)),
    )


def _isolated_margin(r: _Reader) -> c.Command:
    amount = r.decimal("amount")
    if not amount:
        raise Rejection("invalid_amount", "amount must not be zero")
    return c.IsolatedMargin(r.account("account"), r.id("market"), amount)


def _price(r: _Reader) -> c.Command:
    return c.PriceUpdate(r.id("oracle"), _positive(r, "price"), r.optional_decimal("confidence", low=ZERO))


def _funding(r: _Reader) -> c.Command:
    return c.Funding(r.id("market"), r.decimal("rate", low=-ONE, high=ONE))


def _exchange_rate(r: _Reader) -> c.Command:
    return c.ExchangeRate(r.id("asset"), _positive(r, "rate"))


def _time(r: _Reader) -> c.Command:
    if r.raw.get("ts") is None:
        raise Rejection("missing_field", "field 'ts' is required")
    return c.Time()


def _account(r: _Reader) -> c.Command:
    return c.AccountQuery(r.account("account"))


_OPS: dict[str, Callable[[_Reader], c.Command]] = {
    "asset": _asset,
    "market": _market,
    "params": _params,
    "deposit": _deposit,
    "withdraw": _withdraw,
    "transfer": _transfer,
    "trade": _trade,
    "order_check": _order_check,
    "margin_mode": _margin_mode,
    "isolated_margin": _isolated_margin,
    "price": _price,
    "funding": _funding,
    "exchange_rate": _exchange_rate,
    "time": _time,
    "account": _account,
}

OPS = tuple(_OPS)


def parse_ts(value: Any) -> Decimal:
    """A timestamp: Unix seconds (number or decimal string) or ISO 8601 text (UTC if no zone)."""
    if isinstance(value, str) and not re.match(r"[+-]?[0-9.]+\Z", value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            raise Rejection("invalid_ts", f"ts is neither Unix seconds nor ISO 8601: {value[:40]!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        seconds = Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)
    else:
        try:
            seconds = parse_decimal(value, "ts")
        except Rejection as error:
            raise Rejection("invalid_ts", error.message) from None
    if not ZERO <= seconds < MAX_TS:
        raise Rejection("invalid_ts", "ts must be at least 0 (1970) and below 10^11 seconds (year 5138)")
    return seconds


def parse_command(raw: dict[str, Any]) -> c.Envelope:
    """Build a typed command from a decoded JSON object, or raise `Rejection`."""
    op = raw.get("op")
    if not isinstance(op, str):
        raise Rejection("missing_field" if op is None else "invalid_type", "field 'op' (the command name) is required")
    builder = _OPS.get(op)
    if builder is None:
        raise Rejection("unknown_op", f"unknown op {op[:40]!r}")
    client_id = raw.get("id") if op not in ("asset", "market") else raw.get("client_id")
    if client_id is not None:
        if isinstance(client_id, bool) or not isinstance(client_id, (str, int)):
            raise Rejection("invalid_type", "id must be a string or an integer")
        client_id = str(client_id)
        if not is_plain_id(client_id):
            raise Rejection("invalid_id", "id must be 1-128 letters, digits or _ - . :")
    ts = raw.get("ts")
    reader = _Reader(raw)
    if op in ("asset", "market"):
        reader.used.discard("id")
        reader.used.add("client_id")
    body = builder(reader)
    reader.done()
    return c.Envelope(op, body, client_id, parse_ts(ts) if ts is not None else None)
