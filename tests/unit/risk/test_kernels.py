"""solvent.risk.kernels: the numba kernel, the numpy kernel and (in the compiled build) the C
kernel give identical margins and identical candidates, bit for bit, and all agree with the
definition. The C kernel's cases run where it is built: CI's compiled suite (tests/test_build.py
checks that it is there)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from solvent.risk import kernels
from solvent.risk.screen import FLIP_RETIERED, WIDTH, HealthScreen, position_line

pytest.importorskip("numba")
NUMBA = kernels.select("numba")[1]
INF = float("inf")
NATIVE = kernels.native_available()
native_only = pytest.mark.skipif(not NATIVE, reason="the C kernel is built only with the compiled build")

finite = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


@st.composite
def columns(draw):
    rows_total = draw(st.integers(1, 60))
    lines = draw(st.integers(0, rows_total))
    rows = np.array(draw(st.permutations(range(rows_total)))[:lines], dtype=np.int64)
    margins = draw(hnp.arrays(np.float64, (2, rows_total), elements=st.one_of(finite, st.just(INF))))
    slopes = [draw(hnp.arrays(np.float64, lines, elements=st.floats(-1e4, 1e4, allow_nan=False))) for _ in range(2)]
    low = draw(hnp.arrays(np.float64, lines, elements=st.one_of(st.just(-INF), st.floats(0, 200))))
    high = draw(hnp.arrays(np.float64, lines, elements=st.one_of(st.just(INF), st.floats(0, 400))))
    delta = draw(st.one_of(st.just(0.0), st.floats(-50, 50, allow_nan=False)))
    price = draw(st.floats(0.01, 300))
    return margins, rows, slopes[0], slopes[1], low, high, delta, price


@settings(max_examples=300, deadline=None)
@given(columns())
def test_numba_and_numpy_kernels_are_identical(case):
    margins, rows, slope_h, slope_f, low, high, delta, price = case
    by_numpy, by_numba = margins.copy(), margins.copy()
    found_numpy = kernels.tick_numpy(by_numpy, rows, slope_h, slope_f, low, high, delta, price)
    found_numba = NUMBA(by_numba, rows, slope_h, slope_f, low, high, delta, price)
    assert np.array_equal(found_numpy, found_numba)
    assert by_numpy.tobytes() == by_numba.tobytes()
    # and both are the definition: moved by slope × delta, flagged at ≤ 0 or off the interval
    for i, row in enumerate(rows):
        if delta:
            assert by_numpy[0, row] == margins[0, row] + slope_h[i] * delta
        flagged = by_numpy[0, row] <= 0 or by_numpy[1, row] <= 0 or low[i] >= price or high[i] < price
        assert (row in set(found_numpy.tolist())) == flagged


@pytest.mark.parametrize("kernel", ["numba", pytest.param("native", marks=native_only)])
def test_screens_with_either_kernel_pick_the_same_candidates(kernel):
    """A screen on numpy and one on numba (or C) through 300 ticks and a rebuild."""
    rng = np.random.default_rng(7)
    screens = [HealthScreen(capacity=4, kernel=name) for name in ("numpy", kernel)]
    assert [s.kernel_name for s in screens] == ["numpy", kernel]
    for screen in screens:
        for index in range(3):
            screen.add_oracle()
            screen.set_price(index, 100.0)
    for _ in range(200):
        health, free = rng.normal(50, 40, 2)
        lines = [(int(k), float(rng.normal(0, 2)), float(rng.normal(0, 2)), 0.0, float(rng.uniform(150, 400)))
                 for k in rng.choice(3, size=rng.integers(1, 4), replace=False)]
        for screen in screens:
            row = screen.new_row()
            screen.anchor(row, float(health), float(free), bool(health < 0), bool(free < 0), lines, 3, 1e-6)
    for _ in range(300):
        index, price = int(rng.integers(0, 3)), float(rng.uniform(50, 200))
        first, second = (screen.tick(index, price) for screen in screens)
        assert first.tolist() == second.tolist()
    assert screens[0].margins.tobytes() == screens[1].margins.tobytes()
    for screen in screens:
        screen.rebuild()
    assert screens[0].margins.tobytes() == screens[1].margins.tobytes()


@st.composite
def column_sets(draw):
    rows_total = draw(st.integers(1, 40))
    sets = []
    for _ in range(draw(st.integers(0, 5))):
        lines = draw(st.integers(0, rows_total))
        rows = np.array(draw(st.permutations(range(rows_total)))[:lines], dtype=np.int64)
        slopes = [draw(hnp.arrays(np.float64, lines, elements=st.floats(-1e6, 1e6, allow_nan=False))) for _ in range(2)]
        sets.append((rows, slopes[0], slopes[1], draw(st.floats(0.0001, 1e5))))
    return sets, rows_total


@settings(max_examples=200, deadline=None)
@given(column_sets())
def test_moving_sums_are_identical_in_both_kernels_and_are_the_definition(case):
    """Σ slope × price per row, added column by column: numpy's bincount and the numba
    scatter give the same bits, and both equal the sum written out in that order."""
    columns, rows = case
    by_numpy = kernels.moving_numpy(columns, rows)
    by_numba = kernels.moving_numba(columns, rows)
    assert by_numpy.tobytes() == np.ascontiguousarray(by_numba.T).tobytes()
    expected = np.zeros((2, rows))
    for column_rows, slope_h, slope_f, price in columns:
        for i, row in enumerate(column_rows):
            expected[0, row] += slope_h[i] * price
            expected[1, row] += slope_f[i] * price
    assert by_numpy.tobytes() == expected.tobytes()


def test_small_columns_stay_on_numpy_large_ones_go_to_numba(monkeypatch):
    """The default kernel without the C one: the same results either side of NUMBA_FROM."""
    monkeypatch.setattr(kernels, "native_available", lambda: False)
    name, kernel = kernels.select()
    assert name == "numba"
    rng = np.random.default_rng(3)
    for lines in (10, kernels.NUMBA_FROM + 5):
        rows = np.arange(lines, dtype=np.int64)
        margins = rng.normal(0, 5, (2, lines))
        slopes = rng.normal(0, 1, (2, lines))
        low, high = np.full(lines, -INF), np.full(lines, INF)
        expected = margins.copy()
        found = kernel(margins, rows, slopes[0], slopes[1], low, high, 0.7, 10.0)
        reference = kernels.tick_numpy(expected, rows, slopes[0], slopes[1], low, high, 0.7, 10.0)
        assert np.array_equal(found, reference) and margins.tobytes() == expected.tobytes()


def test_the_numpy_kernel_can_be_forced(monkeypatch):
    monkeypatch.setenv("SOLVENT_KERNEL", "numpy")
    assert kernels.select()[0] == "numpy"
    assert HealthScreen().kernel_name == "numpy"


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50), st.randoms(use_true_random=False))
def test_rebuilt_margins_are_identical_in_both_kernels_and_are_the_definition(rows, rnd):
    """margin = sign × constant + moving − band where the health margin is finite; the rows
    holding nothing (infinite) stay infinite in both figures."""
    values = lambda: rnd.uniform(-1e6, 1e6)  # noqa: E731
    margins = np.array([[values() if rnd.random() < 0.8 else INF for _ in range(rows)] for _ in range(2)])
    record = np.array([[values(), values(), rnd.choice((-1.0, 1.0)), rnd.choice((-1.0, 1.0)), abs(values())]
                       for _ in range(rows)])
    moving = np.array([[values() for _ in range(rows)] for _ in range(2)])
    by_numpy, by_numba = margins.copy(), margins.copy()
    kernels.margins_numpy(by_numpy, record, moving, rows)
    kernels.margins_numba(by_numba, record, np.ascontiguousarray(moving.T), rows)
    assert by_numpy.tobytes() == by_numba.tobytes()
    for row in range(rows):
        if margins[0, row] == INF:
            assert by_numpy[0, row] == by_numpy[1, row] == INF
        else:
            for figure in (0, 1):
                expected = (record[row, 2 + figure] * record[row, figure] + moving[figure, row]) - record[row, 4]
                assert by_numpy[figure, row] == expected


@native_only
@settings(max_examples=300, deadline=None)
@given(columns())
def test_the_c_tick_is_the_numpy_tick_bit_for_bit(case):
    """Also fed the screen's own `array.array` columns, as the screen does."""
    from array import array

    margins, rows, slope_h, slope_f, low, high, delta, price = case
    by_numpy, by_c, by_c_arrays = margins.copy(), margins.copy(), margins.copy()
    found_numpy = kernels.tick_numpy(by_numpy, rows, slope_h, slope_f, low, high, delta, price)
    found_c = kernels.tick_native(by_c, rows, slope_h, slope_f, low, high, delta, price)
    found_c_arrays = kernels.tick_native(by_c_arrays, array("q", rows.tolist()),
                                         *(array("d", values.tolist()) for values in (slope_h, slope_f, low, high)),
                                         delta, price)
    assert found_numpy.tolist() == found_c.tolist() == found_c_arrays.tolist()
    assert by_numpy.tobytes() == by_c.tobytes() == by_c_arrays.tobytes()


