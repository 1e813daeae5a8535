"""A live market-data client that replays a ParquetDataCatalog at N x speed, moved to the present.

NautilusTrader 1.231 has no client that replays a catalog into a live node. This one, registered with a
``TradingNode`` under any name (it is the node's default data client), does what a venue's feed would:

- at connect, lists every instrument of the catalog as listed today (:mod:`hybrid.live.shift`: expiries
  moved by whole days, OCC symbols rewritten) in the cache and publishes it, so the paper venue (the
  sandbox execution client) lists it too;
- publishes every quote, trade and daily ``AtmImpliedVol`` record of the catalog, whatever was
  subscribed, like a full OPRA feed for the chain: strategies read the chain from the cache. Each item is
  stamped with the node's clock when it is published (``ts_event`` = ``ts_init`` = now), as a live feed's
  data is, so strategy code that compares data times with its clock works as it would live;
- paces the replay: catalog time runs ``speed`` times as fast as the node's clock from the first quote on,
  so an overnight gap takes 17.5 h / speed; it sleeps on the event loop between items (at most
  :data:`MAX_SLEEP` at a time) and yields to it after every :data:`BATCH` items, so the API and the
  strategies on the same loop stay responsive when it has to catch up;
- quotes the option spreads strategies subscribe to from their legs (:mod:`hybrid.live.spread_quotes`),
  and answers ``request_instrument`` for a spread id by building the ``OptionSpread`` from its legs;
- answers ``request_data`` for :class:`AtmImpliedVol` with the catalog's daily history before its first
  quote, dated as moved; quote and trade history requests get an empty answer (the replay has no past).

At ``speed`` above 1 the market moves faster than days to expiry shrink on the node's clock: a 30-day
option is replayed through a 30-day history of prices in 30 / speed days. That is the point of speed;
use 1 to paper-trade a faithful clock.
"""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import LiveDataClientConfig, RoutingConfig
from nautilus_trader.core.data import Data
from nautilus_trader.data.messages import (
    RequestData,
    RequestInstrument,
    RequestInstruments,
    RequestQuoteTicks,
    RequestTradeTicks,
    SubscribeQuoteTicks,
    UnsubscribeQuoteTicks,
)
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import ClientId, InstrumentId, generic_spread_id_to_list, is_generic_spread_id
from nautilus_trader.model.instruments import Instrument, OptionContract

from hybrid.live.replay_feed import ReplayFeed
from hybrid.live.shift import restamp
from hybrid.live.spread_quotes import SpreadQuoter
from hybrid.options.chain import make_option_spread
from hybrid.options.iv_data import AtmImpliedVol

BATCH = 250  # items published before yielding to the event loop (each batch holds the loop ~10 ms)
MAX_SLEEP = 1.0  # seconds: wake up at least this often (a stop must not wait out an overnight gap)
MAX_SPEED = 1_000_000.0


class CatalogReplayConfig(LiveDataClientConfig, frozen=True, kw_only=True):
    """``catalog``: the catalog directory; ``speed``: catalog seconds replayed per second (> 0); ``shift_days``:
    the whole days listed expiries move by (None: nearest the node's start - the catalog's first quote; the
    live node passes the paper book's, :meth:`hybrid.live.paper_book.PaperBook.listing_shift`)."""

    catalog: str
    speed: float = 1.0
    shift_days: int | None = None
    routing: RoutingConfig = RoutingConfig(default=True)


def check_speed(speed: float) -> float:
    """``speed`` itself, or a one-line ValueError saying what is valid."""
    if not 0 < speed <= MAX_SPEED:
        raise ValueError(f"speed must be a number of replayed seconds per second in (0, {MAX_SPEED:,.0f}], got {speed}")
    return speed


