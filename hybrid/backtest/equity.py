"""Account equity marked to mid, and an actor that samples it on a simulated-time timer.

Equity = account balance + what the balance does not hold yet of the open positions, at the mid
of their last quote. A NautilusTrader margin account books an option's premium as cash at every
fill, so an open option counts at its full value (quantity x mid x multiplier); other instruments
(the underlying) realise P&L only when reduced, so they count at their unrealised P&L. Sampling on
a timer, not at fills, shows what held positions were worth between trades.
"""

from __future__ import annotations

import json
from datetime import timedelta

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import InstrumentClass
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.portfolio.base import PortfolioFacade

EQUITY_CACHE_KEY = "hybrid.backtest.equity_curve"


PREMIUM_CLASSES = frozenset(
    {InstrumentClass.OPTION, InstrumentClass.OPTION_SPREAD, InstrumentClass.BINARY_OPTION, InstrumentClass.WARRANT},
)


def open_value_at_mid(cache: CacheFacade, venue: Venue) -> float:
    """The open positions at ``venue`` as the balance does not yet count them, at mid (see module doc)."""
    total = 0.0
    for position in cache.positions_open(venue=venue):
        quote = cache.quote_tick(position.instrument_id)
        if quote is None:
            continue
        mid = (quote.bid_price.as_double() + quote.ask_price.as_double()) / 2
        premium = cache.instrument(position.instrument_id).instrument_class in PREMIUM_CLASSES
        price = mid if premium else mid - position.avg_px_open
        total += price * position.signed_qty * position.multiplier.as_double()
    return total


def marked_equity(cache: CacheFacade, portfolio: PortfolioFacade, venue: Venue) -> float:
    """USD balance of the venue's account plus open positions marked to mid."""
    balance = portfolio.account(venue).balance_total(USD)
    return (balance.as_double() if balance is not None else 0.0) + open_value_at_mid(cache, venue)


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
