"""Worked scenarios for `solvent.engine.trading`: trade, order_check, margin_mode,
isolated_margin.

Every expected figure is computed by hand in the test's docstring or comments, from SPEC §2,
§5, §6, ARCHITECTURE.md ("Decisions where the SPEC is silent") and MARGIN_MODEL.md (cost
basis, rounding table). Balances are read from the ledger in integer quantums or from the
state document (SPEC §4).

The market used throughout, unless a test says otherwise: ETH-PERP on oracle ETH, settled in
USDC (a quote asset, weights 1), one tier with mmr 0.05 and max_leverage 10, so for a cross
position at mark M: initial margin = |q| × M / 10, maintenance margin = |q| × M × 0.05.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from solvent import Engine
from solvent.ledger import EXTERNAL

from ._steps import named, ok, refused

MARKET = "ETH-PERP"
POOL = "@pnl:ETH-PERP"


# -- helpers ---------------------------------------------------------------------------------





def setup(decimals: int = 6, *, mmr: str = "0.05", max_leverage: str = "10", step: str = "0.01",
          mark: str = "100", cost_basis: str | None = None) -> Engine:
    engine = Engine()
    ok(engine, {"op": "asset", "id": "USDC", "decimals": decimals, "oracle": None,
                "weight_init": "1", "weight_maint": "1"})
    ok(engine, {"op": "market", "id": MARKET, "oracle": "ETH", "settle": "USDC", "step_size": step,
                "liquidation_fee": "0.01", "tiers": [{"mmr": mmr, "max_leverage": max_leverage}]})
    if cost_basis is not None:
        ok(engine, {"op": "params", "cost_basis": cost_basis})
    ok(engine, {"op": "price", "oracle": "ETH", "price": mark})
    return engine


def deposit(engine: Engine, account: str, amount: str) -> None:
    ok(engine, {"op": "deposit", "account": account, "asset": "USDC", "amount": amount})


def trade(engine: Engine, buyer: str, seller: str, size: str, price: str,
          buyer_fee: str = "0", seller_fee: str = "0") -> list[dict[str, Any]]:
    return ok(engine, trade_cmd(buyer, seller, size, price, buyer_fee, seller_fee))


def trade_cmd(buyer: str, seller: str, size: str, price: str, buyer_fee: str = "0",
              seller_fee: str = "0") -> dict[str, Any]:
    return {"op": "trade", "market": MARKET, "buyer": buyer, "seller": seller, "size": size,
            "price": price, "buyer_fee": buyer_fee, "seller_fee": seller_fee}


def set_price(engine: Engine, price: str) -> list[dict[str, Any]]:
    return ok(engine, {"op": "price", "oracle": "ETH", "price": price})


def bal(engine: Engine, account: str, asset: str = "USDC") -> int:
    return engine.state.ledger.balance(account, asset)


def wallet(engine: Engine, account: str) -> int:
    """The isolated margin of `account` in ETH-PERP, in quantums (from the state document)."""
    text = engine.account(account)["positions"][MARKET]["isolated_margin"]
    return int(Decimal(text).scaleb(engine.state.book.assets["USDC"].decimals))


def position(engine: Engine, account: str) -> dict[str, Any] | None:
    return engine.account(account)["positions"].get(MARKET)


def conserved(engine: Engine, deposited: int, asset: str = "USDC") -> None:
    """SPEC §6 conservation, checked by the test itself: all balances but the outside world's
    sum to what was deposited (minus withdrawn), and the engine's own check agrees."""
    ledger = engine.state.ledger
    total = sum(ledger.balance(a, asset) for a in list(ledger.accounts()) if a != EXTERNAL)
    assert total == deposited
    assert engine.state_document()["ledger"]["balanced"] is True




