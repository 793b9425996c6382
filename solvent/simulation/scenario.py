"""Seeded, deterministic command streams for benchmarks, demos and tests.

Everything here is driven by one `random.Random(seed)`: no global random state, no clock.
The same `ScenarioConfig` always yields the same commands, byte for byte; commands are plain
dicts in the JSON shape of SPEC §2 with every number a decimal string.

* `setup_commands(config)`: the configuration (USDC quote asset with 6 decimals, optional ETH
  collateral with a haircut, perpetual markets with Binance-like margin tiers), the initial
  oracle prices and one or two deposits per account.
* `generate(config)`: exactly `config.commands` further commands: trades between two distinct
  accounts (~70 %), oracle price ticks (~25 %) and the rest deposits, withdrawals, funding
  settlements, margin-mode changes and isolated-margin top-ups.
* `crash_path(...)`: a price path that drifts, crashes and partially recovers (the demo).

The generator keeps a float *shadow* of every account (cash, collateral, positions) so that it
can size trades that the engine will mostly accept: each account has a target leverage
(notional / collateral, `config.leverage`), and a trade is cut to what both sides have room
for. The shadow is approximate (rounding, fees, funding and the odd rejected command make it
drift a little), so a small share of commands is refused by the engine; that is intended, a
real stream has refusals too.

All amounts are built from integers (price ticks, size steps, asset quantums), so the decimal
strings are exact and never carry more places than the asset or the market allows.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..domain.numbers import format_units

__all__ = [
    "PRESETS",
    "MarketDef",
    "Scenario",
    "ScenarioConfig",
    "crash_path",
    "fmt_units",
    "generate",
    "market_defs",
    "scenario_commands",
    "setup_commands",
    "write_jsonl",
]

QUOTE = "USDC"
QUOTE_DECIMALS = 6
ETH_ASSET = "ETH"
ETH_DECIMALS = 8


# -- markets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MarketDef:
    """A perpetual market of the scenario.

    `price_decimals` is the tick (0.1 for BTC: one decimal); `step_decimals` the size step
    (0.001 BTC: three decimals). `tiers` are (max_notional or None, mmr, max_leverage) as
    decimal strings, ascending; the last has no max_notional.
    """

    id: str
    oracle: str
    price: str  # initial price, a decimal string on the tick
    price_decimals: int
    step_decimals: int
    tiers: tuple[tuple[str | None, str, str], ...]
    liquidation_fee: str
    volatility: float  # standard deviation of one tick's log return
    crash_beta: float = 1.0  # how hard the demo's crash hits it, relative to BTC

    @property
    def step_size(self) -> str:
        return fmt_units(1, self.step_decimals)

    @property
    def price_ticks(self) -> int:
        """The initial price in ticks."""
        return to_units(self.price, self.price_decimals)

    def command(self) -> dict[str, Any]:
        tiers = []
        for max_notional, mmr, max_leverage in self.tiers:
            tier: dict[str, Any] = {}
            if max_notional is not None:
                tier["max_notional"] = max_notional
            tier["mmr"] = mmr
            tier["max_leverage"] = max_leverage
            tiers.append(tier)
        return {
            "op": "market",
            "id": self.id,
            "oracle": self.oracle,
            "settle": QUOTE,
            "tiers": tiers,
            "step_size": self.step_size,
            "liquidation_fee": self.liquidation_fee,
        }

    def max_leverage_at(self, notional: float) -> float:
        """The tier cap on leverage at `notional` (floats: for sizing only)."""
        for max_notional, _mmr, max_leverage in self.tiers:
            if max_notional is None or notional <= float(max_notional):
                return float(max_leverage)
        return float(self.tiers[-1][2])  # pragma: no cover - the last tier is unbounded


#: Binance-like tiers (USDⓈ-M perpetuals, simplified). Validation rules of the engine:
#: mmr <= 1/max_leverage, mmr non-decreasing, max_leverage non-increasing, the last tier
#: unbounded.
PRESETS: tuple[MarketDef, ...] = (
    MarketDef(
        id="BTC-PERP", oracle="BTC-USD", price="60000.0", price_decimals=1, step_decimals=3,
        tiers=(("50000", "0.004", "125"), ("250000", "0.005", "100"), ("1000000", "0.01", "50"),
               ("7500000", "0.025", "20"), (None, "0.05", "10")),
        liquidation_fee="0.0125", volatility=0.0015, crash_beta=1.0,
    ),
    MarketDef(
        id="ETH-PERP", oracle="ETH-USD", price="3000.00", price_decimals=2, step_decimals=3,
        tiers=(("50000", "0.005", "100"), ("250000", "0.0065", "75"), ("1000000", "0.01", "50"),
               ("5000000", "0.02", "25"), (None, "0.05", "10")),
        liquidation_fee="0.0125", volatility=0.002, crash_beta=1.15,
    ),
    MarketDef(
        id="SOL-PERP", oracle="SOL-USD", price="150.000", price_decimals=3, step_decimals=1,
        tiers=(("10000", "0.01", "50"), ("50000", "0.015", "25"), ("250000", "0.025", "20"),
               ("1000000", "0.05", "10"), (None, "0.1", "5")),
        liquidation_fee="0.015", volatility=0.003, crash_beta=1.35,
    ),
)


def market_defs(count: int) -> list[MarketDef]:
    """The first `count` markets: BTC, ETH, SOL, then synthetic ALT markets."""
    if count < 1:
        raise ValueError("a scenario needs at least one market")
    defs = list(PRESETS[:count])
    for index in range(len(defs), count):
        number = index - len(PRESETS) + 1
        price = f"{5 + 7 * number}.0000"
        defs.append(MarketDef(
            id=f"ALT{number}-PERP", oracle=f"ALT{number}-USD", price=price, price_decimals=4, step_decimals=0,
            tiers=(("5000", "0.02", "25"), ("25000", "0.025", "20"), ("100000", "0.05", "10"),
                   ("500000", "0.1", "5"), (None, "0.125", "4")),
            liquidation_fee="0.015", volatility=0.004, crash_beta=1.5,
        ))
    return defs


# -- configuration -------------------------------------------------------------------------------

@dataclass
class ScenarioConfig:
    """What to generate. `commands` is the exact length of `generate`'s stream (setup excluded).

    Op shares: `trade_share` and `price_share` of the stream; the rest is divided among the
    other ops in proportion to their `*_weight`s (by default funding is rare, ~0.1 % of the
    stream: one settlement touches every holder of a market, as every 8 hours on a venue)."""

    accounts: int = 100
    markets: int = 3
    commands: int = 1000
    seed: int = 0
    trade_share: float = 0.70
    price_share: float = 0.25
    deposit_weight: float = 3.0
    withdraw_weight: float = 2.0
    funding_weight: float = 0.2
    margin_mode_weight: float = 2.0
    isolated_margin_weight: float = 1.0
    #: add ETH as collateral (with a haircut) and give `eth_share` of the accounts some
    eth_collateral: bool = True
    eth_share: float = 0.25
    #: each account's target notional / collateral is drawn uniformly from this range
    leverage: tuple[float, float] = (1.0, 5.0)
    #: initial USDC deposit: log-normal around `deposit_median`, clipped to `deposit_range`
    deposit_median: float = 10_000.0
    deposit_range: tuple[float, float] = (500.0, 1_000_000.0)
    #: trade fees in basis points of notional (each side is maker or taker at random)
    maker_fee_bps: int = 2
    taker_fee_bps: int = 5
    #: largest |funding rate| of one settlement
    funding_rate: float = 0.0001
    #: if set, every command (setup included) carries `ts` = start_ts + its index × ts_step
    start_ts: int | None = None
    ts_step: int = 1
    account_prefix: str = "acct-"

    def __post_init__(self) -> None:
        if self.accounts < 2:
            raise ValueError("a scenario needs at least two accounts (trades have two sides)")
        if self.commands < 0:
            raise ValueError("commands must be >= 0")
        if not (0 <= self.trade_share and 0 <= self.price_share and self.trade_share + self.price_share <= 1):
            raise ValueError("trade_share and price_share must be >= 0 and sum to at most 1")
        low, high = self.leverage
        if not 0 < low <= high:
            raise ValueError("leverage must be a range (low, high) with 0 < low <= high")

    def account_id(self, index: int) -> str:
        return f"{self.account_prefix}{index:05d}"


# -- numbers -------------------------------------------------------------------------------------

#: An integer count of 10**-decimals quantums as plain decimal text: (-1500, 3) -> "-1.500".
fmt_units = format_units


def to_units(text: str, decimals: int) -> int:
    """Decimal text with at most `decimals` places as an integer count of quantums."""
    whole, _, fraction = text.partition(".")
    if len(fraction) > decimals:
        raise ValueError(f"{text!r} has more than {decimals} decimal places")
    sign = -1 if whole.startswith("-") else 1
    return sign * int(whole.lstrip("+-") or "0") * 10 ** decimals + sign * int((fraction.ljust(decimals, "0")) or "0")


def _quote_units(steps: int, step_decimals: int, ticks: int, price_decimals: int) -> int:
    """steps × ticks as quote quantums (micro-USDC), rounded down."""
    shift = QUOTE_DECIMALS - step_decimals - price_decimals
    product = steps * ticks
    return product * 10 ** shift if shift >= 0 else product // 10 ** -shift


# -- the generator -------------------------------------------------------------------------------

@dataclass
class _Account:
    id: str
    cash: float  # USDC balance in the cross wallet, including realized PnL (approx.)
    eth: float = 0.0  # ETH held (units)
    leverage: float = 3.0  # target gross notional / collateral
    size: list[int] = field(default_factory=list)  # per market, signed steps
    cost: list[float] = field(default_factory=list)  # per market, Σ size × price of the open part
    isolated: list[float] = field(default_factory=list)  # per market: chosen leverage, 0 = cross
    wallet: list[float] = field(default_factory=list)  # per market: isolated margin (approx.)


class Scenario:
    """One seeded scenario: its markets, its accounts' shadow state, and its rng.

    `setup_commands()` must be taken first (it draws the deposits); `commands(n)` then yields
    the main stream. `setup_commands(config)` and `generate(config)` wrap this class."""

    ETH_WEIGHT_INIT = "0.8"
    ETH_WEIGHT_MAINT = "0.85"

    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.markets = market_defs(config.markets)
        self.oracles: list[str] = [m.oracle for m in self.markets]
        #: current price of each market's oracle, in ticks of that market
        self.ticks: list[int] = [m.price_ticks for m in self.markets]
        self._prices: list[float] = [float(m.price) for m in self.markets]
        self._steps: list[float] = [10.0 ** -m.step_decimals for m in self.markets]
        self.anchor: list[float] = [float(m.price) for m in self.markets]
        self.accounts: list[_Account] = []
        self.eth_market: int | None = next((i for i, m in enumerate(self.markets) if m.oracle == "ETH-USD"), None)
        self.emitted = 0
        self._setup_done = False
        shares = [
            ("trade", config.trade_share),
            ("price", config.price_share),
        ]
        rest = max(0.0, 1.0 - config.trade_share - config.price_share)
        weights = [
            ("deposit", config.deposit_weight),
            ("withdraw", config.withdraw_weight),
            ("funding", config.funding_weight),
            ("margin_mode", config.margin_mode_weight),
            ("isolated_margin", config.isolated_margin_weight),
        ]
        total = sum(w for _, w in weights)
        if rest > 0 and total > 0:
            shares += [(op, rest * w / total) for op, w in weights]
        elif rest > 0:
            shares[1] = ("price", config.price_share + rest)
        cumulative = 0.0
        self._table: list[tuple[float, str]] = []
        for op, share in shares:
            cumulative += share
            self._table.append((cumulative, op))

    # -- prices --------------------------------------------------------------------------
    def price(self, market: int) -> float:
        return self._prices[market]

    def _set_ticks(self, market: int, ticks: int) -> None:
        self.ticks[market] = ticks
        self._prices[market] = ticks / 10 ** self.markets[market].price_decimals

    def price_text(self, market: int) -> str:
        return fmt_units(self.ticks[market], self.markets[market].price_decimals)

    def eth_price(self) -> float:
        if self.eth_market is None:
            return 0.0
        return self.price(self.eth_market)

    # -- shadow figures ------------------------------------------------------------------
    def equity(self, account: _Account, weighted: bool = False) -> float:
        """Cross equity (weighted: with the ETH haircut) plus PnL of cross positions."""
        eth_weight = float(self.ETH_WEIGHT_INIT) if weighted else 1.0
        total = account.cash + account.eth * self.eth_price() * eth_weight
        for market, size in enumerate(account.size):
            if size and not account.isolated[market]:
                total += size * self._step(market) * self.price(market) - account.cost[market]
        return total

    def collateral(self, account: _Account) -> float:
        """What the account's notional is measured against: equity plus isolated margin."""
        return self.equity(account) + sum(account.wallet)

    def gross_notional(self, account: _Account) -> float:
        return sum(abs(size) * self._step(m) * self.price(m) for m, size in enumerate(account.size))

    def free_collateral(self, account: _Account) -> float:
        free = self.equity(account, weighted=True)
        for market, size in enumerate(account.size):
            if size and not account.isolated[market]:
                notional = abs(size) * self._step(market) * self.price(market)
                free -= notional / self.markets[market].max_leverage_at(notional)
        return free

    def _step(self, market: int) -> float:
        return self._steps[market]

    # -- setup ---------------------------------------------------------------------------
    def setup_commands(self) -> list[dict[str, Any]]:
        if self._setup_done:
            raise RuntimeError("setup_commands() was already taken from this scenario")
        self._setup_done = True
        config = self.config
        rng = self.rng
        commands: list[dict[str, Any]] = [
            {"op": "asset", "id": QUOTE, "decimals": QUOTE_DECIMALS, "oracle": None,
             "weight_init": "1", "weight_maint": "1"},
        ]
        eth = config.eth_collateral and self.eth_market is not None
        if eth:
            commands.append({"op": "asset", "id": ETH_ASSET, "decimals": ETH_DECIMALS, "oracle": "ETH-USD",
                             "weight_init": self.ETH_WEIGHT_INIT, "weight_maint": self.ETH_WEIGHT_MAINT})
        commands.extend(m.command() for m in self.markets)
        commands.extend({"op": "price", "oracle": m.oracle, "price": m.price} for m in self.markets)
        low, high = config.deposit_range
        lev_low, lev_high = config.leverage
        count = len(self.markets)
        for index in range(config.accounts):
            amount = math.exp(rng.gauss(math.log(config.deposit_median), 1.0))
            cents = int(min(max(amount, low), high) * 100)
            account = _Account(
                id=config.account_id(index),
                cash=cents / 100,
                leverage=rng.uniform(lev_low, lev_high),
                size=[0] * count, cost=[0.0] * count, isolated=[0.0] * count, wallet=[0.0] * count,
            )
            commands.append({"op": "deposit", "account": account.id, "asset": QUOTE, "amount": fmt_units(cents, 2)})
            if eth and rng.random() < config.eth_share:
                # 0.05 .. ~50 ETH, in 1e-4 ETH
                units = max(500, int(math.exp(rng.gauss(math.log(2.0), 1.0)) * 10_000))
                account.eth = units / 10_000
                commands.append({"op": "deposit", "account": account.id, "asset": ETH_ASSET,
                                 "amount": fmt_units(units, 4)})
            self.accounts.append(account)
        return [self._stamp(c) for c in commands]

    def _stamp(self, command: dict[str, Any]) -> dict[str, Any]:
        if self.config.start_ts is not None:
            command["ts"] = str(self.config.start_ts + self.emitted * self.config.ts_step)
        self.emitted += 1
        return command

    # -- the stream ----------------------------------------------------------------------
    def commands(self, count: int | None = None) -> Iterator[dict[str, Any]]:
        """Exactly `count` (default: config.commands) commands of the main stream."""
        if not self._setup_done:
            self.setup_commands()
        count = self.config.commands if count is None else count
        rng = self.rng
        table = self._table
        makers = {
            "trade": self.trade,
            "price": self.price_tick,
            "deposit": self.deposit,
            "withdraw": self.withdraw,
            "funding": self.funding,
            "margin_mode": self.margin_mode,
            "isolated_margin": self.isolated_margin,
        }
        for _ in range(count):
            draw = rng.random()
            op = table[-1][1]
            for bound, name in table:
                if draw < bound:
                    op = name
                    break
            yield self._stamp(makers[op]())

    def _pair(self) -> tuple[_Account, _Account]:
        rng = self.rng
        n = len(self.accounts)
        a = rng.randrange(n)
        b = rng.randrange(n - 1)
        if b >= a:
            b += 1
        return self.accounts[a], self.accounts[b]

    def _room(self, account: _Account, market: int, direction: int) -> int:
        """How many steps `account` may trade in `direction` (+1 buy, -1 sell) in `market`
        and stay inside its target leverage and (with a 10 % cushion) its initial margin."""
        price = self.price(market)
        step_value = self._step(market) * price
        size = account.size[market]
        collateral = self.collateral(account)
        if collateral <= 0:
            headroom = 0.0
        else:
            headroom = account.leverage * collateral - self.gross_notional(account)
            iso = account.isolated[market]
            if iso:
                headroom = min(headroom, (account.cash - 0.1 * collateral) * iso)
            else:
                notional = abs(size) * step_value + max(headroom, 0.0)
                lev = self.markets[market].max_leverage_at(notional)
                headroom = min(headroom, (self.free_collateral(account) - 0.1 * collateral) * lev)
        extra = max(0, int(headroom / step_value)) if step_value > 0 else 0
        if size * direction < 0:  # reducing: up to the position, then a flipped one
            return 2 * abs(size) + extra if extra else abs(size)
        return extra

    def _fill(self, account: _Account, market: int, delta: int, price: float, fee: float) -> None:
        """Apply a fill to the shadow (average cost)."""
        account.cash -= fee
        step = self._step(market)
        size = account.size[market]
        iso = account.isolated[market]
        if size == 0 or (size > 0) == (delta > 0):
            account.size[market] = size + delta
            account.cost[market] += delta * step * price
            if iso:
                margin = abs(delta) * step * price / iso
                account.cash -= margin
                account.wallet[market] += margin
            return
        closed = min(abs(delta), abs(size))
        fraction = closed / abs(size)
        realized = fraction * (size * step * price - account.cost[market])
        account.cost[market] *= 1 - fraction
        if iso:
            released = account.wallet[market] * fraction + realized
            account.wallet[market] *= 1 - fraction
            account.cash += released
        else:
            account.cash += realized
        account.size[market] = size + delta
        rest = abs(delta) - closed
        if rest:
            sign = 1 if delta > 0 else -1
            account.cost[market] = sign * rest * step * price
            if iso:
                margin = rest * step * price / iso
                account.cash -= margin
                account.wallet[market] += margin

    def _fee(self, steps: int, market: int, price_ticks: int) -> int:
        m = self.markets[market]
        bps = self.config.taker_fee_bps if self.rng.random() < 0.5 else self.config.maker_fee_bps
        return _quote_units(steps, m.step_decimals, price_ticks, m.price_decimals) * bps // 10_000

    def trade(self) -> dict[str, Any]:
        rng = self.rng
        market = rng.randrange(len(self.markets))
        m = self.markets[market]
        buyer, seller = self._pair()
        limit = 0
        for attempt in range(6):
            limit = min(self._room(buyer, market, 1), self._room(seller, market, -1))
            if limit > 0:
                break
            if attempt % 2 == 0:
                buyer, seller = seller, buyer
            else:
                buyer, seller = self._pair()
        if limit > 0:
            steps = max(1, int(limit * rng.uniform(0.05, 0.6)))
        else:
            steps = 1  # nobody has room: a minimal fill (the engine may refuse it)
        # a fill near the mark: within ±2 bps, on the tick
        ticks = self.ticks[market]
        ticks = max(1, ticks + int(round(ticks * rng.uniform(-0.0002, 0.0002))))
        buyer_fee = self._fee(steps, market, ticks)
        seller_fee = self._fee(steps, market, ticks)
        price = ticks / 10 ** m.price_decimals
        self._fill(buyer, market, steps, price, buyer_fee / 1e6)
        self._fill(seller, market, -steps, price, seller_fee / 1e6)
        return {
            "op": "trade",
            "market": m.id,
            "buyer": buyer.id,
            "seller": seller.id,
            "size": fmt_units(steps, m.step_decimals),
            "price": fmt_units(ticks, m.price_decimals),
            "buyer_fee": fmt_units(buyer_fee, QUOTE_DECIMALS),
            "seller_fee": fmt_units(seller_fee, QUOTE_DECIMALS),
        }

    def price_tick(self) -> dict[str, Any]:
        """A small random move of one oracle: a Gaussian log return, pulled back gently
        toward the initial price so long streams stay in a realistic range."""
        rng = self.rng
        market = rng.randrange(len(self.markets))
        m = self.markets[market]
        current = self.price(market)
        drift = -0.002 * math.log(current / self.anchor[market])
        moved = current * math.exp(rng.gauss(drift, m.volatility))
        self._set_ticks(market, max(1, int(round(moved * 10 ** m.price_decimals))))
        return {"op": "price", "oracle": m.oracle, "price": self.price_text(market)}

    def deposit(self) -> dict[str, Any]:
        rng = self.rng
        account = self.accounts[rng.randrange(len(self.accounts))]
        if account.eth and rng.random() < 0.3:
            units = rng.randint(100, 20_000)  # 0.01 .. 2 ETH in 1e-4
            account.eth += units / 10_000
            return {"op": "deposit", "account": account.id, "asset": ETH_ASSET, "amount": fmt_units(units, 4)}
        cents = rng.randint(100_00, 5_000_00)
        account.cash += cents / 100
        return {"op": "deposit", "account": account.id, "asset": QUOTE, "amount": fmt_units(cents, 2)}

    def withdraw(self) -> dict[str, Any]:
        """Up to a fifth of what the account could take out; a deposit when nobody can."""
        rng = self.rng
        for _ in range(8):
            account = self.accounts[rng.randrange(len(self.accounts))]
            room = min(account.cash, self.free_collateral(account) - 0.2 * max(self.collateral(account), 0.0))
            if room >= 1.0:
                cents = max(1, int(room * rng.uniform(0.02, 0.2) * 100))
                account.cash -= cents / 100
                return {"op": "withdraw", "account": account.id, "asset": QUOTE, "amount": fmt_units(cents, 2)}
        return self.deposit()

    def funding(self) -> dict[str, Any]:
        rng = self.rng
        market = rng.randrange(len(self.markets))
        bound = int(self.config.funding_rate * 1_000_000)
        micro = rng.randint(-bound, bound)
        price = self.price(market)
        step = self._step(market)
        rate = micro / 1_000_000
        for account in self.accounts:
            size = account.size[market]
            if size:
                payment = size * step * price * rate
                if account.isolated[market]:
                    account.wallet[market] -= payment
                else:
                    account.cash -= payment
        return {"op": "funding", "market": self.markets[market].id, "rate": fmt_units(micro, 6)}

    def margin_mode(self) -> dict[str, Any]:
        """Switch a flat market of some account to isolated (2-20x) or back to cross."""
        rng = self.rng
        for _ in range(8):
            account = self.accounts[rng.randrange(len(self.accounts))]
            market = rng.randrange(len(self.markets))
            if account.size[market] == 0:
                break
        else:
            return self.deposit()  # every account tried holds a position there
        m = self.markets[market]
        if account.isolated[market] or rng.random() < 0.2:
            account.isolated[market] = 0.0
            cash_back = account.wallet[market]
            account.wallet[market] = 0.0
            account.cash += cash_back
            return {"op": "margin_mode", "account": account.id, "market": m.id, "mode": "cross"}
        leverage = rng.choice((2, 3, 5, 10, 20))
        account.isolated[market] = float(leverage)
        return {"op": "margin_mode", "account": account.id, "market": m.id, "mode": "isolated",
                "leverage": str(leverage)}

    def isolated_margin(self) -> dict[str, Any]:
        """Top up an isolated position (a deposit when no isolated position is found)."""
        rng = self.rng
        count = len(self.markets)
        for _ in range(16):
            account = self.accounts[rng.randrange(len(self.accounts))]
            market = rng.randrange(count)
            if account.isolated[market] and account.size[market] and account.cash > 10:
                cents = max(1, int(min(account.cash * 0.1, 1000.0) * 100))
                account.cash -= cents / 100
                account.wallet[market] += cents / 100
                return {"op": "isolated_margin", "account": account.id, "market": self.markets[market].id,
                        "amount": fmt_units(cents, 2)}
        return self.deposit()


