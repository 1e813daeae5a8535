"""The stress grid: each cell is the legs repriced by the one Black-Scholes code at the moved spot, the shifted
vol and the horizon, less their marks; groups sum into the book."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.options.pricing import bs_price
from hybrid.valuation.stress import StressLegs, stress_grid

SPOT, RATE, DIVIDEND = 450.0, 0.045, 0.013
MOVES = np.linspace(-0.2, 0.2, 41)
SHIFTS = np.linspace(-10.0, 10.0, 21)


def book() -> StressLegs:
    """Group 0: a short 440/460 strangle with 50 shares; group 1: a long 450 call expiring in 10 days."""
    strikes = np.array([440.0, 460.0, 0.0, 450.0])
    calls = np.array([False, True, False, True])
    years = np.array([30.0, 30.0, 0.0, 10.0]) / 365
    ivs = np.array([0.22, 0.18, 0.0, 0.2])
    marks = bs_price(SPOT, strikes, years, ivs, calls, RATE, DIVIDEND)
    marks[2] = SPOT  # the shares' mark
    return StressLegs(
        group=np.array([0, 0, 0, 1]),
        is_option=np.array([True, True, False, True]),
        is_call=calls,
        strikes=strikes,
        years=years,
        ivs=ivs,
        weights=np.array([-200.0, -200.0, 50.0, 100.0]),
        marks=marks,
        spots=np.full(4, SPOT),
    )


def test_each_cell_is_the_legs_repriced_less_their_marks() -> None:
    legs = book()
    grid = stress_grid(legs, 2, MOVES, SHIFTS, 0.0, RATE, DIVIDEND)
    assert grid.shape == (2, 41, 21)
    i, j = 5, 17  # -15%, +7 vol points
    s, vol = SPOT * (1 + MOVES[i]), legs.ivs + SHIFTS[j] / 100
    options = bs_price(s, legs.strikes[:2], legs.years[:2], vol[:2], legs.is_call[:2], RATE, DIVIDEND)
    expected = float(legs.weights[:2] @ (options - legs.marks[:2]) + 50 * (s - SPOT))
    assert grid[0, i, j] == pytest.approx(expected)
    assert grid[:, 20, 10] == pytest.approx([0.0, 0.0], abs=1e-9)  # no move, no shift, now: the marks


def test_at_a_later_date_a_leg_expired_by_then_counts_at_intrinsic_and_time_decays_the_rest() -> None:
    legs = book()
    grid = stress_grid(legs, 2, MOVES, SHIFTS, 15 / 365, RATE, DIVIDEND)
    up = SPOT * 1.1
    assert grid[1, 30, 10] == pytest.approx(100 * (max(up - 450.0, 0.0) - legs.marks[3]))
    assert grid[0, 20, 10] > 0  # the short strangle earns its time decay with the market unchanged
    assert grid[1, 20, 10] == pytest.approx(-100 * legs.marks[3])  # the 450 call expired at the money


def test_negative_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="horizon"):
        stress_grid(book(), 2, MOVES, SHIFTS, -1.0, RATE, DIVIDEND)