# -- cost basis -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "basis, first_realized, entry_left, second_realized",
    [
        # average: cost 100 + 110 = 210 for 2, entry 105. Selling 1 @120 realizes
        # 1/2 × (2 × 120 − 210) = 15; the cost left is 210 − (120 − 15) = 105 → entry 105.
        # Closing the last unit @120 realizes 1 × 120 − 105 = 15.
        ("average", 15, "105", 15),
        # fifo: the oldest lot (1 @100) closes first: 1 × (120 − 100) = 20; the lot 1 @110
        # is left (entry 110). Closing it @120 realizes 120 − 110 = 10.
        ("fifo", 20, "110", 10),
    ],
)
def test_average_and_fifo_realize_by_hand(basis, first_realized, entry_left, second_realized):
    """buy 1 @100, buy 1 @110, sell 1 @120, then sell the last 1 @120. Both bases realize
    the same total, 2 × 120 − 210 = 30, split differently. The maker takes the mirror image
    (short 2 at the same fills), so the pool ends at 0."""
    q = 10**6
    e = setup(cost_basis=basis)
    deposit(e, "alice", "1000")
    deposit(e, "maker", "1000")
    trade(e, "alice", "maker", "1", "100")
    trade(e, "alice", "maker", "1", "110")
    trade(e, "maker", "alice", "1", "120")
    assert bal(e, "alice") == (1000 + first_realized) * q
    assert bal(e, "maker") == (1000 - first_realized) * q
    assert bal(e, POOL) == 0
    alice = position(e, "alice")
    assert alice["size"] == "1.00"
    assert alice["entry_price"] == entry_left
    assert alice["realized_pnl"] == f"{first_realized}.000000"
    maker = position(e, "maker")
    assert maker["size"] == "-1.00"
    assert maker["entry_price"] == entry_left
    assert maker["realized_pnl"] == f"-{first_realized}.000000"
    trade(e, "maker", "alice", "1", "120")
    assert first_realized + second_realized == 30
    assert bal(e, "alice") == 1030 * q
    assert bal(e, "maker") == 970 * q
    assert position(e, "alice") is None and position(e, "maker") is None
    conserved(e, 2000 * q)


def test_average_partial_close_floors_and_keeps_the_remainder_in_the_position():
    """USDC with 2 decimals (quantum 0.01), step 1.

    alice buys 1 @10.00 and 2 @10.01: size 3, cost 30.02 (exact entry 10.00666…).
    She sells 1 @10.02: the exact share is 1/3 × (3 × 10.02 − 30.02) = 0.04 / 3 = 0.01333…,
    not a whole quantum: 0.01 is realized (floored) and the cost removed is
    1 × 10.02 − 0.01 = 10.01, so the cost left is 30.02 − 10.01 = 20.01 for 2: entry 10.005,
    which moved from 10.00666… by 0.00166… < 0.01 (one quantum) per unit.
    The maker (short 3, cost −30.02) buying 1 @10.02: share −0.04 / 3 = −0.01333… floors to
    −0.02; cost removed −10.02 + 0.02 = −10.00, cost left −20.02 for −2: entry 10.01.
    Pool after: +0.02 from the maker, −0.01 to alice = +0.01.
    Closing the rest @10.02: alice 2 × 10.02 − 20.01 = 0.03, maker −20.04 + 20.02 = −0.02.
    Totals: alice 0.01 + 0.03 = 0.04 = 3 × 10.02 − 30.02 exactly; maker −0.04; pool 0.
    """
    e = setup(decimals=2, step="1", mark="10.01")
    deposit(e, "alice", "100")
    deposit(e, "maker", "100")
    trade(e, "alice", "maker", "1", "10.00")
    trade(e, "alice", "maker", "2", "10.01")
    trade(e, "maker", "alice", "1", "10.02")
    assert bal(e, "alice") == 10001
    assert bal(e, "maker") == 9998
    assert bal(e, POOL) == 1
    assert bal(e, "@insurance") == 0  # a floored share is a whole quantum: no dust
    alice = position(e, "alice")
    assert alice["size"] == "2"
    assert alice["entry_price"] == "10.005"
    assert alice["realized_pnl"] == "0.01"
    assert abs(Decimal(alice["entry_price"]) - Decimal("30.02") / 3) < Decimal("0.01")
    maker = position(e, "maker")
    assert maker["entry_price"] == "10.01"
    assert maker["realized_pnl"] == "-0.02"
    trade(e, "maker", "alice", "2", "10.02")
    assert bal(e, "alice") == 10004
    assert bal(e, "maker") == 9996
    assert bal(e, POOL) == 0
    assert position(e, "alice") is None and position(e, "maker") is None
    conserved(e, 20000)


