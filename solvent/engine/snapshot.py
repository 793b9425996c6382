"""A snapshot of the whole engine as deterministic bytes, and the engine restored from them.

`snapshot(engine) -> bytes` writes every piece of state that is not derived: the book
(assets, markets, params, prices, exchange rates), the ledger (balances, running totals,
postings count), the accounts (positions with their FIFO lots, margin settings), the market
holders and oracle maps, the applied client ids, the clock and the command count, and the
part of the risk monitor that cannot be recomputed: the oracle order of the screen and the
once-per-crossing memory (margin calls sent, units seen liquidatable).

`restore(bytes) -> Engine` rebuilds the engine; derived caches (the float `HealthScreen`,
its rows, the isolated-unit index) are rebuilt by evaluating every account exactly, and the
remembered statuses are then put back as they were.

The encoding is canonical JSON of plain values (msgspec), never pickle: every `Decimal` is
its exact `str` (trailing zeros and exponent kept, so `4.400` stays `4.400`), every money
amount an integer, mappings are lists of pairs in the engine's own insertion order (some
iteration orders are visible in events), sets are sorted lists. The same state always gives
the same bytes.

Each class whose fields are written here is checked against the field list this module
knows; a field added to the engine's state without being added here makes `snapshot` fail
loudly (`SnapshotError`) instead of silently dropping state.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from ..domain import fixed
from ..domain.account import NO_SETTINGS, Account, MarginMode, MarginSetting
from ..domain.book import Book
from ..domain.position import Lot, Position
from ..domain.specs import (
    AssetSpec,
    BadDebtPolicy,
    CostBasis,
    LiquidationPolicy,
    Liquidations,
    MarketSpec,
    Params,
    RateModel,
    Tier,
    YieldSpec,
)
from ..ledger import Ledger
from ..market_data.oracle_guard import OracleRecord
from .collector import collector_paused
from .engine import Engine
from .monitor import RiskMonitor
from .state import EngineState

FORMAT = "solvent-snapshot/1"

K = TypeVar("K")
V = TypeVar("V")
W = TypeVar("W")
T = TypeVar("T")


class SnapshotError(ValueError):
    """The bytes are not a snapshot this version can read, or the state has a field this
    module does not know how to write."""


# -- field guards ----------------------------------------------------------------------------------

#: Every class written field by field, with the fields this module writes. Kept in step with
#: the classes by `check_known_fields` (called by `snapshot` and by the tests).
KNOWN_FIELDS: dict[type, tuple[str, ...]] = {
    #: EngineState.age_limits, .figure_caches and .usable are derived caches: not written, empty on restore
    EngineState: ("book", "ledger", "accounts", "holders", "oracle_markets", "oracle_assets", "applied_ids", "clock",
                  "oracles", "indices", "rate_anchors", "accrued_at", "commands", "age_limits",
                  "figure_caches", "usable"),
    OracleRecord: ("published_at", "pending", "invalid"),
    Book: ("assets", "markets", "prices", "exchange_rates", "params"),
    AssetSpec: ("id", "decimals", "oracle", "weight_init", "weight_maint", "liability_weight_init",
                "liability_weight_maint", "rate_model", "yield_spec", "max_oracle_age_s", "liquidation_bonus"),
    RateModel: ("base", "slope1", "slope2", "optimal_utilization", "reserve_factor"),
    YieldSpec: ("exchange_rate", "apy", "max_yearly_growth"),
    MarketSpec: ("id", "oracle", "settle", "tiers", "step_size", "liquidation_fee", "max_oracle_age_s", "min_notional"),
    Tier: ("max_notional", "mmr", "max_leverage", "cum"),
    Params: ("liquidation_policy", "liquidations", "liquidation_buffer", "bad_debt_policy", "cost_basis",
             "max_price_jump", "jump_confirmation", "max_confidence", "close_factor", "full_close_health_factor",
             "value_decimals", "extra"),
    #: Account.index is derived: restore numbers the accounts again, in their order
    Account: ("id", "positions", "settings", "index"),
    MarginSetting: ("mode", "leverage"),
}
#: Plain attributes (not dataclass fields) of the objects whose internals are written.
KNOWN_ATTRIBUTES: dict[type, tuple[str, ...]] = {
    Ledger: ("_units", "_borrows", "_deposits", "_postings"),
    Position: ("market", "size_units", "size_places", "cost_units", "cost_places", "lots", "realized_pnl", "isolated",
               "leverage"),
    Lot: ("size", "price"),
    #: `state` is the engine state (written above); `screen`, `cross_rows`, `isolated_rows`,
    #: `owners`, `isolated_units`
    #: `_floats`, `_quotes`, `_asset_weights` and `_line_caches` are derived and rebuilt on
    #: restore; `retiered`, `flipped` and `calls_flipped` are diagnostic counts (of this
    #: process's ticks), not state.
    RiskMonitor: ("state", "screen", "oracle_index", "cross_rows", "isolated_rows", "owners", "liquidatable",
                  "margin_called",
                  "isolated_units", "_floats", "_quotes", "_asset_weights", "_line_caches", "retiered",
                  "flipped", "calls_flipped"),
    Engine: ("state", "monitor"),
}


def _attributes(cls: type, sample: Any | None) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    if hasattr(cls, "_fields"):  # NamedTuple
        return tuple(cls._fields)
    if hasattr(cls, "__slots__"):
        return tuple(sorted(cls.__slots__))
    compiled = getattr(cls, "__mypyc_attrs__", None)
    if compiled is not None:  # a class compiled by mypyc (SOLVENT_COMPILE=1) has no __dict__
        return tuple(sorted(a for a in compiled if a != "__dict__"))
    return tuple(sorted(vars(sample))) if sample is not None else ()


def check_known_fields(engine: Engine | None = None) -> None:
    """Raise `SnapshotError` if a class of the engine state has fields this module does not
    write (someone added state: add it to the encoding, the decoding and KNOWN_FIELDS)."""
    samples: dict[type, Any] = {}
    if engine is not None:
        samples = {RiskMonitor: engine.monitor, Engine: engine}
    for table in (KNOWN_FIELDS, KNOWN_ATTRIBUTES):
        for cls, known in table.items():
            actual = _attributes(cls, samples.get(cls))
            if not actual:
                continue
            if sorted(actual) != sorted(known):
                unknown = sorted(set(actual) - set(known))
                gone = sorted(set(known) - set(actual))
                raise SnapshotError(
                    f"solvent.engine.snapshot does not know the state of {cls.__name__}: "
                    f"new fields {unknown}, removed fields {gone}; teach snapshot() and restore() about them"
                )


# -- scalars ---------------------------------------------------------------------------------------

def _dec(value: Decimal | None) -> str | None:
    """A Decimal as its exact text (`str` keeps every digit and the exponent)."""
    return None if value is None else str(value)


def _undec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _undec1(text: str) -> Decimal:
    return Decimal(text)


def _pairs(mapping: Mapping[K, V], encode: Callable[[V], W]) -> list[list[Any]]:
    """A mapping as [key, value] pairs in its insertion order."""
    return [[key, encode(value)] for key, value in mapping.items()]


def _unpairs(pairs: Iterable[list[Any]], decode: Callable[[Any], V]) -> dict[Any, V]:
    return {key: decode(value) for key, value in pairs}


#: entries encoded at a time by `_encoded_list`
ENCODE_CHUNK = 10_000


def _encoded_list(items: Iterable[T], convert: Callable[[T], Any], chunk: int = ENCODE_CHUNK) -> msgspec.Raw:
    """`[convert(item) for item in items]` as JSON, encoded `chunk` entries at a time and
    embedded as raw bytes: the same bytes as encoding the whole list at once (compact JSON
    joins elements with a bare comma), without building the whole list of documents first,
    so that snapshotting a large book needs its bytes beside the engine, not its document."""
    encode = msgspec.json.encode
    parts: list[bytes] = []
    pending: list[Any] = []
    for item in items:
        pending.append(convert(item))
        if len(pending) == chunk:
            parts.append(encode(pending)[1:-1])
            pending.clear()
    if pending:
        parts.append(encode(pending)[1:-1])
    return msgspec.Raw(b"[" + b",".join(parts) + b"]")


def _drain(items: list[Any]) -> Iterator[Any]:
    """Yield each item of a decoded list, dropping the list's hold on it first, so that the
    decoded document is freed while the engine is built from it: restoring a large book then
    needs the engine's memory plus what is not converted yet, not plus the whole document."""
    for index in range(len(items)):
        item = items[index]
        items[index] = None
        yield item


