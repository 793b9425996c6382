"""solvent.engine.holders: a market's holders as one bit per account, against a model of
plain sets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvent.domain.account import Account
from solvent.engine.holders import Holders


def accounts(holders: Holders, count: int) -> list[Account]:
    made = [Account(f"a{n:04d}") for n in reversed(range(count))]  # ids not in number order
    for account in made:
        holders.register(account)
    return made


def test_accounts_are_numbered_in_the_order_they_are_registered():
    holders = Holders()
    made = accounts(holders, 3)
    assert [account.index for account in made] == [0, 1, 2]
    assert Account("x").index == -1  # an account no engine holds
    with pytest.raises(ValueError):
        holders.add("BTC", Account("x"))  # (its -1 would otherwise set the last byte's bit)


@settings(max_examples=200)
@given(st.integers(1, 40), st.lists(st.tuples(st.booleans(), st.sampled_from(["BTC", "ETH", "SOL"]),
                                              st.integers(0, 39)), max_size=120))
def test_holders_follow_every_add_and_discard_as_sets_would(count, moves):
    holders = Holders()
    made = accounts(holders, count)
    model: dict[str, set[str]] = {}
    first_seen: list[str] = []
    for adding, market, number in moves:
        account = made[number % count]
        if adding:
            holders.add(market, account)
            model.setdefault(market, set()).add(account.id)
            if market not in first_seen:
                first_seen.append(market)
        else:
            holders.discard(market, account)
            model.get(market, set()).discard(account.id)
    assert holders.markets() == first_seen  # a market keeps its place with no holder left
    for market in ("BTC", "ETH", "SOL"):
        assert holders.of(market) == sorted(model.get(market, ()))
        assert holders.count(market) == len(model.get(market, ()))


def test_a_bitmap_takes_a_byte_per_eight_accounts():
    holders = Holders()
    made = accounts(holders, 10_000)
    for account in made[::3]:
        holders.add("BTC", account)
    assert len(holders.track("BTC")) <= 10_000 // 8 + 1
    assert holders.count("BTC") == len(made[::3])
    assert holders.of("BTC") == sorted(account.id for account in made[::3])
