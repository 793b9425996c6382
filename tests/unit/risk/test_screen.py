"""solvent.risk.screen.HealthScreen: a float mirror of every risk unit's health and free
collateral, moved by price ticks; it only selects candidates for the exact model.

A row anchored with health h and free collateral f at prices p, and slopes s_k per oracle,
stands for health(p') = h + Σ_k s_k × (p'_k − p_k) (likewise free). It is a candidate when
either figure may have changed sign (is within its band of zero, or past it) or when an
oracle's price left the interval on which its slopes hold.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvent.risk import screen as screen_module
from solvent.risk.screen import HealthScreen

INF = float("inf")
Q = 1e-6  # quantum of value_decimals 6


class CountingScreen(HealthScreen):
    """The screen, counting its full rebuilds."""

    rebuilds = 0

    def rebuild(self) -> None:
        self.rebuilds += 1
        super().rebuild()


def new_screen(oracles: int = 2, prices=(100.0, 50.0), capacity: int = 8, kind: type = HealthScreen) -> HealthScreen:
    screen = kind(capacity=capacity, oracles=1)
    for index in range(oracles):
        assert screen.add_oracle() == index
        screen.set_price(index, prices[index])
    return screen


def anchor(screen, health, free, lines, terms=3, quantum=Q, row=None):
    row = screen.new_row() if row is None else row
    screen.anchor(row, health, free, health < 0, free < 0, lines, terms, quantum)
    return row


def candidates(screen, index, price) -> set[int]:
    return {int(r) for r in screen.tick(index, price)}


# -- moving --------------------------------------------------------------------------------------


def test_tick_moves_health_and_free_collateral_by_slope_times_price_change():
    """Health 50 (slope 2), free 30 (slope 1) at 100; at 110: 50 + 2 × 10 = 70, 30 + 10 = 40."""
    screen = new_screen()
    row = anchor(screen, 50.0, 30.0, [(0, 2.0, 1.0, 0.0, INF)])
    screen.tick(0, 110.0)
    assert screen.estimate(row) == pytest.approx((70.0, 40.0), abs=1e-9)


def test_tick_moves_a_row_anchored_negative_the_same_way():
    """Health −20 (slope 2), free −40 (slope 1) at 100; at 105: −10 and −35."""
    screen = new_screen()
    row = anchor(screen, -20.0, -40.0, [(0, 2.0, 1.0, 0.0, INF)])
    screen.tick(0, 105.0)
    assert screen.estimate(row) == pytest.approx((-10.0, -35.0), abs=1e-9)


def test_ticks_of_two_oracles_add_up():
    """Slopes (2, 1) on oracle 0 and (−3, −1) on oracle 1; 0: 100 → 90, 1: 50 → 52:
    health 1,000 − 20 − 6 = 974; free 500 − 10 − 2 = 488."""
    screen = new_screen()
    row = anchor(screen, 1000.0, 500.0, [(0, 2.0, 1.0, 0.0, INF), (1, -3.0, -1.0, 0.0, INF)])
    screen.tick(0, 90.0)
    screen.tick(1, 52.0)
    assert screen.estimate(row) == pytest.approx((974.0, 488.0), abs=1e-9)


# -- candidates ------------------------------------------------------------------------------------


def test_a_row_whose_health_crosses_zero_is_a_candidate():
    """Health 50, slope 2 at 100: zero at 75. At 80 it is 10 (no); at 74 it is −2 (yes)."""
    screen = new_screen()
    row = anchor(screen, 50.0, 10**6, [(0, 2.0, 0.0, 0.0, INF)])
    assert row not in candidates(screen, 0, 80.0)
    assert row in candidates(screen, 0, 74.0)


def test_a_row_whose_free_collateral_crosses_zero_is_a_candidate():
    """Free 30, slope 1 at 100: −1 at 69. Health is far from zero throughout."""
    screen = new_screen()
    row = anchor(screen, 10**6, 30.0, [(0, 0.0, 1.0, 0.0, INF)])
    assert row not in candidates(screen, 0, 71.0)
    assert row in candidates(screen, 0, 69.0)


def test_a_row_anchored_negative_is_a_candidate_when_it_turns_positive():
    """Health −20, slope 2 at 100: −10 at 105 (still negative: no), +2 at 111 (yes)."""
    screen = new_screen()
    row = anchor(screen, -20.0, -10**6, [(0, 2.0, 0.0, 0.0, INF)])
    assert row not in candidates(screen, 0, 105.0)
    assert row in candidates(screen, 0, 111.0)


def test_a_row_inside_its_band_is_a_candidate():
    """quantum 1, 3 terms: band = (3 + 2) × 1 + 1e-9 × (…) ≈ 5. Health 50, slope 1 at 100:
    at 56 health 6 > band (no); at 54 health 4 < band (yes, though still positive)."""
    screen = new_screen()
    row = anchor(screen, 50.0, 10**6, [(0, 1.0, 0.0, 0.0, INF)], terms=3, quantum=1.0)
    assert row not in candidates(screen, 0, 56.0)
    assert row in candidates(screen, 0, 54.0)


def test_a_row_is_a_candidate_when_the_price_leaves_its_tier_interval():
    """Slopes hold on (90, 120]: 119 no; 121 yes; back to 100 no; 89 yes. Health stays far
    from zero (slope 1, health 10^6)."""
    screen = new_screen()
    row = anchor(screen, 10**6, 10**6, [(0, 1.0, 1.0, 90.0, 120.0)])
    assert row not in candidates(screen, 0, 119.0)
    assert row in candidates(screen, 0, 121.0)
    assert row not in candidates(screen, 0, 100.0)
    assert row in candidates(screen, 0, 89.0)


@pytest.mark.parametrize("price", [90.0, 120.0])
def test_a_price_exactly_on_a_tier_boundary_makes_a_candidate(price):
    screen = new_screen()
    row = anchor(screen, 10**6, 10**6, [(0, 1.0, 1.0, 90.0, 120.0)])
    assert row in candidates(screen, 0, price)


def test_rows_not_exposed_to_an_oracle_are_never_its_candidates():
    """Row b depends on oracle 1 only; oracle 0 moving from 100 to 1 or to 10^6 is no
    concern of b's (while row a, exposed to it, becomes a candidate)."""
    screen = new_screen()
    a = anchor(screen, 50.0, 50.0, [(0, 1.0, 1.0, 0.0, INF)])
    b = anchor(screen, 50.0, 50.0, [(1, 1.0, 1.0, 40.0, 60.0)])
    found = candidates(screen, 0, 1.0)
    assert a in found and b not in found
    assert b not in candidates(screen, 0, 10**6)
    assert screen.estimate(b) == pytest.approx((50.0, 50.0))