@st.composite
def ordered_column_sets(draw):
    """Columns as a screen holds them: rows ascending (as a bulk load appends them), or in
    any order (lines appended later, or moved into a removed line's slot), and here also
    with a row twice in one column (which a screen never holds: the order still counts)."""
    rows_total = draw(st.integers(1, 40))
    sets = []
    for _ in range(draw(st.integers(0, 6))):
        rows = draw(st.lists(st.integers(0, rows_total - 1), max_size=2 * rows_total))
        if draw(st.booleans()):
            rows.sort()
        lines = len(rows)
        slopes = [draw(hnp.arrays(np.float64, lines, elements=st.floats(-1e6, 1e6, allow_nan=False))) for _ in range(2)]
        sets.append((np.array(rows, dtype=np.int64), slopes[0], slopes[1], draw(st.floats(0.0001, 1e5))))
    return sets, rows_total


SCATTER_SEEN = {"ascending": 0, "in any order": 0}


@native_only
@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(column_sets(), ordered_column_sets()), st.sampled_from([1, 2, 3, 7, 16_384]),
       st.sampled_from([1, 2, 3, 8]))
def test_the_c_moving_sums_are_numpys_bit_for_bit(case, block_rows, threads):
    """The C scatter goes a block of rows at a time, every column's lines for the block
    after the other (a cursor in an ascending column, lines grouped by block in any other),
    the blocks shared out among `threads` threads (a part for 8 blocks or more): the same
    sums, added in the same order, as numpy's column after column."""
    columns, rows = case
    by_numpy = kernels.moving_numpy(columns, rows)
    by_c = kernels.moving_native(columns, rows, block_rows, threads)
    assert by_numpy.tobytes() == np.ascontiguousarray(by_c.T).tobytes()
    for column_rows, *_ in columns:
        if len(column_rows) > 1 and block_rows < rows:
            SCATTER_SEEN["ascending" if (np.diff(column_rows) >= 0).all() else "in any order"] += 1


