"""Synthetic US equity-option market written as a NautilusTrader ParquetDataCatalog.

Modules, in the order the generator uses them: ``config`` (every parameter, the profiles),
``regime_path`` (daily regime chain, 30-day ATM IV and spot), ``intraday`` (bridges between the daily
closes), ``chain`` (which contracts are listed when), ``surface`` (IV by strike and maturity),
``option_grid`` (Black-Scholes values over time), ``quoting`` (bid/ask on the tick grid, sizes),
``catalog_writer`` and ``generator``.
"""

from data.synthetic.config import MarketConfig, QuoteModel, VolatilityModel
from data.synthetic.generator import generate

__all__ = ["MarketConfig", "QuoteModel", "VolatilityModel", "generate"]
