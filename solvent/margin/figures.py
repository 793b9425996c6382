"""An account's figures, rounded term by term as the rounding table says (SPEC §5).

For the cross part of an account (isolated positions left out):

    value(asset)          = balance × price
    weighted_maint(asset) = value × weight_maint      (balance >= 0)
                          = value × liability_weight_maint   (balance < 0)   — likewise _init
    unrealized_pnl        = q × (M − E) = q × M − cost,      notional = |q| × M
    equity                = Σ value + Σ unrealized_pnl
    equity_maint          = Σ weighted_maint + Σ unrealized_pnl      (equity_init likewise)
    health                = equity_maint − Σ maintenance_margin
    free_collateral       = equity_init − Σ initial_margin
    margin_ratio          = Σ maintenance_margin / equity_maint
    health_factor         = A / L, A = Σ positive weighted_maint terms + Σ positive PnL,
                                   L = Σ |negative ones| + Σ maintenance_margin

Every term is rounded to quantums of `value_decimals` before it is summed (values and PnL
down, requirements up), so the figures are integers, `health = A − L` exactly, and
`health_factor < 1` exactly when `health < 0`.

An isolated position: equity = isolated_margin + unrealized_pnl, health = equity −
maintenance_margin, free collateral = equity − initial_margin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from ..domain.book import Book
from ..domain.numbers import ARITHMETIC, ONE
from ..domain.position import Position
from ..domain.fixed import add, compare, split, split_shared
from ..domain.rounding import Figure, pair_quotient_to_units, pair_to_units, rounder, scale_between, to_units
from ..domain.specs import MarketSpec, Tier
from ..domain.values import Value

_INT_SCALES: Final[list[int]] = [10**d for d in range(40)]  # (typed: `10**d` is `Any`)
_value_units = rounder(Figure.WEIGHTED_VALUE)
assert rounder(Figure.COLLATERAL_VALUE) is _value_units


class PositionFigures(Value):
    """One position at the mark, in quantums of the value currency."""

    __slots__ = ("notional", "unrealized_pnl", "initial_margin", "maintenance_margin", "leverage", "tier")
    _fields = ("notional", "unrealized_pnl", "initial_margin", "maintenance_margin", "leverage", "tier")

    def __init__(
        self,
        notional: int,
        unrealized_pnl: int,
        initial_margin: int,
        maintenance_margin: int,
        leverage: Decimal,
        tier: int,
    ) -> None:
        self.notional: Final = notional
        self.unrealized_pnl: Final = unrealized_pnl
        self.initial_margin: Final = initial_margin
        self.maintenance_margin: Final = maintenance_margin
        self.leverage: Final = leverage  # effective: min(chosen, tier max)
        self.tier: Final = tier


#: (max_notional, max_leverage, mmr, cum) of one tier as integer pairs, flattened:
#: (units, places) × 4 (the last tier's unbounded max_notional as (0, 0), never read)
TierPairs = tuple[int, int, int, int, int, int, int, int]
#: a market's tier pairs, by the identity of its tiers (as `fixed.split_shared`: an entry
#: keeps its tuple, so the id cannot be reused while it exists)
_TIER_PAIRS: dict[int, tuple[tuple[Tier, ...], list[TierPairs]]] = {}
_MEMO_SIZE = 256


def _tier_pairs(tiers: tuple[Tier, ...]) -> list[TierPairs]:
    """The pairs of `tiers` (a spec is immutable: a changed one brings a new tuple)."""
    found = _TIER_PAIRS.get(id(tiers))
    if found is not None and found[0] is tiers:
        return found[1]
    built = []
    for tier in tiers:
        bound = split(tier.max_notional) if tier.max_notional is not None else (0, 0)
        built.append((*bound, *split(tier.max_leverage), *split(tier.mmr), *split(tier.cum)))
    if len(_TIER_PAIRS) >= _MEMO_SIZE:
        _TIER_PAIRS.clear()
    _TIER_PAIRS[id(tiers)] = (tiers, built)
    return built


def position_figures(position: Position, spec: MarketSpec, mark: Decimal, decimals: int) -> PositionFigures:
    """notional = |q| × M (up), unrealized_pnl = q × M − C (down), initial margin =
    notional / min(leverage chosen, tier max) (up), maintenance margin = notional × mmr − cum
    (up); in quantums of 10**-decimals.

    Computed on integer pairs (`solvent.domain.fixed`): each figure is the exact rational
    rounded once, as the `Decimal` formulas give it (the input limits keep those exact;
    tests/unit/margin/test_figures.py compares the two on random positions)."""
    mark_units, mark_places = split_shared(mark)
    size_units = position.size_units
    notional_units = (size_units if size_units >= 0 else -size_units) * mark_units
    notional_places = position.size_places + mark_places
    tiers = spec.tiers
    pairs = _tier_pairs(tiers)
    index = 0
    last = len(tiers) - 1
    while index < last and compare(notional_units, notional_places, pairs[index][0], pairs[index][1]) > 0:
        index += 1
    tier = tiers[index]
    bound_units, bound_places, max_units, max_places, mmr_units, mmr_places, cum_units, cum_places = pairs[index]
    leverage = position.leverage
    if leverage is None or leverage > tier.max_leverage:
        leverage = tier.max_leverage
        leverage_units, leverage_places = max_units, max_places
    else:
        leverage_units, leverage_places = split_shared(leverage)
    pnl_units, pnl_places = add(size_units * mark_units, notional_places, -position.cost_units, position.cost_places)
    maintenance_units, maintenance_places = add(notional_units * mmr_units, notional_places + mmr_places,
                                                -cum_units, cum_places)
    return PositionFigures(
        pair_to_units(notional_units, notional_places, decimals, Figure.NOTIONAL),
        pair_to_units(pnl_units, pnl_places, decimals, Figure.UNREALIZED_PNL),
        pair_quotient_to_units(notional_units, notional_places, leverage_units, leverage_places, decimals,
                               Figure.INITIAL_MARGIN),
        pair_to_units(maintenance_units, maintenance_places, decimals, Figure.MAINTENANCE_MARGIN),
        leverage,
        index,
    )


class RiskFigures(Value):
    """The figures of one risk unit (an account's cross part, or one isolated position),
    in quantums of the value currency."""

    __slots__ = (
        "equity", "equity_maint", "equity_init", "initial_margin", "maintenance_margin", "assets", "liabilities",
        "at_risk",
    )
    _fields = (
        "equity", "equity_maint", "equity_init", "initial_margin", "maintenance_margin", "assets", "liabilities",
        "at_risk",
    )

    def __init__(
        self,
        equity: int,
        equity_maint: int,
        equity_init: int,
        initial_margin: int,
        maintenance_margin: int,
        assets: int,
        liabilities: int,
        at_risk: bool,
    ) -> None:
        self.equity: Final = equity
        self.equity_maint: Final = equity_maint
        self.equity_init: Final = equity_init
        self.initial_margin: Final = initial_margin
        self.maintenance_margin: Final = maintenance_margin
        self.assets: Final = assets  # A of the health factor
        self.liabilities: Final = liabilities  # L of the health factor
        self.at_risk: Final = at_risk  # holds a position or a negative balance

    @property
    def health(self) -> int:
        return self.equity_maint - self.maintenance_margin

    @property
    def free_collateral(self) -> int:
        return self.equity_init - self.initial_margin

    @property
    def liquidatable(self) -> bool:
        """health < 0 while holding something that can be liquidated; health = 0 is safe."""
        return self.at_risk and self.equity_maint < self.maintenance_margin

    def margin_ratio(self) -> Decimal | None:
        """Σ maintenance_margin / equity_maint; None where equity_maint <= 0."""
        if self.equity_maint <= 0:
            return None
        return ARITHMETIC.divide(Decimal(self.maintenance_margin), Decimal(self.equity_maint))

    def health_factor(self) -> Decimal | None:
        """A / L; None where nothing is owed (L = 0)."""
        if self.liabilities == 0:
            return None
        return ARITHMETIC.divide(Decimal(self.assets), Decimal(self.liabilities))


def balance_terms(balances: Mapping[str, int], book: Book) -> tuple[int, int, int, int, int, bool]:
    """The balances' part of the cross figures: (equity, equity_maint, equity_init, A, L,
    holds a debt), each term rounded as the table says (see the module).

    An asset whose oracle has no price yet counts as worth nothing (a debt in it cannot be
    opened: borrowing needs a price). Uses operators: run in the ARITHMETIC context."""
    decimals = book.params.value_decimals
    equity = equity_maint = equity_init = 0
    assets = liabilities = 0
    in_debt = False
    specs = book.assets
    for asset, units in balances.items():
        spec = specs[asset]
        if spec.oracle is None and spec.decimals <= decimals and units >= 0 and spec.weight_maint == ONE \
                and spec.weight_init == ONE:
            # a quote asset held at weight 1 (the common collateral): its value in quantums is
            # an integer already, units × 10^(value_decimals − decimals), which no rounding moves
            value = units * _INT_SCALES[decimals - spec.decimals]
            equity += value
            equity_maint += value
            equity_init += value
            assets += value
            continue
        if spec.oracle is None:
            # value in quantums of the value currency: units × 10^-d × price × 10^decimals
            base = Decimal(units) * scale_between(spec.decimals, decimals)
        else:
            price = book.asset_price(asset)
            if price is None:
                continue
            base = Decimal(units) * price * scale_between(spec.decimals, decimals)
        value = _value_units(base)
        if units >= 0:
            maint = _value_units(base * spec.weight_maint)
            init = _value_units(base * spec.weight_init)
            assets += maint
        else:
            in_debt = True
            maint = _value_units(base * spec.debt_weight_maint)
            init = _value_units(base * spec.debt_weight_init)
            liabilities -= maint
        equity += value
        equity_maint += maint
        equity_init += init
    return equity, equity_maint, equity_init, assets, liabilities, in_debt


def cross_figures(
    balances: Mapping[str, int],
    positions: Iterable[Position],
    book: Book,
    detail: list | None = None,
) -> RiskFigures:
    """The cross part of an account: its balances and its cross positions.

    If `detail` is given, (position, PositionFigures) of every position is appended to it.
    This is the hottest exact function of the engine: it runs for both sides of every trade.
    It uses operators, so it must run inside the engine's arithmetic context
    (`solvent.domain.numbers.ARITHMETIC`), as every engine entry point does.
    """
    decimals = book.params.value_decimals
    equity, equity_maint, equity_init, assets, liabilities, at_risk = balance_terms(balances, book)
    initial = maintenance = 0
    markets = book.markets
    prices = book.prices
    for position in positions:
        market = markets[position.market]
        figures = position_figures(position, market, prices[market.oracle], decimals)
        if detail is not None:
            detail.append((position, figures))
        pnl = figures.unrealized_pnl
        equity += pnl
        equity_maint += pnl
        equity_init += pnl
        if pnl >= 0:
            assets += pnl
        else:
            liabilities -= pnl
        initial += figures.initial_margin
        maintenance += figures.maintenance_margin
        at_risk = True
    liabilities += maintenance
    return RiskFigures(equity, equity_maint, equity_init, initial, maintenance, assets, liabilities, at_risk)


class FigureCache:
    """The figures of an account's cross positions at the current marks, and their sums,
    kept between commands for an account holding many positions (a market maker): a trade
    then re-values the position it changed, not every position the account holds.

    Its owner marks a market *dirty* whenever what the market's figures depend on may have
    changed — the position (`EngineState.set_position`) or the mark (a price of the
    market's oracle) — and drops the whole cache when a spec or a parameter changes.
    `refresh` recomputes the dirty markets; the sums are integers, so adding and taking
    away figures keeps them exact, and they always equal the sums over `entries`.

    A trade values the position it would leave before posting it (`account_cross_figures`
    with `replaced`); those figures are kept as `pending`, and `refresh` takes them instead
    of valuing the posted position again when it is that very position object at that very
    mark object (so: the same command, nothing moved in between)."""

    __slots__ = ("entries", "dirty", "changed", "pnl", "gains", "losses", "initial", "maintenance", "pending")

    def __init__(self, markets: Iterable[str] = ()) -> None:
        #: market -> (the cross position, its figures at the current mark)
        self.entries: dict[str, tuple[Position, PositionFigures]] = {}
        self.dirty: set[str] = set(markets)
        #: markets recomputed since the last `take_changed` (the risk monitor's legs follow them)
        self.changed: set[str] = set()
        self.pnl = 0  # Σ unrealized_pnl
        self.gains = 0  # Σ positive unrealized_pnl (part of A)
        self.losses = 0  # Σ |negative unrealized_pnl| (part of L)
        self.initial = 0
        self.maintenance = 0
        #: (market, position, mark, its figures) last valued by `_replacement`, or None
        self.pending: tuple[str, Position, Decimal, PositionFigures] | None = None

    def _count(self, figures: PositionFigures, sign: int) -> None:
        """Add (`sign` 1) or take away (-1) one position's figures from the sums (the sums
        of a market maker pass 2**62: no multiplication by the sign, a big-int operation)."""
        pnl = figures.unrealized_pnl
        if sign > 0:
            self.pnl += pnl
            if pnl >= 0:
                self.gains += pnl
            else:
                self.losses -= pnl
            self.initial += figures.initial_margin
            self.maintenance += figures.maintenance_margin
        else:
            self.pnl -= pnl
            if pnl >= 0:
                self.gains -= pnl
            else:
                self.losses += pnl
            self.initial -= figures.initial_margin
            self.maintenance -= figures.maintenance_margin

    def refresh(self, positions: Mapping[str, Position], book: Book) -> None:
        """Recompute the figures of every dirty market from the account's `positions`."""
        if not self.dirty:
            return
        decimals = book.params.value_decimals
        for market in sorted(self.dirty):
            old = self.entries.pop(market, None)
            if old is not None:
                self._count(old[1], -1)
            position = positions.get(market)
            if position is not None and not position.isolated:
                spec = book.markets[market]
                mark = book.prices[spec.oracle]
                pending = self.pending
                if pending is not None and pending[1] is position and pending[2] is mark and pending[0] == market:
                    figures = pending[3]
                else:
                    figures = position_figures(position, spec, mark, decimals)
                self.entries[market] = (position, figures)
                self._count(figures, 1)
        self.pending = None
        self.changed |= self.dirty
        self.dirty.clear()

    def take_changed(self) -> set[str]:
        """The markets recomputed since the last call (and forget them)."""
        changed, self.changed = self.changed, set()
        return changed


