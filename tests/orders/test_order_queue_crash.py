"""Crash safety of the order queue: ``kill -9`` a submitter or a drainer, reopen, and check nothing is
lost and nothing reaches the engine twice.

The children are this module run as a script (``python -m tests.orders.test_order_queue_crash MODE ...``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hybrid.orders import OrderStatus as S
from hybrid.orders.queue import OrderQueue
from hybrid.store.db import Database
from tests.orders.test_order_queue import intent

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

ROOT = Path(__file__).resolve().parents[2]
SUBMITS = 150


def spawn(*args: str | Path, stdin: int | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.orders.test_order_queue_crash", *map(str, args)],
        cwd=ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(child: subprocess.Popen) -> str:
    line = child.stdout.readline()
    if not line:
        child.wait()
        pytest.fail(f"child ended early ({child.returncode}): {child.stderr.read()}")
    return line.strip()


def kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    child.stderr.close()
    if child.stdin:
        child.stdin.close()


def submitter(db_path: str, count: str) -> None:
    """Submit orders with idempotency keys k0, k1, ...; print each id once submit has returned."""
    queue = OrderQueue(Database(db_path))
    for i in range(int(count)):
        order = queue.submit(intent(priority=i % 4, key=f"k{i}", strike=400 + i))
        print(order.order_id, flush=True)


def engine_log(path: Path) -> list[str]:
    """What the stand-in engine received, in order (the engine's cache in a real node)."""
    return path.read_text().split() if path.exists() else []


def drainer(db_path: str, engine_path: str) -> None:
    """Claim, send to the engine, acknowledge; report each step and wait for a line on stdin to go on."""
    queue = OrderQueue(Database(db_path))
    while (order := queue.claim_next()) is not None:
        for step in ("claimed", "sent", "acked"):
            if step == "sent":
                with open(engine_path, "a") as engine:
                    engine.write(order.order_id + "\n")
                    engine.flush()
                    os.fsync(engine.fileno())
            elif step == "acked":
                queue.mark(order.order_id, S.WORKING, engine_ref=f"O-{order.seq}")
            print(step, order.order_id, flush=True)
            sys.stdin.readline()
    print("empty -", flush=True)


@pytest.mark.parametrize("seed", [11, 47])
def test_every_order_a_killed_submitter_accepted_is_on_disk_exactly_once(tmp_path, seed):
    db_path = tmp_path / "queue.sqlite"
    child = spawn("submit", db_path, SUBMITS)
    printed = [read_line(child) for _ in range(random.Random(seed).randint(1, SUBMITS - 1))]
    kill(child)

    queue = OrderQueue(Database(db_path))
    on_disk = queue.orders(limit=1000)
    assert len({o.order_id for o in on_disk}) == len(on_disk)
    by_id = {o.order_id: o for o in on_disk}
    assert set(printed) <= set(by_id)
    # Everything on disk was submitted in order; at most the kill cut off a print, never a row.
    assert sorted(o.idempotency_key for o in on_disk) == sorted(f"k{i}" for i in range(len(on_disk)))
    for order in on_disk:
        history = queue.history(order.order_id)
        assert [h.status for h in history] == [S.ACCEPTED, S.QUEUED]
        assert order.status == history[-1].status

    # The client did not hear back about the rest and retries all of them with the same keys.
    retried = [queue.submit(intent(priority=i % 4, key=f"k{i}", strike=400 + i)).order_id for i in range(SUBMITS)]
    assert retried[: len(printed)] == printed
    assert len(queue.orders(limit=1000)) == SUBMITS == len(set(retried))


@pytest.mark.parametrize("kill_points", [("claimed", "sent", "acked")])
def test_a_drainer_killed_between_claim_and_ack_never_sends_an_order_twice(tmp_path, kill_points):
    db_path, engine_path = tmp_path / "queue.sqlite", tmp_path / "engine.log"
    queue = OrderQueue(Database(db_path))
    submitted = [queue.submit(intent(priority=i % 3, strike=400 + i)).order_id for i in range(8)]

    def known_to_engine(order_id: str) -> bool:
        return order_id in engine_log(engine_path)

    for kill_at in kill_points:
        child = spawn("drain", db_path, engine_path, stdin=subprocess.PIPE)
        while True:
            step, order_id = read_line(child).split()
            if step == kill_at:
                break
            child.stdin.write("go\n")
            child.stdin.flush()
        kill(child)

        report = queue.recover(known_to_engine)  # the restart
        expected = {"claimed": ([order_id], []), "sent": ([], [order_id]), "acked": ([], [])}[kill_at]
        assert (report.requeued, report.working) == expected
        assert queue.get(order_id).status == (S.QUEUED if kill_at == "claimed" else S.WORKING)

    while (order := queue.claim_next()) is not None:  # the restarted engine drains the rest
        with open(engine_path, "a") as engine:
            engine.write(order.order_id + "\n")
        queue.mark(order.order_id, S.WORKING)

    assert Counter(engine_log(engine_path)) == Counter(submitted)
    assert {o.status for o in queue.orders()} == {S.WORKING}
    for order_id in submitted:
        assert [h.status for h in queue.history(order_id)].count(S.WORKING) == 1


if __name__ == "__main__":
    {"submit": submitter, "drain": drainer}[sys.argv[1]](*sys.argv[2:])
