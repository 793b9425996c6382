"""Which build of solvent the tests run against: the pure-Python source (the README's
editable install) or the modules compiled by mypyc (`tools/install-compiled.sh`). CI runs the
suite on both and sets SOLVENT_EXPECT_BUILD, so that a run meant for the compiled build
cannot quietly test the pure source instead."""

from __future__ import annotations

import os

import pytest

import solvent
import solvent.engine.engine as engine_module
import solvent.margin.figures as figures_module
import solvent.risk.kernels as kernels_module


def test_the_build_is_the_one_expected() -> None:
    expected = os.environ.get("SOLVENT_EXPECT_BUILD")
    if expected is None:
        pytest.skip("SOLVENT_EXPECT_BUILD not set")
    assert solvent.build() == expected
    # and the package is all of one build, not a mix
    assert {str(m.__file__).endswith(".so") for m in (engine_module, figures_module)} == {expected == "compiled"}
    # the compiled build brings the C loops of the screen, and the screen uses them
    assert kernels_module.native_available() == (expected == "compiled")
    assert (kernels_module.select()[0] == "native") == (expected == "compiled")


def test_the_kernels_are_never_compiled_by_mypyc() -> None:
    """numba compiles them from their Python source; a mypyc build would break it."""
    assert str(kernels_module.__file__).endswith(".py")
