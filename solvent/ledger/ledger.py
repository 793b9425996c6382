"""Balances per (ledger account, asset) in integer quantums, changed only by transfers.

Every transfer moves a positive number of quantums of one asset from one ledger account to
another, so the balances of every asset always sum to zero over all ledger accounts when the
outside world (`EXTERNAL`, the other leg of deposits and withdrawals) is counted. Without it,
they sum to net deposits: the conservation check of SPEC §6.

The ledger also keeps two running totals per asset, over every account but the market PnL
pools and the outside world: the sum of positive balances (`total_deposits`) and of the
magnitudes of negative ones (`total_borrows`). A test recomputes them from scratch.

Balances are kept per asset (asset -> ledger account -> quantums, no zero entries), not per
account: at a million accounts one dict entry per balance takes about 45 bytes where a dict
per account took about 230. `balances(account)` builds the account's mapping on demand
(one lookup per asset), and an asset's holders are its own dict, not a scan of every account.
"""

from __future__ import annotations

from typing import Final

from ..domain.ids import PNL_PREFIX
from ..domain.values import Value

#: The other leg of every deposit and withdrawal: the world outside the venue.
EXTERNAL = "#external"


class Transfer(Value):
    """Move `units` (> 0) quantums of `asset` from `source` to `target`."""

    __slots__ = ("source", "target", "asset", "units")
    _fields = ("source", "target", "asset", "units")

    def __init__(self, source: str, target: str, asset: str, units: int) -> None:
        self.source: Final = source
        self.target: Final = target
        self.asset: Final = asset
        self.units: Final = units


def _counted(account: str) -> bool:
    return not account.startswith(PNL_PREFIX) and account != EXTERNAL


class Ledger:
    __slots__ = ("_units", "_borrows", "_deposits", "_postings")

    def __init__(self) -> None:
        #: asset -> ledger account -> its balance in quantums (never 0: a zero is removed);
        #: assets in the order the ledger first moved them, accounts in the order they first
        #: held the asset
        self._units: dict[str, dict[str, int]] = {}
        self._deposits: dict[str, int] = {}
        self._borrows: dict[str, int] = {}
        self._postings = 0

    # -- reading --------------------------------------------------------------------------
    def balance(self, account: str, asset: str) -> int:
        book = self._units.get(asset)
        return book.get(account, 0) if book is not None else 0

    def balances(self, account: str) -> dict[str, int]:
        """The non-zero balances of one ledger account by asset (in the ledger's asset
        order): a new dict, built from one lookup per asset."""
        found = {}
        for asset, book in self._units.items():
            units = book.get(account)
            if units is not None:
                found[asset] = units
        return found

    def accounts(self) -> list[str]:
        """Every ledger account holding a non-zero balance, sorted."""
        held: set[str] = set()
        for book in self._units.values():
            held.update(book)
        return sorted(held)

    def total_deposits(self, asset: str) -> int:
        return self._deposits.get(asset, 0)

    def total_borrows(self, asset: str) -> int:
        return self._borrows.get(asset, 0)

    def holders(self, asset: str) -> list[tuple[str, int]]:
        """(account, units) of every account counted in the totals that holds a non-zero
        balance of `asset`, sorted by account: the borrowers and suppliers of the asset."""
        return sorted((account, units) for account, units in self._units.get(asset, {}).items() if _counted(account))

    def net_deposits(self, asset: str) -> int:
        """What the venue holds of `asset`: deposits minus withdrawals."""
        return -self.balance(EXTERNAL, asset)

    @property
    def postings(self) -> int:
        """Number of transfers applied since the start."""
        return self._postings

    # -- writing --------------------------------------------------------------------------
    def post(self, transfers: list[Transfer]) -> None:
        """Apply a batch of transfers in order, whole or not at all: a negative amount
        anywhere refuses the batch before anything moves; zero amounts are skipped."""
        for transfer in transfers:
            if transfer.units < 0:
                raise ValueError(f"transfer of a negative amount: {transfer}")
        for transfer in transfers:
            units = transfer.units
            if not units:
                continue
            self._move(transfer.source, transfer.asset, -units)
            self._move(transfer.target, transfer.asset, units)
            self._postings += 1

    def _move(self, account: str, asset: str, delta: int) -> None:
        book = self._units.get(asset)
        if book is None:
            book = self._units[asset] = {}
        old = book.get(account, 0)
        new = old + delta
        if new:
            book[account] = new
        else:
            del book[account]
        if account[0] in "@#" and not _counted(account):
            return
        if old >= 0 and new >= 0:
            self._deposits[asset] = self._deposits.get(asset, 0) + delta
        elif old <= 0 and new <= 0:
            self._borrows[asset] = self._borrows.get(asset, 0) - delta
        else:  # crosses zero
            self._deposits[asset] = self._deposits.get(asset, 0) + max(new, 0) - max(old, 0)
            self._borrows[asset] = self._borrows.get(asset, 0) + max(-new, 0) - max(-old, 0)

    # -- checking -------------------------------------------------------------------------
    def is_balanced(self) -> bool:
        """For every asset, all balances (the outside world included) sum to zero, and the
        running totals equal a recomputation."""
        sums: dict[str, int] = {}
        deposits: dict[str, int] = {}
        borrows: dict[str, int] = {}
        for asset, book in self._units.items():
            for account, units in book.items():
                sums[asset] = sums.get(asset, 0) + units
                if _counted(account):
                    if units > 0:
                        deposits[asset] = deposits.get(asset, 0) + units
                    else:
                        borrows[asset] = borrows.get(asset, 0) - units
        if any(sums.values()):
            return False
        strip = lambda d: {k: v for k, v in d.items() if v}
        return strip(deposits) == strip(self._deposits) and strip(borrows) == strip(self._borrows)
