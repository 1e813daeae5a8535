"""Moving replayed history to the present: instruments listed for today, data stamped with the node's clock.

The paper venue (NautilusTrader's sandbox) rejects orders on contracts whose expiry is behind its clock,
strategies pick expiries by days to expiry, and strategy code compares data timestamps with its clock, as
any live strategy may. So a catalog from 2024 replayed today must look like today's market:

- :class:`TimeShift` is the whole number of days nearest (node start - the catalog's first quote). Option
  contracts move by it: ``expiration_ns`` moves by those days, so a contract still expires at its session's
  close (16:00 New York, within an hour across a daylight-saving change), and its OCC symbol, which spells
  the expiry date, is rewritten (``SPY   240105C00430000`` becomes e.g. ``SPY   261128C00430000``; a
  symbol that is not OCC-style is kept). ``activation_ns`` moves too but never later than the node's
  start: contracts listed when the replay starts are active from then on. The underlying ``Equity`` keeps
  its id. Days to expiry at the replay's start are the catalog's within 12 hours; weekdays are not kept.
- :func:`restamp` gives a replayed quote, trade or daily IV record the node's current time as
  ``ts_event`` and ``ts_init`` when it is published, like a live feed's receipt time (an IV record is
  wrapped in ``CustomData``, as the data engine and a catalog query carry custom data);
  :meth:`TimeShift.time` moves the IV history (dated records strategies rank against).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nautilus_trader.core.data import Data
from nautilus_trader.model.data import CustomData, DataType, QuoteTick, TradeTick
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import Equity, Instrument, OptionContract

from hybrid.options.instruments import occ_symbol, parse_occ_symbol
from hybrid.options.iv_data import AtmImpliedVol

NS_PER_DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class TimeShift:
    """Add ``days`` whole days to listed expiries and to history (see the module docstring)."""

    days: int

    @classmethod
    def onto(cls, first_ns: int, now_ns: int) -> TimeShift:
        """The whole days nearest from ``first_ns`` (the catalog's first quote) to ``now_ns`` (the node's start)."""
        return cls(round((now_ns - first_ns) / NS_PER_DAY))

    @property
    def ns(self) -> int:
        return self.days * NS_PER_DAY

    def time(self, ts_ns: int) -> int:
        return ts_ns + self.ns

    def symbol(self, symbol: str) -> str:
        """An OCC option symbol with its expiry date moved; any other symbol as it is."""
        try:
            root, expiry, right, strike = parse_occ_symbol(symbol)
        except ValueError:
            return symbol
        return occ_symbol(root, expiry + dt.timedelta(days=self.days), right, strike)

    def instrument(self, instrument: Instrument, active_from_ns: int) -> Instrument:
        """The instrument as listed today: option symbol, expiry and activation moved (activation at the latest
        ``active_from_ns``), timestamps ``active_from_ns``."""
        cls = type(instrument)
        if cls not in (OptionContract, Equity):
            raise ValueError(f"cannot replay a {cls.__name__} ({instrument.id}): only OptionContract and Equity")
        values = cls.to_dict(instrument)
        values["id"] = InstrumentId(Symbol(self.symbol(instrument.id.symbol.value)), instrument.id.venue).value
        values["raw_symbol"] = self.symbol(instrument.raw_symbol.value)
        if cls is OptionContract:
            values["expiration_ns"] = self.time(values["expiration_ns"])
            values["activation_ns"] = min(self.time(values["activation_ns"]), active_from_ns)
        values["ts_event"] = values["ts_init"] = active_from_ns
        return cls.from_dict(values)


def restamp(item: Data, instrument_id: InstrumentId, ts_ns: int) -> Data:
    """A replayed quote, trade or daily IV record for ``instrument_id`` (its listed id), stamped ``ts_ns``."""
    if isinstance(item, QuoteTick):
        return QuoteTick(instrument_id, item.bid_price, item.ask_price, item.bid_size, item.ask_size, ts_ns, ts_ns)
    if isinstance(item, TradeTick):
        return TradeTick(instrument_id, item.price, item.size, item.aggressor_side, item.trade_id, ts_ns, ts_ns)
    if isinstance(item, AtmImpliedVol):
        return as_custom_data(
            AtmImpliedVol(instrument_id=instrument_id, iv_30d=item.iv_30d, ts_event=ts_ns, ts_init=ts_ns)
        )
    raise TypeError(f"cannot replay {type(item).__name__}: only QuoteTick, TradeTick and AtmImpliedVol")


def as_custom_data(record: AtmImpliedVol) -> CustomData:
    return CustomData(DataType(AtmImpliedVol), record)
