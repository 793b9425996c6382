"""A hypothesis state machine over the whole engine.

Random deposits, withdrawals (borrows beyond the balance of a borrowable asset included),
transfers, trades (sizes on the step grid, prices near the mark, fees), margin-mode switches
(isolated with leverage), isolated-margin moves, price moves (large jumps included), funding
with signed rates, queries, duplicate client ids and refused commands, over four accounts,
four assets (USDC 6 decimals, ETH collateral with a haircut, borrowable with a rate model, USD2
a quote asset with 2 decimals, stETH yield-bearing on ETH's oracle) and three markets with small
tiers, so that tier crossings happen. Market data goes through the guards: `time` ticks (interest
and yield accrue, ETH-PERP's oracle goes stale after an hour), prices with confidence, late
prices, jumps held and confirmed (when the run switches the jump guard on), and reported
exchange rates (some above their cap).

After every step:

(a) conservation: the ledger reports itself balanced, and for every asset the balances of all
    ledger accounts but the outside world sum to the net deposits this test counted itself;
(b) a command answered by one `rejected` event changed nothing (state document bytes, hash,
    internal positions, settings, client ids and the monitor's status sets);
(c) every cached figure equals a recomputation from scratch: the monitor's liquidatable and
    margin-called sets against `cross_figures` / `isolated_figures`, and the ledger's running
    totals against a recount;
(d) `health < 0` exactly when `health_factor < 1`, for every account entry;
(f) the insurance fund changes only through recorded events: per command and asset, its
    balance moves by exactly the sum of the `insurance_fund` deltas the command emitted;
(g) liquidation (SPEC §6), checked on every unit the engine liquidates: it was in breach,
    exactly, just before; afterwards it holds no position, or `health >= liquidation_buffer ×
    maintenance_margin`, or only positions whose market has no usable price are left (they
    wait), or (a lending unit) it has had its one borrow liquidation; and it is never less
    healthy than before;
and at teardown (e): replaying the recorded commands into a fresh engine gives byte-identical
events and the same state and hash; and (h) a snapshot of the final engine restores the same
state, statuses and hash, and the restored engine answers the next price ticks (a crash, a
rally) with byte-identical events.
"""

from __future__ import annotations

import copy
from decimal import ROUND_DOWN, Decimal, localcontext

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from solvent import Engine
from solvent.engine import liquidation
from solvent.engine.checks import cross_after
from solvent.engine.oracles import market_price_usable
from solvent.engine.snapshot import restore, snapshot
from solvent.domain.ids import is_system, isolated_wallet
from solvent.domain.numbers import ARITHMETIC, format_units
from solvent.margin.figures import cross_figures, isolated_figures

EXTERNAL = "#external"
PNL_PREFIX = "@pnl:"

ACCOUNTS = ["a1", "a2", "a3", "a4"]
ASSET_DECIMALS = {"USDC": 6, "ETH": 8, "USD2": 2, "stETH": 8}
#: largest whole amount a random deposit / withdrawal / transfer uses, per asset
ASSET_SPAN = {"USDC": 20_000, "ETH": 10, "USD2": 5_000, "stETH": 5}

#: market -> (oracle, settle asset, step decimals, price decimals, largest size in steps)
MARKETS = {
    "ETH-PERP": ("ETH-USD", "USDC", 2, 2, 1_000),
    "BTC-PERP": ("BTC-USD", "USDC", 3, 1, 500),
    "SOL-PERP": ("SOL-USD", "USD2", 1, 2, 500),
}
ORACLES = {"ETH-USD": "3000.00", "BTC-USD": "60000.0", "SOL-USD": "150.00"}

