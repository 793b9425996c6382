"""Snapshots of a large book without two copies of it in memory: `snapshot` encodes its long
lists a chunk at a time (the same bytes); `restore` decodes them an entry at a time and
releases each as it converts it, with every account id one string shared by the accounts,
the ledger and the holders (as in an engine built by commands); and `state_hash` hashes the
canonical document as a stream (the same hash)."""

from __future__ import annotations

import hashlib
import tracemalloc
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from solvent import Engine
from solvent.engine import views
from solvent.engine.bulk import Holding, load_book
from solvent.engine.snapshot import SnapshotError, _decoded, _drain, _encoded_list, restore, snapshot
from solvent.engine.views import canonical_state, state_hash
from solvent.simulation.scenario import ScenarioConfig, scenario_commands

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
    for account_id in (account for book in state.ledger._units.values() for account in book):
        if account_id in ids:
            assert account_id is ids[account_id]
    holders = state.holders.of("BTC-PERP")
    assert holders == ["alice", "bob"]
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


def _traced_peak(work) -> int:
    """Bytes allocated at the peak of `work()` beyond what was allocated before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        work()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_long_list_is_decoded_an_entry_at_a_time():
    """`_decoded` (what `restore` reads accounts, balances and holders with) yields every
    entry, but never holds more than one as a Python document: its peak stays under a
    quarter of what decoding the list whole allocates (the raw views of the entries are
    most of what it does hold)."""
    entries = [[f"acct-{n:05d}", {"positions": [["BTC-PERP", ["BTC-PERP", f"{n}.125", f"{60000 * n}.5", [], 0, False, None]]],
                                  "settings": []}] for n in range(2000)]
    raw = msgspec.Raw(msgspec.json.encode(entries))
    whole = _traced_peak(lambda: msgspec.json.decode(raw))
    seen = []

    def consume() -> None:
        for entry in _decoded(raw):
            seen.append(entry[0])  # keeps only what an engine would keep of it: the id
            assert entry == entries[len(seen) - 1]

    one_at_a_time = _traced_peak(consume)
    assert seen == [entry[0] for entry in entries]
    assert one_at_a_time < whole / 4


def test_restore_refuses_a_malformed_entry_of_a_long_list():
    """An account entry that is not what a snapshot writes is a SnapshotError, found as the
    entry is reached, and no engine comes back."""
    engine = configured()
    load_book(engine, [("alice", "USDC", 10**12), ("bob", "USDC", 10**12)],
              [Holding.at("alice", "BTC-PERP", D("1"), D("60000")), Holding.at("bob", "BTC-PERP", D("-1"), D("60000"))])
    document = msgspec.json.decode(snapshot(engine))
    document["accounts"][1] = ["bob", {"positions": [["BTC-PERP", ["BTC-PERP", "x"]]], "settings": []}]
    with pytest.raises(SnapshotError, match="malformed snapshot"):
        restore(msgspec.json.encode(document))


def _scenario_engine(seed: int) -> Engine:
    """40 accounts after 600 commands: isolated wallets, system accounts, margin settings."""
    engine = Engine()
    config = ScenarioConfig(accounts=40, commands=600, seed=seed, isolated_margin_weight=3.0)
    for command in scenario_commands(config):
        engine.apply(command)
    return engine


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 10_000])
def test_the_state_hash_streamed_is_the_hash_of_the_whole_document(seed, chunk, monkeypatch):
    """`state_hash` feeds the hash the canonical document's two long mappings a chunk at a
    time: the bytes are those of encoding the whole document at once, whatever the chunk."""
    engine = _scenario_engine(seed)
    state = engine.state
    assert any("/isolated/" in account for account in state.ledger.accounts())  # wallets are in the balances
    whole = msgspec.json.encode(canonical_state(state), order="sorted")
    monkeypatch.setattr(views, "HASH_CHUNK", chunk)
    assert state_hash(state) == hashlib.sha256(whole).hexdigest()
    assert engine.state_hash() == hashlib.sha256(whole).hexdigest()


def test_the_state_hash_of_a_large_book_never_holds_its_document_whole(monkeypatch):
    """Hashing 3,000 accounts 100 at a time allocates at its peak under a quarter of what
    building and encoding their canonical document whole does (a million accounts, 10,000
    at a time, are hashed in chunks of the same share)."""
    monkeypatch.setattr(views, "HASH_CHUNK", 100)
    engine = configured()
    count = 3_000
    load_book(engine, [(f"acct-{n:05d}", "USDC", 10**12) for n in range(count)],
              [Holding.at(f"acct-{n:05d}", "BTC-PERP", D("0.125") if n % 2 else D("-0.125"), D("60000")) for n in range(count)])
    state = engine.state
    expected = []
    whole = _traced_peak(lambda: expected.append(
        hashlib.sha256(msgspec.json.encode(canonical_state(state), order="sorted")).hexdigest()))
    found = []
    streamed = _traced_peak(lambda: found.append(state_hash(state)))
    assert found == expected
    assert streamed < whole / 4


def test_a_snapshot_written_with_balances_per_account_restores_the_same_state():
    """Before balances were kept per asset, a snapshot's ledger listed them per account:
    [account, [[asset, units], ...]]. Such a snapshot restores to the same state."""
    engine = Engine()
    for command in scenario_commands(ScenarioConfig(accounts=30, markets=3, commands=300, seed=5)):
        engine.apply(command)
    document = msgspec.json.decode(snapshot(engine))
    per_account: dict[str, list[list]] = {}
    for asset, account, units in document["ledger"].pop("units"):
        per_account.setdefault(account, []).append([asset, units])
    document["ledger"]["balances"] = [[account, pairs] for account, pairs in per_account.items()]
    restored = restore(msgspec.json.encode(document))
    assert restored.state_hash() == engine.state_hash()
    assert snapshot(restored) == snapshot(engine)
