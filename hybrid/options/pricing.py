"""Black-Scholes-Merton prices, Greeks and implied volatility as array maths over whole chains.

NautilusTrader's ``black_scholes_greeks`` / ``imply_vol_and_greeks`` price one contract per call
(Greeks in single precision); a chain of thousands of quotes, or a payoff curve over hundreds of
prices, wants numpy. The conventions are NautilusTrader's, so the numbers agree with it:

- time ``t`` in years, rate ``r`` and dividend yield ``q`` continuously compounded, cost of carry
  ``b = r - q``;
- ``vega`` per volatility point (a change of 0.01 in vol), ``theta`` per calendar day taken as
  1/365.25 year (NautilusTrader's factor), both per share;
- time to expiry (``years_to_expiry``): New York wall-clock time from ``as_of`` to the expiry's 16:00
  close, over a 365-day year; a plain date ``as_of`` means that day's close, so whole days / 365;
- no nan or inf: at ``t = 0`` or ``vol = 0`` a price is its limit, the discounted forward intrinsic
  value ``max(phi * (S e^-qt - K e^-rt), 0)``, and the Greeks are their limits (gamma = vega = 0,
  delta = +-e^-qt in the money, 0 out of it, half that exactly at the money).

Implied volatility is solved for the out-of-the-money half of the put-call pair (the time value), in
Black's normalised form, by Halley steps on the log of the time value (lower branch) or of its gap to
the no-arbitrage maximum (upper branch), kept inside a bracket; from asymptotic first guesses it
converges in three or four steps to about 1e-11 in vol. Quotes it cannot invert get a status, never
a made-up volatility.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

from hybrid.calendar.exchange_time import NEW_YORK

THETA_PER_DAY = 1.0 / 365.25
VEGA_PER_POINT = 0.01
SECONDS_PER_YEAR = 365 * 86_400
_CLOSE = dt.time(16, 0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_MAX_STEPS = 40
_STEP_TOLERANCE = 1e-7
_MIN_YEARS = 1.0 / SECONDS_PER_YEAR  # under a second to expiry counts as expired for implied vols
_ROUNDING = 1e-12  # a time value below this share of max(F, K) is rounding noise, not information


def as_of_datetime(as_of: dt.date | None = None) -> dt.datetime:
    """The valuation instant in New York time: a datetime as given (naive = New York time), a date at
    its 16:00 close, None for today's close (end-of-day analysis: the same figures all day)."""
    if as_of is None:
        as_of = dt.datetime.now(NEW_YORK).date()
    if isinstance(as_of, dt.datetime):
        return as_of.astimezone(NEW_YORK) if as_of.tzinfo is not None else as_of.replace(tzinfo=NEW_YORK)
    return dt.datetime.combine(as_of, _CLOSE, tzinfo=NEW_YORK)


def years_to_expiry(expiry: dt.date, as_of: dt.datetime) -> float:
    """Years from ``as_of`` (from ``as_of_datetime``) to the expiry's 16:00 New York close, counted in New
    York wall-clock time (a DST change does not add or lose an hour) over a 365-day year; negative once expired."""
    close = dt.datetime.combine(expiry, _CLOSE, tzinfo=NEW_YORK)
    return (close - as_of).total_seconds() / SECONDS_PER_YEAR


class IVStatus(IntEnum):
    """Why an implied volatility is (or is not) there; ``reason`` is the text shown to people."""

    OK = 0
    EXPIRED = 1
    NO_TIME_VALUE = 2
    ABOVE_MAXIMUM = 3
    NOT_CONVERGED = 4

    @property
    def reason(self) -> str | None:
        return _REASONS[self]


