"""The persistent order queue: priority then FIFO, a journal of every change, idempotent submits."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.orders import OrderStatus as S
from hybrid.orders.intents import ORDER_INTENT
from hybrid.orders.queue import IdempotencyConflict, OrderNotFound, OrderQueue
from hybrid.orders.status import TRANSITIONS, IllegalTransition
from hybrid.store.db import Database


def intent(priority: int = 5, key: str | None = None, strike: float = 440, units: int = 1):
    return ORDER_INTENT.validate_python(
        {
            "kind": "open",
            "underlying": "SPY",
            "units": units,
            "priority": priority,
            "idempotency_key": key,
            "execution": {"type": "limit", "price": -1.2},
            "structure": {
                "type": "legs",
                "legs": [{"kind": "put", "strike": strike, "expiry": "2024-06-21", "quantity": -1}],
            },
        }
    )


class Ticker:
    """A clock that moves one microsecond per reading, so journal times are distinct and ordered."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000_000_000

    def __call__(self) -> int:
        self.now += 1_000
        return self.now


@pytest.fixture
def queue(tmp_path):
    db = Database(tmp_path / "queue.sqlite")
    yield OrderQueue(db, clock=Ticker())
    db.close()


def statuses(queue: OrderQueue, order_id: str) -> list[str]:
    return [change.status for change in queue.history(order_id)]


def test_a_submitted_order_is_queued_on_disk_with_its_journal(tmp_path):
    path = tmp_path / "queue.sqlite"
    db = Database(path)
    order = OrderQueue(db).submit(intent(), submitted_by="alice")
    db.close()

    reopened = OrderQueue(Database(path))
    stored = reopened.get(order.order_id)
    assert stored == order
    assert stored.status == S.QUEUED and stored.submitted_by == "alice"
    assert stored.intent == intent()
    history = reopened.history(order.order_id)
    assert [(h.previous, h.status) for h in history] == [(None, S.ACCEPTED), (S.ACCEPTED, S.QUEUED)]


def test_claims_follow_priority_then_acceptance_order(queue):
    ids = {}
    for name, priority in [("a", 5), ("b", 1), ("c", 5), ("d", 0), ("e", 1)]:
        ids[queue.submit(intent(priority=priority)).order_id] = name
    claimed = [ids[queue.claim_next().order_id] for _ in range(5)]
    assert claimed == ["d", "b", "e", "a", "c"]
    assert queue.claim_next() is None
    assert {o.status for o in queue.orders()} == {S.HANDED_TO_ENGINE}


def test_same_key_and_payload_returns_the_same_order_and_a_different_payload_conflicts(queue):
    first = queue.submit(intent(key="abc"), submitted_by="alice")
    again = queue.submit(intent(key="abc"), submitted_by="alice")
    assert again == first
    assert statuses(queue, first.order_id) == [S.ACCEPTED, S.QUEUED]
    with pytest.raises(IdempotencyConflict, match=f"already used for order {first.order_id}") as caught:
        queue.submit(intent(key="abc", units=2), submitted_by="alice")
    assert caught.value.order_id == first.order_id
    other_client = queue.submit(intent(key="abc"), submitted_by="bob")
    assert other_client.order_id != first.order_id
    assert len(queue.orders()) == 2


def test_an_idempotent_resubmit_returns_the_order_as_it_is_now(queue):
    first = queue.submit(intent(key="k"))
    queue.claim_next()
    assert queue.submit(intent(key="k")).status == S.HANDED_TO_ENGINE
    assert len(queue.orders()) == 1 and first.status == S.QUEUED