def test_a_cleared_or_released_row_is_never_a_candidate():
    screen = new_screen()
    cleared = anchor(screen, 1.0, 1.0, [(0, 1.0, 1.0, 0.0, INF)])
    released = anchor(screen, 1.0, 1.0, [(0, 1.0, 1.0, 0.0, INF)])
    screen.clear(cleared)
    screen.release_row(released)
    assert candidates(screen, 0, 1.0) == set()
    assert screen.new_row() == released  # a released row is reused


def test_re_anchoring_a_row_replaces_its_old_lines():
    """A row first on oracle 0, re-anchored on oracle 1 only: oracle 0 no longer moves it."""
    screen = new_screen()
    row = anchor(screen, 50.0, 50.0, [(0, 1.0, 1.0, 0.0, INF)])
    anchor(screen, 50.0, 50.0, [(1, 1.0, 1.0, 0.0, INF)], row=row)
    assert row not in candidates(screen, 0, 1.0)
    assert screen.estimate(row) == pytest.approx((50.0, 50.0))


def test_shift_moves_a_row_by_a_known_amount_and_reports_it_when_it_crosses():
    """Health 50 shifted by −20 → 30 (no); by −40 more → −10 (yes)."""
    screen = new_screen()
    row = anchor(screen, 50.0, 10**6, [(0, 1.0, 0.0, 0.0, INF)])
    assert screen.shift([(row, -20.0, 0.0)]) == []
    assert screen.estimate(row)[0] == pytest.approx(30.0)
    assert screen.shift([(row, -40.0, 0.0)]) == [row]


