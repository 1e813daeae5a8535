"""An actor that samples the account's equity marked to mid (:func:`hybrid.valuation.pnl.marked_equity`)
on a simulated-time timer, for the backtest report's equity curve.

Sampling on a timer, not at fills, shows what held positions were worth between trades.
"""

from __future__ import annotations

import json
from datetime import timedelta

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.identifiers import Venue

from hybrid.valuation.pnl import marked_equity

EQUITY_CACHE_KEY = "hybrid.backtest.equity_curve"


class EquitySamplerConfig(ActorConfig, frozen=True):
    venue: str
    interval_minutes: int = 30


class EquitySampler(Actor):
    """Samples marked equity every ``interval_minutes`` of simulated time; stores the curve in the cache.

    The curve is written at stop under :data:`EQUITY_CACHE_KEY` as JSON ``[[ts_ns, equity], ...]``.
    """

    def __init__(self, config: EquitySamplerConfig) -> None:
        super().__init__(config)
        self.venue = Venue(config.venue)
        self.samples: list[tuple[int, float]] = []

    def on_start(self) -> None:
        self.clock.set_timer(
            "equity_sample",
            timedelta(minutes=self.config.interval_minutes),
            callback=self.on_sample,
        )

    def on_sample(self, event: TimeEvent) -> None:
        self.sample(event.ts_event)

    def on_stop(self) -> None:
        self.sample(self.clock.timestamp_ns())
        self.cache.add(EQUITY_CACHE_KEY, json.dumps(self.samples).encode())

    def sample(self, ts_ns: int) -> None:
        if self.portfolio.account(self.venue) is not None:
            self.samples.append((ts_ns, round(marked_equity(self.cache, self.portfolio, self.venue), 2)))
