"""The catalog replay: the feed read day by day, and the live data client inside a real (in-process) paper node:
instruments listed for today, data stamped with the node's clock, spread quotes built from the legs, spread
instruments built on request, the daily IV history served from the catalog."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import nautilus_trader.common.component as component
import pandas as pd
import pytest
from nautilus_trader.config import StrategyConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import DataType, QuoteTick
from nautilus_trader.model.identifiers import ClientId, InstrumentId, new_generic_spread_id
from nautilus_trader.model.instruments import OptionContract, OptionSpread
from nautilus_trader.trading.strategy import Strategy

from hybrid.live.node import build_node, load_live_settings
from hybrid.live.replay_feed import ReplayFeed
from hybrid.live.shift import NS_PER_DAY
from hybrid.live.spread_quotes import spread_quote
from hybrid.options.chain import contract_expiry
from hybrid.options.iv_data import AtmImpliedVol

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

WAIT = 30.0


def test_feed_lists_the_catalog_for_today_and_reads_it_in_time_order(small_catalog: Path) -> None:
    start = pd.Timestamp("2026-11-25T04:30:00Z").value
    feed = ReplayFeed(small_catalog, start)
    assert feed.shift.days * NS_PER_DAY + feed.first.value == pytest.approx(start, abs=NS_PER_DAY / 2)
    listed = feed.instruments()
    options = [i for i in listed if isinstance(i, OptionContract)]
    assert len(listed) == feed.manifest.instruments and options
    assert all(o.activation_ns <= start < o.expiration_ns for o in options)
    assert all(o.id.symbol.value[6:12] == contract_expiry(o).strftime("%y%m%d") for o in options)
    day = feed.day(feed.days()[0])
    times = [item.ts_init for item in day]
    assert times == sorted(times) and {type(item).__name__ for item in day} >= {"QuoteTick", "TradeTick"}
    history = feed.iv_history()
    assert history and all(record.data.ts_init < start for record in history)
    assert all(isinstance(record.data, AtmImpliedVol) for record in history)


class ReplayProbeConfig(StrategyConfig, frozen=True):
    underlying: str = "SPY.OPRA"


class ReplayProbe(Strategy):
    """Asks the replay client what strategies ask it: the IV history, a spread instrument and its quotes."""

    def __init__(self, config: ReplayProbeConfig) -> None:
        super().__init__(config)
        self.history: list[Data] = []
        self.spread_quotes: list[tuple[QuoteTick, QuoteTick | None]] = []  # (received, built from the cached legs)
        self.quote_lag_ns: list[int] = []
        self.spread_id: InstrumentId | None = None

    def on_start(self) -> None:
        now = self.clock.utc_now()
        self.request_data(
            DataType(AtmImpliedVol),
            client_id=ClientId("IV_HISTORY"),
            instrument_id=InstrumentId.from_str(self.config.underlying),
            start=now - pd.Timedelta(days=400),
            end=now,
        )
        calls = sorted(
            (i for i in self.cache.instruments() if isinstance(i, OptionContract) and i.option_kind.name == "CALL"),
            key=lambda c: (c.expiration_ns, float(c.strike_price)),
        )
        series = [c for c in calls if c.expiration_ns == calls[-1].expiration_ns]
        low, high = series[len(series) // 2], series[len(series) // 2 + 1]
        self.spread_id = new_generic_spread_id([(low.id, 1), (high.id, -1)])
        self.request_instrument(self.spread_id)
        self.subscribe_quote_ticks(self.spread_id)

    def on_historical_data(self, data: Data) -> None:
        self.history.append(data)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.instrument_id == self.spread_id:
            spread = self.cache.instrument(self.spread_id)
            legs = {leg_id: self.cache.quote_tick(leg_id) for leg_id, _ in spread.legs()}
            self.spread_quotes.append((tick, spread_quote(spread, legs, tick.ts_event)))
        self.quote_lag_ns.append(self.clock.timestamp_ns() - tick.ts_init)


@pytest.fixture
def probed(small_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A paper node running the probe until it has the IV history and a few spread quotes; stopped after the test."""
    config = tmp_path / "probe.toml"
    config.write_text(
        f'catalog = "{small_catalog.as_posix()}"\nlog_level = "ERROR"\n\n'
        f'[[strategies]]\npath = "{__name__}:ReplayProbe"\n'
    )
    monkeypatch.setattr(component, "create_pyo3_conversion_wrapper", component.create_pyo3_conversion_wrapper)
    monkeypatch.setenv("HYBRID_DB", str(tmp_path / "state.sqlite"))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = build_node(load_live_settings(config, "paper", speed=600), loop)
    (probe,) = node.trader.strategies()
    running = loop.create_task(node.run_async())

    async def until_probed() -> None:
        deadline = time.monotonic() + WAIT
        while (len(probe.spread_quotes) < 3 or not probe.history) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    try:
        loop.run_until_complete(until_probed())
        yield node, probe
    finally:
        loop.run_until_complete(node.stop_async())
        loop.run_until_complete(asyncio.wait_for(running, WAIT))
        node.dispose()
        asyncio.set_event_loop(None)


def test_replay_client_serves_history_spreads_and_live_stamped_quotes(probed) -> None:
    node, probe = probed
    today = dt.datetime.now(dt.UTC).date()
    records = [item.data if hasattr(item, "data") else item for item in probe.history]
    assert records and all(isinstance(r, AtmImpliedVol) for r in records)
    assert max(pd.Timestamp(r.ts_event, unit="ns").date() for r in records) <= today
    spread = node.cache.instrument(probe.spread_id)
    assert isinstance(spread, OptionSpread)
    assert len(probe.spread_quotes) >= 3
    for received, expected in probe.spread_quotes:
        assert received.bid_price <= received.ask_price
        assert (received.bid_price, received.ask_price, received.bid_size) == (
            expected.bid_price,
            expected.ask_price,
            expected.bid_size,
        )
    assert max(probe.quote_lag_ns) < 5 * 1_000_000_000  # stamped when published, not in 2024