class CatalogReplayDataClient(LiveMarketDataClient):
    """Replays a catalog into a live node (see the module docstring)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: CatalogReplayConfig,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=None,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=InstrumentProvider(),
            config=config,
        )
        self._speed = check_speed(config.speed)
        self._path = config.catalog
        self._shift_days = config.shift_days
        self._feed: ReplayFeed | None = None
        self._quoter = SpreadQuoter()
        self._replay_task: asyncio.Task | None = None

    # -- connection ------------------------------------------------------------------------------

    async def _connect(self) -> None:
        self._feed = feed = await asyncio.to_thread(
            ReplayFeed, self._path, self._clock.timestamp_ns(), self._shift_days
        )
        instruments = await asyncio.to_thread(feed.instruments)
        for instrument in instruments:
            self._cache.add_instrument(instrument)  # listed before any strategy starts
            self._handle_data(instrument)  # and published, so the paper venue lists it
        self._log.info(
            f"replaying {feed.path} ({len(instruments):,} instruments, {feed.manifest.quotes:,} quotes) at "
            f"{self._speed:g}x, expiries moved {feed.shift.days} days",
        )
        self._replay_task = self.create_task(self._replay(feed), log_msg="catalog-replay")  # failures are logged

    async def _disconnect(self) -> None:
        if self._replay_task is not None:
            self._replay_task.cancel()
            await asyncio.gather(self._replay_task, return_exceptions=True)
            self._replay_task = None

    # -- the replay ------------------------------------------------------------------------------

    async def _replay(self, feed: ReplayFeed) -> None:
        wall_origin = self._clock.timestamp_ns()
        replay_origin = feed.first.value
        days = feed.days()
        upcoming = asyncio.ensure_future(asyncio.to_thread(feed.day, days[0]))
        for index in range(len(days)):
            items = await upcoming
            if index + 1 < len(days):
                upcoming = asyncio.ensure_future(asyncio.to_thread(feed.day, days[index + 1]))
            position = 0
            while position < len(items):
                now = replay_origin + int(self._speed * (self._clock.timestamp_ns() - wall_origin))
                published = 0
                while position < len(items) and items[position].ts_init <= now and published < BATCH:
                    self._publish(feed, items[position])
                    position += 1
                    published += 1
                if position < len(items) and items[position].ts_init > now:
                    wait = (items[position].ts_init - now) / self._speed / 1e9
                    await asyncio.sleep(min(wait, MAX_SLEEP))
                else:
                    await asyncio.sleep(0)
        self._log.info("catalog replay finished: the market stays at its last quotes")

    def _publish(self, feed: ReplayFeed, item: Data) -> None:
        live = restamp(item, feed.listed_id(item.instrument_id), self._clock.timestamp_ns())
        self._handle_data(live)
        if isinstance(live, QuoteTick):
            for spread_tick in self._quoter.on_quote(live):
                self._handle_data(spread_tick)

    # -- subscriptions: everything is published anyway; spreads are quoted on demand ------------

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        if not is_generic_spread_id(command.instrument_id):
            return
        spread = self._spread(command.instrument_id)
        if spread is None:
            return
        tick = self._quoter.subscribe(spread, command.params.get("update_interval_seconds"))
        if tick is not None:
            self._handle_data(tick)

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        self._quoter.unsubscribe(command.instrument_id)

    async def _already_published(self, command: object) -> None:
        """Everything is published as it is replayed: nothing to start or stop."""

    _subscribe = _unsubscribe = _already_published  # custom data (AtmImpliedVol)
    _subscribe_trade_ticks = _unsubscribe_trade_ticks = _already_published
    _subscribe_instrument = _unsubscribe_instrument = _already_published
    _subscribe_instruments = _unsubscribe_instruments = _already_published

    # -- requests --------------------------------------------------------------------------------

    async def _request_instrument(self, request: RequestInstrument) -> None:
        instrument = self._spread(request.instrument_id) if is_generic_spread_id(request.instrument_id) else None
        instrument = instrument or self._cache.instrument(request.instrument_id)
        if instrument is None:
            self._log.warning(f"request_instrument: {request.instrument_id} is not in the replayed catalog")
            return
        self._handle_instrument(instrument, request.id, request.start, request.end, request.params)

    async def _request_instruments(self, request: RequestInstruments) -> None:
        instruments = self._cache.instruments(venue=request.venue)
        self._handle_instruments(request.venue, instruments, request.id, request.start, request.end, request.params)

    async def _request(self, request: RequestData) -> None:
        data: list[Data] = []
        if request.data_type.type is AtmImpliedVol and self._feed is not None:
            start = request.start.value if request.start is not None else 0
            end = request.end.value if request.end is not None else self._clock.timestamp_ns()
            wanted = getattr(request, "instrument_id", None)
            history = await asyncio.to_thread(self._feed.iv_history)
            data = [r for r in history if start <= r.ts_init <= end and wanted in (None, r.data.instrument_id)]
        self._handle_data_response(request.data_type, data, request.id, request.start, request.end, request.params)

    async def _request_quote_ticks(self, request: RequestQuoteTicks) -> None:
        self._handle_quote_ticks(request.instrument_id, [], request.id, request.start, request.end, request.params)

    async def _request_trade_ticks(self, request: RequestTradeTicks) -> None:
        self._handle_trade_ticks(request.instrument_id, [], request.id, request.start, request.end, request.params)

    # -- spreads ---------------------------------------------------------------------------------

    def _spread(self, spread_id: InstrumentId) -> Instrument | None:
        """The ``OptionSpread`` of a generic spread id, built from its legs (and published) when new."""
        cached = self._cache.instrument(spread_id)
        if cached is not None:
            return cached
        legs = []
        for leg_id, ratio in generic_spread_id_to_list(spread_id):
            contract = self._cache.instrument(leg_id)
            if not isinstance(contract, OptionContract):
                self._log.warning(f"spread {spread_id}: leg {leg_id} is not a listed option of the replayed catalog")
                return None
            legs.append((contract, ratio))
        spread = make_option_spread(legs, ts_init=self._clock.timestamp_ns())
        if spread.id != spread_id:
            self._log.warning(f"spread {spread_id}: its legs make {spread.id}; order the legs as NautilusTrader does")
            return None
        self._cache.add_instrument(spread)
        self._handle_data(spread)  # the paper venue lists it before its first quote
        return spread


class CatalogReplayClientFactory(LiveDataClientFactory):
    """Builds the :class:`CatalogReplayDataClient` for a ``TradingNode`` (``add_data_client_factory``)."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: CatalogReplayConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> CatalogReplayDataClient:
        return CatalogReplayDataClient(loop, ClientId(name), msgbus, cache, clock, config)
