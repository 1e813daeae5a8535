"""Analytics benchmark: ``analyze`` on a 4-leg iron condor against optionlab, and chain IV + Greeks.

Both libraries get the same iron condor (spot 100, strikes 90/95/105/110, 30 days on a 365-day year,
vol 20%, rate 3%, dividend 1%, the same price grid) and are timed side by side in one process, rounds
interleaved so that background load hits both alike; each figure is the median over rounds of timeit's
per-call time. optionlab runs with ``calculations=["pop", "greeks"]`` (the work ``analyze`` does) on a
pre-validated ``Inputs``; ``analyze`` does a little more (the P&L curve today as well as at expiry).

Keys of ``run()``:

- ``analyze_4leg_ms``: one ``analyze`` call (premium, max profit/loss, breakevens, probability of
  profit, Greeks, expiry and today payoff curves), milliseconds;
- ``optionlab_4leg_ms``: one ``optionlab.run_strategy`` call on the same input, milliseconds;
- ``analyze_speedup_vs_optionlab``: ``optionlab_4leg_ms / analyze_4leg_ms`` (goal >= 2);
- ``analyze_vs_optionlab_pop_diff``: |probability of profit, ours - optionlab's| (agreement check);
- ``analyze_calendar_ms``: one ``analyze`` of a call calendar (the numeric path for two expiries);
- ``chain_2000_iv_greeks_ms``: ``chain_iv_greeks`` (implied vol, delta, gamma, vega, theta) over a
  2,000-contract chain of cent-rounded mids, milliseconds (goal < 3);
- ``chain_2000_nautilus_loop_ms``: the same chain through a Python loop over
  ``nautilus_pyo3.imply_vol_and_greeks``, milliseconds;
- ``chain_2000_valid``: contracts whose mid yields an implied vol (the others are below intrinsic
  after rounding to the cent);
- ``chain_2000_max_iv_diff_vs_nautilus``: largest |IV ours - NautilusTrader's| over the valid contracts.
"""

from __future__ import annotations

import datetime as dt
import statistics
import timeit
from collections.abc import Callable

import numpy as np
from nautilus_trader.core.nautilus_pyo3 import imply_vol_and_greeks
from optionlab import run_strategy
from optionlab.models import Inputs

from hybrid.options.analytics import DEFAULT_POINTS, analyze
from hybrid.options.legs import Leg, LegKind
from hybrid.options.payoff import Structure, price_grid
from hybrid.options.pricing import bs_price, chain_iv_greeks

SPOT, VOL, RATE, DIVIDEND, DAYS = 100.0, 0.20, 0.03, 0.01, 30
AS_OF = dt.date(2024, 6, 3)
CONDOR: tuple[tuple[LegKind, float, int, float], ...] = (
    ("put", 90.0, 1, 0.60),
    ("put", 95.0, -1, 1.40),
    ("call", 105.0, -1, 1.20),
    ("call", 110.0, 1, 0.40),
)


def _median_ms(rounds: list[float], number: int) -> float:
    return statistics.median(rounds) / number * 1e3