_REASONS = {
    IVStatus.OK: None,
    IVStatus.EXPIRED: "expired (under a second to expiry): the value is intrinsic, no volatility to imply",
    IVStatus.NO_TIME_VALUE: "price at or below intrinsic value (no time value above the no-arbitrage lower bound)",
    IVStatus.ABOVE_MAXIMUM: "price at or above the no-arbitrage maximum (S e^-qt for a call, K e^-rt for a put)",
    IVStatus.NOT_CONVERGED: "implied volatility search did not converge",
}


class BSGreeks(NamedTuple):
    """Per-share Black-Scholes value and Greeks (vega per vol point, theta per calendar day)."""

    price: NDArray[np.float64]
    delta: NDArray[np.float64]
    gamma: NDArray[np.float64]
    vega: NDArray[np.float64]
    theta: NDArray[np.float64]


class ChainGreeks(NamedTuple):
    """Implied volatility and Greeks for every contract of a chain, aligned with the inputs.

    Where ``status`` is not ``IVStatus.OK`` the ``iv`` is 0.0 (read ``status``, not the number) and
    the Greeks are the zero-volatility limits, which at ``t = 0`` are the intrinsic ones.
    """

    iv: NDArray[np.float64]
    delta: NDArray[np.float64]
    gamma: NDArray[np.float64]
    vega: NDArray[np.float64]
    theta: NDArray[np.float64]
    status: NDArray[np.int8]

    @property
    def valid(self) -> NDArray[np.bool_]:
        return self.status == IVStatus.OK


def _years_left(t: NDArray) -> NDArray:
    """Times to expiry, 0 once expired."""
    return np.maximum(t, 0.0)


def _d1(s: NDArray, k: NDArray, t: NDArray, w: NDArray, r: ArrayLike, q: ArrayLike) -> NDArray:
    """d1 = (ln(S/K) + (r - q) t) / w + w / 2 for total vol w = vol sqrt(t), with its limits at w = 0
    (+-inf off the money, 0 exactly at it) and at S = 0 (-inf). Per-contract terms combine before the
    broadcast so a (legs x prices) grid costs few full-size operations."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # +-inf is the limit sought
        d1 = (np.log(s) + (np.multiply(np.subtract(r, q), t) - np.log(k))) / w + 0.5 * w
    if not np.all(w > 0):
        d1 = np.where(np.isnan(d1), 0.0, d1)
    return d1


def bs_price(
    s: ArrayLike, k: ArrayLike, t: ArrayLike, vol: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Black-Scholes-Merton value per share, broadcast over all arguments; ``s`` may be 0."""
    s, k, t, vol = (np.asarray(a, dtype=float) for a in (s, k, t, vol))
    phi = np.where(is_call, 1.0, -1.0)
    t = _years_left(t)
    w = vol * np.sqrt(t)
    signed_d1 = phi * _d1(s, k, t, w, r, q)
    spot_weight = phi * np.exp(-np.multiply(q, t))
    strike_weight = phi * k * np.exp(-np.multiply(r, t))
    return spot_weight * s * ndtr(signed_d1) - strike_weight * ndtr(signed_d1 - phi * w)


def bs_greeks(
    s: ArrayLike, k: ArrayLike, t: ArrayLike, vol: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0
) -> BSGreeks:
    """Value, delta, gamma, vega (per vol point) and theta (per day) per share, as NautilusTrader defines them."""
    s, k, t, vol = (np.asarray(a, dtype=float) for a in (s, k, t, vol))
    phi = np.where(is_call, 1.0, -1.0)
    t = _years_left(t)
    sqrt_t = np.sqrt(t)
    w = vol * sqrt_t
    d1 = _d1(s, k, t, w, r, q)
    cdf1 = ndtr(phi * d1)
    cdf2 = ndtr(phi * (d1 - w))
    df_q = np.exp(-np.multiply(q, t))
    s_q = s * df_q
    k_r = k * np.exp(-np.multiply(r, t))
    live = (w > 0) & (s > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pdf1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)  # 0 where d1 is infinite or huge
        gamma = np.where(live, df_q * pdf1 / (s * w), 0.0)
        decay = np.where(live, s_q * pdf1 * vol / (2.0 * sqrt_t), 0.0)
    theta = -decay + phi * np.multiply(q, s_q * cdf1) - phi * np.multiply(r, k_r * cdf2)
    return BSGreeks(
        price=phi * (s_q * cdf1 - k_r * cdf2),
        delta=phi * df_q * cdf1,
        gamma=gamma,
        vega=s_q * sqrt_t * pdf1 * VEGA_PER_POINT,
        theta=theta * THETA_PER_DAY,
    )


