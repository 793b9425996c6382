"""Funding payments: size × mark × rate, longs paying shorts when the rate is positive.

Source
------
* freqtrade/freqtrade, tests/exchange/test_exchange.py::test_calculate_funding_fees, as
  restated in /work/shared/REFERENCE-CASES.md, "Funding": a short of 10 at mark 2.0 receives
  10 × 2.0 × 0.0001 = 0.002 for a funding rate of 0.0001; 0.004 at rate 0.0002; 0.005 at rate
  0.0002 and mark 2.5. The long side pays the same.

SPEC terms (§2 `funding`, §3 `funding` event): one `funding` {market, rate} command; each
position pays size × mark × rate to the other side through the market's PnL pool. The short
(size −10) "pays" −10 × 2 × 0.0001 = −0.002, i.e. receives 0.002; the long pays 0.002. The
amounts are whole USDC quantums (6 decimals), so no rounding dust arises: the `funding`
event reports paid = received = the reference amount, and the balances move by exactly that.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent import Engine

from ._engine import deposit, events_named, market, ok, price, quote_asset, trade

D = Decimal


@pytest.mark.parametrize(
    "mark, rate, amount",
    [
        ("2.0", "0.0001", "0.002"),
        ("2.0", "0.0002", "0.004"),
        ("2.5", "0.0002", "0.005"),
    ],
)
def test_short_of_10_receives_and_long_pays(mark, rate, amount):
    engine = Engine()
    quote_asset(engine, "USDC")
    market(engine, "ADA-PERP", "ADA", [{"mmr": "0.025", "max_leverage": "20"}], step_size="1")
    price(engine, "ADA", mark)
    deposit(engine, "long", "100")
    deposit(engine, "short", "100")
    trade(engine, "ADA-PERP", "long", "short", "10", mark)

    events = ok(engine, {"op": "funding", "market": "ADA-PERP", "rate": rate})
    funding = events_named(events, "funding")
    assert len(funding) == 1
    assert funding[0]["market"] == "ADA-PERP"
    assert D(funding[0]["rate"]) == D(rate)
    assert D(funding[0]["paid"]) == D(amount)

    long_balance = D(engine.account("long")["balances"]["USDC"])
    short_balance = D(engine.account("short")["balances"]["USDC"])
    assert short_balance == D(100) + D(amount)
    assert long_balance == D(100) - D(amount)
    assert engine.state_document()["ledger"]["balanced"] is True