#: decoders for restoring: the document's top level, and each long list, as raw JSON values
#: (views of the snapshot's bytes), so that only one account's entry is a Python document at
#: a time (`_decoded`); everything short is decoded whole (`_VALUE`)
_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])
_VALUE = msgspec.json.Decoder()


def _decoded(raw: msgspec.Raw) -> Iterator[Any]:
    """Each entry of the JSON list `raw`, decoded one at a time as it is consumed."""
    decode = _VALUE.decode
    for item in _drain(_ITEMS.decode(raw)):
        yield decode(item)


# -- specs -----------------------------------------------------------------------------------------

def _rate_model(model: RateModel | None) -> list[str | None] | None:
    if model is None:
        return None
    return [_dec(model.base), _dec(model.slope1), _dec(model.slope2), _dec(model.optimal_utilization),
            _dec(model.reserve_factor)]


def _unrate_model(raw: list[str] | None) -> RateModel | None:
    return None if raw is None else RateModel(*(Decimal(x) for x in raw))


def _asset(spec: AssetSpec) -> dict[str, Any]:
    return {
        "id": spec.id, "decimals": spec.decimals, "oracle": spec.oracle,
        "weight_init": _dec(spec.weight_init), "weight_maint": _dec(spec.weight_maint),
        "liability_weight_init": _dec(spec.liability_weight_init),
        "liability_weight_maint": _dec(spec.liability_weight_maint),
        "rate_model": _rate_model(spec.rate_model),
        "yield": None if spec.yield_spec is None else [
            _dec(spec.yield_spec.exchange_rate), _dec(spec.yield_spec.apy), _dec(spec.yield_spec.max_yearly_growth)],
        "max_oracle_age_s": _dec(spec.max_oracle_age_s),
        "liquidation_bonus": _dec(spec.liquidation_bonus),
    }


