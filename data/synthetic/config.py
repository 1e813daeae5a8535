"""Every knob of the synthetic market, with the two named profiles (``demo`` and ``small``).

Three frozen dataclasses: :class:`VolatilityModel` (regimes, stochastic volatility, surface shape),
:class:`QuoteModel` (bid/ask widths and displayed sizes) and :class:`MarketConfig` (what to generate:
symbol, dates, cadence, chain listing rules, plus the two models). Validation happens on construction
so bad input fails with one line naming the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

REGIMES = ("calm", "stressed", "spike")
SCENARIOS = ("high_iv", "mid_iv", "low_iv")
PROFILES = ("demo", "small")
MIN_HISTORY_DAYS = 252
# The calendar spans 2000-2035: room for 750 sessions of history before and a year plus listing
# horizons after the intraday window.
EARLIEST_START = dt.date(2003, 1, 1)
LATEST_START = dt.date(2033, 12, 31)


def _require(ok: bool, name: str, valid: str, value: object) -> None:
    if not ok:
        shown = value.isoformat() if isinstance(value, dt.date) else repr(value)
        raise ValueError(f"{name} must be {valid}, got {shown}")


def _require_per_regime(obj: object, *names: str) -> None:
    for name in names:
        values = getattr(obj, name)
        _require(
            len(values) == len(REGIMES) and all(v > 0 for v in values),
            name,
            f"{len(REGIMES)} positive numbers (one per regime: {', '.join(REGIMES)})",
            values,
        )


def _require_range(name: str, value: tuple[int, int]) -> None:
    _require(len(value) == 2 and 1 <= value[0] <= value[1], name, "(low, high) with 1 <= low <= high", value)


@dataclass(frozen=True)
class VolatilityModel:
    """Regime-switching stochastic volatility of the 30-day ATM implied vol, and the surface around it.

    The state is the 30-day constant-maturity ATM implied vol (``iv30``). Its log mean-reverts to the
    current regime's level; the regime is a daily Markov chain whose rows are ``transition``. The spot's
    realised vol is ``realized_to_implied * iv30``, its shocks correlated ``spot_vol_corr`` with vol shocks.
    """

    regime_iv: tuple[float, float, float] = (0.13, 0.24, 0.55)
    regime_vol_of_vol: tuple[float, float, float] = (0.9, 1.2, 1.3)
    transition: tuple[tuple[float, float, float], ...] = (
        (0.980, 0.018, 0.002),
        (0.040, 0.945, 0.015),
        (0.020, 0.100, 0.880),
    )
    # per year, by regime: half-lives of about 12, 9 and 4 trading days (spikes come and go fast)
    regime_mean_reversion: tuple[float, float, float] = (15.0, 20.0, 40.0)
    upward_reversion_multiple: float = 3.0  # vol rises to a higher regime level faster than it bleeds out
    spot_vol_corr: float = -0.7
    realized_to_implied: float = 0.85  # implied vol carries a variance risk premium
    spot_drift: float = 0.07
    overnight_variance_share: float = 0.2
    long_run_iv: float = 0.19  # the level long-dated ATM vol is anchored to (term structure)
    term_decay: float = 4.0  # per year: how fast expected vol reverts to ``long_run_iv``
    skew_slope: float = -0.20  # d(iv/atm)/dx with x = ln(K/F) / (atm * sqrt(T))
    skew_curvature: float = 0.10
    wing_saturation: tuple[float, float] = (3.0, 2.0)  # |x| where the put / call wing flattens out

    def __post_init__(self) -> None:
        _require_per_regime(self, "regime_iv", "regime_vol_of_vol", "regime_mean_reversion")
        _require(
            len(self.wing_saturation) == 2 and min(self.wing_saturation) > 0,
            "wing_saturation",
            "2 positive numbers",
            self.wing_saturation,
        )
        rows = self.transition
        _require(
            len(rows) == 3 and all(len(r) == 3 and min(r) >= 0 and abs(sum(r) - 1) < 1e-9 for r in rows),
            "transition",
            "a 3x3 matrix of probabilities whose rows sum to 1",
            rows,
        )
        _require(-1 < self.spot_vol_corr < 1, "spot_vol_corr", "in (-1, 1)", self.spot_vol_corr)
        _require(
            0 <= self.overnight_variance_share < 1,
            "overnight_variance_share",
            "in [0, 1)",
            self.overnight_variance_share,
        )
        for name in ("upward_reversion_multiple", "realized_to_implied", "long_run_iv", "term_decay"):
            _require(getattr(self, name) > 0, name, "> 0", getattr(self, name))


@dataclass(frozen=True)
class QuoteModel:
    """Bid/ask width and displayed size of option quotes.

    Width in dollars = vega per vol point x ``atm_width_vol_points`` x (1 + ``otm_width`` x |x|) x regime
    multiplier + ``price_width_share`` x price, then bid rounded down and ask up to the tick grid: wider
    in vol terms out of the money, wider in dollars for long-dated (vega grows with sqrt(T)) and stressed.
    """

    atm_width_vol_points: float = 0.08
    otm_width: float = 0.6
    regime_width: tuple[float, float, float] = (1.0, 2.0, 4.0)
    price_width_share: float = 0.002
    size_median: float = 120.0
    size_dispersion: float = 0.45  # lognormal sigma of displayed sizes
    regime_size: tuple[float, float, float] = (1.0, 0.7, 0.45)
    size_range: tuple[int, int] = (5, 999)
    underlying_lots: tuple[int, int] = (1, 20)  # underlying sizes: this many round lots of 100

    def __post_init__(self) -> None:
        for name in ("atm_width_vol_points", "size_median", "size_dispersion"):
            _require(getattr(self, name) > 0, name, "> 0", getattr(self, name))
        for name in ("otm_width", "price_width_share"):
            _require(getattr(self, name) >= 0, name, ">= 0", getattr(self, name))
        _require_per_regime(self, "regime_width", "regime_size")
        _require_range("size_range", self.size_range)
        _require_range("underlying_lots", self.underlying_lots)


@dataclass(frozen=True)
class MarketConfig:
    """What to generate. Build it with :meth:`profile`; every field can be overridden.

    ``days`` trading days of intraday quotes start at ``start`` (rolled forward to a session), preceded
    by ``history_days`` sessions of daily 30-day ATM IV only (the IV-rank warm-up). ``spot`` is the
    underlying's price at the close before ``start``. ``scenario`` forces the IV rank of every intraday
    day into a band: ``high_iv`` > 50, ``mid_iv`` 30-50, ``low_iv`` < 30 (None: the seed decides).
    Options are quoted every ``option_interval_s`` seconds when their bid or ask changed, and at least
    every ``heartbeat_s``; the underlying every ``underlying_interval_s``.
    """

    profile_name: str = "demo"
    seed: int = 111
    symbol: str = "SPY"
    venue: str = "OPRA"
    spot: float = 450.0
    start: dt.date = dt.date(2024, 1, 2)
    days: int = 63
    history_days: int = 260
    scenario: str | None = None
    rate: float = 0.045
    dividend_yield: float = 0.013
    penny: bool = True  # penny class: $0.01 ticks at every price; else $0.05 below $3, $0.10 above
    underlying_interval_s: int = 10
    option_interval_s: int = 300
    heartbeat_s: int = 1800
    weekly_horizon_days: int = 42  # weeklies are listed this many calendar days ahead
    monthly_horizon_days: int = 100  # monthlies (third Fridays) further out
    fine_strike_step: float = 1.0
    coarse_strike_step: float = 5.0
    fine_band: float = 0.01  # fine strikes within +-fine_band x spot of the listing day's open
    listing_vol_floor: float = 0.20  # the strike range is sized with max(iv30, this)
    put_wing_sd: float = 2.3  # lowest strike: spot x exp(-put_wing_sd x vol x sqrt(T))
    call_wing_sd: float = 1.5  # highest strike: spot x exp(+call_wing_sd x vol x sqrt(T))
    min_listing_dte: int = 7  # strike ranges are sized for at least this many days to expiry
    max_listing_dte: int = 45  # and at most this many: far expiries widen as they come closer
    vol: VolatilityModel = field(default_factory=VolatilityModel)
    quotes: QuoteModel = field(default_factory=QuoteModel)

    def __post_init__(self) -> None:
        for name, ok, valid in _MARKET_RULES:
            _require(ok(self), name, valid, getattr(self, name))

    @classmethod
    def profile(cls, name: str, **overrides: Any) -> MarketConfig:
        """The named profile (``demo``: 3 months, ``small``: 4 days for tests) with ``overrides``."""
        if name not in _PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {name!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown MarketConfig field {unknown[0]!r}; valid: {', '.join(sorted(known))}")
        return dataclasses.replace(cls(profile_name=name, **_PROFILES[name]), **overrides)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _symbol(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.isascii()
        and value.replace(".", "").isalnum()
        and 1 <= len(value) <= 6
        and value == value.upper()
    )


# (field, check, what would be valid): checked in order, so later checks may rely on earlier fields.
_MARKET_RULES = (
    ("profile_name", lambda c: isinstance(c.profile_name, str) and c.profile_name != "", "a name"),
    ("seed", lambda c: _int(c.seed) and c.seed >= 0, "an integer >= 0"),
    ("symbol", lambda c: _symbol(c.symbol), "1-6 upper-case letters or digits (e.g. SPY)"),
    ("venue", lambda c: isinstance(c.venue, str) and c.venue.isalnum(), "alphanumeric (e.g. OPRA)"),
    ("spot", lambda c: _number(c.spot) and 1 <= c.spot <= 10_000, "between 1 and 10000"),
    (
        "start",
        lambda c: isinstance(c.start, dt.date) and EARLIEST_START <= c.start <= LATEST_START,
        f"a date between {EARLIEST_START} and {LATEST_START}",
    ),
    ("days", lambda c: _int(c.days) and 1 <= c.days <= 260, "1 to 260"),
    (
        "history_days",
        lambda c: _int(c.history_days) and MIN_HISTORY_DAYS <= c.history_days <= 750,
        f"{MIN_HISTORY_DAYS} to 750",
    ),
    ("scenario", lambda c: c.scenario is None or c.scenario in SCENARIOS, f"one of {', '.join(SCENARIOS)} or None"),
    ("rate", lambda c: _number(c.rate) and -0.05 <= c.rate <= 0.25, "between -0.05 and 0.25"),
    ("dividend_yield", lambda c: _number(c.dividend_yield) and 0 <= c.dividend_yield <= 0.2, "between 0 and 0.2"),
    ("penny", lambda c: isinstance(c.penny, bool), "True or False"),
    (
        "underlying_interval_s",
        lambda c: _int(c.underlying_interval_s) and c.underlying_interval_s > 0 and 1800 % c.underlying_interval_s == 0,
        "a divisor of 1800 (seconds)",
    ),
    (
        "option_interval_s",
        lambda c: (
            _int(c.option_interval_s)
            and c.option_interval_s > 0
            and c.option_interval_s % c.underlying_interval_s == 0
            and 1800 % c.option_interval_s == 0
        ),
        "a multiple of underlying_interval_s dividing 1800",
    ),
    (
        "heartbeat_s",
        lambda c: _int(c.heartbeat_s) and c.heartbeat_s > 0 and c.heartbeat_s % c.option_interval_s == 0,
        "a positive multiple of option_interval_s",
    ),
    ("weekly_horizon_days", lambda c: _int(c.weekly_horizon_days) and 7 <= c.weekly_horizon_days <= 400, "7 to 400"),
    (
        "monthly_horizon_days",
        lambda c: _int(c.monthly_horizon_days) and c.weekly_horizon_days <= c.monthly_horizon_days <= 400,
        "weekly_horizon_days to 400",
    ),
    (
        "fine_strike_step",
        lambda c: (
            _number(c.fine_strike_step)
            and c.fine_strike_step > 0
            and round(c.fine_strike_step * 100) == c.fine_strike_step * 100
        ),
        "a positive whole number of cents",
    ),
    (
        "coarse_strike_step",
        lambda c: (
            _number(c.coarse_strike_step)
            and c.coarse_strike_step > 0
            and round(c.coarse_strike_step / c.fine_strike_step, 9).is_integer()
        ),
        "a positive multiple of fine_strike_step",
    ),
    ("fine_band", lambda c: _number(c.fine_band) and 0 <= c.fine_band < 0.5, "in [0, 0.5)"),
    ("listing_vol_floor", lambda c: _number(c.listing_vol_floor) and 0 < c.listing_vol_floor <= 3, "in (0, 3]"),
    ("put_wing_sd", lambda c: _number(c.put_wing_sd) and 0 < c.put_wing_sd <= 6, "in (0, 6]"),
    ("call_wing_sd", lambda c: _number(c.call_wing_sd) and 0 < c.call_wing_sd <= 6, "in (0, 6]"),
    ("min_listing_dte", lambda c: _int(c.min_listing_dte) and 0 <= c.min_listing_dte <= 60, "0 to 60"),
    (
        "max_listing_dte",
        lambda c: _int(c.max_listing_dte) and c.min_listing_dte <= c.max_listing_dte <= 400,
        "min_listing_dte to 400",
    ),
    ("vol", lambda c: isinstance(c.vol, VolatilityModel), "a VolatilityModel"),
    ("quotes", lambda c: isinstance(c.quotes, QuoteModel), "a QuoteModel"),
)

_PROFILES: dict[str, dict] = {
    "demo": {},
    "small": {
        "days": 4,
        "underlying_interval_s": 60,
        "option_interval_s": 1800,
        "heartbeat_s": 1800,
        "weekly_horizon_days": 46,
        "monthly_horizon_days": 46,
        "fine_band": 0.005,
        "listing_vol_floor": 0.2,
        "put_wing_sd": 2.0,
        "call_wing_sd": 1.2,
    },
}
