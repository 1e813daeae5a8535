"""Upstream facts behind :mod:`hybrid.nautilus_compat.exec_engine`; each test fails once upstream changes it."""

from __future__ import annotations

import inspect

from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.live.execution_engine import LiveExecutionEngine

from hybrid.nautilus_compat.exec_engine import EXEC_ENDPOINT, exec_clients
from tests.nautilus_compat.conftest import SpreadRun

# The engine's public names about clients in 1.231: ids only, no client objects.
PUBLIC_CLIENT_API = {
    "default_client",
    "deregister_client",
    "get_clients_for_orders",
    "get_external_client_ids",
    "register_client",
    "register_default_client",
    "registered_clients",
    "stop_clients",
}


def test_registered_clients_are_still_only_reachable_through_the_readonly_clients_attribute(
    spread_run: SpreadRun,
) -> None:
    engine = spread_run.engine.kernel.exec_engine
    assert sorted(c.id for c in exec_clients(engine)) == engine.registered_clients
    public = {n for n in dir(ExecutionEngine) if "client" in n and not n.startswith("_")}
    assert public == PUBLIC_CLIENT_API  # a new accessor: exec_clients can use it instead


def test_venues_still_send_order_events_to_the_exec_engine_process_endpoint(spread_run: SpreadRun) -> None:
    assert EXEC_ENDPOINT in spread_run.engine.kernel.msgbus.endpoints()


def test_live_execution_engine_still_queues_events_and_records_local_activity_privately() -> None:
    """The sandbox's marketable spread orders fail because of the queue; once it is gone the swap can go."""
    assert LiveExecutionEngine.process is not ExecutionEngine.process
    assert "enqueue" in inspect.getsource(LiveExecutionEngine.process)
    assert list(inspect.signature(LiveExecutionEngine._record_local_activity).parameters) == ["self", "event"]
