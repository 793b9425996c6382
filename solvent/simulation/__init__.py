"""Seeded command streams for benchmarks, demos and tests (see `scenario`)."""

from .scenario import (
    PRESETS,
    MarketDef,
    Scenario,
    ScenarioConfig,
    crash_path,
    generate,
    setup_commands,
)

__all__ = ["PRESETS", "MarketDef", "Scenario", "ScenarioConfig", "crash_path", "generate", "setup_commands"]
