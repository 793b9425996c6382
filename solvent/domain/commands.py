"""Typed commands (SPEC §2), built by `solvent.codec` from JSON after syntax checks.

Semantic checks (ids that must exist, decimals of an asset, margin) are the engine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .account import MarginMode
from .specs import AssetSpec, MarketSpec


@dataclass(frozen=True, slots=True)
class AssetCommand:
    spec: AssetSpec


@dataclass(frozen=True, slots=True)
class MarketCommand:
    spec: MarketSpec


@dataclass(frozen=True, slots=True)
class ParamsCommand:
    changes: tuple[tuple[str, object], ...]


@dataclass(frozen=True, slots=True)
class Deposit:
    account: str
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Withdraw:
    account: str
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TransferCommand:
    source: str
    target: str
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    market: str
    buyer: str
    seller: str
    size: Decimal
    price: Decimal
    buyer_fee: Decimal
    seller_fee: Decimal


@dataclass(frozen=True, slots=True)
class OrderCheck:
    account: str
    market: str
    size: Decimal  # signed
    price: Decimal


@dataclass(frozen=True, slots=True)
class SetMarginMode:
    account: str
    market: str
    mode: MarginMode
    leverage: Decimal | None


@dataclass(frozen=True, slots=True)
class IsolatedMargin:
    account: str
    market: str
    amount: Decimal  # signed: > 0 adds, < 0 removes


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    oracle: str
    price: Decimal
    confidence: Decimal | None


@dataclass(frozen=True, slots=True)
class Funding:
    market: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    asset: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Time:
    pass


@dataclass(frozen=True, slots=True)
class AccountQuery:
    account: str


Command = (
    AssetCommand | MarketCommand | ParamsCommand | Deposit | Withdraw | TransferCommand | Trade | OrderCheck
    | SetMarginMode | IsolatedMargin | PriceUpdate | Funding | ExchangeRate | Time | AccountQuery
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded command with its optional client id and timestamp (Unix seconds)."""

    op: str
    body: Command
    client_id: str | None
    ts: Decimal | None
