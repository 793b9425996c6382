"""The engine's mutable state: configuration and prices, the ledger, the accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..domain.account import Account
from ..domain.book import Book
from ..domain.ids import FEES, INSURANCE, PNL_PREFIX, is_system, isolated_wallet
from ..domain.position import Position
from ..ledger import Ledger
from ..margin.figures import FigureCache
from .holders import Holders
from ..market_data.oracle_guard import OracleRecord

#: Accounts with this many positions or more keep their position figures between commands:
#: a market maker in many markets, whose every trade would otherwise re-value all of them.
#: Smaller accounts recompute (cheap) and cost no memory.
FIGURE_CACHE_FROM = 16


@dataclass(slots=True)
class EngineState:
    book: Book = field(default_factory=Book)
    ledger: Ledger = field(default_factory=Ledger)
    accounts: dict[str, Account] = field(default_factory=dict)
    #: market -> the accounts holding a position in it (one bit per account)
    holders: Holders = field(default_factory=Holders)
    #: oracle -> markets and assets priced by it
    oracle_markets: dict[str, list[str]] = field(default_factory=dict)
    oracle_assets: dict[str, list[str]] = field(default_factory=dict)
    applied_ids: set[str] = field(default_factory=set)
    clock: Decimal | None = None
    #: oracle -> its guard record (publication time, pending jump, invalid reason)
    oracles: dict[str, OracleRecord] = field(default_factory=dict)
    #: borrowable asset with a rate model -> (borrow index, supply index), both from 1
    indices: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: yield-bearing asset -> (rate, time) of the last applied report: the cap's anchor
    rate_anchors: dict[str, tuple[Decimal, Decimal | None]] = field(default_factory=dict)
    #: time of the last `time` tick: interest and yield have accrued up to it
    accrued_at: Decimal | None = None
    commands: int = 0
    #: derived, not written to snapshots: oracle -> the smallest max_oracle_age_s of its users
    #: (None: no limit); filled on first need, emptied whenever an asset or market changes
    age_limits: dict[str, Decimal | None] = field(default_factory=dict)
    #: derived, not written to snapshots: per account holding at least FIGURE_CACHE_FROM
    #: positions, its position figures and their sums (`solvent.margin.figures.FigureCache`),
    #: kept current by `set_position` and `marks_moved`; emptied when a spec or parameter changes
    figure_caches: dict[str, FigureCache] = field(default_factory=dict)
    #: derived, not written to snapshots: (oracle, now) -> is its price usable then; emptied
    #: whenever a price, an oracle record or the configuration changes
    usable: dict[tuple[str, Decimal | None], bool] = field(default_factory=dict)

    # -- accounts -------------------------------------------------------------------------
    def account_exists(self, account_id: str) -> bool:
        if account_id in self.accounts:
            return True
        if account_id in (INSURANCE, FEES):
            return True
        if account_id.startswith(PNL_PREFIX):
            return account_id[len(PNL_PREFIX):] in self.book.markets
        return False

    def account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            account = self.accounts[account_id] = Account(account_id)
            self.holders.register(account)
        return account

    def cross_positions(self, account: Account) -> list[Position]:
        return [p for p in account.positions.values() if not p.isolated]

    def isolated_positions(self, account: Account) -> list[Position]:
        if not account.settings:  # a position opens isolated only under an isolated setting,
            return []             # which cannot change while the position is open
        return [p for p in account.positions.values() if p.isolated]

    def figure_cache(self, account: Account) -> FigureCache | None:
        """The account's position-figure cache, if it holds enough positions to want one."""
        if len(account.positions) < FIGURE_CACHE_FROM:
            if account.id in self.figure_caches:
                del self.figure_caches[account.id]
            return None
        cache = self.figure_caches.get(account.id)
        if cache is None:
            cache = self.figure_caches[account.id] = FigureCache(account.positions)
        return cache

    def marks_moved(self, oracle: str) -> None:
        """The price of `oracle` changed: cached figures of its markets are stale. Costs
        the fewer of the caches and the market's holders (a tick costs the holders anyway)."""
        caches = self.figure_caches
        if not caches:
            return
        for market in self.oracle_markets.get(oracle, ()):
            if len(caches) <= self.holders.count(market):
                for cache in caches.values():
                    if market in cache.entries:
                        cache.dirty.add(market)
            else:
                for account_id in self.holders.of(market):
                    held = caches.get(account_id)
                    if held is not None:
                        held.dirty.add(market)

    def wallet_units(self, account_id: str, market: str) -> int:
        settle = self.book.markets[market].settle
        return self.ledger.balance(isolated_wallet(account_id, market), settle)

    def set_position(self, account: Account, market: str, position: Position | None) -> None:
        cache = self.figure_caches.get(account.id)
        if cache is not None:
            cache.dirty.add(market)
        if position is None:
            if account.positions.pop(market, None) is not None:
                self.holders.discard(market, account)
        else:
            account.positions[market] = position
            self.holders.add(market, account)

    def open_positions(self) -> bool:
        return any(account.positions for account in self.accounts.values())

    def user_accounts(self) -> list[str]:
        return sorted(a for a in self.accounts if not is_system(a))
