"""The backtest runner with the two-part algorithm configured: its fill-rate table lands in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.model.enums import OptionKind
from nautilus_trader.model.identifiers import new_generic_spread_id
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hybrid.backtest import run_and_report
from hybrid.execution.fill_stats import TABLE_KEYS, TABLE_METRICS
from hybrid.runconfig import load_settings
from hybrid.runconfig.manifest import CatalogManifest

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

CONFIG = """
name = "two_part"
seed = 3
log_level = "ERROR"
progress = false

[fill_model]
prob_fill_on_touch = 0.3

[[strategies]]
path = "bench.exec_simulation:OrderSchedule"
config_path = "bench.exec_simulation:OrderScheduleConfig"

[strategies.config]
instrument_ids = ["{spread}"]
first_at_ns = {first_at_ns}
count = 3
every_seconds = 3600
quantity = 4

[[exec_algorithms]]
path = "hybrid.execution.two_part:TwoPart"
config_path = "hybrid.execution.two_part:TwoPartConfig"

[exec_algorithms.config]
stats_db = "{stats_db}"
on_deadline = "complete"
deadline_seconds = 7200  # the catalog quotes options every 30 minutes: the spread's first quote takes a while
"""


def a_vertical(catalog: Path, start_ns: int) -> str:
    """Two adjacent calls of the first expiry listed at the start, near the middle of its strikes."""
    calls = [
        i
        for i in ParquetDataCatalog(str(catalog)).instruments()
        if isinstance(i, OptionContract) and i.option_kind == OptionKind.CALL and i.activation_ns <= start_ns
    ]
    expiry = min(c.expiration_ns for c in calls if c.expiration_ns > start_ns + 3 * 86_400 * 10**9)
    chain = sorted((c for c in calls if c.expiration_ns == expiry), key=lambda c: c.strike_price.as_double())
    mid = len(chain) // 2
    return new_generic_spread_id([(chain[mid].id, 1), (chain[mid + 1].id, -1)]).value


@pytest.fixture(scope="module")
def report(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("two_part_report")
    start_ns = pd.Timestamp(CatalogManifest.read(small_catalog).start).value
    first_at_ns = start_ns + 3600 * 10**9
    config = tmp / "two_part.toml"
    config.write_text(
        CONFIG.format(
            spread=a_vertical(small_catalog, start_ns), first_at_ns=first_at_ns, stats_db=tmp / "stats.sqlite"
        ),
    )
    return run_and_report(load_settings(config, catalog=small_catalog, out=tmp / "report", end=None))


def test_fill_rate_table_is_in_the_report(report: Path) -> None:
    table = pd.read_csv(report / "fill_rates.csv")
    assert list(table.columns) == [*TABLE_KEYS, *TABLE_METRICS]
    assert table["attempts"].sum() >= 3  # at least one attempt per primary order
    assert set(table["mode"]) == {"combo"}
    summary = json.loads((report / "summary.json").read_text())
    assert [row["attempts"] for row in summary["fill_rates"]] == table["attempts"].tolist()
    assert summary["all_groups_balanced"] is True
    assert summary["counts"]["groups"] == 3
