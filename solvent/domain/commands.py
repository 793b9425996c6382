"""Typed commands (SPEC §2), built by `solvent.codec` from JSON after syntax checks.

Semantic checks (ids that must exist, decimals of an asset, margin) are the engine's.

Commands are named tuples: immutable, typed, compared by value. Every command builds one or
two, so their construction cost counts: a frozen dataclass sets each field through
`object.__setattr__` (and in the compiled build its generated `__init__` stays interpreted),
which made it four times the cost of a named tuple here (`docs/PERFORMANCE.md`). As tuples,
two commands of different types with equal fields compare equal: dispatch is by `type()`,
never by equality.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from .account import MarginMode
from .specs import AssetSpec, MarketSpec


class AssetCommand(NamedTuple):
    spec: AssetSpec


class MarketCommand(NamedTuple):
    spec: MarketSpec


class ParamsCommand(NamedTuple):
    changes: tuple[tuple[str, object], ...]


class Deposit(NamedTuple):
    account: str
    asset: str
    amount: Decimal


class Withdraw(NamedTuple):
    account: str
    asset: str
    amount: Decimal


class TransferCommand(NamedTuple):
    source: str
    target: str
    asset: str
    amount: Decimal


class Trade(NamedTuple):
    market: str
    buyer: str
    seller: str
    size: Decimal
    price: Decimal
    buyer_fee: Decimal
    seller_fee: Decimal


class OrderCheck(NamedTuple):
    account: str
    market: str
    size: Decimal  # signed
    price: Decimal


class SetMarginMode(NamedTuple):
    account: str
    market: str
    mode: MarginMode
    leverage: Decimal | None


class IsolatedMargin(NamedTuple):
    account: str
    market: str
    amount: Decimal  # signed: > 0 adds, < 0 removes


class PriceUpdate(NamedTuple):
    oracle: str
    price: Decimal
    confidence: Decimal | None


class Funding(NamedTuple):
    market: str
    rate: Decimal


class ExchangeRate(NamedTuple):
    asset: str
    rate: Decimal


class Time(NamedTuple):
    pass


class AccountQuery(NamedTuple):
    account: str


Command = (
    AssetCommand | MarketCommand | ParamsCommand | Deposit | Withdraw | TransferCommand | Trade | OrderCheck
    | SetMarginMode | IsolatedMargin | PriceUpdate | Funding | ExchangeRate | Time | AccountQuery
)


class Envelope(NamedTuple):
    """A decoded command with its optional client id and timestamp (Unix seconds)."""

    op: str
    body: Command
    client_id: str | None
    ts: Decimal | None
