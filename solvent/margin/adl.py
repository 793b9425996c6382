"""The auto-deleveraging queue key (Binance's "LeveragePnL").

For a risk unit (an account's cross part, or one isolated position), with its collateral
W (the cross balances' value, or the isolated margin), its unrealized PnL U and its
maintenance margin MM, all in the quote currency:

    pnl_percent  = max(0, U) / max(1, W)
    margin_ratio = MM / (W + U)        where W + U > 0, else 0
    score        = pnl_percent × margin_ratio

The most profitable, most leveraged units score highest and are deleveraged first; a unit
without profit scores 0. Ties go by account id (the caller sorts).
"""

from __future__ import annotations

from decimal import Decimal

from ..domain.numbers import ARITHMETIC, ONE, ZERO


def adl_score(collateral: Decimal, unrealized_pnl: Decimal, maintenance_margin: Decimal) -> Decimal:
    """`max(0, U) / max(1, W) × MM / (W + U)`, 0 where W + U <= 0."""
    equity = ARITHMETIC.add(collateral, unrealized_pnl)
    if equity <= 0 or unrealized_pnl <= 0:
        return ZERO
    pnl_percent = ARITHMETIC.divide(unrealized_pnl, max(ONE, collateral))
    return ARITHMETIC.multiply(pnl_percent, ARITHMETIC.divide(maintenance_margin, equity))
