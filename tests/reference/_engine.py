"""Small helpers shared by the reference tests: build an engine through its public commands
and read the outcomes the SPEC names. No expected value lives here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from solvent import Engine


def ok(engine: Engine, command: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply a command that must be accepted; return its events."""
    events = engine.apply(command)
    rejected = [e for e in events if e["event"] == "rejected"]
    assert not rejected, f"{command['op']} was rejected: {rejected}"
    return events


def quote_asset(engine: Engine, asset_id: str = "USDC", decimals: int = 6, **extra: Any) -> None:
    ok(engine, {"op": "asset", "id": asset_id, "decimals": decimals, "oracle": None,
                "weight_init": "1", "weight_maint": "1", **extra})


def market(engine: Engine, market_id: str, oracle: str, tiers: list[dict[str, str]], *,
           settle: str = "USDC", step_size: str = "0.001", liquidation_fee: str = "0.01") -> None:
    ok(engine, {"op": "market", "id": market_id, "oracle": oracle, "settle": settle, "tiers": tiers,
                "step_size": step_size, "liquidation_fee": liquidation_fee})


def tiers_from_rows(rows: Iterable[tuple[str | None, str, str]]) -> list[dict[str, str]]:
    """(max_notional or None for the last tier, mmr, max_leverage) -> the `tiers` list of a
    `market` command."""
    out = []
    for max_notional, mmr, max_leverage in rows:
        tier = {"mmr": mmr, "max_leverage": max_leverage}
        if max_notional is not None:
            tier["max_notional"] = max_notional
        out.append(tier)
    return out


def price(engine: Engine, oracle: str, value: str) -> list[dict[str, Any]]:
    return ok(engine, {"op": "price", "oracle": oracle, "price": value})


def deposit(engine: Engine, account: str, amount: str, asset: str = "USDC") -> list[dict[str, Any]]:
    return ok(engine, {"op": "deposit", "account": account, "asset": asset, "amount": amount})


def trade(engine: Engine, market_id: str, buyer: str, seller: str, size: str, at: str) -> list[dict[str, Any]]:
    return ok(engine, {"op": "trade", "market": market_id, "buyer": buyer, "seller": seller,
                       "size": size, "price": at, "buyer_fee": "0", "seller_fee": "0"})


def events_named(events: list[dict[str, Any]], name: str, account: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name and (account is None or e.get("account") == account)]


def _liquidatable(engine: Engine, account: str, market: str | None) -> bool:
    entry = engine.account(account)
    if market is None:
        return entry["liquidatable"]
    # an isolated position is its own risk unit (SPEC §5); the engine reports its status on
    # the position entry (an extension of SPEC §4's position fields)
    return entry["positions"][market]["liquidatable"]


def in_breach(engine: Engine, events: list[dict[str, Any]], account: str, market: str | None = None) -> bool:
    """SPEC §5/§6: an account (or, with `market`, an isolated position) in breach is
    liquidatable, and SPEC §2 (`price`) says it is liquidated before the next command. Either
    outcome is proof of the breach: `liquidatable: true`, or a liquidation of that account
    (and market) by the command that caused the breach: a `liquidation`, a
    `borrow_liquidation`, or the `bad_debt` of a bankruptcy."""
    return bool(_liquidations(events, account, market)) or _liquidatable(engine, account, market) is True


def not_in_breach(engine: Engine, events: list[dict[str, Any]], account: str, market: str | None = None) -> bool:
    return not _liquidations(events, account, market) and _liquidatable(engine, account, market) is False


def _liquidations(events: list[dict[str, Any]], account: str, market: str | None) -> list[dict[str, Any]]:
    return [
        e for name in ("liquidation", "borrow_liquidation", "bad_debt") for e in events_named(events, name, account)
        if market is None or e.get("market") == market
    ]


def dec(text: str) -> Decimal:
    return Decimal(text)
