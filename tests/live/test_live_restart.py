"""The paper book survives a restart, as a broker account does, over real HTTP against ``run_live.py`` on 127.0.0.1:
groups (open, closed and one with a resting order), their legs, entry and exit premiums and statuses, the positions
and the account balance read the same after SIGTERM and a start on the same state directory; the resting order
is cancelled at the restart (journalled, with its reason), and the filled orders stay filled."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from hybrid.live.drainer import RESTORED
from hybrid.live.queue_commands import group_id_for
from tests.support.live import (
    TRADER,
    VIEWER,
    eventually,
    history,
    order_status,
    paper_node,
    spread_intent,
    write_config,
)

pytestmark = pytest.mark.slow  # two run_live.py subprocesses

MARKET = {"type": "market"}
RESTING = {"type": "limit", "price": 0.01}  # a debit spread bid at a cent: it rests
MARKET_DEPENDENT_GROUP = {"pnl", "greeks", "working_orders"}  # marks move; the working order is cancelled
MARKET_DEPENDENT_POSITION = {"mark", "unrealized_pnl", "greeks"}


def book(client: httpx.Client) -> dict:
    """What the API shows of the paper book, without what the market's quotes change."""
    groups = {
        group["group_id"]: {k: v for k, v in group.items() if k not in MARKET_DEPENDENT_GROUP}
        for group in client.get("/groups").json()
    }
    positions = {
        position["position_id"]: {k: v for k, v in position.items() if k not in MARKET_DEPENDENT_POSITION}
        for position in client.get("/positions").json()
    }
    accounts = [(a["account_id"], a["currency"], a["total"]) for a in client.get("/portfolio").json()["accounts"]]
    return {"groups": groups, "positions": positions, "accounts": accounts}


def quiet(client: httpx.Client, group_id: str) -> bool:
    group = client.get(f"/groups/{group_id}").json()
    return group["balanced"] and group["working_orders"] == 0


def submit(client: httpx.Client, intent: dict) -> str:
    answer = client.post("/orders", json=intent)
    assert answer.status_code == 201, answer.text
    return answer.json()["order_id"]


def test_sigterm_then_start_shows_the_same_paper_book(small_catalog: Path, tmp_path: Path) -> None:
    config, db = write_config(tmp_path, small_catalog), tmp_path / "state.sqlite"
    with paper_node(config, db, tmp_path / "run-1") as node, node.client(TRADER) as trader:
        # two groups on the same legs: their NETTING positions (per instrument) add up, then the close nets one out
        held, closed, resting = (
            submit(trader, spread_intent(trader, execution, offset=offset))
            for execution, offset in ((MARKET, 0), (MARKET, 0), (RESTING, -1))
        )
        for order_id in (held, closed):
            eventually(lambda o=order_id: order_status(trader, o) == "filled", "the market orders to fill")
        eventually(lambda: order_status(trader, resting) == "working", "the limit order to rest")
        closing = trader.post(f"/groups/{group_id_for(closed)}/close", json={"execution": MARKET}).json()["order_id"]
        eventually(lambda: order_status(trader, closing) == "filled", "the close to fill")
        eventually(lambda: trader.get(f"/groups/{group_id_for(resting)}").json()["working_orders"] == 1, "a rest")
        for order_id in (held, closed):  # no repair left to change a group before the stop
            eventually(lambda o=order_id: quiet(trader, group_id_for(o)), "the group's legs to settle")
        before = book(trader)
        statuses = {o: order_status(trader, o) for o in (held, closed, closing)}
        assert node.stop(signal.SIGTERM) == 0

    with paper_node(config, db, tmp_path / "run-2") as node, node.client(VIEWER) as viewer:
        after = book(viewer)
        assert after == before
        assert {group: g["status"] for group, g in after["groups"].items()} == {
            group_id_for(held): "open",
            group_id_for(closed): "closed",
            group_id_for(resting): "unfilled",
        }
        assert len(after["positions"]) == 2 and after["accounts"][0][2] != 100_000  # the held legs; commissions
        assert {o: order_status(viewer, o) for o in statuses} == statuses == dict.fromkeys(statuses, "filled")
        cancelled = viewer.get(f"/orders/{resting}").json()
        assert cancelled["status"] == "cancelled" and cancelled["reason"].startswith(RESTORED), cancelled
        assert history(viewer, resting).count("handed_to_engine") == 1
        assert viewer.get(f"/groups/{group_id_for(resting)}").json()["working_orders"] == 0
        assert node.stop(signal.SIGTERM) == 0