def _unasset(raw: dict[str, Any]) -> AssetSpec:
    y = raw["yield"]
    return AssetSpec(
        id=raw["id"], decimals=raw["decimals"], oracle=raw["oracle"],
        weight_init=_undec1(raw["weight_init"]), weight_maint=_undec1(raw["weight_maint"]),
        liability_weight_init=_undec(raw["liability_weight_init"]),
        liability_weight_maint=_undec(raw["liability_weight_maint"]),
        rate_model=_unrate_model(raw["rate_model"]),
        yield_spec=None if y is None else YieldSpec(Decimal(y[0]), Decimal(y[1]), Decimal(y[2])),
        max_oracle_age_s=_undec(raw["max_oracle_age_s"]),
        liquidation_bonus=_undec1(raw["liquidation_bonus"]),
    )


def _market(spec: MarketSpec) -> dict[str, Any]:
    return {
        "id": spec.id, "oracle": spec.oracle, "settle": spec.settle,
        "tiers": [[_dec(t.max_notional), _dec(t.mmr), _dec(t.max_leverage), _dec(t.cum)] for t in spec.tiers],
        "step_size": _dec(spec.step_size), "liquidation_fee": _dec(spec.liquidation_fee),
        "max_oracle_age_s": _dec(spec.max_oracle_age_s), "min_notional": _dec(spec.min_notional),
    }


def _unmarket(raw: dict[str, Any]) -> MarketSpec:
    tiers = tuple(Tier(_undec(t[0]), Decimal(t[1]), Decimal(t[2]), Decimal(t[3])) for t in raw["tiers"])
    return MarketSpec(
        id=raw["id"], oracle=raw["oracle"], settle=raw["settle"], tiers=tiers,
        step_size=_undec1(raw["step_size"]), liquidation_fee=_undec1(raw["liquidation_fee"]),
        max_oracle_age_s=_undec(raw["max_oracle_age_s"]), min_notional=_undec(raw["min_notional"]),
    )


def _params(params: Params) -> dict[str, Any]:
    return {
        "liquidation_policy": params.liquidation_policy.value,
        "liquidations": params.liquidations.value,
        "liquidation_buffer": _dec(params.liquidation_buffer),
        "bad_debt_policy": params.bad_debt_policy.value,
        "cost_basis": params.cost_basis.value,
        "max_price_jump": _dec(params.max_price_jump),
        "jump_confirmation": _dec(params.jump_confirmation),
        "max_confidence": _dec(params.max_confidence),
        "close_factor": _dec(params.close_factor),
        "full_close_health_factor": _dec(params.full_close_health_factor),
        "value_decimals": params.value_decimals,
        "extra": [list(pair) for pair in params.extra],
    }


def _unparams(raw: dict[str, Any]) -> Params:
    return Params(
        liquidation_policy=LiquidationPolicy(raw["liquidation_policy"]),
        liquidations=Liquidations(raw["liquidations"]),
        liquidation_buffer=_undec1(raw["liquidation_buffer"]),
        bad_debt_policy=BadDebtPolicy(raw["bad_debt_policy"]),
        cost_basis=CostBasis(raw["cost_basis"]),
        max_price_jump=_undec(raw["max_price_jump"]),
        jump_confirmation=_undec1(raw["jump_confirmation"]),
        max_confidence=_undec(raw["max_confidence"]),
        close_factor=_undec1(raw["close_factor"]),
        full_close_health_factor=_undec1(raw["full_close_health_factor"]),
        value_decimals=raw["value_decimals"],
        extra=tuple((k, v) for k, v in raw["extra"]),
    )


