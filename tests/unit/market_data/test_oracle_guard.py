"""solvent.market_data.oracle_guard: the verdict on one price update (rules 1–5 of the
module docstring). Every expected verdict is worked out from the rule it tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent.market_data.oracle_guard import NEW_ORACLE, GuardPolicy, OracleRecord, is_stale, judge

D = Decimal
#: jumps beyond 10 % are held; a second update within 2 % confirms; confidence up to 1 %
POLICY = GuardPolicy(max_price_jump=D("0.1"), jump_confirmation=D("0.02"), max_confidence=D("0.01"))
FRESH = OracleRecord(published_at=D(100))


def verdict(price, record=FRESH, last=D(100), confidence=None, published=D(110), now=D(110), max_age=D(60),
            policy=POLICY, stale_before=False):
    return judge(record, last, D(price), confidence, published, now, max_age, policy, stale_before)


def test_a_move_within_the_jump_limit_is_applied_silently():
    """100 → 110 is exactly 10 %: not beyond the limit. Accepted, no event reason, stamped 110."""
    v = verdict("110")
    assert (v.status, v.reason, v.applied) == ("ok", None, True)
    assert v.record == OracleRecord(published_at=D(110))


def test_a_jump_is_held_pending_and_a_confirming_tick_applies_it():
    """100 → 50 (−50 %) is beyond 10 %: rejected, 50 pending, oracle invalid. The next tick,
    49.5, is 1 % from the pending 50 (≤ 2 %): the crash is confirmed and applied."""
    first = verdict("50")
    assert (first.status, first.reason, first.applied) == ("rejected", "price_jump", False)
    assert first.record == OracleRecord(published_at=D(100), pending=D(50), invalid="price_jump")
    second = verdict("49.5", record=first.record, published=D(111), now=D(111))
    assert (second.status, second.reason, second.applied) == ("ok", "jump_confirmed", True)
    assert second.record == OracleRecord(published_at=D(111))


def test_a_jump_that_the_next_tick_does_not_confirm_stays_held():
    """Pending 50; the next tick 55 is 10 % from it (> 2 %) and 45 % from 100: rejected
    again, and 55 becomes the pending price."""
    held = verdict("50").record
    v = verdict("55", record=held)
    assert (v.status, v.reason) == ("rejected", "price_jump")
    assert v.record.pending == D(55)


def test_a_normal_tick_after_a_held_jump_recovers_and_clears_it():
    """Pending 50 (a spike); the next tick 101 is 1 % from the last good price: accepted,
    reason recovered, nothing pending."""
    held = verdict("50").record
    v = verdict("101", record=held)
    assert (v.status, v.reason) == ("ok", "recovered")
    assert v.record.pending is None and v.record.invalid is None


@pytest.mark.parametrize("confidence, status", [("1", "ok"), ("1.0000001", "rejected")])
def test_confidence_wider_than_its_limit_is_rejected(confidence, status):
    """Price 100, max confidence 1 % of it = 1: confidence 1 passes, 1.0000001 does not."""
    v = verdict("100", confidence=D(confidence))
    assert v.status == status
    if status == "rejected":
        assert v.reason == "confidence" and v.record.invalid == "confidence" and v.record.published_at == D(100)


def test_a_price_published_too_long_ago_is_stale_and_not_applied():
    """Clock 200, max age 60: a price published at 139 is 61 s old: stale; at 140, 60 s: ok."""
    assert verdict("100", published=D(139), now=D(200)).status == "stale"
    assert verdict("100", published=D(140), now=D(200)).status == "ok"
    assert verdict("100", published=D(139), now=D(200)).record == FRESH  # nothing changes


def test_a_price_published_before_the_last_accepted_one_is_rejected():
    v = verdict("100", published=D(99))
    assert (v.status, v.reason, v.record) == ("rejected", "out_of_order", FRESH)


def test_the_first_price_has_nothing_to_jump_from():
    v = verdict("1000000", record=NEW_ORACLE, last=None)
    assert (v.status, v.reason) == ("ok", None)


def test_a_price_after_staleness_is_a_recovery():
    assert verdict("100", stale_before=True).reason == "recovered"


def test_without_guards_anything_positive_goes_through():
    off = GuardPolicy(max_price_jump=None, jump_confirmation=D("0.02"), max_confidence=None)
    v = verdict("1", confidence=D("50"), policy=off)
    assert (v.status, v.applied) == ("ok", True)


@pytest.mark.parametrize(
    "published, now, max_age, stale",
    [
        (D(100), D(160), D(60), False),  # exactly 60 s old: not older than the limit
        (D(100), D(161), D(60), True),
        (D(100), D(10_000), None, False),  # no limit
        (None, None, D(60), False),  # no clock: no age
        (None, D(1), D(60), True),  # accepted before the clock existed: unknown age is stale
    ],
)
def test_is_stale(published, now, max_age, stale):
    assert is_stale(published, now, max_age) is stale
