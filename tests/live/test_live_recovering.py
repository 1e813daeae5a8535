"""While the drainer's start-up recovery runs, the API says so: ``/health`` is ``recovering`` and every route
that answers an order's status is a 503 with Retry-After (a pre-restart status would be wrong), while a new
order is still accepted (it waits in the queue like any other). Over real HTTP on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.api import TRADER, VIEWER, auth, make_context, market, serve

pytestmark = pytest.mark.slow  # a backtest and a server


def test_order_status_is_503_with_retry_after_until_recovery_is_done(small_catalog: Path, tmp_path: Path) -> None:
    context = make_context(small_catalog, tmp_path / "state.sqlite")
    with serve(context) as url:
        base = url + "/api/v1"
        with (
            httpx.Client(base_url=base, headers=auth(TRADER)) as trader,
            httpx.Client(base_url=base, headers=auth(VIEWER)) as viewer,
        ):
            intent = {"kind": "open", "underlying": "SPY", "units": 1, "structure": market(context.view).spread}
            order_id = trader.post("/orders", json={**intent, "execution": {"type": "market"}}).json()["order_id"]
            context.queue.expect_recovery()  # as the live node does when it has a drainer
            assert viewer.get("/health").json()["status"] == "recovering"
            for path in (f"/orders/{order_id}", f"/orders/{order_id}/history", "/orders"):
                answer = viewer.get(path)
                assert (answer.status_code, answer.headers.get("retry-after")) == (503, "1"), path
                assert answer.json()["detail"]["error"] == "unavailable"
            assert trader.post(f"/orders/{order_id}/cancel").status_code == 503
            assert trader.post("/orders", json={**intent, "execution": {"type": "market"}}).status_code == 201
            context.queue.recovery_done()
            assert viewer.get("/health").json()["status"] == "ok"
            assert viewer.get(f"/orders/{order_id}").json()["status"] == "queued"
