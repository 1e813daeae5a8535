"""Pre-trade limits on a new group: open groups, portfolio |delta| and |vega|, loss per group, buying power.

A strategy's :class:`hybrid.trading.GroupTrader` asks its gate before opening anything;
:func:`check_entry` is that gate's decision, from the proposal and the book as it is now:

- ``max_open_groups``: groups the strategy has open or opening;
- ``max_abs_delta`` (shares) and ``max_abs_vega`` ($ per vol point): the portfolio's Greeks after
  the entry, share-equivalent. The book's Greeks are :func:`hybrid.valuation.greeks.portfolio_greeks`
  at the strategy's rate and dividend yield (positions it cannot price count as zero, as
  NautilusTrader's calculator counted them); the new group's from :func:`hybrid.options.analytics.analyze`;
- ``max_loss_per_group``: the group's maximum loss at expiry (unbounded is refused when set);
- buying power: :func:`hybrid.risk.margin.entry_requirement` must fit in ``buying_power_fraction`` of
  the account's free balance (what the venue's margin model leaves free).

A refusal (:class:`Refusal`, :func:`entry_refusal`) names the limit, its setting and the current usage; its
text (:func:`check_entry`) is one line. :func:`limit_usage` lists every limit with its setting and usage (the
API's ``GET /risk``). One account-wide gate for every order source is :mod:`hybrid.risk.account`; its
per-source limits are a :class:`SourceLimitsConfig` each, checked on top of the account's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nautilus_trader.common.config import NautilusConfig

from hybrid.options.analytics import AnalysisResult
from hybrid.options.legs import Leg
from hybrid.risk.margin import MarginRates, entry_requirement

SOURCES = ("autonomous", "manual", "recurring")  # where orders are born (hybrid.tracking.GroupTags.source)


class RiskLimitsConfig(NautilusConfig, frozen=True):
    """Limits on new groups; None switches a limit off."""

    max_open_groups: int | None = 4
    max_abs_delta: float | None = 300.0
    max_abs_vega: float | None = 2_000.0
    max_loss_per_group: float | None = 5_000.0
    buying_power_fraction: float = 0.5

    def __post_init__(self) -> None:
        check_limits(self)


def check_limits[C: (RiskLimitsConfig, SourceLimitsConfig)](config: C) -> C:
    """``config`` itself, or a one-line ValueError naming the field and what is valid."""
    for name in ("max_abs_delta", "max_abs_vega", "max_loss_per_group"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise ValueError(f"risk.{name} must be > 0 or left out, got {value}")
    if config.max_open_groups is not None and config.max_open_groups < 1:
        raise ValueError(f"risk.max_open_groups must be >= 1 or left out, got {config.max_open_groups}")
    if config.buying_power_fraction is not None and not 0 < config.buying_power_fraction <= 1:
        raise ValueError(f"risk.buying_power_fraction must be in (0, 1], got {config.buying_power_fraction}")
    return config


class SourceLimitsConfig(NautilusConfig, frozen=True):
    """Limits of one order source, checked on top of the account's; every one is off unless set. The open
    groups counted are that source's; delta and vega are the account's."""

    max_open_groups: int | None = None
    max_abs_delta: float | None = None
    max_abs_vega: float | None = None
    max_loss_per_group: float | None = None
    buying_power_fraction: float | None = None

    def __post_init__(self) -> None:
        check_limits(self)


@dataclass(frozen=True, slots=True)
class BookState:
    """The book before the entry: open groups, share-equivalent Greeks and the account's free balance."""

    open_groups: int
    delta: float
    vega: float
    free_balance: float


@dataclass(frozen=True, slots=True)
class EntryRisk:
    """What the entry adds (all units): Greeks, maximum loss (None: unbounded) and buying power used."""

    delta: float
    vega: float
    max_loss: float | None
    requirement: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """A limit an entry breaks: ``scope`` (``account`` or a source), the limit's name and setting, the usage
    before the entry and what the entry would make it (None: not a quantity, e.g. an unbounded loss)."""

    scope: str
    limit: str
    value: float
    usage: float
    after: float | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """One limit as ``GET /risk`` shows it: its setting (None: off) and the usage now."""

    scope: str
    limit: str
    value: float | None
    usage: float


