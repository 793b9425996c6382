"""`solvent demo`: a seeded book of a few thousand accounts through a price crash.

1. Setup (solvent.simulation.scenario): USDC and ETH collateral, BTC/ETH/SOL perpetuals with
   Binance-like tiers, a deposit for every account.
2. The book: every account wants positions of its own leverage (most 0.5-4x, a few up to
   25x), in one to three markets, long or short; about a tenth trade a market isolated.
   Longs and shorts are matched against each other per market, and what is left over is
   taken by a few well-funded market makers. Every fill is an ordinary `trade` command.
3. The crash: a seeded path drifts up, crashes (~35 % on BTC, more on ETH and SOL) and
   partially recovers; every tick is one `price` command per oracle. Progress is shown live.
   Accounts that fall into breach are liquidated by the engine as the ticks arrive, with
   the loss waterfall behind them (insurance fund, then ADL). The live view follows
   liquidations, the insurance fund and bad debt.
4. The summary, read from the engine's events and its state document (SPEC §4): the
   liquidations (how many, of what, the fees, bad debt, ADL, the insurance fund over the
   crash, and the time the liquidating ticks took), the equity distribution, the largest
   losses, and the accounts closest to liquidation with their liquidation prices.

Everything goes through `Engine.apply`; the same seed gives the same run. Output goes only
through the given rich Console.
"""

from __future__ import annotations

import math
import random
import time
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ..engine import Engine
from ..simulation.scenario import (
    QUOTE,
    QUOTE_DECIMALS,
    Scenario,
    ScenarioConfig,
    crash_path,
    fmt_units,
)

MAKERS = 4
MAKER_DEPOSIT_CENTS = 50_000_000 * 100
MAKER_PREFIX = "mm-"
DEFAULT_TICKS = 90
#: the insurance fund the venue starts with, per account (USDC cents)
INSURANCE_CENTS_PER_ACCOUNT = 2_000

# (share of accounts, leverage range): who trades how hard
LEVERAGE_PROFILE: tuple[tuple[float, tuple[float, float]], ...] = (
    (0.60, (0.5, 2.0)),
    (0.25, (2.0, 4.0)),
    (0.10, (4.0, 10.0)),
    (0.05, (10.0, 25.0)),
)


# -- the book ------------------------------------------------------------------------------------

def _draw_leverage(rng: random.Random) -> float:
    draw = rng.random()
    for share, (low, high) in LEVERAGE_PROFILE:
        if draw < share:
            return rng.uniform(low, high)
        draw -= share
    low, high = LEVERAGE_PROFILE[-1][1]
    return rng.uniform(low, high)  # pragma: no cover - shares sum to 1


def _plan_book(scenario: Scenario, rng: random.Random) -> tuple[list[dict[str, Any]], list[tuple[str, int, int]]]:
    """Margin-mode commands and (account, market index, signed steps) demands."""
    markets = scenario.markets
    modes: list[dict[str, Any]] = []
    demands: list[tuple[str, int, int]] = []
    eth_weight = float(Scenario.ETH_WEIGHT_INIT)
    for account in scenario.accounts:
        collateral = account.cash + account.eth * scenario.eth_price() * eth_weight
        leverage = _draw_leverage(rng)
        count = 1 if rng.random() < 0.5 else (2 if rng.random() < 0.6 else 3)
        chosen = rng.sample(range(len(markets)), count)
        weights = [rng.uniform(0.5, 1.5) for _ in chosen]
        total = sum(weights)
        bull = rng.random() < 0.6  # most of the levered money is long going into the crash
        isolated = rng.random() < 0.10
        planned: list[tuple[int, float, int, float | None]] = []  # market, notional, sign, iso leverage
        for position, (market, weight) in enumerate(zip(chosen, weights)):
            sign = 1 if (rng.random() < 0.8) == bull else -1
            notional = collateral * leverage * weight / total
            iso_leverage = None
            if isolated and position == 0:
                iso_leverage = float(min(20, max(2, round(leverage * 1.5))))
                # the isolated margin comes out of the USDC balance: keep it there
                notional = min(notional, 0.8 * account.cash * iso_leverage)
            planned.append((market, notional, sign, iso_leverage))
        # keep initial margin inside 80 % of the collateral (tiers can cap leverage hard)
        for _ in range(20):
            need = 0.0
            for market, notional, _sign, iso in planned:
                lev = markets[market].max_leverage_at(notional)
                need += notional / (min(lev, iso) if iso else lev)
            if need <= 0.8 * collateral:
                break
            planned = [(m, n * 0.8, s, i) for m, n, s, i in planned]
        for market, notional, sign, iso in planned:
            m = markets[market]
            steps = int(notional / (scenario.price(market) * 10.0 ** -m.step_decimals))
            if steps <= 0:
                continue
            if iso:
                modes.append({"op": "margin_mode", "account": account.id, "market": m.id, "mode": "isolated",
                              "leverage": str(int(iso))})
            demands.append((account.id, market, sign * steps))
    return modes, demands