@native_only
def test_the_c_moving_test_saw_both_kinds_of_column():
    """(Runs after the test above: it scattered, in several blocks, both kinds of column.)"""
    assert min(SCATTER_SEEN.values()) >= 50, SCATTER_SEEN


@native_only
@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_the_c_full_scan_in_threads_is_numpys_bit_for_bit(threads):
    """A book large enough for the C scatter and margins to share their work out (74 blocks
    of 4,096 rows; 300,000 rows), with an ascending column, one in any order and one whose
    rows skip whole parts: the same sums and margins, bit for bit, as numpy's, whatever the
    count of threads."""
    rng = np.random.default_rng(threads)
    rows = 300_000

    def column(row_ids, price):
        row_ids = np.asarray(row_ids, dtype=np.int64)
        return row_ids, rng.standard_normal(len(row_ids)), rng.standard_normal(len(row_ids)), price

    columns = [column(np.sort(rng.choice(rows, 200_000, replace=False)), 101.5),
               column(rng.permutation(rows)[:150_000], 0.37),
               column(np.concatenate([np.arange(0, 1_000), np.arange(250_000, 260_000)]), 3.0)]
    by_numpy = kernels.moving_numpy(columns, rows)
    by_c = kernels.moving_native(columns, rows, 4_096, threads)
    assert by_numpy.tobytes() == np.ascontiguousarray(by_c.T).tobytes()
    record = np.column_stack([rng.standard_normal(rows), rng.standard_normal(rows),
                              rng.choice([-1.0, 1.0], rows), rng.choice([-1.0, 1.0], rows), np.abs(rng.standard_normal(rows))])
    margins = rng.standard_normal((2, rows))
    margins[0, rng.choice(rows, 100, replace=False)] = INF  # rows with nothing at risk
    expected, got = margins.copy(), margins.copy()
    kernels.margins_numpy(expected, record, by_numpy, rows)
    kernels.margins_native(got, record, by_c, rows, threads)
    assert expected.tobytes() == got.tobytes()


@native_only
def test_the_c_scatter_refuses_a_row_outside_and_writes_nothing():
    ones = np.ones(2)
    good = (np.array([0, 1], dtype=np.int64), ones, ones, 2.0)
    bad = (np.array([1, 4], dtype=np.int64), ones, ones, 2.0)  # row 4 of 4 rows
    moving = np.full((4, 2), 7.0)
    with pytest.raises(ValueError, match="outside"):
        kernels._NATIVE.scatter_columns(moving, [good, bad], 1)
    with pytest.raises(ValueError, match="same length"):
        kernels._NATIVE.scatter_columns(moving, [good, (good[0], ones, ones[:1], 2.0)], 1)
    assert moving.tobytes() == np.full((4, 2), 7.0).tobytes()


@native_only
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50), st.randoms(use_true_random=False))
def test_the_c_rebuilt_margins_are_numpys_bit_for_bit(rows, rnd):
    values = lambda: rnd.uniform(-1e6, 1e6)  # noqa: E731
    margins = np.array([[values() if rnd.random() < 0.8 else INF for _ in range(rows)] for _ in range(2)])
    record = np.array([[values(), values(), rnd.choice((-1.0, 1.0)), rnd.choice((-1.0, 1.0)), abs(values())]
                       for _ in range(rows)])
    moving = np.array([[values() for _ in range(rows)] for _ in range(2)])
    by_numpy, by_c = margins.copy(), margins.copy()
    kernels.margins_numpy(by_numpy, record, moving, rows)
    kernels.margins_native(by_c, record, np.ascontiguousarray(moving.T), rows)
    assert by_numpy.tobytes() == by_c.tobytes()


