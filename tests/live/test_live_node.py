"""The paper node end to end over real HTTP and WebSocket on 127.0.0.1: health, an API order reaching the engine
and filling (every status change pushed on the WebSocket), SIGTERM, and a kill -9 with a restart on the same
state: queue, templates and the paper book intact, every accepted order kept, nothing executed twice (filled
stays filled with its group as it was; what the dead paper venue held is settled by the restored book: filled,
its resting order cancelled, or failed when the book never showed it; what was only queued, also orders posted
just before the kill, executes once). Each node is a ``run_live.py`` subprocess replaying the session's small
catalog at high speed."""

from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from hybrid.live.drainer import RESTARTED, RESTORED
from hybrid.live.queue_commands import group_id_for
from hybrid.management.action_log import ActionLog
from hybrid.management.template_store import TemplateStore
from hybrid.orders import ORDER_INTENT, OrderQueue
from hybrid.orders.status import OrderStatus
from hybrid.store.db import Database
from tests.support.live import (
    ADMIN,
    TRADER,
    VIEWER,
    WAIT,
    auth,
    eventually,
    order_status,
    paper_node,
    spread_intent,
    write_config,
)

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

MARKET = {"type": "market"}
BURST, BURST_CLIENTS = 40, 4  # orders posted concurrently just before the kill -9
RESTING = {"type": "limit", "price": 0.01}  # a debit spread bid at a cent: it rests


@pytest.fixture(scope="module")
def config(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("live-config"), small_catalog)


def test_api_order_reaches_the_engine_and_every_change_is_pushed(config: Path, tmp_path: Path) -> None:
    with paper_node(config, tmp_path / "state.sqlite", tmp_path / "node") as node:
        with node.client(VIEWER) as viewer, node.client(TRADER) as trader:
            health = viewer.get("/health")
            assert health.status_code == 200
            assert health.json()["engine"]["trading_state"] == "ACTIVE"
            assert health.json()["engine"]["underlyings"] == ["SPY"]
            ws_url = node.url.replace("http", "ws", 1) + "/ws"
            with connect(ws_url, additional_headers=auth(VIEWER), proxy=None) as ws:
                assert json.loads(ws.recv(timeout=WAIT))["type"] == "snapshot"
                submitted = trader.post("/orders", json=spread_intent(viewer, MARKET))
                assert submitted.status_code == 201
                order_id = submitted.json()["order_id"]
                pushed = []
                while "filled" not in pushed:
                    message = json.loads(ws.recv(timeout=WAIT))
                    if message["type"] == "order" and message["data"]["order_id"] == order_id:
                        pushed.append(message["data"]["status"])
            assert pushed == ["accepted", "queued", "handed_to_engine", "working", "filled"]
            order = viewer.get(f"/orders/{order_id}").json()
            assert order["engine_ref"] == group_id_for(order_id)
            groups = {group["group_id"]: group for group in viewer.get("/groups").json()}
            group = groups[group_id_for(order_id)]
            assert (group["status"], group["units"], group["balanced"]) == ("open", 2, True)
        assert node.stop(signal.SIGTERM) == 0
        assert "stopped; state saved" in node.errors()
    reopened = OrderQueue(Database(tmp_path / "state.sqlite"))
    assert reopened.get(order_id).status == "filled"


def _accepted(url: str, intent: dict) -> str:
    with httpx.Client(base_url=url + "/api/v1", headers=auth(TRADER), timeout=WAIT) as client:
        answer = client.post("/orders", json=intent)
        assert answer.status_code == 201, answer.text
        return answer.json()["order_id"]


