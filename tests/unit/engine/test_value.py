"""Worked scenarios for `solvent.engine.value`: deposit, withdraw, transfer, and borrowing.

Rules (SPEC §2, §5; ARCHITECTURE.md "Decisions where the SPEC is silent"): accounts open
with their first deposit; a withdrawal or transfer beyond the balance of a borrowable,
priced asset is a borrow, limited by free collateral and by liquidity (total deposits −
total borrows, PnL pools excluded), and a withdrawal also by what the venue holds; system
accounts @insurance and @fees move only what they hold; a PnL pool is moved only by the
engine. After every step the test checks conservation with its own tally of deposits minus
withdrawals.

Assets: USDC (quote, 6 decimals, weights 1, not borrowable); ETH (8 decimals, oracle
ETH-USD, weight_init 0.8, weight_maint 0.85, liability_weight_init 1.25,
liability_weight_maint 1.1).
"""

from __future__ import annotations

from typing import Any

import pytest

from solvent import Engine
from solvent.ledger import EXTERNAL

from ._steps import ok, refused

USDC = {"op": "asset", "id": "USDC", "decimals": 6, "oracle": None, "weight_init": "1", "weight_maint": "1"}
ETH = {"op": "asset", "id": "ETH", "decimals": 8, "oracle": "ETH-USD", "weight_init": "0.8", "weight_maint": "0.85",
       "liability_weight_init": "1.25", "liability_weight_maint": "1.1"}
PERP = {"op": "market", "id": "ETH-PERP", "oracle": "ETH-USD", "settle": "USDC", "step_size": "0.01",
        "liquidation_fee": "0.01", "tiers": [{"mmr": "0.05", "max_leverage": "10"}]}






