"""The expiry recorder: tells the group view that options expired, also where the venue settled nothing.

The backtest venue settles an expiring contract only where a position is open, and positions net per
instrument and strategy: groups of one strategy holding a contract long and short leave nothing to settle,
so the venue sends no fill and nothing would tell their groups that the contract is gone
(:mod:`hybrid.tracking.settlement`). At every instant at which options of an underlying expire (one time
alert per instant, the venue's own expiry instant), this actor records the underlying's LAST price, the
price the venue exercises on, with :func:`hybrid.tracking.settlement.record_expiry`. Without a LAST price
the venue settles nothing either, and nothing is recorded. The runner adds it to every backtest.
"""

from __future__ import annotations

from collections import defaultdict

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import OptionContract

from hybrid.tracking.settlement import ExpiryRecord, record_expiry


class ExpiryRecorderConfig(ActorConfig, frozen=True):
    """``venue``: whose options are watched."""

    venue: str = "OPRA"


class ExpiryRecorder(Actor):
    """Records each expiry instant of the venue's options with the underlying's LAST (module docstring)."""

    def __init__(self, config: ExpiryRecorderConfig | None = None) -> None:
        super().__init__(config or ExpiryRecorderConfig())
        self.due: dict[int, set[InstrumentId]] = defaultdict(set)  # expiry instant -> underlyings

    def on_start(self) -> None:
        now = self.clock.timestamp_ns()
        for instrument in self.cache.instruments(venue=Venue(self.config.venue)):
            if isinstance(instrument, OptionContract) and instrument.expiration_ns > now:
                underlying = InstrumentId.from_str(f"{instrument.underlying}.{instrument.id.venue}")
                self.due[instrument.expiration_ns].add(underlying)
        for ts in sorted(self.due):
            self.clock.set_time_alert_ns(f"expiry-{ts}", ts, self._on_expiry)

    def on_stop(self) -> None:
        """Nothing to release: its alerts end with the run."""

    def _on_expiry(self, event: TimeEvent) -> None:
        for underlying in sorted(self.due.pop(event.ts_event, set()), key=lambda i: i.value):
            price = self.cache.price(underlying, PriceType.LAST)
            if price is None:
                self.log.warning(f"options of {underlying} expired without a LAST price: nothing is settled")
                continue
            record_expiry(self.cache, self.msgbus, ExpiryRecord(underlying, event.ts_event, price.as_double()))
