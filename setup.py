"""Optional compiled build: `SOLVENT_COMPILE=1` compiles the engine's per-command path with
mypyc (about 1.6x the commands per second, measured in docs/PERFORMANCE.md). Without it,
and always for editable installs, solvent is pure Python: everything else is in
pyproject.toml. `tools/install-compiled.sh VENV` does the whole compiled install.

The compiled modules are the domain, the ledger, the margin formulas, the engine and the
codec, and the float screen; beside them, the screen's loops are built from C
(`solvent/risk/_native.c`, the kernel `native` of `solvent.risk.kernels`). Not compiled:
the kernels' numpy and numba versions, storage, the CLI and simulation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup

COMPILED_PACKAGES = ("solvent/domain", "solvent/ledger", "solvent/margin", "solvent/engine")
COMPILED_MODULES = ("solvent/codec.py", "solvent/risk/screen.py")


def _compiled_sources() -> list[str]:
    sources = [str(path) for package in COMPILED_PACKAGES for path in sorted(Path(package).rglob("*.py"))]
    return sources + list(COMPILED_MODULES)


def _extensions() -> list:
    if os.environ.get("SOLVENT_COMPILE") != "1":
        return []
    if any(command in sys.argv for command in ("editable_wheel", "develop")) or "--inplace" in sys.argv:
        # a compiled module next to its source would shadow every later edit of that source
        print("solvent: SOLVENT_COMPILE is ignored for an editable install (pure Python)", file=sys.stderr)
        return []
    if not any(command in sys.argv for command in ("bdist_wheel", "build", "build_ext", "install")):
        return []  # metadata only (egg_info, dist_info): no need to generate the C code
    try:
        from mypyc.build import mypycify
    except ImportError:
        sys.exit("solvent: SOLVENT_COMPILE=1 needs mypy in the build environment: "
                 "pip install mypy, then pip install --no-build-isolation . (or use tools/install-compiled.sh)")
    # the C loops: no fused multiply-add, no fast-math, so that they give numpy's bits
    native = Extension("solvent.risk._native", ["solvent/risk/_native.c"],
                       extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"])
    return mypycify(_compiled_sources(), opt_level="3") + [native]


setup(ext_modules=_extensions())
