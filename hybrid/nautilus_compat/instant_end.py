"""The end of an instant: work due once the venue has answered every command sent in it.

Upstream, in ``nautilus_trader/backtest/engine.pyx`` of the installed package (1.231.0):
``BacktestEngine._advance_time`` runs the timers due before the next data point in timestamp order,
and the commands a timer callback sends reach the simulated venue only when the engine settles that
timestamp's batch (``_process_and_settle_venues``). It does so after it has popped the *next* timer
("settle previous timestamp batch before advancing"), or, for the last batch before the data point,
after its loop, with no look for new timers. So an alert set "at now" from an order event that
answers such a command runs after that next timer, with the clock stepped back to "now", or only
after the next data point. A deadline that lands on a data timestamp is queued before the alert and
runs first: an attempt that ended at 20.5 s was continued after a 25 s deadline, at 20.5 s.

Workaround (:class:`InstantEnd`): when a command is sent, set an alert one nanosecond later, at that
moment: it is queued before the venue answers, and the engine settles the command's batch before it
runs it. Work asked for while that alert is pending (:meth:`InstantEnd.after`) runs in it; other work
gets an alert at now, as before (events from data processing are answered before the next timer).

A live node has no such batches: each answer of the venue is a message of its own, handled as it comes.
There an alert at now, or one nanosecond later, is already in the past when the clock's core reads the
time (microseconds after the Python side did), and the core logs "Timer ... alert time ... was in the
past, adjusted to current time for immediate firing" for every one: every order a strategy sent logged
it. So on a live clock the end of an instant is a real future time, :data:`LIVE_INSTANT_NS` from now
(:func:`end_of_now_ns`): the work still runs once the handler that asked for it has returned, a moment
later on wall time, and no alert is set in the past.

The same engine loop decides when a decision sees its market. Data stamped t is processed one point at a
time, each followed by the handlers and the venue's settlement; timers due at t, among them the data
engine's ``SPREAD_QUOTE_<spread>`` timer that builds an aggregated spread quote, run only after every data
point at t. So a strategy deciding on the underlying's tick at t sees the option quotes of t not yet
applied, or the spread's quote of the previous interval, and its order reaches a venue book of the previous
instant. :meth:`InstantEnd.defer` runs work one nanosecond after now: after all data and timers of t and the
venue's answers to them, before anything stamped later (the group trader prices and sends its orders there).

Upstream: no issue found as of 1.231.0. ``tests/nautilus_compat/test_instant_end.py`` fails once an
alert set in answer to a command runs before the engine's next timer.
"""

from __future__ import annotations

from collections.abc import Callable

from nautilus_trader.common.component import Clock, TestClock
from nautilus_trader.common.events import TimeEvent

LIVE_INSTANT_NS = 1_000_000  # 1 ms: well past the clock core's read of the time, well before any venue answers


def end_of_now_ns(clock: Clock, after_ns: int = 0) -> int:
    """The time of an alert meant to run once the current handler is done, ``after_ns`` past now.

    On a simulated clock: now + ``after_ns`` (the engine runs an alert at now in this instant). On a live
    clock at least :data:`LIVE_INSTANT_NS` from now, so the alert is never in the past (module docstring).
    """
    now = clock.timestamp_ns()
    return now + (after_ns if isinstance(clock, TestClock) else max(after_ns, LIVE_INSTANT_NS))


class InstantEnd:
    """The end of the current instant on ``clock``, for one piece of work (alerts named ``<name>:...``)."""

    def __init__(self, clock: Clock, name: str) -> None:
        self._clock = clock
        self._name = name
        self._armed: tuple[str, int] | None = None  # the alert set after the last command, until it runs
        self._due: list[Callable[[], None]] = []
        self._alerts = 0

    def sent(self) -> None:
        """Call before sending a command: arms the alert one nanosecond after now (once per instant; live:
        :data:`LIVE_INSTANT_NS` after now)."""
        if self._armed is not None and self._armed[1] > self._clock.timestamp_ns():
            return
        name, at_ns = self._alert_name("sent"), end_of_now_ns(self._clock, 1)
        self._armed = (name, at_ns)
        self._clock.set_time_alert_ns(name, at_ns, self._on_alert)

    def after(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` at the end of this instant, once the answers to what was sent in it are in."""
        if self._armed is not None:
            self._due.append(callback)
        else:
            self._clock.set_time_alert_ns(self._alert_name("now"), end_of_now_ns(self._clock), lambda _e: callback())

    def defer(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once everything stamped now is in (data, timers, the venue's answers): at now + 1 ns."""
        self.sent()
        self._due.append(callback)

    def _on_alert(self, event: TimeEvent) -> None:
        if self._armed is None or self._armed[0] != event.name:
            return  # a command sent later armed a later alert: the work runs there
        self._armed = None
        due, self._due = self._due, []
        for callback in due:
            callback()

    def _alert_name(self, what: str) -> str:
        self._alerts += 1
        return f"{self._name}:{what}:{self._alerts}"