def test_the_screen_grows_past_its_initial_capacity_and_oracle_count():
    """Capacity 1 and 1 oracle, then 5 rows on 3 oracles: every row keeps its figures."""
    screen = new_screen(oracles=3, prices=(100.0, 50.0, 10.0), capacity=1)
    rows = [anchor(screen, 100.0 + i, 200.0 + i, [(i % 3, 1.0, 1.0, 0.0, INF)]) for i in range(5)]
    assert rows == list(range(5))
    for i, row in enumerate(rows):
        assert screen.estimate(row) == pytest.approx((100.0 + i, 200.0 + i))
    screen.tick(2, 12.0)  # rows 2 (i % 3 == 2) moves by +2
    assert screen.estimate(2) == pytest.approx((104.0, 204.0))
    assert screen.estimate(1) == pytest.approx((101.0, 201.0))


# -- periodic rebuild ------------------------------------------------------------------------------

TICKS = [(0, 97.0), (1, 51.5), (0, 103.25), (0, 88.0), (1, 47.0), (1, 49.75), (0, 120.5), (1, 55.0), (0, 99.0)]


def build_rows(screen):
    anchor(screen, 500.0, 300.0, [(0, 2.0, 1.5, 0.0, INF), (1, -4.0, -5.0, 0.0, INF)])
    anchor(screen, -80.0, -120.0, [(0, 0.5, 0.25, 0.0, INF)])
    anchor(screen, 40.0, 10.0, [(1, 3.0, 3.0, 0.0, INF)])


def run_ticks(screen):
    history = []
    for index, price in TICKS:
        found = screen.tick(index, price)
        history.append((screen.margins[:, : screen.rows].copy(), sorted(int(r) for r in found)))
    return history


def test_periodic_rebuild_gives_the_same_margins_as_incremental_updates(monkeypatch):
    """With REANCHOR_EVERY = 3 the margins are rebuilt from the constants on ticks 3, 6, 9;
    they equal (to float rounding) the incremental ones, and so do the candidates."""
    monkeypatch.setattr(screen_module, "REANCHOR_EVERY", 10**9)
    incremental = new_screen()
    build_rows(incremental)
    expected = run_ticks(incremental)

    monkeypatch.setattr(screen_module, "REANCHOR_EVERY", 3)
    rebuilt = new_screen(kind=CountingScreen)
    build_rows(rebuilt)
    actual = run_ticks(rebuilt)

    assert rebuilt.rebuilds == len(TICKS) // 3
    for (m_inc, c_inc), (m_reb, c_reb) in zip(expected, actual):
        np.testing.assert_allclose(m_reb, m_inc, rtol=1e-12, atol=1e-9)
        assert c_reb == c_inc


def test_rebuild_recomputes_margins_from_the_constants():
    """After ticks, margins rebuilt directly equal the incremental ones; a row anchored with
    health 500 + slopes reaches 500 + 2 × (99 − 100) − 4 × (55 − 50) = 478 (see TICKS)."""
    screen = new_screen()
    build_rows(screen)
    run_ticks(screen)
    before = screen.margins[:, : screen.rows].copy()
    screen.rebuild()
    np.testing.assert_allclose(screen.margins[:, : screen.rows], before, rtol=1e-12, atol=1e-9)
    assert screen.estimate(0)[0] == pytest.approx(478.0)


# -- property: no sign change is ever missed ------------------------------------------------------


@st.composite
def scenarios(draw):
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        slopes = [(draw(st.integers(-50, 50)), draw(st.integers(-50, 50))) for _ in range(2)]
        widths = [(draw(st.sampled_from([0, 2, 5, 9])), draw(st.sampled_from([None, 11, 15, 40]))) for _ in range(2)]
        if draw(st.booleans()):
            c_h = draw(st.integers(-(10**5), 10**5))
            c_f = draw(st.integers(-(10**5), 10**5))
        else:  # within a few quantums of zero at prices near the start (100, 50)
            c_h = -(slopes[0][0] * 100 + slopes[1][0] * 50) + draw(st.integers(-6, 6))
            c_f = -(slopes[0][1] * 100 + slopes[1][1] * 50) + draw(st.integers(-6, 6))
        rows.append((c_h, c_f, slopes, widths))
    near = {0: st.integers(9900, 10100), 1: st.integers(4900, 5100)}
    ticks = draw(st.lists(st.integers(0, 1).flatmap(
        lambda k: st.tuples(st.just(k), st.one_of(st.integers(1, 10**5), near[k]))), min_size=1, max_size=40))
    return rows, ticks