def _match(scenario: Scenario, demands: list[tuple[str, int, int]], rng: random.Random) -> list[dict[str, Any]]:
    """Fills that give every account its demand: longs against shorts per market, the
    remainder against the market makers (round robin)."""
    trades: list[dict[str, Any]] = []
    makers = [f"{MAKER_PREFIX}{i}" for i in range(MAKERS)]
    turn = 0
    for market, m in enumerate(scenario.markets):
        longs: list[list[Any]] = [[a, s] for a, mk, s in demands if mk == market and s > 0]
        shorts: list[list[Any]] = [[a, -s] for a, mk, s in demands if mk == market and s < 0]
        rng.shuffle(longs)
        rng.shuffle(shorts)
        ticks = scenario.ticks[market]

        def fill(buyer: str, seller: str, steps: int) -> None:
            notional = steps * ticks  # in 10^-(step+price decimals) quote units
            shift = QUOTE_DECIMALS - m.step_decimals - m.price_decimals
            micro = notional * 10 ** shift if shift >= 0 else notional // 10 ** -shift
            fee = micro * 4 // 10_000  # 4 bps a side
            trades.append({
                "op": "trade", "market": m.id, "buyer": buyer, "seller": seller,
                "size": fmt_units(steps, m.step_decimals), "price": fmt_units(ticks, m.price_decimals),
                "buyer_fee": fmt_units(fee, QUOTE_DECIMALS), "seller_fee": fmt_units(fee, QUOTE_DECIMALS),
            })

        i = j = 0
        while i < len(longs) and j < len(shorts):
            steps = min(longs[i][1], shorts[j][1])
            fill(longs[i][0], shorts[j][0], steps)
            longs[i][1] -= steps
            shorts[j][1] -= steps
            if longs[i][1] == 0:
                i += 1
            if shorts[j][1] == 0:
                j += 1
        for account, steps in longs[i:]:
            if steps:
                fill(account, makers[turn % MAKERS], steps)
                turn += 1
        for account, steps in shorts[j:]:
            if steps:
                fill(makers[turn % MAKERS], account, steps)
                turn += 1
    return trades


# -- reading the engine --------------------------------------------------------------------------

def _live_liquidatable(engine: Engine) -> int:
    """Accounts in breach right now, from the engine's risk monitor (cheap; the summary
    recounts from the state document)."""
    units = getattr(getattr(engine, "monitor", None), "liquidatable", None)
    if units is None:  # pragma: no cover - a different engine layout
        return sum(1 for entry in engine.state_document()["accounts"].values() if _in_breach(entry))
    return len({account for account, _market in units})


def _in_breach(entry: dict[str, Any]) -> bool:
    """Liquidatable: the cross part, or any isolated position."""
    if entry.get("liquidatable"):
        return True
    return any(p.get("liquidatable") for p in entry.get("positions", {}).values())