@native_only
def test_the_c_kernel_refuses_bad_buffers_and_writes_nothing_outside_the_margins():
    margins = np.ones((2, 4))
    rows, ones = np.array([9, 0], dtype=np.int64), np.ones(2)
    with pytest.raises(ValueError):  # row 9 is outside the margins
        kernels.tick_native(margins, rows, ones, ones, ones, ones, -5.0, 1.0)
    with pytest.raises(TypeError):  # rows of float64
        kernels.tick_native(margins, ones, ones, ones, ones, ones, -5.0, 1.0)
    with pytest.raises(ValueError):  # slope_f shorter than rows
        kernels.tick_native(margins, rows[:1], ones, ones[:1], ones[:1], ones[:1], -5.0, 1.0)
    assert margins.tobytes() == np.ones((2, 4)).tobytes()
    # a tick checks each row as it reaches it (no second pass over them): the lines before
    # a bad row (here in the one part) have moved, and nothing is written outside the margins
    with pytest.raises(ValueError):
        kernels.tick_native(margins, rows[::-1].copy(), ones, ones, ones, ones, -5.0, 1.0)
    assert margins[:, 0].tolist() == [-4.0, -4.0] and margins[:, 1:].tolist() == np.ones((2, 3)).tolist()


@native_only
def test_the_c_kernel_is_built_with_threads_where_posix_threads_are():
    """(The thread tests below would pass with the threads compiled out: one part each.)"""
    import sys

    assert kernels._NATIVE.THREADED == (0 if sys.platform == "win32" else 1)


@native_only
@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_the_c_tick_in_threads_is_the_numpy_tick_bit_for_bit(threads):
    """A column large enough for the C tick to cut it into parts (65,536 lines or more each),
    one thread a part: the same margins, bit for bit, and the same candidates in column order
    — among them rows at both ends of every part, and a row outside the margins in the last
    part raising ValueError as from one thread."""
    rng = np.random.default_rng(threads)
    capacity, lines = 700_000, 600_000
    rows = rng.permutation(capacity)[:lines].astype(np.int64)
    slope_h, slope_f = rng.standard_normal(lines), rng.standard_normal(lines)
    low, high = np.full(lines, 0.5), np.full(lines, 2.0)
    margins = rng.uniform(-0.02, 0.5, (2, capacity))
    parts = min(threads, lines // 65_536)
    edges = sorted({lines * k // parts for k in range(parts)} | {lines * k // parts - 1 for k in range(1, parts + 1)})
    high[edges] = 0.9  # off their interval: candidates at every part's first and last line
    by_numpy, by_c = margins.copy(), margins.copy()
    found_numpy = kernels.tick_numpy(by_numpy, rows, slope_h, slope_f, low, high, -0.01, 1.0)
    found_c = kernels._NATIVE.tick(by_c, rows, slope_h, slope_f, low, high, -0.01, 1.0, threads)
    assert len(found_c) > 1000 and set(rows[edges].tolist()) <= set(found_c)
    assert found_c == found_numpy.tolist()
    assert by_c.tobytes() == by_numpy.tobytes()
    rows[-1] = capacity
    with pytest.raises(ValueError):
        kernels._NATIVE.tick(by_c, rows, slope_h, slope_f, low, high, -0.01, 1.0, threads)


@native_only
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(-100, 100), st.floats(-50, 50), st.floats(-50, 50),
                          st.booleans(), st.booleans()), min_size=1, max_size=60), st.booleans())
def test_the_c_shift_is_the_loops_shift_bit_for_bit(rows, twice):
    """A screen on the numpy kernel shifts in Python, one on the C kernel in C: the same
    margins, constants and flagged rows, in order, also when a row is named twice and when
    a delta is an int."""
    screens = [HealthScreen(capacity=4, kernel=name) for name in ("numpy", "native")]
    for screen in screens:
        screen.add_oracle()
        screen.set_price(0, 100.0)
    shifts: list = []
    for health, free, delta_h, delta_f, h_negative, f_negative in rows:
        for screen in screens:
            row = screen.new_row()
            screen.anchor(row, health, free, h_negative, f_negative, [(0, 1.0, 1.0, 0.0, INF)], 3, 1e-6)
        shifts.append((row, delta_h, delta_f))
    if twice:
        shifts += [shifts[0], (shifts[-1][0], -3, 2)]
    assert screens[0].shift(shifts) == screens[1].shift(shifts)
    assert screens[0].margins.tobytes() == screens[1].margins.tobytes()
    assert screens[0].record.tobytes() == screens[1].record.tobytes()


@native_only
def test_the_c_shift_refuses_bad_entries_and_moves_nothing():
    screen = HealthScreen(capacity=4, kernel="native")
    screen.add_oracle()
    screen.set_price(0, 1.0)
    row = screen.new_row()
    screen.anchor(row, 5.0, 5.0, False, False, [(0, 1.0, 1.0, 0.0, INF)], 3, 1e-6)
    screen.flush()
    before = screen.margins.tobytes(), screen.record.tobytes()
    for bad in ([(row, -1.0, 0.0), (99, 1.0, 1.0)], [(row, -1.0, 0.0), (row, "x", 1.0)], [(row, -1.0)]):
        with pytest.raises((TypeError, ValueError)):
            screen.shift(bad)
        assert (screen.margins.tobytes(), screen.record.tobytes()) == before


def _screen_state(screen: HealthScreen) -> tuple:
    """Everything a flush writes: margins, records, every column's lines, where each row's are."""
    rows = screen.rows
    placed = [sorted(map(tuple, screen._lines_of(row))) for row in range(rows)]
    columns = [tuple(getattr(column, name).tobytes() for name in ("rows", "slope_h", "slope_f", "low", "high", "size"))
               for column in screen.columns]
    return screen.margins[:, :rows].tobytes(), screen.record[:rows].tobytes(), columns, placed


