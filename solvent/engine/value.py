"""deposit, withdraw, transfer: value moving into, out of, and within the venue."""

from __future__ import annotations

from ..domain.commands import Deposit, TransferCommand, Withdraw
from ..domain.errors import Rejection
from ..domain.ids import INSURANCE, PNL_PREFIX, is_system
from ..ledger import EXTERNAL, Transfer
from . import checks
from .context import Step


def _system_outflow(step: Step, account_id: str, asset_id: str, amount: int) -> None:
    if account_id.startswith(PNL_PREFIX):
        raise Rejection("system_account", f"{account_id} is a market's PnL pool: only the engine moves it")
    if amount > step.state.ledger.balance(account_id, asset_id):
        raise Rejection("insufficient_balance", f"{account_id} holds less {asset_id} than that")


def _report_insurance(step: Step, source: str, target: str, asset_id: str, amount: int, reason: str) -> None:
    """The insurance fund changes only with an `insurance_fund` event, an operator's own
    deposit, withdrawal or transfer included."""
    if target == INSURANCE:
        step.insurance_fund(asset_id, amount, reason)
    elif source == INSURANCE:
        step.insurance_fund(asset_id, -amount, reason)


def deposit(step: Step, command: Deposit) -> None:
    state = step.state
    spec = checks.asset(state, command.asset)
    amount = checks.units(spec, command.amount, "amount")
    if is_system(command.account):
        checks.existing_account(state, command.account)
    else:
        state.account(command.account)
    state.ledger.post([Transfer(EXTERNAL, command.account, spec.id, amount)])
    _report_insurance(step, EXTERNAL, command.account, spec.id, amount, "deposit")
    step.evaluate(command.account)


def withdraw(step: Step, command: Withdraw) -> None:
    state = step.state
    spec = checks.asset(state, command.asset)
    amount = checks.units(spec, command.amount, "amount")
    checks.existing_account(state, command.account)
    if is_system(command.account):
        _system_outflow(step, command.account, spec.id, amount)
    else:
        checks.outflow(state, state.accounts[command.account], spec, amount, leaves_venue=True, now=step.now)
    state.ledger.post([Transfer(command.account, EXTERNAL, spec.id, amount)])
    _report_insurance(step, command.account, EXTERNAL, spec.id, amount, "withdrawal")
    step.evaluate(command.account)


def transfer(step: Step, command: TransferCommand) -> None:
    state = step.state
    spec = checks.asset(state, command.asset)
    amount = checks.units(spec, command.amount, "amount")
    if command.source == command.target:
        raise Rejection("invalid_value", "from and to are the same account")
    checks.existing_account(state, command.source)
    checks.existing_account(state, command.target)
    if is_system(command.source):
        _system_outflow(step, command.source, spec.id, amount)
    else:
        checks.outflow(state, state.accounts[command.source], spec, amount, leaves_venue=False, now=step.now)
    state.ledger.post([Transfer(command.source, command.target, spec.id, amount)])
    _report_insurance(step, command.source, command.target, spec.id, amount, "transfer")
    step.evaluate(command.source, command.target)
