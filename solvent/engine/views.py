"""The state document of SPEC §4, the `account` entry, and the canonical state hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec

from ..domain.account import Account
from ..domain.fixed import exact_text
from ..domain.ids import FEES, INSURANCE, is_system, pnl_pool
from ..domain.position import Position
from ..domain.numbers import ARITHMETIC, format_decimal, format_exact, format_units
from ..domain.rounding import Figure
from ..domain.specs import AssetSpec
from ..ledger import EXTERNAL
from ..margin.figures import (
    RiskFigures,
    cross_figures,
    isolated_figures,
    position_figures,
)
from ..margin.linear import (
    Exposure,
    Leg,
    cross_exposures,
    health_part,
    liquidation_price,
)
from ..market_data.interest import rates
from ..market_data.oracle_guard import NEW_ORACLE
from .oracles import oracle_status
from .state import EngineState


def _ratio(value: Decimal | None, direction: str) -> str | None:
    return None if value is None else format_decimal(value, direction)


def _figures(figures: RiskFigures, decimals: int, liquidatable: bool) -> dict[str, Any]:
    return {
        "equity": format_units(figures.equity, decimals),
        "equity_maint": format_units(figures.equity_maint, decimals),
        "equity_init": format_units(figures.equity_init, decimals),
        "initial_margin": format_units(figures.initial_margin, decimals),
        "maintenance_margin": format_units(figures.maintenance_margin, decimals),
        "free_collateral": format_units(figures.free_collateral, decimals),
        "health": format_units(figures.health, decimals),
        "margin_ratio": _ratio(figures.margin_ratio(), Figure.MARGIN_RATIO),
        "health_factor": _ratio(figures.health_factor(), Figure.HEALTH_FACTOR),
        "liquidatable": liquidatable,
    }


def account_entry(state: EngineState, account_id: str) -> dict[str, Any]:
    """One account as SPEC §4 lists it."""
    book = state.book
    decimals = book.params.value_decimals
    account = state.accounts.get(account_id) or Account(account_id)
    balances = state.ledger.balances(account_id)
    cross_pairs = state.cross_positions(account)
    cross = cross_figures(balances, cross_pairs, book)
    entry: dict[str, Any] = {
        "balances": {a: format_units(balances[a], book.assets[a].decimals) for a in sorted(balances)},
    }
    system = is_system(account_id)
    entry.update(_figures(cross, decimals, cross.liquidatable and not system))
    positions: dict[str, Any] = {}
    if account.positions:
        constant_maint, _, exposures = cross_exposures(balances, cross_pairs, book)
        cross_health = constant_maint
        for oracle, exposure in exposures.items():
            cross_health = ARITHMETIC.add(cross_health, health_part(exposure, book.prices[oracle]))
        for market_id in sorted(account.positions):
            positions[market_id] = _position_entry(state, account, market_id, exposures, cross_health)
    entry["positions"] = positions
    return entry


def _position_entry(state: EngineState, account: Account, market_id: str, exposures, cross_health: Decimal) -> dict[str, Any]:
    book = state.book
    decimals = book.params.value_decimals
    spec = book.markets[market_id]
    position = account.positions[market_id]
    mark = book.prices[spec.oracle]
    figures = position_figures(position, spec, mark, decimals)
    settle = book.assets[spec.settle]
    entry: dict[str, Any] = {
        "size": _size_text(position.size, spec.step_size),
        "entry_price": format_decimal(position.entry_price),
        "mode": "isolated" if position.isolated else "cross",
        "leverage": format_exact(figures.leverage),
    }
    if position.isolated:
        wallet = state.wallet_units(account.id, market_id)
        entry["isolated_margin"] = format_units(wallet, settle.decimals)
        iso = isolated_figures(wallet, settle.decimals, position, book)
        entry["health"] = format_units(iso.health, decimals)
        entry["liquidatable"] = iso.liquidatable
        exposure = Exposure(legs=[Leg(position.size, position.cost, spec.tiers, position.leverage)])
        other = Decimal(wallet).scaleb(-settle.decimals, ARITHMETIC)
        liq = liquidation_price(exposure, other, mark)
    else:
        exposure = exposures[spec.oracle]
        other = ARITHMETIC.subtract(cross_health, health_part(exposure, mark))
        liq = liquidation_price(exposure, other, mark)
    entry.update(
        {
            "notional": format_units(figures.notional, decimals),
            "unrealized_pnl": format_units(figures.unrealized_pnl, decimals),
            "realized_pnl": format_units(position.realized_pnl, settle.decimals),
            "initial_margin": format_units(figures.initial_margin, decimals),
            "maintenance_margin": format_units(figures.maintenance_margin, decimals),
            "liquidation_price": None if liq is None else format_decimal(liq),
        }
    )
    return entry


def _size_text(size: Decimal, step: Decimal) -> str:
    """A size with as many decimal places as the market's step size (`"4.400"` on a 0.001 grid)."""
    places = max(0, -step.normalize(ARITHMETIC).as_tuple().exponent)  # type: ignore[operator]
    return format(size.quantize(Decimal(1).scaleb(-places)), "f")