def _book(book: Book) -> dict[str, Any]:
    return {
        "assets": _pairs(book.assets, _asset),
        "markets": _pairs(book.markets, _market),
        "prices": _pairs(book.prices, _dec),
        "exchange_rates": _pairs(book.exchange_rates, _dec),
        "params": _params(book.params),
    }


def _unbook(raw: dict[str, Any]) -> Book:
    return Book(
        assets=_unpairs(raw["assets"], _unasset),
        markets=_unpairs(raw["markets"], _unmarket),
        prices=_unpairs(raw["prices"], _undec1),
        exchange_rates=_unpairs(raw["exchange_rates"], _undec1),
        params=_unparams(raw["params"]),
    )


# -- ledger and accounts ---------------------------------------------------------------------------

def _ledger(ledger: Ledger) -> dict[str, Any]:
    return {
        # [asset, account, units] per balance, in the ledger's order (asset by asset)
        "units": _encoded_list(((asset, account, units) for asset, book in ledger._units.items()
                                for account, units in book.items()), list),
        "deposits": _pairs(ledger._deposits, int),
        "borrows": _pairs(ledger._borrows, int),
        "postings": ledger._postings,
    }


def _unledger(raw: dict[str, msgspec.Raw], ids: dict[str, str]) -> Ledger:
    ledger = Ledger()
    units = ledger._units
    if "units" in raw:
        for asset, account, held in _decoded(raw["units"]):
            book = units.get(asset)
            if book is None:
                book = units[asset] = {}
            book[ids.get(account, account)] = held
    else:  # written before balances were kept per asset: [account, [[asset, units]...]]
        for account, balances in _decoded(raw["balances"]):
            for asset, held in balances:
                if held:
                    units.setdefault(asset, {})[ids.get(account, account)] = held
    ledger._deposits = _unpairs(_VALUE.decode(raw["deposits"]), int)
    ledger._borrows = _unpairs(_VALUE.decode(raw["borrows"]), int)
    ledger._postings = _VALUE.decode(raw["postings"])
    return ledger


def _position(position: Position) -> list[Any]:
    return [position.market, fixed.text(position.size_units, position.size_places),
            fixed.text(position.cost_units, position.cost_places),
            [[_dec(lot.size), _dec(lot.price)] for lot in position.lots],
            position.realized_pnl, position.isolated, _dec(position.leverage)]


def _unposition(raw: list[Any]) -> Position:
    market, size, cost, lots, realized, isolated, leverage = raw
    size_units, size_places = fixed.parse(size)
    cost_units, cost_places = fixed.parse(cost)
    return Position(sys.intern(market), size_units, size_places, cost_units, cost_places,
                    tuple(Lot(Decimal(s), Decimal(p)) for s, p in lots), realized, isolated, _undec(leverage))


def _setting(setting: MarginSetting) -> list[str | None]:
    return [setting.mode.value, _dec(setting.leverage)]


def _unsetting(raw: list[str | None]) -> MarginSetting:
    return MarginSetting(MarginMode(raw[0]), _undec(raw[1]))


def _account(account: Account) -> dict[str, Any]:
    return {"positions": _pairs(account.positions, _position), "settings": _pairs(account.settings, _setting)}


def _unaccount(account_id: str, raw: dict[str, Any]) -> Account:
    # market ids interned: a restored million accounts share one string per market
    positions = {sys.intern(market): _unposition(position) for market, position in raw["positions"]}
    return Account(account_id, positions, _unpairs(raw["settings"], _unsetting) or NO_SETTINGS)


# -- the whole -------------------------------------------------------------------------------------

def _document(engine: Engine) -> dict[str, Any]:
    state, monitor = engine.state, engine.monitor
    oracles = sorted(monitor.oracle_index, key=monitor.oracle_index.__getitem__)
    return {
        "format": FORMAT,
        "commands": state.commands,
        "clock": _dec(state.clock),
        "book": _book(state.book),
        "ledger": _ledger(state.ledger),
        "accounts": _encoded_list(state.accounts.items(), lambda pair: [pair[0], _account(pair[1])]),
        "holders": [[m, state.holders.of(m)] for m in state.holders.markets()],
        "oracle_markets": _pairs(state.oracle_markets, list),
        "oracle_assets": _pairs(state.oracle_assets, list),
        "applied_ids": sorted(state.applied_ids),
        "oracles": _pairs(state.oracles, lambda r: [_dec(r.published_at), _dec(r.pending), r.invalid]),
        "indices": _pairs(state.indices, lambda pair: [_dec(pair[0]), _dec(pair[1])]),
        "rate_anchors": _pairs(state.rate_anchors, lambda pair: [_dec(pair[0]), _dec(pair[1])]),
        "accrued_at": _dec(state.accrued_at),
        "monitor": {
            "oracles": oracles,
            "margin_called": sorted(list(unit) for unit in monitor.margin_called),
            "liquidatable": sorted(list(unit) for unit in monitor.liquidatable),
        },
    }


