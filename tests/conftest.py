"""Hypothesis without its per-example deadline (200 ms by default): on a shared machine an
example runs slow by load, not by a bug, and the tests assert outcomes, never time
(benchmarks measure time, `benchmarks/`)."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("solvent", deadline=None)
settings.load_profile("solvent")