def test_the_engine_reports_progress_through_legal_transitions(queue):
    order_id = queue.submit(intent()).order_id
    queue.claim_next()
    queue.mark(order_id, S.WORKING, engine_ref="O-1")
    queue.mark(order_id, S.PARTIALLY_FILLED, reason="1/3 units")
    queue.mark(order_id, S.PARTIALLY_FILLED, reason="2/3 units")
    done = queue.mark(order_id, "filled", reason="3/3 units")
    assert done.status == S.FILLED and done.engine_ref == "O-1" and done.reason == "3/3 units"
    history = queue.history(order_id)
    assert [h.status for h in history] == [
        S.ACCEPTED,
        S.QUEUED,
        S.HANDED_TO_ENGINE,
        S.WORKING,
        S.PARTIALLY_FILLED,
        S.PARTIALLY_FILLED,
        S.FILLED,
    ]
    assert [h.reason for h in history[-3:]] == ["1/3 units", "2/3 units", "3/3 units"]
    assert all(a.at < b.at for a, b in itertools.pairwise(history))
    assert all(h.previous == p.status for p, h in itertools.pairwise(history))


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], S.WORKING),
        ([], S.FILLED),
        ([S.HANDED_TO_ENGINE], S.QUEUED),
        ([S.HANDED_TO_ENGINE, S.WORKING], S.REJECTED),
        ([S.HANDED_TO_ENGINE, S.FILLED], S.CANCELLED),
        ([S.HANDED_TO_ENGINE, S.REJECTED], S.WORKING),
    ],
)
def test_illegal_transitions_are_refused_and_leave_no_trace(queue, path, illegal):
    order_id = queue.submit(intent()).order_id
    for status in path:
        queue.claim_next() if status == S.HANDED_TO_ENGINE else queue.mark(order_id, status)
    before = queue.history(order_id)
    with pytest.raises(IllegalTransition, match=f"cannot go from .* to {illegal}"):
        queue.mark(order_id, illegal)
    assert queue.history(order_id) == before


def test_every_status_has_an_entry_in_the_transition_table():
    assert set(TRANSITIONS) == set(S)
    assert {s for s, nexts in TRANSITIONS.items() if not nexts} == {S.FILLED, S.CANCELLED, S.REJECTED, S.FAILED}


def test_unknown_orders_and_statuses_are_clear_errors(queue):
    with pytest.raises(OrderNotFound, match="no order with id 'nope'"):
        queue.get("nope")
    with pytest.raises(OrderNotFound):
        queue.mark("nope", S.WORKING)
    with pytest.raises(OrderNotFound):
        queue.history("nope")
    with pytest.raises(OrderNotFound):
        queue.cancel("nope")
    order_id = queue.submit(intent()).order_id
    with pytest.raises(ValueError, match="unknown order status 'done'; one of: accepted, queued, handed_to_engine"):
        queue.mark(order_id, "done")
    with pytest.raises(ValueError, match="unknown order status 'open'"):
        queue.orders(status="open")


def test_cancel_is_immediate_in_the_queue_and_a_request_once_the_engine_holds_it(queue):
    waiting = queue.submit(intent(priority=0)).order_id
    held = queue.submit(intent(priority=1)).order_id
    assert queue.cancel(waiting, reason="cancelled by alice").status == S.CANCELLED
    assert queue.claim_next().order_id == held  # a cancelled order is never handed over
    queue.mark(held, S.WORKING)
    requested = queue.cancel(held)
    assert requested.status == S.CANCEL_REQUESTED
    assert queue.cancel(held) == requested  # asking twice changes nothing
    assert queue.mark(held, S.WORKING, reason="venue refused the cancel").status == S.WORKING
    queue.cancel(held)
    assert queue.mark(held, S.CANCELLED).status == S.CANCELLED
    with pytest.raises(IllegalTransition, match="already cancelled"):
        queue.cancel(held)
    assert statuses(queue, waiting) == [S.ACCEPTED, S.QUEUED, S.CANCELLED]


