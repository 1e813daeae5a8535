"""Generate the synthetic market into a catalog: path, chain, quotes, IV history and manifest."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from data.synthetic.catalog_writer import check_target, staged_catalog, write_quotes, write_trades
from data.synthetic.chain import list_chain
from data.synthetic.config import MarketConfig
from data.synthetic.intraday import intraday_path
from data.synthetic.option_grid import OptionGrid
from data.synthetic.quoting import underlying_quotes, underlying_trades
from data.synthetic.random_streams import UNDERLYING_QUOTES, UNDERLYING_TRADES, stream
from data.synthetic.regime_path import daily_path
from hybrid.options.instruments import make_equity, make_option
from hybrid.options.iv_data import AtmImpliedVol
from hybrid.runconfig.manifest import CatalogManifest

TRADE_PRINT_INTERVAL_S = 60  # the underlying prints a trade a minute, and a closing print each session


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").isoformat()


def generate(config: MarketConfig, out_dir: str | Path, progress: bool = True) -> CatalogManifest:
    """Write the market described by ``config`` as a ParquetDataCatalog at ``out_dir`` (new or empty).

    Returns the manifest also written to ``out_dir/manifest.json``.
    """
    check_target(out_dir)
    daily = daily_path(config)
    path = intraday_path(config, daily)
    day_open = np.flatnonzero(path.step_in_day == 0)
    chain = list_chain(config, daily.window_dates, list(path.spot[day_open]), list(path.iv30[day_open]))
    grid = OptionGrid(config, path, daily)

    with staged_catalog(out_dir) as catalog:
        equity = make_equity(config.symbol, config.venue, ts_ns=int(path.open_ns[0]))
        quotes = underlying_quotes(path.spot, config.quotes, stream(config.seed, UNDERLYING_QUOTES))
        count = write_quotes(catalog, equity.id, quotes, path.ts_ns)
        window = slice(daily.window_start, None)
        trades = underlying_trades(
            path.ts_ns,
            path.spot,
            daily.close_ns[window],
            daily.spot[window],
            max(1, TRADE_PRINT_INTERVAL_S // config.underlying_interval_s),
            config.quotes,
            stream(config.seed, UNDERLYING_TRADES),
        )
        trade_count = write_trades(catalog, equity.id, trades)
        last_ns = int(path.ts_ns[-1])

        options = []
        for contract in tqdm(chain, desc="option quotes", unit="contract", file=sys.stderr, disable=not progress):
            activation = int(path.open_ns[contract.listed_day])
            option = make_option(
                config.symbol, contract.expiry, contract.right, contract.strike, config.venue, activation_ns=activation
            )
            series_quotes, ts = grid.contract_quotes(contract, activation)
            count += write_quotes(catalog, option.id, series_quotes, ts)
            last_ns = max(last_ns, int(ts[-1]))
            options.append(option)
        catalog.write_data([equity, *options])

        catalog.write_data(
            [
                AtmImpliedVol(ts_event=int(ns), ts_init=int(ns), instrument_id=equity.id, iv_30d=float(iv))
                for ns, iv in zip(daily.close_ns, daily.iv30, strict=True)
            ]
        )

        manifest = CatalogManifest(
            source="synthetic",
            underlying=equity.id.value,
            venue=config.venue,
            start=_iso(path.ts_ns[0]),
            end=_iso(last_ns),
            instruments=1 + len(options),
            quotes=count,
            seed=config.seed,
            profile=config.profile_name,
            iv_history_days=len(daily.dates),
            extra={
                "scenario": config.scenario,
                "window_days": config.days,
                "iv_warmup_days": daily.window_start,
                "rate": config.rate,
                "dividend_yield": config.dividend_yield,
                "penny": config.penny,
                "option_interval_s": config.option_interval_s,
                "underlying_interval_s": config.underlying_interval_s,
                "start_spot": config.spot,
                "underlying_trades": trade_count,
            },
        )
        manifest.write(catalog.path)
    return manifest