line_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def staged_rounds(draw):
    """Rounds of staged rows (anchors in a few oracles, some cleared), each round flushed."""
    oracles = draw(st.integers(1, 12))
    rows = draw(st.integers(1, 20))
    rounds = []
    held: dict[int, list[int]] = {}  # a row's oracles: mostly kept (the C path), sometimes changed
    for _ in range(draw(st.integers(1, 5))):
        entries = []
        for row in draw(st.lists(st.integers(0, rows - 1), max_size=2 * rows)):
            if draw(st.integers(0, 9)) == 0:
                entries.append((row, None))
                continue
            if row in held and draw(st.integers(0, 3)):
                # the same oracles, in the same order or another (an overflow row's order matters)
                chosen = held[row] if draw(st.booleans()) else draw(st.permutations(held[row]))
            else:
                chosen = held[row] = draw(st.lists(st.integers(0, oracles - 1), unique=True, max_size=WIDTH + 2))
            lines = [[oracle, draw(line_floats), draw(line_floats), draw(st.one_of(st.just(0.0), st.floats(0, 500))),
                      draw(st.one_of(st.just(INF), st.floats(0, 900)))] for oracle in chosen]
            entries.append((row, (draw(line_floats), draw(st.one_of(line_floats, st.integers(-10**6, 10**6))),
                                  draw(st.booleans()), draw(st.booleans()), lines, draw(st.integers(0, 40)),
                                  draw(st.sampled_from((1e-6, 1e-2, 1.0))))))
        prices = [draw(st.floats(0.01, 1e5)) for _ in range(oracles)]
        rounds.append((entries, prices))
    return oracles, rows, rounds


#: rows the C flush wrote during the property test below (checked after it: not vacuous)
_WRITTEN_IN_C: list[int] = []


def _counting_flush(flush_native):
    def counted(screen, staged, *args):
        left = flush_native(screen, staged, *args)
        _WRITTEN_IN_C.append(len(staged) - len(left))
        return left
    return counted


@native_only
@settings(max_examples=300, deadline=None)
@given(staged_rounds())
def test_the_c_flush_writes_what_the_python_flush_writes_bit_for_bit(case):
    """Rows re-anchored in the oracles they have (the C path), rows gaining or losing an
    oracle, holding more than WIDTH lines, holding none, cleared (the Python path), mixed in
    one flush: the same margins, records, columns and line index either way."""
    oracles, rows, rounds = case
    screens = [HealthScreen(capacity=2, kernel=name) for name in ("numpy", "native")]
    for screen in screens:
        for _ in range(oracles):
            screen.add_oracle()
        for _ in range(rows):
            screen.new_row()
    flush_native = kernels.flush_native
    kernels.flush_native = _counting_flush(flush_native)
    try:
        for entries, prices in rounds:
            for screen in screens:
                for index, price in enumerate(prices):
                    screen.set_price(index, price)
                for row, entry in entries:
                    if entry is None:
                        screen.clear(row)
                    else:
                        screen.anchor(row, *entry)
                screen.flush()
            assert _screen_state(screens[0]) == _screen_state(screens[1])
    finally:
        kernels.flush_native = flush_native


@native_only
def test_the_flush_comparison_above_wrote_rows_in_c():
    assert sum(_WRITTEN_IN_C) > 20  # (100–220 in runs: hypothesis draws many simple cases)


@native_only
def test_the_c_flush_takes_the_common_case_and_leaves_the_rest_in_order():
    screen = HealthScreen(capacity=4, kernel="native")
    for _ in range(2):
        screen.add_oracle()
    for index in range(2):
        screen.set_price(index, 10.0)
    rows = [screen.new_row() for _ in range(3)]
    for row in rows:
        screen.anchor(row, 5.0, 5.0, False, False, [[0, 1.0, 1.0, 0.0, INF]], 3, 1e-6)
    screen.flush()
    staged = {rows[2]: None, rows[0]: (4.0, 4.0, False, False, [[0, 2.0, 2.0, 0.0, INF]], 3, 1e-6),
              rows[1]: (4.0, 4.0, False, False, [[1, 2.0, 2.0, 0.0, INF]], 3, 1e-6)}
    left = kernels.flush_native(screen, staged, WIDTH, 1.0, 1.0, 1e-9)
    assert left == [rows[2], rows[1]]  # cleared; moved to another oracle
    assert screen.columns[0].slope_h[0] == 2.0  # row 0's line, rewritten in place
    assert screen.columns[0].slope_h[1] == 1.0  # row 1's, untouched



