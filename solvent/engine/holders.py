"""Which accounts hold a position in each market: one bit per account and market.

The engine needs a market's holders for a few whole-market operations — funding, the ADL
queue, the flat-pool sweep, the figure caches' marks, the snapshot — and keeps them current
on every position opened or closed. As a set of account ids per market they cost about 48
bytes a position (170 MB at a million accounts holding 3.6 positions each); here each
account has a number (`Account.index`, its order of creation) and each market a bitmap over
those numbers, one byte per eight accounts: 25 MB for 200 markets at a million accounts,
whatever they hold. Setting or clearing a bit is O(1); listing a market's holders scans its
bitmap (about 125 KB at a million accounts, with numpy) and sorts the ids found.
"""

from __future__ import annotations

import numpy as np

from ..domain.account import Account


class Holders:
    __slots__ = ("_bits", "_counts", "_ids")

    def __init__(self) -> None:
        #: market -> bit i set while account number i holds a position in it (markets in the
        #: order they first had a holder; a market's bitmap stays when it has none left)
        self._bits: dict[str, bytearray] = {}
        self._counts: dict[str, int] = {}
        #: account number -> account id (the account's own string)
        self._ids: list[str] = []

    def register(self, account: Account) -> None:
        """Give a new account its number (once: the engine calls this when it creates it)."""
        account.index = len(self._ids)
        self._ids.append(account.id)

    def track(self, market: str) -> bytearray:
        """The bitmap of `market`, made empty if it has none yet."""
        bits = self._bits.get(market)
        if bits is None:
            bits = self._bits[market] = bytearray()
        return bits

    def add(self, market: str, account: Account) -> None:
        if account.index < 0:
            raise ValueError(f"account {account.id!r} has no number: the engine did not register it")
        bits = self.track(market)
        place, bit = account.index >> 3, 1 << (account.index & 7)
        if place >= len(bits):
            bits.extend(bytes(place + 1 - len(bits)))
        if not bits[place] & bit:
            bits[place] |= bit
            self._counts[market] = self._counts.get(market, 0) + 1

    def discard(self, market: str, account: Account) -> None:
        bits = self._bits.get(market)
        place, bit = account.index >> 3, 1 << (account.index & 7)
        if bits is not None and place < len(bits) and bits[place] & bit:
            bits[place] &= ~bit & 0xFF
            self._counts[market] -= 1

    def count(self, market: str) -> int:
        """How many accounts hold a position in `market`."""
        return self._counts.get(market, 0)

    def of(self, market: str) -> list[str]:
        """The ids of the accounts holding a position in `market`, sorted."""
        bits = self._bits.get(market)
        if not self._counts.get(market):
            return []
        assert bits is not None
        numbers = np.flatnonzero(np.unpackbits(np.frombuffer(bits, dtype=np.uint8), bitorder="little"))
        ids = self._ids
        return sorted([ids[number] for number in numbers.tolist()])

    def markets(self) -> list[str]:
        """Every market that ever had a holder, in the order it first had one."""
        return list(self._bits)
