"""Withdrawing and replacing orders, the premium sign and the tradeable chain, against one ``run_live.py`` paper
node over real HTTP and WebSocket on 127.0.0.1 (one node for the module: each test opens its own groups).

- a close limit takes the sign of the closing trade (debit +, credit -); the wrong sign is a 422 saying which
  sign it expects, and the group reports its premiums with the sign its limits take;
- a resting close is withdrawn by a cancel (the group is open and closable again) and replaced by a market
  close or a close-all; a working opening order is cancelled, not closed;
- a contract the chain lists but the engine would not trade (no two-sided quote) gets the same 422 from the
  preview and from a submission, and the chain's strikes say per contract whether it is quoted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from hybrid.live.queue_commands import group_id_for
from tests.support.live import (
    TRADER,
    VIEWER,
    WAIT,
    Node,
    auth,
    eventually,
    history,
    order_status,
    paper_node,
    spread_intent,
    write_config,
)

pytestmark = pytest.mark.slow  # a run_live.py subprocess

MARKET = {"type": "market"}
RESTING_OPEN = {"type": "limit", "price": 0.01}  # a debit spread bid at a cent: it rests
FAR_LIMIT = 50.0  # per share, far through any market of a small spread: a marketable limit


@pytest.fixture(scope="module")
def node(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    directory = tmp_path_factory.mktemp("live-commands")
    with paper_node(write_config(directory, small_catalog), directory / "state.sqlite", directory / "node") as node:
        yield node


@pytest.fixture
def trader(node: Node) -> Iterator[httpx.Client]:
    with node.client(TRADER) as client:
        yield client


def opened(trader: httpx.Client, intent: dict) -> dict:
    """Submit an open intent, wait for it to fill and return its group."""
    response = trader.post("/orders", json=intent)
    assert response.status_code == 201, response.text
    order_id = response.json()["order_id"]
    eventually(lambda: order_status(trader, order_id) == "filled", "the opening order to fill")
    return trader.get(f"/groups/{group_id_for(order_id)}").json()


def close(trader: httpx.Client, group_id: str, execution: dict) -> httpx.Response:
    return trader.post(f"/groups/{group_id}/close", json={"execution": execution})


def resting_close(trader: httpx.Client, group: dict) -> str:
    """A close of a long debit spread asking a credit no market pays: it rests, at the venue."""
    response = close(trader, group["group_id"], {"type": "limit", "price": -FAR_LIMIT})
    assert response.status_code == 201, response.text
    order_id = response.json()["order_id"]
    url = f"/groups/{group['group_id']}"
    eventually(lambda: trader.get(url).json()["working_orders"] == 1, "the close to rest")
    assert order_status(trader, order_id) == "working"
    return order_id


def test_a_close_limit_takes_the_sign_of_the_closing_trade_and_the_group_reports_that_sign(
    trader: httpx.Client,
) -> None:
    # sold: the spread opens for a credit, and closing it pays a debit (the issue's +4.60 limit / -4.29 exit)
    group = opened(trader, {**spread_intent(trader, MARKET, units=1), "side": "sell"})
    assert group["status"] == "open" and group["entry_premium"] < 0  # a credit received
    wrong = close(trader, group["group_id"], {"type": "limit", "price": -FAR_LIMIT})
    assert wrong.status_code == 422
    (error,) = wrong.json()["detail"]
    assert error["loc"] == ["body", "execution", "price"] and error["type"] == "limit_sign"
    assert "pays a debit now" in error["msg"] and "a positive number" in error["msg"]
    right = close(trader, group["group_id"], {"type": "limit", "price": FAR_LIMIT})
    assert right.status_code == 201, right.text
    order_id = right.json()["order_id"]
    eventually(lambda: order_status(trader, order_id) == "filled", "the close to fill")
    closed = eventually(
        lambda: (g := trader.get(f"/groups/{group['group_id']}").json())["status"] == "closed" and g, "the group"
    )
    assert 0 < closed["exit_premium"] <= FAR_LIMIT  # a debit paid, with the sign its limit took


def test_a_cancelled_close_leaves_the_group_open_and_a_later_close_works(node: Node, trader: httpx.Client) -> None:
    group = opened(trader, spread_intent(trader, MARKET, units=1))
    with connect(node.url.replace("http", "ws", 1) + "/ws", additional_headers=auth(VIEWER), proxy=None) as ws:
        assert json.loads(ws.recv(timeout=WAIT))["type"] == "snapshot"
        order_id = resting_close(trader, group)
        cancelled = trader.post(f"/orders/{order_id}/cancel", json={"reason": "changed my mind"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        pushed = []
        while "cancelled" not in pushed:
            message = json.loads(ws.recv(timeout=WAIT))
            if message["type"] == "order" and message["data"]["order_id"] == order_id:
                pushed.append(message["data"]["status"])
    assert pushed[-2:] == ["cancel_requested", "cancelled"]
    assert "working" not in history(trader, order_id)[-2:]  # never sent back to working
    again = trader.get(f"/groups/{group['group_id']}").json()
    assert (again["status"], again["units"], again["working_orders"]) == ("open", group["units"], 0)
    later = close(trader, group["group_id"], MARKET)
    assert later.status_code == 201, later.text
    eventually(lambda: order_status(trader, later.json()["order_id"]) == "filled", "the later close to fill")
    assert trader.post(f"/orders/{later.json()['order_id']}/cancel").status_code == 409  # filled: nothing to cancel


def test_a_market_close_replaces_a_resting_close(trader: httpx.Client) -> None:
    group = opened(trader, spread_intent(trader, MARKET, units=1))
    resting = resting_close(trader, group)
    market = close(trader, group["group_id"], MARKET)
    assert market.status_code == 201, market.text
    eventually(lambda: order_status(trader, market.json()["order_id"]) == "filled", "the market close to fill")
    replaced = trader.get(f"/orders/{resting}").json()
    assert replaced["status"] == "cancelled" and "superseded by order" in replaced["reason"]
    assert trader.get(f"/groups/{group['group_id']}").json()["status"] == "closed"


def test_cancelling_a_working_opening_order_cancels_it_and_sends_no_close(trader: httpx.Client) -> None:
    response = trader.post("/orders", json=spread_intent(trader, RESTING_OPEN, offset=-1))
    order_id = response.json()["order_id"]
    group_url = f"/groups/{group_id_for(order_id)}"
    eventually(lambda: trader.get(group_url).json().get("working_orders") == 1, "the opening order to rest")
    cancelled = trader.post(f"/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["reason"]) == ("cancelled", "cancelled with 0 of 2 filled")
    group = trader.get(group_url).json()
    assert group["status"] == "unfilled" and len(group["orders"]) == 1  # the opening order alone: no close
    again = trader.post(f"/orders/{order_id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]["message"]


def test_a_listed_but_unquoted_strike_gets_the_same_422_from_preview_and_submit(trader: httpx.Client) -> None:
    quotes = trader.get("/chain/SPY/quotes", params={"right": "call"}).json()["quotes"]
    unquoted = next(q for q in quotes if q["bid"] is None)  # listed later in the session: no quote yet
    expiry, strike = unquoted["expiry"], unquoted["strike"]
    intent = {
        "kind": "open",
        "underlying": "SPY",
        "units": 1,
        "execution": MARKET,
        "structure": {"type": "legs", "legs": [{"kind": "call", "strike": strike, "expiry": expiry, "quantity": 1}]},
    }
    preview = trader.post("/analysis/preview", json=intent)
    submit = trader.post("/orders", json=intent)
    assert (preview.status_code, submit.status_code) == (422, 422)
    (previewed,) = preview.json()["detail"]
    (submitted,) = submit.json()["detail"]
    assert previewed["type"] == submitted["type"] == "not_tradeable"
    assert previewed["msg"] == submitted["msg"] and "no quote" in submitted["msg"]
    assert submitted["loc"] == ["body", "open", "structure", "legs", "legs", 0, "strike"]
    listed = trader.get("/chain/SPY/strikes", params={"expiry": expiry, "right": "call"}).json()
    contracts = {contract["strike"]: contract for contract in listed["contracts"]}
    assert [c["strike"] for c in listed["contracts"]] == listed["strikes"]
    assert contracts[strike]["quoted"] is False and "no quote" in contracts[strike]["reason"]
    quoted = next(q for q in quotes if q["expiry"] == expiry and q["bid"] is not None)
    assert contracts[quoted["strike"]] | {"instrument_id": None} == {
        "strike": quoted["strike"],
        "instrument_id": None,
        "quoted": True,
        "reason": None,
    }


def test_close_all_replaces_resting_closes(trader: httpx.Client) -> None:
    """Last: it closes every open group of the node."""
    group = opened(trader, spread_intent(trader, MARKET, units=1))
    resting = resting_close(trader, group)
    response = trader.post("/groups/close-all", json={"execution": MARKET})
    assert response.status_code == 201, response.text
    (order,) = [o for o in response.json()["orders"] if o["intent"]["group_id"] == group["group_id"]]
    eventually(lambda: order_status(trader, order["order_id"]) == "filled", "the close-all order to fill")
    assert order_status(trader, resting) == "cancelled"
    assert trader.get(f"/groups/{group['group_id']}").json()["status"] == "closed"
