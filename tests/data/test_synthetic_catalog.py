"""The generated catalog read back through NautilusTrader: instruments, quotes, IV history, backtest."""

import filecmp
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import (
    ActorConfig,
    BacktestDataConfig,
    BacktestEngineConfig,
    BacktestRunConfig,
    BacktestVenueConfig,
    ImportableActorConfig,
    LoggingConfig,
)
from nautilus_trader.model.data import DataType, QuoteTick
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.instruments import Equity, OptionContract
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from data.generate import main
from data.synthetic import MarketConfig, generate
from data.synthetic.regime_path import daily_path
from hybrid.calendar import nyse as calendar
from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.instruments import parse_occ_symbol
from hybrid.options.iv_data import AtmImpliedVol, load_atm_iv_history
from hybrid.runconfig.manifest import CatalogManifest

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test


@pytest.fixture(scope="module")
def manifest(small_catalog: Path) -> CatalogManifest:
    return CatalogManifest.read(small_catalog)


@pytest.fixture(scope="module")
def config(manifest: CatalogManifest) -> MarketConfig:
    return MarketConfig.profile("small", seed=manifest.seed)


@pytest.fixture(scope="module")
def catalog(small_catalog: Path) -> ParquetDataCatalog:
    return ParquetDataCatalog(str(small_catalog))


@pytest.fixture(scope="module")
def instruments(catalog):
    return {i.id.value: i for i in catalog.instruments()}


@pytest.fixture(scope="module")
def quotes(catalog) -> pd.DataFrame:
    rows = [
        (
            q.instrument_id.value,
            q.ts_event,
            q.ts_init,
            q.bid_price.as_double(),
            q.ask_price.as_double(),
            q.bid_size.as_double(),
            q.ask_size.as_double(),
            q.bid_price.precision,
        )
        for q in catalog.query(QuoteTick)
    ]
    return pd.DataFrame(rows, columns=["id", "ts", "ts_init", "bid", "ask", "bid_size", "ask_size", "precision"])


def test_manifest_describes_the_catalog(manifest, config, instruments, quotes):
    assert (manifest.source, manifest.profile, manifest.underlying, manifest.venue) == (
        "synthetic",
        "small",
        "SPY.OPRA",
        "OPRA",
    )
    assert manifest.instruments == len(instruments)
    assert manifest.quotes == len(quotes)
    assert manifest.start == pd.Timestamp(quotes.ts.min(), tz="UTC").isoformat()
    assert manifest.end == pd.Timestamp(quotes.ts.max(), tz="UTC").isoformat()
    assert manifest.iv_history_days == config.history_days + config.days
    assert manifest.extra["rate"] == config.rate and manifest.extra["dividend_yield"] == config.dividend_yield


def test_instruments_are_an_equity_and_occ_options_on_one_venue(instruments, manifest, quotes):
    equities = [i for i in instruments.values() if isinstance(i, Equity)]
    options = [i for i in instruments.values() if isinstance(i, OptionContract)]
    assert [e.id.value for e in equities] == ["SPY.OPRA"]
    assert len(options) == len(instruments) - 1 >= 40
    opens = {
        calendar.session_open_close(d)[0].value
        for d in calendar.trading_days(pd.Timestamp(manifest.start).date(), pd.Timestamp(manifest.end).date())
    }
    first_quote = quotes.groupby("id").ts.min()
    for option in options:
        root, expiry, right, strike = parse_occ_symbol(option.id.symbol.value)
        assert option.id.venue.value == "OPRA" and option.underlying == "SPY" and root == "SPY"
        assert float(option.strike_price) == float(strike) and option.option_kind.name[0] == right
        close = pd.Timestamp(option.expiration_ns, tz="UTC").tz_convert(NEW_YORK)
        assert (close.date(), close.hour, close.minute) == (expiry, 16, 0)
        assert option.activation_ns in opens  # listed at a session's open ...
        assert first_quote[option.id.value] == option.activation_ns  # ... and quoted from then on
    assert set(quotes.id) == set(instruments)  # every instrument quoted, no spread quotes


def test_quotes_only_in_regular_hours_of_trading_days(quotes, manifest):
    days = calendar.trading_days(pd.Timestamp(manifest.start).date(), pd.Timestamp(manifest.end).date())
    sessions = [calendar.session_open_close(d) for d in days]
    opens = np.array([o.value for o, _ in sessions])
    closes = np.array([c.value for _, c in sessions])
    ts = quotes.ts.to_numpy(dtype=np.int64)
    i = np.searchsorted(opens, ts, side="right") - 1
    assert (i >= 0).all() and (ts < closes[i]).all()
    assert (quotes.ts == quotes.ts_init).all()