def test_kill_9_then_restart_keeps_queue_and_templates_and_executes_nothing_twice(config: Path, tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite"
    with paper_node(config, db, tmp_path / "run-1") as node:
        with node.client(TRADER) as trader, node.client(ADMIN) as admin:
            filled = trader.post("/orders", json=spread_intent(trader, MARKET)).json()["order_id"]
            resting = trader.post("/orders", json=spread_intent(trader, RESTING, offset=-1)).json()["order_id"]
            eventually(lambda: order_status(trader, filled) == "filled", "the market order to fill")
            eventually(lambda: order_status(trader, resting) == "working", "the limit order to rest")
            filled_group = eventually(lambda: _settled(trader.get(f"/groups/{group_id_for(filled)}").json()), "legs")
            template = {
                "name": "daily spread",
                "order": spread_intent(trader, MARKET),
                "schedule": {"kind": "daily", "at": "10:00"},
            }
            template_id = admin.post("/templates", json=template).json()["template_id"]
            later = spread_intent(trader, MARKET)
            with ThreadPoolExecutor(BURST_CLIENTS) as pool:  # killed right after the last 201: some still queued
                burst = list(pool.map(lambda _: _accepted(node.url, later), range(BURST)))
        node.stop(signal.SIGKILL)

    store = Database(db)
    queue = OrderQueue(store)
    assert (queue.get(filled).status, queue.get(resting).status) == ("filled", "working")
    at_kill = {order_id: queue.get(order_id).status for order_id in burst}  # every 201 is on disk
    assert set(at_kill.values()) <= {"queued", "handed_to_engine", "working", "filled", "rejected", "failed"}
    assert [t.template_id for t in TemplateStore(store, ActionLog(store)).templates()] == [template_id]
    filled_history = queue.history(filled)
    queued = queue.submit(ORDER_INTENT.validate_python(later), "tom").order_id  # accepted just before the crash
    urgent = ORDER_INTENT.validate_python({**later, "priority": 0})
    handed = queue.submit(urgent, "tom").order_id
    assert queue.claim_next().order_id == handed  # claimed, then the crash came before its command went out
    store.close()

    with paper_node(config, db, tmp_path / "run-2") as node:
        with node.client(VIEWER) as viewer:

            def listed() -> dict[str, dict]:
                return {order["order_id"]: order for order in viewer.get("/orders", params={"limit": 100}).json()}

            requeued = [queued, *(o for o, status in at_kill.items() if status == "queued")]
            eventually(lambda: all(listed()[o]["status"] == "filled" for o in requeued), "the queued orders to fill")
            settled = listed()
            for order_id, status in at_kill.items():  # settled by the restored book, never sent again
                if status in ("handed_to_engine", "working"):
                    assert settled[order_id]["status"] in ("filled", "cancelled", "failed"), settled[order_id]
            # the resting order's venue order was cancelled by the restore; the hand-off the engine never saw failed
            assert settled[resting]["status"] == "cancelled" and settled[resting]["reason"].startswith(RESTORED)
            assert (settled[handed]["status"], settled[handed]["reason"]) == ("failed", RESTARTED)
            assert settled[filled]["status"] == "filled"
            assert [t["template_id"] for t in viewer.get("/templates").json()] == [template_id]
            # the book is the first run's plus what ran since: an order has a group iff it reached an engine, and
            # every filled opening filled once (2 units), none twice
            groups = {group["group_id"]: group for group in viewer.get("/groups").json()}
            assert _restorable(groups[group_id_for(filled)]) == filled_group
            ours = [filled, resting, handed, queued, *burst]
            for order_id in ours:  # a group when the order reached an engine, none when it never did
                order = settled[order_id]
                if order["status"] in ("filled", "cancelled"):
                    assert group_id_for(order_id) in groups, order
                elif order["status"] == "rejected" or order["reason"] == RESTARTED:
                    assert group_id_for(order_id) not in groups, order
            assert all(groups[group_id_for(o)]["opened_units"] == 2 for o in ours if settled[o]["status"] == "filled")
        assert node.stop(signal.SIGTERM) == 0
    queue = OrderQueue(Database(db))
    assert len(queue.history(filled)) == len(filled_history)
    assert all(
        queue.history(o) and [c.status for c in queue.history(o)].count("handed_to_engine") == 1 for o in requeued
    )
    assert all([c.status for c in queue.history(o)].count(OrderStatus.HANDED_TO_ENGINE) <= 1 for o in ours)


def _restorable(group: dict) -> dict:
    """A group without what the market's quotes change."""
    return {k: v for k, v in group.items() if k not in ("pnl", "greeks")}


def _settled(group: dict) -> dict | None:
    """The group once its legs are balanced and nothing works on it (no repair can change it before the kill)."""
    return _restorable(group) if group["balanced"] and group["working_orders"] == 0 else None
