"""The API's front door on a running paper node, over real HTTP and WebSocket on 127.0.0.1: strict input (NaN,
Infinity, 1e400, duplicate keys, no bool or string numbers), a body cap and auth decided before any body is
read, bounded error bodies, ``/livez``, tokens in URLs refused, WebSocket refusals as 1008 closes with a reason,
a WebSocket cap per token, rate-limited refusal logging, the documented error statuses, close-all replays and
non-negative times to fill. One ``run_live.py`` serves the whole module."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import ClientConnection, connect

from hybrid.api.gate import MAX_BODY_BYTES
from hybrid.api.ws import DEFAULT_MAX_PER_TOKEN
from hybrid.live.queue_commands import group_id_for
from tests.support.live import (
    ADMIN,
    TRADER,
    VIEWER,
    WAIT,
    Node,
    auth,
    eventually,
    order_status,
    paper_node,
    spread_intent,
    write_config,
)

pytestmark = pytest.mark.slow  # a run_live.py subprocess for the module

MARKET = {"type": "market"}


@pytest.fixture(scope="module")
def node(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    workdir = tmp_path_factory.mktemp("live-guard")
    with paper_node(write_config(workdir, small_catalog), workdir / "state.sqlite", workdir / "node") as running:
        yield running


@pytest.fixture(scope="module")
def intent(node: Node) -> dict:
    """A valid market open of a listed spread, to spoil one field at a time."""
    with node.client(ADMIN) as admin:
        return spread_intent(admin, MARKET)


def post_raw(node: Node, body: str, token: str = TRADER) -> httpx.Response:
    headers = {**auth(token), "Content-Type": "application/json"}
    return httpx.post(f"{node.url}/api/v1/orders", content=body.encode(), headers=headers, timeout=10.0)


def locs(response: httpx.Response) -> list[list]:
    return [error["loc"] for error in response.json()["detail"]]


def test_a_close_all_resent_with_its_key_returns_the_first_orders(node: Node) -> None:
    with node.client(TRADER) as trader:
        opened = trader.post("/orders", json=spread_intent(trader, MARKET)).json()["order_id"]
        eventually(lambda: order_status(trader, opened) == "filled", "the opening order to fill")
        body = {"execution": MARKET, "idempotency_key": "close-everything"}
        first = trader.post("/groups/close-all", json=body)
        assert first.status_code == 201
        closes = [order["order_id"] for order in first.json()["orders"]]
        assert group_id_for(opened) in {order["intent"]["group_id"] for order in first.json()["orders"]}
        eventually(lambda: all(order_status(trader, close) == "filled" for close in closes), "the closes to fill")
        again = trader.post("/groups/close-all", json=body)
        assert again.status_code == 201
        assert [order["order_id"] for order in again.json()["orders"]] == closes
        other = trader.post("/groups/close-all", json={**body, "execution": {"type": "limit", "price": 0.5}})
        assert other.status_code == 409


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_422_naming_the_field(node: Node, intent: dict, number: str) -> None:
    body = json.dumps({**intent, "execution": {"type": "limit", "price": 1.0}}).replace("1.0", number)
    response = post_raw(node, body)
    assert response.status_code == 422, response.text
    assert locs(response) == [["body", "execution", "price"]]
    assert response.json()["detail"][0]["type"] == "finite_number"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"units": True}, ["body", "open", "units"]),
        ({"units": "1"}, ["body", "open", "units"]),
        ({"execution": {"type": "limit", "price": "1.5"}}, ["body", "open", "execution", "limit", "price"]),
        ({"execution": {"type": "limit", "price": False}}, ["body", "open", "execution", "limit", "price"]),
    ],
)
def test_numbers_are_numbers_not_bools_or_strings(node: Node, intent: dict, change: dict, loc: list) -> None:
    response = post_raw(node, json.dumps({**intent, **change}))
    assert response.status_code == 422, response.text
    assert loc in locs(response)


def test_a_key_given_twice_is_422_naming_it(node: Node, intent: dict) -> None:
    body = json.dumps({**intent, "units": 1})[:-1] + ', "units": 99}'
    response = post_raw(node, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [
        {"type": "duplicate_key", "loc": ["body"], "msg": "the key 'units' is given twice", "input": "units"}
    ]


def test_errors_echo_a_bounded_slice_of_a_large_input(node: Node, intent: dict) -> None:
    big = "A" * (MAX_BODY_BYTES // 3 - 4096)
    response = post_raw(node, json.dumps({**intent, "underlying": big, "client_metadata": {big: big}}))
    assert response.status_code == 422
    assert len(response.content) < 4096  # against a body of a quarter megabyte


def _first_line(node: Node, request: bytes) -> str:
    """The status line the node answers ``request`` (headers and part of a body) with, read at once."""
    address = urlsplit(node.url)
    with socket.create_connection((address.hostname, address.port), timeout=WAIT) as raw:
        raw.sendall(request)
        return raw.recv(4096).decode("latin-1").split("\r\n")[0]


def _huge_post(token: str | None) -> bytes:
    bearer = f"Authorization: Bearer {token}\r\n" if token else ""
    head = f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n{bearer}Content-Type: application/json\r\n"
    return f"{head}Content-Length: 52000000\r\n\r\n".encode() + b'{"kind": "open", ' + b" " * 1000


def test_an_anonymous_body_is_refused_401_before_it_is_read(node: Node) -> None:
    # 52 MB announced, 1 kB sent: a server reading bodies before auth would wait here for the rest
    assert _first_line(node, _huge_post(None)) == "HTTP/1.1 401 Unauthorized"


def test_a_body_over_the_cap_is_413_by_its_length_or_as_it_streams(node: Node) -> None:
    assert _first_line(node, _huge_post(TRADER)) == "HTTP/1.1 413 Request Entity Too Large"

    def chunks() -> Iterator[bytes]:
        yield b'{"kind": "open", "underlying": "'
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b"A" * 4096

    streamed = httpx.post(f"{node.url}/api/v1/orders", content=chunks(), headers=auth(TRADER), timeout=10.0)
    assert streamed.status_code == 413
    assert streamed.json()["detail"]["error"] == "too_large"
    with node.client(VIEWER) as viewer:
        assert viewer.get("/health").status_code == 200


def test_livez_needs_no_token_and_says_nothing_else(node: Node) -> None:
    response = httpx.get(f"{node.url}/livez", timeout=10.0)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("query", [f"token={VIEWER}", "access_token=x"])
def test_a_token_in_the_url_is_400(node: Node, query: str) -> None:
    response = httpx.get(f"{node.url}/api/v1/health?{query}", headers=auth(VIEWER), timeout=10.0)
    assert response.status_code == 400
    assert response.json()["detail"]["error"] == "token_in_url"


def _ws(node: Node, path: str = "/ws", headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(node.url.replace("http", "ws", 1) + path, additional_headers=headers or {}, proxy=None)


@pytest.mark.parametrize(("path", "headers"), [("/ws", {}), ("/ws", auth("y" * 43)), (f"/ws?token={VIEWER}", {})])
def test_a_refused_websocket_is_closed_with_1008_and_a_reason(node: Node, path: str, headers: dict) -> None:
    with _ws(node, path, headers) as ws, pytest.raises(ConnectionClosedError) as closed:
        ws.recv(timeout=WAIT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008 and "token" in closed.value.rcvd.reason


def test_one_token_holds_a_bounded_number_of_websockets(node: Node) -> None:
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(_ws(node, headers=auth(ADMIN))) for _ in range(DEFAULT_MAX_PER_TOKEN)]
        for ws in held:
            assert json.loads(ws.recv(timeout=WAIT))["type"] == "snapshot"
        with _ws(node, headers=auth(ADMIN)) as extra, pytest.raises(ConnectionClosedError) as closed:
            extra.recv(timeout=WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert f"already holds {DEFAULT_MAX_PER_TOKEN} connections" in closed.value.rcvd.reason
        with _ws(node, headers=auth(VIEWER)) as other:  # another token is not held back
            assert json.loads(other.recv(timeout=WAIT))["type"] == "snapshot"
    eventually(lambda: _snapshot_with(node, ADMIN), "a connection freed by the closes to be usable again")


def _snapshot_with(node: Node, token: str) -> bool:
    try:
        with _ws(node, headers=auth(token)) as ws:
            return json.loads(ws.recv(timeout=WAIT))["type"] == "snapshot"
    except ConnectionClosedError:
        return False


def test_refusals_are_logged_at_a_bounded_rate(node: Node) -> None:
    before = node.errors().count("refused ")
    for _ in range(40):
        assert httpx.get(f"{node.url}/api/v1/health", timeout=10.0).status_code == 401
    assert node.errors().count("refused ") - before <= 2


def test_the_openapi_document_gives_every_guarded_status(node: Node) -> None:
    with node.client(VIEWER) as viewer:
        document = viewer.get(f"{node.url}/openapi.json").json()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            wanted = {"400"} if path == "/livez" else {"400", "401", "403", "413", "429"}
            assert wanted <= set(operation["responses"]), f"{method.upper()} {path}"


def test_times_to_fill_are_measured_on_one_clock(node: Node) -> None:
    # Two rungs (the mid, then the natural), and at the deadline one more try at the natural: a fill comes
    # whatever the replayed market does. Without a limit the ladder's bound is the natural when the group was
    # opened, and the replay (600x) can move a spread's market above it within the deadline: every attempt then
    # rests, nothing fills and no time to fill is ever measured. The spread's width bounds what it can be worth.
    execution = {"type": "two_part", "ladder_steps": 1, "deadline_seconds": 20, "on_deadline": "complete"}
    with node.client(TRADER) as trader:
        intent = spread_intent(trader, execution)
        low, high = intent["structure"]["strikes"]
        intent["execution"]["limit_price"] = high - low
        started = time.monotonic()
        assert trader.post("/orders", json=intent).status_code == 201

        def times() -> list[float]:
            rows = trader.get("/fill-stats").json()
            return [row["avg_time_to_fill_s"] for row in rows if row["avg_time_to_fill_s"] is not None]

        measured = eventually(times, "the two-part order's fills in the statistics", timeout=WAIT * 2)
        elapsed = time.monotonic() - started
    # on one clock a fill comes after its submission and within the time this test watched it happen
    assert 0 <= min(measured) <= max(measured) <= elapsed, (measured, elapsed)