SETUP = [
    {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"},
    {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.85",
     "liability_weight_init": "1.25", "liability_weight_maint": "1.1",
     "rate_model": {"base": "0.01", "slope1": "0.04", "slope2": "0.75", "optimal_utilization": "0.8",
                    "reserve_factor": "0.1"}},
    {"op": "asset", "id": "USD2", "decimals": 2, "oracle": None, "weight_init": "1", "weight_maint": "1"},
    {"op": "asset", "id": "stETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.7", "weight_maint": "0.8",
     "yield": {"exchange_rate": "1.05", "apy": "0.04", "max_yearly_growth": "0.1"}},
    {"op": "market", "id": "ETH-PERP", "oracle": "ETH-USD", "settle": "USDC", "step_size": "0.01",
     "liquidation_fee": "0.01", "max_oracle_age_s": "3600",
     "tiers": [{"max_notional": "5000", "mmr": "0.01", "max_leverage": "50"},
               {"max_notional": "20000", "mmr": "0.025", "max_leverage": "20"},
               {"mmr": "0.05", "max_leverage": "10"}]},
    {"op": "market", "id": "BTC-PERP", "oracle": "BTC-USD", "settle": "USDC", "step_size": "0.001",
     "liquidation_fee": "0.0125",
     "tiers": [{"max_notional": "10000", "mmr": "0.005", "max_leverage": "100"},
               {"max_notional": "50000", "mmr": "0.01", "max_leverage": "50"},
               {"mmr": "0.1", "max_leverage": "5"}]},
    {"op": "market", "id": "SOL-PERP", "oracle": "SOL-USD", "settle": "USD2", "step_size": "0.1",
     "liquidation_fee": "0.015",
     "tiers": [{"max_notional": "2000", "mmr": "0.02", "max_leverage": "25"},
               {"mmr": "0.05", "max_leverage": "10"}]},
    *({"op": "price", "oracle": o, "price": p} for o, p in ORACLES.items()),
]

MIN_PRICE = Decimal("0.5")
MAX_PRICE = Decimal("10000000")


def amount_text(units: int, asset: str) -> str:
    return format_units(units, ASSET_DECIMALS[asset])


def is_rejection(events: list[dict]) -> bool:
    return len(events) == 1 and events[0]["event"] == "rejected"


def encode(value) -> bytes:
    return msgspec.json.encode(value)


units_of = {  # a random amount in quantums of each asset, biased towards round figures
    asset: st.one_of(
        st.integers(1, ASSET_SPAN[asset] * 10 ** ASSET_DECIMALS[asset]),
        st.integers(1, ASSET_SPAN[asset]).map(lambda n, d=ASSET_DECIMALS[asset]: n * 10**d),
    )
    for asset in ASSET_DECIMALS
}
accounts = st.sampled_from(ACCOUNTS)
assets = st.sampled_from(sorted(ASSET_DECIMALS))
markets = st.sampled_from(sorted(MARKETS))
leverages = st.one_of(st.none(), st.sampled_from(["1", "2", "3.5", "5", "10", "20", "75", "200"]))
price_factors = st.one_of(  # per mille of the current price
    st.integers(970, 1030),
    st.integers(900, 1100),
    st.sampled_from([250, 400, 500, 667, 1500, 2000, 3000]),  # jumps
)


def _unit_figures(engine: Engine, unit):
    """The exact figures of a risk unit now, and whether it holds a position."""
    state = engine.state
    account_id, market = unit
    account = state.accounts[account_id]
    with localcontext(ARITHMETIC):
        if not market:
            return cross_after(state, account), bool(state.cross_positions(account))
        position = account.positions.get(market)
        if position is None:
            return None, False
        settle = state.book.markets[market].settle
        wallet = state.ledger.balance(isolated_wallet(account_id, market), settle)
        return isolated_figures(wallet, state.book.assets[settle].decimals, position, state.book), True


class LiquidationRecorder:
    """Wraps the engine's per-unit liquidation step and checks (g) around every call."""

    def __init__(self) -> None:
        self.calls = 0
        self.original = liquidation._liquidate

    def __call__(self, step, unit, borrow_liquidated):
        engine_state = step.state
        probe = Engine.__new__(Engine)
        probe.state, probe.monitor = engine_state, step.monitor
        before, _ = _unit_figures(probe, unit)
        assert before is not None and before.liquidatable, f"{unit} liquidated while not in breach: {before}"
        acted = self.original(step, unit, borrow_liquidated)
        self.calls += 1
        after, holds = _unit_figures(probe, unit)
        if after is None:
            return acted  # an isolated position closed whole
        buffer = engine_state.book.params.liquidation_buffer
        with localcontext(ARITHMETIC):
            on_target = after.health >= buffer * after.maintenance_margin
        if holds and acted and not on_target:
            # only positions whose market has no usable price may be left: they wait (the
            # action matrix), the rest were closed
            account = engine_state.accounts[unit[0]]
            left = [p.market for p in account.positions.values() if p.isolated == bool(unit[1])
                    and (not unit[1] or p.market == unit[1])]
            usable = [m for m in left if market_price_usable(engine_state, m, step.now)]
            assert not usable, f"{unit}: positions left below target in usable markets {usable}: {after}"
        if acted and holds:
            assert after.health >= before.health, f"{unit} less healthy after liquidation: {before} -> {after}"
        return acted


def _screen_row_bounds(engine, unit, figures):
    """The screen's promise, which trade admission relies on (`RiskMonitor.screen_side`):
    while a row's margins are positive, its estimates are within its band of the exact
    figures, so the exact figures have the signs the row records."""
    monitor = engine.monitor
    row = monitor.row_of(unit)
    if row is None or not figures.at_risk:
        return
    screen = monitor.screen
    found = screen.settled(row)
    if found is None:
        return
    health, free, band = found
    quantum = 10.0 ** -engine.state.book.params.value_decimals
    exact_free = figures.free_collateral if not unit[1] else figures.health
    assert abs(health - figures.health * quantum) <= band, (unit, health, figures.health, band)
    assert abs(free - exact_free * quantum) <= band, (unit, free, exact_free, band)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine()
        self.log: list[tuple[dict, list[dict]]] = []  # (command, events) in order
        self.net_deposits = {asset: 0 for asset in ASSET_DECIMALS}
        self.snapshot_cache: bytes | None = None
        self.next_id = 0
        self.applied_ids: list[tuple[str, dict]] = []

    # -- helpers --------------------------------------------------------------------------
    def snapshot(self, document: dict | None = None) -> bytes:
        """Everything a command may change, as bytes. A `commands` counter in the document
        (earlier versions had one: the seq of the next command, which every command advances,
        a refused one included) is left out."""
        engine = self.engine
        document = dict(engine.state_document() if document is None else document)
        document.pop("commands", None)
        state = engine.state
        internals = {
            "hash": engine.state_hash(),
            "balances": {a: dict(sorted(state.ledger.balances(a).items())) for a in sorted(state.ledger.accounts())},
            "totals": {a: [state.ledger.total_deposits(a), state.ledger.total_borrows(a)] for a in sorted(ASSET_DECIMALS)},
            "positions": {
                a: {m: repr(p) for m, p in sorted(acct.positions.items())} for a, acct in sorted(state.accounts.items())
            },
            "settings": {
                a: {m: repr(s) for m, s in sorted(acct.settings.items())} for a, acct in sorted(state.accounts.items())
            },
            "holders": {m: state.holders.of(m) for m in sorted(state.holders.markets())},
            "applied_ids": sorted(state.applied_ids),
            "clock": str(state.clock),
            "liquidatable": sorted(self.engine.monitor.liquidatable),
            "margin_called": sorted(self.engine.monitor.margin_called),
        }
        return encode([document, internals])

    def run(self, command: dict, *, with_id: bool = True) -> list[dict]:
        if with_id and command["op"] not in ("asset", "market", "account", "order_check") and self.next_id % 3 == 0:
            command = {**command, "id": f"cmd-{self.next_id}"}
        self.next_id += 1
        before = self.snapshot_cache if self.snapshot_cache is not None else self.snapshot()
        fund_before = dict(self.engine.state.ledger.balances("@insurance"))
        events = self.engine.apply(copy.deepcopy(command))
        self.log.append((command, copy.deepcopy(events)))
        fund_after = self.engine.state.ledger.balances("@insurance")
        for asset, decimals in ASSET_DECIMALS.items():
            reported = sum(Decimal(e["delta"]) for e in events if e["event"] == "insurance_fund" and e["asset"] == asset)
            moved = Decimal(fund_after.get(asset, 0) - fund_before.get(asset, 0)).scaleb(-decimals)
            assert reported == moved, (command, asset, moved, reported, events)
        seq = len(self.log) - 1
        assert all(e["seq"] == seq for e in events), events
        if is_rejection(events):
            assert events[0]["code"] != "internal_error", (command, events)
            after = self.snapshot()
            assert after == before, f"rejected command changed the state: {command} -> {events}"
            self.snapshot_cache = after
        else:
            assert not any(e["event"] == "rejected" for e in events), events
            self.snapshot_cache = None
            if command["op"] in ("deposit", "withdraw"):
                units = int(Decimal(command["amount"]).scaleb(ASSET_DECIMALS[command["asset"]]))
                self.net_deposits[command["asset"]] += units if command["op"] == "deposit" else -units
            if "id" in command and command["op"] not in ("asset", "market", "account", "order_check"):
                self.applied_ids.append((command["id"], command))
        return events

    def run_query(self, command: dict) -> list[dict]:
        """A command that must change nothing whatever it answers."""
        before = self.snapshot_cache if self.snapshot_cache is not None else self.snapshot()
        events = self.run(command, with_id=False)
        after = self.snapshot()
        assert after == before, f"query changed the state: {command} -> {events}"
        self.snapshot_cache = after
        return events

    def mark(self, market: str) -> Decimal:
        return self.engine.state.book.prices[MARKETS[market][0]]

    def position(self, account: str, market: str):
        acct = self.engine.state.accounts.get(account)
        return None if acct is None else acct.positions.get(market)

    @initialize(data=st.data(), value_decimals=st.sampled_from([6, 6, 2, 18]),
                jump_guard=st.sampled_from([None, None, "0.3", "0.05"]))
    def setup(self, data, value_decimals, jump_guard):
        """Configuration (figures in quantums of `value_decimals`, the jump guard on or off),
        funded accounts, and leveraged positions to start from."""
        if value_decimals != 6:
            self.run({"op": "params", "value_decimals": value_decimals})
        if jump_guard is not None:
            self.run({"op": "params", "max_price_jump": jump_guard})
        for command in SETUP:
            events = self.run(command)
            assert not any(e["event"] == "rejected" for e in events), (command, events)
        self.fund_accounts(data)
        self.open_positions(data)

    def fund_accounts(self, data):
        """Every account opens with some USDC and USD2, most with some ETH as well."""
        for account in ACCOUNTS:
            for asset, low, high in (("USDC", 200, 8_000), ("USD2", 50, 1_000), ("ETH", 0, 2), ("stETH", 0, 1)):
                whole = data.draw(st.integers(low, high), label=f"{account} {asset}")
                if whole:
                    self.run({"op": "deposit", "account": account, "asset": asset,
                              "amount": amount_text(whole * 10 ** ASSET_DECIMALS[asset], asset)})

    def open_positions(self, data):
        """Start from leveraged positions, one of them isolated, so that price moves matter."""
        multiple = data.draw(st.sampled_from([0, 5, 10, 20, 35]), label="cross multiple")
        if multiple:
            self.leveraged_trade("ETH-PERP", "a1", "a2", data, multiple, 0)
        leverage = data.draw(st.sampled_from([None, "3", "10", "25"]), label="isolated leverage")
        if leverage is not None:
            self.run({"op": "margin_mode", "account": "a3", "market": "SOL-PERP", "mode": "isolated",
                      "leverage": leverage})
            self.small_trade("SOL-PERP", "a3", "a4", data, 0)

    # -- value ----------------------------------------------------------------------------
    @rule(account=st.one_of(accounts, accounts, accounts, st.just("@insurance")), asset=assets, data=st.data())
    def deposit(self, account, asset, data):
        units = data.draw(units_of[asset])
        self.run({"op": "deposit", "account": account, "asset": asset, "amount": amount_text(units, asset)})

    @rule(account=st.one_of(accounts, st.just("nobody")), asset=assets, data=st.data())
    def withdraw(self, account, asset, data):
        balance = self.engine.state.ledger.balance(account, asset)
        per_mille = data.draw(st.integers(1, 1500))
        units = balance * per_mille // 1000 if balance > 0 and data.draw(st.booleans()) else data.draw(units_of[asset])
        if units <= 0:
            units = 1
        self.run({"op": "withdraw", "account": account, "asset": asset, "amount": amount_text(units, asset)})

    @rule(account=accounts, data=st.data())
    def borrow_eth(self, account, data):
        """Withdraw or transfer beyond the ETH balance: a borrow, subject to the checks."""
        balance = max(self.engine.state.ledger.balance(account, "ETH"), 0)
        extra = data.draw(st.integers(1, 3 * 10**8))
        amount = amount_text(balance + extra, "ETH")
        if data.draw(st.booleans()):
            self.run({"op": "withdraw", "account": account, "asset": "ETH", "amount": amount})
        else:
            target = data.draw(accounts.filter(lambda a: a != account))
            self.run({"op": "transfer", "from": account, "to": target, "asset": "ETH", "amount": amount})

    @rule(source=accounts, recipient=st.one_of(accounts, st.just("@insurance")), asset=assets, data=st.data())
    def transfer(self, source, recipient, asset, data):
        units = data.draw(units_of[asset])
        self.run({"op": "transfer", "from": source, "to": recipient, "asset": asset, "amount": amount_text(units, asset)})

    # -- trading --------------------------------------------------------------------------
    def _trade(self, market, buyer, seller, steps, offset, buyer_fee, seller_fee) -> tuple[dict, list[dict]]:
        oracle, settle, step_decimals, price_decimals, _ = MARKETS[market]
        price = (self.mark(market) * (1000 + offset) / 1000).quantize(Decimal(1).scaleb(-price_decimals), ROUND_DOWN)
        price = max(price, Decimal(1).scaleb(-price_decimals))
        command = {
            "op": "trade", "market": market, "buyer": buyer, "seller": seller,
            "size": format_units(steps, step_decimals), "price": format(price, "f"),
        }
        if buyer_fee is not None:
            command["buyer_fee"] = amount_text(buyer_fee, settle)
        if seller_fee is not None:
            command["seller_fee"] = amount_text(seller_fee, settle)
        return command, self.run(command)

    @rule(market=markets, buyer=accounts, seller=accounts, data=st.data(),
          offset=st.integers(-50, 50), fees=st.booleans())
    def trade(self, market, buyer, seller, data, offset, fees):
        steps = data.draw(st.integers(1, MARKETS[market][4]))
        settle = MARKETS[market][1]
        fee = st.one_of(st.none(), st.integers(0, 5 * 10 ** ASSET_DECIMALS[settle])) if fees else st.none()
        command, events = self._trade(market, buyer, seller, steps, offset, data.draw(fee), data.draw(fee))
        if buyer == seller:
            assert is_rejection(events) and events[0]["code"] == "self_trade"

    @rule(market=markets, buyer=accounts, seller=accounts, data=st.data(), offset=st.integers(-20, 20))
    def small_trade(self, market, buyer, seller, data, offset):
        if buyer != seller:
            steps = data.draw(st.integers(1, MARKETS[market][4] // 10))
            self._trade(market, buyer, seller, steps, offset, None, None)

    @rule(market=markets, buyer=accounts, seller=accounts, data=st.data(),
          multiple=st.sampled_from([1, 3, 8, 15, 30, 60]), offset=st.integers(-10, 10))
    def leveraged_trade(self, market, buyer, seller, data, multiple, offset):
        """A trade sized to a multiple of the smaller free collateral of the two sides: high
        leverage, tier crossings, and refusals for insufficient margin."""
        if buyer == seller:
            return
        free = min(Decimal(self.engine.account(a)["free_collateral"]) for a in (buyer, seller))
        if free <= 0:
            return
        step_decimals = MARKETS[market][2]
        steps = int((free * multiple / self.mark(market)).scaleb(step_decimals))
        steps = min(max(steps, 1), 10**8)
        self._trade(market, buyer, seller, steps, offset, None, None)

    @rule(market=markets, data=st.data(), offset=st.integers(-50, 50))
    def reduce(self, market, data, offset):
        """A trade that only reduces one side's position: never refused for that side."""
        holders = sorted(a for a in ACCOUNTS if self.position(a, market) is not None)
        if not holders:
            return
        reducer = data.draw(st.sampled_from(holders))
        other = data.draw(accounts.filter(lambda a: a != reducer))
        position = self.position(reducer, market)
        step_decimals = MARKETS[market][2]
        total_steps = int(abs(position.size).scaleb(step_decimals))
        steps = data.draw(st.integers(1, total_steps))
        long = position.size > 0
        buyer, seller = (other, reducer) if long else (reducer, other)
        command, events = self._trade(market, buyer, seller, steps, offset, None, None)
        if is_rejection(events):
            role = "seller" if long else "buyer"
            assert not events[0]["message"].startswith(f"{role} {reducer} "), (command, events)
            # the admission check alone must accept the reducing side
            size = -Decimal(command["size"]) if long else Decimal(command["size"])
            check = self.run_query({"op": "order_check", "account": reducer, "market": market,
                                    "size": format(size, "f"), "price": command["price"]})
            assert check[0]["event"] == "order_check" and check[0]["accepted"] is True, (command, check)

    @rule(account=accounts, market=markets, mode=st.sampled_from(["cross", "isolated", "isolated"]), leverage=leverages)
    def margin_mode(self, account, market, mode, leverage):
        command = {"op": "margin_mode", "account": account, "market": market, "mode": mode}
        if leverage is not None:
            command["leverage"] = leverage
        events = self.run(command)
        if self.position(account, market) is not None:
            assert is_rejection(events) and events[0]["code"] == "position_open"

    @rule(data=st.data())
    def isolated_margin(self, data):
        isolated = sorted(
            (a, m) for a in ACCOUNTS for m in MARKETS if (p := self.position(a, m)) is not None and p.isolated
        )
        account, market = data.draw(st.sampled_from(isolated) if isolated else st.tuples(accounts, markets))
        settle = MARKETS[market][1]
        units = data.draw(st.one_of(st.integers(1, 2_000 * 10 ** ASSET_DECIMALS[settle]),
                                    st.integers(1, 50 * 10 ** ASSET_DECIMALS[settle])))
        sign = data.draw(st.sampled_from([1, -1]))
        self.run({"op": "isolated_margin", "account": account, "market": market,
                  "amount": amount_text(sign * units, settle)})

    @rule(policy=st.sampled_from(["partial", "partial", "full"]), bad_debt=st.sampled_from(["adl", "socialize"]),
          buffer=st.sampled_from(["0", "0.1", "0.1", "0.5"]))
    def liquidation_params(self, policy, bad_debt, buffer):
        events = self.run({"op": "params", "liquidation_policy": policy, "bad_debt_policy": bad_debt,
                           "liquidation_buffer": buffer})
        assert not is_rejection(events), events

    # -- market data ----------------------------------------------------------------------
    def send_price(self, command: dict) -> list[dict]:
        """A price command; a price the guards do not believe changes no price."""
        oracle = command["oracle"]
        before = self.engine.state.book.prices.get(oracle)
        events = self.run(command)
        verdicts = [e for e in events if e["event"] == "oracle"]
        if is_rejection(events) or (verdicts and verdicts[0]["status"] != "ok"):
            assert self.engine.state.book.prices.get(oracle) == before, (command, events)
        else:
            assert self.engine.state.book.prices[oracle] == Decimal(command["price"]), (command, events)
        return events

    @rule(oracle=st.sampled_from(sorted(ORACLES)), factor=price_factors,
          confidence=st.one_of(st.none(), st.none(), st.sampled_from(["0.001", "0.019", "0.021", "0.5"])))
    def price(self, oracle, factor, confidence=None):
        current = self.engine.state.book.prices[oracle]
        new = (current * factor / 1000).quantize(Decimal("0.01"), ROUND_DOWN)
        new = min(max(new, MIN_PRICE), MAX_PRICE)
        command = {"op": "price", "oracle": oracle, "price": format(new, "f")}
        if confidence is not None:  # a fraction of the price (the default limit is 2 %)
            command["confidence"] = format((new * Decimal(confidence)).quantize(Decimal("0.0001")), "f")
        self.send_price(command)

    @rule(oracle=st.sampled_from(sorted(ORACLES)),
          factor=st.sampled_from([300, 500, 700, 800, 900, 950, 1050, 1100, 1250, 1500, 2000, 3000]))
    def jump(self, oracle, factor):
        self.price(oracle, factor)

    @rule(oracle=st.sampled_from(sorted(ORACLES)), per_mille=st.integers(985, 1015))
    def confirm_jump(self, oracle, per_mille):
        """A tick near a held jump (within the 2 % confirmation tolerance, or just outside)."""
        record = self.engine.state.oracles.get(oracle)
        if record is None or record.pending is None:
            return
        new = max((record.pending * per_mille / 1000).quantize(Decimal("0.01"), ROUND_DOWN), MIN_PRICE)
        self.send_price({"op": "price", "oracle": oracle, "price": format(new, "f")})

    @rule(oracle=st.sampled_from(sorted(ORACLES)), behind=st.integers(0, 7200), factor=st.integers(990, 1010))
    def late_price(self, oracle, behind, factor):
        """A price stamped in the past: out of order, too old for ETH-PERP's hour, or fine."""
        clock = self.engine.state.clock
        if clock is None:
            return
        current = self.engine.state.book.prices[oracle]
        new = max((current * factor / 1000).quantize(Decimal("0.01"), ROUND_DOWN), MIN_PRICE)
        self.send_price({"op": "price", "oracle": oracle, "price": format(new, "f"), "ts": int(clock) - behind})

    @rule(market=markets, rate=st.integers(-10_000, 10_000))
    def funding(self, market, rate):
        events = self.run({"op": "funding", "market": market, "rate": format_units(rate, 6)})
        assert not is_rejection(events) or events[0]["code"] == "oracle_stale", events

    @rule(seconds=st.one_of(st.integers(0, 10_000), st.integers(0, 40 * 86400)))
    def time(self, seconds):
        clock = self.engine.state.clock or Decimal(1_700_000_000)
        self.run({"op": "time", "ts": int(clock) + seconds})

    @rule(per_mille=st.sampled_from([900, 990, 1000, 1001, 1010, 1100, 1500]), seconds=st.integers(0, 90 * 86400))
    def exchange_rate(self, per_mille, seconds):
        """A reported stETH rate: drops, small rises, and rises far beyond the 10 % a year cap."""
        current = self.engine.state.book.exchange_rates["stETH"]
        reported = (current * per_mille / 1000).quantize(Decimal("1e-12"), ROUND_DOWN)
        clock = self.engine.state.clock or Decimal(1_700_000_000)
        events = self.run({"op": "exchange_rate", "asset": "stETH", "rate": format(reported, "f"),
                           "ts": int(clock) + seconds})
        [report] = [e for e in events if e["event"] == "exchange_rate"]
        applied = Decimal(report["applied"])
        assert applied <= reported and report["clamped"] is (applied < reported)
        assert self.engine.state.book.exchange_rates["stETH"] == applied

    # -- queries, duplicates, refusals ----------------------------------------------------
    @rule(account=accounts, market=markets, data=st.data(), offset=st.integers(-50, 50))
    def order_check(self, account, market, data, offset):
        step_decimals = MARKETS[market][2]
        steps = data.draw(st.integers(-MARKETS[market][4], MARKETS[market][4]).filter(bool))
        price = (self.mark(market) * (1000 + offset) / 1000).quantize(Decimal("0.01"), ROUND_DOWN)
        self.run_query({"op": "order_check", "account": account, "market": market,
                        "size": format_units(steps, step_decimals), "price": format(max(price, Decimal("0.01")), "f")})

    @rule(account=st.one_of(accounts, st.sampled_from(["@insurance", "@fees", "@pnl:ETH-PERP"])))
    def account_query(self, account):
        events = self.run_query({"op": "account", "account": account})
        if self.engine.state.account_exists(account):
            assert events[0]["event"] == "account"
            expected = self.engine.account(account)
            assert encode({k: v for k, v in events[0].items() if k not in ("event", "seq", "account")}) == encode(expected)
        else:
            assert events[0]["code"] == "unknown_account"

    @precondition(lambda self: self.applied_ids)
    @rule(data=st.data())
    def resend_duplicate(self, data):
        client_id, command = data.draw(st.sampled_from(self.applied_ids))
        events = self.run(command, with_id=False)
        assert is_rejection(events) and events[0]["code"] == "duplicate", (command, events)

    @rule(data=st.data())
    def bad_command(self, data):
        """A refused command in a non-trivial state: nothing may change (checked in run)."""
        account = data.draw(accounts)
        command = data.draw(st.sampled_from([
            {"op": "deposit", "account": account, "asset": "USD2", "amount": "1.001"},
            {"op": "withdraw", "account": account, "asset": "USDC", "amount": "-5"},
            {"op": "trade", "market": "ETH-PERP", "buyer": account, "seller": "a1" if account != "a1" else "a2",
             "size": "0.015", "price": "3000"},
            {"op": "transfer", "from": account, "to": "ghost", "asset": "USDC", "amount": "1"},
            {"op": "isolated_margin", "account": account, "market": "NOPE", "amount": "1"},
            {"op": "price", "oracle": "ETH-USD", "price": "NaN"},
            {"op": "funding", "market": "BTC-PERP", "rate": "2"},
            {"op": "deposit", "account": account, "asset": "USDC", "amount": "1", "colour": "red"},
        ]))
        events = self.run(command)
        assert is_rejection(events), (command, events)

    # -- invariants -----------------------------------------------------------------------
    @invariant()
    def conservation(self):
        ledger = self.engine.state.ledger
        assert ledger.is_balanced()
        sums = {asset: 0 for asset in ASSET_DECIMALS}
        deposits = {asset: 0 for asset in ASSET_DECIMALS}
        borrows = {asset: 0 for asset in ASSET_DECIMALS}
        for account in list(ledger.accounts()):
            for asset, units in ledger.balances(account).items():
                assert units != 0, "the ledger keeps no zero balances"
                if account == EXTERNAL:
                    continue
                sums[asset] += units
                if not account.startswith(PNL_PREFIX):
                    if units > 0:
                        deposits[asset] += units
                    else:
                        borrows[asset] -= units
        assert sums == self.net_deposits
        for asset in ASSET_DECIMALS:
            assert ledger.net_deposits(asset) == self.net_deposits[asset]
            assert ledger.total_deposits(asset) == deposits[asset], asset
            assert ledger.total_borrows(asset) == borrows[asset], asset

    @invariant()
    def cached_figures_match_recomputation(self):
        engine = self.engine
        state = engine.state
        monitor = engine.monitor
        book = state.book
        expected_liquidatable = set()
        expected_called = set()
        with localcontext(ARITHMETIC):
            for account_id, account in state.accounts.items():
                if is_system(account_id):
                    continue
                units = [(account_id, "")]
                figures = [cross_figures(state.ledger.balances(account_id),
                                         [p for p in account.positions.values() if not p.isolated], book)]
                for market, position in account.positions.items():
                    assert position.size != 0
                    assert account_id in state.holders.of(market)
                    if position.isolated:
                        settle = book.markets[market].settle
                        wallet = state.ledger.balance(isolated_wallet(account_id, market), settle)
                        units.append((account_id, market))
                        figures.append(isolated_figures(wallet, book.assets[settle].decimals, position, book))
                for unit, fig in zip(units, figures):
                    _screen_row_bounds(engine, unit, fig)
                    if fig.liquidatable:
                        expected_liquidatable.add(unit)
                    # margin calls are about an account's cross free collateral; an isolated
                    # position is watched for its health only
                    if not unit[1] and fig.free_collateral < 0 and fig.at_risk:
                        expected_called.add(unit)
        assert monitor.liquidatable == expected_liquidatable, (
            f"monitor says {sorted(monitor.liquidatable)}, recomputation {sorted(expected_liquidatable)}")
        assert monitor.margin_called == expected_called, (
            f"monitor says {sorted(monitor.margin_called)}, recomputation {sorted(expected_called)}")
        # the holder bitmaps hold exactly the accounts with a position, and count them
        for market in state.holders.markets():
            holders = state.holders.of(market)
            assert holders == sorted(a for a, acct in state.accounts.items() if market in acct.positions)
            assert state.holders.count(market) == len(holders)
        # each screen row knows its unit, and a released row none
        rows = monitor.unit_rows()
        for unit, row in rows:
            assert monitor.row_of(unit) == row
            # an isolated row's owner is its unit, a cross row's the account itself
            assert monitor.owners[row] == unit if unit[1] else monitor.owners[row] is state.accounts[unit[0]]
            assert monitor.account_of(row) == unit[0]
        assert sum(1 for owner in monitor.owners if owner != "") == len(rows)
        assert len({row for _, row in rows}) == len(rows)  # no row has two units
        for account_id in state.accounts:  # and each account's cross row is its own
            row = monitor.row_of((account_id, ""))
            assert row is None or monitor.owners[row] is state.accounts[account_id]
        # every fill has two sides: open interest nets to zero in every market
        for market in MARKETS:
            net = sum((acct.positions[market].size for acct in state.accounts.values() if market in acct.positions),
                      Decimal(0))
            assert net == 0, (market, net)
            # the exact PnL of a flat market sums to zero, so once no position is open its
            # pool has paid every account its rounded-down share and swept the dust (≥ 0)
            # to the insurance fund: nothing is left, and it never went negative
            if not state.holders.count(market):
                settle = MARKETS[market][1]
                assert state.ledger.balance(PNL_PREFIX + market, settle) == 0, market

    @invariant()
    def document_is_consistent(self):
        document = self.engine.state_document()
        assert document["ledger"]["balanced"] is True
        assert document["ledger"]["hash"] == self.engine.state_hash()
        monitor = self.engine.monitor
        for account_id, entry in document["accounts"].items():
            health = Decimal(entry["health"])
            factor = entry["health_factor"]
            if factor is None:
                assert health >= 0, (account_id, entry)
            else:
                assert (health < 0) == (Decimal(factor) < 1), (account_id, entry["health"], factor)
            if entry["margin_ratio"] is None:
                assert Decimal(entry["equity_maint"]) <= 0
            if not is_system(account_id):
                assert entry["liquidatable"] == ((account_id, "") in monitor.liquidatable), (account_id, entry)
                for market, position in entry["positions"].items():
                    if position["mode"] == "isolated":
                        assert position["liquidatable"] == ((account_id, market) in monitor.liquidatable)
            else:
                assert entry["liquidatable"] is False
            assert entry["equity"] is not None
        for asset, units in self.net_deposits.items():
            total = sum(Decimal(e["balances"].get(asset, "0")) for e in document["accounts"].values())
            wallets = sum(
                self.engine.state.ledger.balance(isolated_wallet(a, m), asset)
                for a in ACCOUNTS for m in MARKETS
            )
            assert total + Decimal(wallets).scaleb(-ASSET_DECIMALS[asset]) == Decimal(units).scaleb(-ASSET_DECIMALS[asset])
        self.snapshot_cache = self.snapshot(document)  # the "before" of the next command

    # -- teardown: (e) replay ---------------------------------------------------------------
    def teardown(self) -> None:
        final_hash = self.engine.state_hash()
        final_document = encode(self.engine.state_document())
        recorded = encode([events for _, events in self.log])
        replica = Engine()
        replayed = [replica.apply(copy.deepcopy(command)) for command, _ in self.log]
        assert encode(replayed) == recorded
        assert replica.state_hash() == final_hash
        assert encode(replica.state_document()) == final_document
        # the same stream as JSON text: the same events and state
        texted = Engine()
        replayed_text = [texted.apply(encode(command).decode()) for command, _ in self.log]
        assert encode(replayed_text) == recorded
        assert texted.state_hash() == final_hash
        # (h) a snapshot restores the same state, and the restored engine goes on identically
        restored = restore(snapshot(self.engine))
        assert restored.state_hash() == final_hash
        assert encode(restored.state_document()) == final_document
        assert restored.monitor.liquidatable == self.engine.monitor.liquidatable
        assert restored.monitor.margin_called == self.engine.monitor.margin_called
        for oracle, factor in (("ETH-USD", "0.6"), ("BTC-USD", "1.7")):
            price = self.engine.state.book.prices.get(oracle)
            if price is not None:
                tick = {"op": "price", "oracle": oracle, "price": format(price * Decimal(factor), "f")}
                assert encode(restored.apply(dict(tick))) == encode(self.engine.apply(dict(tick)))
        assert restored.state_hash() == self.engine.state_hash()


FAST = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

TestEngineStateMachine = EngineMachine.TestCase
TestEngineStateMachine.settings = FAST


@pytest.fixture(autouse=True)
def check_liquidations(monkeypatch):
    """(g): every liquidation the engine runs in this module is checked as it happens.
    Not in the compiled build (tools/install-compiled.sh): a compiled `run` calls the compiled
    `_liquidate` directly, so no wrapper can see the calls; (g) is checked on the pure build,
    and the rest of the machine on both."""
    recorder = LiquidationRecorder()
    if hasattr(liquidation.run, "__code__"):  # pure Python; a mypyc function has no code object
        monkeypatch.setattr(liquidation, "_liquidate", recorder)
    yield recorder


@pytest.mark.slow
def test_engine_state_machine_heavy() -> None:
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=400,
            stateful_step_count=120,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# -- (d) at the edge: one quantum below zero ------------------------------------------------------

def _borrower(value_decimals: int, usdc: str, eth_price_at_borrow: str, eth_borrowed: str, eth_price: str) -> dict:
    """alice holds `usdc` and borrows `eth_borrowed` ETH (liability weight 1.1 for maintenance);
    then the ETH price moves to `eth_price`. Returns alice's account entry."""
    engine = Engine()
    if value_decimals != 6:
        assert engine.apply({"op": "params", "value_decimals": value_decimals}) == []
    assert engine.apply({"op": "params", "liquidations": "paused"}) == []  # keep the breach to read it
    for command in SETUP[:3]:
        assert engine.apply(command) == []
    commands = [
        {"op": "price", "oracle": "ETH-USD", "price": eth_price_at_borrow},
        {"op": "deposit", "account": "carol", "asset": "ETH", "amount": eth_borrowed},
        {"op": "deposit", "account": "alice", "asset": "USDC", "amount": usdc},
        {"op": "withdraw", "account": "alice", "asset": "ETH", "amount": eth_borrowed},
        {"op": "price", "oracle": "ETH-USD", "price": eth_price},
    ]
    for command in commands:
        assert not is_rejection(engine.apply(command)), command
    entry = engine.state_document()["accounts"]["alice"]
    assert entry == engine.account("alice")
    return entry


@pytest.mark.parametrize("value_decimals, usdc, borrowed, price", [
    # $1000 of debt, figures in 10^-18: health is one quantum below zero
    (18, "1000", "1", "909.090909090909090910"),
    # the same at the default 10^-6, on a large book
    (6, "1099999999999999.999999", "100000000000", "10000"),
])
def test_health_factor_below_one_exactly_when_health_negative_at_one_quantum(value_decimals, usdc, borrowed, price):
    """SPEC §5: `health_factor < 1 exactly when health < 0`. A/L = 1 − 1/L here; printed
    with too few digits, or rounded to nearest, it reads "1" while health < 0."""
    entry = _borrower(value_decimals, usdc, "700", borrowed, price)
    quantum = Decimal(1).scaleb(-value_decimals)
    assert Decimal(entry["health"]) == -quantum
    assert entry["liquidatable"] is True
    assert Decimal(entry["health_factor"]) < 1, entry["health_factor"]


def test_health_factor_at_exactly_zero_health() -> None:
    entry = _borrower(18, "1100", "700", "1", "1000")  # 1 ETH × 1000 × 1.1 = 1100
    assert Decimal(entry["health"]) == 0
    assert entry["liquidatable"] is False
    assert Decimal(entry["health_factor"]) == 1