def _normalised_otm(y: NDArray, w: NDArray, half_up: NDArray, half_down: NDArray, sign: NDArray | float) -> NDArray:
    """Black's out-of-the-money price per sqrt(F K) at ``y = -|ln F/K|`` (sign +1), or its gap to the
    maximum e^(y/2) (sign -1), each as a sum that never cancels."""
    d1 = y / w + 0.5 * w
    return half_up * ndtr(sign * d1) - sign * half_down * ndtr(d1 - w)


def _solve_total_vol(y: NDArray, beta: NDArray) -> tuple[NDArray, NDArray]:
    """Total volatility w = vol sqrt(t) with normalised OTM price ``beta`` at ``y = -|ln F/K|``; (w, converged).

    Below the inflection point w = sqrt(-2y) the log of the price is solved for, above it the log of its
    gap to the maximum; Halley steps from asymptotic first guesses, bisection when a step leaves the
    bracket. Convergence is cubic, so a Halley step under 1e-7 (relative) leaves an error far below 1e-16.
    """
    half_up, half_down = np.exp(0.5 * y), np.exp(-0.5 * y)
    inflection = np.sqrt(-2.0 * y)  # where the price turns from convex to concave in w
    safe_inflection = np.where(inflection > 0, inflection, 1.0)
    at_inflection = np.where(inflection > 0, _normalised_otm(y, safe_inflection, half_up, half_down, 1.0), 0.0)
    upper = beta > at_inflection
    sign = np.where(upper, -1.0, 1.0)  # the gap falls as w rises
    gap = half_up - beta
    # Asymptotic first guesses: small-w tail of the price below, large-w tail of the gap above.
    with np.errstate(divide="ignore", invalid="ignore"):
        low_guess = np.maximum(beta * math.sqrt(2.0 * math.pi), -y / np.sqrt(-2.0 * np.log(beta)))
        high_guess = -2.0 * ndtri(np.clip(gap / (half_up + half_down), 1e-300, 0.5))
        log_target = np.log(np.where(upper, gap, beta))
    w = np.maximum(np.where(upper, np.maximum(high_guess, inflection), np.minimum(low_guess, inflection)), 1e-8)
    w = np.where(np.isfinite(w), w, 1.0)
    lo, hi = np.zeros_like(w), np.full_like(w, np.inf)
    found = np.zeros_like(w)
    converged = np.zeros(w.shape, bool)
    todo = np.arange(w.size)
    for _ in range(_MAX_STEPS):
        if todo.size == 0:
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x = y / w
            value = _normalised_otm(y, w, half_up, half_down, sign)
            g = np.log(value) - log_target
            g1 = sign * _INV_SQRT_2PI * np.exp(-0.5 * x * x - 0.125 * w * w) / value
            g2 = g1 * (x * x / w - 0.25 * w) - g1 * g1
            step = -2.0 * g * g1 / (2.0 * g1 * g1 - g * g2)
        rising = g * sign < 0  # the root lies at a larger w
        lo = np.where(rising, w, lo)
        hi = np.where(rising, hi, w)
        new = w + step
        halley = (new >= lo) & (new <= hi)  # False for nan steps too
        new = np.where(halley, new, np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * w))
        done = halley & (np.abs(step) <= _STEP_TOLERANCE * (1.0 + new))
        w = new
        if done.any():
            found[todo[done]] = new[done]
            converged[todo[done]] = True
            keep = ~done
            todo, w, y, half_up, half_down, sign, log_target, lo, hi = (
                a[keep] for a in (todo, w, y, half_up, half_down, sign, log_target, lo, hi)
            )
    return found, converged