class Tally:
    """The test's own record of deposits minus withdrawals, per asset, in quantums."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.net: dict[str, int] = {}

    def deposit(self, account: str, asset: str, amount: str, units: int) -> None:
        ok(self.engine, {"op": "deposit", "account": account, "asset": asset, "amount": amount})
        self.net[asset] = self.net.get(asset, 0) + units
        self.check()

    def withdraw(self, account: str, asset: str, amount: str, units: int) -> None:
        ok(self.engine, {"op": "withdraw", "account": account, "asset": asset, "amount": amount})
        self.net[asset] = self.net.get(asset, 0) - units
        self.check()

    def transfer(self, source: str, target: str, asset: str, amount: str) -> None:
        ok(self.engine, {"op": "transfer", "from": source, "to": target, "asset": asset, "amount": amount})
        self.check()

    def check(self) -> None:
        ledger = self.engine.state.ledger
        for asset, expected in self.net.items():
            total = sum(ledger.balance(a, asset) for a in list(ledger.accounts()) if a != EXTERNAL)
            assert total == expected, asset
        assert self.engine.state_document()["ledger"]["balanced"] is True


def engine_with(*commands: dict[str, Any]) -> Engine:
    e = Engine()
    for command in commands:
        ok(e, command)
    return e


def bal(engine: Engine, account: str, asset: str) -> int:
    return engine.state.ledger.balance(account, asset)


def withdraw(account: str, asset: str, amount: str) -> dict[str, Any]:
    return {"op": "withdraw", "account": account, "asset": asset, "amount": amount}


def transfer(source: str, target: str, asset: str, amount: str) -> dict[str, Any]:
    return {"op": "transfer", "from": source, "to": target, "asset": asset, "amount": amount}


def test_deposit_opens_an_account():
    e = engine_with(USDC)
    refused(e, {"op": "account", "account": "alice"}, "unknown_account")
    refused(e, withdraw("alice", "USDC", "1"), "unknown_account")
    t = Tally(e)
    t.deposit("alice", "USDC", "12.5", 12_500_000)
    assert e.account("alice")["balances"] == {"USDC": "12.500000"}
    assert "alice" in e.state_document()["accounts"]
    t.deposit("alice", "USDC", "0.000001", 1)
    assert bal(e, "alice", "USDC") == 12_500_001


def test_withdraw_within_and_beyond_the_balance_of_a_non_borrowable_asset():
    """10 deposited: withdrawing 4 leaves 6; withdrawing 6.000001 (one quantum beyond) is
    refused insufficient_balance (USDC cannot be borrowed, whatever the collateral);
    withdrawing exactly 6 leaves 0."""
    e = engine_with(USDC, ETH, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    t = Tally(e)
    t.deposit("alice", "USDC", "10", 10_000_000)
    t.deposit("alice", "ETH", "100", 100 * 10**8)  # plenty of collateral: still no USDC borrow
    t.withdraw("alice", "USDC", "4", 4_000_000)
    assert bal(e, "alice", "USDC") == 6_000_000
    refused(e, withdraw("alice", "USDC", "6.000001"), "insufficient_balance")
    refused(e, transfer("alice", "@insurance", "USDC", "6.000001"), "insufficient_balance")
    t.withdraw("alice", "USDC", "6", 6_000_000)
    assert bal(e, "alice", "USDC") == 0


def borrow_setup() -> tuple[Engine, Tally]:
    """ETH at 2000; the lender deposits 10 ETH (liquidity 10); the borrower 10,000 USDC."""
    e = engine_with(USDC, ETH, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    t = Tally(e)
    t.deposit("lender", "ETH", "10", 10 * 10**8)
    t.deposit("borrower", "USDC", "10000", 10_000 * 10**6)
    return e, t


def test_borrow_within_free_collateral():
    """Borrowing x ETH: free collateral = 10,000 − x × 2000 × 1.25 = 10,000 − 2500 x.
    x = 4.00000001: the debt's weighted value is −8000.00002 × 1.25 = −10,000.000025, free
    collateral −0.000025 → insufficient_margin. x = 4: free collateral exactly 0 → allowed,
    balance −4 ETH, total_borrows 4, total_deposits 10, utilization 0.4."""
    e, t = borrow_setup()
    refused(e, withdraw("borrower", "ETH", "4.00000001"), "insufficient_margin")
    t.withdraw("borrower", "ETH", "4", 4 * 10**8)
    assert bal(e, "borrower", "ETH") == -4 * 10**8
    entry = e.account("borrower")
    assert entry["free_collateral"] == "0.000000"
    assert entry["balances"] == {"ETH": "-4.00000000", "USDC": "10000.000000"}
    asset = e.state_document()["assets"]["ETH"]
    assert (asset["total_deposits"], asset["total_borrows"], asset["utilization"]) == ("10.00000000", "4.00000000", "0.4")


def test_borrow_limited_by_liquidity():
    """After the 4 ETH borrow, liquidity is 10 − 4 = 6 ETH. A whale with 1,000,000 USDC
    (free collateral enough for 400 ETH) may borrow 6 but not 6.00000001
    (insufficient_liquidity). Then nothing is left: 0.00000001 more is refused too."""
    e, t = borrow_setup()
    t.withdraw("borrower", "ETH", "4", 4 * 10**8)
    t.deposit("whale", "USDC", "1000000", 10**12)
    refused(e, withdraw("whale", "ETH", "6.00000001"), "insufficient_liquidity")
    refused(e, transfer("whale", "lender", "ETH", "6.00000001"), "insufficient_liquidity")
    t.withdraw("whale", "ETH", "6", 6 * 10**8)
    assert e.state_document()["assets"]["ETH"]["total_borrows"] == "10.00000000"
    refused(e, withdraw("whale", "ETH", "0.00000001"), "insufficient_liquidity")


def test_borrow_by_transfer_uses_the_same_limits():
    """A transfer beyond the balance borrows too (the ETH stays in the venue, at the
    receiver): 4 ETH to carol leaves the borrower at −4, carol at +4. Totals: deposits
    10 + 4 = 14, borrows 4."""
    e, t = borrow_setup()
    t.deposit("carol", "USDC", "1", 10**6)
    refused(e, transfer("borrower", "carol", "ETH", "4.00000001"), "insufficient_margin")
    t.transfer("borrower", "carol", "ETH", "4")
    assert (bal(e, "borrower", "ETH"), bal(e, "carol", "ETH")) == (-4 * 10**8, 4 * 10**8)
    asset = e.state_document()["assets"]["ETH"]
    assert (asset["total_deposits"], asset["total_borrows"]) == ("14.00000000", "4.00000000")


def test_a_borrow_needs_a_price():
    """ETH has no price yet: a borrow is refused no_price; once priced it goes through."""
    e = engine_with(USDC, ETH)
    t = Tally(e)
    t.deposit("lender", "ETH", "10", 10 * 10**8)
    t.deposit("borrower", "USDC", "10000", 10_000 * 10**6)
    refused(e, withdraw("borrower", "ETH", "1"), "no_price")
    ok(e, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    t.withdraw("borrower", "ETH", "1", 10**8)
    assert bal(e, "borrower", "ETH") == -(10**8)


def test_transfer_to_an_unknown_account_is_refused():
    e = engine_with(USDC)
    t = Tally(e)
    t.deposit("alice", "USDC", "10", 10_000_000)
    refused(e, transfer("alice", "bob", "USDC", "1"), "unknown_account")
    refused(e, transfer("bob", "alice", "USDC", "1"), "unknown_account")
    t.deposit("bob", "USDC", "1", 10**6)
    t.transfer("alice", "bob", "USDC", "3")
    assert (bal(e, "alice", "USDC"), bal(e, "bob", "USDC")) == (7 * 10**6, 4 * 10**6)


def test_transfer_to_insurance_then_system_accounts_move_only_what_they_hold():
    """alice gives 5 to @insurance (the state's insurance_fund shows 5.000000). @insurance
    may withdraw or transfer up to 5 (5.000001 → insufficient_balance), and no ETH at all
    though ETH is borrowable (system accounts do not borrow). @fees receives a deposit of 3
    and may transfer 3, not 3.000001."""
    e = engine_with(USDC, ETH, {"op": "price", "oracle": "ETH-USD", "price": "2000"})
    t = Tally(e)
    t.deposit("alice", "USDC", "10", 10_000_000)
    t.deposit("lender", "ETH", "10", 10 * 10**8)
    t.transfer("alice", "@insurance", "USDC", "5")
    assert e.state_document()["insurance_fund"]["USDC"] == "5.000000"
    refused(e, withdraw("@insurance", "USDC", "5.000001"), "insufficient_balance")
    refused(e, transfer("@insurance", "alice", "USDC", "5.000001"), "insufficient_balance")
    refused(e, withdraw("@insurance", "ETH", "0.00000001"), "insufficient_balance")
    t.transfer("@insurance", "alice", "USDC", "2")
    t.withdraw("@insurance", "USDC", "3", 3_000_000)
    assert bal(e, "@insurance", "USDC") == 0
    t.deposit("@fees", "USDC", "3", 3_000_000)
    refused(e, transfer("@fees", "alice", "USDC", "3.000001"), "insufficient_balance")
    refused(e, withdraw("@fees", "USDC", "3.000001"), "insufficient_balance")
    t.transfer("@fees", "alice", "USDC", "3")
    assert (bal(e, "@fees", "USDC"), bal(e, "alice", "USDC")) == (0, 10_000_000)


def test_a_pnl_pool_cannot_be_debited_by_a_command():
    """@pnl:ETH-PERP exists with its market and accepts a deposit, but a withdrawal or
    transfer from it is refused system_account, even within its balance."""
    e = engine_with(USDC, ETH, PERP)
    t = Tally(e)
    t.deposit("alice", "USDC", "10", 10_000_000)
    t.deposit("@pnl:ETH-PERP", "USDC", "5", 5_000_000)
    refused(e, withdraw("@pnl:ETH-PERP", "USDC", "1"), "system_account")
    refused(e, transfer("@pnl:ETH-PERP", "alice", "USDC", "1"), "system_account")
    t.transfer("alice", "@pnl:ETH-PERP", "USDC", "1")
    assert bal(e, "@pnl:ETH-PERP", "USDC") == 6_000_000
    # a pool of an undefined market does not exist
    refused(e, transfer("alice", "@pnl:BTC-PERP", "USDC", "1"), "unknown_account")


@pytest.mark.parametrize("command", [
    withdraw("alice", "USDC", "1"),
    transfer("alice", "bob", "USDC", "1"),
])
def test_an_outflow_is_refused_where_it_would_leave_free_collateral_below_zero(command):
    """alice: 10 USDC, long 1 ETH-PERP @100 at the mark (initial margin 100 / 10 = 10): free
    collateral 0. Any USDC leaving makes it negative → insufficient_margin."""
    e = engine_with(USDC, ETH, PERP, {"op": "price", "oracle": "ETH-USD", "price": "100"})
    t = Tally(e)
    t.deposit("alice", "USDC", "10", 10_000_000)
    t.deposit("bob", "USDC", "1000", 10**9)
    ok(e, {"op": "trade", "market": "ETH-PERP", "buyer": "alice", "seller": "bob", "size": "1", "price": "100"})
    assert e.account("alice")["free_collateral"] == "0.000000"
    refused(e, command, "insufficient_margin")
    t.check()
