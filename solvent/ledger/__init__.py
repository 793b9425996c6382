"""The double-entry ledger: every change of a balance is a balanced transfer."""

from .ledger import EXTERNAL, Ledger, Transfer

__all__ = ["EXTERNAL", "Ledger", "Transfer"]