def test_recover_requeues_only_what_the_engine_never_saw(queue):
    ids = [queue.submit(intent(priority=p)).order_id for p in range(5)]
    seen, unseen, cancelled_unseen, cancelled_seen, later = ids
    for _ in range(4):
        queue.claim_next()
    queue.cancel(cancelled_unseen)
    queue.cancel(cancelled_seen)
    engine = {seen, cancelled_seen}

    report = queue.recover(lambda order_id: order_id in engine)

    assert report.working == [seen] and report.requeued == [unseen] and report.cancelled == [cancelled_unseen]
    assert queue.get(seen).status == S.WORKING
    assert queue.get(cancelled_seen).status == S.CANCEL_REQUESTED  # the engine still has to act on it
    assert queue.get(unseen).reason == "recovered: the engine never received it"
    assert [queue.claim_next().order_id for _ in range(2)] == [unseen, later]  # back in its place


def test_recover_with_nothing_in_flight_changes_nothing(queue):
    order_id = queue.submit(intent()).order_id
    report = queue.recover(lambda _: pytest.fail("nothing in flight to ask about"))
    assert report.model_dump() == {"requeued": [], "working": [], "cancelled": []}
    assert statuses(queue, order_id) == [S.ACCEPTED, S.QUEUED]


def test_listeners_see_every_change_once_in_order(queue):
    seen = []
    unsubscribe = queue.subscribe(seen.append)
    queue.subscribe(lambda change: 1 / 0)  # a broken listener does not stop the queue or the others
    order_id = queue.submit(intent()).order_id
    queue.claim_next()
    queue.mark(order_id, S.WORKING)
    unsubscribe()
    queue.mark(order_id, S.FILLED)
    assert [(c.order_id, c.status) for c in seen] == [
        (order_id, S.ACCEPTED),
        (order_id, S.QUEUED),
        (order_id, S.HANDED_TO_ENGINE),
        (order_id, S.WORKING),
    ]
    assert seen == queue.history(order_id)[:4]


def test_listing_filters_by_status_and_pages_newest_first(queue):
    ids = [queue.submit(intent(priority=9 - i)).order_id for i in range(5)]
    queue.claim_next()
    assert [o.order_id for o in queue.orders()] == ids[::-1]
    assert [o.order_id for o in queue.orders(status=S.HANDED_TO_ENGINE)] == [ids[4]]
    assert [o.order_id for o in queue.orders(status="queued", limit=2, offset=1)] == [ids[2], ids[1]]
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        with pytest.raises(ValueError, match=r"limit|offset"):
            queue.orders(**bad)


def test_two_drainers_never_claim_the_same_order(tmp_path):
    path = tmp_path / "queue.sqlite"
    queue = OrderQueue(Database(path))
    submitted = {queue.submit(intent(priority=i % 3)).order_id for i in range(200)}
    claimed: list[list[str | None]] = [[], []]
    race = threading.Barrier(2)  # every round both drainers claim at the same moment

    def drain(out: list[str | None]) -> None:
        own = OrderQueue(Database(path))  # a connection of its own, as a second process would have
        try:
            for _ in range(len(submitted) // 2):
                race.wait()
                order = own.claim_next()
                out.append(order.order_id if order else None)
        except BaseException:
            race.abort()
            raise

    threads = [threading.Thread(target=drain, args=(out,)) for out in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed[0]) == len(claimed[1]) == 100
    assert sorted(claimed[0] + claimed[1]) == sorted(submitted)  # none twice, none missing, no None
    for order_id in submitted:
        assert statuses(queue, order_id).count(S.HANDED_TO_ENGINE) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(min_value=0, max_value=9), st.none()), max_size=40))
def test_any_interleaving_of_submits_and_claims_is_served_by_priority_then_fifo(operations):
    """Each integer submits an order of that priority; each None claims one."""
    db = Database(":memory:")
    queue = OrderQueue(db)
    waiting: list[tuple[int, int, str]] = []  # (priority, arrival, order id): what the queue must hold
    for arrival, operation in enumerate(operations):
        if operation is None:
            claimed = queue.claim_next()
            if not waiting:
                assert claimed is None
                continue
            expected = min(waiting)
            waiting.remove(expected)
            assert claimed.order_id == expected[2]
        else:
            waiting.append((operation, arrival, queue.submit(intent(priority=operation)).order_id))
    db.close()
