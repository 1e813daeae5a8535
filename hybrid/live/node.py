"""The live ``TradingNode``: paper (catalog replay + sandbox venue) or Interactive Brokers, with the run's components.

The config file has the backtest's schema (docs/backtest.md): ``name``, ``catalog``, ``log_level``,
``[venue]`` and the ``[[strategies]]``, ``[[actors]]`` and ``[[exec_algorithms]]`` tables, so the same
strategies, actors and execution algorithm run in both; the backtest-only keys (dates, seed, fill model,
report) are accepted and ignored. What differs by mode:

- ``paper``: the :mod:`hybrid.live.replay` client replays ``catalog`` at ``speed`` x, and
  :mod:`hybrid.live.paper` simulates the venue (``[venue] starting_balance``, NETTING, MARGIN account;
  ``margin = "options"`` installs the structure-aware margin model as in a backtest), its book journalled in
  the node's database and restored at the next start (:mod:`hybrid.live.paper_book`); the replay lists the
  contracts moved by the days the book was first journalled under, so a restart on a later day finds them;
- both: the queue drainer's ``venue`` and ``venue_restarts_empty`` default to the node's venue and mode
  (the paper venue's orders do not rest across a restart, a broker's do); a component whose config has a ``database`` key
  left unset (the recurring templates, the bot manager) gets the node's database, ``$HYBRID_DB`` or
  ``state/hybrid.sqlite``, the API's (in a backtest unset means in memory: a live node would lose it);
- ``ib``: the Interactive Brokers data and execution clients (:mod:`hybrid.live.ib`) for the underlyings
  the components name (their ``underlying`` config keys), a :class:`~hybrid.live.chain_quotes.ChainQuotes`
  actor per underlying, ``catalog`` registered as the data engine's catalog so strategies can read the
  daily IV history from it, and the :class:`~hybrid.live.order_refs.OrderRefJournal` with the IB adapter's
  workarounds (:func:`~hybrid.live.ib.apply_ib_fixes`).

Every live engine has ``graceful_shutdown_on_exception=True`` (NautilusTrader's default ends the process
with ``os._exit(1)`` and the log is lost), and the 1.231 fixes are applied as the node is built: timer
callbacks on the loop (:func:`~hybrid.nautilus_compat.live_engine.timers_on_loop`), the live data engine taking the
aggregator's flag (:func:`~hybrid.nautilus_compat.live_engine.accept_historical_flag`) and the paper venue's engine
binding (:mod:`hybrid.live.paper`).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from nautilus_trader.common.config import ImportableActorConfig, LoggingConfig
from nautilus_trader.config import (
    LiveDataEngineConfig,
    LiveExecEngineConfig,
    LiveRiskEngineConfig,
    TradingNodeConfig,
)
from nautilus_trader.execution.config import ImportableExecAlgorithmConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.persistence.config import DataCatalogConfig
from nautilus_trader.trading.config import ImportableStrategyConfig

from hybrid.live.ib import DATA_FACTORY, EXEC_FACTORY, IB_CLIENT, IbSettings, apply_ib_fixes, ib_clients
from hybrid.live.order_refs import OrderRefJournal
from hybrid.live.paper import PaperExecutionClient, PaperExecutionClientConfig, SandboxLiveExecClientFactory
from hybrid.live.paper_book import PaperBook
from hybrid.live.replay import CatalogReplayClientFactory, CatalogReplayConfig, check_speed
from hybrid.live.shift import TimeShift
from hybrid.live.stores import shared_database
from hybrid.nautilus_compat.exec_engine import exec_clients
from hybrid.nautilus_compat.live_engine import accept_historical_flag, timers_on_loop
from hybrid.nautilus_compat.spreads import SPREAD_ACCOUNT_TYPE, SPREAD_OMS_TYPE
from hybrid.risk.trading_state import register_trading_state_endpoint
from hybrid.runconfig.catalog import read_manifest
from hybrid.runconfig.components import importable
from hybrid.runconfig.settings import ComponentSpec, ConfigError, RunSettings, load_settings
from hybrid.store.db import default_db_path

MODES = ("paper", "ib")
TRADER_ID = "HYBRID-001"
REPLAY_CLIENT = "REPLAY"
DRAINER_PATH = "hybrid.live.drainer:QueueDrainer"
ORDER_REFS_PATH = "hybrid.live.order_refs:OrderRefJournal"
IB_CHAIN_DTE = (0, 90)  # option expiries the IB instrument provider loads, in days from today
DEFAULT_RATE, DEFAULT_DIVIDEND = 0.045, 0.013  # the API's Greeks when the catalog does not say


@dataclass(frozen=True)
class LiveSettings:
    """The run config file plus what the command line and the environment add."""

    mode: str
    run: RunSettings
    venue: str
    speed: float
    rate: float
    dividend: float
    ib: IbSettings | None = None

    @property
    def underlyings(self) -> list[str]:
        """The underlyings the components trade (their ``underlying`` config keys), sorted; SPY when none says."""
        names = {
            spec.config["underlying"] for spec in self.run.components if isinstance(spec.config.get("underlying"), str)
        }
        return sorted(names) or ["SPY"]

    @property
    def has_drainer(self) -> bool:
        return any(spec.path == DRAINER_PATH for spec in self.run.components)


def load_live_settings(
    config_file: str | Path,
    mode: str,
    catalog: str | Path | None = None,
    speed: float = 1.0,
    env: Mapping[str, str] | None = None,
) -> LiveSettings:
    """Read the config file and check the mode's inputs; bad input is a one-line :class:`ConfigError`."""
    if mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    run = load_settings(config_file, catalog=catalog)
    try:
        check_speed(speed)
    except ValueError as exc:
        raise ConfigError(f"--speed: {exc}") from None
    if mode == "ib":
        ib = IbSettings.from_env(env if env is not None else os.environ)
        return LiveSettings(mode, run, run.venue.name or "OPRA", speed, DEFAULT_RATE, DEFAULT_DIVIDEND, ib)
    manifest = read_manifest(run.catalog)
    rate = float(manifest.extra.get("rate", DEFAULT_RATE))
    dividend = float(manifest.extra.get("dividend_yield", DEFAULT_DIVIDEND))
    return LiveSettings(mode, run, run.venue.name or manifest.venue, speed, rate, dividend)


