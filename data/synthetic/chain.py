"""Which option contracts are listed, and from which session on.

Each session's open lists every weekly expiry up to ``weekly_horizon_days`` ahead and every monthly
up to ``monthly_horizon_days``, with strikes on a fine grid near the money and a coarse grid out to
``put_wing_sd`` / ``call_wing_sd`` standard deviations (sized with a stressed vol, so 16-delta short
strikes and their wings exist at 30-45 DTE even in stress). Strikes the moving spot calls for are
added that day; nothing is delisted before expiry.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from data.synthetic.config import MarketConfig
from hybrid.calendar import nyse as calendar


@dataclass(frozen=True, order=True)
class ListedContract:
    """One option series; ``listed_day`` indexes the intraday window's sessions."""

    listed_day: int
    expiry: dt.date
    strike_cents: int
    right: str  # "C" or "P"

    @property
    def strike(self) -> float:
        return self.strike_cents / 100.0


def _grid(low: float, high: float, step_cents: int) -> range:
    first = math.ceil(low * 100 / step_cents) * step_cents
    last = math.floor(high * 100 / step_cents) * step_cents
    return range(first, last + 1, step_cents)


def strikes_for(config: MarketConfig, spot: float, iv30: float, days_to_expiry: int) -> set[int]:
    """Strike prices (in cents) an expiry ``days_to_expiry`` away should have with the spot at ``spot``."""
    t = min(max(days_to_expiry, config.min_listing_dte), config.max_listing_dte) / 365.0
    spread = max(iv30, config.listing_vol_floor) * math.sqrt(t)
    fine = round(config.fine_strike_step * 100)
    coarse = round(config.coarse_strike_step * 100)
    near = _grid(spot * (1 - config.fine_band), spot * (1 + config.fine_band), fine)
    wide = _grid(spot * math.exp(-config.put_wing_sd * spread), spot * math.exp(config.call_wing_sd * spread), coarse)
    return set(near) | set(wide)


def listed_expiries(config: MarketConfig, day: dt.date, expiries: list[dt.date]) -> list[dt.date]:
    """The expiries (from ``expiries``) open for trading on ``day``."""
    listed = []
    for expiry in expiries:
        dte = (expiry - day).days
        horizon = config.monthly_horizon_days if calendar.is_monthly_expiry(expiry) else config.weekly_horizon_days
        if 0 <= dte <= horizon:
            listed.append(expiry)
    return listed


def list_chain(
    config: MarketConfig, days: list[dt.date], open_spot: list[float], open_iv30: list[float]
) -> list[ListedContract]:
    """Every contract listed during the window, ordered by listing day, expiry, strike and right."""
    expiries = calendar.weekly_expiries(days[0], days[-1] + dt.timedelta(days=config.monthly_horizon_days))
    strikes: dict[dt.date, set[int]] = {}
    contracts: list[ListedContract] = []
    for i, (day, spot, iv30) in enumerate(zip(days, open_spot, open_iv30, strict=True)):
        for expiry in listed_expiries(config, day, expiries):
            have = strikes.setdefault(expiry, set())
            new = strikes_for(config, spot, iv30, (expiry - day).days) - have
            have |= new
            contracts.extend(ListedContract(i, expiry, k, right) for k in new for right in ("C", "P"))
    return sorted(contracts)
