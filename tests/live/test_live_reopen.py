"""A paper node over real HTTP on 127.0.0.1, as the browser tests drive it: an iron condor opened, closed in part,
then in full, and the same condor opened again on the same node. The new order must leave ``queued`` (handed to
the engine) and fill like the first: its spread is quoted by then, so it goes from accepted to filled at once,
which the browser saw as an order stuck in ``queued`` (its page missed the pushes made before it read the
answer to its POST; see ``followOrder`` in the UI's execution.js)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.live import (
    BOT,
    RISK_GATE,
    TRADER,
    eventually,
    history,
    order_status,
    paper_node,
    write_config,
)

pytestmark = pytest.mark.slow  # a run_live.py subprocess

MARKET = {"type": "market"}
LEFT_QUEUE = 30.0  # seconds: the longest an accepted order may wait for the drainer (it polls every 0.25 s)
FILLED = ["accepted", "queued", "handed_to_engine", "working", "filled"]


def condor(viewer: httpx.Client, units: int) -> dict:
    """The iron condor the UI's strategy page submits by default: the first expiry 20 DTE or more out, strikes
    three and one steps either side of the money among those quoted on both rights."""
    expiries = viewer.get("/chain/SPY/expiries").json()
    expiry = next((e for e in expiries if e["dte"] >= 20), expiries[0])["expiry"]
    chain = viewer.get("/chain/SPY/quotes", params={"expiry": expiry}).json()
    quoted = [
        {q["strike"] for q in chain["quotes"] if q["right"] == right and q["mid"] is not None}
        for right in ("call", "put")
    ]
    strikes = sorted(quoted[0] & quoted[1])
    atm = min(range(len(strikes)), key=lambda i: abs(strikes[i] - chain["spot"]["mid"]))
    return {
        "kind": "open",
        "underlying": "SPY",
        "units": units,
        "execution": MARKET,
        "structure": {
            "type": "catalogue",
            "strategy": "iron_condor",
            "strikes": [strikes[atm + step] for step in (-3, -1, 1, 3)],
            "expiries": [expiry],
        },
    }


def filled(viewer: httpx.Client, trader: httpx.Client, path: str, body: dict) -> str:
    """POST ``body`` to ``path``, then wait for the order to fill; its order id."""
    answer = trader.post(path, json=body)
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["order_id"]
    eventually(lambda: order_status(viewer, order_id) != "queued", f"order {order_id} handed over", LEFT_QUEUE)
    eventually(lambda: order_status(viewer, order_id) in ("filled", "rejected", "failed"), f"order {order_id} done")
    order = viewer.get(f"/orders/{order_id}").json()
    assert (order["status"], history(viewer, order_id)) == ("filled", FILLED), order
    return order_id


def group(viewer: httpx.Client, group_id: str) -> dict:
    return {g["group_id"]: g for g in viewer.get("/groups").json()}[group_id]


def test_a_condor_opened_after_the_last_close_of_the_same_condor_is_handed_over_and_fills(
    small_catalog: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, small_catalog)
    config.write_text(config.read_text() + RISK_GATE + BOT)  # the browser tests' node
    with paper_node(config, tmp_path / "state.sqlite", tmp_path / "node") as node:
        # reads under the trader's rate limit: the viewer's (10/s) is below this test's polling with the reads
        # between (a 429 answered the last order read in one CI run)
        with node.client(TRADER) as viewer, node.client(TRADER) as trader:
            first = filled(viewer, trader, "/orders", condor(viewer, units=2))
            group_id = viewer.get(f"/orders/{first}").json()["engine_ref"]
            assert (group(viewer, group_id)["status"], group(viewer, group_id)["units"]) == ("open", 2)
            filled(viewer, trader, f"/groups/{group_id}/close", {"execution": MARKET, "units": 1})
            eventually(lambda: group(viewer, group_id)["units"] == 1, f"group {group_id} at 1 unit")
            filled(viewer, trader, f"/groups/{group_id}/close", {"execution": MARKET})
            eventually(lambda: group(viewer, group_id)["status"] == "closed", f"group {group_id} closed")
            again = filled(viewer, trader, "/orders", condor(viewer, units=1))
            reopened = group(viewer, viewer.get(f"/orders/{again}").json()["engine_ref"])
            assert (reopened["status"], reopened["units"], reopened["balanced"]) == ("open", 1, True)
        assert node.errors().count("Traceback") == 0, node.errors()
