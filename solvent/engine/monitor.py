"""Keeps every account's risk status current and says when it changes.

After each command the engine asks the monitor to evaluate the accounts the command touched
(exactly, with `solvent.margin`). A price tick goes through the float screen of
`solvent.risk.screen` first; only its candidates are evaluated exactly, except those that
only crossed a tier boundary far from zero, which are carried into the new tier in floats
(`_retier`; docs/ARCHITECTURE.md, "A price tick"), and those whose crossing the floats
prove and that no event is about (`_flipped`: a unit becoming liquidatable or safe again,
a margin call ending). A margin call the floats prove is evaluated for its event only
(`_called`): its row keeps the flip. Evaluation:

* records, per risk unit (an account's cross part, or one isolated position), whether it
  is liquidatable, and for the cross part whether its free collateral is below zero;
* emits `margin_call` when the cross free collateral goes from >= 0 to < 0 — once per
  crossing (an isolated position is watched for its health only);
* re-anchors the unit's row of the screen.

Events of one command come out ordered by (account id, market), whatever the order in which
the screen found them.
"""

from __future__ import annotations

from array import array
from decimal import Decimal
from typing import Final

from ..domain.account import Account
from ..domain.fixed import to_float
from ..domain.ids import is_system
from ..domain.numbers import format_units
from ..domain.position import Position
from ..domain.specs import MarketSpec
from ..domain.values import Value
from ..margin.figures import (
    FigureCache,
    PositionFigures,
    RiskFigures,
    account_cross_figures,
    isolated_figures,
)
from ..risk.screen import (
    FLIP_FREE_NEGATIVE,
    FLIP_HEALTH_NEGATIVE,
    FLIP_NOT_AT_ZERO,
    FLIP_REFUSED,
    FLIP_RETIERED,
    LEVERAGE_BINDS,
    NO_SIZE,
    RELATIVE_BAND,
    Carry,
    HealthScreen,
    TierFloats,
    position_line,
    tier_at,
)
from .state import EngineState

Unit = tuple[str, str]  # (account id, market or "" for the cross part)
_INF = float("inf")
#: the owner of a cross row is its account (the object: a tick's candidates reach it without
#: a lookup by id among a million), of an isolated row its (account id, market) unit, of a
#: released row "" (`RiskMonitor.owners`)
Owner = Account | Unit | str
_RELEASED = ""
_NO_ROWS: Final = array("q", [-1])
#: a long evaluation (a whole book loaded or restored, a configuration change) writes its
#: staged screen rows every this many accounts: a staged row holds its lines as Python
#: tuples (about 0.9 KB an account), a written one only floats in the columns, so a million
#: staged rows would add about 0.9 GB to the peak
FLUSH_EVERY = 4096
#: 10.0 ** -d, one quantum of d decimals as a float (a power computed per trade side cost
#: about 300 instructions)
_QUANTA: Final[list[float]] = [10.0 ** -d for d in range(40)]


def _quantum(decimals: int) -> float:
    """10.0 ** -decimals (from the table when it has it: the same float)."""
    return _QUANTA[decimals] if 0 <= decimals < len(_QUANTA) else 10.0 ** -decimals


