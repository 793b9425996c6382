"""solvent.margin.tiers: a position's tier is the first whose max_notional >= notional;
maintenance = notional × mmr − cum; initial = notional / min(leverage chosen, tier max)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent.domain.specs import build_tiers
from solvent.margin.tiers import (
    effective_leverage,
    initial_margin,
    maintenance_margin,
    tier_for,
    tier_index,
)

D = Decimal

# cum: 0; 50,000 × (0.005 − 0.004) = 50; 50 + 250,000 × (0.01 − 0.005) = 1,300.
TIERS = build_tiers(
    [
        (D(50000), D("0.004"), D(125)),
        (D(250000), D("0.005"), D(100)),
        (None, D("0.01"), D(50)),
    ]
)


@pytest.mark.parametrize(
    "notional, index",
    [
        (D(0), 0),
        (D("49999.99"), 0),
        (D(50000), 0),  # max_notional is inclusive
        (D("50000.000001"), 1),
        (D(250000), 1),
        (D("250000.000000000000000001"), 2),
        (D(10) ** 15, 2),
    ],
)
def test_tier_index_takes_the_first_tier_whose_max_notional_is_at_least_the_notional(notional, index):
    assert tier_index(TIERS, notional) == index
    assert tier_for(TIERS, notional) is TIERS[index]


def test_single_tier_table_always_gives_tier_zero():
    tiers = build_tiers([(None, D("0.01"), D(20))])
    assert tier_index(tiers, D(0)) == 0
    assert tier_index(tiers, D(10) ** 17) == 0


@pytest.mark.parametrize(
    "notional, expected",
    [
        (D(10000), D(40)),  # 10,000 × 0.004 − 0
        (D(50000), D(200)),  # 50,000 × 0.004 = 200 (tier 1) ...
        (D(100000), D(450)),  # 100,000 × 0.005 − 50
        (D(250000), D(1200)),  # 250,000 × 0.005 − 50
        (D(1000000), D(8700)),  # 1,000,000 × 0.01 − 1,300
    ],
)
def test_maintenance_margin_is_notional_times_mmr_minus_cum(notional, expected):
    assert maintenance_margin(notional, tier_for(TIERS, notional)) == expected


def test_maintenance_margin_is_the_same_from_both_sides_of_a_boundary():
    """At 50,000: tier 1 gives 200; tier 2's formula 50,000 × 0.005 − 50 = 200 too."""
    assert maintenance_margin(D(50000), TIERS[0]) == maintenance_margin(D(50000), TIERS[1]) == 200
    assert maintenance_margin(D(250000), TIERS[1]) == maintenance_margin(D(250000), TIERS[2]) == 1200


@pytest.mark.parametrize(
    "chosen, expected",
    [(None, D(100)), (D(20), D(20)), (D(100), D(100)), (D(150), D(100)), (D(1), D(1))],
)
def test_effective_leverage_is_the_smaller_of_chosen_and_the_tier_cap(chosen, expected):
    assert effective_leverage(TIERS[1], chosen) == expected


def test_initial_margin_is_notional_over_effective_leverage():
    """100,000 in tier 2 (cap 100): none chosen → 1,000; 20x → 5,000; 150x capped → 1,000.
    1,000,000 in tier 3 (cap 50) with 75x chosen → 20,000. 100 at 3x → 33.333… (exact
    quotient; rounding up is the caller's)."""
    assert initial_margin(D(100000), TIERS[1], None) == 1000
    assert initial_margin(D(100000), TIERS[1], D(20)) == 5000
    assert initial_margin(D(100000), TIERS[1], D(150)) == 1000
    assert initial_margin(D(1000000), TIERS[2], D(75)) == 20000
    third = initial_margin(D(100), TIERS[1], D(3))
    assert D("33.3333333333") < third < D("33.3333333334")
