"""Hyperliquid margin tiers: the maintenance deduction keeps maintenance margin continuous.

Source
------
* Hyperliquid Docs, Trading › Margin tiers
  (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers), as restated in
  /work/shared/REFERENCE-CASES.md, "Tiered maintenance margin is continuous": up to
  150,000,000 notional max leverage 40, mmr 0.0125 (half the initial margin at max leverage);
  above, max leverage 20, mmr 0.025. maintenance_margin = notional × mmr − deduction, and the
  second tier's deduction = 150,000,000 × (0.025 − 0.0125) = 1,875,000.
  At 200,000,000 notional: 5,000,000 − 1,875,000 = 3,125,000. At exactly 150,000,000 both
  tiers give 1,875,000.

SPEC terms (§5): tiers [{max_notional 150,000,000, mmr 0.0125, max_leverage 40},
{mmr 0.025, max_leverage 20}]; the deduction is SPEC's `cum`, derived by the engine.
"""

from __future__ import annotations

from decimal import Decimal

from solvent import Engine
from solvent.domain.specs import build_tiers
from solvent.margin.tiers import maintenance_margin, tier_for

from ._engine import deposit, market, price, quote_asset, trade

D = Decimal
HL_TIERS = [{"max_notional": "150000000", "mmr": "0.0125", "max_leverage": "40"},
            {"mmr": "0.025", "max_leverage": "20"}]


def _tiers():
    return build_tiers([(D("150000000"), D("0.0125"), D("40")), (None, D("0.025"), D("20"))])


def _position(size: str) -> dict:
    """alice long `size` BTC at 100,000 against bob; each deposits 20,000,000 USDC (the
    largest initial margin here is 200,000,000 / 20 = 10,000,000)."""
    engine = Engine()
    quote_asset(engine, "USDC")
    market(engine, "BTC-PERP", "BTC", HL_TIERS, step_size="0.001")
    price(engine, "BTC", "100000")
    deposit(engine, "alice", "20000000")
    deposit(engine, "bob", "20000000")
    trade(engine, "BTC-PERP", "alice", "bob", size, "100000")
    return engine.account("alice")["positions"]["BTC-PERP"]


def test_second_tier_deduction_is_1_875_000():
    """cum_2 = 150,000,000 × (0.025 − 0.0125) = 1,875,000."""
    tiers = _tiers()
    assert tiers[0].cum == D(0)
    assert tiers[1].cum == D("1875000")


def test_maintenance_at_200_million_is_3_125_000():
    """2,000 BTC at 100,000 = 200,000,000 notional, second tier:
    200,000,000 × 0.025 − 1,875,000 = 3,125,000; initial margin 200,000,000 / 20 = 10,000,000."""
    position = _position("2000")
    assert position["notional"] == "200000000.000000"
    assert position["maintenance_margin"] == "3125000.000000"
    assert position["initial_margin"] == "10000000.000000"


def test_both_tiers_give_1_875_000_at_exactly_150_million():
    """At 150,000,000: first tier 150,000,000 × 0.0125 − 0 = 1,875,000; second tier
    150,000,000 × 0.025 − 1,875,000 = 1,875,000. SPEC puts the boundary in the first tier
    (max_notional >= notional), so the engine's position (1,500 BTC at 100,000) shows
    1,875,000 and initial margin 150,000,000 / 40 = 3,750,000. Just above, at 1,500.001 BTC
    (150,000,100), the second tier: 150,000,100 × 0.025 − 1,875,000 = 1,875,002.5."""
    tiers = _tiers()
    boundary = D("150000000")
    assert maintenance_margin(boundary, tiers[0]) == D("1875000")
    assert maintenance_margin(boundary, tiers[1]) == D("1875000")
    assert tier_for(tiers, boundary) is tiers[0]

    position = _position("1500")
    assert position["notional"] == "150000000.000000"
    assert position["maintenance_margin"] == "1875000.000000"
    assert position["initial_margin"] == "3750000.000000"

    position = _position("1500.001")
    assert position["notional"] == "150000100.000000"
    assert position["maintenance_margin"] == "1875002.500000"
