"""solvent: an automated margin accounting engine.

    >>> from solvent import Engine
    >>> engine = Engine()
    >>> engine.apply({"op": "asset", "id": "USDC", "decimals": 6, "oracle": None,
    ...               "weight_init": "1", "weight_maint": "1"})
    []
"""

from .engine import Engine

__all__ = ["Engine", "__version__", "build"]
__version__ = "0.1.0"


def build() -> str:
    """"compiled" when the engine runs as modules compiled by mypyc (`SOLVENT_COMPILE=1`,
    tools/install-compiled.sh), "pure" for the Python source."""
    from .engine import engine as engine_module

    return "compiled" if str(engine_module.__file__).endswith(".so") else "pure"
