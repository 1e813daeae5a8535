"""Build one BacktestNode run from the settings and run it.

A ``BacktestNode`` (not a bare ``BacktestEngine``) so the whole run is plain configuration:
catalog data configs, a venue config with an importable fee model, importable strategies, actors and
execution algorithms. The fill model is the exception: it reads the engine's clock, so it is installed
(``change_fill_model``) once the node has built the engine, before the run. The engine is kept after the run (``dispose_on_completion=False``)
so the report can read its cache, portfolio and trader, then disposed.

The catalog is also the data engine's catalog, so strategies can ``request_data`` history from it
(the IV-rank strategy's year of daily ATM IV), and the kernel's RiskEngine takes trading-state
requests on :data:`hybrid.risk.TRADING_STATE_ENDPOINT` (the circuit breaker's REDUCING / HALTED).

A large catalog is streamed (:mod:`hybrid.backtest.streaming`): read in chunks of ``chunk_size`` rows
while the engine runs, so memory stays bounded whatever the catalog's size; a small one is loaded in
one shot by ``BacktestNode.run()``. Both give the same fills. ``[backtest] chunk_size`` decides: a
number of rows streams, 0 loads in one shot, and without it catalogs of more than
:data:`STREAMING_THRESHOLD_QUOTES` quotes stream in chunks of :data:`DEFAULT_CHUNK_SIZE`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from nautilus_trader.backtest.config import (
    BacktestDataConfig,
    BacktestEngineConfig,
    BacktestRunConfig,
    BacktestVenueConfig,
    ImportableFeeModelConfig,
)
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.backtest.results import BacktestResult
from nautilus_trader.cache.config import CacheConfig
from nautilus_trader.common.component import Clock
from nautilus_trader.common.config import ImportableActorConfig, LoggingConfig
from nautilus_trader.execution.config import ImportableExecAlgorithmConfig
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.config import DataCatalogConfig
from nautilus_trader.persistence.funcs import class_to_filename
from nautilus_trader.trading.config import ImportableStrategyConfig

from hybrid.backtest.fill_model import PriceImprovementFillModel, PriceImprovementFillModelConfig
from hybrid.nautilus_compat.leg_prices import LegFillPricer, price_leg_fills
from hybrid.nautilus_compat.streaming import add_streams, stream_window
from hybrid.options.iv_data import IV_DATA_CLIENT, AtmImpliedVol
from hybrid.risk.trading_state import register_trading_state_endpoint
from hybrid.runconfig.catalog import effective_range, read_manifest
from hybrid.runconfig.components import importable
from hybrid.runconfig.settings import ConfigError, RunSettings

STREAMING_THRESHOLD_QUOTES = 5_000_000
DEFAULT_CHUNK_SIZE = 250_000
# A streamed run reads the catalog a window of time at a time, sized to hold about this many chunks' rows:
# what bounds its memory (hybrid.nautilus_compat.streaming).
WINDOW_CHUNKS = 4
# Quotes and trades the cache keeps per instrument: components read only the latest, and the default
# (10,000) keeps most of a catalog's quotes alive, which is what bounded memory must not do.
TICK_CAPACITY = 100


@dataclass
class BacktestRun:
    """A finished run whose engine is still alive: what the report reads."""

    settings: RunSettings
    venue: Venue
    start: pd.Timestamp
    end: pd.Timestamp
    engine: BacktestEngine
    result: BacktestResult
    fill_model: PriceImprovementFillModel
    leg_pricer: LegFillPricer
    chunk_size: int | None  # rows a chunk when the catalog was streamed, None when loaded in one shot


def build_run_config(
    settings: RunSettings,
    venue: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    instrumented: bool = True,
) -> BacktestRunConfig:
    """The NautilusTrader run configuration: catalog data, one venue, the components and, when
    ``instrumented``, our equity sampler and progress actors (the benchmark's bare run goes without).
    """
    source = str(settings.config_file)
    components = [importable(spec, source) for spec in settings.components]
    _check_unique_strategies(settings)
    return BacktestRunConfig(
        venues=[_venue_config(settings, venue)],
        data=_data_configs(settings),
        engine=BacktestEngineConfig(
            logging=LoggingConfig(log_level=settings.log_level),
            cache=CacheConfig(tick_capacity=TICK_CAPACITY),
            catalogs=[DataCatalogConfig(path=str(settings.catalog))],
            strategies=[c for c in components if isinstance(c, ImportableStrategyConfig)],
            actors=[
                *_margin_actors(settings, venue),
                _expiry_recorder(venue),
                *(_own_actors(settings, venue, start, end) if instrumented else []),
                *(c for c in components if isinstance(c, ImportableActorConfig)),
            ],
            exec_algorithms=[c for c in components if isinstance(c, ImportableExecAlgorithmConfig)],
        ),
        start=start.isoformat(),
        end=end.isoformat(),
        raise_exception=True,
        dispose_on_completion=False,
    )


@contextmanager
def run_backtest(settings: RunSettings, instrumented: bool = True) -> Iterator[BacktestRun]:
    """Check the inputs, run the backtest and yield the finished run; the engine is disposed on exit."""
    manifest = read_manifest(settings.catalog)
    start, end = effective_range(manifest, settings.catalog, settings.start, settings.end)
    venue = settings.venue.name or manifest.venue
    chunk_size = streaming_chunk_size(settings, manifest.quotes)
    run_config = build_run_config(settings, venue, start, end, instrumented)
    if settings.progress:  # loading comes before the simulated clock (and the progress actor) starts
        print(
            f"backtest: loading {settings.catalog} ({manifest.instruments:,} instruments, {manifest.quotes:,} quotes)",
            file=sys.stderr,
        )
    node = BacktestNode(configs=[run_config])
    try:
        node.build()
        engine = node.get_engine(run_config.id)
        if engine is None:
            raise RuntimeError(f"the backtest node built no engine for run {run_config.id}")
        kernel = engine.kernel
        register_trading_state_endpoint(kernel.msgbus, kernel.risk_engine)
        leg_pricer = price_leg_fills(kernel.msgbus, kernel.cache, kernel.exec_engine)  # legs inside quotes, summing
        fill_model = venue_fill_model(settings, kernel.clock)
        engine.change_fill_model(Venue(venue), fill_model)
        if chunk_size is None:
            results = node.run()
        else:
            window = stream_window(
                manifest.quotes, pd.Timestamp(manifest.start), pd.Timestamp(manifest.end), WINDOW_CHUNKS * chunk_size
            )
            results = [_stream(engine, run_config, start, end, chunk_size, window)]
        yield BacktestRun(
            settings=settings,
            venue=Venue(venue),
            start=start,
            end=end,
            engine=node.get_engine(run_config.id),
            result=results[0],
            fill_model=fill_model,
            leg_pricer=leg_pricer,
            chunk_size=chunk_size,
        )
    finally:
        node.dispose()


def streaming_chunk_size(settings: RunSettings, quotes: int) -> int | None:
    """Rows a chunk when the run streams the catalog, None to load it in one shot (``[backtest] chunk_size``)."""
    if settings.chunk_size is not None:
        return settings.chunk_size or None
    return DEFAULT_CHUNK_SIZE if quotes > STREAMING_THRESHOLD_QUOTES else None


def _stream(
    engine: BacktestEngine,
    run_config: BacktestRunConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
    chunk_size: int,
    window: pd.Timedelta,
) -> BacktestResult:
    """What ``BacktestNode.run()`` does for one run, with the catalog streamed instead of loaded."""
    add_streams(engine, run_config.data, start, end, chunk_size, window)
    engine.run(start=run_config.start, end=run_config.end, run_config_id=run_config.id)
    engine.clear_data()
    return engine.get_result()


def venue_fill_model(settings: RunSettings, clock: Clock) -> PriceImprovementFillModel:
    """The venue's fill model: touches, and price improvement inside the natural (``[fill_model]``), seeded by ``seed``."""
    fill = settings.fill_model
    config = PriceImprovementFillModelConfig(
        prob_fill_on_touch=fill.prob_fill_on_touch,
        prob_slippage=fill.prob_slippage,
        random_seed=settings.seed,
        rate_per_minute=fill.improvement.rate_per_minute,
        exponent=fill.improvement.exponent,
        applies_to=fill.improvement.applies_to,
    )
    return PriceImprovementFillModel(config, clock)


def _data_configs(settings: RunSettings) -> list[BacktestDataConfig]:
    """Quotes of every instrument in the catalog (which also loads all its instruments), the
    underlying's trade prints and the daily ATM implied vol when the catalog has them (custom data
    needs a client id: CATALOG).
    """
    catalog = str(settings.catalog)
    configs = [BacktestDataConfig(catalog_path=catalog, data_cls=QuoteTick.fully_qualified_name())]
    data_types = ParquetDataCatalog(catalog).list_data_types()
    if class_to_filename(TradeTick) in data_types:  # the underlying's prints: the venue settles expiries on LAST
        configs.append(BacktestDataConfig(catalog_path=catalog, data_cls=TradeTick.fully_qualified_name()))
    if class_to_filename(AtmImpliedVol) in data_types:
        configs.append(
            BacktestDataConfig(
                catalog_path=catalog,
                data_cls=AtmImpliedVol.fully_qualified_name(),
                client_id=IV_DATA_CLIENT,
            ),
        )
    return configs


def _venue_config(settings: RunSettings, venue: str) -> BacktestVenueConfig:
    # NETTING: HEDGING would open new opposite leg positions when a spread is closed.
    # liquidity_consumption: passive fills are capped at the displayed size, and the fill model's
    # "no fill this time" is handled quietly (see hybrid.backtest.fill_model).
    # No fill model here: ours reads the engine's clock, so run_backtest installs it once the engine exists.
    return BacktestVenueConfig(
        name=venue,
        oms_type="NETTING",
        account_type="MARGIN",
        starting_balances=[f"{settings.venue.starting_balance:.2f} USD"],
        fee_model=ImportableFeeModelConfig(
            fee_model_path="hybrid.backtest.fee_model:OptionsAndSharesFeeModel",
            config_path="hybrid.backtest.fee_model:OptionsAndSharesFeeModelConfig",
            config={
                "fee_per_contract": settings.venue.fee_per_contract,
                "fee_per_share": settings.venue.fee_per_share,
                "share_fee_minimum": settings.venue.share_fee_minimum,
            },
        ),
        liquidity_consumption=True,
    )


def _margin_actors(settings: RunSettings, venue: str) -> list[ImportableActorConfig]:
    """``[venue] margin = "options"``: the structure-aware margin model, set on the account by an actor
    (NautilusTrader's margin model factory cannot hand a model the cache it needs; see hybrid.risk.margin)."""
    if settings.venue.margin != "options":
        return []
    return [
        ImportableActorConfig(
            actor_path="hybrid.risk.margin:OptionsMarginInstaller",
            config_path="hybrid.risk.margin:OptionsMarginInstallerConfig",
            config={"venue": venue},
        ),
    ]


def _expiry_recorder(venue: str) -> ImportableActorConfig:
    """Every run: the group view must know of an expiry also where the venue settled nothing (hybrid.backtest.expiry)."""
    return ImportableActorConfig(
        actor_path="hybrid.backtest.expiry:ExpiryRecorder",
        config_path="hybrid.backtest.expiry:ExpiryRecorderConfig",
        config={"venue": venue},
    )


def _own_actors(
    settings: RunSettings,
    venue: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> list[ImportableActorConfig]:
    actors = [
        ImportableActorConfig(
            actor_path="hybrid.backtest.equity:EquitySampler",
            config_path="hybrid.backtest.equity:EquitySamplerConfig",
            config={"venue": venue, "interval_minutes": settings.equity_interval_minutes},
        ),
    ]
    if settings.progress:
        actors.append(
            ImportableActorConfig(
                actor_path="hybrid.backtest.progress:Progress",
                config_path="hybrid.backtest.progress:ProgressConfig",
                config={"start_ns": start.value, "end_ns": end.value},
            ),
        )
    return actors


def _check_unique_strategies(settings: RunSettings) -> None:
    """Two strategies of one class need distinct ``order_id_tag``s, or NautilusTrader refuses the second."""
    seen: dict[tuple[str, str | None], str] = {}
    for spec in settings.components:
        if spec.table == "strategies":
            key = (spec.path, spec.config.get("order_id_tag"))
            if key in seen:
                raise ConfigError(
                    f"{settings.config_file}: {spec.where} repeats {seen[key]} ({spec.path}); "
                    "give each one a distinct config.order_id_tag",
                )
            seen[key] = spec.where
