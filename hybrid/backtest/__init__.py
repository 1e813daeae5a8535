"""Backtests over a ParquetDataCatalog: config file in, report folder out (see docs/backtest.md)."""

from hybrid.backtest.report import run_and_report, write_report
from hybrid.backtest.runner import BacktestRun, build_run_config, run_backtest

__all__ = ["BacktestRun", "build_run_config", "run_and_report", "run_backtest", "write_report"]