class RiskMonitor:
    def __init__(self, state: EngineState, screen: HealthScreen | None = None) -> None:
        self.state = state
        #: the float screen (a subclass may be given to observe it: benchmarks time it)
        self.screen = screen if screen is not None else HealthScreen()
        self.oracle_index: dict[str, int] = {}
        #: the screen row of each account's cross part, by `Account.index` (-1: none): 8
        #: bytes an account in an array (a list would add an int object of 32 bytes per row
        #: number, a second cache miss at every read; a dict keyed by (account, "") took about
        #: 100 with its key)
        self.cross_rows = array("q")
        #: the screen row of each isolated position's unit (account, market)
        self.isolated_rows: dict[Unit, int] = {}
        #: row -> its owner (`Owner`; "" for a released row, never a candidate), a list
        #: indexed by row
        self.owners: list[Owner] = []
        self.liquidatable: set[Unit] = set()
        self.margin_called: set[Unit] = set()
        self.isolated_units: dict[str, set[str]] = {}
        self._floats: dict[str, tuple[int, list[TierFloats]]] = {}
        self._quotes: dict[str, tuple[float, float, float] | None] = {}
        self._asset_weights: dict[str, tuple[str, int, float, float, float, float, float] | None] = {}
        #: per account with a figure cache (state.figure_caches): its positions' lines
        self._line_caches: dict[str, _PositionLines] = {}
        #: candidate rows carried across a tier boundary in floats (`_retier`), not evaluated
        self.retiered = 0
        #: candidate rows whose crossing the floats proved (`_flipped`), not evaluated
        self.flipped = 0
        #: margin calls the floats proved (`_called`): evaluated for their event, not re-anchored
        self.calls_flipped = 0

    # -- oracles --------------------------------------------------------------------------
    def register_oracle(self, oracle: str) -> None:
        if oracle not in self.oracle_index:
            self.oracle_index[oracle] = self.screen.add_oracle()

    def price_changed(self, oracle: str, first: bool, seq: int, events: list[dict]) -> None:
        price = float(self.state.book.prices[oracle])
        index = self.oracle_index[oracle]
        if first:
            # Nothing was valued at this oracle before: every holder of it changes.
            self.screen.set_price(index, price)
            self.evaluate_all(seq, events)
            return
        previous = self.screen.prices[index]
        rows = self.screen.tick(index, price)
        if len(rows):
            owners = self.owners
            accounts = self.state.accounts
            called: dict[str, tuple[Account, int]] = {}  # margin calls the floats proved: id -> (account, answer)
            exact: dict[str, Account] = {}  # by id, for the order of the events
            for row in self._exact_candidates(rows, oracle, index, previous, called):
                owner = owners[row]
                if isinstance(owner, Account):
                    exact[owner.id] = owner
                elif isinstance(owner, tuple) and owner[0] in accounts:
                    exact[owner[0]] = accounts[owner[0]]
            for account_id, (account, _) in called.items():
                exact.setdefault(account_id, account)
            flush = self.screen.flush
            for count, account_id in enumerate(sorted(exact), 1):  # (flushed as `evaluate_all` flushes)
                proved = called.get(account_id)
                if proved is None or not self._called(proved[0], proved[1], seq, events):
                    self.evaluate_account(exact[account_id], seq, events, None, None, True)
                if not count % FLUSH_EVERY:
                    flush()

    def _exact_candidates(self, rows, oracle: str, index: int, previous: float,
                          called: dict[str, tuple[Account, int]]) -> list[int]:
        """The candidate rows of a tick of `oracle` (its index `index`; from `previous`) that need an
        exact evaluation: those at or below zero whose crossing the screen cannot flip in
        floats, and those off a tier interval that `_retier` cannot carry across the
        boundary. A cross part whose fall below zero free collateral the floats proved is
        flipped on the screen and added to `called` (account id -> the account, the flip's
        answer): its margin call is owed an event with the exact figures (`_called`), not a
        re-anchored row."""
        owners = self.owners
        candidates: list[int] = rows.tolist()  # (2,449 rows: 35 µs; int() of each took 480)
        units = [owners[row] for row in candidates]
        # flips and tier crossings all at once (`HealthScreen.flip_rows`); where the oracle
        # has one market, a row whose line there is one cross position's leg is carried
        # across its tiers by the screen itself
        markets = self.state.oracle_markets.get(oracle, ())
        carry: Carry | None = (index, previous, self._market_floats(markets[0])[1]) if len(markets) == 1 else None
        answers = self.screen.flip_rows(candidates, b"\x01" * len(candidates), carry)
        margin_called = self.margin_called
        exact = []
        for row, owner, answer in zip(candidates, units, answers):
            if answer > 0 and answer & FLIP_FREE_NEGATIVE and isinstance(owner, Account) \
                    and (owner.id, "") not in margin_called:
                called[owner.id] = (owner, answer)
                continue
            if answer == FLIP_RETIERED:
                self.retiered += 1
            elif answer == FLIP_NOT_AT_ZERO:  # off a tier interval only, left to the account's objects
                if not isinstance(owner, Account) or not self._retier(owner, row, oracle, index, previous):
                    exact.append(row)
                else:
                    self.retiered += 1
            elif answer == FLIP_REFUSED:
                exact.append(row)
            else:
                self._flipped(owner, answer)
        return exact

    def _flipped(self, owner: Owner, flipped: int) -> None:
        """Record a crossing the floats proved (`HealthScreen.flip`; `flipped` its answer)
        without an exact evaluation: the row took its figures' new signs, and the unit's
        statuses follow them (liquidatable: health < 0; margin called: free collateral < 0).
        A fall of a cross part's free collateral below zero comes here only for a unit
        already margin called (no new call); any other is a margin call, whose event carries
        the exact figures (`_called`)."""
        cross = isinstance(owner, Account)
        unit: Unit = (owner.id, "") if isinstance(owner, Account) else (owner[0], owner[1])
        if flipped & FLIP_HEALTH_NEGATIVE:
            self.liquidatable.add(unit)
        else:
            self.liquidatable.discard(unit)
        if cross and not flipped & FLIP_FREE_NEGATIVE:
            self.margin_called.discard(unit)
        self.flipped += 1

    def _called(self, account: Account, flipped: int, seq: int, events: list[dict]) -> bool:
        """A cross part whose fall below zero free collateral the floats proved (the screen
        flipped its row: `flipped` is the answer): its exact figures decide and carry the
        margin call (`_record`), and the row keeps what the flip wrote (the same estimate
        as anchoring it with the new signs would: no re-anchoring). False, nothing done,
        where the account has isolated positions (they are evaluated with it) or the exact
        signs are not the flip's (never, the band holds; evaluate the account then)."""
        state = self.state
        account_id = account.id
        if account_id in self.isolated_units:
            return False
        figures = account_cross_figures(state.ledger.balances(account_id), account.positions, state.book,
                                        state.figure_cache(account))
        if (figures.health < 0) != bool(flipped & FLIP_HEALTH_NEGATIVE) or figures.free_collateral >= 0 \
                or not figures.at_risk:
            return False
        self._record((account_id, ""), figures, seq, events)
        self.calls_flipped += 1
        return True

    def _retier(self, account: Account, row: int, oracle: str, index: int, previous: float) -> bool:
        """Carry a cross row whose line in `oracle` (index `index`) left its tier interval, with both
        figures provably away from zero, into the new tier without an exact evaluation
        (`HealthScreen.retier`). Only the simple case: the line is one cross position's leg
        (no other market or priced balance of the account on that oracle) and floats can
        tell the position's tier at both prices (its notional not within 1e-9 of a
        boundary). Returns whether the row was carried. (The screen carries the rows whose
        line says which position it is itself, `HealthScreen.carry`: this is for the rest,
        an oracle with several markets or a leverage chosen below a tier's maximum.)"""
        state = self.state
        account_id = account.id
        held = None
        held_tiers: list[TierFloats] = []
        markets = state.oracle_markets.get(oracle, ())
        if len(markets) == 1:  # (the common case: one market on the oracle, looked up, not searched for)
            held = account.positions.get(markets[0])
            if held is None or held.isolated:
                return False
            held_tiers = self._market_floats(markets[0])[1]
        else:
            for market, position in account.positions.items():
                if position.isolated:
                    continue
                market_oracle, tiers = self._market_floats(market)
                if market_oracle == index:
                    if held is not None:
                        return False
                    held, held_tiers = position, tiers
            if held is None:
                return False
        ledger = state.ledger
        for asset in state.oracle_assets.get(oracle, ()):
            if ledger.balance(account_id, asset):
                return False
        size = to_float(held.size_units, held.size_places)
        magnitude = size if size > 0 else -size
        old = tier_at(held_tiers, magnitude * previous)
        new = tier_at(held_tiers, magnitude * self.screen.prices[index])
        if old is None or new is None or old == new:
            return False
        mmr, low, high, max_leverage, max_leverage_float, cum = held_tiers[new]
        chosen = held.leverage
        leverage = max_leverage_float if chosen is None or chosen > max_leverage else float(chosen)
        line = position_line(index, size, mmr, low, high, leverage, _size_fact(size, chosen, held_tiers))
        return self.screen.retier(row, index, line, cum - held_tiers[old][5])

    # -- evaluation -----------------------------------------------------------------------
    def evaluate_all(self, seq: int, events: list[dict]) -> None:
        """Evaluate every account in order of id (`evaluate_account`). The screen rows they
        stage are written every FLUSH_EVERY accounts; the rest wait for the next flush, as
        always."""
        accounts = self.state.accounts
        flush = self.screen.flush
        for count, account_id in enumerate(sorted(accounts), 1):
            self.evaluate_account(accounts[account_id], seq, events)
            if not count % FLUSH_EVERY:
                flush()

    def evaluate(
        self, account_id: str, seq: int, events: list[dict], figures: RiskFigures | None = None,
        detail: list | None = None, lines_kept: bool = False,
    ) -> None:
        """Evaluate one account exactly; update statuses, the screen and emit crossings.

        `figures` and `detail` may be passed when the caller has just computed the account's
        cross figures for exactly the current state (a trade plans them before posting).
        `lines_kept`: nothing the account's screen lines depend on has changed since they
        were written (a price tick's candidates), so its cross row is re-anchored over the
        lines it has (`HealthScreen.reset`) where they all still hold, not rebuilt."""
        account = self.state.accounts.get(account_id)
        if account is not None:
            self.evaluate_account(account, seq, events, figures, detail, lines_kept)

    def evaluate_account(
        self, account: Account, seq: int, events: list[dict], figures: RiskFigures | None = None,
        detail: list | None = None, lines_kept: bool = False,
    ) -> None:
        """`evaluate` of an account at hand (a system account is not evaluated)."""
        state = self.state
        account_id = account.id
        if is_system(account_id):
            return
        balances = state.ledger.balances(account_id)  # (a new dict, built once for both)
        if figures is None or detail is None:
            detail = []
            figures = account_cross_figures(balances, account.positions, state.book, state.figure_cache(account),
                                            None, detail)
        self._record((account_id, ""), figures, seq, events)
        if not (lines_kept and self._reset_cross(account, figures, len(balances) + 2 * len(detail))):
            self._anchor_cross(account, figures, detail, balances)
        isolated = state.isolated_positions(account)
        if not isolated and account_id not in self.isolated_units:
            return
        live = set()
        for position in isolated:
            market = position.market
            live.add(market)
            spec = state.book.markets[market]
            wallet = state.wallet_units(account_id, market)
            iso_detail: list[tuple] = []
            iso = isolated_figures(wallet, state.book.assets[spec.settle].decimals, position, state.book, iso_detail)
            unit = (account_id, market)
            self._record(unit, iso, seq, events)
            self._anchor_isolated(unit, iso, iso_detail)
        for market in self.isolated_units.get(account_id, set()) - live:
            self.forget((account_id, market))
        if live:
            self.isolated_units[account_id] = live
        else:
            self.isolated_units.pop(account_id, None)

    # -- a trade side judged on the screen -----------------------------------------------
    def screen_side(self, account: Account, spec: MarketSpec, current: Position | None, new: Position | None,
                    settle_delta: int) -> ScreenedSide | None:
        """The account's cross figures after a trade side that replaces its cross position
        in `spec` (`current` -> `new`) and moves its balance of the settle asset by
        `settle_delta` quantums, estimated without valuing the whole account: the row's
        estimates (within its band of the exact figures) plus the change of the terms the
        side touches — the traded position's (PnL, margin requirement) and the settle
        balance's — computed in floats. Every other term is the same number before and
        after. The change of the exact figures differs from the float one by the rounding of
        the six terms (a quantum each at most) and float error: both are in `carried`.

        None where the estimate cannot decide: no written row with both figures provably
        positive, a settle asset with an oracle, a settle balance below zero before or after
        (its weights would change), a notional too close to a tier boundary for floats to
        place, an account with a figure cache (its exact figures are cheap already) or one
        left holding nothing."""
        state = self.state
        if account.id in state.figure_caches or (new is None and len(account.positions) == 1):
            return None
        row = self._cross_row(account)
        if row < 0:
            return None
        found = self.screen.settled(row)
        if found is None:
            return None
        settle = self._quote_floats(spec.settle)
        if settle is None:
            return None
        balance = state.ledger.balance(account.id, spec.settle)
        if balance < 0 or balance + settle_delta < 0:
            return None
        unit_value, weight_maint, weight_init = settle
        moved = settle_delta * unit_value
        d_health, d_free = moved * weight_maint, moved * weight_init
        size = abs(moved)
        oracle, tiers = self._market_floats(spec.id)
        mark = float(self.screen.prices[oracle])
        leg = None
        for position, sign in ((current, -1.0), (new, 1.0)):
            if position is None:
                continue
            valued = _float_position(position, oracle, tiers, mark)
            if valued is None:
                return None
            health_part, free_part, magnitude, leg = valued
            d_health += sign * health_part
            d_free += sign * free_part
            size += magnitude
        if new is None:
            leg = None
        health, free, band = found
        health += d_health
        free += d_free
        quantum = _quantum(state.book.params.value_decimals)
        # float error is a few ulps of the magnitudes: RELATIVE_BAND of them is far more
        carried = band + 6 * quantum + RELATIVE_BAND * (size + abs(health) + abs(free))
        return ScreenedSide(row, spec.id, oracle, leg, health, free, carried)

    def restate_side(self, account: Account, side: ScreenedSide, seq: int, events: list[dict]) -> None:
        """After a side judged by `screen_side` is posted: rewrite the account's row (its
        line in the traded market's oracle rebuilt from what it holds there now) if both
        figures stay provably positive — their statuses did not change, so there is nothing
        to record or emit — and otherwise evaluate the account exactly."""
        state = self.state
        oracle = side.oracle
        lines: dict[int, list] = {}
        if side.leg is not None:
            lines[oracle] = list(side.leg)
        for market, position in account.positions.items():
            if market == side.market or position.isolated:
                continue
            other, tiers = self._market_floats(market)
            if other == oracle:  # another market on the same oracle: its leg too
                valued = _float_position(position, oracle, tiers, float(self.screen.prices[oracle]))
                if valued is None:
                    self.evaluate(account.id, seq, events)
                    return
                _merge_leg(lines, valued[3])
        balances = state.ledger.balances(account.id)
        on_oracle = {}
        for asset, units in balances.items():
            weights = self._asset_floats(asset)
            if weights is not None and weights[1] == oracle:
                on_oracle[asset] = units
        if on_oracle:
            self._add_balances(lines, on_oracle, shared=False)
        terms = len(balances) + 2 * len(account.positions)
        quantum = _quantum(state.book.params.value_decimals)
        if not self.screen.restate(side.row, oracle, lines.get(oracle), side.health, side.free, side.carried,
                                   terms, quantum):
            self.evaluate(account.id, seq, events)

    def quote_balance_moves(self, asset: str, changes: list[tuple[Unit, int]]) -> set[str]:
        """Units whose balance of the quote asset `asset` (priced 1) moved by known quantums,
        already posted (funding, a socialized haircut): shift their screen rows by the
        weighted change instead of evaluating them. Returns the accounts to evaluate exactly:
        those the screen flags, and cross parts whose balance changed sign (their weight
        changed)."""
        state = self.state
        spec = state.book.assets[asset]
        unit_value = _quantum(spec.decimals)
        weights = {  # (maintenance, initial) weight of a balance by its sign
            False: (float(spec.weight_maint), float(spec.weight_init)),
            True: (float(spec.debt_weight_maint), float(spec.debt_weight_init)),
        }
        balance = state.ledger.balance
        shifts = []
        exact = set()
        for unit, units in changes:
            row = self.row_of(unit)
            value = units * unit_value
            if unit[1]:  # an isolated wallet: weight 1
                if row is not None:
                    shifts.append((row, value, value))
                continue
            new = balance(unit[0], asset)
            negative = new < 0
            if (new - units < 0) != negative:
                exact.add(unit[0])
            elif row is not None:
                w_maint, w_init = weights[negative]
                shifts.append((row, value * w_maint, value * w_init))
        return {self.account_of(row) for row in self.screen.shift(shifts)} | exact

    def forget(self, unit: Unit) -> None:
        row = self.row_of(unit)
        if row is not None:
            if unit[1]:
                del self.isolated_rows[unit]
            else:
                self.cross_rows[self.state.accounts[unit[0]].index] = -1
            self.owners[row] = _RELEASED
            self.screen.release_row(row)
        self.liquidatable.discard(unit)
        self.margin_called.discard(unit)

    def _record(self, unit: Unit, figures: RiskFigures, seq: int, events: list[dict]) -> None:
        if figures.liquidatable:
            self.liquidatable.add(unit)
        else:
            self.liquidatable.discard(unit)
        if unit[1]:
            return  # margin calls are about the account's (cross) free collateral
        if figures.free_collateral < 0 and figures.at_risk:
            if unit not in self.margin_called:
                self.margin_called.add(unit)
                decimals = self.state.book.params.value_decimals
                events.append({
                    "event": "margin_call",
                    "seq": seq,
                    "account": unit[0],
                    "health": format_units(figures.health, decimals),
                    "free_collateral": format_units(figures.free_collateral, decimals),
                })
        else:
            self.margin_called.discard(unit)

    # -- screen rows ----------------------------------------------------------------------
    def row_of(self, unit: Unit) -> int | None:
        """The screen row of `unit`, None if it has none."""
        if unit[1]:
            return self.isolated_rows.get(unit)
        account = self.state.accounts.get(unit[0])
        if account is None:
            return None
        row = self._cross_row(account)
        return row if row >= 0 else None

    def _cross_row(self, account: Account) -> int:
        """The screen row of `account`'s cross part, -1 if it has none."""
        index = account.index
        if 0 <= index < len(self.cross_rows):
            row: int = self.cross_rows[index]
            return row
        return -1

    def account_of(self, row: int) -> str:
        """The id of the account `row` belongs to ("" for a released row)."""
        owner = self.owners[row]
        if isinstance(owner, Account):
            return owner.id
        return owner if isinstance(owner, str) else owner[0]

    def unit_rows(self) -> list[tuple[Unit, int]]:
        """(unit, row) of every unit with a row (tests and diagnostics)."""
        found: list[tuple[Unit, int]] = [((owner.id, ""), row) for row, owner in enumerate(self.owners)
                                         if isinstance(owner, Account)]
        return found + list(self.isolated_rows.items())

    def _row(self, unit: Unit) -> int:
        row = self.row_of(unit)
        if row is not None:
            return row
        row = self.screen.new_row()
        owners = self.owners
        if row >= len(owners):
            owners.extend([_RELEASED] * (row + 1 - len(owners)))
        if unit[1]:
            self.isolated_rows[unit] = row
            owners[row] = unit
        else:
            account = self.state.accounts[unit[0]]
            index = account.index
            cross_rows = self.cross_rows
            if index >= len(cross_rows):
                cross_rows.extend(_NO_ROWS * (index + 1 - len(cross_rows)))
            cross_rows[index] = row
            owners[row] = account
        return row

    def _anchor(self, unit: Unit, figures: RiskFigures, lines: dict[int, list], terms: int,
                listed: list[list] | None = None) -> None:
        """Stage the unit's screen row from its lines ([oracle, health slope, free slope,
        low, high] per oracle; `listed`: the same lines as a list, kept by the caller). An
        isolated position is watched for its health only (no margin call is about it), so
        its free-collateral line repeats its health line."""
        if not figures.at_risk:
            row = self.row_of(unit)
            if row is not None:
                self.screen.clear(row)
            return
        quantum = _quantum(self.state.book.params.value_decimals)
        rows = listed if listed is not None else list(lines.values())
        if unit[1]:
            for line in rows:
                line[2] = line[1]
                line[5] = NO_SIZE  # (not a cross position's leg: never carried by the screen)
            free = figures.health
        else:
            free = figures.free_collateral
        self.screen.anchor(
            self._row(unit), figures.health * quantum, free * quantum, figures.health < 0, free < 0, rows, terms, quantum
        )

    def _reset_cross(self, account: Account, figures: RiskFigures, terms: int) -> bool:
        """Re-anchor the account's written cross row from its exact `figures` over the lines
        it has (`HealthScreen.reset`); False where that cannot be done (no row, nothing at
        risk, a figure cache's lines, a line off its interval): anchor it instead."""
        if not figures.at_risk or account.id in self.state.figure_caches:
            return False
        row = self._cross_row(account)
        if row < 0:
            return False
        quantum = _quantum(self.state.book.params.value_decimals)
        health, free = figures.health, figures.free_collateral
        return self.screen.reset(row, health * quantum, free * quantum, health < 0, free < 0, terms, quantum)

    def _anchor_cross(self, account: Account, figures: RiskFigures, detail: list[tuple],
                      balances: dict[str, int]) -> None:
        cache = self.state.figure_caches.get(account.id)
        listed = None
        if cache is not None:  # many positions: their lines are kept, and follow the cache
            cache.refresh(account.positions, self.state.book)
            kept = self._position_lines(account.id, cache)
            lines = kept.lines
            terms = len(balances) + 2 * len(cache.entries)
            if any(self._asset_floats(asset) is not None for asset in balances):
                lines = dict(lines)  # (the kept ones stay as they are: copied before a balance is added)
                self._add_balances(lines, balances, shared=True)
            else:
                listed = kept.listed()  # (not copied: a maker's 200 lines, at every trade)
        else:
            self._line_caches.pop(account.id, None)
            lines = {}
            for position, pf in detail:
                _merge_leg(lines, self._leg(position, pf), owned=True)
            terms = len(balances) + 2 * len(detail)
            self._add_balances(lines, balances, shared=False)
        self._anchor((account.id, ""), figures, lines, terms, listed)

    def _add_balances(self, lines: dict[int, list], balances: dict[str, int], shared: bool) -> None:
        """Add the priced balances' parts to the lines (value × weight per unit of price).
        With `shared`, the lines already there are kept ones: copied before they change."""
        book = self.state.book
        prices = book.prices
        rates = book.exchange_rates
        copied: set[int] = set()
        for asset, units in balances.items():
            weights = self._asset_floats(asset)
            if weights is None:
                continue  # a quote asset: its value does not move with any price
            oracle, oracle_index, unit_value, w_maint, w_init, debt_maint, debt_init = weights
            if oracle not in prices:
                continue
            amount = units * unit_value
            rate = rates.get(asset)
            if rate is not None:
                amount *= float(rate)
            line = lines.get(oracle_index)
            if line is None:
                line = lines[oracle_index] = [oracle_index, 0.0, 0.0, 0.0, _INF, NO_SIZE]
                copied.add(oracle_index)
            elif shared and oracle_index not in copied:
                line = lines[oracle_index] = list(line)
                copied.add(oracle_index)
            line[5] = NO_SIZE  # (a balance's part: no longer one position's leg)
            if units >= 0:
                line[1] += amount * w_maint
                line[2] += amount * w_init
            else:
                line[1] += amount * debt_maint
                line[2] += amount * debt_init

    def _position_lines(self, account_id: str, cache: FigureCache) -> _PositionLines:
        """The lines of the account's cross positions (`lines`: oracle index -> line), brought
        up to date for the markets the cache recomputed since: their legs are rebuilt, and the
        lines of the oracles they touch re-merged. A line, once handed out, never changes."""
        kept = self._line_caches.get(account_id)
        if kept is None or kept.source is not cache:  # new, or the cache was replaced
            kept = self._line_caches[account_id] = _PositionLines(cache)
            cache.take_changed()
            changed = set(cache.entries)
        else:
            changed = cache.take_changed()
        if not changed:
            return kept
        touched = set()
        for market in changed:
            old = kept.legs.pop(market, None)
            if old is not None:
                touched.add(old[0])
                kept.by_oracle[old[0]].remove(market)
            entry = cache.entries.get(market)
            if entry is not None:
                leg = self._leg(entry[0], entry[1])  # (not *entry: compiled, a generic call)
                kept.legs[market] = leg
                kept.by_oracle.setdefault(leg[0], []).append(market)
                touched.add(leg[0])
        for oracle in touched:
            markets = kept.by_oracle.get(oracle)
            if not markets:
                kept.by_oracle.pop(oracle, None)
                kept.lines.pop(oracle, None)
                kept.rows = None
                continue
            merged: dict[int, list] = {}
            for market in sorted(markets):
                _merge_leg(merged, kept.legs[market])
            line = merged[oracle]
            if kept.rows is not None and oracle in kept.lines:
                kept.rows[kept.places[oracle]] = line  # (same place: the dict keeps its order)
            else:
                kept.rows = None
            kept.lines[oracle] = line
        return kept

    def _anchor_isolated(self, unit: Unit, figures: RiskFigures, detail: list[tuple]) -> None:
        lines: dict[int, list] = {}
        for position, pf in detail:
            _merge_leg(lines, self._leg(position, pf), owned=True)
        self._anchor(unit, figures, lines, 3)

    def _leg(self, position: Position, pf: PositionFigures) -> list:
        """A position's part of its oracle's line, [oracle, health slope, free slope, low,
        high]: health moves by q − |q| × mmr per unit of price, free collateral by
        q − |q| / leverage, while the price stays in (low, high] (the notional inside its
        tier)."""
        oracle, tiers = self._market_floats(position.market)
        mmr, low, high, max_leverage, max_leverage_float, _ = tiers[pf.tier]
        leverage = max_leverage_float if pf.leverage is max_leverage else float(pf.leverage)
        size = to_float(position.size_units, position.size_places)
        return position_line(oracle, size, mmr, low, high, leverage, _size_fact(size, position.leverage, tiers))

    def _asset_floats(self, asset: str) -> tuple[str, int, float, float, float, float, float] | None:
        """(oracle, oracle index, value of one quantum, weight_maint, weight_init,
        debt_weight_maint, debt_weight_init) as floats, cached; None for a quote asset."""
        if asset in self._asset_weights:
            return self._asset_weights[asset]
        spec = self.state.book.assets[asset]
        cached = None
        if spec.oracle is not None:
            cached = (spec.oracle, self.oracle_index[spec.oracle], 10.0 ** -spec.decimals,
                      float(spec.weight_maint), float(spec.weight_init),
                      float(spec.debt_weight_maint), float(spec.debt_weight_init))
        self._asset_weights[asset] = cached
        return cached

    def _quote_floats(self, asset: str) -> tuple[float, float, float] | None:
        """(value of one quantum, weight_maint, weight_init) of a quote asset (no oracle) as
        floats, cached; None for an asset with an oracle."""
        cached = self._quotes.get(asset, False)
        if cached is False:
            spec = self.state.book.assets[asset]
            cached = None
            if spec.oracle is None:
                cached = (10.0 ** -spec.decimals, float(spec.weight_maint), float(spec.weight_init))
            self._quotes[asset] = cached
        return cached  # type: ignore[return-value]

    def _market_floats(self, market: str) -> tuple[int, list[TierFloats]]:
        """(oracle index, [(mmr, notional low, notional high, max leverage, its float, cum)]
        per tier) as floats, cached."""
        cached = self._floats.get(market)
        if cached is None:
            spec = self.state.book.markets[market]
            tiers = []
            low = 0.0
            for tier in spec.tiers:
                high = float(tier.max_notional) if tier.max_notional is not None else _INF
                tiers.append((float(tier.mmr), low, high, tier.max_leverage, float(tier.max_leverage), float(tier.cum)))
                low = high
            cached = self._floats[market] = (self.oracle_index[spec.oracle], tiers)
        return cached

    def forget_floats(self) -> None:
        """Call when an asset's or a market's spec changes."""
        self._floats.clear()
        self._asset_weights.clear()
        self._quotes.clear()
        self._line_caches.clear()