@native_only
def test_the_c_flush_takes_an_overflow_row_whose_lines_keep_their_order():
    """A market maker's row, with more lines than the packed index holds: re-anchored in the
    same oracles in the same order, it is written in C; in another order, left to Python."""
    screen = HealthScreen(capacity=4, kernel="native")
    oracles = WIDTH + 3
    for index in range(oracles):
        screen.add_oracle()
        screen.set_price(index, 10.0 + index)
    row = screen.new_row()
    screen.anchor(row, 5.0, 5.0, False, False, [[i, 1.0, 1.0, 0.0, INF] for i in range(oracles)], 30, 1e-6)
    screen.flush()
    assert row in screen._overflow
    same = (4.0, 4.0, False, False, [[i, 2.0, 3.0, 0.0, INF] for i in range(oracles)], 30, 1e-6)
    assert kernels.flush_native(screen, {row: same}, WIDTH, 1.0, 1.0, 1e-9) == []
    assert [screen.columns[i].slope_f[0] for i in range(oracles)] == [3.0] * oracles
    shuffled = (4.0, 4.0, False, False, [[i, 2.0, 3.0, 0.0, INF] for i in reversed(range(oracles))], 30, 1e-6)
    assert kernels.flush_native(screen, {row: shuffled}, WIDTH, 1.0, 1.0, 1e-9) == [row]


@st.composite
def retier_cases(draw):
    """Written rows with lines in a few oracles (some rows with more than WIDTH: overflow),
    then retier calls with random new lines, shifts and prices."""
    oracles = draw(st.integers(1, WIDTH + 2))
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        chosen = draw(st.lists(st.integers(0, oracles - 1), unique=True, min_size=1, max_size=oracles))
        if draw(st.integers(0, 5)) == 0:
            chosen = list(range(oracles))  # (more than WIDTH of them: an overflow row)
        lines = [[oracle, draw(line_floats), draw(line_floats), draw(st.one_of(st.just(0.0), st.floats(0, 500))),
                  draw(st.one_of(st.just(INF), st.floats(0, 900)))] for oracle in chosen]
        rows.append((draw(line_floats), draw(line_floats), draw(st.booleans()), draw(st.booleans()), lines,
                     draw(st.integers(0, 40)), draw(st.sampled_from((1e-6, 1e-2, 1.0)))))
    prices = [draw(st.floats(0.01, 1e5)) for _ in range(oracles)]
    calls = [(draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, oracles - 1)),
              [0, draw(line_floats), draw(line_floats), draw(st.one_of(st.just(0.0), st.floats(0, 500))),
               draw(st.one_of(st.just(INF), st.floats(0, 900)))],
              draw(st.floats(-1e4, 1e4)), draw(st.floats(0.01, 1e5)), draw(st.booleans()))
             for _ in range(draw(st.integers(1, 12)))]
    return oracles, prices, rows, calls


def _written_screens(oracles: int, prices: list[float], rows: list[tuple]) -> list[HealthScreen]:
    """A numpy-kernel screen and a C-kernel screen with the same rows anchored and written."""
    screens = [HealthScreen(capacity=2, kernel=name) for name in ("numpy", "native")]
    for screen in screens:
        for _ in range(oracles):
            screen.add_oracle()
        for index, price in enumerate(prices):
            screen.set_price(index, price)
        for entry in rows:
            screen.anchor(screen.new_row(), *entry)
        screen.flush()
    return screens


#: retier calls the C kernel carried during the property test below (checked: not vacuous)
_CARRIED_IN_C: list[int] = []


@native_only
@settings(max_examples=300, deadline=None)
@given(retier_cases())
def test_the_c_retier_is_the_loops_retier_bit_for_bit(case):
    """A row carried across a tier boundary by `HealthScreen.retier`: on the numpy kernel in
    Python, on the C kernel in C (rows in the packed index) or in Python (overflow rows,
    staged rows): the same answers, margins, records and columns, call after call, with
    prices moving between calls."""
    oracles, prices, rows, calls = case
    screens = _written_screens(oracles, prices, rows)
    for row, oracle, line, shift_health, price, stage in calls:
        line[0] = oracle
        answers = []
        for screen in screens:
            screen.prices[oracle] = price
            if stage and row == 0:  # a row staged since it was written: never carried
                screen.anchor(row, *rows[0])
            answers.append(screen.retier(row, oracle, line, shift_health))
        assert answers[0] == answers[1]
        _CARRIED_IN_C.append(answers[1] and screens[1]._line_count[row] > 0)
        assert _screen_state(screens[0]) == _screen_state(screens[1])
        for screen in screens:
            screen.flush()


@native_only
def test_the_retier_comparison_above_carried_rows_in_c():
    assert sum(_CARRIED_IN_C) > 20


#: restate calls the C kernel wrote during the property test below, and of those the ones that
#: appended a line (checked: not vacuous)
_RESTATED_IN_C: list[int] = []
_APPENDED_IN_C: list[int] = []


@native_only
@settings(max_examples=300, deadline=None)
@given(retier_cases(), st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(0, 10),
                                          st.integers(0, 40), st.sampled_from((1e-6, 1e-2, 1.0)), st.booleans()),
                                min_size=12, max_size=12))
