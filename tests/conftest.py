"""Shared fixtures: ``small_catalog`` (one small synthetic catalog per test session, for any test to read) and
``scenario_catalog`` (small catalogs in a given IV-rank band)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from data.synthetic import MarketConfig, generate

# CI must pass or fail the same way every run: property tests draw a fixed example sequence there
# (derandomize); elsewhere they keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

SMALL_CATALOG_SEED = 5


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ParquetDataCatalog of the ``small`` profile (4 sessions of SPY options); treat it as read-only."""
    out = tmp_path_factory.mktemp("catalogs") / "small"
    generate(MarketConfig.profile("small", seed=SMALL_CATALOG_SEED), out, progress=False)
    return out


@pytest.fixture(scope="session")
def scenario_catalog(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``scenario_catalog("high_iv" | "mid_iv" | "low_iv")``: a ``small`` catalog whose IV rank stays in
    that band every session (generated once per session on first use); treat it as read-only."""
    made: dict[str, Path] = {}

    def get(scenario: str) -> Path:
        if scenario not in made:
            out = tmp_path_factory.mktemp("catalogs") / scenario
            generate(MarketConfig.profile("small", seed=SMALL_CATALOG_SEED, scenario=scenario), out, progress=False)
            made[scenario] = out
        return made[scenario]

    return get


@pytest.fixture(scope="session")
def expiry_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``small`` high-IV catalog of six sessions (2024-01-02 to 01-09), so that Friday's weekly expiry and the
    sessions after it are in the data; treat it as read-only."""
    out = tmp_path_factory.mktemp("catalogs") / "high_iv_6"
    generate(MarketConfig.profile("small", seed=SMALL_CATALOG_SEED, scenario="high_iv", days=6), out, progress=False)
    return out