def node_config(settings: LiveSettings) -> TradingNodeConfig:
    """The ``TradingNodeConfig`` of the mode (module docstring)."""
    run = settings.run
    specs = [_with_database(_drainer_defaults(spec, settings)) for spec in run.components]
    components = [importable(spec, str(run.config_file)) for spec in specs]
    data_clients, exec_clients, catalogs, mode_actors = _paper(settings) if settings.mode == "paper" else _ib(settings)
    return TradingNodeConfig(
        trader_id=TRADER_ID,
        logging=LoggingConfig(log_level=run.log_level),
        data_engine=LiveDataEngineConfig(graceful_shutdown_on_exception=True),
        risk_engine=LiveRiskEngineConfig(graceful_shutdown_on_exception=True),
        exec_engine=LiveExecEngineConfig(graceful_shutdown_on_exception=True),
        data_clients=data_clients,
        exec_clients=exec_clients,
        catalogs=catalogs,
        strategies=[c for c in components if isinstance(c, ImportableStrategyConfig)],
        actors=[*mode_actors, *(c for c in components if isinstance(c, ImportableActorConfig))],
        exec_algorithms=[c for c in components if isinstance(c, ImportableExecAlgorithmConfig)],
        timeout_connection=60.0,
        timeout_reconciliation=10.0,
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=1.0,
    )


ModeParts = tuple[dict, dict, list[DataCatalogConfig], list[ImportableActorConfig]]


