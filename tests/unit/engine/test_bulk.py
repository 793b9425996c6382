"""solvent.engine.bulk.load_book: a whole book loaded at once is the same book that trades
would have built, and a bad one changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent import Engine
from solvent.domain.errors import Rejection
from solvent.engine.bulk import Holding, load_book
from solvent.risk.screen import HealthScreen

CONFIG = [
    {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"},
    {"op": "market", "id": "BTC-PERP", "oracle": "BTC", "settle": "USDC", "step_size": "0.001",
     "liquidation_fee": "0.01", "tiers": [{"max_notional": "50000", "mmr": "0.01", "max_leverage": "50"},
                                          {"mmr": "0.02", "max_leverage": "20"}]},
    {"op": "price", "oracle": "BTC", "price": "60000"},
]
D = Decimal


def configured(screen: HealthScreen | None = None) -> Engine:
    engine = Engine(screen)
    for command in CONFIG:
        assert engine.apply(command) == []
    return engine


def test_a_loaded_book_equals_the_book_trades_build():
    """alice long 0.5 @ 58,000 and bob short 0.5 @ 58,000 on 10,000 USDC each: loaded, or
    deposited and traded, the state document and hash are the same."""
    traded = configured()
    for account in ("alice", "bob"):
        traded.apply({"op": "deposit", "account": account, "asset": "USDC", "amount": "10000"})
    traded.apply({"op": "trade", "market": "BTC-PERP", "buyer": "alice", "seller": "bob", "size": "0.500", "price": "58000"})
    loaded = configured()
    count = load_book(loaded, [("alice", "USDC", 10_000 * 10**6), ("bob", "USDC", 10_000 * 10**6)],
                      [Holding.at("alice", "BTC-PERP", D("0.500"), D("58000")),
                       Holding.at("bob", "BTC-PERP", D("-0.500"), D("58000"))])
    assert count == 2
    assert loaded.state_document() == traded.state_document()
    assert loaded.state_hash() == traded.state_hash()
    # and it goes on the same way
    tick = {"op": "price", "oracle": "BTC", "price": "40000"}
    assert loaded.apply(dict(tick)) == traded.apply(dict(tick))


def test_loaded_accounts_in_breach_are_flagged():
    """carol: 1,000 USDC, long 1 @ 60,000 (maintenance 1,200 − 500 (cum) = 700 at tier 2):
    health 1,000 − 700 = 300; at 59,500: 500 − 690 < 0."""
    engine = configured()
    assert engine.apply({"op": "params", "liquidations": "paused"}) == []
    load_book(engine, [("carol", "USDC", 1000 * 10**6), ("mm", "USDC", 10**12)],
              [Holding.at("carol", "BTC-PERP", D("1"), D("60000")), Holding.at("mm", "BTC-PERP", D("-1"), D("60000"))])
    assert engine.account("carol")["health"] == "300.000000"
    engine.apply({"op": "price", "oracle": "BTC", "price": "59500"})
    assert ("carol", "") in engine.monitor.liquidatable


@pytest.mark.parametrize("balances, holdings, code", [
    ([("a", "USDC", 1)], [Holding.at("a", "BTC-PERP", D("1"), D("60000"))], "unbalanced_book"),
    ([("a", "USDC", 1), ("b", "USDC", 1)],
     [Holding.at("a", "BTC-PERP", D("1"), D("60000")), Holding.at("b", "BTC-PERP", D("-1"), D("59000"))],
     "unbalanced_book"),  # sizes net to zero, costs do not
    ([("a", "USDC", 1)], [Holding.at("a", "ETH-PERP", D("1"), D("1"))], "unknown_market"),
    ([("a", "DOGE", 1)], [], "unknown_asset"),
    ([("a", "USDC", -5)], [], "invalid_amount"),
    ([("@insurance", "USDC", 5)], [], "system_account"),
    ([("bad id!", "USDC", 5)], [], "invalid_id"),
    ([("a", "USDC", 1)], [Holding.at("a", "BTC-PERP", D("0.0005"), D("60000"))], "invalid_size"),
    ([("a", "USDC", 1)], [Holding.at("a", "BTC-PERP", D("1"), D("-3"))], "invalid_size"),
])
def test_a_bad_book_is_refused_whole(balances, holdings, code):
    engine = configured()
    before = engine.state_hash()
    with pytest.raises(Rejection) as refusal:
        load_book(engine, balances, holdings)
    assert refusal.value.code == code
    assert engine.state_hash() == before and not engine.state.accounts


def test_loading_twice_is_refused():
    engine = configured()
    load_book(engine, [("a", "USDC", 1)], [])
    with pytest.raises(Rejection) as refusal:
        load_book(engine, [("b", "USDC", 1)], [])
    assert refusal.value.code == "accounts_exist"


class CountingScreen(HealthScreen):
    """The screen, recording how many rows were staged at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.staged_at_flush: list[int] = []

    def flush(self) -> None:
        self.staged_at_flush.append(len(self._staged))
        super().flush()


def _screen_bytes(engine: Engine) -> tuple:
    screen = engine.monitor.screen
    columns = tuple(tuple(bytes(values) for values in (c.rows, c.slope_h, c.slope_f, c.low, c.high))
                    for c in screen.columns)
    rows = screen.rows
    return (screen.margins[:, :rows].tobytes(), screen.record[:rows].tobytes(), columns,
            bytes(screen._line_count[:rows]), dict(screen._overflow), dict(engine.monitor.unit_rows()))


def test_a_long_evaluation_writes_its_staged_rows_as_it_goes(monkeypatch):
    """Loading 30 accounts with FLUSH_EVERY = 4: no more than 4 rows are ever staged at once
    (each staged row holds its lines as Python objects: a million of them would double the
    load's peak memory), and the screen ends bit for bit as one flush at the end leaves it."""
    from solvent.engine import monitor as monitor_module

    def book() -> tuple[list, list]:
        balances = [(f"t{n:02d}", "USDC", (1_000 + 37 * n) * 10**6) for n in range(29)] + [("mm", "USDC", 10**12)]
        holdings = [Holding.at(f"t{n:02d}", "BTC-PERP", D("0.010") * (n + 1) * (1 if n % 2 else -1), D("60000"))
                    for n in range(29)]
        net = sum((h.size for h in holdings), D(0))
        return balances, holdings + [Holding.at("mm", "BTC-PERP", -net, D("60000"))]

    at_once = configured()
    monkeypatch.setattr(monitor_module, "FLUSH_EVERY", 10**9)
    load_book(at_once, *book())

    monkeypatch.setattr(monitor_module, "FLUSH_EVERY", 4)
    screen = CountingScreen()
    chunked = configured(screen)
    screen.staged_at_flush.clear()  # (configuring flushes too)
    load_book(chunked, *book())
    assert screen.staged_at_flush == [4] * 7 + [2]  # one row each, written after every 4th; the last 2 at the end
    assert not screen._staged
    assert _screen_bytes(chunked) == _screen_bytes(at_once)
    assert chunked.state_hash() == at_once.state_hash()
