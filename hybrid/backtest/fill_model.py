"""The backtest venue's fill model: probabilistic touches, and price improvement for limits inside the natural.

Touches. NautilusTrader's ``FillModel.prob_fill_on_limit`` is drawn only when the order's own side of
the quote rests on its price (BUY at the bid); a resting BUY whose price the ask merely *touches*
(ask == limit) fills every time. Here such a touch fills with probability ``prob_fill_on_touch``,
drawn from a ``random.Random`` owned by the model (seeded, so runs repeat exactly); a market that
trades through the limit (ask < limit for a BUY) fills as before, and marketable orders are not
affected. Slippage draws use the same generator.

Inside the natural. A resting limit priced between mid and the natural (the far touch) never fills
in NautilusTrader's L1 matching, although complex-order books fill such spread orders every day
(price improvement against the legs' markets). :class:`PriceImprovementFillModel` gives them a fill
hazard that rises with the order's position ``x`` in the market, 0 at mid and 1 at the natural
(:class:`InsideHazard`): ``rate_per_minute x x ** exponent`` per minute of resting, so the chance
of a fill depends on how long the order rested and where, not on how often the market was quoted.
At and beyond the natural the touch rules above apply (a limit sent at the natural fills on arrival).

A declined fill is reported to the matching engine as an empty simulated book. The venue must
run with ``liquidity_consumption=True``, which treats that as "no liquidity this time" (the
runner sets it; it also caps touch fills at the displayed size).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from nautilus_trader.backtest.config import FillModelConfig
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.common.component import Clock
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.enums import BookType, LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import Order

from hybrid.runconfig.settings import IMPROVEMENT_APPLIES_TO as APPLIES_TO

NS_PER_MINUTE = 60_000_000_000


def _resting_limit(order: Order) -> bool:
    """A limit order resting on the book (maker): the only orders these models decide on."""
    return order.order_type == OrderType.LIMIT and order.liquidity_side == LiquiditySide.MAKER


class TouchFillModelConfig(FillModelConfig, frozen=True):
    """``prob_fill_on_touch``: chance that one touching quote fills a resting limit order."""

    prob_fill_on_touch: float = 0.3


class TouchFillModel(FillModel):
    """Passive fills at the touch are probabilistic; trade-through fills are certain."""

    def __init__(self, config: TouchFillModelConfig) -> None:
        if not 0.0 <= config.prob_fill_on_touch <= 1.0:
            raise ValueError(f"prob_fill_on_touch must be in [0, 1], got {config.prob_fill_on_touch}")
        super().__init__(prob_fill_on_limit=1.0, prob_slippage=config.prob_slippage, random_seed=config.random_seed)
        self.prob_fill_on_touch = config.prob_fill_on_touch
        self.rng = random.Random(config.random_seed)

    def is_slipped(self) -> bool:
        return self.prob_slippage > 0.0 and self.rng.random() < self.prob_slippage

    def get_orderbook_for_fill_simulation(
        self,
        instrument: Instrument,
        order: Order,
        best_bid: Price,
        best_ask: Price,
    ) -> OrderBook | None:
        if not _resting_limit(order):
            return None  # standard matching
        touched = best_ask if order.side == OrderSide.BUY else best_bid
        if touched != order.price or self.rng.random() < self.prob_fill_on_touch:
            return None  # traded through, not reached, or the touch filled this time
        return OrderBook(instrument.id, BookType.L2_MBP)  # no liquidity for this order this time


@dataclass(frozen=True)
class InsideHazard:
    """The fill hazard of a limit resting inside the natural: ``rate_per_minute x x ** exponent`` per minute.

    ``x`` is the order's position in the market, 0 at mid and 1 at the natural; below mid (x <= 0) it
    never fills, at the natural (x >= 1) it is certain. Resting ``t`` minutes at ``x`` fills with
    probability ``1 - exp(-rate_per_minute x x ** exponent x t)``: a hazard per unit of time, so splitting
    the time into more evaluations (more quotes) does not change it.
    """

    rate_per_minute: float
    exponent: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_per_minute) and self.rate_per_minute >= 0):
            raise ValueError(f"rate_per_minute must be a finite number >= 0, got {self.rate_per_minute}")
        if not (math.isfinite(self.exponent) and self.exponent > 0):
            raise ValueError(f"exponent must be a finite number > 0, got {self.exponent}")

    @staticmethod
    def position(side: OrderSide, price: float, bid: float, ask: float) -> float:
        """Where ``price`` sits for an order of ``side``: 0 at mid, 1 at the far touch (negative toward its own side)."""
        if ask <= bid:
            return math.inf  # locked or crossed: any limit at or past its own side takes
        toward_far = 2 * price - bid - ask if side == OrderSide.BUY else bid + ask - 2 * price
        return toward_far / (ask - bid)

    def exposure(self, x: float, minutes: float) -> float:
        """The cumulative hazard of resting ``minutes`` at ``x`` (a fill comes once it reaches an Exp(1) draw)."""
        if x >= 1:
            return math.inf
        if x <= 0 or minutes <= 0:
            return 0.0
        return self.rate_per_minute * x**self.exponent * minutes

    def fill_probability(self, x: float, minutes: float) -> float:
        """The chance that an order resting ``minutes`` at ``x`` has filled."""
        return 1.0 if x >= 1 else -math.expm1(-self.exposure(x, minutes))


class PriceImprovementFillModelConfig(TouchFillModelConfig, frozen=True):
    """The touch model's keys and the inside-natural hazard (:class:`InsideHazard`).

    ``rate_per_minute``: the hazard per minute of a limit just inside the natural (0: such limits never
    fill, the touch model alone); ``exponent``: how fast it falls toward mid; ``applies_to``: ``spreads``
    (``OptionSpread`` orders only) or ``all`` (single options and shares too).
    """

    rate_per_minute: float = 0.0
    exponent: float = 2.0
    applies_to: str = "spreads"

    def __post_init__(self) -> None:
        if self.applies_to not in APPLIES_TO:
            raise ValueError(f"applies_to must be one of {', '.join(APPLIES_TO)}, got {self.applies_to!r}")
        InsideHazard(self.rate_per_minute, self.exponent)  # checks both


@dataclass
class _Resting:
    """A limit inside the natural as last evaluated: when, where, its cumulative hazard and its patience."""

    order: Order
    ts_ns: int
    x: float
    exposure: float
    patience: float  # Exp(1), drawn once per order: it fills when its exposure reaches this


class PriceImprovementFillModel(TouchFillModel):
    """Touch fills as :class:`TouchFillModel`; limits resting inside the natural fill by :class:`InsideHazard`.

    The matching engine offers the model every resting limit at or inside the market
    (``fill_limit_inside_spread``) whenever it iterates: at each quote of the instrument and after each
    batch of orders. At each offer the order's exposure grows by the hazard over the time since the
    previous offer, at the lower of its positions then and now (the market between two offers is not
    seen; the lower one never credits a position the order did not hold at both ends). Each order draws
    its patience, an Exp(1) variate, once, when first offered; it fills, entirely at its limit price,
    at the first offer at which its exposure reaches the patience. Time is the engine's clock, so the
    model cannot be built from a config alone: the runner installs it once the engine exists.
    """

    def __init__(self, config: PriceImprovementFillModelConfig, clock: Clock) -> None:
        super().__init__(config)
        self.hazard = InsideHazard(config.rate_per_minute, config.exponent)
        self.applies_to = config.applies_to
        self.orders_offered = 0  # distinct orders evaluated inside the natural
        self.improved_fills = 0  # of which filled by the hazard
        self._clock = clock
        self._resting: dict[ClientOrderId, _Resting] = {}

    def assumptions(self) -> dict:
        """The fill assumptions in force and what they did, for the report (docs/backtest.md)."""
        rate, k = self.hazard.rate_per_minute, self.hazard.exponent
        which = "resting spread limits" if self.applies_to == "spreads" else "resting limits"
        inside = (
            f"{which} inside the natural fill at a hazard of {rate:g} x position ** {k:g} per minute "
            "(position 0 at mid, 1 at the natural)"
            if rate > 0
            else "limits inside the natural never fill (no price improvement)"
        )
        return {
            "prob_fill_on_touch": self.prob_fill_on_touch,
            "prob_slippage": self.prob_slippage,
            "improvement": {
                "rate_per_minute": rate,
                "exponent": k,
                "applies_to": self.applies_to,
                "orders_offered": self.orders_offered,
                "fills": self.improved_fills,
            },
            "description": (
                f"a resting limit touched by the far quote fills with probability {self.prob_fill_on_touch:g} per "
                f"quote, through it always (a spread limit at its legs' natural, as a complex order trades against the "
                f"legs' books: jumped_through counts them); {inside}; market orders slip one tick with probability "
                f"{self.prob_slippage:g}"
            ),
        }

    def fill_limit_inside_spread(self) -> bool:
        return self.hazard.rate_per_minute > 0  # off: the matching core never offers limits inside the market

    def get_orderbook_for_fill_simulation(
        self,
        instrument: Instrument,
        order: Order,
        best_bid: Price,
        best_ask: Price,
    ) -> OrderBook | None:
        if (
            self.hazard.rate_per_minute > 0
            and _resting_limit(order)
            and (self.applies_to == "all" or instrument.is_spread())
        ):
            x = self.hazard.position(order.side, order.price.as_double(), best_bid.as_double(), best_ask.as_double())
            if x < 1:
                return self._inside(instrument, order, x)
        return super().get_orderbook_for_fill_simulation(instrument, order, best_bid, best_ask)

    def _inside(self, instrument: Instrument, order: Order, x: float) -> OrderBook:
        now = self._clock.timestamp_ns()
        state = self._resting.get(order.client_order_id)
        if state is None:
            self._resting = {k: s for k, s in self._resting.items() if not s.order.is_closed}
            state = _Resting(order, now, x, 0.0, self.rng.expovariate(1.0))
            self._resting[order.client_order_id] = state
            self.orders_offered += 1
        else:
            state.exposure += self.hazard.exposure(min(state.x, x), (now - state.ts_ns) / NS_PER_MINUTE)
            state.ts_ns, state.x = now, x
        book = OrderBook(instrument.id, BookType.L2_MBP)
        if state.exposure >= state.patience:
            del self._resting[order.client_order_id]
            self.improved_fills += 1
            far_side = OrderSide.SELL if order.side == OrderSide.BUY else OrderSide.BUY
            book.add(BookOrder(far_side, order.price, order.leaves_qty, 1), 0, 0)
        return book  # empty: no counterpart this time
