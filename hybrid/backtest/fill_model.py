"""A fill model under which a resting limit order is not filled merely because the market touched it.

NautilusTrader's ``FillModel.prob_fill_on_limit`` is drawn only when the order's own side of the
quote rests on its price (BUY at the bid); a resting BUY whose price the ask merely *touches*
(ask == limit) fills every time. Here such a touch fills with probability ``prob_fill_on_touch``,
drawn from a ``random.Random`` owned by the model (seeded, so runs repeat exactly); a market that
trades through the limit (ask < limit for a BUY) fills as before, and marketable orders are not
affected. Slippage draws use the same generator.

A declined touch is reported to the matching engine as an empty simulated book. The venue must
run with ``liquidity_consumption=True``, which treats that as "no liquidity this time" (the
runner sets it; it also caps passive fills at the displayed size).
"""

from __future__ import annotations

import random

from nautilus_trader.backtest.config import FillModelConfig
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookType, LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import Order


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
        if order.order_type != OrderType.LIMIT or order.liquidity_side != LiquiditySide.MAKER:
            return None  # standard matching
        touched = best_ask if order.side == OrderSide.BUY else best_bid
        if touched != order.price or self.rng.random() < self.prob_fill_on_touch:
            return None  # traded through, or the touch filled this time
        return OrderBook(instrument.id, BookType.L2_MBP)  # no liquidity for this order this time
