"""Typed commands (SPEC §2), built by `solvent.codec` from JSON after syntax checks.

Semantic checks (ids that must exist, decimals of an asset, margin) are the engine's.

Commands are `Value`s (`solvent.domain.values`): immutable, typed, compared by type and
value. Every command builds one or two, so their construction cost counts: a frozen
dataclass sets each field through `object.__setattr__` (and in the compiled build its
generated `__init__` stays interpreted), which made it four times the cost of a named
tuple here (`docs/PERFORMANCE.md`), and a named tuple ten times that of a `Value` compiled.
Dispatch is by `type()`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from .account import MarginMode
from .specs import AssetSpec, MarketSpec
from .values import Value


class AssetCommand(Value):
    __slots__ = ("spec",)
    _fields = ("spec",)

    def __init__(self, spec: AssetSpec) -> None:
        self.spec: Final = spec


class MarketCommand(Value):
    __slots__ = ("spec",)
    _fields = ("spec",)

    def __init__(self, spec: MarketSpec) -> None:
        self.spec: Final = spec


class ParamsCommand(Value):
    __slots__ = ("changes",)
    _fields = ("changes",)

    def __init__(self, changes: tuple[tuple[str, object], ...]) -> None:
        self.changes: Final = changes


class Deposit(Value):
    __slots__ = ("account", "asset", "amount")
    _fields = ("account", "asset", "amount")

    def __init__(self, account: str, asset: str, amount: Decimal) -> None:
        self.account: Final = account
        self.asset: Final = asset
        self.amount: Final = amount


class Withdraw(Value):
    __slots__ = ("account", "asset", "amount")
    _fields = ("account", "asset", "amount")

    def __init__(self, account: str, asset: str, amount: Decimal) -> None:
        self.account: Final = account
        self.asset: Final = asset
        self.amount: Final = amount


class TransferCommand(Value):
    __slots__ = ("source", "target", "asset", "amount")
    _fields = ("source", "target", "asset", "amount")

    def __init__(self, source: str, target: str, asset: str, amount: Decimal) -> None:
        self.source: Final = source
        self.target: Final = target
        self.asset: Final = asset
        self.amount: Final = amount


class Trade(Value):
    __slots__ = ("market", "buyer", "seller", "size", "price", "buyer_fee", "seller_fee")
    _fields = ("market", "buyer", "seller", "size", "price", "buyer_fee", "seller_fee")

    def __init__(
        self,
        market: str,
        buyer: str,
        seller: str,
        size: Decimal,
        price: Decimal,
        buyer_fee: Decimal,
        seller_fee: Decimal,
    ) -> None:
        self.market: Final = market
        self.buyer: Final = buyer
        self.seller: Final = seller
        self.size: Final = size
        self.price: Final = price
        self.buyer_fee: Final = buyer_fee
        self.seller_fee: Final = seller_fee


class OrderCheck(Value):
    __slots__ = ("account", "market", "size", "price")
    _fields = ("account", "market", "size", "price")

    def __init__(self, account: str, market: str, size: Decimal, price: Decimal) -> None:
        self.account: Final = account
        self.market: Final = market
        self.size: Final = size  # signed
        self.price: Final = price


class SetMarginMode(Value):
    __slots__ = ("account", "market", "mode", "leverage")
    _fields = ("account", "market", "mode", "leverage")

    def __init__(self, account: str, market: str, mode: MarginMode, leverage: Decimal | None) -> None:
        self.account: Final = account
        self.market: Final = market
        self.mode: Final = mode
        self.leverage: Final = leverage


class IsolatedMargin(Value):
    __slots__ = ("account", "market", "amount")
    _fields = ("account", "market", "amount")

    def __init__(self, account: str, market: str, amount: Decimal) -> None:
        self.account: Final = account
        self.market: Final = market
        self.amount: Final = amount  # signed: > 0 adds, < 0 removes


class PriceUpdate(Value):
    __slots__ = ("oracle", "price", "confidence")
    _fields = ("oracle", "price", "confidence")

    def __init__(self, oracle: str, price: Decimal, confidence: Decimal | None) -> None:
        self.oracle: Final = oracle
        self.price: Final = price
        self.confidence: Final = confidence


class Funding(Value):
    __slots__ = ("market", "rate")
    _fields = ("market", "rate")

    def __init__(self, market: str, rate: Decimal) -> None:
        self.market: Final = market
        self.rate: Final = rate


class ExchangeRate(Value):
    __slots__ = ("asset", "rate")
    _fields = ("asset", "rate")

    def __init__(self, asset: str, rate: Decimal) -> None:
        self.asset: Final = asset
        self.rate: Final = rate


class Time(Value):
    __slots__ = ()
    _fields = ()


class AccountQuery(Value):
    __slots__ = ("account",)
    _fields = ("account",)

    def __init__(self, account: str) -> None:
        self.account: Final = account


Command = (
    AssetCommand | MarketCommand | ParamsCommand | Deposit | Withdraw | TransferCommand | Trade | OrderCheck
    | SetMarginMode | IsolatedMargin | PriceUpdate | Funding | ExchangeRate | Time | AccountQuery
)


class Envelope(Value):
    """A decoded command with its optional client id and timestamp (Unix seconds)."""

    __slots__ = ("op", "body", "client_id", "ts")
    _fields = ("op", "body", "client_id", "ts")

    def __init__(self, op: str, body: Command, client_id: str | None, ts: Decimal | None) -> None:
        self.op: Final = op
        self.body: Final = body
        self.client_id: Final = client_id
        self.ts: Final = ts