# -- public helpers ------------------------------------------------------------------------------

def setup_commands(config: ScenarioConfig) -> list[dict[str, Any]]:
    """Assets, markets, initial prices and the accounts' deposits of `config`'s scenario."""
    return Scenario(config).setup_commands()


def generate(config: ScenarioConfig) -> Iterator[dict[str, Any]]:
    """The main stream of `config`'s scenario: exactly `config.commands` commands, to be
    applied after `setup_commands(config)`."""
    scenario = Scenario(config)
    scenario.setup_commands()
    return scenario.commands()


def scenario_commands(config: ScenarioConfig) -> Iterator[dict[str, Any]]:
    """Setup followed by the main stream, from one `Scenario`."""
    scenario = Scenario(config)
    yield from scenario.setup_commands()
    yield from scenario.commands()


def write_jsonl(path: str | Path, commands: Iterable[dict[str, Any]]) -> int:
    """Write commands as JSON lines (compact, keys in insertion order); returns the count."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for command in commands:
            out.write(json.dumps(command, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count


def crash_path(
    markets: Sequence[MarketDef] | None = None,
    ticks: int = 90,
    seed: int = 0,
    *,
    start: Sequence[str] | None = None,
    rise: float = 0.04,
    crash: float = 0.35,
    recovery: float = 0.4,
    noise: float = 0.003,
) -> list[dict[str, str]]:
    """A seeded price path for every market's oracle: one dict {oracle: price} per tick.

    Three phases: a drift up by `rise` (first ~35 % of the ticks), a crash from the peak
    by `crash` × each market's `crash_beta` (capped at 90 %; front-loaded, ~30 % of the
    ticks), then a partial recovery of `recovery` of the loss. Each tick adds Gaussian noise
    (`noise` × the market's volatility relative to BTC). Prices are on each market's tick.
    """
    if ticks < 3:
        raise ValueError("a crash path needs at least 3 ticks")
    markets = list(markets) if markets is not None else list(PRESETS)
    rng = random.Random(seed)
    starts = [float(s) for s in start] if start is not None else [float(m.price) for m in markets]
    up = max(1, int(ticks * 0.35))
    down = max(1, int(ticks * 0.30))
    back = max(1, ticks - up - down)
    base_vol = PRESETS[0].volatility
    path: list[dict[str, str]] = []
    levels = [1.0] * len(markets)
    for tick in range(ticks):
        if tick < up:
            phase, t = "up", (tick + 1) / up
        elif tick < up + down:
            phase, t = "down", (tick - up + 1) / down
        else:
            phase, t = "back", min(1.0, (tick - up - down + 1) / back)
        point: dict[str, str] = {}
        for index, m in enumerate(markets):
            depth = min(0.9, crash * m.crash_beta)
            peak = 1.0 + rise
            trough = peak * (1.0 - depth)
            if phase == "up":
                target = 1.0 + rise * t
            elif phase == "down":
                target = peak - (peak - trough) * (1.0 - (1.0 - t) ** 2)  # front-loaded
            else:
                target = trough + (peak - trough) * recovery * math.sqrt(t)
            wobble = rng.gauss(0.0, noise * m.volatility / base_vol)
            levels[index] = max(0.01, target * math.exp(wobble))
            price_ticks = max(1, int(round(starts[index] * levels[index] * 10 ** m.price_decimals)))
            point[m.oracle] = fmt_units(price_ticks, m.price_decimals)
        path.append(point)
    return path