def snapshot(engine: Engine) -> bytes:
    """The engine's whole state as canonical JSON bytes (the same state, the same bytes). The
    cyclic garbage collector is paused meanwhile (`collector.collector_paused`)."""
    with collector_paused():
        check_known_fields(engine)
        return msgspec.json.encode(_document(engine))


def restore(data: bytes) -> Engine:
    """An engine in exactly the state `snapshot` wrote: every later command gives the same
    events, and the state document and hash are those of the engine that was saved. The
    cyclic garbage collector is paused meanwhile (`collector.collector_paused`)."""
    with collector_paused():
        return _decode_and_restore(data)


def _decode_and_restore(data: bytes) -> Engine:
    try:
        document = _OBJECT.decode(data)  # the top level only: its values stay raw JSON
    except msgspec.DecodeError as error:
        raise SnapshotError(f"not a snapshot: {error}") from None
    found = _VALUE.decode(document["format"]) if "format" in document else None  # (valid JSON: decoded above)
    if found != FORMAT:
        raise SnapshotError(f"not a {FORMAT} snapshot (format {found!r})")
    try:
        return _restore(document)
    except (KeyError, TypeError, ValueError, IndexError, ArithmeticError, msgspec.DecodeError) as error:
        raise SnapshotError(f"malformed snapshot: {type(error).__name__}: {error}") from None


def _restore(document: dict[str, msgspec.Raw]) -> Engine:
    """The engine from the snapshot's top level (`document`, raw JSON values): the long lists
    (accounts, balances, holders) are decoded an entry at a time as they are converted."""
    raw = {key: _VALUE.decode(value) for key, value in document.items()
           if key not in ("accounts", "ledger", "holders")}
    engine = Engine()
    state = engine.state
    state.commands = raw["commands"]
    state.clock = _undec(raw["clock"])
    state.book = _unbook(raw["book"])
    state.accounts = {a: _unaccount(a, account) for a, account in _decoded(document["accounts"])}
    for account in state.accounts.values():  # numbered in their order, as they were created
        state.holders.register(account)
    # the decoder gives every occurrence of an account id its own string: the ledger uses the
    # accounts' own, as an engine that built them by commands does
    ids = {account_id: account_id for account_id in state.accounts}
    state.ledger = _unledger(_OBJECT.decode(document["ledger"]), ids)
    del ids
    for market, holders in _decoded(document["holders"]):
        market = sys.intern(market)
        state.holders.track(market)  # (a market with no holder left keeps its place)
        for account_id in holders:
            state.holders.add(market, state.accounts[account_id])
    state.oracle_markets = _unpairs(raw["oracle_markets"], list)
    state.oracle_assets = _unpairs(raw["oracle_assets"], list)
    state.applied_ids = set(raw["applied_ids"])
    state.oracles = _unpairs(raw["oracles"], lambda r: OracleRecord(_undec(r[0]), _undec(r[1]), r[2]))
    state.indices = _unpairs(raw["indices"], lambda pair: (Decimal(pair[0]), Decimal(pair[1])))
    state.rate_anchors = _unpairs(raw["rate_anchors"], lambda pair: (Decimal(pair[0]), _undec(pair[1])))
    state.accrued_at = _undec(raw["accrued_at"])
    monitor = engine.monitor
    for oracle in raw["monitor"]["oracles"]:
        monitor.register_oracle(oracle)
        price = state.book.prices.get(oracle)
        if price is not None:
            monitor.screen.set_price(monitor.oracle_index[oracle], float(price))
    margin_called = {(a, m) for a, m in raw["monitor"]["margin_called"]}
    liquidatable = {(a, m) for a, m in raw["monitor"]["liquidatable"]}
    monitor.margin_called = set(margin_called)
    monitor.liquidatable = set(liquidatable)
    monitor.evaluate_all(state.commands, [])  # rebuilds the screen rows; its events are not new
    monitor.margin_called = margin_called
    monitor.liquidatable = liquidatable
    return engine