def test_quotes_are_sane_and_on_the_penny_grid(quotes, instruments):
    assert (quotes.bid >= 0).all() and (quotes.ask > quotes.bid).all()
    assert (quotes.precision == 2).all()
    cents = np.concatenate([quotes.bid, quotes.ask]) * 100
    np.testing.assert_allclose(cents, np.rint(cents), atol=1e-6)
    expiry = quotes.id.map({k: getattr(v, "expiration_ns", np.iinfo(np.int64).max) for k, v in instruments.items()})
    assert (quotes.ts < expiry).all()
    underlying = quotes[quotes.id == "SPY.OPRA"]
    np.testing.assert_allclose(underlying.ask - underlying.bid, 0.01, atol=1e-9)
    assert (underlying.bid_size % 100 == 0).all() and len(underlying) > len(quotes) / 20


def test_contracts_are_quoted_every_session_until_expiry(quotes, instruments):
    day = pd.to_datetime(quotes.ts, utc=True).dt.tz_convert(NEW_YORK).dt.date
    sessions = sorted(day.unique())
    quoted_days = day.groupby(quotes.id).nunique()
    for option in (i for i in instruments.values() if isinstance(i, OptionContract)):
        listed = pd.Timestamp(option.activation_ns, tz="UTC").tz_convert(NEW_YORK).date()
        expiry = pd.Timestamp(option.expiration_ns, tz="UTC").tz_convert(NEW_YORK).date()
        assert quoted_days[option.id.value] == sum(listed <= d <= expiry for d in sessions)


def test_widths_wider_out_of_the_money_and_longer_dated(quotes, instruments):
    options = {k: v for k, v in instruments.items() if isinstance(v, OptionContract)}
    first_open = quotes.ts.min()
    snap = quotes[(quotes.ts == first_open) & quotes.id.isin(options)].copy()
    spot = float(quotes[(quotes.id == "SPY.OPRA") & (quotes.ts == first_open)].bid.iloc[0])
    snap["strike"] = snap.id.map(lambda k: float(options[k].strike_price))
    snap["expiry"] = snap.id.map(lambda k: options[k].expiration_ns)
    snap["width"] = snap.ask - snap.bid
    snap["mid"] = (snap.ask + snap.bid) / 2
    calls = snap[snap.id.map(lambda k: options[k].option_kind.name == "CALL")]
    nearest = calls[calls.expiry == calls.expiry.min()]
    furthest = calls[calls.expiry == calls.expiry.max()]
    atm = lambda frame: frame.iloc[(frame.strike - spot).abs().argmin()]  # noqa: E731
    assert atm(furthest).width > atm(nearest).width
    otm = furthest[furthest.strike > spot * 1.05]
    assert (otm.width / otm.mid).min() > atm(furthest).width / atm(furthest).mid
    assert atm(nearest).width <= 0.10  # a few cents, even in a spike


def test_iv_history_round_trips_as_custom_data(catalog, small_catalog, config, manifest):
    records = catalog.query(AtmImpliedVol)
    assert len(records) == manifest.iv_history_days
    values = [r.data for r in records]
    assert all(isinstance(v, AtmImpliedVol) and v.instrument_id.value == "SPY.OPRA" for v in values)
    assert [r.data.iv_30d for r in catalog.custom_data(AtmImpliedVol)] == [v.iv_30d for v in values]
    daily = daily_path(config)
    np.testing.assert_array_equal([v.iv_30d for v in values], daily.iv30)
    assert [v.ts_event for v in values] == daily.close_ns.tolist()

    history = load_atm_iv_history(small_catalog, "SPY.OPRA")
    assert history.name == "iv_30d" and history.index.is_monotonic_increasing
    assert list(history.index) == daily.dates
    window_start = pd.Timestamp(manifest.start).date()
    assert (history.index < window_start).sum() >= 252
    assert (history.index >= window_start).sum() == config.days
    with pytest.raises(ValueError, match="has no AtmImpliedVol data"):
        load_atm_iv_history(small_catalog, "QQQ.OPRA")


class IvRecorderConfig(ActorConfig, frozen=True):
    client_id: str


class IvRecorder(Actor):
    """Collects the AtmImpliedVol records a backtest delivers."""

    def __init__(self, config: IvRecorderConfig) -> None:
        super().__init__(config)
        self.received: list[AtmImpliedVol] = []

    def on_start(self) -> None:
        self.subscribe_data(DataType(AtmImpliedVol), client_id=ClientId(self.config.client_id))

    def on_data(self, data) -> None:
        self.received.append(data)


