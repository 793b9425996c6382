"""The engine: orchestration of commands over the domain, ledger and margin packages."""

from .engine import Engine, EngineFault

__all__ = ["Engine", "EngineFault"]