class ExactRows:
    """The scenario's rows under an exact model, each anchored on a screen: health = c_h +
    Σ_k floor(s_k × price_k) (free likewise), each of the 2 terms rounded down to a quantum
    of 1 while the screen moves on the unrounded slopes. `state[r]` is what row r was last
    anchored with: (health < 0, free < 0, {oracle: its interval})."""

    def __init__(self, rows) -> None:
        self.rows = rows
        self.prices = [Fraction(100), Fraction(50)]
        self.screen = new_screen(prices=(100.0, 50.0))
        self.state: dict[int, tuple] = {}
        for r in range(len(rows)):
            assert self.screen.new_row() == r
            self.reanchor(r)

    def exact(self, r):
        """The exact model's figures: each price term rounded down to a whole quantum (1)."""
        c_h, c_f, slopes, _ = self.rows[r]
        h = c_h + sum(math.floor(s_h * p) for (s_h, _), p in zip(slopes, self.prices))
        f = c_f + sum(math.floor(s_f * p) for (_, s_f), p in zip(slopes, self.prices))
        return Fraction(h), Fraction(f)

    def reanchor(self, r):
        h, f = self.exact(r)
        _, _, slopes, widths = self.rows[r]
        lines, bounds = [], {}
        for k, ((s_h, s_f), (lo, hi)) in enumerate(zip(slopes, widths)):
            if s_h or s_f or lo or hi is not None:
                low = self.prices[k] * lo / 10
                high = self.prices[k] * hi / 10 if hi is not None else None
                lines.append((k, float(s_h), float(s_f), float(low), INF if high is None else float(high)))
                bounds[k] = (low, high)
        self.screen.anchor(r, float(h), float(f), h < 0, f < 0, lines, 2, 1.0)
        self.state[r] = (h < 0, f < 0, bounds)

    def must_be_candidate(self, r, k) -> bool:
        """After a tick of oracle k: row r's exact health or free collateral has a sign other
        than at its last anchoring, or k's price left the row's interval in k."""
        h, f = self.exact(r)
        h_neg, f_neg, bounds = self.state[r]
        must = (h < 0) != h_neg or (f < 0) != f_neg
        if k in bounds:
            low, high = bounds[k]
            must |= not (low < self.prices[k] and (high is None or self.prices[k] <= high))
        return must


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_row_whose_true_health_changes_sign_is_a_candidate(scenario):
    """Rows: health = c_h + Σ_k floor(s_k × price_k) (free likewise): the exact model rounds
    each of its 2 terms to a quantum of 1, while the screen moves on the unrounded slopes.
    After every tick the candidates are re-anchored from the exact values (as the risk
    monitor does).
    A row whose exact health or free collateral has a sign other than at its last anchoring,
    or whose price left its interval, must be among the candidates; rows never exposed to the
    ticked oracle and not near zero are not."""
    rows, ticks = scenario
    model = ExactRows(rows)
    screen, prices, state, exact, reanchor = model.screen, model.prices, model.state, model.exact, model.reanchor
    for k, raw in ticks:
        prices[k] = Fraction(raw, 100)
        found = {int(r) for r in screen.tick(k, float(prices[k]))}
        for r in range(len(rows)):
            if model.must_be_candidate(r, k):
                assert r in found, (r, exact(r), state[r], prices)
            h, f = exact(r)
            h_neg, f_neg, bounds = state[r]
            far = abs(h) > 1 and abs(f) > 1
            if k not in bounds and far and (h < 0) == h_neg and (f < 0) == f_neg:
                assert r not in found
        for r in found:
            reanchor(r)