def _asset_entry(state: EngineState, spec: AssetSpec) -> dict[str, Any]:
    ledger = state.ledger
    deposits, borrows = ledger.total_deposits(spec.id), ledger.total_borrows(spec.id)
    price = state.book.prices.get(spec.oracle) if spec.oracle else Decimal(1)
    entry: dict[str, Any] = {
        "price": None if price is None else format_decimal(price),
        "exchange_rate": format_decimal(state.book.exchange_rates.get(spec.id, Decimal(1))),
        "total_deposits": format_units(deposits, spec.decimals),
        "total_borrows": format_units(borrows, spec.decimals),
    }
    if spec.rate_model is not None:
        r = rates(spec.rate_model, Decimal(borrows), Decimal(deposits))
        borrow_index, supply_index = state.indices.get(spec.id, (Decimal(1), Decimal(1)))
        entry.update(utilization=format_decimal(r.utilization), borrow_rate=format_decimal(r.borrow_rate),
                     supply_rate=format_decimal(r.supply_rate), borrow_index=format_decimal(borrow_index),
                     supply_index=format_decimal(supply_index))
    else:
        u = ARITHMETIC.divide(Decimal(borrows), Decimal(deposits)) if deposits else Decimal(0)
        entry.update(utilization=format_decimal(u), borrow_rate=None, supply_rate=None, borrow_index=None,
                     supply_index=None)
    return entry


def _oracle_entry(state: EngineState, oracle: str) -> dict[str, Any]:
    """An oracle's guard status (MARKET_DATA.md): `ok`, `stale` or `rejected` (the last update
    was refused), when its price was published, and a jump waiting for confirmation."""
    record = state.oracles.get(oracle, NEW_ORACLE)
    return {
        "status": oracle_status(state, oracle, state.clock),
        "reason": record.invalid,
        "published_at": None if record.published_at is None else format_exact(record.published_at),
        "pending": None if record.pending is None else format_decimal(record.pending),
    }


def system_accounts(state: EngineState) -> list[str]:
    names = {INSURANCE, FEES}
    names.update(pnl_pool(m) for m in state.book.markets)
    return sorted(names)


def state_document(state: EngineState) -> dict[str, Any]:
    """The whole state, SPEC §4, with keys in a fixed order."""
    book = state.book
    accounts = {a: account_entry(state, a) for a in sorted(state.user_accounts() + system_accounts(state))}
    return {
        "accounts": accounts,
        "assets": {a: _asset_entry(state, book.assets[a]) for a in sorted(book.assets)},
        "insurance_fund": {
            a: format_units(state.ledger.balance(INSURANCE, a), book.assets[a].decimals) for a in sorted(book.assets)
        },
        "prices": {o: format_decimal(book.prices[o]) for o in sorted(book.prices)},
        "oracles": {o: _oracle_entry(state, o) for o in sorted(set(book.prices) | set(state.oracles))},
        "ledger": {"balanced": state.ledger.is_balanced(), "hash": state_hash(state)},
        "clock": None if state.clock is None else format_exact(state.clock),
    }


# -- the canonical hash --------------------------------------------------------------------------