def test_backtest_node_streams_quotes_and_iv_history(small_catalog, manifest):
    path = str(small_catalog)
    run = BacktestRunConfig(
        engine=BacktestEngineConfig(
            actors=[
                ImportableActorConfig(
                    actor_path=f"{__name__}:IvRecorder",
                    config_path=f"{__name__}:IvRecorderConfig",
                    config={"client_id": "SYNTHETIC"},
                )
            ],
            logging=LoggingConfig(log_level="ERROR"),
        ),
        venues=[
            BacktestVenueConfig(
                name="OPRA", oms_type="NETTING", account_type="MARGIN", starting_balances=["1000000 USD"]
            )
        ],
        data=[
            BacktestDataConfig(catalog_path=path, data_cls=QuoteTick),
            BacktestDataConfig(
                catalog_path=path, data_cls="hybrid.options.iv_data:AtmImpliedVol", client_id="SYNTHETIC"
            ),
        ],
        dispose_on_completion=False,
    )
    node = BacktestNode([run])
    try:
        [result] = node.run()
        engine = node.get_engine(run.id)
        recorder = engine.trader.actors()[0]
        assert len(engine.cache.instruments()) == manifest.instruments
        assert result.iterations == manifest.quotes + manifest.iv_history_days
        assert len(recorder.received) == manifest.iv_history_days
        assert all(isinstance(d, AtmImpliedVol) for d in recorder.received)
    finally:
        node.dispose()


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_identical_catalog_other_seed_differs(small_catalog, manifest, tmp_path, capsys):
    again = tmp_path / "again"
    assert main(["--profile", "small", "--seed", str(manifest.seed), "--out", str(again), "--quiet"]) == 0
    assert f"wrote {again}" in capsys.readouterr().out
    files = _files(small_catalog)
    assert files == _files(again)
    _, mismatch, errors = filecmp.cmpfiles(small_catalog, again, files, shallow=False)
    assert mismatch == [] and errors == []

    other = tmp_path / "other"
    generate(MarketConfig.profile("small", seed=manifest.seed + 1), other, progress=False)
    first = ParquetDataCatalog(str(small_catalog)).query(QuoteTick, identifiers=["SPY.OPRA"])
    second = ParquetDataCatalog(str(other)).query(QuoteTick, identifiers=["SPY.OPRA"])
    assert [q.bid_price for q in first] != [q.bid_price for q in second]
    assert json.loads((other / "manifest.json").read_text())["seed"] == manifest.seed + 1


def test_non_penny_class_ticks(tmp_path):
    out = tmp_path / "nonpenny"
    generate(MarketConfig.profile("small", days=1, penny=False), out, progress=False)
    catalog = ParquetDataCatalog(str(out))
    ids = [i.id.value for i in catalog.instruments() if isinstance(i, OptionContract)]
    cents = np.array(
        [
            [round(q.bid_price.as_double() * 100), round(q.ask_price.as_double() * 100)]
            for q in catalog.query(QuoteTick, identifiers=ids)
        ]
    ).ravel()
    assert (cents[cents < 300] % 5 == 0).all() and (cents[cents >= 300] % 10 == 0).all()
    assert (cents >= 300).any() and ((cents > 0) & (cents < 300)).any()


def exit_status(argv: list[str]) -> int:
    """The CLI's exit status, whether argparse exits or ``main`` returns."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "huge"], "invalid choice: 'huge'"),
        (["--profile", "small", "--start", "2024-02-30"], "expected a date as YYYY-MM-DD"),
        (["--profile", "small", "--days", "0"], "days must be 1 to 260, got 0"),
        (["--profile", "small", "--spot", "0"], "spot must be between 1 and 10000"),
        (["--profile", "small", "--symbol", "spy"], "symbol must be 1-6 upper-case"),
        (["--profile", "small", "--scenario", "crash"], "invalid choice: 'crash'"),
    ],
)
def test_cli_rejects_bad_arguments_in_one_line(args, message, tmp_path, capsys):
    out = tmp_path / "never"
    assert exit_status([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_cli_refuses_a_non_empty_output(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert exit_status(["--profile", "small", "--out", str(tmp_path), "--quiet"]) == 2
    assert "out must be a new or empty directory" in capsys.readouterr().err
    assert _files(tmp_path) == ["keep.txt"]


def test_underlying_prints_trades_and_a_closing_print_each_session(catalog, manifest, config):
    """The venue settles expiring options on the underlying's LAST price, so trades must exist."""
    trades = catalog.trade_ticks()
    assert len(trades) == manifest.extra["underlying_trades"] > 0
    assert {t.instrument_id.value for t in trades} == {manifest.underlying}
    daily = daily_path(config)
    window = slice(daily.window_start, None)
    closing = {int(t.ts_event): t.price.as_double() for t in trades}
    for close_ns, close_spot in zip(daily.close_ns[window], daily.spot[window], strict=True):
        assert closing[int(close_ns) - 1_000_000_000] == pytest.approx(round(close_spot, 2), abs=1e-9)
    quotes_by_ts = {q.ts_event: q for q in catalog.quote_ticks(instrument_ids=[manifest.underlying])}
    for trade in trades:
        quote = quotes_by_ts.get(trade.ts_event)
        if quote is not None:  # intraday prints trade at the bid or the ask
            assert trade.price in (quote.bid_price, quote.ask_price)