#: rows flipped by the property test below (checked: not vacuous)
_FLIPPED: list[int] = []


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.booleans())
def test_a_flip_takes_the_exact_signs_and_no_crossing_is_missed_after_it(scenario, free_may_fall):
    """As above, but each candidate is first offered to `HealthScreen.flip` and re-anchored
    only where it refuses (as the risk monitor does). A flip must give the figures exactly
    the signs the exact model has; a fall of free collateral below zero is refused unless
    allowed; and, the row not re-anchored, every later sign change is still caught."""
    rows, ticks = scenario
    model = ExactRows(rows)
    screen, prices, state, exact, reanchor = model.screen, model.prices, model.state, model.exact, model.reanchor
    screen.flush()
    for k, raw in ticks:
        prices[k] = Fraction(raw, 100)
        found = {int(r) for r in screen.tick(k, float(prices[k]))}
        for r in range(len(rows)):
            if model.must_be_candidate(r, k):
                assert r in found, (r, exact(r), state[r], prices)
        for r in sorted(found):
            h, f = exact(r)
            h_neg, f_neg, bounds = state[r]
            answer = screen.flip(r, free_may_fall) if screen.at_zero(r) else screen_module.FLIP_REFUSED
            if answer:
                assert bool(answer & screen_module.FLIP_HEALTH_NEGATIVE) == (h < 0), (r, h, state[r])
                assert bool(answer & screen_module.FLIP_FREE_NEGATIVE) == (f < 0), (r, f, state[r])
                assert free_may_fall or not (f < 0 and not f_neg)
                assert (h < 0, f < 0) != (h_neg, f_neg)
                state[r] = (h < 0, f < 0, bounds)
                _FLIPPED.append(r)
            else:
                reanchor(r)
        screen.flush()


def test_the_flip_comparison_above_flipped_rows():
    assert len(_FLIPPED) > 20


def test_a_flip_is_refused_inside_the_band_and_off_the_tier_interval():
    """Health 10 at 100 with slope 1 and band 2 + 5 quantums: at 90 the estimate is 0 (undecided),
    at 80 −10 (proved below: flipped, liquidatable); a row whose price left its interval is
    never flipped, and a fall of free collateral is refused unless allowed."""
    screen = new_screen()
    row = anchor(screen, 10.0, 1e6, [(0, 1.0, 0.0, 0.0, INF)], terms=3, quantum=1.0)
    screen.tick(0, 90.0)
    assert screen.at_zero(row) and screen.flip(row, True) == screen_module.FLIP_REFUSED
    screen.tick(0, 80.0)
    assert screen.flip(row, False) == screen_module.FLIP_DONE | screen_module.FLIP_HEALTH_NEGATIVE
    assert not screen.at_zero(row)
    assert screen.estimate(row)[0] == pytest.approx(-10.0)
    screen.rebuild()  # the flipped row's constants, signs and slopes agree with its margin
    assert screen.margins[0, row] == pytest.approx(10.0 - screen.record[row, 4])
    assert screen.tick(0, 95.0).tolist() == [row]  # and it is watched on the other side now

    banded = anchor(screen, 1e6, 10.0, [(0, 0.0, 1.0, 70.0, 200.0)], terms=3, quantum=1.0)
    screen.tick(0, 60.0)  # free collateral −10, proved, but the price left (70, 200]
    assert screen.flip(banded, True) == screen_module.FLIP_REFUSED
    falling = anchor(screen, 1e6, 10.0, [(0, 0.0, 1.0, 0.0, INF)], terms=3, quantum=1.0)
    screen.tick(0, 30.0)  # free collateral −20
    assert screen.flip(falling, False) == screen_module.FLIP_REFUSED
    assert screen.flip(falling, True) == screen_module.FLIP_DONE | screen_module.FLIP_FREE_NEGATIVE


#: rows reset over their lines by the property test below (checked: not vacuous)
_RESET: list[int] = []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.booleans(), st.booleans(),
                          st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3),
                                             st.sampled_from([0.0, 40.0, 90.0]), st.sampled_from([INF, 120.0, 300.0])),
                                   min_size=2, max_size=2)),
                min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 1), st.floats(1.0, 400.0), st.integers(0, 5), st.floats(-1e6, 1e6),
                          st.floats(-1e6, 1e6), st.booleans(), st.booleans()), min_size=1, max_size=10))
