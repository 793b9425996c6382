"""What the margin model reads besides an account: specs, oracle prices, exchange rates."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .numbers import ARITHMETIC, ONE
from .specs import AssetSpec, MarketSpec, Params


@dataclass(slots=True)
class Book:
    assets: dict[str, AssetSpec] = field(default_factory=dict)
    markets: dict[str, MarketSpec] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)  # oracle -> last accepted price
    exchange_rates: dict[str, Decimal] = field(default_factory=dict)  # yield asset -> rate
    params: Params = field(default_factory=Params)

    def asset_price(self, asset: str) -> Decimal | None:
        """Price of one unit of `asset` in the quote currency: 1 for a quote asset,
        oracle price × exchange rate for a yield-bearing one; None while unpriced."""
        spec = self.assets[asset]
        if spec.oracle is None:
            return ONE
        price = self.prices.get(spec.oracle)
        if price is None:
            return None
        rate = self.exchange_rates.get(asset)
        return ARITHMETIC.multiply(price, rate) if rate is not None else price

    def mark(self, market: str) -> Decimal | None:
        return self.prices.get(self.markets[market].oracle)
