"""solvent.domain.specs.build_tiers: `cum` keeps maintenance margin continuous (SPEC §5).

    cum_1 = 0,  cum_k = cum_(k−1) + max_notional_(k−1) × (mmr_k − mmr_(k−1))
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from solvent.domain.numbers import ONE
from solvent.domain.specs import AssetSpec, build_tiers

D = Decimal


def test_single_tier_has_no_cum():
    (tier,) = build_tiers([(None, D("0.01"), D(50))])
    assert tier.cum == 0
    assert tier.max_notional is None
    assert (tier.mmr, tier.max_leverage) == (D("0.01"), D(50))


def test_cum_of_a_binance_style_table():
    """Brackets (50,000, 0.4%), (250,000, 0.5%), (3,000,000, 1%), (∞, 2.5%):
    cum_2 = 0 + 50,000 × 0.001 = 50
    cum_3 = 50 + 250,000 × 0.005 = 1,300
    cum_4 = 1,300 + 3,000,000 × 0.015 = 46,300."""
    tiers = build_tiers(
        [
            (D(50000), D("0.004"), D(125)),
            (D(250000), D("0.005"), D(100)),
            (D(3000000), D("0.01"), D(50)),
            (None, D("0.025"), D(20)),
        ]
    )
    assert [t.cum for t in tiers] == [D(0), D(50), D(1300), D(46300)]
    assert [t.max_notional for t in tiers] == [D(50000), D(250000), D(3000000), None]
    assert [t.max_leverage for t in tiers] == [D(125), D(100), D(50), D(20)]


def test_equal_mmr_tiers_add_nothing_to_cum():
    """Two tiers with the same mmr 0.01 (only leverage differs): cum_2 = 100 × 0 = 0."""
    tiers = build_tiers([(D(100), D("0.01"), D(50)), (None, D("0.01"), D(20))])
    assert tiers[1].cum == 0


def mm(notional: Decimal, tier) -> Decimal:
    return notional * tier.mmr - tier.cum


@st.composite
def tier_tables(draw):
    """Random ascending tables: strictly increasing max_notional, non-decreasing mmr."""
    count = draw(st.integers(min_value=1, max_value=8))
    bounds = sorted(set(draw(st.lists(st.integers(1, 10**12), min_size=count - 1, max_size=count - 1, unique=True))))
    count = len(bounds) + 1
    mmrs = sorted(draw(st.lists(st.integers(1, 10**6), min_size=count, max_size=count)))
    rows = []
    for index in range(count):
        max_notional = D(bounds[index]).scaleb(-2) if index < count - 1 else None
        rows.append((max_notional, D(mmrs[index]).scaleb(-7), D(count - index)))
    return rows


@given(tier_tables())
def test_maintenance_margin_is_continuous_at_every_tier_boundary(rows):
    """At each boundary b = max_notional_k, tier k and tier k+1 give the same requirement:
    b × mmr_(k+1) − cum_(k+1) = b × mmr_(k+1) − cum_k − b × (mmr_(k+1) − mmr_k) = b × mmr_k − cum_k."""
    tiers = build_tiers(rows)
    assert tiers[0].cum == 0
    for below, above in pairwise(tiers):
        boundary = below.max_notional
        assert mm(boundary, below) == mm(boundary, above)


@given(tier_tables())
def test_maintenance_margin_never_decreases_with_notional(rows):
    """mmr rises (weakly) with the tier and the function is continuous, so requirements
    at the tier boundaries are non-decreasing and never negative."""
    tiers = build_tiers(rows)
    previous = D(0)
    for tier in tiers[:-1]:
        requirement = mm(tier.max_notional, tier)
        assert requirement >= previous
        previous = requirement


def test_asset_debt_weights_default_to_one_when_not_borrowable():
    """A settle asset that cannot be borrowed but goes negative through PnL is weighted 1."""
    spec = AssetSpec("USDC", 6, None, ONE, ONE, None, None)
    assert not spec.borrowable
    assert spec.debt_weight_maint == 1 and spec.debt_weight_init == 1
    borrowable = AssetSpec("ETH", 8, "ETH", D("0.8"), D("0.9"), D("1.25"), D("1.2"))
    assert borrowable.borrowable
    assert (borrowable.debt_weight_maint, borrowable.debt_weight_init) == (D("1.2"), D("1.25"))
