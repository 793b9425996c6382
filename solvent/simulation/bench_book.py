"""A seeded synthetic book for `solvent bench`: many accounts over many markets.

* one quote asset (USDC, 6 decimals) and ETH collateral (8 decimals, weight 0.8/0.85);
* `markets` perpetuals with Zipf popularity (weight of the r-th market ∝ 1/r), so the top
  market is held by about half the accounts; prices spread over 0.1 to 100,000;
* every trader deposits 1,000–50,000 USDC (a tenth also some ETH) and holds 1 to 8
  positions (4 on average), long or short, at 1×–10× total leverage; each market's
  positions were all opened at one price within ±5 % of its mark;
* the other side of every position is one of `makers` well-funded market makers, at the
  same entry price, so every market nets to zero in size and cost (as trades would).

Everything comes from `random.Random(seed)`: the same seed, the same book. The book is
two streams (balances, then holdings) that replay the same draws, so that it is never held
in memory beside the state it is loaded into.
"""

from __future__ import annotations

import bisect
import math
import random
from decimal import Decimal
from itertools import accumulate
from collections.abc import Iterator
from typing import Any

from ..engine.bulk import Holding

QUOTE = "USDC"
QUOTE_DECIMALS = 6
COLLATERAL = "ETH"
COLLATERAL_DECIMALS = 8
MAKER_PREFIX = "mm-"


def market_id(index: int) -> str:
    return f"M{index:03d}-PERP"


def oracle_id(index: int) -> str:
    return f"O{index:03d}"