class ScreenedSide(Value):
    """A trade side judged on the screen (`RiskMonitor.screen_side`): the account's cross
    health and free collateral after it, estimated, in units of the value currency."""

    __slots__ = ("row", "market", "oracle", "leg", "health", "free", "carried")
    _fields = ("row", "market", "oracle", "leg", "health", "free", "carried")

    def __init__(
        self,
        row: int,
        market: str,
        oracle: int,
        leg: list | None,
        health: float,
        free: float,
        carried: float,
    ) -> None:
        self.row: Final = row
        self.market: Final = market
        self.oracle: Final = oracle  # the market's oracle index
        self.leg: Final = leg  # the traded position's leg after the side (None: closed)
        self.health: Final = health
        self.free: Final = free
        self.carried: Final = carried  # bounds the error of the two estimates

    @property
    def proves_free(self) -> bool:
        """The free collateral after the side is provably above zero."""
        return self.free - self.carried > 0.0


class _PositionLines:
    """For an account with a figure cache (a market maker): its positions' legs and their
    merged lines per oracle, following the cache they were built from (`source`)."""

    __slots__ = ("source", "legs", "by_oracle", "lines", "rows", "places")

    def __init__(self, source: FigureCache) -> None:
        self.source = source
        self.legs: dict[str, list] = {}  # market -> its leg
        self.by_oracle: dict[int, list[str]] = {}  # oracle index -> markets with a leg there
        self.lines: dict[int, list] = {}  # oracle index -> the merged line of those legs
        #: `lines`' values as a list (None: to be listed again), and each oracle's place in it.
        #: The list is what the screen stages for the row: it changes in place only when a
        #: line is replaced in an oracle it already had, and the row is then anchored, so
        #: staged, again at once (a staged entry is only read by the next flush)
        self.rows: list[list] | None = None
        self.places: dict[int, int] = {}

    def listed(self) -> list[list]:
        """The lines as a list, in the order of `lines`."""
        if self.rows is None:
            self.rows = list(self.lines.values())
            self.places = {oracle: place for place, oracle in enumerate(self.lines)}
        return self.rows


