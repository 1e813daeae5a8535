"""The backtest runner re-prices leg fills (hybrid.nautilus_compat.leg_prices): a real IV-rank run (butterflies
and condors, limits worked and repriced) checked fill by fill against the quotes of each fill's instant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from hybrid.runconfig.settings import ComponentSpec
from tests.support.iv_rank_runs import run_iv_rank
from tests.support.leg_fills import LEG_AUDIT, LegFillAudit, breaches

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test


@pytest.mark.parametrize("scenario", ["high_iv", "mid_iv"], ids=["condors", "butterflies"])
def test_every_leg_fill_of_a_run_lies_in_its_quote_sums_to_its_spread_fill_and_reaches_the_report(
    scenario_catalog: Callable[[str], Path], tmp_path: Path, scenario: str
) -> None:
    out = run_iv_rank(scenario_catalog(scenario), tmp_path, actors=(ComponentSpec(*LEG_AUDIT),))
    audit = next(a for a in out.actors if isinstance(a, LegFillAudit))
    legs = [leg for match in audit.matches for leg in match.legs]
    assert len(audit.matches) >= 2 and legs
    assert breaches(audit.matches) == []
    report = pd.read_csv(out.report / "leg_fills.csv", dtype=str)
    assert dict(zip(report["trade_id"], report["last_px"], strict=True)) == {
        leg.fill.trade_id.value: str(leg.fill.last_px) for leg in legs
    }
