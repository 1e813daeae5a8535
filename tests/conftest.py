"""Shared fixtures. ``small_catalog``: one small synthetic catalog per test session, for any test to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.synthetic import MarketConfig, generate

SMALL_CATALOG_SEED = 5


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ParquetDataCatalog of the ``small`` profile (4 sessions of SPY options); treat it as read-only."""
    out = tmp_path_factory.mktemp("catalogs") / "small"
    generate(MarketConfig.profile("small", seed=SMALL_CATALOG_SEED), out, progress=False)
    return out
