"""Binance's isolated liquidation price, with the re-check of the tier at the solved price.

Sources
-------
* Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"
  (https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93): for an isolated
  position, one-way mode, WB is the isolated wallet balance and TMM = UPNL = 0, so
  LP = (WB + cumB − Side × Position × EP) / (Position × MMR − Side × Position).
  Its companion page for COIN-M contracts
  (https://www.binance.com/en/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46) spells out the
  re-check: if the position valued at the liquidation price falls in another bracket than at
  the opening price, substitute that bracket's maintenance margin rate and maintenance amount
  and calculate again.
* /work/shared/REFERENCE-CASES.md, "Liquidation price, Binance formula": with q signed,
  P = (isolated_margin + cum − q × E) / (|q| × mmr − q); re-check the tier at P (freqtrade
  skips this step — the engine must not).
* Tier table: Binance BTCUSDT brackets as frozen in freqtrade/freqtrade tests/conftest.py,
  fixture ``leverage_tiers['BTC/USDT:USDT']`` (see test_binance_tiers.py).

SPEC terms (§5): an isolated position's health is isolated_margin + q × (P − E) −
(|q| × P × mmr − cum); its `liquidation_price` is the oracle price where that health is zero.
Setting it to zero and solving gives exactly the formula above, valid only while |q| × P stays
in the tier whose (mmr, cum) was used.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from solvent import Engine
from solvent.domain.numbers import ARITHMETIC
from solvent.domain.specs import build_tiers
from solvent.margin.linear import Exposure, Leg, liquidation_price

from ._engine import deposit, in_breach, market, not_in_breach, ok, price, quote_asset, tiers_from_rows, trade
from .test_binance_tiers import FREQTRADE_BTC_ROWS

D = Decimal
TOLERANCE = D("1e-9")


def _binance(margin: Decimal, cum: Decimal, q: Decimal, entry: Decimal, mmr: Decimal) -> Decimal:
    """The Binance formula, one tier, exact to 50 digits."""
    with localcontext() as ctx:
        ctx.prec = 50
        return (margin + cum - q * entry) / (abs(q) * mmr - q)


def _open_isolated(size_buyer: str, buyer: str, seller: str, isolated: str) -> Engine:
    engine = Engine()
    quote_asset(engine, "USDC")
    market(engine, "BTC-PERP", "BTC", tiers_from_rows(FREQTRADE_BTC_ROWS), step_size="0.001")
    price(engine, "BTC", "60000")
    deposit(engine, buyer, "1000000")
    deposit(engine, seller, "1000000")
    ok(engine, {"op": "margin_mode", "account": isolated, "market": "BTC-PERP", "mode": "isolated", "leverage": "5"})
    trade(engine, "BTC-PERP", buyer, seller, size_buyer, "60000")
    return engine


def test_isolated_long_liquidation_price_resolved_in_the_lower_tier():
    """Long 5 BTC at 60,000, isolated at 5x.

    Notional at entry 300,000: tier (250,000–1,000,000], mmr 0.01, cum 1,300. The isolated
    margin moved in is the initial margin 300,000 / 5 = 60,000.

    First pass with that tier: P = (60,000 + 1,300 − 5 × 60,000) / (5 × 0.01 − 5)
    = −238,700 / −4.95 = 48,222.22…, but 5 × 48,222.22 = 241,111.11 < 250,000: that price
    is in the (50,000–250,000] tier (mmr 0.005, cum 50), not the one used.
    Re-solve with it: P = (60,000 + 50 − 300,000) / (5 × 0.005 − 5) = −239,950 / −4.975
    = 48,231.155778894472361809…; 5 × P = 241,155.78 is in (50,000, 250,000]: consistent.
    (Check of the root's side: at the tier boundary P = 50,000 health is 60,000 − 50,000 −
    (250,000 × 0.005 − 50) = 8,800 > 0, so health reaches zero below 50,000.)

    Health at 48,232: 60,000 + 5 × (48,232 − 60,000) − (241,160 × 0.005 − 50) = 4.2 >= 0;
    at 48,231: 60,000 − 58,845 − (241,155 × 0.005 − 50) = −0.775 < 0.
    """
    expected = D(239950) / D("4.975")
    first_pass = _binance(D(60000), D(1300), D(5), D(60000), D("0.01"))
    resolved = _binance(D(60000), D(50), D(5), D(60000), D("0.005"))
    assert abs(resolved - expected) < TOLERANCE
    assert 5 * first_pass < 250000  # the first tier's answer lands in the lower tier
    assert 50000 < 5 * resolved <= 250000

    engine = _open_isolated("5", "alice", "bob", "alice")
    position = engine.account("alice")["positions"]["BTC-PERP"]
    assert position["mode"] == "isolated"
    assert position["isolated_margin"] == "60000.000000"
    assert position["maintenance_margin"] == "1700.000000"  # 300,000 × 0.01 − 1,300
    liq = D(position["liquidation_price"])
    assert abs(liq - expected) < TOLERANCE
    assert abs(liq - first_pass) > D(1)  # not freqtrade's un-rechecked 48,222.22

    events = price(engine, "BTC", "48232")
    assert not_in_breach(engine, events, "alice", "BTC-PERP")
    events = price(engine, "BTC", "48231")
    assert in_breach(engine, events, "alice", "BTC-PERP")


def test_isolated_short_liquidation_price_resolved_in_the_higher_tier():
    """Short 16 BTC at 60,000, isolated at 5x.

    Notional at entry 960,000: tier (250,000–1,000,000], mmr 0.01, cum 1,300. Isolated
    margin 960,000 / 5 = 192,000. q = −16.

    First pass: P = (192,000 + 1,300 + 16 × 60,000) / (16 × 0.01 + 16) = 1,153,300 / 16.16
    = 71,367.57…, but 16 × 71,367.57 = 1,141,881 > 1,000,000: the (1,000,000–7,500,000]
    tier (mmr 0.025, cum 16,300) applies there.
    Re-solve: P = (192,000 + 16,300 + 960,000) / (16 × 0.025 + 16) = 1,168,300 / 16.4
    = 71,237.804878048780487…; 16 × P = 1,139,804.88, inside (1,000,000, 7,500,000].
    """
    expected = D(1168300) / D("16.4")
    first_pass = _binance(D(192000), D(1300), D(-16), D(60000), D("0.01"))
    assert 16 * first_pass > 1000000

    engine = _open_isolated("16", "bob", "carol", "carol")
    position = engine.account("carol")["positions"]["BTC-PERP"]
    assert position["size"] == "-16.000"
    assert position["isolated_margin"] == "192000.000000"
    liq = D(position["liquidation_price"])
    assert abs(liq - expected) < TOLERANCE
    assert abs(liq - first_pass) > D(1)


def test_solver_directly_rechecks_the_tier():
    """`solvent.margin.linear.liquidation_price` on the long of the first test: one leg of
    size 5 and cost 5 × 60,000 = 300,000, the isolated margin 60,000 as the constant part.
    Expected: 239,950 / 4.975 (hand computation in the first test)."""
    tiers = build_tiers([(None if n is None else D(n), D(m), D(l)) for n, m, l in FREQTRADE_BTC_ROWS])
    exposure = Exposure(legs=[Leg(D(5), D(300000), tiers, D(5))])
    with localcontext(ARITHMETIC):
        liq = liquidation_price(exposure, D(60000), D(60000))
    assert liq is not None
    assert abs(liq - D(239950) / D("4.975")) < TOLERANCE