def _quote_terms(
    s: ArrayLike, k: ArrayLike, t: ArrayLike, is_call: ArrayLike, price: ArrayLike, r: ArrayLike, q: ArrayLike
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Quotes broadcast and flattened to (forward, strike, t, undiscounted time value, IVStatus)."""
    s, k, t, is_call, price, r, q = (
        a.ravel() for a in np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (s, k, t, is_call, price, r, q)))
    )
    t = _years_left(t)
    forward = s * np.exp((r - q) * t)
    undiscounted = price * np.exp(r * t)
    calls = is_call != 0
    time_value = undiscounted - np.maximum(np.where(calls, forward - k, k - forward), 0.0)
    status = np.full(s.shape, IVStatus.OK, dtype=np.int8)
    status[undiscounted >= np.where(calls, forward, k)] = IVStatus.ABOVE_MAXIMUM
    status[time_value <= _ROUNDING * np.maximum(forward, k)] = IVStatus.NO_TIME_VALUE
    status[t < _MIN_YEARS] = IVStatus.EXPIRED
    return forward, k, t, time_value, status


def _broadcast_shape(*arrays: ArrayLike) -> tuple[int, ...]:
    return np.broadcast_shapes(*(np.shape(a) for a in arrays))


def quote_status(
    s: ArrayLike, k: ArrayLike, t: ArrayLike, is_call: ArrayLike, price: ArrayLike, r: ArrayLike = 0, q: ArrayLike = 0
) -> NDArray[np.int8]:
    """``IVStatus`` per quote: OK where a Black-Scholes volatility reproduces the price, else why not."""
    return _quote_terms(s, k, t, is_call, price, r, q)[4].reshape(_broadcast_shape(s, k, t, is_call, price, r, q))


def implied_vol(
    s: ArrayLike, k: ArrayLike, t: ArrayLike, is_call: ArrayLike, price: ArrayLike, r: ArrayLike = 0, q: ArrayLike = 0
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Implied volatilities of option prices per share and an ``IVStatus`` per contract (iv 0.0 unless OK),
    in the broadcast shape of the arguments."""
    forward, k_flat, t_flat, time_value, status = _quote_terms(s, k, t, is_call, price, r, q)
    iv = np.zeros(status.shape)
    ok = status == IVStatus.OK
    if ok.any():
        f, kk = forward[ok], k_flat[ok]
        w, converged = _solve_total_vol(-np.abs(np.log(f / kk)), time_value[ok] / np.sqrt(f * kk))
        iv[ok] = np.where(converged, w / np.sqrt(t_flat[ok]), 0.0)
        status[np.flatnonzero(ok)[~converged]] = IVStatus.NOT_CONVERGED
    shape = _broadcast_shape(s, k, t, is_call, price, r, q)
    return iv.reshape(shape), status.reshape(shape)


def chain_iv_greeks(
    spot: ArrayLike,
    strikes: ArrayLike,
    t: ArrayLike,
    is_call: ArrayLike,
    prices: ArrayLike,
    r: ArrayLike = 0.0,
    q: ArrayLike = 0.0,
) -> ChainGreeks:
    """Implied volatility and Greeks of a whole chain from its mid prices, in one pass of array maths.

    Greeks per share as NautilusTrader's: delta, gamma, vega per vol point, theta per calendar day.
    """
    iv, status = implied_vol(spot, strikes, t, is_call, prices, r, q)
    greeks = bs_greeks(spot, strikes, t, iv, is_call, r, q)
    return ChainGreeks(iv, greeks.delta, greeks.gamma, greeks.vega, greeks.theta, status)
