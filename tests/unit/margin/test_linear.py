"""solvent.margin.linear: health as a piecewise-linear function of one oracle's price, and the
liquidation price solved from it (SPEC §5: the price, every other price held, at which the
governing health reaches zero; null where none exists in (0, ∞))."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from solvent.domain.book import Book
from solvent.domain.position import Position
from solvent.domain.specs import AssetSpec, MarketSpec, Params, build_tiers
from solvent.margin.linear import (
    Exposure,
    Leg,
    cross_exposures,
    health_part,
    liquidation_price,
    segment_at,
)

D = Decimal
TIGHT = D("1e-60")

ONE_TIER = build_tiers([(None, D("0.01"), D(50))])
# cum_2 = 100,000 × (0.02 − 0.01) = 1,000
TWO_TIERS = build_tiers([(D(100000), D("0.01"), D(50)), (None, D("0.02"), D(25))])


def isolated(size, cost, tiers, margin, current, leverage=None):
    exposure = Exposure(legs=[Leg(D(size), D(cost), tiers, leverage)])
    return liquidation_price(exposure, D(margin), D(current))


# -- isolated, closed form --------------------------------------------------------------------


def test_isolated_long_matches_the_binance_closed_form():
    """q = 2, E = 60,000, isolated margin 20,000, one tier mmr 0.01 (cum 0):
    P = (M + cum − q·E) / (|q|·mmr − q) = (20,000 − 120,000) / (0.02 − 2) = 100,000 / 1.98
    = 50,505.0505…"""
    liq = isolated(2, 120000, ONE_TIER, 20000, 60000)
    assert abs(liq - D(100000) / D("1.98")) < TIGHT
    assert D("50505.05") < liq < D("50505.06")


def test_isolated_short_matches_the_binance_closed_form():
    """q = −3, E = 2,000 (cost −6,000), margin 1,000, one tier mmr 0.02:
    P = (1,000 + 0 + 6,000) / (3 × 0.02 + 3) = 7,000 / 3.06 = 2,287.58169…"""
    tiers = build_tiers([(None, D("0.02"), D(25))])
    liq = isolated(-3, -6000, tiers, 1000, 2000)
    assert abs(liq - D(7000) / D("3.06")) < TIGHT
    assert D("2287.58") < liq < D("2287.59")


def test_isolated_long_rechecks_the_tier_at_the_solved_price():
    """q = 2, E = 60,000 (notional 120,000: tier 2, mmr 0.02, cum 1,000), margin 30,000.
    Tier 2's answer: (30,000 + 1,000 − 120,000) / (0.04 − 2) = 89,000 / 1.96 = 45,408.16;
    there notional 90,816 <= 100,000 is tier 1, so re-solve with mmr 0.01, cum 0:
    (30,000 − 120,000) / (0.02 − 2) = 90,000 / 1.98 = 45,454.5454…; notional 90,909 is
    in tier 1: consistent."""
    liq = isolated(2, 120000, TWO_TIERS, 30000, 60000)
    assert abs(liq - D(90000) / D("1.98")) < TIGHT
    assert abs(liq - D(89000) / D("1.96")) > 40


def test_isolated_short_rechecks_the_tier_upward():
    """q = −2, E = 45,000 (notional 90,000: tier 1), margin 20,000.
    Tier 1: (20,000 + 0 + 90,000) / (0.02 + 2) = 54,455.45; notional 108,911 > 100,000.
    Tier 2: (20,000 + 1,000 + 90,000) / (0.04 + 2) = 111,000 / 2.04 = 54,411.7647…;
    notional 108,823.5 is in tier 2: consistent."""
    liq = isolated(-2, -90000, TWO_TIERS, 20000, 45000)
    assert abs(liq - D(111000) / D("2.04")) < TIGHT


def test_liquidation_price_does_not_depend_on_leverage():
    """Leverage sets the initial margin, not the maintenance line."""
    assert isolated(2, 120000, ONE_TIER, 20000, 60000, leverage=D(3)) == isolated(2, 120000, ONE_TIER, 20000, 60000)


# -- cross --------------------------------------------------------------------------------------

USDC = AssetSpec("USDC", 6, None, D(1), D(1), D("1.1"), D("1.05"))
BTC = AssetSpec("BTC", 8, "BTC", D("0.7"), D("0.8"), None, None)
ETH = AssetSpec("ETH", 8, "ETH", D("0.8"), D("0.9"), D("1.25"), D("1.2"))
SOL = AssetSpec("SOL", 9, "SOL", D("0.5"), D("0.5"), None, None)


def make_book(**prices) -> Book:
    book = Book(params=Params())
    for spec in (USDC, BTC, ETH, SOL):
        book.assets[spec.id] = spec
    book.markets["BTC-PERP"] = MarketSpec("BTC-PERP", "BTC", "USDC", ONE_TIER, D("0.001"), D("0.01"))
    book.markets["ETH-PERP"] = MarketSpec("ETH-PERP", "ETH", "USDC", ONE_TIER, D("0.01"), D("0.01"))
    book.prices.update({k: D(v) for k, v in prices.items()})
    return book


def test_cross_exposures_split_constant_and_per_oracle_parts():
    """USDC 10,000 → constant 10,000 (maint and init). BTC 0.5 → per unit price: maint
    0.5 × 0.8 = 0.4, init 0.5 × 0.7 = 0.35, value 0.5; ETH −2 → maint −2 × 1.2 = −2.4,
    init −2 × 1.25 = −2.5. SOL has no price: left out. The BTC-PERP position is a BTC leg."""
    book = make_book(BTC="60000", ETH="3000")
    balances = {"USDC": 10_000 * 10**6, "BTC": 50_000_000, "ETH": -200_000_000, "SOL": 10**9}
    position = Position.of("BTC-PERP", D(1), D(60000))
    c_maint, c_init, exposures = cross_exposures(balances, [position], book)
    assert (c_maint, c_init) == (10000, 10000)
    assert set(exposures) == {"BTC", "ETH"}
    btc = exposures["BTC"]
    assert (btc.collateral_maint, btc.collateral_init) == (D("0.4"), D("0.35"))
    assert btc.legs == [Leg(D(1), D(60000), ONE_TIER, None)]
    eth = exposures["ETH"]
    assert (eth.collateral_maint, eth.collateral_init, eth.legs) == (D("-2.4"), D("-2.5"), [])


def test_cross_liquidation_price_counts_collateral_in_the_same_oracle():
    """USDC 10,000 + 0.5 BTC (maint weight 0.8) + long 1 BTC-PERP at 60,000 (mmr 0.01):
    health(x) = 10,000 + 0.4x + (x − 60,000) − 0.01x = 1.39x − 50,000 → x = 50,000 / 1.39
    = 35,971.22…"""
    book = make_book(BTC="60000")
    c_maint, _, exposures = cross_exposures(
        {"USDC": 10_000 * 10**6, "BTC": 50_000_000}, [Position.of("BTC-PERP", D(1), D(60000))], book
    )
    liq = liquidation_price(exposures["BTC"], c_maint, D(60000))
    assert abs(liq - D(50000) / D("1.39")) < TIGHT


def test_fully_collateralized_long_without_debt_has_no_liquidation_price():
    """USDC 100,000, long 1 at 60,000: health(x) = 40,000 + 0.99x > 0 for every x > 0."""
    book = make_book(BTC="60000")
    c_maint, _, exposures = cross_exposures({"USDC": 100_000 * 10**6}, [Position.of("BTC-PERP", D(1), D(60000))], book)
    assert liquidation_price(exposures["BTC"], c_maint, D(60000)) is None


def test_isolated_long_with_margin_above_its_cost_has_no_liquidation_price():
    """Margin 130,000 ≥ cost 120,000 (1x, with room for the requirement): health(x) =
    10,000 + 1.98x > 0."""
    assert isolated(2, 120000, ONE_TIER, 130000, 60000) is None


def test_collateral_against_a_quote_debt_liquidates_when_the_collateral_falls():
    """1 BTC (weight 0.8) against −42,000 USDC (liability weight 1.05): health(x) =
    0.8x − 44,100 → x = 55,125 exactly."""
    book = make_book(BTC="60000")
    c_maint, _, exposures = cross_exposures({"USDC": -42_000 * 10**6, "BTC": 100_000_000}, [], book)
    assert c_maint == -44100
    assert liquidation_price(exposures["BTC"], c_maint, D(60000)) == D(55125)


def test_of_two_roots_the_one_nearest_the_current_price_is_returned():
    """1.5 BTC collateral (slope 1.2) hedging a short 1 at 50,000 (cost −50,000), tiers
    (100,000, mmr 0.01), (∞, mmr 0.5, cum 100,000 × 0.49 = 49,000), other −60,000:
    below x = 100,000: h = −10,000 + 0.19x, root 52,631.578…;
    above: h = 39,000 − 0.3x, root 130,000 (both give 9,000 at 100,000).
    From 90,000 the nearer root is 52,631.58 (37,368 away vs 40,000); from 95,000 it is
    130,000 (35,000 away vs 42,368)."""
    tiers = build_tiers([(D(100000), D("0.01"), D(50)), (None, D("0.5"), D(2))])
    exposure = Exposure(collateral_maint=D("1.2"), legs=[Leg(D(-1), D(-50000), tiers, None)])
    low = liquidation_price(exposure, D(-60000), D(90000))
    assert abs(low - D(10000) / D("0.19")) < TIGHT
    assert liquidation_price(exposure, D(-60000), D(95000)) == 130000


# -- segments and health_part ---------------------------------------------------------------


def test_segment_at_gives_the_slopes_and_price_interval_of_the_current_tiers():
    """Leg q = 2 on TWO_TIERS plus collateral 0.4 / 0.35 per unit price.
    At 60,000 (notional 120,000, tier 2: mmr 0.02, cap 25): slope_h = 0.4 + 2 − 0.04 = 2.36,
    slope_f = 0.35 + 2 − 2/25 = 2.27, valid for 50,000 < x (100,000 / 2).
    At 40,000 (tier 1: mmr 0.01, cap 50): slope_h = 0.4 + 1.98 = 2.38, slope_f = 0.35 + 1.96
    = 2.31, valid for 0 < x <= 50,000."""
    exposure = Exposure(D("0.4"), D("0.35"), [Leg(D(2), D(120000), TWO_TIERS, None)])
    high = segment_at(exposure, D(60000))
    assert (high.slope_health, high.slope_free, high.low, high.high) == (D("2.36"), D("2.27"), D(50000), None)
    low = segment_at(exposure, D(40000))
    assert (low.slope_health, low.slope_free, low.low, low.high) == (D("2.38"), D("2.31"), D(0), D(50000))


def test_segment_uses_the_chosen_leverage_for_the_free_collateral_slope():
    """q = −4 at 10x on ONE_TIER (cap 50): slope_f = −4 − 4/10 = −4.4; slope_h = −4 − 0.04."""
    segment = segment_at(Exposure(legs=[Leg(D(-4), D(-400), ONE_TIER, D(10))]), D(100))
    assert (segment.slope_health, segment.slope_free) == (D("-4.04"), D("-4.4"))


def test_health_part_is_collateral_plus_pnl_minus_maintenance():
    """Collateral 0.4 at 60,000 = 24,000; leg 2 with cost 120,000: PnL 0; MM 120,000 × 0.02
    − 1,000 = 1,400. Total 22,600."""
    exposure = Exposure(D("0.4"), D("0.35"), [Leg(D(2), D(120000), TWO_TIERS, None)])
    assert health_part(exposure, D(60000)) == 22600


# -- property: the returned price is a root, and the nearest one ------------------------------


def exact_health(exposure: Exposure, other: Decimal, x: Fraction) -> Fraction:
    """other + collateral × x + Σ (q·x − cost − (|q|·x·mmr − cum)), from scratch."""
    total = Fraction(other) + Fraction(exposure.collateral_maint) * x
    for leg in exposure.legs:
        notional = abs(Fraction(leg.size)) * x
        tier = next(t for t in leg.tiers if t.max_notional is None or notional <= t.max_notional)
        total += Fraction(leg.size) * x - Fraction(leg.cost)
        total -= notional * Fraction(tier.mmr) - Fraction(tier.cum)
    return total


@st.composite
def tier_tables(draw):
    count = draw(st.integers(1, 4))
    bounds = sorted(draw(st.lists(st.integers(1, 10**7), min_size=count - 1, max_size=count - 1, unique=True)))
    mmrs = sorted(draw(st.lists(st.integers(1, 400), min_size=count, max_size=count)))
    return build_tiers([(D(b) if i < count - 1 else None, D(m).scaleb(-3), D(1)) for i, (b, m) in
                        enumerate(zip(bounds + [None], mmrs))])


@st.composite
def exposures(draw):
    legs = []
    for _ in range(draw(st.integers(0, 3))):
        size = D(draw(st.integers(-10000, 10000).filter(bool))).scaleb(-2)
        entry = D(draw(st.integers(1, 10**6)))
        legs.append(Leg(size, size * entry, draw(tier_tables()), None))
    collateral = D(draw(st.integers(-2000, 2000))).scaleb(-2)
    if legs and draw(st.booleans()):
        # collateral hedging the first leg, so that the slope changes sign between tiers and
        # health can have a root on each side of the current price
        collateral = -legs[0].size * (1 + D(draw(st.integers(0, 400))).scaleb(-3))
    assume(legs or collateral)
    exposure = Exposure(collateral_maint=collateral, legs=legs)
    current = D(draw(st.integers(1, 10**6)))
    if draw(st.booleans()):
        other = D(draw(st.integers(-(10**8), 10**8)))
    else:
        # health just above zero at the current price: roots are near, often on both sides
        at_current = exact_health(exposure, D(0), Fraction(current))
        margin = D(draw(st.integers(1, 10**6))).scaleb(-2)
        other = -D(at_current.numerator) / D(at_current.denominator) + margin
    return exposure, other, current


@st.composite
def hedged_shorts(draw):
    """A short hedged by collateral in the same oracle whose weight lies between the tiers'
    requirements: health rises in the low tiers and falls in the high ones, and with the
    current price in the first tier and health just above zero there, it has a root on
    each side of the current price."""
    size = -D(draw(st.integers(1, 10000))).scaleb(-2)
    boundary = D(draw(st.integers(10, 10**7)))
    low_mmr = D(draw(st.integers(1, 100))).scaleb(-3)
    high_mmr = low_mmr + D(draw(st.integers(20, 300))).scaleb(-3)
    tiers = build_tiers([(boundary, low_mmr, D(1)), (None, high_mmr, D(1))])
    m = low_mmr + (high_mmr - low_mmr) * D(draw(st.integers(1, 99))).scaleb(-2)
    exposure = Exposure(collateral_maint=-size * (1 + m),
                        legs=[Leg(size, size * D(draw(st.integers(1, 10**6))), tiers, None)])
    current = boundary / -size * D(draw(st.integers(1, 99))).scaleb(-2)
    at_current = exact_health(exposure, D(0), Fraction(current))
    other = -D(at_current.numerator) / D(at_current.denominator) + D(draw(st.integers(1, 1000))).scaleb(-2)
    return exposure, other, current


@settings(max_examples=400, deadline=None)
@given(st.one_of(exposures(), hedged_shorts()))
def test_liquidation_price_is_the_nearest_zero_of_health(case):
    """At the returned price health is zero to ~60 digits; at every price nearer to the current
    (healthy) one, on either side, health is >= 0 (no nearer root was missed); a little
    beyond the returned price health is negative;
    and where none is returned, health is positive everywhere we look."""
    exposure, other, current = case
    x0 = Fraction(current)
    h0 = exact_health(exposure, other, x0)
    liq = liquidation_price(exposure, other, current)
    scale = abs(Fraction(other)) + 1 + sum(abs(Fraction(leg.cost)) for leg in exposure.legs)
    if liq is not None:
        r = Fraction(liq)
        assert r > 0
        scale += (abs(Fraction(exposure.collateral_maint)) + sum(2 * abs(Fraction(leg.size)) for leg in exposure.legs)) * r
        assert abs(exact_health(exposure, other, r)) <= scale * Fraction(1, 10**60)
    if h0 <= 0:
        return
    grid = [x0 * Fraction(k, 100) for k in (1, 10, 50, 90, 99)] + [x0 * k for k in (2, 10, 100, 10**4)]
    if liq is None:
        assert all(exact_health(exposure, other, x) > 0 for x in grid)
        return
    r = Fraction(liq)
    distance = abs(r - x0)
    for t in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(99, 100)):
        for x in (x0 + t * distance, x0 - t * distance):  # nearer than r, on either side
            if x > 0:
                assert exact_health(exposure, other, x) >= 0
    step = r * Fraction(1, 10**9) * (1 if r > x0 else -1)
    assert exact_health(exposure, other, r + step) < 0
