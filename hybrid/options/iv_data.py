"""Daily 30-day ATM implied volatility as NautilusTrader custom data, and its loader.

IV rank needs a year of history before the first trade; data sources store it in the catalog as
:class:`AtmImpliedVol` (one record per session, stamped at that session's close) so a strategy can read
it from the catalog (:func:`load_atm_iv_history`, or ``catalog.query(AtmImpliedVol)``, which wraps each
record in ``CustomData``) or receive it as data in a backtest: ``BacktestDataConfig(catalog_path=...,
data_cls="hybrid.options.iv_data:AtmImpliedVol", client_id="...")`` (NautilusTrader needs a client id for
custom data) and, in the actor, ``subscribe_data(DataType(AtmImpliedVol), client_id=ClientId("..."))``.
"""

# No ``from __future__ import annotations`` here: customdataclass reads the real field types.
from pathlib import Path

import pandas as pd
from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hybrid.calendar.exchange_time import NEW_YORK

# Where components find this data in a backtest: the runner streams the catalog's records under
# IV_DATA_CLIENT (custom data needs a client id); history requests go to IV_HISTORY_CLIENT, which no
# data client registers, so the data engine answers them from its catalog (a registered
# BacktestDataClient would take the request itself and return nothing).
IV_DATA_CLIENT = "CATALOG"
IV_HISTORY_CLIENT = "IV_HISTORY"


@customdataclass
class AtmImpliedVol(Data):
    """30-day constant-maturity at-the-money implied vol (a fraction: 0.18 = 18%) of an underlying."""

    instrument_id: InstrumentId
    iv_30d: float


def load_atm_iv_history(catalog_path: str | Path, underlying: str | InstrumentId) -> pd.Series:
    """Daily ``iv_30d`` of ``underlying`` (an instrument id such as ``SPY.OPRA``), indexed by New York date."""
    instrument_id = str(underlying)
    catalog = ParquetDataCatalog(str(catalog_path))
    records = [item.data for item in catalog.query(AtmImpliedVol, identifiers=[instrument_id])]
    if not records:
        raise ValueError(f"underlying {instrument_id!r} has no AtmImpliedVol data in catalog {str(catalog_path)!r}")
    stamps = pd.to_datetime([r.ts_event for r in records], unit="ns", utc=True).tz_convert(NEW_YORK)
    series = pd.Series([r.iv_30d for r in records], index=pd.Index(stamps.date, name="date"), name="iv_30d")
    return series.sort_index()
