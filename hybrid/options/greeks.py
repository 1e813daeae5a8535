"""Position Greeks and single-quote implied volatilities, computed by NautilusTrader.

Position Greeks are share-equivalent, as NautilusTrader reports portfolio Greeks: each option leg adds
quantity x multiplier x its per-share Greek from ``nautilus_pyo3.black_scholes_greeks`` (cost of carry
b = r - q, the leg's own vol), an underlying leg adds delta = its shares. Units: delta in shares, gamma
in shares per $1 of the underlying, vega in $ per vol point, theta in $ per calendar day (NautilusTrader
divides by 365.25). NautilusTrader evaluates these in single precision (about 1e-5 relative), returns
nan at t = 0 and a silent 1e-8 vol for an impossible price; legs at t = 0 or zero vol therefore take
the exact limits from ``pricing.bs_greeks``, and quotes are screened with ``pricing.quote_status``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from nautilus_trader.core.nautilus_pyo3 import black_scholes_greeks, imply_vol

from hybrid.options.chain import option_terms
from hybrid.options.legs import Leg
from hybrid.options.payoff import Structure
from hybrid.options.pricing import IVStatus, as_of_datetime, bs_greeks, quote_status, years_to_expiry


@dataclass(frozen=True, slots=True)
class PositionGreeks:
    """Share-equivalent Greeks of one unit: delta (shares), gamma (shares per $1), vega ($ per vol
    point), theta ($ per day)."""

    delta: float
    gamma: float
    vega: float
    theta: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def position_greeks(structure: Structure) -> PositionGreeks:
    """Sum of quantity x multiplier x per-share Greeks over the legs, at the structure's spot and as_of."""
    s = structure
    carry = s.rate - s.dividend
    delta, gamma, vega, theta = s.shares, 0.0, 0.0, 0.0
    limit = (s.years <= 0) | (s.vols <= 0)
    columns = (limit, s.weights, s.vols, s.is_call, s.strikes, s.years)
    for i, (at_limit, w, vol, is_call, strike, years) in enumerate(zip(*(c.tolist() for c in columns))):
        if at_limit:
            continue
        g = black_scholes_greeks(s.spot, s.rate, carry, vol, is_call, strike, years)
        if not math.isfinite(g.delta + g.gamma + g.vega + g.theta):
            limit[i] = True  # vanishing vol sqrt(t) in single precision: take the limit instead
            continue
        delta += w * g.delta
        gamma += w * g.gamma
        vega += w * g.vega
        theta += w * g.theta
    if limit.any():
        limit_greeks = bs_greeks(
            s.spot, s.strikes[limit], s.years[limit], s.vols[limit], s.is_call[limit], s.rate, s.dividend
        )
        w = s.weights[limit]
        delta += float(w @ limit_greeks.delta)
        gamma += float(w @ limit_greeks.gamma)
        vega += float(w @ limit_greeks.vega)
        theta += float(w @ limit_greeks.theta)
    return PositionGreeks(delta=delta, gamma=gamma, vega=vega, theta=theta)


@dataclass(frozen=True, slots=True)
class ImpliedVol:
    """An implied volatility, or None with the reason there is none (expired, no time value, ...)."""

    iv: float | None
    reason: str | None = None


def implied_volatility(
    price: float, spot: float, strike: float, years: float, is_call: bool, rate: float = 0.0, dividend: float = 0.0
) -> ImpliedVol:
    """Implied volatility of one option price per share (a quote mid) by NautilusTrader's solver, screened first."""
    status = IVStatus(int(quote_status(spot, strike, years, is_call, price, rate, dividend)))
    if status is IVStatus.OK:
        iv = imply_vol(spot, rate, rate - dividend, is_call, strike, years, price)
        if math.isfinite(iv) and iv > 1e-8:
            return ImpliedVol(iv)
        status = IVStatus.NOT_CONVERGED
    return ImpliedVol(None, status.reason)


def implied_vols(
    legs: Sequence[Leg], spot: float, rate: float = 0.0, dividend: float = 0.0, as_of: dt.date | None = None
) -> list[ImpliedVol | None]:
    """Each option leg's implied volatility from its ``price`` (the quote mid); None for underlying legs."""
    when = as_of_datetime(as_of)
    out: list[ImpliedVol | None] = []
    for leg in legs:
        if not leg.is_option:
            out.append(None)
        elif leg.price is None:
            out.append(ImpliedVol(None, "no price to imply a volatility from"))
        else:
            expiry, right, strike = option_terms(leg)
            years = years_to_expiry(expiry, when)
            out.append(implied_volatility(leg.price, spot, strike, years, right == "call", rate, dividend))
    return out
