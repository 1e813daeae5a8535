"""An alert set in answer to a command sent from a timer runs after the engine's next timer (upstream), and
:class:`InstantEnd` runs the same work before it; a handler of the first data point at an instant sees the
rest of that instant not yet applied (upstream), and :meth:`InstantEnd.defer` runs after all of it."""

from __future__ import annotations

import pytest
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

from bench.exec_simulation import SECOND_NS, SimMarketConfig, build_engine, make_market
from hybrid.nautilus_compat.instant_end import InstantEnd
from tests.support.instant_market import UNDERLYING, move_ns, moving_market

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

SEND_S, LATER_S = 12.5, 15.0  # between two quotes (every 10 s)


class ProbeConfig(StrategyConfig, frozen=True):
    start_ns: int
    workaround: bool


class Probe(Strategy):
    """Sends a resting order from a timer at 12.5 s and, in answer to its acceptance, asks for work "now";
    another timer is due at 15 s. Records (what ran, the clock) in order."""

    def __init__(self, config: ProbeConfig) -> None:
        super().__init__(config)
        self.ran: list[tuple[str, float]] = []
        self.instant: InstantEnd | None = None

    def on_start(self) -> None:
        self.instant = InstantEnd(self.clock, "probe")
        start = self.config.start_ns
        self.clock.set_time_alert_ns("send", start + int(SEND_S * SECOND_NS), self._send)
        self.clock.set_time_alert_ns("later", start + int(LATER_S * SECOND_NS), lambda e: self._ran("later"))

    def _send(self, _event: TimeEvent) -> None:
        option = self.cache.instruments()[-1]
        if self.config.workaround:
            self.instant.sent()
        self.submit_order(
            self.order_factory.limit(option.id, OrderSide.BUY, option.make_qty(1), option.make_price(0.01))
        )

    def on_order_accepted(self, _event: OrderAccepted) -> None:
        if self.config.workaround:
            self.instant.after(lambda: self._ran("answer"))
        else:
            self.clock.set_time_alert_ns("answer", self.clock.timestamp_ns(), lambda e: self._ran("answer"))

    def _ran(self, what: str) -> None:
        self.ran.append((what, (self.clock.timestamp_ns() - self.config.start_ns) / SECOND_NS))


def probe(workaround: bool) -> list[tuple[str, float]]:
    market = make_market(SimMarketConfig(seconds=30.0, interval_ms=10_000))
    engine = build_engine(market, log_level="OFF")
    strategy = Probe(ProbeConfig(start_ns=market.start_ns, workaround=workaround))
    engine.add_strategy(strategy)
    try:
        engine.run()
        return strategy.ran
    finally:
        engine.dispose()


def test_upstream_an_alert_set_in_answer_to_a_command_runs_after_the_next_timer_with_the_clock_stepped_back() -> None:
    assert probe(workaround=False) == [("later", LATER_S), ("answer", SEND_S)]


def test_instant_end_runs_the_answer_at_the_end_of_its_instant_before_the_next_timer() -> None:
    assert probe(workaround=True) == [("answer", SEND_S + 1e-9), ("later", LATER_S)]


class DeferProbe(Strategy):
    """On the underlying's tick at the instant the options move: which option quote the cache holds then, and
    in the work :meth:`InstantEnd.defer` runs (with the clock)."""

    def __init__(self, option_id: InstrumentId) -> None:
        super().__init__(StrategyConfig())
        self.option_id = option_id
        self.seen: list[tuple[str, int, int]] = []

    def on_start(self) -> None:
        self.instant = InstantEnd(self.clock, "probe")
        self.subscribe_quote_ticks(UNDERLYING)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.instrument_id == UNDERLYING and tick.ts_event == move_ns():
            self._saw("tick")
            self.instant.defer(lambda: self._saw("deferred"))

    def _saw(self, what: str) -> None:
        option = self.cache.quote_tick(self.option_id)
        self.seen.append((what, option.ts_event - move_ns(), self.clock.timestamp_ns() - move_ns()))


def test_upstream_a_handler_of_the_first_data_at_an_instant_sees_the_rest_of_it_not_yet_applied() -> None:
    market = moving_market()
    engine = build_engine(market, log_level="OFF")
    strategy = DeferProbe(market.options[0].id)
    engine.add_strategy(strategy)
    try:
        engine.run()
    finally:
        engine.dispose()
    tick = ("tick", -10 * SECOND_NS, 0)  # the option's quote of 10 s before, at the underlying's tick
    assert strategy.seen == [tick, ("deferred", 0, 1)]  # deferred: the instant's quote, one nanosecond later