def account_cross_figures(
    balances: Mapping[str, int],
    positions: Mapping[str, Position],
    book: Book,
    cache: FigureCache | None = None,
    replaced: tuple[str, Position | None] | None = None,
    detail: list | None = None,
) -> RiskFigures:
    """The cross figures of an account holding `positions` (market -> position, isolated
    ones left out), with the position in one market `replaced` if given (None: closed or
    moved to isolated) — the figures a trade would leave.

    With a `cache` (see `FigureCache`) only what changed is re-valued and `detail` is left
    empty (the cache's entries are the detail); without one, every position is valued and
    (position, PositionFigures) of each appended to `detail`."""
    if cache is None:
        if replaced is None:
            chosen = [p for p in positions.values() if not p.isolated]
        else:
            market, replacement = replaced
            chosen = [p for m, p in positions.items() if not p.isolated and m != market]
            if replacement is not None and not replacement.isolated:
                chosen.append(replacement)
        return cross_figures(balances, chosen, book, detail)
    cache.refresh(positions, book)
    pnl, gains, losses = cache.pnl, cache.gains, cache.losses
    initial, maintenance = cache.initial, cache.maintenance
    count = len(cache.entries)
    if replaced is not None:
        market, replacement = replaced
        for figures, sign in _replacement(cache, market, replacement, book):
            value = sign * figures.unrealized_pnl
            pnl += value
            if figures.unrealized_pnl >= 0:
                gains += value
            else:
                losses -= value
            initial += sign * figures.initial_margin
            maintenance += sign * figures.maintenance_margin
            count += sign
    equity, equity_maint, equity_init, assets, liabilities, in_debt = balance_terms(balances, book)
    return RiskFigures(
        equity + pnl, equity_maint + pnl, equity_init + pnl, initial, maintenance,
        assets + gains, liabilities + losses + maintenance, in_debt or count > 0,
    )


