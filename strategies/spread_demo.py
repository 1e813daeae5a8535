"""A demo that trades one bull call spread at a time, to exercise the whole spread path.

catalog -> option contracts in the cache -> a vertical near the money at about ``target_dte`` ->
the ``OptionSpread`` built by ``request_instrument`` -> spread quotes aggregated from the legs ->
a limit order at mid plus ``concession_dollars`` (one more per unfilled reprice, up to the far
touch; a fixed amount per share, unlike the group trader's ``concession_half_spreads``), tagged with its group -> closed ``hold_days`` later or the day before expiry -> again
every ``entry_every_days``.

The contract selection is deliberately small; the catalogue's chain binding replaces it later.
"""

from __future__ import annotations

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OptionKind, OrderSide
from nautilus_trader.model.events import OrderEvent, OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, Symbol, Venue, new_generic_spread_id
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.trading.strategy import Strategy

from hybrid.tracking import GroupTags
from hybrid.valuation.marks import midpoint, tick_mark

DAY_NS = 86_400 * 1_000_000_000
MINUTE_NS = 60 * 1_000_000_000
STRUCTURE = "bull_call_spread"
SOURCE = "autonomous"


class SpreadDemoConfig(StrategyConfig, frozen=True):
    """Parameters of the demo; prices are per share, quantities in spread units."""

    underlying: str = "SPY"
    venue: str = "OPRA"
    target_dte: int = 30
    width_steps: int = 1
    quantity: int = 1
    concession_dollars: float = 0.02  # per share of one spread, added per attempt
    hold_days: int = 5
    entry_every_days: int = 7
    reprice_after_minutes: int = 15
    quote_interval_seconds: int = 60


class SpreadDemo(Strategy):
    """Open a bull call spread, hold it, close it, repeat; one group at a time."""

    def __init__(self, config: SpreadDemoConfig) -> None:
        super().__init__(config)
        self.venue = Venue(config.venue)
        self.underlying_id = InstrumentId(Symbol(config.underlying), self.venue)
        self.spread_id: InstrumentId | None = None
        self.group: GroupTags | None = None
        self.units = 0
        self.expiry_ns = 0
        self.opened_ns = 0
        self.exit_ns = 0
        self.next_entry_ns = 0
        self.working: ClientOrderId | None = None
        self.working_since_ns = 0
        self.attempts = 0  # orders repriced unfilled in a row

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.underlying_id)

    def on_stop(self) -> None:
        if self.working is not None:
            self.cancel_order(self.cache.order(self.working))  # held legs stay open: the report marks them

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.instrument_id == self.underlying_id:
            if self.group is None and tick.ts_event >= self.next_entry_ns:
                spot = tick_mark(tick)
                if spot is not None:
                    self.open_group(spot=spot)
        elif tick.instrument_id == self.spread_id:
            self.on_spread_quote(tick)

    def on_spread_quote(self, tick: QuoteTick) -> None:
        if self.working is not None:
            if tick.ts_event - self.working_since_ns >= self.config.reprice_after_minutes * MINUTE_NS:
                self.attempts += 1
                self.cancel_order(self.cache.order(self.working))
        elif self.units == 0:
            self.submit(OrderSide.BUY, tick, min(self.config.quantity, int(tick.ask_size)))
        elif tick.ts_event >= self.exit_ns:
            self.submit(OrderSide.SELL, tick, min(self.units, int(tick.bid_size)))

    def on_order_filled(self, event: OrderFilled) -> None:
        if event.instrument_id != self.spread_id:
            return  # a synthetic leg fill: positions track it, the group view reads it
        self.attempts = 0
        if self.units == 0:
            self.opened_ns = event.ts_event
            self.exit_ns = min(event.ts_event + self.config.hold_days * DAY_NS, self.expiry_ns - DAY_NS)
        self.units += int(event.last_qty) if event.order_side == OrderSide.BUY else -int(event.last_qty)
        if self.units == 0:
            self.close_group()

    def on_order_event(self, event: OrderEvent) -> None:
        order = self.cache.order(event.client_order_id)
        if order is not None and order.client_order_id == self.working and order.is_closed:
            self.working = None

    def open_group(self, spot: float) -> None:
        """Pick the vertical, build its spread instrument and start its aggregated quotes."""
        legs = self.pick_vertical(spot)
        if legs is None:
            return
        self.spread_id = new_generic_spread_id(legs)
        self.request_instrument(self.spread_id)
        self.subscribe_quote_ticks(self.spread_id, aggregate_spread_quotes=True, params=self.spread_quote_params())
        self.expiry_ns = self.cache.instrument(legs[0][0]).expiration_ns
        self.group = GroupTags(self.order_factory.generate_client_order_id().value, SOURCE, STRUCTURE)

    def close_group(self) -> None:
        self.unsubscribe_quote_ticks(self.spread_id, aggregate_spread_quotes=True, params=self.spread_quote_params())
        self.next_entry_ns = self.opened_ns + self.config.entry_every_days * DAY_NS
        self.group = None
        self.spread_id = None

    def spread_quote_params(self) -> dict:
        # Leg crossing prices rather than the vega-weighted width (which can come out zero), built
        # on a timer so that every leg quote of an instant is in before the spread is quoted.
        return {"disable_vega_pricing": True, "update_interval_seconds": self.config.quote_interval_seconds}

    def pick_vertical(self, spot: float) -> list[tuple[InstrumentId, int]] | None:
        """Long the call nearest the money at the expiry nearest ``target_dte``, short ``width_steps`` strikes up."""
        now = self.clock.timestamp_ns()
        calls = [
            i
            for i in self.cache.instruments(venue=self.venue, underlying=self.config.underlying)
            if isinstance(i, OptionContract)
            and i.option_kind == OptionKind.CALL
            and i.activation_ns <= now
            and i.expiration_ns > now + (self.config.hold_days + 1) * DAY_NS
            and self.cache.quote_tick(i.id) is not None
        ]
        if not calls:
            return None
        target = now + self.config.target_dte * DAY_NS
        expiry = min({c.expiration_ns for c in calls}, key=lambda e: abs(e - target))
        chain = sorted((c for c in calls if c.expiration_ns == expiry), key=lambda c: c.strike_price.as_double())
        atm = min(range(len(chain)), key=lambda k: abs(chain[k].strike_price.as_double() - spot))
        if atm + self.config.width_steps >= len(chain):
            return None
        return [(chain[atm].id, 1), (chain[atm + self.config.width_steps].id, -1)]

    def submit(self, side: OrderSide, tick: QuoteTick, quantity: int) -> None:
        """A limit at mid plus ``concession_dollars`` per attempt, at most the far touch.

        Callers cap ``quantity`` at the displayed size.
        """
        if quantity <= 0 or self.group is None:  # a spread quote comes only while a group is open
            return
        spread = self.cache.instrument(self.spread_id)
        bid, ask = tick.bid_price.as_double(), tick.ask_price.as_double()
        step = self.config.concession_dollars * (1 + self.attempts)
        mid = midpoint(bid, ask)
        price = min(mid + step, ask) if side == OrderSide.BUY else max(mid - step, bid)
        order = self.order_factory.limit(
            instrument_id=self.spread_id,
            order_side=side,
            quantity=spread.make_qty(quantity),
            price=spread.make_price(price),
            tags=self.group.to_tags(),
        )
        self.working = order.client_order_id
        self.working_since_ns = tick.ts_event
        self.submit_order(order)