def _side_by_side(calls: dict[str, tuple[Callable[[], object], int]], rounds: int) -> dict[str, float]:
    """Median per-call milliseconds of each callable, rounds interleaved."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, (fn, number) in calls.items():
            times[name].append(timeit.timeit(fn, number=number))
    return {name: _median_ms(times[name], number) for name, (_, number) in calls.items()}


def _condor() -> tuple[list[Leg], Inputs]:
    expiry = AS_OF + dt.timedelta(days=DAYS)
    legs = [Leg(kind, strike, expiry, qty, price) for kind, strike, qty, price in CONDOR]
    grid = price_grid(Structure.build(legs, SPOT, VOL, RATE, DIVIDEND, AS_OF), DEFAULT_POINTS)
    inputs = Inputs.model_validate(
        {
            "stock_price": SPOT,
            "volatility": VOL,
            "interest_rate": RATE,
            "dividend_yield": DIVIDEND,
            "min_stock": float(grid[0]),
            "max_stock": float(grid[-1]),
            "price_step": float(grid[-1] - grid[0]) / (DEFAULT_POINTS - 1),
            "days_to_target_date": DAYS,
            "discard_nonbusiness_days": False,
            "calculations": ["pop", "greeks"],
            "strategy": [
                {
                    "type": kind,
                    "strike": strike,
                    "premium": price,
                    "n": 100 * abs(qty),
                    "action": "buy" if qty > 0 else "sell",
                }
                for kind, strike, qty, price in CONDOR
            ],
        }
    )
    return legs, inputs


def _chain(n: int = 2000, seed: int = 2024) -> tuple[np.ndarray, ...]:
    """A 2,000-contract chain: 10 expiries x 100 strikes x call/put, skewed vols, mids rounded to the cent."""
    rng = np.random.default_rng(seed)
    days = np.array([2, 7, 14, 21, 30, 45, 60, 90, 180, 365])
    strikes = np.round(SPOT * np.linspace(0.6, 1.4, n // (2 * days.size)), 1)
    k, t, is_call = (a.ravel() for a in np.meshgrid(strikes, days / 365, [True, False], indexing="ij"))
    vol = 0.18 - 0.25 * np.log(k / SPOT) + rng.normal(0, 0.01, k.size)  # put skew
    mid = np.maximum(np.round(bs_price(SPOT, k, t, vol, is_call, RATE, DIVIDEND), 2), 0.01)
    return k, t, is_call, mid


def run(quick: bool = False) -> dict:
    rounds = 5 if quick else 25
    legs, inputs = _condor()
    ours = analyze(legs, SPOT, VOL, RATE, DIVIDEND, as_of=AS_OF)
    theirs = run_strategy(inputs)
    far = AS_OF + dt.timedelta(days=DAYS + 35)
    calendar = [Leg("call", 100.0, AS_OF + dt.timedelta(days=DAYS), -1, 2.3), Leg("call", 100.0, far, 1, 3.6)]
    timed = _side_by_side(
        {
            "analyze": (lambda: analyze(legs, SPOT, VOL, RATE, DIVIDEND, as_of=AS_OF), 100),
            "optionlab": (lambda: run_strategy(inputs), 20),
            "calendar": (lambda: analyze(calendar, SPOT, VOL, RATE, DIVIDEND, as_of=AS_OF), 2),
        },
        rounds,
    )

    k, t, is_call, mid = _chain()
    args = [(bool(c), float(kk), float(tt), float(p)) for kk, tt, c, p in zip(k, t, is_call, mid)]

    def nautilus_loop() -> list:
        return [imply_vol_and_greeks(SPOT, RATE, RATE - DIVIDEND, c, kk, tt, p) for c, kk, tt, p in args]

    chain = chain_iv_greeks(SPOT, k, t, is_call, mid, RATE, DIVIDEND)
    reference = np.array([g.vol for g in nautilus_loop()])
    chain_times = _side_by_side(
        {
            "ours": (lambda: chain_iv_greeks(SPOT, k, t, is_call, mid, RATE, DIVIDEND), 10),
            "nautilus": (nautilus_loop, 2),
        },
        rounds,
    )
    return {
        "analyze_4leg_ms": round(timed["analyze"], 4),
        "optionlab_4leg_ms": round(timed["optionlab"], 4),
        "analyze_speedup_vs_optionlab": round(timed["optionlab"] / timed["analyze"], 2),
        "analyze_vs_optionlab_pop_diff": abs(ours.probability_of_profit - theirs.probability_of_profit),
        "analyze_calendar_ms": round(timed["calendar"], 3),
        "chain_2000_iv_greeks_ms": round(chain_times["ours"], 3),
        "chain_2000_nautilus_loop_ms": round(chain_times["nautilus"], 3),
        "chain_2000_valid": int(chain.valid.sum()),
        "chain_2000_max_iv_diff_vs_nautilus": float(np.abs(chain.iv - reference)[chain.valid].max()),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
