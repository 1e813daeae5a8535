"""Backtests over a ParquetDataCatalog: config file in, report folder out (see docs/backtest.md)."""

from hybrid.backtest.report import run_and_report, write_report
from hybrid.backtest.runner import BacktestRun, build_run_config, run_backtest
from hybrid.backtest.settings import BacktestSettings, ConfigError, load_settings

__all__ = [
    "BacktestRun",
    "BacktestSettings",
    "ConfigError",
    "build_run_config",
    "load_settings",
    "run_and_report",
    "run_backtest",
    "write_report",
]