def _dec(text: str | None) -> float:
    return float(Decimal(text)) if text is not None else 0.0


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e6:
        return f"{sign}{value / 1e6:,.2f}M"
    if value >= 1e4:
        return f"{sign}{value / 1e3:,.1f}k"
    return f"{sign}{value:,.2f}"


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    position = q * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


# -- the liquidations -----------------------------------------------------------------------------

def _fund_value(engine: Engine) -> float:
    """The insurance fund's worth: `@insurance`'s equity (every balance at its price, plus
    the unrealized PnL of the positions the backstop has taken over)."""
    return float(engine.account("@insurance")["equity"])


class WaterfallTally:
    """Running totals of the liquidation and loss-waterfall events (quote-asset amounts)."""

    def __init__(self) -> None:
        self.fees = 0.0
        self.bad_debt = 0.0
        self.bad_debt_accounts = 0
        self.adl_positions = 0
        self.adl_charges = 0.0
        self.socialized = 0.0
        self.borrow_liquidations = 0
        self.steps = 0  # waterfall events other than `liquidation`
        self.fund_balance = 0.0
        self.fund_path: list[float] = []
        self.liquidating_ticks = 0
        self.liquidating_s = 0.0

    def add(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "insurance_fund":
            if event["asset"] == QUOTE and event["reason"] == "liquidation_fee":
                self.fees += float(event["delta"])
        elif kind == "bad_debt":
            self.bad_debt += float(event["amount"])
            self.bad_debt_accounts += 1
            self.steps += 1
        elif kind == "adl":
            self.adl_positions += 1
            self.adl_charges += float(event["charge"])
            self.steps += 1
        elif kind == "socialized_loss":
            self.socialized += float(event["collected"])
            self.steps += 1
        elif kind == "borrow_liquidation":
            self.borrow_liquidations += 1
            self.steps += 1

    def summary(self, liquidations: list[dict[str, Any]]) -> dict[str, Any]:
        accounts = {e["account"] for e in liquidations}
        largest = sorted(liquidations, key=lambda e: (-abs(float(e["size"]) * float(e["price"])), e["seq"], e["account"]))
        return {
            "liquidations": len(liquidations),
            "accounts_liquidated": len(accounts),
            "partial": sum(1 for e in liquidations if e["remaining"] != "0"),
            "isolated": sum(1 for e in liquidations if e["mode"] == "isolated"),
            "fees": round(self.fees, 2),
            "bad_debt": round(self.bad_debt, 2),
            "bankruptcies": self.bad_debt_accounts,
            "adl_positions": self.adl_positions,
            "adl_charges": round(self.adl_charges, 2),
            "socialized": round(self.socialized, 2),
            "borrow_liquidations": self.borrow_liquidations,
            "insurance_fund": {
                "start": round(self.fund_path[0], 2) if self.fund_path else 0.0,
                "low": round(min(self.fund_path), 2) if self.fund_path else 0.0,
                "end": round(self.fund_path[-1], 2) if self.fund_path else 0.0,
                "path": [round(v, 2) for v in self.fund_path],
            },
            "liquidating_ticks": self.liquidating_ticks,
            "liquidating_s": round(self.liquidating_s, 3),
            "largest": [
                {"account": e["account"], "market": e["market"], "size": e["size"], "price": e["price"],
                 "fee": e["fee"], "mode": e["mode"]}
                for e in largest[:10]
            ],
        }


# -- the run -------------------------------------------------------------------------------------

def run_demo(
    accounts: int = 3000,
    seed: int = 7,
    ticks: int = DEFAULT_TICKS,
    console: Console | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Build the seeded book, play the crash, print the summary; return the summary as a dict.

    `engine` may be given (an empty Engine) to inspect the final state afterwards."""
    console = console or Console()
    engine = engine if engine is not None else Engine()
    started = time.perf_counter()
    rng = random.Random(seed)
    scenario = Scenario(ScenarioConfig(accounts=accounts, markets=3, commands=0, seed=seed, leverage=(1.0, 1.0)))
    setup = scenario.setup_commands()
    setup += [{"op": "deposit", "account": f"{MAKER_PREFIX}{i}", "asset": QUOTE,
               "amount": fmt_units(MAKER_DEPOSIT_CENTS, 2)} for i in range(MAKERS)]
    setup.append({"op": "deposit", "account": "@insurance", "asset": QUOTE,
                  "amount": fmt_units(accounts * INSURANCE_CENTS_PER_ACCOUNT, 2)})
    modes, demands = _plan_book(scenario, rng)
    trades = _match(scenario, demands, rng)
    path = crash_path(scenario.markets, ticks, seed)

    counts = {"commands": 0, "rejected": 0, "trades": 0, "trades_rejected": 0}
    rejected_codes: dict[str, int] = {}
    margin_calls = {"book": 0, "crash": 0}
    called_accounts: set[str] = set()
    liquidations: list[dict[str, Any]] = []
    waterfall = WaterfallTally()
    peak = {"liquidatable": 0, "tick": 0, "last": 0}
    phase = "book"

    def apply(command: dict[str, Any]) -> list[dict[str, Any]]:
        events = engine.apply(command)
        counts["commands"] += 1
        for event in events:
            kind = event["event"]
            if kind == "rejected":
                counts["rejected"] += 1
                rejected_codes[event["code"]] = rejected_codes.get(event["code"], 0) + 1
                if command["op"] == "trade":
                    counts["trades_rejected"] += 1
            elif kind == "margin_call":
                margin_calls[phase] += 1
                called_accounts.add(event["account"])
            elif kind == "liquidation":
                liquidations.append(event)
            waterfall.add(event)
        return events

    oracles = [m.oracle for m in scenario.markets]
    start_prices = {m.oracle: m.price for m in scenario.markets}

    progress = Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(bar_width=36),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    status: dict[str, Any] = {"tick": 0, "prices": dict(start_prices)}

    def live_table() -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("tick", justify="right")
        for oracle in oracles:
            table.add_column(oracle, justify="right")
        table.add_column("margin calls", justify="right")
        table.add_column("liquidations", justify="right")
        table.add_column("insurance fund", justify="right")
        table.add_column("bad debt", justify="right")
        table.add_column("ADL", justify="right")
        table.add_column("in breach", justify="right")
        row = [f"{status['tick']}/{len(path)}"]
        for oracle in oracles:
            now, then = float(status["prices"][oracle]), float(start_prices[oracle])
            change = (now / then - 1) * 100
            color = "red" if change < 0 else "green"
            row.append(f"{status['prices'][oracle]} [{color}]{change:+.1f}%[/]")
        row.append(f"{margin_calls['crash']:,}")
        row.append(f"[bold]{len(liquidations):,}[/]")
        row.append(_money(waterfall.fund_balance))
        row.append(f"[red]{_money(waterfall.bad_debt)}[/]" if waterfall.bad_debt else "0")
        row.append(f"{waterfall.adl_positions:,}")
        liq = status.get("liquidatable", 0)
        row.append(f"[bold red]{liq:,}[/]" if liq else "0")
        table.add_row(*row)
        return table

    with Live(Group(progress, live_table()), console=console, refresh_per_second=8, transient=False) as live:
        build = progress.add_task("building book", total=len(setup) + len(modes) + len(trades))
        for batch in (setup, modes, trades):
            for index, command in enumerate(batch):
                apply(command)
                if command["op"] == "trade":
                    counts["trades"] += 1
                if index % 200 == 0:
                    progress.update(build, completed=counts["commands"])
        progress.update(build, completed=counts["commands"])
        phase = "crash"
        crash = progress.add_task("price crash", total=len(path))
        waterfall.fund_balance = _fund_value(engine)
        waterfall.fund_path.append(waterfall.fund_balance)
        for tick, point in enumerate(path, start=1):
            for oracle in oracles:
                before = len(liquidations) + waterfall.steps
                tick_started = time.perf_counter()
                apply({"op": "price", "oracle": oracle, "price": point[oracle]})
                if len(liquidations) + waterfall.steps > before:  # this tick liquidated
                    waterfall.liquidating_ticks += 1
                    waterfall.liquidating_s += time.perf_counter() - tick_started
            waterfall.fund_balance = _fund_value(engine)
            waterfall.fund_path.append(waterfall.fund_balance)
            status["tick"] = tick
            status["prices"] = point
            status["liquidatable"] = peak["last"] = _live_liquidatable(engine)
            if status["liquidatable"] > peak["liquidatable"]:
                peak.update(liquidatable=status["liquidatable"], tick=tick)
            progress.update(crash, completed=tick)
            live.update(Group(progress, live_table()))
    console.print()

    document = engine.state_document()
    summary = _summarize(document, scenario, path, start_prices, counts, margin_calls, called_accounts,
                         liquidations, peak, rejected_codes)
    summary["liquidation"] = waterfall.summary(liquidations)
    summary["elapsed_s"] = round(time.perf_counter() - started, 3)
    summary["seed"] = seed
    _render(console, summary, oracles)
    return summary


def _summarize(document, scenario, path, start_prices, counts, margin_calls, called_accounts, liquidations, peak,
               rejected_codes) -> dict[str, Any]:
    entries = {a: e for a, e in document["accounts"].items() if not a.startswith("@")}
    traders = {a: e for a, e in entries.items() if not a.startswith(MAKER_PREFIX)}
    equities = sorted(_dec(e["equity"]) + sum(_dec(p.get("isolated_margin")) for p in e["positions"].values())
                      for e in traders.values())
    breach = sorted(a for a, e in entries.items() if _in_breach(e))

    def upnl(entry: dict[str, Any]) -> float:
        return sum(_dec(p["unrealized_pnl"]) for p in entry["positions"].values())

    losses = sorted(((upnl(e), a) for a, e in traders.items() if e["positions"]), key=lambda x: (x[0], x[1]))[:10]
    def closeness(account: str) -> tuple[int, float, str]:
        """In breach first, then the highest margin ratio (maintenance / equity) of any of
        the account's risk units: its cross part, or one isolated position."""
        entry = entries[account]
        ratios = []
        if any(p["mode"] == "cross" for p in entry["positions"].values()):
            ratio = entry["margin_ratio"]
            ratios.append(float(ratio) if ratio is not None else math.inf)
        for p in entry["positions"].values():
            if p["mode"] == "isolated":
                equity = _dec(p.get("isolated_margin")) + _dec(p["unrealized_pnl"])
                ratios.append(_dec(p["maintenance_margin"]) / equity if equity > 0 else math.inf)
        return (0 if _in_breach(entry) else 1, -max(ratios), account)

    at_risk = []
    holders = [a for a, e in traders.items() if e["positions"]]
    for account in sorted(holders, key=closeness)[:10]:
        entry = entries[account]
        positions = []
        for market, p in sorted(entry["positions"].items()):
            positions.append({
                "market": market,
                "size": p["size"],
                "mode": p["mode"],
                "entry_price": p["entry_price"],
                "liquidation_price": p["liquidation_price"],
                "liquidatable": bool(p.get("liquidatable", entry.get("liquidatable"))),
            })
        at_risk.append({
            "account": account,
            "health": entry["health"],
            "equity": entry["equity"],
            "margin_ratio": entry["margin_ratio"],
            "positions": positions,
        })
    quantiles = {label: round(_quantile(equities, q), 2)
                 for label, q in (("min", 0), ("p01", 0.01), ("p10", 0.1), ("p25", 0.25), ("p50", 0.5),
                                  ("p75", 0.75), ("p90", 0.9), ("p99", 0.99), ("max", 1))}
    lows = {o: min((point[o] for point in path), key=float) for o in start_prices}
    return {
        "accounts": len(entries),
        "traders": len(traders),
        "makers": len(entries) - len(traders),
        "positions": sum(len(e["positions"]) for e in entries.values()),
        "commands": counts["commands"],
        "rejected": counts["rejected"],
        "rejected_codes": dict(sorted(rejected_codes.items())),
        "trades": counts["trades"],
        "trades_rejected": counts["trades_rejected"],
        "ticks": len(path),
        "prices": {o: {"start": start_prices[o], "low": lows[o], "end": path[-1][o]} for o in start_prices},
        "margin_calls": margin_calls["crash"],
        "margin_calls_book": margin_calls["book"],
        "accounts_margin_called": len(called_accounts),
        "liquidatable": len(breach),
        "liquidatable_accounts": breach,
        "monitor_liquidatable": peak["last"],
        "peak_liquidatable": peak["liquidatable"],
        "peak_tick": peak["tick"],
        "liquidations": len(liquidations),
        "negative_equity": sum(1 for v in equities if v < 0),
        "equity_quantiles": quantiles,
        "total_equity": round(sum(equities), 2),
        "largest_losses": [{"account": a, "unrealized_pnl": round(v, 2)} for v, a in losses],
        "at_risk": at_risk,
        "ledger_balanced": document["ledger"]["balanced"],
        "state_hash": document["ledger"]["hash"],
        "_equities": equities,
    }


def _histogram(equities: list[float]) -> Table:
    edges = [(-math.inf, 0.0, "< 0"), (0.0, 1e3, "0 – 1k"), (1e3, 5e3, "1k – 5k"), (5e3, 1e4, "5k – 10k"),
             (1e4, 2.5e4, "10k – 25k"), (2.5e4, 1e5, "25k – 100k"), (1e5, math.inf, "≥ 100k")]
    counts = [sum(1 for v in equities if low <= v < high) for low, high, _ in edges]
    most = max(counts) or 1
    table = Table(title="Equity distribution (USDC)", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("equity", justify="right")
    table.add_column("accounts", justify="right")
    table.add_column("", justify="left", min_width=30)
    for (_low, _high, label), count in zip(edges, counts):
        bar = "█" * max(1 if count else 0, round(30 * count / most))
        table.add_row(label, f"{count:,}", Text(bar, style="red" if label == "< 0" else "cyan"))
    return table


def _render(console: Console, summary: dict[str, Any], oracles: list[str]) -> None:
    equities = summary.pop("_equities")
    console.rule("[bold]solvent demo: summary")
    overview = Table.grid(padding=(0, 2))
    overview.add_column(justify="right", style="bold")
    overview.add_column()
    overview.add_row("accounts", f"{summary['traders']:,} traders + {summary['makers']} market makers, "
                                 f"{summary['positions']:,} open positions")
    overview.add_row("commands", f"{summary['commands']:,} applied ({summary['trades']:,} fills, "
                                 f"{summary['rejected']:,} rejected) in {summary['elapsed_s']:.1f} s")
    prices = ", ".join(f"{o} {p['start']} → low {p['low']} → {p['end']}" for o, p in summary["prices"].items())
    overview.add_row("price path", f"{summary['ticks']} ticks: {prices}")
    overview.add_row("margin calls", f"{summary['margin_calls']:,} during the crash "
                                     f"({summary['accounts_margin_called']:,} accounts called overall)")
    overview.add_row("in breach", f"{summary['liquidatable']:,} accounts at the end (left waiting), "
                                  f"{summary['negative_equity']:,} with negative equity")
    overview.add_row("ledger", "balanced" if summary["ledger_balanced"] else "[bold red]NOT BALANCED[/]")
    console.print(overview)
    console.print()
    if "liquidation" in summary:
        _render_liquidations(console, summary["liquidation"])

    quant = Table(title="Equity quantiles (USDC, traders)", box=box.SIMPLE_HEAD, title_justify="left")
    for label in summary["equity_quantiles"]:
        quant.add_column(label, justify="right")
    quant.add_row(*(_money(v) for v in summary["equity_quantiles"].values()))
    console.print(quant)
    console.print(_histogram(equities))

    losses = Table(title="Largest losses (unrealized PnL)", box=box.SIMPLE_HEAD, title_justify="left")
    losses.add_column("#", justify="right")
    losses.add_column("account")
    losses.add_column("unrealized PnL", justify="right", style="red")
    for rank, row in enumerate(summary["largest_losses"], start=1):
        losses.add_row(str(rank), row["account"], _money(row["unrealized_pnl"]))
    console.print(losses)

    risk = Table(title="Closest to liquidation (in breach first, then highest margin ratio; top 10)",
                 box=box.SIMPLE_HEAD, title_justify="left")
    risk.add_column("account")
    risk.add_column("health", justify="right", style="red")
    risk.add_column("equity", justify="right")
    risk.add_column("position")
    risk.add_column("entry", justify="right")
    risk.add_column("liquidation price", justify="right", style="bold")
    for row in summary["at_risk"]:
        first = True
        for p in row["positions"]:
            size = p["size"] if p["size"].startswith("-") else f"+{p['size']}"
            mode = " (iso)" if p["mode"] == "isolated" else ""
            risk.add_row(
                row["account"] if first else "",
                _money(_dec(row["health"])) if first else "",
                _money(_dec(row["equity"])) if first else "",
                f"{p['market']} {size}{mode}",
                _short(p["entry_price"]),
                _short(p["liquidation_price"]) if p["liquidation_price"] is not None else "—",
            )
            first = False
    if not summary["at_risk"]:
        console.print("[green]No trader holds a position at the end of the path.")
    else:
        console.print(risk)


_SPARKS = "▁▂▃▄▅▆▇█"


def _sparkline(values: list[float], width: int = 60) -> str:
    if not values:
        return ""
    step = max(1, math.ceil(len(values) / width))
    sampled = [values[i] for i in range(0, len(values), step)] + [values[-1]]
    low, high = min(sampled), max(sampled)
    span = (high - low) or 1.0
    return "".join(_SPARKS[min(len(_SPARKS) - 1, int((v - low) / span * (len(_SPARKS) - 1)))] for v in sampled)


def _render_liquidations(console: Console, liq: dict[str, Any]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="bold")
    grid.add_column()
    grid.add_row("liquidations", f"[bold]{liq['liquidations']:,}[/] closes of {liq['accounts_liquidated']:,} accounts "
                                 f"({liq['partial']:,} partial, {liq['isolated']:,} isolated), "
                                 f"{liq['borrow_liquidations']:,} borrow liquidations")
    grid.add_row("fees", f"{_money(liq['fees'])} USDC to the insurance fund")
    grid.add_row("bad debt", f"{_money(liq['bad_debt'])} USDC from {liq['bankruptcies']:,} bankruptcies; "
                             f"ADL {liq['adl_positions']:,} positions, charges {_money(liq['adl_charges'])}; "
                             f"socialized {_money(liq['socialized'])}")
    fund = liq["insurance_fund"]
    grid.add_row("insurance fund", f"worth {_money(fund['start'])} → low {_money(fund['low'])} → {_money(fund['end'])}  "
                                   f"[cyan]{_sparkline(fund['path'])}[/]")
    grid.add_row("time", f"{liq['liquidating_ticks']:,} price commands liquidated, "
                         f"{liq['liquidating_s']:.2f} s in all (evaluation, liquidation and waterfall)")
    console.print(grid)
    console.print()
    if liq["largest"]:
        table = Table(title="Largest liquidations (notional closed)", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("account")
        table.add_column("position closed")
        table.add_column("price", justify="right")
        table.add_column("fee", justify="right")
        for row in liq["largest"]:
            size = row["size"] if row["size"].startswith("-") else f"+{row['size']}"
            mode = " (iso)" if row["mode"] == "isolated" else ""
            table.add_row(row["account"], f"{row['market']} {size}{mode}", _short(row["price"]), _money(_dec(row["fee"])))
        console.print(table)


def _short(price: str | None) -> str:
    if price is None:
        return "—"
    value = float(price)
    return f"{value:,.2f}" if value >= 1 else f"{value:.6g}"
