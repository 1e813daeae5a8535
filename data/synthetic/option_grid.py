"""Option quotes over the intraday path: surface vol, Black-Scholes value, then displayed quotes.

Options are valued every ``option_interval_s`` from their listing to their expiry with the surface's
vol for their strike and the vectorised Black-Scholes of ``hybrid.options.pricing`` (NautilusTrader's
convention, r and q as configured). A quote is kept when its bid or ask changed and at every heartbeat.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from data.synthetic.chain import ListedContract
from data.synthetic.config import MarketConfig
from data.synthetic.intraday import IntradayPath
from data.synthetic.quoting import Quotes, emission_mask, option_quotes
from data.synthetic.random_streams import OPTION_QUOTES, stream
from data.synthetic.regime_path import DailyPath
from data.synthetic.surface import YEAR_DAYS, smile_vol
from hybrid.options.instruments import expiry_close_ns
from hybrid.options.pricing import bs_greeks

NS_PER_YEAR = YEAR_DAYS * 86_400 * 1_000_000_000


class ModelValues(NamedTuple):
    """One contract's model at each option quote time of its life."""

    ts_ns: np.ndarray
    t: np.ndarray  # years to the 16:00 New York expiry
    spot: np.ndarray
    iv: np.ndarray  # surface vol at the contract's strike
    moneyness: np.ndarray  # standardised, see surface.smile_vol
    price: np.ndarray
    vega: np.ndarray  # per vol point
    regime: np.ndarray
    step: np.ndarray  # option-interval index within the session


class OptionGrid:
    """The intraday path sampled at option quote times, with each point's regime."""

    def __init__(self, config: MarketConfig, path: IntradayPath, daily: DailyPath) -> None:
        ratio = config.option_interval_s // config.underlying_interval_s
        idx = np.flatnonzero(path.step_in_day % ratio == 0)
        self.config = config
        self.ts_ns = path.ts_ns[idx]
        self.spot = path.spot[idx]
        self.iv30 = path.iv30[idx]
        self.step = path.step_in_day[idx] // ratio
        self.regime = daily.regime[daily.window_start + path.day[idx]]

    def model_values(self, contract: ListedContract, activation_ns: int) -> ModelValues:
        """Surface vol and Black-Scholes value of ``contract`` from ``activation_ns`` until it expires."""
        config = self.config
        expiry_ns = expiry_close_ns(contract.expiry)
        live = slice(*np.searchsorted(self.ts_ns, [activation_ns, expiry_ns]))
        ts = self.ts_ns[live]
        t = (expiry_ns - ts.astype(np.int64)) / NS_PER_YEAR
        spot = self.spot[live]
        smile = smile_vol(spot, contract.strike, t, self.iv30[live], config.rate - config.dividend_yield, config.vol)
        value = bs_greeks(spot, contract.strike, t, smile.iv, contract.right == "C", config.rate, config.dividend_yield)
        return ModelValues(
            ts, t, spot, smile.iv, smile.moneyness, value.price, value.vega, self.regime[live], self.step[live]
        )

    def contract_quotes(self, contract: ListedContract, activation_ns: int) -> tuple[Quotes, np.ndarray]:
        """Displayed quotes of ``contract`` and their times, thinned to changes and heartbeats."""
        config = self.config
        m = self.model_values(contract, activation_ns)
        rng = stream(
            config.seed, OPTION_QUOTES, contract.expiry.toordinal(), contract.strike_cents, contract.right == "C"
        )
        quotes = option_quotes(m.price, m.vega, m.moneyness, m.t, m.regime, config.penny, config.quotes, rng)
        keep = emission_mask(quotes.bid, quotes.ask, m.step, config.heartbeat_s // config.option_interval_s)
        return Quotes(*(a[keep] for a in quotes)), m.ts_ns[keep]
