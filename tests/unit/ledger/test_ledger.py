"""solvent.ledger.Ledger: double-entry balances in integer quantums (SPEC §6 conservation).

Running totals per asset cover every account but the market PnL pools (`@pnl:`) and the
outside world (`#external`): `total_deposits` sums positive balances, `total_borrows` the
magnitudes of negative ones.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvent.ledger import EXTERNAL, Ledger, Transfer


def deposit(ledger: Ledger, account: str, units: int, asset: str = "USDC") -> None:
    ledger.post([Transfer(EXTERNAL, account, asset, units)])


def move(ledger: Ledger, source: str, target: str, units: int, asset: str = "USDC") -> None:
    ledger.post([Transfer(source, target, asset, units)])


def test_a_transfer_debits_the_source_and_credits_the_target():
    """Deposit 100 to a, move 30 to b: a 70, b 30, the outside world −100."""
    ledger = Ledger()
    deposit(ledger, "a", 100)
    move(ledger, "a", "b", 30)
    assert (ledger.balance("a", "USDC"), ledger.balance("b", "USDC")) == (70, 30)
    assert ledger.balance(EXTERNAL, "USDC") == -100
    assert ledger.net_deposits("USDC") == 100
    assert ledger.postings == 2
    assert ledger.is_balanced()


def test_balances_of_an_unknown_account_or_asset_are_zero():
    ledger = Ledger()
    deposit(ledger, "a", 5)
    assert ledger.balance("nobody", "USDC") == 0
    assert ledger.balance("a", "BTC") == 0
    assert ledger.balances("nobody") == {}


def test_assets_are_kept_apart():
    ledger = Ledger()
    deposit(ledger, "a", 100, "USDC")
    deposit(ledger, "a", 7, "BTC")
    move(ledger, "a", "b", 3, "BTC")
    assert ledger.balances("a") == {"USDC": 100, "BTC": 4}
    assert (ledger.total_deposits("USDC"), ledger.total_deposits("BTC")) == (100, 7)


def test_a_balance_back_to_zero_is_dropped():
    ledger = Ledger()
    deposit(ledger, "a", 10)
    move(ledger, "a", EXTERNAL, 10)
    assert ledger.balances("a") == {}
    assert ledger.total_deposits("USDC") == 0
    assert ledger.is_balanced()


def test_zero_transfers_are_skipped():
    """A zero transfer posts nothing, creates no account and counts as no posting."""
    ledger = Ledger()
    deposit(ledger, "a", 10)
    ledger.post([Transfer("a", "ghost", "USDC", 0)])
    assert ledger.postings == 1
    assert "ghost" not in set(ledger.accounts())
    assert ledger.balance("a", "USDC") == 10


def test_a_negative_transfer_raises():
    ledger = Ledger()
    with pytest.raises(ValueError):
        ledger.post([Transfer("a", "b", "USDC", -5)])
    assert ledger.balance("a", "USDC") == 0 and ledger.balance("b", "USDC") == 0


def test_transfers_of_a_batch_apply_in_order():
    """a has 10; move 15 from a to b then 15 from b to c: a −5, b 0, c 15."""
    ledger = Ledger()
    deposit(ledger, "a", 10)
    ledger.post([Transfer("a", "b", "USDC", 15), Transfer("b", "c", "USDC", 15)])
    assert [ledger.balance(x, "USDC") for x in "abc"] == [-5, 0, 15]
    assert ledger.postings == 3


def test_running_totals_follow_balances_across_sign_crossings():
    """a: +100 (deposits 100). a → b 150: a crosses to −50, b +150: deposits 150, borrows 50.
    b → a 80: a crosses back to +30, b 70: deposits 100, borrows 0.
    a → c 30: a exactly 0, c 30: deposits 100. c → a 45: c −15, a 45: deposits 115, borrows 15."""
    ledger = Ledger()
    deposit(ledger, "a", 100)
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (100, 0)
    move(ledger, "a", "b", 150)
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (150, 50)
    move(ledger, "b", "a", 80)
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (100, 0)
    move(ledger, "a", "c", 30)
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (100, 0)
    move(ledger, "c", "a", 45)
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (115, 15)
    assert ledger.is_balanced()


def test_borrow_growing_deeper_adds_to_total_borrows():
    """a at −50 pays 20 more to b: a −70 (borrows 70), b 170 after holding 150."""
    ledger = Ledger()
    deposit(ledger, "a", 100)
    move(ledger, "a", "b", 150)
    move(ledger, "a", "b", 20)
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (170, 70)


def test_pnl_pools_and_the_outside_world_are_left_out_of_the_totals():
    """The pool @pnl:BTC pays a 30 it does not hold: pool −30 (not a borrow), a 30 (a deposit).
    The outside world's −100 is not a borrow either."""
    ledger = Ledger()
    deposit(ledger, "b", 100)
    move(ledger, "@pnl:BTC", "a", 30)
    assert ledger.balance("@pnl:BTC", "USDC") == -30
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (130, 0)
    move(ledger, "b", "@pnl:BTC", 50)
    assert ledger.balance("@pnl:BTC", "USDC") == 20
    assert (ledger.total_deposits("USDC"), ledger.total_borrows("USDC")) == (80, 0)
    assert ledger.is_balanced()