def test_flip_long_to_short_opens_the_rest_at_the_fill_price():
    """alice long 1 @100 sells 3 @120: 1 closes (+20 realized), 2 open short at 120.
    The maker, short 1 @100, buys 3 @120: −20 realized, long 2 at 120."""
    q = 10**6
    e = setup()
    deposit(e, "alice", "1000")
    deposit(e, "maker", "1000")
    trade(e, "alice", "maker", "1", "100")
    trade(e, "maker", "alice", "3", "120")
    alice = position(e, "alice")
    assert (alice["size"], alice["entry_price"], alice["realized_pnl"]) == ("-2.00", "120", "0.000000")
    maker = position(e, "maker")
    assert (maker["size"], maker["entry_price"]) == ("2.00", "120")
    assert bal(e, "alice") == 1020 * q
    assert bal(e, "maker") == 980 * q
    # at mark 100: alice's short of 2 from 120 is up 2 × 20 = 40
    assert alice["unrealized_pnl"] == "40.000000"
    conserved(e, 2000 * q)


def test_fees_go_to_the_fees_account():
    """Fees are amounts of the settle asset, paid from each side's cross balance:
    buyer 0.5, seller 0.25 → @fees 0.75; alice 1000 − 0.5, maker 1000 − 0.25."""
    e = setup()
    deposit(e, "alice", "1000")
    deposit(e, "maker", "1000")
    trade(e, "alice", "maker", "1", "100", buyer_fee="0.5", seller_fee="0.25")
    assert bal(e, "@fees") == 750_000
    assert bal(e, "alice") == 999_500_000
    assert bal(e, "maker") == 999_750_000
    # closing pays fees too: 0.1 each → @fees 0.95
    trade(e, "maker", "alice", "1", "100", buyer_fee="0.1", seller_fee="0.1")
    assert bal(e, "@fees") == 950_000
    assert e.state_document()["accounts"]["@fees"]["balances"] == {"USDC": "0.950000"}
    conserved(e, 2000 * 10**6)


def test_realized_pnl_legs_run_against_the_market_pool():
    """alice buys 1 @100 from the maker, then sells it @120 to bob (bob opens a long). Only
    alice realizes: +20 from @pnl:ETH-PERP, which is left at −20 (the maker's open short
    and bob's open long are its counterparties). No dust: 20 is a whole quantum."""
    q = 10**6
    e = setup()
    for who in ("alice", "maker", "bob"):
        deposit(e, who, "1000")
    trade(e, "alice", "maker", "1", "100")
    events = trade(e, "bob", "alice", "1", "120")
    assert named(events, "insurance_fund") == []
    assert bal(e, "alice") == 1020 * q
    assert bal(e, POOL) == -20 * q
    assert bal(e, "maker") == 1000 * q and bal(e, "bob") == 1000 * q
    assert bal(e, "@insurance") == 0
    assert e.state_document()["accounts"][POOL]["balances"] == {"USDC": "-20.000000"}
    conserved(e, 3000 * q)


def test_realized_pnl_dust_stays_in_the_pool_until_the_market_is_flat():
    """USDC with 2 decimals, step 0.1. alice buys 0.1 @100.05 from the maker, then sells it
    @100.00 to bob (who opens): she realizes 0.1 × (100.00 − 100.05) = −0.005, credited
    rounded down: −0.01. The pool pays exactly the account's leg, so it receives 0.01 and
    keeps the 0.005 fraction beyond the exact loss: no event yet, insurance untouched.
    Then bob sells 0.1 @100.05 back to the maker, closing both: bob realizes
    0.1 × (100.05 − 100.00) = +0.005 → credited 0.00; the maker (short 0.1 @100.05, bought
    back @100.05) realizes 0. The market is flat; the exact PnL summed to −0.005 + 0.005 = 0,
    and the pool holds 0.01 − 0.00 = 0.01 of dust: it goes to @insurance with an
    `insurance_fund` event, reason "rounding", and the pool ends at 0 (it never drifts)."""
    e = setup(decimals=2, step="0.1")
    for who in ("alice", "maker", "bob"):
        deposit(e, who, "1000")
    trade(e, "alice", "maker", "0.1", "100.05")
    events = trade(e, "bob", "alice", "0.1", "100.00")
    assert named(events, "insurance_fund") == []
    assert bal(e, "alice") == 100000 - 1
    assert bal(e, POOL) == 1
    assert bal(e, "@insurance") == 0
    events = trade(e, "maker", "bob", "0.1", "100.05")
    assert bal(e, "bob") == 100000
    funds = named(events, "insurance_fund")
    assert len(funds) == 1
    assert {k: funds[0][k] for k in ("asset", "delta", "balance", "reason")} == {
        "asset": "USDC", "delta": "0.01", "balance": "0.01", "reason": "rounding"}
    assert bal(e, POOL) == 0
    assert bal(e, "@insurance") == 1
    assert e.state_document()["insurance_fund"] == {"USDC": "0.01"}
    conserved(e, 300000)