def _replacement(cache: FigureCache, market: str, replacement: Position | None,
                 book: Book) -> list[tuple[PositionFigures, int]]:
    """(figures, −1) of the cached position in `market`, (figures, +1) of its replacement."""
    changes = []
    old = cache.entries.get(market)
    if old is not None:
        changes.append((old[1], -1))
    if replacement is not None and not replacement.isolated:
        spec = book.markets[market]
        mark = book.prices[spec.oracle]
        figures = position_figures(replacement, spec, mark, book.params.value_decimals)
        cache.pending = (market, replacement, mark, figures)
        changes.append((figures, 1))
    return changes


def isolated_figures(
    wallet_units: int, settle_decimals: int, position: Position, book: Book, detail: list | None = None
) -> RiskFigures:
    """An isolated position: equity = isolated_margin + unrealized_pnl."""
    decimals = book.params.value_decimals
    spec = book.markets[position.market]
    margin = to_units(Decimal(wallet_units).scaleb(-settle_decimals), decimals, Figure.COLLATERAL_VALUE)
    figures = position_figures(position, spec, book.prices[spec.oracle], decimals)
    if detail is not None:
        detail.append((position, figures))
    equity = margin + figures.unrealized_pnl
    assets = max(margin, 0) + max(figures.unrealized_pnl, 0)
    liabilities = max(-margin, 0) + max(-figures.unrealized_pnl, 0) + figures.maintenance_margin
    return RiskFigures(equity, equity, equity, figures.initial_margin, figures.maintenance_margin, assets, liabilities, True)


def tier_bounds(tiers: tuple[Tier, ...], index: int) -> tuple[Decimal | None, Decimal | None]:
    """Notional range (exclusive low, inclusive high) of tier `index`; None where unbounded."""
    low = tiers[index - 1].max_notional if index > 0 else None
    return low, tiers[index].max_notional