def test_the_c_restate_is_the_loops_restate_bit_for_bit(case, figures):
    """A row restated after a trade (`HealthScreen.restate`): on the numpy kernel in Python,
    on the C kernel in C (a row in the packed index keeping its line in the oracle) or in
    Python (a line appended or dropped, an overflow row, a staged row): the same answers,
    margins, records, columns and line index, call after call."""
    oracles, prices, rows, calls = case
    screens = _written_screens(oracles, prices, rows)
    for (row, oracle, line, _, price, stage), (health, free, carried, terms, quantum, drop) in zip(calls, figures):
        line[0] = oracle
        answers = []
        for screen in screens:
            screen.prices[oracle] = price
            if stage and row == 0:  # a row staged since it was judged: never rewritten
                screen.anchor(row, *rows[0])
            held = any(index == oracle for index, _ in screen._lines_of(row))
            answers.append(screen.restate(row, oracle, None if drop else line, health, free, carried, terms, quantum))
        assert answers[0] == answers[1]
        # (written in C: kept in place, or appended without making the row an overflow one)
        _RESTATED_IN_C.append(answers[1] and not drop and screens[1]._line_count[row] > 0)
        _APPENDED_IN_C.append(answers[1] and not drop and not held and screens[1]._line_count[row] > 0)
        assert _screen_state(screens[0]) == _screen_state(screens[1])
        for screen in screens:
            screen.flush()


@native_only
def test_the_restate_comparison_above_wrote_rows_in_c():
    assert sum(_RESTATED_IN_C) > 20
    assert sum(_APPENDED_IN_C) > 5


#: flip calls the C kernel flipped during the property test below (checked: not vacuous)
_FLIPPED_IN_C: list[int] = []


@native_only
@settings(max_examples=300, deadline=None)
@given(retier_cases())
def test_the_c_flip_is_the_loops_flip_bit_for_bit(case):
    """A crossing proved in floats (`HealthScreen.flip`), after a tick of one oracle to a
    random price: on the numpy kernel in Python, on the C kernel in C (rows in the packed
    index) or in Python (overflow rows, staged rows): the same answers, margins, records and
    columns, call after call."""
    oracles, prices, rows, calls = case
    screens = _written_screens(oracles, prices, rows)
    for row, oracle, _, _, price, stage in calls:
        free_may_fall = bool(row % 2)
        answers = []
        for screen in screens:
            screen.tick(oracle, price)
            if stage and row == 0:  # a row staged since the tick: never flipped
                screen.anchor(row, *rows[0])
            answers.append(screen.flip(row, free_may_fall))
        assert answers[0] == answers[1]
        _FLIPPED_IN_C.append(answers[1] > 0 and screens[1]._line_count[row] > 0)
        assert _screen_state(screens[0]) == _screen_state(screens[1])
        for screen in screens:
            screen.flush()
        # and every row at once, as a tick hands its candidates over (`flip_rows`)
        batch = list(range(len(rows)))
        falls = bytes(r % 3 == 0 for r in batch)
        answered = [screen.flip_rows(batch, falls) for screen in screens]
        assert answered[0] == answered[1]
        _FLIPPED_IN_C.extend(answer > 0 and screens[1]._line_count[r] > 0 for r, answer in zip(batch, answered[1]))
        assert _screen_state(screens[0]) == _screen_state(screens[1])


@native_only
def test_the_flip_comparison_above_flipped_rows_in_c():
    assert sum(_FLIPPED_IN_C) > 20


#: reset calls the C kernel wrote during the property test below (checked: not vacuous)
_RESET_IN_C: list[int] = []


@native_only
@settings(max_examples=300, deadline=None)
@given(retier_cases(), st.lists(st.tuples(line_floats, line_floats, st.booleans(), st.booleans(), st.integers(0, 40),
                                          st.sampled_from((1e-6, 1e-2, 1.0))), min_size=12, max_size=12))
def test_the_c_reset_is_the_loops_reset_bit_for_bit(case, figures):
    """A row re-anchored over its lines (`HealthScreen.reset`) after a tick of one oracle to
    a random price: on the numpy kernel in Python, on the C kernel in C (rows in the packed
    index) or in Python (overflow rows, staged rows): the same answers, margins, records and
    columns, call after call."""
    oracles, prices, rows, calls = case
    screens = _written_screens(oracles, prices, rows)
    for (row, oracle, _, _, price, stage), (health, free, h_neg, f_neg, terms, quantum) in zip(calls, figures):
        answers = []
        for screen in screens:
            screen.tick(oracle, price)
            if stage and row == 0:  # a row staged since the tick: never reset
                screen.anchor(row, *rows[0])
            answers.append(screen.reset(row, health, free, h_neg, f_neg, terms, quantum))
        assert answers[0] == answers[1]
        _RESET_IN_C.append(answers[1] and screens[1]._line_count[row] > 0)
        assert _screen_state(screens[0]) == _screen_state(screens[1])
        for screen in screens:
            screen.flush()


@native_only
def test_the_reset_comparison_above_reset_rows_in_c():
    assert sum(_RESET_IN_C) > 20


#: the tiers of the carry comparison below: mmr, notional low, high, max leverage, its float, cum
_CARRY_TIERS = [(0.01, 0.0, 1000.0, 50, 50.0, 0.0), (0.02, 1000.0, 10000.0, 20, 20.0, 10.0),
                (0.05, 10000.0, INF, 10, 10.0, 310.0)]
#: rows the C kernel carried across their tiers during the property test below (checked: not vacuous)
_CARRIED_ACROSS_IN_C: list[int] = []


