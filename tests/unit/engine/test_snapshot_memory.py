"""Snapshots of a large book without two copies of it in memory: `snapshot` encodes its long
lists a chunk at a time (the same bytes), and `restore` releases the decoded document as it
converts it, with every account id one string shared by the accounts, the ledger and the
holders (as in an engine built by commands)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from solvent.engine.bulk import Holding, load_book
from solvent.engine.snapshot import _drain, _encoded_list, restore, snapshot

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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="ab,[]{}\":\\ é\n\x00"),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)


@given(items=st.lists(json_values, max_size=9), chunk=st.integers(min_value=1, max_value=4))
def test_a_list_encoded_in_chunks_is_the_list_encoded_at_once(items, chunk):
    def convert(item):
        return [item, "x"]

    whole = msgspec.json.encode({"list": [convert(item) for item in items]})
    assert msgspec.json.encode({"list": _encoded_list(items, convert, chunk)}) == whole


def test_a_snapshot_is_compact_canonical_json():
    """Decoding a snapshot and encoding it again gives the same bytes: the chunked parts
    (accounts, balances) join exactly as one encoding of the whole document would."""
    engine = configured()
    load_book(engine, [(f"acct-{n}", "USDC", 10**12) for n in range(5)],
              [Holding.at(f"acct-{n}", "BTC-PERP", D(size), D("60000"))
               for n, size in enumerate(["1", "-0.5", "0.25", "-0.75", "0"]) if size != "0"])
    data = snapshot(engine)
    assert msgspec.json.encode(msgspec.json.decode(data)) == data
    assert [pair[0] for pair in msgspec.json.decode(data)["accounts"]] == [f"acct-{n}" for n in range(5)]