def _named(scope: str, limit: str) -> str:
    return limit if scope == "account" else f"{scope}.{limit}"


def entry_refusal(
    config: RiskLimitsConfig | SourceLimitsConfig, book: BookState, entry: EntryRisk, scope: str = "account"
) -> Refusal | None:
    """None when the entry is within every limit of ``config``, else the first limit it breaks."""

    def refuse(limit: str, value: float, usage: float, after: float | None, text: str) -> Refusal:
        return Refusal(scope, limit, value, usage, after, f"{_named(scope, limit)}: {text}")

    opened = config.max_open_groups
    if opened is not None and book.open_groups + 1 > opened:
        return refuse("max_open_groups", opened, book.open_groups, book.open_groups + 1,
                      f"{book.open_groups} open, limit {opened}")  # fmt: skip
    most = config.max_loss_per_group
    if most is not None:
        if entry.max_loss is None:
            return refuse("max_loss_per_group", most, 0.0, None, f"the loss is unbounded, limit {most:.2f}")
        if entry.max_loss > most:
            return refuse("max_loss_per_group", most, 0.0, entry.max_loss, f"{entry.max_loss:.2f} > limit {most:.2f}")
    delta = book.delta + entry.delta
    if config.max_abs_delta is not None and abs(delta) > config.max_abs_delta:
        text = f"portfolio delta would be {delta:.1f} shares, limit {config.max_abs_delta:.1f}"
        return refuse("max_abs_delta", config.max_abs_delta, book.delta, delta, text)
    vega = book.vega + entry.vega
    if config.max_abs_vega is not None and abs(vega) > config.max_abs_vega:
        text = f"portfolio vega would be {vega:.1f} $/vol point, limit {config.max_abs_vega:.1f}"
        return refuse("max_abs_vega", config.max_abs_vega, book.vega, vega, text)
    fraction = config.buying_power_fraction
    if fraction is not None:
        available = book.free_balance * fraction
        if entry.requirement > available:
            text = (
                f"needs {entry.requirement:.2f}, {fraction:.0%} of free balance {book.free_balance:.2f} is "
                f"{available:.2f}"
            )
            return Refusal(scope, "buying_power_fraction", fraction, book.free_balance, entry.requirement,
                           f"{'buying power' if scope == 'account' else scope + '.buying power'}: {text}")  # fmt: skip
    return None


def check_entry(config: RiskLimitsConfig, book: BookState, entry: EntryRisk) -> str | None:
    """None when the entry is within every limit, else the first limit it breaks (one line)."""
    refusal = entry_refusal(config, book, entry)
    return None if refusal is None else refusal.message


def limit_usage(config: RiskLimitsConfig | SourceLimitsConfig, book: BookState, scope: str) -> list[LimitUsage]:
    """Every limit of ``config`` with its setting and the usage in ``book`` (buying power: the free balance)."""
    return [
        LimitUsage(scope, "max_open_groups", config.max_open_groups, book.open_groups),
        LimitUsage(scope, "max_abs_delta", config.max_abs_delta, book.delta),
        LimitUsage(scope, "max_abs_vega", config.max_abs_vega, book.vega),
        LimitUsage(scope, "max_loss_per_group", config.max_loss_per_group, 0.0),
        LimitUsage(scope, "buying_power_fraction", config.buying_power_fraction, book.free_balance),
    ]


def entry_risk(legs: Sequence[Leg], units: int, spot: float, analysis: AnalysisResult, multiplier: float) -> EntryRisk:
    """What opening ``units`` units of ``legs`` (analysed per unit) adds: Greeks, maximum loss, buying power."""
    max_loss = None if analysis.max_loss is None else max(-analysis.max_loss, 0.0) * units
    return EntryRisk(
        delta=analysis.greeks.delta * units,
        vega=analysis.greeks.vega * units,
        max_loss=max_loss,
        requirement=entry_requirement(legs, units, spot, analysis.net_premium, MarginRates(), multiplier),
    )
