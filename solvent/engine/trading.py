"""trade, order_check, margin_mode, isolated_margin: positions and their margin.

A trade is planned side by side without touching anything: the fill under the cost basis,
the realized PnL legs, the fee, and for an isolated position the margin moved in or out.
A side that increases risk (opens or adds to a position, or flips it) must end with cross
free collateral >= 0; a side that only reduces is never refused. Then both sides post.
Where the risk screen can prove the free collateral after a cross side positive, the side is
judged there without valuing the account (`RiskMonitor.screen_side`; docs/ARCHITECTURE.md,
"A trade side judged on the screen"); otherwise the account is valued exactly. The decision
is the same either way.

Isolated positions (SPEC §2): opening or adding moves margin from the cross balance into
the position's wallet: `max(⌈size added × price / leverage⌉, what brings the position's own
free collateral at the mark to zero)`, and only from a balance that is there. Realized PnL
settles into the wallet. Reducing releases the closed fraction of the wallet, rounded down;
closing releases all of it. A wallet left negative by a close is bad debt for the loss
waterfall (`liquidation.waterfall`): an isolated loss never reaches the cross balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ..domain.account import Account, MarginMode, MarginSetting
from ..domain.commands import IsolatedMargin, OrderCheck, SetMarginMode, Trade
from ..domain.errors import Rejection
from ..domain.ids import FEES, isolated_wallet, pnl_pool
from ..domain.numbers import ARITHMETIC, ZERO, format_exact, format_units
from ..domain.position import FillOutcome, apply_fill
from ..domain.rounding import Figure, to_units, units_to_decimal
from ..domain.specs import MarketSpec
from ..domain.values import Value
from ..ledger import Transfer
from ..margin.figures import RiskFigures, isolated_figures
from ..margin.tiers import effective_leverage, initial_margin, tier_for
from . import checks, oracles
from .context import Step
from .liquidation.waterfall import cover_deficit
from .monitor import RiskMonitor, ScreenedSide
from .pools import sweep_flat_pool
from .state import EngineState


#: Judge a trade side on the risk screen where it can decide (see `plan_side`). Tests turn it
#: off to check that it changes no outcome.
SCREENED_SIDES = True


@dataclass(frozen=True, slots=True)
class IsolatedMoves:
    """Margin an isolated side moves, in settle quantums."""

    margin_in: int = 0  # cross balance → the position's wallet
    margin_out: int = 0  # wallet → cross balance
    deficit: int = 0  # a wallet left below zero by a close: bad debt for the loss waterfall


NO_MOVES = IsolatedMoves()


class SidePlan(Value):
    """One side of a fill, planned (`plan_side`): built for every side, so a `Value`."""

    __slots__ = ("account", "spec", "fill", "fee", "account_leg", "isolated", "moves", "cross", "detail", "screened")
    _fields = ("account", "spec", "fill", "fee", "account_leg", "isolated", "moves", "cross", "detail", "screened")

    def __init__(
        self,
        account: Account,
        spec: MarketSpec,
        fill: FillOutcome,
        fee: int,
        account_leg: int,
        isolated: bool,
        moves: IsolatedMoves,
        cross: RiskFigures | None,
        detail: list,
        screened: ScreenedSide | None = None,
    ) -> None:
        self.account: Final = account
        self.spec: Final = spec
        self.fill: Final = fill
        self.fee: Final = fee
        #: realized PnL credited (settle quantums), rounded down; the pool pays exactly this
        self.account_leg: Final = account_leg
        self.isolated: Final = isolated
        self.moves: Final = moves
        #: the cross figures the account has once the side is posted (None: judged on the screen)
        self.cross: Final = cross
        self.detail: Final = detail  # (position, PositionFigures) of those figures
        self.screened: Final = screened  # the screen's judgement, where it decided

    @property
    def increases_risk(self) -> bool:
        """Opens, adds to or flips a position."""
        return self.fill.opened > 0

    def transfers(self) -> list[Transfer]:
        account = self.account.id
        settle = self.spec.settle
        pool = pnl_pool(self.spec.id)
        target = isolated_wallet(account, self.spec.id) if self.isolated else account
        moves = [Transfer(account, FEES, settle, self.fee)]
        if self.account_leg > 0:
            moves.append(Transfer(pool, target, settle, self.account_leg))
        elif self.account_leg < 0:
            moves.append(Transfer(target, pool, settle, -self.account_leg))
        if self.isolated:
            wallet = isolated_wallet(account, self.spec.id)
            moves.append(Transfer(wallet, account, settle, self.moves.margin_out))
            moves.append(Transfer(account, wallet, settle, self.moves.margin_in))
        return moves


def plan_side(state: EngineState, account: Account, spec: MarketSpec, delta: Decimal, price: Decimal, fee: int,
              monitor: RiskMonitor | None = None) -> SidePlan:
    """Everything one side of a fill would do, computed without changing anything.

    With the risk `monitor` (and `SCREENED_SIDES`), a cross side of an account whose
    figures the screen proves positive is judged there (`RiskMonitor.screen_side`): if its
    free collateral after the side is provably positive, the account is not valued again;
    otherwise, and always without a monitor (an `order_check` reports the exact figure),
    its cross figures are computed exactly."""
    book = state.book
    settle_decimals = book.assets[spec.settle].decimals
    current = account.positions.get(spec.id)
    setting = account.setting(spec.id)
    isolated = current.isolated if current is not None else setting.mode is MarginMode.ISOLATED
    fill = apply_fill(current, spec.id, delta, price, book.params.cost_basis, settle_decimals, isolated, setting.leverage)
    account_leg = fill.realized_units
    deltas = {spec.settle: -fee}
    moves = NO_MOVES
    if isolated:
        moves = _plan_isolated(state, account, spec, fill, account_leg, current.size if current else ZERO, price, settle_decimals)
        deltas[spec.settle] += moves.margin_out - moves.margin_in
        if moves.margin_in and state.ledger.balance(account.id, spec.settle) + deltas[spec.settle] < 0:
            raise Rejection("insufficient_balance", f"{account.id} has too little {spec.settle} to margin the isolated position")
    else:
        deltas[spec.settle] += account_leg
        if monitor is not None and SCREENED_SIDES:
            screened = monitor.screen_side(account, spec, current, fill.position, deltas[spec.settle])
            if screened is not None and screened.proves_free:
                return SidePlan(account, spec, fill, fee, account_leg, isolated, moves, None, [], screened)
    detail: list = []
    cross = checks.cross_after(state, account, deltas, (spec.id, fill.position), detail)
    return SidePlan(account, spec, fill, fee, account_leg, isolated, moves, cross, detail)


def _plan_isolated(
    state: EngineState, account: Account, spec: MarketSpec, fill: FillOutcome, account_leg: int,
    old_size: Decimal, price: Decimal, decimals: int,
) -> IsolatedMoves:
    wallet = state.wallet_units(account.id, spec.id) + account_leg
    margin_in = margin_out = deficit = 0
    if fill.closed:
        if fill.closed == abs(old_size):
            if wallet >= 0:
                margin_out = wallet
            else:
                deficit = -wallet
            wallet = 0
        elif wallet > 0:
            share = ARITHMETIC.divide(ARITHMETIC.multiply(Decimal(wallet), fill.closed), abs(old_size))
            margin_out = int(share.to_integral_value(Figure.ISOLATED_MARGIN_RELEASED))
            wallet -= margin_out
    if fill.opened and fill.position is not None:
        position = fill.position
        mark = checks.mark(state, spec)
        notional_at_mark = ARITHMETIC.multiply(abs(position.size), mark)
        tier = tier_for(spec.tiers, notional_at_mark)
        leverage = effective_leverage(tier, position.leverage)
        added = to_units(ARITHMETIC.divide(ARITHMETIC.multiply(fill.opened, price), leverage), decimals, Figure.ISOLATED_MARGIN_IN)
        shortfall = ARITHMETIC.subtract(
            ARITHMETIC.subtract(initial_margin(notional_at_mark, tier, position.leverage), position.unrealized_pnl(mark)),
            units_to_decimal(wallet, decimals),
        )
        margin_in = max(added, to_units(shortfall, decimals, Figure.ISOLATED_MARGIN_IN), 0)
    return IsolatedMoves(margin_in, margin_out, deficit)


def _check_side(step: Step, plan: SidePlan, role: str) -> None:
    """A side that increases risk needs usable prices for everything its margin check reads
    (the market's oracle and those of its cross balances and positions), then free
    collateral >= 0. A side that only reduces is never refused."""
    if not plan.increases_risk:
        return
    who = f"{role} {plan.account.id}"
    oracles.require_account_usable(step.state, plan.account, step.now, who, plan.spec.id)
    if plan.cross is not None and plan.cross.free_collateral < 0:  # (None: proven positive)
        raise Rejection("insufficient_margin", f"{role} {plan.account.id} would have free collateral below zero")


def _post_side(step: Step, plan: SidePlan) -> None:
    state = step.state
    state.ledger.post(plan.transfers())
    state.set_position(plan.account, plan.spec.id, plan.fill.position)
    settle = plan.spec.settle
    if plan.moves.deficit:
        wallet = isolated_wallet(plan.account.id, plan.spec.id)
        cover_deficit(step, wallet, settle, plan.moves.deficit, plan.account.id, {}, plan.spec.id)


def trade(step: Step, command: Trade) -> None:
    state = step.state
    spec = checks.market(state, command.market)
    if command.buyer == command.seller:
        raise Rejection("self_trade", "buyer and seller are the same account")
    buyer = checks.user_account(state, command.buyer, "buyer")
    seller = checks.user_account(state, command.seller, "seller")
    checks.mark(state, spec)
    checks.on_step(spec, command.size)
    settle = state.book.assets[spec.settle]
    buyer_fee = checks.units(settle, command.buyer_fee, "buyer_fee")
    seller_fee = checks.units(settle, command.seller_fee, "seller_fee")
    buy = plan_side(state, buyer, spec, command.size, command.price, buyer_fee, step.monitor)
    _check_side(step, buy, "buyer")
    sell = plan_side(state, seller, spec, -command.size, command.price, seller_fee, step.monitor)
    _check_side(step, sell, "seller")
    _post_side(step, buy)
    _post_side(step, sell)
    sweep_flat_pool(step, spec)
    # The planned cross figures are the figures of the state just posted: reuse them. A
    # screened side's estimate holds too, unless the loss waterfall ran (an isolated close
    # left bad debt): it may have moved other accounts, so those sides are valued again.
    waterfall = bool(buy.moves.deficit or sell.moves.deficit)
    for plan in sorted((buy, sell), key=lambda p: p.account.id):
        if plan.screened is None:
            step.monitor.evaluate(plan.account.id, step.seq, step.events, plan.cross, plan.detail)
        elif waterfall:
            step.monitor.evaluate(plan.account.id, step.seq, step.events)
        else:
            step.monitor.restate_side(plan.account, plan.screened, step.seq, step.events)


def order_check(step: Step, command: OrderCheck) -> None:
    state = step.state
    spec = checks.market(state, command.market)
    account = checks.user_account(state, command.account, "account")
    checks.mark(state, spec)
    checks.on_step(spec, abs(command.size))
    accepted, reason = True, None
    try:
        plan = plan_side(state, account, spec, command.size, command.price, 0)
    except Rejection as refusal:  # the isolated margin is not there: no would-be state exists
        accepted, reason = False, refusal.code
        free = checks.cross_after(state, account).free_collateral
    else:
        assert plan.cross is not None  # planned without the monitor: valued exactly
        free = plan.cross.free_collateral
        try:
            _check_side(step, plan, "account")
        except Rejection as refusal:
            accepted, reason = False, refusal.code
    event = {
        "account": account.id,
        "market": spec.id,
        "size": format_exact(command.size),
        "price": format_exact(command.price),
        "accepted": accepted,
        "free_collateral": format_units(free, state.book.params.value_decimals),
    }
    if reason:
        event["reason"] = reason
    step.emit("order_check", **event)


def margin_mode(step: Step, command: SetMarginMode) -> None:
    state = step.state
    spec = checks.market(state, command.market)
    account = checks.user_account(state, command.account, "account")
    if spec.id in account.positions:
        raise Rejection("position_open", f"{account.id} holds a position in {spec.id}: close it before changing its margin mode")
    account.with_setting(spec.id, MarginSetting(command.mode, command.leverage))


def isolated_margin(step: Step, command: IsolatedMargin) -> None:
    state = step.state
    spec = checks.market(state, command.market)
    account = checks.user_account(state, command.account, "account")
    position = account.positions.get(spec.id)
    if position is None or not position.isolated:
        raise Rejection("not_isolated", f"{account.id} has no isolated position in {spec.id}")
    settle = state.book.assets[spec.settle]
    amount = checks.units(settle, command.amount, "amount")
    wallet = isolated_wallet(account.id, spec.id)
    if amount > 0:
        if state.ledger.balance(account.id, settle.id) < amount:
            raise Rejection("insufficient_balance", f"{account.id} holds less {settle.id} than that")
        after = checks.cross_after(state, account, {settle.id: -amount})
        if after.at_risk:
            oracles.require_account_usable(state, account, step.now, account.id)
        if after.free_collateral < 0:
            raise Rejection("insufficient_margin", f"{account.id} would have free collateral below zero")
        state.ledger.post([Transfer(account.id, wallet, settle.id, amount)])
    else:
        oracles.require_usable(state, [spec.oracle], step.now, account.id)
        remaining = state.ledger.balance(wallet, settle.id) + amount
        detail: list = []
        after = isolated_figures(remaining, settle.decimals, position, state.book, detail)
        gain = max(detail[0][1].unrealized_pnl, 0)
        if remaining < 0 or after.equity - gain < after.initial_margin:
            raise Rejection("insufficient_margin", "removal would leave the isolated position below its initial margin")
        state.ledger.post([Transfer(wallet, account.id, settle.id, -amount)])
    step.evaluate(account.id)
