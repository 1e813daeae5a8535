"""The implied-volatility surface as a function of the model state (the 30-day ATM IV).

Term structure: ATM vol at maturity ``T`` is ``L + (iv30 - L) * g(T) / g(30d)`` with
``g(T) = (1 - exp(-lambda T)) / (lambda T)`` (expected reversion of vol to its long-run level ``L``):
below ``L`` (calm) the curve slopes up, above it (stress) it inverts, and it moves with the regime.
Smile: ``atm * (1 + slope * x + curvature * x^2)`` in standardised moneyness
``x = ln(K / F) / (atm * sqrt(T))``, saturated smoothly (``L * tanh(x / L)``) in the far wings: a 25-delta
put sits a few vol points above ATM and a 25-delta call slightly below, with no static arbitrage (put
prices rise and call prices fall with the strike, butterflies are non-negative; tests check it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from data.synthetic.config import VolatilityModel

YEAR_DAYS = 365.0
THIRTY_DAYS = 30.0 / YEAR_DAYS


class SmileVol(NamedTuple):
    iv: np.ndarray
    moneyness: np.ndarray  # standardised x (after wing saturation)


def _reversion_weight(t: np.ndarray | float, decay: float) -> np.ndarray:
    lt = decay * np.asarray(t, dtype=float)
    return -np.expm1(-lt) / lt


def atm_vol(iv30: np.ndarray | float, t: np.ndarray | float, model: VolatilityModel) -> np.ndarray:
    """At-the-forward implied vol at maturity ``t`` (years) given the 30-day ATM vol."""
    ratio = _reversion_weight(t, model.term_decay) / _reversion_weight(THIRTY_DAYS, model.term_decay)
    return model.long_run_iv + (np.asarray(iv30, dtype=float) - model.long_run_iv) * ratio


def smile_vol(
    spot: np.ndarray | float,
    strike: np.ndarray | float,
    t: np.ndarray | float,
    iv30: np.ndarray | float,
    carry: float,
    model: VolatilityModel,
) -> SmileVol:
    """Implied vol at ``strike`` and maturity ``t`` (years); ``carry`` = r - q sets the forward."""
    atm = atm_vol(iv30, t, model)
    forward = np.asarray(spot, dtype=float) * np.exp(carry * np.asarray(t, dtype=float))
    x = np.log(np.asarray(strike, dtype=float) / forward) / (atm * np.sqrt(t))
    put_wing, call_wing = model.wing_saturation
    x = np.where(x < 0, put_wing * np.tanh(x / put_wing), call_wing * np.tanh(x / call_wing))
    return SmileVol(atm * (1.0 + model.skew_slope * x + model.skew_curvature * x * x), x)
