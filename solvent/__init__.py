"""solvent: an automated margin accounting engine.

    >>> from solvent import Engine
    >>> engine = Engine()
    >>> engine.apply({"op": "asset", "id": "USDC", "decimals": 6, "oracle": None,
    ...               "weight_init": "1", "weight_maint": "1"})
    []
"""

from .engine import Engine

__all__ = ["Engine", "__version__"]
__version__ = "0.1.0"