def _paper(settings: LiveSettings) -> ModeParts:
    """The replay client (listing contracts as the paper book's first run did), the sandbox venue with its book
    kept in the node's database, no catalog for the data engine, and the margin installer if asked."""
    run = settings.run
    database = default_db_path()
    first_ns = pd.Timestamp(read_manifest(run.catalog).start).value
    shift = PaperBook(shared_database(database)).listing_shift(
        settings.venue, TimeShift.onto(first_ns, time.time_ns()).days
    )
    data_clients = {
        REPLAY_CLIENT: CatalogReplayConfig(catalog=str(run.catalog), speed=settings.speed, shift_days=shift)
    }
    venue = PaperExecutionClientConfig(
        venue=settings.venue,
        starting_balances=[f"{run.venue.starting_balance:.2f} USD"],
        oms_type=SPREAD_OMS_TYPE,
        account_type=SPREAD_ACCOUNT_TYPE,
        database=str(database),
    )
    margin = (
        [_actor("hybrid.risk.margin:OptionsMarginInstaller", {"venue": settings.venue})]
        if run.venue.margin == "options"
        else []
    )
    return data_clients, {settings.venue: venue}, [], margin


def _ib(settings: LiveSettings) -> ModeParts:
    """The IB clients, the catalog for the IV history, one chain-quotes actor per underlying, the order-ref journal."""
    assert settings.ib is not None  # load_live_settings reads it for the ib mode
    data_clients, exec_clients = ib_clients(settings.ib, settings.underlyings, settings.venue, *IB_CHAIN_DTE)
    min_dte, max_dte = IB_CHAIN_DTE
    quotes = [
        _actor(
            "hybrid.live.chain_quotes:ChainQuotes",
            {"underlying": u, "venue": settings.venue, "min_dte": min_dte, "max_dte": max_dte},
            component_id=f"ChainQuotes-{u}",
        )
        for u in settings.underlyings
    ]
    journal = _actor(ORDER_REFS_PATH, {"database": str(default_db_path())}, component_id="OrderRefJournal")
    return data_clients, exec_clients, [DataCatalogConfig(path=str(settings.run.catalog))], [*quotes, journal]


def _drainer_defaults(spec: ComponentSpec, settings: LiveSettings) -> ComponentSpec:
    """The queue drainer's ``venue`` and ``venue_restarts_empty`` from the node, unless the file sets them."""
    if spec.path != DRAINER_PATH:
        return spec
    defaults = {"venue": settings.venue, "venue_restarts_empty": settings.mode == "paper"}
    return replace(spec, config={**defaults, **spec.config})


def _with_database(spec: ComponentSpec) -> ComponentSpec:
    """``spec`` with ``database`` set to the node's database when its config class has that key and it is unset."""
    module, _, name = spec.config_path.partition(":")
    try:
        fields = getattr(getattr(importlib.import_module(module), name, None), "__struct_fields__", ())
    except ImportError:
        return spec  # importable() reports the bad path in one line
    if "database" not in fields or spec.config.get("database") is not None:
        return spec
    return replace(spec, config={**spec.config, "database": str(default_db_path())})


def _actor(path: str, config: dict, component_id: str | None = None) -> ImportableActorConfig:
    module, _, name = path.partition(":")
    if component_id is not None:
        config = {**config, "component_id": component_id}
    return ImportableActorConfig(actor_path=path, config_path=f"{module}:{name}Config", config=config)


def build_node(settings: LiveSettings, loop: asyncio.AbstractEventLoop) -> TradingNode:
    """The built node on ``loop`` (not yet running; call from the loop's thread), with the 1.231 fixes applied."""
    timers_on_loop(loop)
    node = TradingNode(node_config(settings), loop=loop)
    if settings.mode == "paper":
        node.add_data_client_factory(REPLAY_CLIENT, CatalogReplayClientFactory)
        node.add_exec_client_factory(settings.venue, SandboxLiveExecClientFactory)
    else:
        node.add_data_client_factory(IB_CLIENT, DATA_FACTORY)
        node.add_exec_client_factory(IB_CLIENT, EXEC_FACTORY)
    node.build()
    kernel = node.kernel
    accept_historical_flag(kernel.data_engine)
    for client in exec_clients(kernel.exec_engine):
        if isinstance(client, PaperExecutionClient):
            client.bind_engine(kernel.exec_engine)
    if settings.mode == "ib":
        journal = next(a for a in node.trader.actors() if isinstance(a, OrderRefJournal))
        apply_ib_fixes(kernel.exec_engine, journal.lookup)
    register_trading_state_endpoint(kernel.msgbus, kernel.risk_engine)
    return node