def test_insurance_fees_and_isolated_wallets_are_counted_in_the_totals():
    """Only pools and the outside world are left out: @insurance 5, @fees 3, alice's isolated
    wallet 2 are deposits (5 + 3 + 2 = 10)."""
    ledger = Ledger()
    deposit(ledger, "@insurance", 5)
    deposit(ledger, "@fees", 3)
    deposit(ledger, "alice/isolated/BTC-PERP", 2)
    assert ledger.total_deposits("USDC") == 10


def test_is_balanced_detects_a_balance_changed_outside_a_transfer():
    ledger = Ledger()
    deposit(ledger, "a", 100)
    ledger._units["USDC"]["a"] += 1  # a single-entry change
    assert not ledger.is_balanced()


def test_is_balanced_detects_a_running_total_out_of_step():
    ledger = Ledger()
    deposit(ledger, "a", 100)
    ledger._deposits["USDC"] += 1
    assert not ledger.is_balanced()
    ledger._deposits["USDC"] -= 1
    ledger._borrows["USDC"] = 3
    assert not ledger.is_balanced()


ACCOUNTS = ["a", "b", "c", "@insurance", "@pnl:BTC", "@pnl:ETH", "x/isolated/BTC", EXTERNAL]


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.sampled_from(["USDC", "BTC"]),
                  st.integers(min_value=0, max_value=1000)),
        max_size=60,
    )
)
def test_running_totals_equal_a_recomputation_after_any_transfers(transfers):
    """After any sequence, every asset sums to zero over all accounts (outside world included)
    and the running totals equal positive / negative balances summed over counted accounts."""
    ledger = Ledger()
    for source, target, asset, units in transfers:
        ledger.post([Transfer(source, target, asset, units)])
    assert ledger.is_balanced()
    for asset in ("USDC", "BTC"):
        assert sum(ledger.balance(account, asset) for account in ACCOUNTS) == 0
        counted = [ledger.balance(account, asset) for account in ACCOUNTS
                   if not account.startswith("@pnl:") and account != EXTERNAL]
        assert ledger.total_deposits(asset) == sum(v for v in counted if v > 0)
        assert ledger.total_borrows(asset) == -sum(v for v in counted if v < 0)
    assert ledger.postings == sum(1 for *_, units in transfers if units)


# -- the layout: balances per asset ---------------------------------------------------------------


def test_balances_are_a_new_mapping_in_the_ledgers_asset_order():
    ledger = Ledger()
    deposit(ledger, "a", 5, "ETH")
    deposit(ledger, "b", 7, "USDC")
    deposit(ledger, "a", 9, "USDC")
    balances = ledger.balances("a")
    assert list(balances.items()) == [("ETH", 5), ("USDC", 9)]  # ETH moved first
    balances["USDC"] = 0  # a copy: the ledger does not change
    assert ledger.balance("a", "USDC") == 9
    move(ledger, "a", "b", 5, "ETH")  # a zero balance is no entry
    assert ledger.balances("a") == {"USDC": 9}
    assert ledger.accounts() == [EXTERNAL, "a", "b"]
    assert ledger.holders("ETH") == [("b", 5)]


def test_a_balance_costs_one_entry_not_a_dict_per_account():
    """10,000 accounts holding one asset each: about 45 bytes a balance (one dict entry and
    its int), where a dict per account took about 230."""
    import tracemalloc

    ids = [f"a{n:05d}" for n in range(10_000)]
    tracemalloc.start()
    ledger = Ledger()
    ledger.post([Transfer(EXTERNAL, account, "USDC", 10**9 + n) for n, account in enumerate(ids)])
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert held / len(ids) < 120
