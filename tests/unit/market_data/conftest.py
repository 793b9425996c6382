"""Every test here runs inside the engine's arithmetic context, as the engine does."""

from __future__ import annotations

from decimal import localcontext

import pytest

from solvent.domain.numbers import ARITHMETIC


@pytest.fixture(autouse=True, scope="module")
def arithmetic():
    with localcontext(ARITHMETIC) as context:
        yield context
