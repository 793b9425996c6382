#!/usr/bin/env bash
# Install solvent with its per-command path compiled by mypyc, and numba for the screen's
# kernels (the `fast` extra), into a new virtual environment.
#
#     bash tools/install-compiled.sh [VENV]        (default: .venv-compiled)
#
# Needs a C compiler and the Python headers (Debian: gcc, python3-dev). Takes about a minute
# (gcc compiles one large C file). The result is an ordinary, non-editable install: the
# checkout's sources are not used by it, so rebuild after changing them. Development and the
# test suite use the pure-Python editable install of the README.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-compiled}"
python3 -m venv "$venv"
venv="$(cd "$venv" && pwd)"  # absolute: the check below runs from /
"$venv/bin/pip" install -q "setuptools>=68" wheel "mypy>=1.10" "msgspec>=0.18" "numpy>=1.26" "typer>=0.12" "rich>=13" "mypy_extensions>=1.0" "numba>=0.60"
rm -rf build
SOLVENT_COMPILE=1 "$venv/bin/pip" install -q --no-build-isolation .
rm -rf build
# (checked from outside the checkout, whose sources would otherwise be imported instead)
(cd / && "$venv/bin/python" - <<'PY'
import solvent.engine.engine as engine
import solvent.margin.figures as figures
compiled = [m.__name__ for m in (engine, figures) if m.__file__.endswith(".so")]
assert len(compiled) == 2, f"not compiled: {[m.__file__ for m in (engine, figures)]}"
print(f"solvent compiled: {', '.join(compiled)} ...")
PY
)
