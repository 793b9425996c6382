"""How much of a position a liquidation closes: the `liquidation_policy` strategies.

* `partial`: the least multiple of the market's `step_size` that brings the unit to its
  target, `health >= liquidation_buffer × maintenance_margin` (hysteresis: a unit that was
  just liquidated is not liquidatable again at the same price). Where even the whole
  position does not reach the target, the whole position closes (and the next one is tried).
  A remainder whose notional at the mark would be below the market's `min_notional` closes
  with it.
* `full`: the whole position.

The search is a bisection over the step multiples. It finds the least size because the
target test is monotone in the size closed: closing more releases maintenance margin at the
tier's rate, which falls as the position shrinks, while the fee grows linearly, so the
target's margin is concave in the size closed and its true set is an interval that ends at
the whole position.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal

from ...domain.numbers import ARITHMETIC, ONE
from ...domain.specs import LiquidationPolicy, MarketSpec


def least_close(whole: Decimal, step: Decimal, reaches_target: Callable[[Decimal], bool]) -> Decimal:
    """The least of step, 2 × step, … (and finally `whole`) for which `reaches_target`
    holds; `whole` where none does."""
    steps = int(ARITHMETIC.divide_int(whole, step))
    if ARITHMETIC.multiply(step, steps) == whole:
        count = steps
    else:
        count = steps + 1  # the last candidate is the whole, off the step grid

    def size(k: int) -> Decimal:
        return whole if k >= count else ARITHMETIC.multiply(step, k)

    if count <= 1 or not reaches_target(whole):
        return whole
    low, high = 1, count  # reaches_target(size(high)) holds
    while low < high:
        middle = (low + high) // 2
        if reaches_target(size(middle)):
            high = middle
        else:
            low = middle + 1
    return size(low)


def close_size(
    policy: LiquidationPolicy, spec: MarketSpec, whole: Decimal, mark: Decimal, reaches_target: Callable[[Decimal], bool]
) -> Decimal:
    """The size (> 0) to close of a position of size `whole` (> 0) under `policy`."""
    if policy is LiquidationPolicy.FULL:
        return whole
    size = least_close(whole, spec.step_size, reaches_target)
    remainder = ARITHMETIC.subtract(whole, size)
    if remainder and spec.min_notional is not None and ARITHMETIC.multiply(remainder, mark) < spec.min_notional:
        return whole
    return size


def least_amount(limit: int, margin: Callable[[int], Decimal]) -> int:
    """The least whole amount r in [1, limit] with `margin(r) >= 0`; `limit` where none.

    For a borrow liquidation, where `margin` is linear in r up to the rounding of the
    collateral seized, which makes it a fine sawtooth near its zero (a bisection could stop
    on a later tooth): solve the line through r = 0 and r = limit, then step to the least r
    around that point."""
    at_zero, at_limit = margin(0), margin(limit)
    if at_limit < 0 or at_limit == at_zero:
        return limit
    estimate = int(ARITHMETIC.divide(-at_zero * limit, at_limit - at_zero).to_integral_value(ROUND_CEILING))
    r = min(max(estimate, 1), limit)
    for _ in range(_SCAN):
        if margin(r) >= 0:
            break
        r += 1
    else:  # far from the line: fall back to a bisection above the estimate
        return int(least_close(Decimal(limit), ONE, lambda x: margin(int(x)) >= 0))
    steps = 0
    while r > 1 and steps < _SCAN and margin(r - 1) >= 0:
        r -= 1
        steps += 1
    return r


#: How far `least_amount` steps from its linear estimate.
_SCAN = 64