def _canonical(value: Any) -> Any:
    """Plain JSON values; every Decimal in normalized text, so 0.10 and 0.1 hash alike."""
    if isinstance(value, Decimal):
        return format_exact(value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {name: _canonical(getattr(value, name)) for name in value.__dataclass_fields__}
    if hasattr(value, "value") and not isinstance(value, (str, int, bool)):
        return value.value
    return value


def _canonical_position(position: Position) -> list[Any]:
    """`_canonical([size, cost, [[lot size, lot price]...], realized_pnl, isolated, leverage])`,
    written out: the hash of every snapshot runs it for every position."""
    leverage = position.leverage
    return [
        exact_text(position.size_units, position.size_places),
        exact_text(position.cost_units, position.cost_places),
        [[format_exact(lot.size), format_exact(lot.price)] for lot in position.lots],
        position.realized_pnl,
        position.isolated,
        None if leverage is None else format_exact(leverage),
    ]


def canonical_state(state: EngineState) -> dict[str, Any]:
    """Everything that makes the state what it is, in canonical form: balances (isolated
    wallets and the outside world included), positions and settings, prices and exchange
    rates, parameters and specs, the clock; and what changes future behaviour of the market
    data: oracle guard records (publication times, pending jumps, invalid marks), interest
    indices, the exchange-rate caps' anchors, the last accrual time. Derived figures are
    left out."""
    return {
        "balances": dict(_canonical_balances(state)),
        "accounts": dict(_canonical_accounts(state)),
        **_canonical_rest(state),
    }


def _canonical_balances(state: EngineState) -> Iterator[tuple[str, dict[str, int]]]:
    """(ledger account, its balances by asset) of every ledger account holding any, sorted."""
    ledger = state.ledger
    for account in sorted(ledger.accounts()):
        balances = ledger.balances(account)
        if balances:
            yield account, dict(sorted(balances.items()))


def _canonical_accounts(state: EngineState) -> Iterator[tuple[str, dict[str, Any]]]:
    """(account id, its positions and settings) of every account, sorted: an opened account
    is state even when empty."""
    accounts = state.accounts
    for account_id in sorted(accounts):
        account = accounts[account_id]
        yield account_id, {
            "positions": {m: _canonical_position(p) for m, p in sorted(account.positions.items())},
            "settings": {m: _canonical(s) for m, s in sorted(account.settings.items())},
        }


def _canonical_rest(state: EngineState) -> dict[str, Any]:
    """The canonical state but its two long mappings (balances, accounts)."""
    book = state.book
    params = book.params
    return {
        "prices": _canonical(dict(sorted(book.prices.items()))),
        "exchange_rates": _canonical(dict(sorted(book.exchange_rates.items()))),
        "assets": {a: _canonical(book.assets[a]) for a in sorted(book.assets)},
        "markets": {m: _canonical(book.markets[m]) for m in sorted(book.markets)},
        "params": _canonical(params),
        "oracles": {o: _canonical(r) for o, r in sorted(state.oracles.items()) if r != NEW_ORACLE},
        "indices": _canonical(dict(sorted(state.indices.items()))),
        "rate_anchors": _canonical(dict(sorted(state.rate_anchors.items()))),
        "accrued_at": None if state.accrued_at is None else format_exact(state.accrued_at),
        "clock": None if state.clock is None else format_exact(state.clock),
        "external": EXTERNAL,
    }


#: entries of the long mappings encoded at a time by `state_hash`
HASH_CHUNK = 10_000


def state_hash(state: EngineState) -> str:
    """sha256 of the canonical state (`canonical_state`) as compact JSON with sorted keys.

    Computed as a stream, never holding the canonical document or its bytes whole (at a
    million accounts that document is about 2 GB): the short part is encoded with a marker
    in place of each long mapping, and each long mapping is fed to the hash HASH_CHUNK
    entries at a time where its marker stood. The bytes hashed are those of encoding the
    whole document at once: compact JSON joins a mapping's entries with a bare comma, the
    entries come in sorted key order (ids are ASCII, and msgspec's order is the code point
    order Python sorts by), and a marker holds a NUL byte, which encoded JSON text never
    does (it is escaped), so it cannot be found anywhere else."""
    digest = hashlib.sha256()
    for part in _canonical_bytes(state):
        digest.update(part)
    return digest.hexdigest()


_ACCOUNTS_MARK = b"\x00accounts\x00"
_BALANCES_MARK = b"\x00balances\x00"


def _canonical_bytes(state: EngineState, chunk: int | None = None) -> Iterator[bytes]:
    """The bytes of `msgspec.json.encode(canonical_state(state), order="sorted")`, in parts."""
    skeleton = _canonical_rest(state)
    skeleton["accounts"] = msgspec.Raw(_ACCOUNTS_MARK)
    skeleton["balances"] = msgspec.Raw(_BALANCES_MARK)
    head, rest = msgspec.json.encode(skeleton, order="sorted").split(_ACCOUNTS_MARK)  # (each once:
    middle, tail = rest.split(_BALANCES_MARK)  # "accounts" sorts before "balances")
    yield head
    yield from _encoded_mapping(_canonical_accounts(state), chunk or HASH_CHUNK)
    yield middle
    yield from _encoded_mapping(_canonical_balances(state), chunk or HASH_CHUNK)
    yield tail


def _encoded_mapping(entries: Iterator[tuple[str, Any]], chunk: int) -> Iterator[bytes]:
    """`entries` (in sorted key order) as one compact JSON object with sorted keys, encoded
    `chunk` entries at a time."""
    encode = msgspec.json.encode
    yield b"{"
    separator = b""
    pending: dict[str, Any] = {}
    for key, value in entries:
        pending[key] = value
        if len(pending) == chunk:
            yield separator + encode(pending, order="sorted")[1:-1]
            separator = b","
            pending = {}
    if pending:
        yield separator + encode(pending, order="sorted")[1:-1]
    yield b"}"
