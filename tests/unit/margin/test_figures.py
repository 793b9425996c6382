"""solvent.margin.figures: an account's figures, each term rounded as the rounding table says
(SPEC §5), in quantums of `value_decimals`."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvent.domain.book import Book
from solvent.domain.position import Position
from solvent.domain.specs import AssetSpec, MarketSpec, Params, build_tiers
from solvent.margin.figures import (
    RiskFigures,
    balance_terms,
    cross_figures,
    isolated_figures,
    position_figures,
    tier_bounds,
)

D = Decimal
M = 10**6  # quantums per unit at value_decimals 6

USDC = AssetSpec("USDC", 6, None, D(1), D(1), D("1.1"), D("1.05"))
BTC = AssetSpec("BTC", 8, "BTC", D("0.7"), D("0.8"), None, None)
ETH = AssetSpec("ETH", 8, "ETH", D("0.8"), D("0.9"), D("1.25"), D("1.2"))
SOL = AssetSpec("SOL", 9, "SOL", D("0.5"), D("0.5"), None, None)  # never priced here
STETH = AssetSpec("STETH", 8, "ETH", D("0.8"), D("0.9"), None, None)

BTC_TIERS = build_tiers([(D(50000), D("0.004"), D(125)), (D(250000), D("0.005"), D(100)), (None, D("0.01"), D(50))])
BTC_PERP = MarketSpec("BTC-PERP", "BTC", "USDC", BTC_TIERS, D("0.001"), D("0.01"))
ETH_PERP = MarketSpec("ETH-PERP", "ETH", "USDC", build_tiers([(None, D("0.01"), D(20))]), D("0.01"), D("0.01"))


def make_book(value_decimals: int = 6, **prices: str) -> Book:
    book = Book(params=Params(value_decimals=value_decimals))
    for spec in (USDC, BTC, ETH, SOL, STETH):
        book.assets[spec.id] = spec
    for spec in (BTC_PERP, ETH_PERP):
        book.markets[spec.id] = spec
    book.prices.update({k: D(v) for k, v in prices.items()})
    return book


# -- a hand-computed cross account -----------------------------------------------------------


def hand_account():
    """USDC 10,000; BTC 0.5 at 60,000; ETH −2 at 3,000 (a borrow); SOL 100 (no price yet);
    long 2 BTC-PERP entered at 58,000 (cost 116,000); short 10 ETH-PERP entered at 3,100
    (cost −31,000)."""
    book = make_book(BTC="60000", ETH="3000")
    balances = {"USDC": 10_000 * 10**6, "BTC": 50_000_000, "ETH": -200_000_000, "SOL": 100 * 10**9}
    positions = [Position.of("BTC-PERP", D(2), D(116000)), Position.of("ETH-PERP", D(-10), D(-31000))]
    return balances, positions, book


def test_cross_figures_of_a_hand_computed_account():
    """Terms (value / maint / init):
      USDC  10,000 / 10,000 / 10,000
      BTC   0.5 × 60,000 = 30,000 / × 0.8 = 24,000 / × 0.7 = 21,000
      ETH   −2 × 3,000 = −6,000 / × 1.2 = −7,200 / × 1.25 = −7,500
      SOL   unpriced: 0
      BTC-PERP: notional 120,000 → tier (50k, 250k]: mmr 0.005, cum 50 → MM 550; IM
                120,000 / 100 = 1,200; uPnL 120,000 − 116,000 = 4,000
      ETH-PERP: notional 30,000 → MM 300; IM 30,000 / 20 = 1,500; uPnL −30,000 + 31,000 = 1,000
    equity = 10,000 + 30,000 − 6,000 + 5,000 = 39,000
    equity_maint = 10,000 + 24,000 − 7,200 + 5,000 = 31,800; equity_init = 28,500
    MM = 850, IM = 2,700; health = 30,950; free collateral = 25,800
    A = 10,000 + 24,000 + 4,000 + 1,000 = 39,000; L = 7,200 + 850 = 8,050 (A − L = 30,950)."""
    balances, positions, book = hand_account()
    f = cross_figures(balances, positions, book)
    assert (f.equity, f.equity_maint, f.equity_init) == (39000 * M, 31800 * M, 28500 * M)
    assert (f.maintenance_margin, f.initial_margin) == (850 * M, 2700 * M)
    assert (f.health, f.free_collateral) == (30950 * M, 25800 * M)
    assert (f.assets, f.liabilities) == (39000 * M, 8050 * M)
    assert f.at_risk and not f.liquidatable
    assert f.margin_ratio() == D(850) / D(31800)
    assert f.health_factor() == D(39000) / D(8050)


def test_cross_figures_detail_lists_each_position():
    """The per-position figures of the hand account (see above), in quantums."""
    balances, positions, book = hand_account()
    detail = []
    cross_figures(balances, positions, book, detail)
    (p1, btc), (p2, eth) = detail
    assert (p1, p2) == tuple(positions)
    assert (btc.notional, btc.unrealized_pnl, btc.initial_margin, btc.maintenance_margin) == (
        120000 * M, 4000 * M, 1200 * M, 550 * M)
    assert (btc.leverage, btc.tier) == (100, 1)
    assert (eth.notional, eth.unrealized_pnl, eth.initial_margin, eth.maintenance_margin) == (
        30000 * M, 1000 * M, 1500 * M, 300 * M)
    assert (eth.leverage, eth.tier) == (20, 0)


def test_position_figures_agrees_with_the_cross_detail():
    balances, positions, book = hand_account()
    detail = []
    cross_figures(balances, positions, book, detail)
    for position, figures in detail:
        mark = book.prices[book.markets[position.market].oracle]
        assert position_figures(position, book.markets[position.market], mark, 6) == figures


def test_chosen_leverage_below_the_cap_raises_initial_margin():
    """Long 2 BTC at 60,000 (notional 120,000, tier cap 100): at 10x IM is 12,000; a choice
    of 200x is capped at 100x: 1,200."""
    book = make_book(BTC="60000")
    at_10 = cross_figures({}, [Position.of("BTC-PERP", D(2), D(120000), leverage=D(10))], book)
    at_200 = cross_figures({}, [Position.of("BTC-PERP", D(2), D(120000), leverage=D(200))], book)
    assert at_10.initial_margin == 12000 * M
    assert at_200.initial_margin == 1200 * M


def test_notional_in_a_higher_tier_uses_its_mmr_and_cum():
    """Long 5 BTC at 60,000: notional 300,000 > 250,000 → mmr 0.01, cum 1,300:
    MM = 3,000 − 1,300 = 1,700; IM = 300,000 / 50 = 6,000."""
    book = make_book(BTC="60000")
    f = cross_figures({}, [Position.of("BTC-PERP", D(5), D(300000))], book)
    assert (f.maintenance_margin, f.initial_margin) == (1700 * M, 6000 * M)


def test_unpriced_collateral_counts_as_nothing_and_is_not_at_risk():
    book = make_book()
    f = cross_figures({"SOL": 5 * 10**9}, [], book)
    assert (f.equity, f.equity_maint, f.equity_init, f.health) == (0, 0, 0, 0)
    assert not f.at_risk and not f.liquidatable
    assert f.health_factor() is None


def test_yield_bearing_collateral_is_valued_at_exchange_rate_times_oracle_price():
    """2 STETH at exchange rate 1.1 and ETH 3,000: value 6,600, maint × 0.9 = 5,940,
    init × 0.8 = 5,280."""
    book = make_book(ETH="3000")
    book.exchange_rates["STETH"] = D("1.1")
    f = cross_figures({"STETH": 200_000_000}, [], book)
    assert (f.equity, f.equity_maint, f.equity_init) == (6600 * M, 5940 * M, 5280 * M)


def test_a_negative_balance_alone_puts_the_account_at_risk():
    """−100 USDC (maint weight 1.05): equity_maint −105, health −105: liquidatable."""
    f = cross_figures({"USDC": -100 * 10**6}, [], make_book())
    assert (f.equity, f.equity_maint, f.equity_init) == (-100 * M, -105 * M, -110 * M)
    assert f.at_risk and f.liquidatable
    assert (f.assets, f.liabilities) == (0, 105 * M)


# -- rounding direction of every term --------------------------------------------------------

X_PERP = MarketSpec("X-PERP", "X", "USDC", build_tiers([(None, D("0.005"), D(3))]), D(1), D("0.01"))


def x_book() -> Book:
    book = make_book(value_decimals=2, X="100.01")
    book.markets["X-PERP"] = X_PERP
    return book


def test_each_term_of_a_gaining_account_rounds_in_its_own_direction():
    """value_decimals 2 (quantum 0.01). USDC +1.234567: value 1.23 (down, 123).
    Long 1 X-PERP with cost 99.995 at mark 100.01: uPnL 0.015 → 0.01 (down, 1);
    notional 100.01; MM 100.01 × 0.005 = 0.50005 → 0.51 (up, 51);
    IM 100.01 / 3 = 33.33666… → 33.34 (up, 3334).
    equity = equity_maint = equity_init = 124; health 124 − 51 = 73; free 124 − 3334 = −3210."""
    f = cross_figures({"USDC": 1_234_567}, [Position.of("X-PERP", D(1), D("99.995"))], x_book())
    assert (f.equity, f.equity_maint, f.equity_init) == (124, 124, 124)
    assert (f.maintenance_margin, f.initial_margin) == (51, 3334)
    assert (f.health, f.free_collateral) == (73, -3210)
    assert (f.assets, f.liabilities) == (124, 51)


def test_each_term_of_a_losing_account_rounds_toward_minus_infinity():
    """USDC −1.234567 (liability weights 1.05 / 1.1): value −1.234567 → −1.24 (−124);
    maint −1.29629535 → −1.30 (−130); init −1.3580237 → −1.36 (−136).
    Long 1 X-PERP with cost 100.015 at 100.01: uPnL −0.005 → −0.01 (−1). MM 51, IM 3334.
    equity −125; equity_maint −131; equity_init −137; A 0; L 130 + 1 + 51 = 182."""
    f = cross_figures({"USDC": -1_234_567}, [Position.of("X-PERP", D(1), D("100.015"))], x_book())
    assert (f.equity, f.equity_maint, f.equity_init) == (-125, -131, -137)
    assert (f.assets, f.liabilities) == (0, 182)
    assert f.health == -182
    assert f.liquidatable
    assert f.margin_ratio() is None
    assert f.health_factor() == 0


def test_a_short_losing_less_than_a_quantum_is_charged_a_whole_quantum():
    """Short 1 X-PERP with cost −100.005 at 100.01: uPnL −100.01 + 100.005 = −0.005 → −0.01."""
    detail = []
    cross_figures({}, [Position.of("X-PERP", D(-1), D("-100.005"))], x_book(), detail)
    assert detail[0][1].unrealized_pnl == -1
    assert detail[0][1].notional == 10001


def test_notional_rounds_up():
    """Long 0.0001 X at 100.01: notional 0.010001 → 0.02 (2 quantums, up)."""
    detail = []
    cross_figures({}, [Position.of("X-PERP", D("0.0001"), D("0.010001"))], x_book(), detail)
    assert detail[0][1].notional == 2


# -- RiskFigures ----------------------------------------------------------------------------------


def figures(equity_maint: int, maintenance: int, assets: int = 0, liabilities: int = 0, at_risk: bool = True):
    return RiskFigures(equity_maint, equity_maint, equity_maint, 0, maintenance, assets, liabilities, at_risk)


def test_margin_ratio_is_maintenance_over_equity_maint():
    """50 / 200 = 0.25."""
    assert figures(200, 50).margin_ratio() == D("0.25")


@pytest.mark.parametrize("equity_maint", [0, -1, -500])
def test_margin_ratio_is_none_where_equity_maint_is_not_positive(equity_maint):
    assert figures(equity_maint, 50).margin_ratio() is None


def test_health_factor_is_assets_over_liabilities_and_none_when_nothing_is_owed():
    """A 300 / L 200 = 1.5."""
    assert figures(100, 0, 300, 200).health_factor() == D("1.5")
    assert figures(100, 0, 300, 0).health_factor() is None


def test_an_account_exactly_at_its_requirement_is_not_liquidatable():
    """health = 0 is safe; −1 quantum is not."""
    assert not figures(50, 50).liquidatable
    assert figures(49, 50).liquidatable
    assert not figures(49, 50, at_risk=False).liquidatable


# -- isolated ---------------------------------------------------------------------------------------

ISO = MarketSpec("ISO-PERP", "X", "USDC", build_tiers([(None, D("0.01"), D(10))]), D(1), D("0.01"))


def test_isolated_figures_use_the_isolated_margin_as_equity():
    """Isolated margin 100 USDC; long 1 entered at 100, mark 90: uPnL −10, equity 90;
    MM 90 × 0.01 = 0.9, health 89.1; IM 9, free 81; A 100, L 10 + 0.9 = 10.9."""
    book = make_book(X="90")
    book.markets["ISO-PERP"] = ISO
    detail = []
    f = isolated_figures(100 * 10**6, 6, Position.of("ISO-PERP", D(1), D(100), isolated=True), book, detail)
    assert (f.equity, f.equity_maint, f.equity_init) == (90 * M, 90 * M, 90 * M)
    assert (f.maintenance_margin, f.initial_margin) == (900_000, 9 * M)
    assert (f.health, f.free_collateral) == (89_100_000, 81 * M)
    assert (f.assets, f.liabilities) == (100 * M, 10_900_000)
    assert f.at_risk
    assert detail[0][1].unrealized_pnl == -10 * M


def test_isolated_margin_of_finer_precision_rounds_down():
    """Wallet 1.23456789 (8 decimals) at value_decimals 2 → 1.23; long 1 at 90 (no PnL):
    equity 1.23; MM 0.9 → 90 quantums; health 33."""
    book = make_book(value_decimals=2, X="90")
    book.markets["ISO-PERP"] = ISO
    f = isolated_figures(123_456_789, 8, Position.of("ISO-PERP", D(1), D(90), isolated=True), book)
    assert f.equity == 123
    assert f.health == 33


def test_tier_bounds_are_exclusive_low_inclusive_high():
    assert tier_bounds(BTC_TIERS, 0) == (None, D(50000))
    assert tier_bounds(BTC_TIERS, 1) == (D(50000), D(250000))
    assert tier_bounds(BTC_TIERS, 2) == (D(250000), None)


# -- properties ---------------------------------------------------------------------------------


@st.composite
def accounts(draw):
    decimals = draw(st.integers(min_value=0, max_value=6))
    book = make_book(value_decimals=decimals)
    book.markets["X-PERP"] = X_PERP
    for oracle in ("BTC", "ETH", "X"):
        book.prices[oracle] = D(draw(st.integers(1, 10**8))).scaleb(-draw(st.integers(0, 4)))
    balances = {}
    for asset in ("USDC", "BTC", "ETH"):
        units = draw(st.integers(-(10**12), 10**12))
        if units and (units > 0 or book.assets[asset].borrowable or asset == "USDC"):
            balances[asset] = units
    positions = []
    for market in ("BTC-PERP", "ETH-PERP", "X-PERP"):
        size = D(draw(st.integers(-(10**6), 10**6))).scaleb(-3)
        if size:
            entry = D(draw(st.integers(1, 10**8))).scaleb(-2)
            leverage = draw(st.sampled_from([None, D(1), D(5), D(1000)]))
            positions.append(Position.of(market, size, size * entry, leverage=leverage))
    return balances, positions, book


def exact_health(balances, positions, book) -> Fraction:
    """Unrounded SPEC §5 health, computed from scratch with Fractions."""
    total = Fraction(0)
    for asset, units in balances.items():
        spec = book.assets[asset]
        price = Fraction(1) if spec.oracle is None else Fraction(book.prices[spec.oracle])
        weight = spec.weight_maint if units >= 0 else spec.debt_weight_maint
        total += Fraction(units, 10**spec.decimals) * price * Fraction(weight)
    for position in positions:
        spec = book.markets[position.market]
        mark = Fraction(book.prices[spec.oracle])
        notional = abs(Fraction(position.size)) * mark
        tier = next(t for t in spec.tiers if t.max_notional is None or notional <= t.max_notional)
        total += Fraction(position.size) * mark - Fraction(position.cost)
        total -= notional * Fraction(tier.mmr) - Fraction(tier.cum)
    return total


@settings(max_examples=300)
@given(accounts())
def test_health_equals_assets_minus_liabilities_for_any_account(account):
    f = cross_figures(*account)
    assert f.health == f.assets - f.liabilities
    assert f.assets >= 0 and f.liabilities >= 0


@settings(max_examples=300)
@given(accounts())
def test_health_factor_is_below_one_exactly_when_health_is_negative(account):
    f = cross_figures(*account)
    factor = f.health_factor()
    if factor is None:
        assert f.health >= 0
    else:
        assert (factor < 1) == (f.health < 0)
    assert f.liquidatable == (f.at_risk and f.health < 0)


@settings(max_examples=300)
@given(accounts())
def test_rounded_health_is_never_above_the_exact_and_within_one_quantum_per_term(account):
    """Values round down and requirements up, so rounded health <= exact health, and each of
    the terms (one per balance, two per position) is off by less than one quantum."""
    balances, positions, book = account
    f = cross_figures(balances, positions, book)
    quantum = Fraction(1, 10**book.params.value_decimals)
    exact = exact_health(balances, positions, book)
    rounded = f.health * quantum
    terms = len(balances) + 2 * len(positions)
    assert rounded <= exact
    assert exact - rounded < terms * quantum or (terms == 0 and exact == rounded)


@settings(max_examples=200)
@given(accounts())
def test_initial_figures_are_never_looser_than_maintenance(account):
    """weight_init <= weight_maint, liability init >= maint, IM >= MM: equity_init <=
    equity_maint <= equity and free collateral <= health."""
    f = cross_figures(*account)
    assert f.equity_init <= f.equity_maint <= f.equity
    assert f.free_collateral <= f.health


@settings(max_examples=300)
@given(st.sampled_from([0, 2, 6, 8, 12]), st.integers(0, 12), st.integers(-(10**15), 10**15),
       st.sampled_from([("1", "1"), ("0.95", "0.9")]))
def test_a_quote_balance_is_valued_at_its_quantums_each_term_rounded_down(decimals, value_decimals, units, weights):
    """A quote asset (no oracle, worth 1) in any precision against any `value_decimals`, at
    weight 1 (whose value in quantums is an integer where the asset is no finer than the
    value currency) and below 1: each term is ⌊units × 10^-decimals × weight × 10^value_decimals⌋,
    with the debt weights for a negative balance (Fractions, from scratch)."""
    spec = AssetSpec("Q", decimals, None, D(weights[1]), D(weights[0]), D("1.1"), D("1.05"))
    book = Book(params=Params(value_decimals=value_decimals))
    book.assets["Q"] = spec
    equity, equity_maint, equity_init, assets, liabilities, in_debt = balance_terms({"Q": units}, book)
    amount = Fraction(units, 10**decimals) * 10**value_decimals
    maint_weight, init_weight = (spec.weight_maint, spec.weight_init) if units >= 0 else (D("1.05"), D("1.1"))
    assert equity == math.floor(amount)
    assert equity_maint == math.floor(amount * Fraction(maint_weight))
    assert equity_init == math.floor(amount * Fraction(init_weight))
    assert (assets, liabilities) == ((equity_maint, 0) if units >= 0 else (0, -equity_maint))
    assert in_debt == (units < 0)


# -- the figures on integer pairs equal the Decimal formulas -----------------------------------


def _decimal_position_figures(position: Position, spec: MarketSpec, mark: Decimal, decimals: int):
    """SPEC §5's position figures written with Decimals (the docstring's formulas), each
    rounded once: (notional, PnL, initial margin, maintenance margin, leverage, tier)."""
    from decimal import localcontext

    from solvent.domain.numbers import ARITHMETIC

    with localcontext(ARITHMETIC):
        notional = abs(position.size) * mark
        index = next(i for i, t in enumerate(spec.tiers) if t.max_notional is None or notional <= t.max_notional)
        tier = spec.tiers[index]
        leverage = tier.max_leverage if position.leverage is None or position.leverage > tier.max_leverage \
            else position.leverage
        scale = D(10) ** decimals
        return (math.ceil(notional * scale), math.floor((position.size * mark - position.cost) * scale),
                math.ceil(Fraction(notional * scale) / Fraction(leverage)),
                math.ceil((notional * tier.mmr - tier.cum) * scale), leverage, index)


written = st.builds(lambda n, places: D(n).scaleb(-places), st.integers(1, 10**12), st.integers(0, 9))


@settings(max_examples=500)
@given(st.integers(-(10**9), 10**9).filter(bool), st.integers(0, 6), written, written,
       st.sampled_from([None, D(1), D("2.5"), D(7), D(200)]), st.integers(0, 8),
       st.lists(st.tuples(written, st.integers(1, 500)), min_size=0, max_size=3))
def test_position_figures_equal_the_decimal_formulas(size, size_places, entry, mark, leverage, decimals, steps):
    bounds, mmrs = [], []
    bound, mmr = D(0), D("0.001")
    for step, rise in steps:  # ascending bounds and rates: a valid tier table
        bound, mmr = bound + step, mmr + D(rise).scaleb(-4)
        bounds.append(bound)
        mmrs.append(mmr)
    raw = [(b, r, D(100) / (i + 1)) for i, (b, r) in enumerate(zip(bounds, mmrs))]
    raw.append((None, mmr + D("0.01"), D(100) / (len(raw) + 1)))
    spec = MarketSpec("Y-PERP", "Y", "USDC", build_tiers(raw), D("0.001"), D("0.01"))
    quantity = D(size).scaleb(-size_places)
    position = Position.of("Y-PERP", quantity, quantity * entry, leverage=leverage)
    figures = position_figures(position, spec, mark, decimals)
    assert (figures.notional, figures.unrealized_pnl, figures.initial_margin, figures.maintenance_margin,
            figures.leverage, figures.tier) == _decimal_position_figures(position, spec, mark, decimals)


@pytest.mark.parametrize("size, mark, tier", [
    ("1", "50000", 0), ("1.000", "50000.00", 0), ("0.5", "100000", 0), ("-2", "25000.0000", 0),
    ("1", "50000.000001", 1), ("-0.001", "50000001", 1), ("5", "50000", 1), ("5", "50000.0000001", 2),
])
def test_a_notional_on_a_tier_bound_stays_in_the_lower_tier(size, mark, tier):
    """Tier k holds notionals in (max_notional_(k−1), max_notional_k]: compared exactly,
    whatever the places the size and the mark are written with."""
    position = Position.of("BTC-PERP", D(size), D(size) * D(mark))
    assert position_figures(position, BTC_PERP, D(mark), 6).tier == tier
