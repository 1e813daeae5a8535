"""The life of a queued order: its statuses and the only transitions between them.

The main paths (:data:`TRANSITIONS` is the full table)::

    accepted -> queued -> handed_to_engine -> working -> partially_filled -> filled
                  |              |                |             |
                  v              v                v             v
              cancelled   rejected, failed,   cancel_requested -> cancelled | filled | failed
                          cancelled, filled                      | working | partially_filled

- ``accepted``: written to disk; ``submit`` moves it to ``queued`` in the same transaction.
- ``queued``: waiting for the engine-side drainer, by priority then first come first served.
- ``handed_to_engine``: a drainer claimed it; the engine has not acknowledged it yet.
- ``working``: the engine acknowledged it (its NautilusTrader orders carry the queue order id).
- ``cancel_requested``: a cancel reached an order the engine holds; the engine reports the outcome
  (``working`` again when the venue refused the cancel).
- ``filled``, ``cancelled``, ``rejected``, ``failed``: final.

``partially_filled -> partially_filled`` is allowed so every fill can be journaled. The one move
outside this table, ``handed_to_engine -> queued``, is made only by ``OrderQueue.recover`` for an
order the engine never saw.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    ACCEPTED = "accepted"
    QUEUED = "queued"
    HANDED_TO_ENGINE = "handed_to_engine"
    WORKING = "working"
    PARTIALLY_FILLED = "partially_filled"
    CANCEL_REQUESTED = "cancel_requested"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.ACCEPTED: frozenset({S.QUEUED}),
    S.QUEUED: frozenset({S.HANDED_TO_ENGINE, S.CANCELLED}),
    S.HANDED_TO_ENGINE: frozenset(
        {S.WORKING, S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_REQUESTED, S.CANCELLED, S.REJECTED, S.FAILED}
    ),
    S.WORKING: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_REQUESTED, S.CANCELLED, S.FAILED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_REQUESTED, S.CANCELLED, S.FAILED}),
    S.CANCEL_REQUESTED: frozenset({S.WORKING, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.FAILED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
}
FINAL = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)


def parse_status(value: str) -> OrderStatus:
    """``value`` as an :class:`OrderStatus`, or a ``ValueError`` listing the statuses there are."""
    try:
        return OrderStatus(value)
    except ValueError:
        raise ValueError(f"unknown order status {value!r}; one of: {', '.join(OrderStatus)}") from None


class IllegalTransition(ValueError):
    """A status change the table does not allow (an API answers 409 Conflict)."""


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    """Raise :class:`IllegalTransition` naming the allowed next statuses when ``current -> new`` is not one."""
    allowed = TRANSITIONS[current]
    if new not in allowed:
        choices = ", ".join(sorted(allowed)) or "none, it is final"
        raise IllegalTransition(f"cannot go from {current} to {new}; from {current} the next status is: {choices}")
