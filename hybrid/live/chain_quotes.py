"""Quote subscriptions for a broker feed: the underlying and the options near the money, within a DTE window.

A replayed catalog publishes every quote, but a broker sends only what is subscribed, and strategies read
the whole chain from the cache (marks, deltas, IV rank). :class:`ChainQuotes` subscribes to the
underlying, and at its first quote to the contracts :func:`near_the_money` picks: per expiry inside
``min_dte``..``max_dte`` and per right, the ``strikes_around`` strikes nearest the spot, nearest expiries
first, at most ``max_instruments`` in all (Interactive Brokers allows 100 market data lines by default).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import OptionContract

from hybrid.calendar.exchange_time import ns_new_york_date
from hybrid.options.chain import contract_expiry, contract_right
from hybrid.valuation.marks import tick_mark


class ChainQuotesConfig(ActorConfig, frozen=True):
    """The underlying and venue, the DTE window, strikes per expiry and right, and the subscription cap."""

    underlying: str = "SPY"
    venue: str = "OPRA"
    min_dte: int = 0
    max_dte: int = 60
    strikes_around: int = 8
    max_instruments: int = 90


def near_the_money(
    contracts: Iterable[OptionContract], spot: float, today: dt.date, config: ChainQuotesConfig
) -> list[OptionContract]:
    """The contracts to quote (module docstring), nearest expiry first, then nearest the spot."""
    by_series: dict[tuple[dt.date, str], list[OptionContract]] = defaultdict(list)
    for contract in contracts:
        expiry = contract_expiry(contract)
        if config.min_dte <= (expiry - today).days <= config.max_dte:
            by_series[(expiry, contract_right(contract))].append(contract)
    picked = []
    for _, series in sorted(by_series.items()):
        series.sort(key=lambda c: (abs(float(c.strike_price) - spot), float(c.strike_price)))
        picked.extend(series[: config.strikes_around])
    return picked[: config.max_instruments]


class ChainQuotes(Actor):
    """Subscribes to the quotes of the underlying and its options near the money (module docstring)."""

    def __init__(self, config: ChainQuotesConfig) -> None:
        super().__init__(config)
        self.underlying_id = InstrumentId(Symbol(config.underlying), Venue(config.venue))
        self.subscribed: list[InstrumentId] = []

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.underlying_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if self.subscribed or tick.instrument_id != self.underlying_id:
            return
        spot = tick_mark(tick)
        if spot is None:
            return
        today = ns_new_york_date(tick.ts_event)
        options = [
            i
            for i in self.cache.instruments(venue=self.underlying_id.venue)
            if isinstance(i, OptionContract) and i.underlying == self.config.underlying
        ]
        for contract in near_the_money(options, spot, today, self.config):
            self.subscribe_quote_ticks(contract.id)
            self.subscribed.append(contract.id)
        self.log.info(f"quoting {len(self.subscribed)} {self.config.underlying} options near {spot:.2f}")
