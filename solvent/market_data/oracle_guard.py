"""Oracle guards: which price updates are believed (SPEC §2 `price`, §3 `oracle`).

A well-formed price update (a positive price, an optional non-negative confidence: the codec
refuses anything else as a malformed command) is judged against what the engine remembers of
its oracle, in this order — the first rule that applies decides:

1. `out_of_order` (rejected): published before the last accepted price of the oracle.
2. `too_old` (stale): published more than the oracle's max age before the engine clock.
3. `confidence` (rejected): `confidence > max_confidence × price`.
4. `price_jump` (rejected): `|price − last| > max_price_jump × last`, unless a pending jump
   exists and `|price − pending| ≤ jump_confirmation × pending`: then the jump is confirmed
   (`ok`, reason `jump_confirmed`). A rejected jump becomes the pending price, so a real
   crash gets through on the next tick that agrees with it.
5. otherwise `ok` (reason `recovered` when the oracle was invalid or stale before).

Only an `ok` price is applied. A `confidence` or `price_jump` rejection marks the oracle
invalid until a price is accepted; an out-of-order or too-old update says nothing about the
feed now and leaves the oracle as it was. Everything here is pure: the engine keeps the
record and acts on the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..domain.numbers import ARITHMETIC

OK = "ok"
STALE = "stale"
REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class OracleRecord:
    """What the engine remembers of one oracle besides its last accepted price."""

    #: publication time of the last accepted price (its command's ts, else the engine clock
    #: then); None: accepted before the engine had a clock, so its age is unknown
    published_at: Decimal | None = None
    #: a price that jumped and waits for a confirming update
    pending: Decimal | None = None
    #: why the last judged update was refused (`confidence`, `price_jump`); None when valid
    invalid: str | None = None


NEW_ORACLE = OracleRecord()


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """The guard parameters (all from `params`; defaults in MARKET_DATA.md)."""

    max_price_jump: Decimal | None  # fraction of the last price; None: no jump guard
    jump_confirmation: Decimal  # fraction of the pending price
    max_confidence: Decimal | None  # fraction of the price; None: confidence not checked


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str  # ok | stale | rejected
    reason: str | None  # None: a plain accepted price (no event)
    record: OracleRecord  # the oracle's record after the update

    @property
    def applied(self) -> bool:
        return self.status == OK


def is_stale(published_at: Decimal | None, now: Decimal | None, max_age: Decimal | None) -> bool:
    """`now − published_at > max_age`. Never stale without a max age or without a clock; a
    price of unknown age (accepted before the clock was set) is stale once there is one."""
    if max_age is None or now is None:
        return False
    if published_at is None:
        return True
    return ARITHMETIC.subtract(now, published_at) > max_age


def relative_move(new: Decimal, reference: Decimal) -> Decimal:
    """|new − reference| / reference (reference > 0)."""
    return ARITHMETIC.divide(abs(ARITHMETIC.subtract(new, reference)), reference)


def judge(
    record: OracleRecord,
    last_price: Decimal | None,
    price: Decimal,
    confidence: Decimal | None,
    published_at: Decimal | None,
    now: Decimal | None,
    max_age: Decimal | None,
    policy: GuardPolicy,
    stale_before: bool,
) -> Verdict:
    """The verdict on one update (rules 1–5 of the module docstring)."""
    if published_at is not None and record.published_at is not None and published_at < record.published_at:
        return Verdict(REJECTED, "out_of_order", record)
    if published_at is not None and is_stale(published_at, now, max_age):
        return Verdict(STALE, "too_old", record)
    if confidence is not None and policy.max_confidence is not None:
        if confidence > ARITHMETIC.multiply(policy.max_confidence, price):
            return Verdict(REJECTED, "confidence", OracleRecord(record.published_at, record.pending, "confidence"))
    reason = "recovered" if (record.invalid is not None or stale_before) else None
    if last_price is not None and policy.max_price_jump is not None:
        if relative_move(price, last_price) > policy.max_price_jump:
            pending = record.pending
            if pending is None or relative_move(price, pending) > policy.jump_confirmation:
                return Verdict(REJECTED, "price_jump", OracleRecord(record.published_at, price, "price_jump"))
            reason = "jump_confirmed"
    return Verdict(OK, reason, OracleRecord(published_at, None, None))
