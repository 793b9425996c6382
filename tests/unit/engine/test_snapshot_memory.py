"""solvent.engine.snapshot.restore builds a large book without holding two copies of it: the
decoded document is released as it is converted, and every account id is one string shared
by the accounts, the ledger and the holders (as in an engine built by commands)."""

from __future__ import annotations

from decimal import Decimal

from solvent.engine.bulk import Holding, load_book
from solvent.engine.snapshot import _drain, restore, snapshot

from .test_bulk import configured

D = Decimal


def test_drain_yields_every_item_and_leaves_the_list_empty_of_them():
    items = [[1], [2], [3]]
    seen = []
    for item in _drain(items):
        seen.append(item)
        assert items[len(seen) - 1] is None  # released before the consumer works on it
    assert seen == [[1], [2], [3]] and items == [None, None, None]


def test_a_restored_book_shares_one_string_per_account_id():
    engine = configured()
    load_book(engine, [("alice", "USDC", 10**12), ("bob", "USDC", 10**12)],
              [Holding.at("alice", "BTC-PERP", D("1"), D("60000")), Holding.at("bob", "BTC-PERP", D("-1"), D("60000"))])
    restored = restore(snapshot(engine))
    state = restored.state
    ids = {account_id: account_id for account_id in state.accounts}
    assert set(ids) == {"alice", "bob"}
    for account_id in state.ledger._balances:
        if account_id in ids:
            assert account_id is ids[account_id]
    holders = state.holders["BTC-PERP"]
    assert holders == {"alice", "bob"}
    assert all(holder is ids[holder] for holder in holders)
    assert restored.state_hash() == engine.state_hash()
