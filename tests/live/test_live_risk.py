"""The account's pre-trade risk gate over real HTTP against a ``run_live.py`` paper node on 127.0.0.1: a manual
order that would breach the manual loss-per-group limit is refused (409 naming the limit, its value and the usage,
listed by ``GET /risk`` and in the actions feed), the same order within the limit is accepted and fills; the
risk and stress routes answer with their parameters validated, and the reset is an admin's."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.support.live import ADMIN, CONFIG, TRADER, VIEWER, eventually, order_status, paper_node, spread_intent

pytestmark = pytest.mark.slow  # a subprocess per test

MANUAL_MAX_LOSS = 400.0
RISK = f"""
[[actors]]
path = "hybrid.risk.account:AccountRisk"

[actors.config.limits]
max_open_groups = 10
max_abs_delta = 5000.0

[actors.config.sources.manual]
max_loss_per_group = {MANUAL_MAX_LOSS}
"""


def test_a_breaching_manual_order_is_refused_naming_the_limit_and_one_within_it_fills(
    small_catalog: Path, tmp_path: Path
) -> None:
    config = tmp_path / "live.toml"
    config.write_text(CONFIG.format(catalog=small_catalog.as_posix()) + RISK)
    with (
        paper_node(config, tmp_path / "state.sqlite", tmp_path / "node") as node,
        node.client(TRADER) as trader,
        node.client(VIEWER) as viewer,
        node.client(ADMIN) as admin,
    ):
        one = spread_intent(trader, {"type": "market"}, units=1)
        preview = trader.post("/analysis/preview", json={k: v for k, v in one.items() if k != "kind"})
        assert preview.status_code == 200, preview.text
        per_unit = -preview.json()["analysis"]["figures"]["max_loss"]
        assert 0 < per_unit < MANUAL_MAX_LOSS, f"one unit risks {per_unit}: the test needs it within the limit"
        units = math.floor(MANUAL_MAX_LOSS / per_unit) + 1

        refused = trader.post("/orders", json={**one, "units": units})
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert detail["error"] == "risk_limit"
        assert (detail["scope"], detail["limit"], detail["value"]) == ("manual", "max_loss_per_group", 400.0)
        assert detail["after"] == pytest.approx(per_unit * units, rel=0.05)
        assert "manual.max_loss_per_group" in detail["message"]
        assert trader.get("/orders").json() == []  # nothing queued

        risk = viewer.get("/risk").json()
        assert risk["gate"] is True and risk["trading_state"] == "ACTIVE"
        limits = {(row["scope"], row["limit"]): row for row in risk["limits"]}
        assert limits[("manual", "max_loss_per_group")]["value"] == MANUAL_MAX_LOSS
        assert limits[("account", "max_open_groups")] == {
            "scope": "account", "limit": "max_open_groups", "value": 10.0, "usage": 0.0,
        }  # fmt: skip
        assert [r["limit"] for r in risk["refusals"]] == ["max_loss_per_group"]
        actions = viewer.get("/actions").json()
        assert [a["action"] for a in actions if a["action"] == "risk_refused"] == ["risk_refused"]

        accepted = trader.post("/orders", json=one)
        assert accepted.status_code == 201, accepted.text
        order_id = accepted.json()["order_id"]
        eventually(lambda: order_status(viewer, order_id) == "filled", "the order within the limits to fill")
        usage = {(r["scope"], r["limit"]): r["usage"] for r in viewer.get("/risk").json()["limits"]}
        assert usage[("account", "max_open_groups")] == 1
        assert usage[("account", "max_abs_delta")] != 0

        stress = viewer.get("/risk/stress", params={"moves": 5, "shifts": 3}).json()
        assert len(stress["book"]) == 5 and len(stress["book"][0]) == 3
        assert [g["source"] for g in stress["groups"]] == ["manual"]
        assert stress["book"][2][1] == pytest.approx(0.0, abs=0.01)  # no move, no shift, now: the marks
        bad = viewer.get("/risk/stress", params={"move_min": 0.3, "move_max": 0.1, "at": "2000-01-01"})
        assert bad.status_code == 422

        assert trader.post("/risk/reset").status_code == 403
        assert admin.post("/risk/reset").status_code == 409  # nothing tripped
        rpc = {"jsonrpc": "2.0", "method": "risk.get", "id": 1}
        answer = viewer.post(node.url + "/rpc", json=rpc).json()
        settings = [(r["scope"], r["limit"], r["value"]) for r in viewer.get("/risk").json()["limits"]]
        assert [(r["scope"], r["limit"], r["value"]) for r in answer["result"]["limits"]] == settings