# -- admission --------------------------------------------------------------------------------

def test_a_reducing_side_is_never_refused_even_under_water():
    """alice: 100 USDC, long 10 @100 (initial margin 100: free collateral 0).
    Mark 95: unrealized −50, initial margin 95 → free = 100 − 50 − 95 = −45.
    She sells 2 @95 (only reducing): realized 2/10 × (10 × 95 − 1000) = −10 → balance 90;
    cost left 1000 − (190 + 10) = 800 for 8: entry 100; free = 90 + (760 − 800) − 76 = −26,
    still below zero, and the sale is accepted.
    Selling 20 instead would flip: the close realizes −50 (balance 50) and a short of 10 @95
    opens: free = 50 + 0 − 95 = −45 < 0 for a side that increases risk → refused."""
    q = 10**6
    e = setup()
    deposit(e, "alice", "100")
    deposit(e, "maker", "10000")
    deposit(e, "bob", "10000")
    trade(e, "alice", "maker", "10", "100")
    set_price(e, "95")
    assert e.account("alice")["free_collateral"] == "-45.000000"
    refused(e, trade_cmd("bob", "alice", "20", "95"), "insufficient_margin")
    trade(e, "bob", "alice", "2", "95")
    assert bal(e, "alice") == 90 * q
    alice = position(e, "alice")
    assert (alice["size"], alice["entry_price"]) == ("8.00", "100")
    assert e.account("alice")["free_collateral"] == "-26.000000"
    conserved(e, 20100 * q)


@pytest.mark.parametrize("side", ["buyer", "seller"])
def test_increasing_side_refused_at_minus_one_quantum_accepted_at_zero(side):
    """Opening 1 at the mark 100 needs initial margin 100 / 10 = 10 (unrealized PnL 0).
    With 9.999999 deposited free collateral would be −0.000001 → insufficient_margin, and
    nothing changes; with 10.000000 it is exactly 0 → accepted."""
    e = setup()
    deposit(e, "maker", "10000")
    deposit(e, "alice", "9.999999")
    buyer, seller = ("alice", "maker") if side == "buyer" else ("maker", "alice")
    refused(e, trade_cmd(buyer, seller, "1", "100"), "insufficient_margin")
    assert position(e, "alice") is None
    deposit(e, "alice", "0.000001")
    trade(e, buyer, seller, "1", "100")
    assert e.account("alice")["free_collateral"] == "0.000000"
    assert position(e, "alice")["size"] == ("1.00" if side == "buyer" else "-1.00")


def test_admission_counts_the_fee():
    """Opening 1 @100 at the mark with a buyer fee of 0.5 and 10.5 deposited: free
    collateral 10.5 − 0.5 − 10 = 0 → accepted. With a fee of 0.500001 it would be −0.000001
    → refused."""
    e = setup()
    deposit(e, "maker", "10000")
    deposit(e, "alice", "10.5")
    refused(e, trade_cmd("alice", "maker", "1", "100", buyer_fee="0.500001"), "insufficient_margin")
    trade(e, "alice", "maker", "1", "100", buyer_fee="0.5")
    assert e.account("alice")["free_collateral"] == "0.000000"
    assert bal(e, "@fees") == 500_000


# -- isolated positions -----------------------------------------------------------------------

def isolated_setup(leverage: str = "10", alice: str = "1000") -> Engine:
    """ETH-PERP with one tier mmr 0.05, max_leverage 20; alice isolated at `leverage`."""
    e = setup(max_leverage="20")
    deposit(e, "alice", alice)
    deposit(e, "maker", "100000")
    ok(e, {"op": "margin_mode", "account": "alice", "market": MARKET, "mode": "isolated", "leverage": leverage})
    return e


