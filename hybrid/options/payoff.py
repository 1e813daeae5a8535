"""Profit and loss of a multi-leg option structure: net premium, P&L curves, extremes, breakevens and
probability of profit.

Units and signs, in dollars per one unit of the structure:

- an option leg of ``q`` contracts is worth ``q x multiplier x`` its per-share value; an underlying leg
  of ``q`` shares is worth ``q x`` the price;
- net premium > 0 is a debit paid to open one unit, < 0 a credit received;
- P&L at a horizon = value of the legs then - net premium. ``max_profit`` is the highest P&L over all
  prices 0..inf and ``max_loss`` the lowest (negative when the structure can lose), each None when
  unbounded; a box spread's flat P&L is both.

When every option leg expires together the expiry P&L is piecewise linear with kinks at the strikes, and
the analysis is exact: extremes from the kinks, the value at 0 and the slope beyond the highest strike;
breakevens as the roots of the linear pieces; the probability of profit as the sum of lognormal
probabilities of the profitable intervals. With several expiries (calendars, diagonals) the horizon is
the first expiry, legs still alive then are valued by Black-Scholes (European: with a dividend yield a
far call is worth less than the stock as the price grows, so a call calendar's loss is unbounded), and
the same quantities are found on a dense grid refined by root finding and bounded minimisation; the
slope at infinity, which decides "unbounded", stays exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq, minimize_scalar

from hybrid.options.legs import Leg
from hybrid.options.pricing import as_of_datetime, bs_price, years_to_expiry

_RELATIVE_TOLERANCE = 1e-9  # of the structure's dollar scale: what counts as zero P&L
_SEARCH_POINTS = 4001  # dense grid for structures with several expiries
_TAIL_POINTS = 200

PnLFunction = Callable[[NDArray[np.float64]], NDArray[np.float64]]
# ascending zeros of the P&L at the horizon, the P&L there as a function, max profit, max loss
Analysis = tuple[list[float], PnLFunction, float | None, float | None]


@dataclass(frozen=True, slots=True, eq=False)
class Structure:
    """A structure's legs as arrays for one market snapshot: what every P&L function here works on.

    The arrays hold the option legs; underlying legs fold into ``shares``. ``weights`` = contracts x
    multiplier (share-equivalents), ``years`` = time from as_of to each leg's expiry, ``vols`` = each
    leg's own IV or else the market ``vol``. ``premium`` = net premium in dollars (> 0 debit) from the
    legs' prices; a leg without a price is valued at Black-Scholes (an underlying leg at spot).
    Derived: ``signs`` = +1 for calls, -1 for puts; ``horizon`` = years to the first expiry (the date
    of the "expiry" P&L and of the probability of profit); ``tolerance`` = dollars below which a P&L
    counts as zero (a billionth of the structure's size).
    """

    is_call: NDArray[np.bool_]
    strikes: NDArray[np.float64]
    weights: NDArray[np.float64]
    years: NDArray[np.float64]
    vols: NDArray[np.float64]
    shares: float
    premium: float
    spot: float
    vol: float
    rate: float
    dividend: float
    signs: NDArray[np.float64] = field(init=False)
    horizon: float = field(init=False)
    single_expiry: bool = field(init=False)
    tolerance: float = field(init=False)

    def __post_init__(self) -> None:
        size = abs(self.premium) + float(np.abs(self.weights) @ self.strikes)
        size += abs(self.shares) * max(self.spot, float(self.strikes.max()))
        object.__setattr__(self, "signs", np.where(self.is_call, 1.0, -1.0))
        object.__setattr__(self, "horizon", float(self.years.min()))
        object.__setattr__(self, "single_expiry", bool(self.years.max() == self.horizon))
        object.__setattr__(self, "tolerance", _RELATIVE_TOLERANCE * size)

    @classmethod
    def build(
        cls,
        legs: Sequence[Leg],
        spot: float,
        vol: float,
        rate: float = 0.0,
        dividend: float = 0.0,
        as_of: dt.date | None = None,
        multiplier: int = 100,
    ) -> Structure:
        """Resolve legs against a market; ``as_of`` as in ``pricing.as_of_datetime``."""
        _check_market(spot, vol, rate, dividend, multiplier)
        when = as_of_datetime(as_of)
        years_by_expiry: dict[dt.date, float] = {}
        rows: list[tuple[bool, float, float, float, float, float]] = []
        shares = premium = 0.0
        for leg in legs:
            if leg.price is not None and not (math.isfinite(leg.price) and leg.price >= 0):
                raise ValueError(f"leg price must be a finite number >= 0, got {leg.price}")
            if not leg.is_option:
                shares += leg.quantity
                premium += leg.quantity * (spot if leg.price is None else leg.price)
                continue
            expiry, strike = leg.expiry, leg.strike
            assert expiry is not None and strike is not None  # an option leg has both (Leg checks it)
            years = years_by_expiry.get(expiry)
            if years is None:
                years = years_by_expiry[expiry] = years_to_expiry(expiry, when)
                if years < 0:
                    raise ValueError(f"a leg expired on {expiry}, before as_of {when:%Y-%m-%d %H:%M %Z}")
            leg_vol = vol if leg.iv is None else leg.iv
            if not (math.isfinite(leg_vol) and leg_vol >= 0):
                raise ValueError(f"leg iv must be a finite number >= 0, got {leg.iv}")
            price = math.nan if leg.price is None else leg.price
            rows.append((leg.kind == "call", strike, leg.quantity * multiplier, years, leg_vol, price))
        if not rows:
            raise ValueError("a structure needs at least one option leg")
        is_call, strikes, weights, years_arr, vols, prices = (np.array(col) for col in zip(*rows))
        unpriced = np.isnan(prices)
        if unpriced.any():
            prices[unpriced] = bs_price(
                spot, strikes[unpriced], years_arr[unpriced], vols[unpriced], is_call[unpriced], rate, dividend
            )
        return cls(
            is_call=is_call.astype(bool),
            strikes=strikes,
            weights=weights,
            years=years_arr,
            vols=vols,
            shares=shares,
            premium=premium + float(weights @ prices),
            spot=spot,
            vol=vol,
            rate=rate,
            dividend=dividend,
        )


def _check_market(spot: float, vol: float, rate: float, dividend: float, multiplier: int) -> None:
    if not (math.isfinite(spot) and spot > 0):
        raise ValueError(f"spot must be a finite number > 0, got {spot}")
    if not (math.isfinite(vol) and vol >= 0):
        raise ValueError(f"vol must be a finite number >= 0, got {vol}")
    if not (math.isfinite(rate) and math.isfinite(dividend)):
        raise ValueError(f"rate and dividend must be finite, got {rate}, {dividend}")
    if multiplier <= 0:
        raise ValueError(f"multiplier must be > 0, got {multiplier}")


def pnl(structure: Structure, prices: ArrayLike, horizon: float) -> NDArray[np.float64]:
    """P&L of one unit in dollars at each underlying price, ``horizon`` years after as_of.

    Legs expired by then count at intrinsic value, the others at Black-Scholes with their own vol, so
    ``horizon = structure.horizon`` is the expiry payoff and ``horizon = 0`` the P&L today; for a
    date use ``pricing.years_to_expiry(date, as_of)``.
    """
    if not horizon >= 0:
        raise ValueError(f"horizon must be >= 0 years, got {horizon}")
    s = structure
    prices = np.asarray(prices, dtype=float).reshape(-1)
    remaining = s.years - horizon
    live = remaining > 0

    def alive(rows: slice | NDArray[np.bool_]) -> NDArray[np.float64]:
        strikes, years, vols, calls = (a[rows, None] for a in (s.strikes, remaining, s.vols, s.is_call))
        return bs_price(prices, strikes, years, vols, calls, s.rate, s.dividend)

    if live.all():
        values = alive(slice(None))  # a view, not a copy, when every leg is still alive
    else:
        values = np.maximum(s.signs[:, None] * (prices - s.strikes[:, None]), 0.0)
        if live.any():
            values[live] = alive(live)
    return s.weights @ values + s.shares * prices - s.premium


def price_grid(structure: Structure, points: int) -> NDArray[np.float64]:
    """``points`` evenly spaced prices over the strikes and +-4 standard deviations of the price at the
    horizon (10% margin either side), with every strike added so the kinks show exactly."""
    if points < 2:
        raise ValueError(f"points must be >= 2, got {points}")
    s = structure
    width = 4.0 * s.vol * math.sqrt(s.horizon)
    low = min(s.spot * math.exp(-width), float(s.strikes.min())) * 0.9
    high = max(s.spot * math.exp(width), float(s.strikes.max())) * 1.1
    grid = np.sort(np.concatenate((low + (high - low) / (points - 1) * np.arange(points), s.strikes)))
    distinct = np.ones(grid.size, bool)
    np.not_equal(grid[1:], grid[:-1], out=distinct[1:])
    return grid[distinct]


@dataclass(frozen=True, slots=True)
class ProfitProfile:
    """Extremes (None = unbounded), breakevens and probability of profit of the P&L at the horizon."""

    max_profit: float | None
    max_loss: float | None
    breakevens: tuple[float, ...]
    probability_of_profit: float


def profit_profile(structure: Structure) -> ProfitProfile:
    """Max profit and loss over prices 0..inf, breakevens and probability of profit at the first expiry.

    Breakevens are the edges of the profitable price set (P&L above zero), so each has P&L 0. The
    probability is risk-neutral: lognormal price at the horizon with drift r - q and the market vol.
    """
    s = structure
    analyse = _expiry_analysis if s.single_expiry else _numeric_analysis
    zeros, at_horizon, max_profit, max_loss = analyse(s)
    # Between consecutive zeros the P&L keeps one sign: one probe per interval tells which.
    edges = [0.0, *zeros, math.inf]
    probes = [0.5 * (a + b) for a, b in itertools.pairwise(edges[:-1])] + [2.0 * edges[-2] + 1.0]
    profitable = (at_horizon(np.array(probes)) > s.tolerance).tolist()
    intervals = [(a, b) for a, b, up in zip(edges[:-1], edges[1:], profitable) if up]
    return ProfitProfile(
        max_profit=max_profit,
        max_loss=max_loss,
        breakevens=tuple(sorted({x for pair in intervals for x in pair if 0 < x < math.inf})),
        probability_of_profit=_probability(s, intervals, at_horizon),
    )


def _probability(s: Structure, intervals: list[tuple[float, float]], at_horizon: PnLFunction) -> float:
    """Risk-neutral probability that the price at the horizon lies in one of the (low, high) intervals."""
    width = s.vol * math.sqrt(s.horizon)
    forward = s.spot * math.exp((s.rate - s.dividend) * s.horizon)
    if width == 0.0:  # no uncertainty left: the price is the forward
        return float(at_horizon(np.array([forward]))[0] > s.tolerance)
    centre = math.log(forward) - 0.5 * width * width
    scale = width * math.sqrt(2.0)

    def cdf(x: float) -> float:
        if x <= 0.0 or x == math.inf:
            return float(x > 0.0)
        return 0.5 * math.erfc((centre - math.log(x)) / scale)

    return min(max(sum(cdf(b) - cdf(a) for a, b in intervals), 0.0), 1.0)


def _slope_at_infinity(s: Structure) -> float:
    """d P&L / d price at the horizon as the price grows without bound: calls count e^-q(time left), puts 0."""
    remaining = s.years[s.is_call] - s.horizon
    return float(s.weights[s.is_call] @ np.exp(-s.dividend * remaining)) + s.shares


def _is_flat(slope: float, s: Structure) -> bool:
    return abs(slope) <= _RELATIVE_TOLERANCE * (float(np.abs(s.weights).sum()) + abs(s.shares))


def _crosses_beyond(last: float, slope: float, s: Structure) -> bool:
    """Whether the P&L, ``last`` at the end of the analysed range, crosses zero further out."""
    return abs(last) > s.tolerance and not _is_flat(slope, s) and slope * last < 0


def _extremes(lowest: float, highest: float, slope: float, s: Structure) -> tuple[float | None, float | None]:
    """Max profit and max loss from the finite range of the P&L and the sign of its slope at infinity."""
    flat = _is_flat(slope, s)
    return (highest if flat or slope < 0 else None), (lowest if flat or slope > 0 else None)


def _expiry_analysis(s: Structure) -> Analysis:
    """Exact: the expiry P&L is linear between 0 and the strikes and beyond the last strike."""
    nodes = [0.0, *sorted(set(s.strikes.tolist()))]
    values = pnl(s, nodes, s.horizon).tolist()
    slope = _slope_at_infinity(s)
    tol = s.tolerance
    zeros = []
    for x0, x1, v0, v1 in zip(nodes, nodes[1:], values, values[1:]):
        if abs(v1) <= tol:
            zeros.append(x1)
        elif abs(v0) > tol and (v0 < 0) != (v1 < 0):
            zeros.append(x0 - v0 * (x1 - x0) / (v1 - v0))
    if _crosses_beyond(values[-1], slope, s):
        zeros.append(nodes[-1] - values[-1] / slope)
    node_array, value_array = np.array(nodes), np.array(values)

    def at_horizon(prices: NDArray[np.float64]) -> NDArray[np.float64]:
        beyond = values[-1] + slope * (prices - nodes[-1])
        return np.where(prices > nodes[-1], beyond, np.interp(prices, node_array, value_array))

    return (zeros, at_horizon, *_extremes(min(values), max(values), slope, s))


def _numeric_analysis(s: Structure) -> Analysis:
    """Several expiries: zeros and extremes of the P&L at the first expiry on a dense grid, refined."""

    def at_horizon(prices: NDArray[np.float64]) -> NDArray[np.float64]:
        return pnl(s, prices, s.horizon)

    def scalar(x: float) -> float:
        return float(at_horizon(np.array([x]))[0])

    top = max(float(s.strikes.max()), s.spot)
    spread = float(np.max(s.vols * np.sqrt(s.years - s.horizon)))
    far = top * max(4.0, math.exp(min(8.0 * spread, 50.0)))
    near = np.linspace(0.0, 2.0 * top, _SEARCH_POINTS)
    grid = np.unique(np.concatenate((near, np.geomspace(2.0 * top, far, _TAIL_POINTS), s.strikes)))
    values = at_horizon(grid)
    zero = np.abs(values) <= s.tolerance
    crossing = ~zero[:-1] & ~zero[1:] & (np.signbit(values[:-1]) != np.signbit(values[1:]))
    xtol = 1e-12 * top
    roots = (brentq(scalar, grid[i], grid[i + 1], xtol=xtol) for i in np.flatnonzero(crossing))
    zeros = [*grid[1:][zero[1:]].tolist(), *roots]
    slope = _slope_at_infinity(s)
    if _crosses_beyond(values[-1], slope, s):  # one more crossing beyond the grid
        low, high = grid[-1], 2.0 * grid[-1]
        while scalar(high) * slope < 0:
            low, high = high, 2.0 * high
        zeros.append(brentq(scalar, low, high, xtol=xtol))
    highest = max(float(values.max()), _refined_extreme(scalar, grid, int(np.argmax(values)), 1.0))
    lowest = min(float(values.min()), _refined_extreme(scalar, grid, int(np.argmin(values)), -1.0))
    if _is_flat(slope, s):  # the P&L levels off: its limit at infinity bounds it too
        remaining = s.years[s.is_call] - s.horizon
        limit = -float(s.weights[s.is_call] @ (s.strikes[s.is_call] * np.exp(-s.rate * remaining))) - s.premium
        lowest, highest = min(lowest, limit), max(highest, limit)
    return (sorted(zeros), at_horizon, *_extremes(lowest, highest, slope, s))


def _refined_extreme(scalar: Callable[[float], float], grid: NDArray, i: int, sign: float) -> float:
    """The extreme (max for sign 1, min for -1) near grid point i, by bounded minimisation between its neighbours."""
    low, high = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    found = minimize_scalar(
        lambda x: -sign * scalar(x), bounds=(low, high), method="bounded", options={"xatol": 1e-10 * high}
    )
    return -sign * float(found.fun)
