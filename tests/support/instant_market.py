"""A market whose option quotes move at one instant after the underlying's tick of that instant."""

from __future__ import annotations

import pandas as pd
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from bench.exec_simulation import SECOND_NS, SimMarket, SimMarketConfig
from hybrid.options.instruments import make_option

EXPIRY = pd.Timestamp("2024-03-15").date()
START = pd.Timestamp("2024-01-02 15:00", tz="UTC").value
UNDERLYING = InstrumentId.from_str("SPY.OPRA")
MOVE_S = 120  # the options' quotes move at this second, after the underlying's tick of that instant
# (bid, ask) of the 105 call and the 110 call before and from MOVE_S: the bull call spread (long 105,
# short 110) quotes 1.50/1.90, then 2.20/2.60
BEFORE = ((3.00, 3.20), (1.30, 1.50))
AFTER = ((4.00, 4.20), (1.60, 1.80))
SPREAD_AFTER = (AFTER[0][0] - AFTER[1][1], AFTER[0][1] - AFTER[1][0])


def move_ns() -> int:
    """The instant the options' quotes move."""
    return START + MOVE_S * SECOND_NS


def moving_market() -> SimMarket:
    """The underlying and both calls quoted every 10 s for four minutes, the underlying first at each instant."""
    options = [make_option("SPY", EXPIRY, "C", strike, "OPRA") for strike in (105.0, 110.0)]
    quotes = []
    for second in range(0, 2 * MOVE_S + 1, 10):
        ts = START + second * SECOND_NS
        quotes.append(_quote(UNDERLYING, (107.99, 108.01), ts))
        for option, book in zip(options, AFTER if second >= MOVE_S else BEFORE, strict=True):
            quotes.append(_quote(option.id, book, ts))
    config = SimMarketConfig(strikes=(105.0, 110.0), start_mids=(3.10, 1.40), expiry=EXPIRY)
    return SimMarket(config=config, options=options, quotes=quotes)


def _quote(instrument_id: InstrumentId, book: tuple[float, float], ts: int) -> QuoteTick:
    size = Quantity.from_int(50)
    return QuoteTick(instrument_id, Price(book[0], 2), Price(book[1], 2), size, size, ts, ts)