@pytest.mark.parametrize(
    "fill, margin",
    [
        # at the mark: ⌈2 × 100 / 10⌉ = 20; shortfall = initial margin at the mark
        # (200 / 10 = 20) − unrealized (0) − wallet (0) = 20 → 20
        ("100", 20),
        # above the mark: ⌈2 × 105 / 10⌉ = 21; shortfall = 20 − (2 × 100 − 210 = −10) − 0
        # = 30 → 30 (the shortfall wins: the position's own free collateral at the mark is
        # 30 − 10 − 20 = 0)
        ("105", 30),
        # below the mark: ⌈2 × 95 / 10⌉ = 19; shortfall = 20 − (+10) − 0 = 10 → 19
        ("95", 19),
    ],
)
def test_isolated_open_moves_max_of_fill_margin_and_shortfall(fill, margin):
    q = 10**6
    e = isolated_setup()
    trade(e, "alice", "maker", "2", fill)
    pos = position(e, "alice")
    assert (pos["mode"], pos["leverage"]) == ("isolated", "10")
    assert wallet(e, "alice") == margin * q
    assert bal(e, "alice") == (1000 - margin) * q
    # the cross part no longer holds the position
    entry = e.account("alice")
    assert entry["initial_margin"] == "0.000000"
    assert entry["equity"] == f"{1000 - margin}.000000"
    conserved(e, 101000 * q)


def test_isolated_fee_is_paid_from_the_cross_balance():
    """At the mark, margin 20 moves in; the fee 1.5 is paid from the cross balance too:
    cross 1000 − 20 − 1.5 = 978.5, isolated margin 20."""
    e = isolated_setup()
    trade(e, "alice", "maker", "2", "100", buyer_fee="1.5")
    assert wallet(e, "alice") == 20_000_000
    assert bal(e, "alice") == 978_500_000
    assert bal(e, "@fees") == 1_500_000


def test_isolated_partial_reduce_releases_the_floored_fraction_and_close_the_rest():
    """Leverage 7. Opening 3 @100 at the mark: ⌈300 / 7⌉ = ⌈42.857142857…⌉ = 42.857143
    (shortfall the same) → cross 1000 − 42.857143 = 957.142857.
    Selling 1 @100 (no PnL) releases ⌊42.857143 × 1/3⌋ = ⌊14.285714333…⌋ = 14.285714:
    margin 28.571429, cross 971.428571. Selling the last 2 @100 returns all 28.571429:
    cross 1000 exactly."""
    e = isolated_setup(leverage="7")
    trade(e, "alice", "maker", "3", "100")
    assert wallet(e, "alice") == 42_857_143
    assert bal(e, "alice") == 957_142_857
    trade(e, "maker", "alice", "1", "100")
    assert wallet(e, "alice") == 28_571_429
    assert bal(e, "alice") == 971_428_571
    trade(e, "maker", "alice", "2", "100")
    assert position(e, "alice") is None
    assert bal(e, "alice") == 1_000_000_000
    assert bal(e, "alice/isolated/ETH-PERP") == 0
    conserved(e, 101000 * 10**6)


def test_isolated_partial_reduce_with_profit_settles_into_the_margin_first():
    """Open 2 @100 at the mark: margin 20. Mark 110; sell 1 @110: realized
    1/2 × (2 × 110 − 200) = 10 goes into the isolated margin (30), then the closed half of
    it, ⌊30 × 1/2⌋ = 15, is released: margin 15, cross 980 + 15 = 995."""
    e = isolated_setup()
    trade(e, "alice", "maker", "2", "100")
    set_price(e, "110")
    trade(e, "maker", "alice", "1", "110")
    assert wallet(e, "alice") == 15_000_000
    assert bal(e, "alice") == 995_000_000


