"""Binance USDⓈ-M margin tiers and the maintenance amount ("cum"), and freqtrade's lookups.

Sources
-------
* Binance FAQ "Leverage and Margin of USDⓈ-M Futures"
  (https://www.binance.com/en/support/faq/leverage-and-margin-of-usd%E2%93%A2-m-futures-360033162192):
  maintenance margin = notional × maintenance margin rate − maintenance amount, and the
  maintenance amount of bracket n = floor_n × (mmr_n − mmr_(n−1)) + maintenance amount_(n−1).
* freqtrade/freqtrade, tests/conftest.py, fixture ``leverage_tiers``, key ``'BTC/USDT:USDT'``
  (commit f37c4e5935089a6e7a2a4419dd50e02f5f59f642): Binance's BTCUSDT brackets frozen as
  ten rows of (minNotional, maxNotional, maintenanceMarginRate, maxLeverage, maintAmt).
* freqtrade/freqtrade, tests/exchange/test_binance.py,
  ``test_get_maintenance_ratio_and_amt_binance`` (commit 02078456fcca88034e9b92e6c62e45998f8342d0):
  ``("BTC/USDT:USDT", 170.30, 0.004, 0)`` and ``("BTC/USDT:USDT", 600000000, 0.5, 1.997038E8)``.
* /work/shared/REFERENCE-CASES.md, "Tiers and maintenance amount".

In SPEC terms (§2 `market`, §5 tiers) a bracket is a tier {max_notional = maxNotional, mmr,
max_leverage}; the engine derives `cum` itself (it is not an input), so the fixture's
`maintAmt` column is what the derivation must reproduce. The fixture's last bracket has
maxNotional 1,000,000,000 (Binance's position cap); SPEC's last tier is unbounded, so that
cap is dropped. SPEC assigns a notional to "the first tier whose max_notional >= notional"
(upper bound inclusive), whereas freqtrade picks the last bracket whose minNotional <=
notional (lower bound inclusive): the two conventions differ only for a notional exactly on
a bracket boundary, where the continuity of `cum` makes both give the same maintenance
margin. The 600,000,000 lookup below is restated accordingly.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent import Engine
from solvent.domain.specs import build_tiers
from solvent.margin.tiers import maintenance_margin, tier_for

from ._engine import deposit, market, price, quote_asset, tiers_from_rows, trade

D = Decimal

#: freqtrade's frozen BTC/USDT:USDT table: (maxNotional, maintenanceMarginRate, maxLeverage)
#: with the last bracket's cap dropped (SPEC: the last tier is unbounded).
FREQTRADE_BTC_ROWS = [
    ("50000", "0.004", "125"),
    ("250000", "0.005", "100"),
    ("1000000", "0.01", "50"),
    ("7500000", "0.025", "20"),
    ("40000000", "0.05", "10"),
    ("100000000", "0.1", "5"),
    ("200000000", "0.125", "4"),
    ("400000000", "0.15", "3"),
    ("600000000", "0.25", "2"),
    (None, "0.5", "1"),
]
#: the fixture's maintAmt column, in the same order (4.97038E7 and 1.997038E8 written out).
FREQTRADE_BTC_MAINT_AMT = ["0", "50", "1300", "16300", "203800", "2203800", "4703800", "9703800",
                           "49703800", "199703800"]


def _rows(rows):
    return [(None if n is None else D(n), D(m), D(l)) for n, m, l in rows]


def _btc_engine(deposit_each: str) -> Engine:
    engine = Engine()
    quote_asset(engine, "USDC")
    market(engine, "BTC-PERP", "BTC", tiers_from_rows(FREQTRADE_BTC_ROWS), step_size="0.001")
    deposit(engine, "alice", deposit_each)
    deposit(engine, "bob", deposit_each)
    return engine


def test_cum_derivation_reproduces_every_maint_amt_of_the_freqtrade_fixture():
    """freqtrade conftest ``leverage_tiers['BTC/USDT:USDT']`` (Binance's published cum values).

    SPEC §5: cum_1 = 0, cum_k = cum_(k−1) + max_notional_(k−1) × (mmr_k − mmr_(k−1)). By hand:
    50,000×0.001 = 50; +250,000×0.005 = 1,300; +1,000,000×0.015 = 16,300;
    +7,500,000×0.025 = 203,800; +40,000,000×0.05 = 2,203,800; +100,000,000×0.025 = 4,703,800;
    +200,000,000×0.025 = 9,703,800; +400,000,000×0.1 = 49,703,800;
    +600,000,000×0.25 = 199,703,800 — every value equal to the fixture's maintAmt.
    """
    tiers = build_tiers(_rows(FREQTRADE_BTC_ROWS))
    assert [t.cum for t in tiers] == [D(x) for x in FREQTRADE_BTC_MAINT_AMT]


def test_binance_faq_cum_of_the_first_four_tiers():
    """REFERENCE-CASES "Tiers and maintenance amount": the first four BTC tiers
    (50,000/0.004/125x, 250,000/0.005/100x, 1,000,000/0.01/50x, 7,500,000/0.025/20x).

    cum of the 250,000–1,000,000 tier = 250,000 × (0.01 − 0.005) + 50 = 1,300;
    of the next, 1,300 + 1,000,000 × (0.025 − 0.01) = 16,300.
    """
    tiers = build_tiers(_rows(FREQTRADE_BTC_ROWS[:3] + [(None, "0.025", "20")]))
    assert [t.cum for t in tiers] == [D(0), D(50), D(1300), D(16300)]


def test_4_4_btc_at_60000_maintenance_margin_1340():
    """REFERENCE-CASES: a 4.4 BTC position at mark 60,000 (notional 264,000) has mmr 0.01 and
    maintenance margin 264,000 × 0.01 − 1,300 = 1,340.

    SPEC restatement: alice buys 4.4 BTC-PERP from bob at 60,000 with the BTC oracle at 60,000.
    264,000 lies in the 250,000–1,000,000 tier (mmr 0.01, cum 1,300, max leverage 50), so the
    position's maintenance margin is 1,340 and its initial margin 264,000 / 50 = 5,280, for
    both the long and the short. Each side deposits 10,000 USDC (> 5,280, so the trade passes).
    """
    engine = _btc_engine("10000")
    price(engine, "BTC", "60000")
    trade(engine, "BTC-PERP", "alice", "bob", "4.4", "60000")
    for account in ("alice", "bob"):
        entry = engine.account(account)
        position = entry["positions"]["BTC-PERP"]
        assert position["notional"] == "264000.000000"
        assert position["maintenance_margin"] == "1340.000000"
        assert position["initial_margin"] == "5280.000000"
        assert entry["maintenance_margin"] == "1340.000000"
        # health = 10,000 − 1,340 (no PnL at the entry price)
        assert entry["health"] == "8660.000000"


def test_freqtrade_lookup_170_30_is_first_tier():
    """freqtrade test_get_maintenance_ratio_and_amt_binance: BTC notional 170.30 -> (0.004, 0).

    170.30 <= 50,000, so the first tier: mmr 0.004, cum 0, and maintenance margin
    170.30 × 0.004 − 0 = 0.6812. Through the engine: 0.001 BTC at 170,300 (notional 170.3).
    """
    tiers = build_tiers(_rows(FREQTRADE_BTC_ROWS))
    tier = tier_for(tiers, D("170.30"))
    assert (tier.mmr, tier.cum) == (D("0.004"), D(0))
    assert maintenance_margin(D("170.30"), tier) == D("0.6812")

    engine = _btc_engine("100")
    price(engine, "BTC", "170300")
    trade(engine, "BTC-PERP", "alice", "bob", "0.001", "170300")
    position = engine.account("alice")["positions"]["BTC-PERP"]
    assert position["notional"] == "170.300000"
    assert position["maintenance_margin"] == "0.681200"


def test_freqtrade_lookup_600_million():
    """freqtrade test_get_maintenance_ratio_and_amt_binance: BTC notional 600,000,000 ->
    (mmr 0.5, maintAmt 199,703,800), i.e. maintenance 600,000,000 × 0.5 − 199,703,800
    = 100,296,200.

    Restated in SPEC terms (see the module docstring): 600,000,000 is exactly the cap of the
    0.25 tier, and SPEC's lookup ("first tier whose max_notional >= notional") keeps it there:
    (0.25, 49,703,800), maintenance 600,000,000 × 0.25 − 49,703,800 = 100,296,200 — the same
    figure freqtrade's (0.5, 199,703,800) gives, since cum is continuous. Any notional above
    the boundary is in the 0.5 tier with freqtrade's exact pair (0.5, 199,703,800).
    Through the engine: 10,000 BTC at 60,000 (notional 600,000,000), maintenance 100,296,200.
    """
    tiers = build_tiers(_rows(FREQTRADE_BTC_ROWS))
    freqtrade_mm = D("600000000") * D("0.5") - D("199703800")
    assert freqtrade_mm == D("100296200")

    at_boundary = tier_for(tiers, D("600000000"))
    assert (at_boundary.mmr, at_boundary.cum) == (D("0.25"), D("49703800"))
    assert maintenance_margin(D("600000000"), at_boundary) == freqtrade_mm
    assert maintenance_margin(D("600000000"), tiers[-1]) == freqtrade_mm

    above = tier_for(tiers, D("600000000.01"))
    assert (above.mmr, above.cum) == (D("0.5"), D("199703800"))

    # 10,000 BTC at 60,000: initial margin (tier max leverage 2) is 300,000,000 a side.
    engine = _btc_engine("400000000")
    price(engine, "BTC", "60000")
    trade(engine, "BTC-PERP", "alice", "bob", "10000", "60000")
    position = engine.account("alice")["positions"]["BTC-PERP"]
    assert position["notional"] == "600000000.000000"
    assert position["maintenance_margin"] == "100296200.000000"


@pytest.mark.parametrize(
    "notional, expected_mm",
    [
        # hand: notional × mmr − cum of the tier containing it
        ("50000", "200"),  # 50,000 × 0.004 − 0 (top of tier 1)
        ("50000.01", "200.00005"),  # 50,000.01 × 0.005 − 50
        ("264000", "1340"),  # 264,000 × 0.01 − 1,300
        ("1000000", "8700"),  # 1,000,000 × 0.01 − 1,300
        ("5000000", "108700"),  # 5,000,000 × 0.025 − 16,300
        ("150000000", "14046200"),  # 150,000,000 × 0.125 − 4,703,800
        ("700000000", "150296200"),  # 700,000,000 × 0.5 − 199,703,800
    ],
)
def test_maintenance_margin_across_the_freqtrade_table(notional, expected_mm):
    """Binance FAQ formula mm = notional × mmr − maintenance amount on the freqtrade table."""
    tiers = build_tiers(_rows(FREQTRADE_BTC_ROWS))
    n = D(notional)
    assert maintenance_margin(n, tier_for(tiers, n)) == D(expected_mm)