def test_a_reset_writes_what_anchoring_the_same_lines_writes(rows, calls):
    """Two screens with the same rows; prices move; one row is re-anchored from new figures
    by `reset` on the first and by `anchor` with its original lines (then `flush`) on the
    second. Where `reset` writes, the two screens hold the same bytes (margins, records,
    columns); where it refuses, a line of the row is off its interval at the current price."""
    screens = [new_screen(prices=(100.0, 50.0)) for _ in range(2)]
    lines_of = []
    for health, free, h_neg, f_neg, legs in rows:
        lines = [(k, s_h, s_f, low * (k + 1) / 2, high * (k + 1) / 2 if high < INF else INF)
                 for k, (s_h, s_f, low, high) in enumerate(legs)]
        lines_of.append(lines)
        for screen in screens:
            screen.anchor(screen.new_row(), health, free, h_neg, f_neg, lines, 5, Q)
    for screen in screens:
        screen.flush()
    for oracle, price, pick, health, free, h_neg, f_neg in calls:
        row = pick % len(rows)
        for screen in screens:
            screen.tick(oracle, price)
        written = screens[0].reset(row, health, free, h_neg, f_neg, 7, Q)
        if written:
            screens[1].anchor(row, health, free, h_neg, f_neg, lines_of[row], 7, Q)
            screens[1].flush()
            _RESET.append(row)
        else:
            assert any(not (column.low[slot] < screens[0].prices[index] <= column.high[slot])
                       for index, slot in screens[0]._lines_of(row)
                       for column in [screens[0].columns[index]])
        assert screens[0].margins.tobytes() == screens[1].margins.tobytes()
        assert screens[0].record.tobytes() == screens[1].record.tobytes()
        for a, b in zip(screens[0].columns, screens[1].columns):
            assert (a.slope_h.tobytes(), a.slope_f.tobytes(), a.low.tobytes(), a.high.tobytes()) == \
                   (b.slope_h.tobytes(), b.slope_f.tobytes(), b.low.tobytes(), b.high.tobytes())


def test_the_reset_comparison_above_reset_rows():
    assert len(_RESET) > 50


def test_a_reset_is_refused_for_a_staged_or_cleared_row():
    screen = new_screen()
    row = anchor(screen, 10.0, 5.0, [(0, 1.0, 1.0, 0.0, INF)])
    assert not screen.reset(row, 1.0, 1.0, False, False, 3, Q)  # staged, not written yet
    screen.flush()
    assert screen.reset(row, -1.0, 1.0, True, False, 3, Q)
    assert screen.record[row, 2] == -1.0 and screen.columns[0].slope_h[0] == -1.0
    screen.clear(row)
    screen.flush()
    assert not screen.reset(row, 1.0, 1.0, False, False, 3, Q)


# -- the packed layout stays consistent ------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.sets(st.integers(0, 11), max_size=12), st.booleans()),
                min_size=1, max_size=60))
def test_rows_and_columns_always_point_at_each_other(operations):
    """Random anchors (each row on a random set of oracles, some with more than WIDTH lines
    via many oracles), re-anchors and clears: every line a row records sits in its oracle's
    column at the recorded slot and names the row, every column line belongs to a row that
    records it, and each row's estimate is its own lines' sum."""
    screen = HealthScreen(capacity=2)
    for index in range(12):  # more than WIDTH: some rows keep their lines in the overflow dict
        screen.add_oracle()
        screen.set_price(index, 10.0 + index)
    rows = [screen.new_row() for _ in range(8)]
    expected: dict[int, dict[int, float]] = {}
    for row_index, oracles, clear in operations:
        row = rows[row_index]
        if clear:
            screen.clear(row)
            expected.pop(row, None)
        else:
            lines = [(k, 1.0 + k + row, 0.5, 0.0, INF) for k in sorted(oracles)]
            anchor(screen, 1000.0, 1000.0, lines, row=row)
            expected[row] = {k: 1.0 + k + row for k in oracles}
    screen.flush()
    recorded = set()
    for row in rows:
        for index, slot in screen._lines_of(row):
            assert screen.columns[index].rows[slot] == row
            recorded.add((index, slot))
        assert {index for index, _ in screen._lines_of(row)} == set(expected.get(row, {}))
    assert recorded == {(index, slot) for index, column in enumerate(screen.columns) for slot in range(len(column))}
    for row, slopes in expected.items():
        assert screen.estimate(row)[0] == pytest.approx(1000.0)  # anchored at the current prices
        screen_slopes = {index: screen.columns[index].slope_h[slot] for index, slot in screen._lines_of(row)}
        assert screen_slopes == pytest.approx(slopes)