def test_isolated_loss_beyond_its_margin_is_covered_by_insurance_not_the_cross_balance():
    """Open 2 @100 at the mark: margin 20, cross 980. @insurance holds 100. alice then sells
    the 2 @88 to the maker (a fill below the mark; reducing, so accepted): realized
    2 × 88 − 200 = −24 leaves the margin at 20 − 24 = −4; @insurance pays the deficit 4
    (`bad_debt` 4, then `insurance_fund` delta −4, balance 96, reason bad_debt). The
    cross balance stays 980; the maker (short 2 @100) realizes +24. The mark stays 100, so
    the position is never in breach before the trade."""
    q = 10**6
    e = isolated_setup()
    ok(e, {"op": "deposit", "account": "@insurance", "asset": "USDC", "amount": "100"})
    trade(e, "alice", "maker", "2", "100")
    events = trade(e, "maker", "alice", "2", "88")
    funds = named(events, "insurance_fund")
    assert [{k: f[k] for k in ("asset", "delta", "balance", "reason")} for f in funds] == [
        {"asset": "USDC", "delta": "-4.000000", "balance": "96.000000", "reason": "bad_debt"}]
    debts = named(events, "bad_debt")
    assert [{k: d[k] for k in ("account", "market", "asset", "amount")} for d in debts] == [
        {"account": "alice", "market": MARKET, "asset": "USDC", "amount": "4.000000"}]
    assert bal(e, "alice") == 980 * q
    assert bal(e, "alice/isolated/ETH-PERP") == 0
    assert position(e, "alice") is None
    assert bal(e, "@insurance") == 96 * q
    assert bal(e, "maker") == 100024 * q
    conserved(e, 101100 * q)


def test_isolated_health_is_its_own():
    """Open 2 @100 at the mark: margin 20. Mark 92: the position's equity is
    20 + 2 × (92 − 100) = 4, maintenance 2 × 92 × 0.05 = 9.2, health 4 − 9.2 = −5.2:
    liquidatable. The cross part (980 USDC, nothing else) is not. (Liquidations paused.)"""
    e = isolated_setup()
    ok(e, {"op": "params", "liquidations": "paused"})
    trade(e, "alice", "maker", "2", "100")
    set_price(e, "92")
    pos = position(e, "alice")
    assert (pos["health"], pos["liquidatable"]) == ("-5.200000", True)
    entry = e.account("alice")
    assert (entry["health"], entry["liquidatable"]) == ("980.000000", False)


def test_isolated_margin_add_and_remove_rules():
    """Open 2 @100 at the mark (leverage 10): margin 20 = initial margin 200 / 10.
    Removal must leave margin + min(unrealized, 0) >= initial margin."""
    q = 10**6
    e = isolated_setup()
    trade(e, "alice", "maker", "2", "100")

    def move(amount: str) -> dict[str, Any]:
        return {"op": "isolated_margin", "account": "alice", "market": MARKET, "amount": amount}

    refused(e, move("-0.000001"), "insufficient_margin")  # 19.999999 < 20
    ok(e, move("5"))  # cross 980 → 975, margin 25
    assert (wallet(e, "alice"), bal(e, "alice")) == (25 * q, 975 * q)
    ok(e, move("-5"))  # back to 20 = initial margin: allowed
    assert (wallet(e, "alice"), bal(e, "alice")) == (20 * q, 980 * q)
    # Mark 110: unrealized +20, initial margin 220 / 10 = 22. Equity 40 would cover a
    # removal, but profit cannot be taken out: 20 + min(20, 0) = 20 < 22.
    set_price(e, "110")
    refused(e, move("-0.000001"), "insufficient_margin")
    ok(e, move("10"))  # margin 30, cross 970
    ok(e, move("-8"))  # 22 + 0 >= 22
    refused(e, move("-0.000001"), "insufficient_margin")
    assert (wallet(e, "alice"), bal(e, "alice")) == (22 * q, 978 * q)
    # Mark 95: unrealized −10, initial margin 19: 22 − 10 = 12 < 19, add 8 → 30;
    # removing 1 leaves 29 − 10 = 19 >= 19; one more quantum is refused.
    set_price(e, "95")
    ok(e, move("8"))
    ok(e, move("-1"))
    refused(e, move("-0.000001"), "insufficient_margin")
    assert (wallet(e, "alice"), bal(e, "alice")) == (29 * q, 971 * q)
    # Adding needs the cross balance (971): one quantum more is refused.
    refused(e, move("971.000001"), "insufficient_balance")
    ok(e, move("971"))
    assert (wallet(e, "alice"), bal(e, "alice")) == (1000 * q, 0)
    conserved(e, 101000 * q)


