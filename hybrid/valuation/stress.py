"""Portfolio stress grid: the P&L of every group, and of the book, under underlying moves and implied-vol shifts.

What IB's Risk Navigator shows. Each option leg is repriced by Black-Scholes-Merton
(:func:`hybrid.options.pricing.bs_price`, the project's one pricing code) at ``spot x (1 + move)``, at its own
implied vol (from its mark, :func:`hybrid.valuation.greeks.value_held`) plus the shift in vol points, and
at a horizon (0: now; else the years to a chosen date's 16:00 New York close, legs expired by then at their
intrinsic value); a stock leg moves with its spot. The P&L is the scenario's value less the legs' value at
their marks now, so the grid at no move and no shift is 0 today and the time decay at a later date.

One array pass over (legs x moves x shifts), then a matrix product sums the legs into their groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hybrid.options.pricing import VEGA_PER_POINT, bs_price


@dataclass(frozen=True, slots=True)
class StressLegs:
    """The legs of the book as arrays, one row per leg; ``group`` is each leg's group index.

    ``weights``: contracts x multiplier (shares for a stock leg); ``years``: to expiry now; ``ivs``: the
    implied vol of the leg's mark (0 for a stock leg); ``marks``: its value per share now; ``spots``: the
    underlying's price now; ``is_option`` False for a stock leg.
    """

    group: NDArray[np.int64]
    is_option: NDArray[np.bool_]
    is_call: NDArray[np.bool_]
    strikes: NDArray[np.float64]
    years: NDArray[np.float64]
    ivs: NDArray[np.float64]
    weights: NDArray[np.float64]
    marks: NDArray[np.float64]
    spots: NDArray[np.float64]


def stress_grid(
    legs: StressLegs,
    groups: int,
    moves: NDArray[np.float64],
    vol_shifts: NDArray[np.float64],
    horizon: float,
    rate: float,
    dividend: float,
) -> NDArray[np.float64]:
    """P&L in dollars of each of ``groups`` groups, shape (groups, moves, shifts); ``moves`` as fractions of
    spot (-0.2 for -20%), ``vol_shifts`` in vol points (-10 .. +10), ``horizon`` in years from now (>= 0)."""
    if not horizon >= 0:
        raise ValueError(f"horizon must be >= 0 years, got {horizon}")
    prices = legs.spots[:, None, None] * (1.0 + moves[None, :, None])  # (L, M, 1)
    vols = np.maximum(legs.ivs[:, None, None] + vol_shifts[None, None, :] * VEGA_PER_POINT, 0.0)  # (L, 1, V)
    years = (legs.years - horizon)[:, None, None]
    option = bs_price(prices, legs.strikes[:, None, None], years, vols, legs.is_call[:, None, None], rate, dividend)
    if not legs.is_option.all():
        option = np.where(legs.is_option[:, None, None], option, prices)  # a stock leg is worth its price
    weights = np.zeros((groups, legs.group.size))  # group x leg: the leg's weight in its group
    weights[legs.group, np.arange(legs.group.size)] = legs.weights
    shape = option.shape
    value = weights @ option.reshape(shape[0], -1) - (weights @ legs.marks)[:, None]
    return value.reshape(groups, shape[1], shape[2])
