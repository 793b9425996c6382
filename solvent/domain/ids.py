"""Identifier rules (SPEC §1): 1 to 128 characters of letters, digits and `_ - . :`.

Names that begin with `@` are system accounts: `@insurance`, `@fees` and one `@pnl:MARKET`
pool per market.
"""

from __future__ import annotations

from typing import Final

from .errors import Rejection

MAX_ID_LENGTH: Final = 128
#: the characters of an id (SPEC §1)
ID_CHARACTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:"


def is_plain_id(text: str) -> bool:
    """1 to 128 characters, each one of ID_CHARACTERS. (Stripping them all from both ends
    leaves nothing exactly when every character is one: checked against the equivalent
    regular expression in tests/unit/domain/test_ids.py. It reads every command's ids;
    compiled, it takes fewer instructions than a regular expression's match, and fewer than
    a set's `issuperset` over the characters: both were counted.)"""
    return 0 < len(text) <= MAX_ID_LENGTH and not text.strip(ID_CHARACTERS)

INSURANCE = "@insurance"
FEES = "@fees"
PNL_PREFIX = "@pnl:"


def pnl_pool(market: str) -> str:
    """The system account on the other side of every realized PnL and funding of `market`."""
    return PNL_PREFIX + market


def isolated_wallet(account: str, market: str) -> str:
    """The ledger account holding an isolated position's margin. `/` is not an id character,
    so it can never collide with a user or system account."""
    return f"{account}/isolated/{market}"


def wallet_owner(ledger_account: str) -> str:
    """The account a ledger account belongs to: itself, or the owner of an isolated wallet."""
    return ledger_account.split("/isolated/", 1)[0]


def wallet_market(ledger_account: str) -> str:
    """The market of an isolated wallet; "" for an account's own balance."""
    parts = ledger_account.split("/isolated/", 1)
    return parts[1] if len(parts) == 2 else ""


def is_system(account: str) -> bool:
    return account.startswith("@")


def check_id(value: object, field: str) -> str:
    """Return `value` if it is a valid plain identifier, else raise a `Rejection`."""
    if not isinstance(value, str):
        raise Rejection("invalid_type", f"{field} must be a string id")
    if len(value) > MAX_ID_LENGTH:
        raise Rejection("invalid_id", f"{field} is longer than {MAX_ID_LENGTH} characters")
    if not is_plain_id(value):
        raise Rejection("invalid_id", f"{field} must be 1-128 letters, digits or _ - . : ({value[:40]!r})")
    return value


def check_account_id(value: object, field: str) -> str:
    """An account id: a plain id, or `@` followed by a plain id (a system account)."""
    if isinstance(value, str) and value.startswith("@"):
        if value in (INSURANCE, FEES) or (value.startswith(PNL_PREFIX) and is_plain_id(value[len(PNL_PREFIX):])):
            if len(value) <= MAX_ID_LENGTH + len(PNL_PREFIX):
                return value
        raise Rejection("invalid_id", f"{field}: unknown system account {value[:40]!r}")
    return check_id(value, field)
