"""Groups restored after a restart are managed, as a broker account's are, over real HTTP against ``run_live.py``
on 127.0.0.1: after SIGTERM (or kill -9) and a start on the same state directory, the order desk takes its open
groups over, so a close fills and leaves the group closed with its exit premium and its legs flat, a partial
close leaves the rest held, a roll closes the group and opens its child, and close-all closes every restored
group."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from hybrid.live.queue_commands import group_id_for
from tests.live.test_live_restart import MARKET, quiet, submit
from tests.support.live import TRADER, eventually, order_status, paper_node, spread_intent, write_config

pytestmark = pytest.mark.slow  # two run_live.py subprocesses per test

EXECUTION = {"execution": MARKET}


def opened(client: httpx.Client, offsets: tuple[int, ...]) -> list[str]:
    """Bull call spreads ``offsets`` strike steps from the middle, opened at market, filled and balanced."""
    orders = [submit(client, spread_intent(client, MARKET, offset=offset)) for offset in offsets]
    for order_id in orders:
        eventually(lambda o=order_id: order_status(client, o) == "filled", "an opening order to fill")
        eventually(lambda o=order_id: quiet(client, group_id_for(o)), "the group's legs to settle")
    return [group_id_for(order_id) for order_id in orders]


def filled(client: httpx.Client, answer: httpx.Response) -> dict:
    """The queue order of an accepted request, once it is filled (failing at once when it is not accepted)."""
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["order_id"]

    def done() -> dict | None:
        order = client.get(f"/orders/{order_id}").json()
        assert order["status"] not in ("rejected", "failed", "cancelled"), order
        return order if order["status"] == "filled" else None

    return eventually(done, f"order {order_id} to fill")


def assert_closed(client: httpx.Client, group_id: str) -> dict:
    """The group reads closed, with an exit premium and every leg flat, and the positions (per instrument,
    netted across groups) hold exactly what the open groups' legs hold."""
    group = eventually(
        lambda: (g := client.get(f"/groups/{group_id}").json())["status"] == "closed" and quiet(client, group_id) and g,
        f"group {group_id} to close",
    )
    assert group["exit_premium"] is not None, group
    assert all(leg["filled_quantity"] == 0 for leg in group["legs"]), group
    expected: dict[str, float] = {}
    for open_group in client.get("/groups").json():
        for leg in open_group["legs"] if open_group["status"] == "open" else ():
            expected[leg["instrument_id"]] = expected.get(leg["instrument_id"], 0) + leg["filled_quantity"]
    held = {p["instrument_id"]: p["quantity"] for p in client.get("/positions").json() if p["quantity"] != 0}
    assert held == {i: q for i, q in expected.items() if q != 0}
    return group


def test_restored_groups_close_roll_and_close_all_after_sigterm(small_catalog: Path, tmp_path: Path) -> None:
    config, db = write_config(tmp_path, small_catalog), tmp_path / "state.sqlite"
    with paper_node(config, db, tmp_path / "run-1") as node, node.client(TRADER) as trader:
        closing, rolling, remaining = opened(trader, (-1, 0, 0))
        assert node.stop(signal.SIGTERM) == 0

    with paper_node(config, db, tmp_path / "run-2") as node, node.client(TRADER) as trader:
        assert {g: trader.get(f"/groups/{g}").json()["status"] for g in (closing, rolling, remaining)} == dict.fromkeys(
            (closing, rolling, remaining), "open"
        )
        # (a) a close of a restored group fills and closes it
        filled(trader, trader.post(f"/groups/{closing}/close", json=EXECUTION))
        assert_closed(trader, closing)

        # (b) a roll of a restored group closes it and opens its child, at the latest expiry
        later = trader.get("/chain/SPY/expiries").json()[-1]["expiry"]
        roll = filled(trader, trader.post(f"/groups/{rolling}/roll", json={**EXECUTION, "expiries": [later]}))
        child = roll["engine_ref"]
        assert child != rolling
        assert_closed(trader, rolling)
        eventually(lambda: trader.get(f"/groups/{child}").json()["status"] == "open", "the rolled group to open")
        eventually(lambda: quiet(trader, child), "the rolled group's legs to settle")

        # a partial close of a restored group leaves the rest held
        filled(trader, trader.post(f"/groups/{remaining}/close", json={**EXECUTION, "units": 1}))
        eventually(lambda: quiet(trader, remaining), "the partly closed group's legs to settle")
        assert trader.get(f"/groups/{remaining}").json()["units"] == 1

        # (c) close-all closes every open group: the restored one and the roll's child
        answer = trader.post("/groups/close-all", json=EXECUTION)
        assert answer.status_code == 201, answer.text
        orders = answer.json()["orders"]
        assert {o["intent"]["group_id"] for o in orders} == {remaining, child}
        for order in orders:
            eventually(lambda o=order["order_id"]: order_status(trader, o) == "filled", "a close-all order to fill")
        for group_id in (remaining, child):
            assert_closed(trader, group_id)
        assert [g for g in trader.get("/groups").json() if g["status"] == "open"] == []
        assert node.stop(signal.SIGTERM) == 0


def test_restored_group_closes_after_kill_9(small_catalog: Path, tmp_path: Path) -> None:
    config, db = write_config(tmp_path, small_catalog), tmp_path / "state.sqlite"
    with paper_node(config, db, tmp_path / "run-1") as node, node.client(TRADER) as trader:
        (group_id,) = opened(trader, (0,))
        before = trader.get(f"/groups/{group_id}").json()
        assert node.stop(signal.SIGKILL) == -signal.SIGKILL

    with paper_node(config, db, tmp_path / "run-2") as node, node.client(TRADER) as trader:
        restored = trader.get(f"/groups/{group_id}").json()
        assert (restored["status"], restored["units"], restored["entry_premium"]) == (
            "open",
            before["units"],
            before["entry_premium"],
        )
        filled(trader, trader.post(f"/groups/{group_id}/close", json=EXECUTION))
        closed = assert_closed(trader, group_id)
        assert closed["entry_premium"] == before["entry_premium"]
        assert node.stop(signal.SIGTERM) == 0