class BenchBook:
    """The configuration commands, the balances and the holdings of one seeded book."""

    def __init__(self, accounts: int, markets: int, seed: int, makers: int = 16) -> None:
        self.accounts = accounts
        self.markets = markets
        self.seed = seed
        self.makers = makers
        rng = random.Random(seed)
        self.prices = [self._price(rng) for _ in range(markets)]
        self.steps = [self._step(price) for price in self.prices]
        #: every position of a market was opened at one price, within ±5 % of the mark
        self.entries = [(price * Decimal(str(round(rng.uniform(0.95, 1.05), 4)))).quantize(Decimal("0.0001"))
                        or Decimal("0.0001") for price in self.prices]
        weights = [1.0 / (rank + 1) for rank in range(markets)]
        self._cumulative = list(accumulate(weights))
        self._book_state = rng.getstate()  # the traders' draws start here (`_traders`)

    @staticmethod
    def _price(rng: random.Random) -> Decimal:
        return Decimal(str(round(10 ** rng.uniform(-1, 5), 4))).normalize() or Decimal("0.1")

    @staticmethod
    def _step(price: Decimal) -> Decimal:
        """A step worth about 0.1 to 1 USDC."""
        exponent = -1
        while Decimal(10) ** exponent * price > 1:
            exponent -= 1
        while Decimal(10) ** exponent * price < Decimal("0.1"):
            exponent += 1
        return Decimal(10) ** exponent

    def config_commands(self) -> list[dict[str, Any]]:
        commands: list[dict[str, Any]] = [
            {"op": "asset", "id": QUOTE, "decimals": QUOTE_DECIMALS, "oracle": None, "weight_init": "1", "weight_maint": "1"},
            {"op": "asset", "id": COLLATERAL, "decimals": COLLATERAL_DECIMALS, "oracle": "ETH-USD",
             "weight_init": "0.8", "weight_maint": "0.85"},
            {"op": "price", "oracle": "ETH-USD", "price": "3000"},
            {"op": "params", "liquidations": "paused"},
        ]
        for index, price in enumerate(self.prices):
            commands.append({
                "op": "market", "id": market_id(index), "oracle": oracle_id(index), "settle": QUOTE,
                "step_size": format(self.steps[index], "f"), "liquidation_fee": "0.01",
                "tiers": [{"max_notional": "50000", "mmr": "0.01", "max_leverage": "50"},
                          {"max_notional": "500000", "mmr": "0.025", "max_leverage": "20"},
                          {"mmr": "0.05", "max_leverage": "10"}],
            })
            commands.append({"op": "price", "oracle": oracle_id(index), "price": format(price, "f")})
        return commands

    def _pick_markets(self, rng: random.Random, count: int) -> list[int]:
        chosen: set[int] = set()
        total = self._cumulative[-1]
        while len(chosen) < count:
            chosen.add(bisect.bisect_left(self._cumulative, rng.random() * total))
        return sorted(chosen)

    def book(self) -> tuple[Iterator[tuple[str, str, int]], Iterator[Holding]]:
        """(balances, holdings) of the traders and the makers, as two streams: at a million
        accounts the book is generated while it is loaded instead of being held twice."""
        return self.balances(), self.holdings()

    def _traders(self) -> Iterator[tuple[str, int, int | None, list[tuple[int, Decimal]]]]:
        """Per trader: (account, USDC deposit, ETH quantums or None, [(market, size)]). Each
        call replays the same draws from the same generator state."""
        rng = random.Random()
        rng.setstate(self._book_state)
        for n in range(self.accounts):
            deposit = rng.randint(1_000, 50_000)
            collateral = rng.randint(1, 100) * 10 ** (COLLATERAL_DECIMALS - 1) if rng.random() < 0.1 else None
            count = min(self.markets, max(1, min(8, round(rng.expovariate(1 / 4)))))
            leverage = rng.uniform(1, 10)
            budget = deposit * leverage / count
            sizes = []
            for market in self._pick_markets(rng, count):
                step = self.steps[market]
                steps = max(1, int(budget / float(self.prices[market] * step)))
                sizes.append((market, (1 if rng.random() < 0.5 else -1) * steps * step))
            yield f"a{n:07d}", deposit, collateral, sizes

    def balances(self) -> Iterator[tuple[str, str, int]]:
        """(account, asset, quantums) of every trader, then of every maker."""
        quantum = 10 ** QUOTE_DECIMALS
        for account, deposit, collateral, _ in self._traders():
            yield account, QUOTE, deposit * quantum
            if collateral is not None:
                yield account, COLLATERAL, collateral
        for maker in range(self.makers):
            yield f"{MAKER_PREFIX}{maker}", QUOTE, 10**12 * quantum

    def holdings(self) -> Iterator[Holding]:
        """Every trader's positions, then the makers' (the other side of each)."""
        maker_positions: dict[tuple[int, int], tuple[Decimal, Decimal]] = {}
        markets = [market_id(market) for market in range(self.markets)]
        for n, (account, _, _, sizes) in enumerate(self._traders()):
            maker = n % self.makers
            for market, size in sizes:
                entry = self.entries[market]
                yield Holding.at(account, markets[market], size, entry)
                total, cost = maker_positions.get((maker, market), (Decimal(0), Decimal(0)))
                maker_positions[(maker, market)] = (total - size, cost - size * entry)
        sides: dict[int, list[tuple[int, Decimal, Decimal]]] = {}
        for (maker, market), (total, cost) in sorted(maker_positions.items()):
            sides.setdefault(market, []).append((maker, total, cost))
        for market, rows in sorted(sides.items()):
            # a maker flat in size but not in cost would hold realized PnL, not a position:
            # fold it into the market's first maker with a position
            flat_cost = sum((cost for _, total, cost in rows if not total), Decimal(0))
            held = [(maker, total, cost) for maker, total, cost in rows if total]
            if flat_cost and held:
                maker, total, cost = held[0]
                held[0] = (maker, total, cost + flat_cost)
            for maker, total, cost in held:
                yield Holding(f"{MAKER_PREFIX}{maker}", markets[market], total, cost)


def price_path(start: Decimal, ticks: int, rng: random.Random) -> Iterator[Decimal]:
    """The bench's ticks: `ticks` prices from `start`, down 20 % over the path in log terms,
    with noise (a standard deviation of 0.2 % a tick), at 4 decimals: accounts cross into
    breach and margin calls fire."""
    drift = math.log(0.8) / ticks
    price = start
    for _ in range(ticks):
        factor = math.exp(drift + rng.gauss(0.0, 0.002))
        price = (price * Decimal(str(round(factor, 8)))).quantize(Decimal("0.0001"))
        yield price


def trade_commands(book: BenchBook, marks: dict[str, Decimal], traders: list[str], makers: list[str],
                   rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    """The bench's trades: a market drawn by popularity (Pareto), a random trader against a
    random maker on a random side, 1 to 20 steps at the market's mark (`marks`: oracle ->
    price, read when each trade is drawn)."""
    for _ in range(count):
        index = min(int(rng.paretovariate(1.0)) - 1, book.markets - 1)
        mark = marks[oracle_id(index)]
        trader, maker = rng.choice(traders), rng.choice(makers)
        buyer, seller = (trader, maker) if rng.random() < 0.5 else (maker, trader)
        yield {"op": "trade", "market": market_id(index), "buyer": buyer, "seller": seller,
               "size": format(book.steps[index] * rng.randint(1, 20), "f"), "price": format(mark, "f")}