@st.composite
def carry_cases(draw):
    """Written rows whose lines are positions' legs in `_CARRY_TIERS` (a line's size: a
    position's, or NaN, or inf, or 0), far from zero or not, some with more lines than WIDTH
    (overflow), then ticks of one oracle to prices that move notionals across the tiers."""
    oracles = draw(st.integers(1, WIDTH + 2))
    prices = [draw(st.floats(1, 1000)) for _ in range(oracles)]
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        chosen = draw(st.lists(st.integers(0, oracles - 1), unique=True, min_size=1, max_size=oracles))
        if draw(st.integers(0, 5)) == 0:
            chosen = list(range(oracles))
        lines = []
        for oracle in chosen:
            size = draw(st.floats(-50, 50).filter(lambda value: abs(value) >= 1e-6))  # (a position's: finite prices)
            notional = abs(size) * prices[oracle]
            tier = next(i for i, t in enumerate(_CARRY_TIERS) if notional <= t[2])
            mmr, low, high, _, leverage, _ = _CARRY_TIERS[tier]
            fact = draw(st.sampled_from([size, size, float("nan"), INF, 0.0]))
            lines.append(position_line(oracle, size, mmr, low, high, leverage, fact))
        health = draw(st.one_of(st.floats(-1e3, 1e3), st.floats(1e4, 1e7)))
        free = draw(st.one_of(st.floats(-1e3, 1e3), st.floats(1e4, 1e7)))
        rows.append((health, free, health < 0, free < 0, lines, draw(st.integers(0, 40)), 1e-6))
    ticks = []
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            ticks.append((draw(st.integers(0, oracles - 1)), draw(st.floats(0.01, 3000))))
        else:  # a notional at a tier boundary, or within a few 1e-10 of it (floats cannot place it)
            _, _, _, _, lines, _, _ = draw(st.sampled_from(rows))
            line = draw(st.sampled_from(lines))
            size = abs(line[5]) if 0 < abs(line[5]) < INF else 1.0
            bound = draw(st.sampled_from([1000.0, 10000.0]))
            ticks.append((line[0], bound / size * (1 + draw(st.integers(-3, 3)) * 1e-10)))
    return oracles, prices, rows, ticks


@native_only
@settings(max_examples=300, deadline=None)
@given(carry_cases())
def test_the_c_carry_is_the_loops_carry_bit_for_bit(case):
    """Rows carried across their tiers from what their lines say (`HealthScreen.flip_rows`
    with a carry, after a tick of one oracle): on the numpy kernel in Python
    (`HealthScreen.carry`), on the C kernel in C (rows in the packed index) or in Python
    (overflow rows): the same answers, margins, records and columns, tick after tick."""
    oracles, prices, rows, ticks = case
    screens = _written_screens(oracles, prices, rows)
    for oracle, price in ticks:
        previous = screens[0].prices[oracle]
        for screen in screens:
            screen.tick(oracle, price)
        batch = list(range(len(rows)))
        falls = bytes(r % 3 == 0 for r in batch)
        answered = [screen.flip_rows(batch, falls, (oracle, previous, _CARRY_TIERS)) for screen in screens]
        assert answered[0] == answered[1]
        _CARRIED_ACROSS_IN_C.extend(answer == FLIP_RETIERED and screens[1]._line_count[r] > 0
                                    for r, answer in zip(batch, answered[1]))
        assert _screen_state(screens[0]) == _screen_state(screens[1])


@native_only
def test_the_carry_comparison_above_carried_rows_in_c():
    assert sum(_CARRIED_ACROSS_IN_C) > 20


@native_only
def test_the_c_kernel_itself_carries_a_packed_row_across_its_tiers():
    """The comparison above cannot tell the C carry from the Python one that `flip_rows`
    falls back on (they give the same bits): here `_native.flip_rows` is called itself. A
    long 5 at 100 (notional 500, tier 0), far from zero; the price goes to 300 (notional
    1,500: tier 1). C answers -3 and writes what the numpy screen's `flip_rows` (in Python)
    writes: the tier-1 line, health moved by the change of cum (10), the same band."""
    from solvent.risk import screen as screen_module

    line = position_line(0, 5.0, 0.01, 0.0, 1000.0, 50.0, 5.0)
    screens = _written_screens(1, [100.0], [(5000.0, 4000.0, False, False, [line], 3, 1e-6)])
    for screen in screens:
        screen.tick(0, 300.0)
    carry = (0, 100.0, _CARRY_TIERS)
    python = screens[0].flip_rows([0], b"\x00", carry)
    native = screens[1]
    answered = screen_module._FLIP_ROWS_NATIVE(
        native._margin_view, native._record_view, native._line_count, native._line_oracle, native._line_slot,
        native._column_arrays, native.prices, [0], b"\x00", WIDTH, *carry, 1 + screen_module.EDGE,
        1 - screen_module.EDGE, screen_module.RELATIVE_BAND)
    assert python == answered == [FLIP_RETIERED]
    assert _screen_state(screens[0]) == _screen_state(screens[1])
    assert screens[1].columns[0].slope_h[0] == 5.0 - 5.0 * 0.02 and screens[1].columns[0].size[0] == 5.0