def _float_position(position: Position, oracle: int, tiers: list[TierFloats], mark: float) -> tuple[float, float, float, list] | None:
    """A cross position at `mark`, in floats: (PnL − maintenance margin, PnL − initial margin,
    a bound on the magnitudes summed, its leg). None when its notional lies within 1e-9 of a
    tier boundary, where floats cannot tell the tier the exact model would pick."""
    size = to_float(position.size_units, position.size_places)
    magnitude = size if size > 0 else -size
    notional = magnitude * mark
    for mmr, low, high, max_leverage, max_leverage_float, cum in tiers:
        if notional <= high:
            break
    if abs(notional - high) <= 1e-9 * notional or abs(notional - low) <= 1e-9 * notional:
        return None
    chosen = position.leverage
    leverage = max_leverage_float if chosen is None or chosen > max_leverage else float(chosen)
    pnl = size * mark - to_float(position.cost_units, position.cost_places)
    leg = position_line(oracle, size, mmr, low, high, leverage, _size_fact(size, chosen, tiers))
    return pnl - (notional * mmr - cum), pnl - notional / leverage, abs(pnl) + 2 * notional, leg


def _size_fact(size: float, chosen: Decimal | None, tiers: list[TierFloats]) -> float:
    """What a cross position's leg tells the screen about it (`solvent.risk.screen.Line`):
    its float size, or LEVERAGE_BINDS where its chosen leverage is below a tier's maximum
    (in every other tier the tier's own maximum applies, as `position_figures` picks it)."""
    if chosen is not None:
        for tier in tiers:
            if chosen < tier[3]:
                return LEVERAGE_BINDS
    return size


def _merge_leg(lines: dict[int, list], leg: list, owned: bool = False) -> None:
    """Add a position's leg to its oracle's line: slopes add up, the price interval is the
    intersection. The leg itself is never changed (it may be cached) unless `owned` (a leg
    just built for this merge, which may become the line itself)."""
    oracle, d_health, d_free, low, high = leg[0], leg[1], leg[2], leg[3], leg[4]
    line = lines.get(oracle)
    if line is None:
        lines[oracle] = leg if owned else list(leg)
        return
    line[1] += d_health
    line[2] += d_free
    line[5] = NO_SIZE  # (two legs: no longer one position's)
    if low > line[3]:
        line[3] = low
    if high < line[4]:
        line[4] = high