def test_isolated_margin_needs_an_isolated_position():
    e = setup()
    deposit(e, "alice", "1000")
    deposit(e, "maker", "1000")
    command = {"op": "isolated_margin", "account": "alice", "market": MARKET, "amount": "1"}
    refused(e, command, "not_isolated")  # no position
    trade(e, "alice", "maker", "1", "100")
    refused(e, command, "not_isolated")  # a cross position


def test_isolated_open_needs_the_cross_balance():
    """Opening 2 @100 isolated at leverage 10 needs 20 from the cross balance: with 19.999999
    it is refused (no borrowing into isolated margin)."""
    e = isolated_setup(alice="19.999999")
    events = e.apply(trade_cmd("alice", "maker", "2", "100"))
    assert events[0]["event"] == "rejected"
    assert events[0]["code"] in ("insufficient_balance", "insufficient_margin")
    assert position(e, "alice") is None
    deposit(e, "alice", "0.000001")
    trade(e, "alice", "maker", "2", "100")
    assert (wallet(e, "alice"), bal(e, "alice")) == (20_000_000, 0)


# -- order_check and margin_mode ---------------------------------------------------------------

def test_order_check_answers_without_changing_the_state():
    """alice holds 10 USDC; mark 100.
    +1 @100: free = 10 + 0 − 10 = 0 → accepted, "0.000000".
    −1 @100: likewise 0 → accepted.
    +1 @99 (below the mark): unrealized 1 × (100 − 99) = +1, free = 10 + 1 − 10 = 1.
    +2 @100: free = 10 − 20 = −10 → not accepted (insufficient_margin)."""
    e = setup()
    deposit(e, "alice", "10")
    before_hash, before_doc = e.state_hash(), e.state_document()

    def check(size: str, price: str) -> dict[str, Any]:
        events = e.apply({"op": "order_check", "account": "alice", "market": MARKET, "size": size, "price": price})
        assert len(events) == 1 and events[0]["event"] == "order_check", events
        assert e.state_hash() == before_hash and e.state_document() == before_doc
        return events[0]

    answer = check("1", "100")
    assert (answer["accepted"], answer["free_collateral"]) == (True, "0.000000")
    assert (answer["account"], answer["market"], answer["size"], answer["price"]) == ("alice", MARKET, "1", "100")
    answer = check("-1", "100")
    assert (answer["accepted"], answer["free_collateral"]) == (True, "0.000000")
    answer = check("1", "99")
    assert (answer["accepted"], answer["free_collateral"]) == (True, "1.000000")
    answer = check("2", "100")
    assert (answer["accepted"], answer.get("reason")) == (False, "insufficient_margin")
    assert position(e, "alice") is None


def test_order_check_refused_reports_the_would_be_free_collateral():
    """SPEC §2: order_check answers `accepted` and *the would-be* free collateral. For +2 @100
    with 10 USDC that is 10 − 200 / 10 = −10, not today's 10."""
    e = setup()
    deposit(e, "alice", "10")
    events = e.apply({"op": "order_check", "account": "alice", "market": MARKET, "size": "2", "price": "100"})
    assert events[0]["accepted"] is False
    assert events[0]["free_collateral"] == "-10.000000"


def test_margin_mode_refused_while_a_position_is_open():
    e = setup(max_leverage="20")
    deposit(e, "alice", "1000")
    deposit(e, "maker", "1000")
    trade(e, "alice", "maker", "1", "100")
    refused(e, {"op": "margin_mode", "account": "alice", "market": MARKET, "mode": "isolated", "leverage": "10"},
            "position_open")
    refused(e, {"op": "margin_mode", "account": "alice", "market": MARKET, "mode": "cross", "leverage": "5"},
            "position_open")
    trade(e, "maker", "alice", "1", "100")
    ok(e, {"op": "margin_mode", "account": "alice", "market": MARKET, "mode": "isolated", "leverage": "10"})
    trade(e, "alice", "maker", "1", "100")
    pos = position(e, "alice")
    assert (pos["mode"], pos["leverage"], pos["isolated_margin"]) == ("isolated", "10", "10.000000")
