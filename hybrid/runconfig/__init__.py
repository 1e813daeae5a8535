"""Run configuration shared by the backtest runner and the live node: the TOML file, its components, the catalog.

Every problem is a one-line :class:`ConfigError` that names the file, the key and what is valid, raised
before an engine is built (see docs/backtest.md for the schema).
"""

from hybrid.runconfig.settings import ConfigError, RunSettings, load_settings

__all__ = ["ConfigError", "RunSettings", "load_settings"]
