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

A refusal is a one-line reason naming the limit, the value and the limit's setting (None: allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.common.config import NautilusConfig


class RiskLimitsConfig(NautilusConfig, frozen=True):
    """Limits on new groups; None switches a limit off."""

    max_open_groups: int | None = 4
    max_abs_delta: float | None = 300.0
    max_abs_vega: float | None = 2_000.0
    max_loss_per_group: float | None = 5_000.0
    buying_power_fraction: float = 0.5

    def __post_init__(self) -> None:
        check_limits(self)


def check_limits(config: RiskLimitsConfig) -> RiskLimitsConfig:
    """``config`` itself, or a one-line ValueError naming the field and what is valid."""
    for name in ("max_abs_delta", "max_abs_vega", "max_loss_per_group"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise ValueError(f"risk.{name} must be > 0 or left out, got {value}")
    if config.max_open_groups is not None and config.max_open_groups < 1:
        raise ValueError(f"risk.max_open_groups must be >= 1 or left out, got {config.max_open_groups}")
    if not 0 < config.buying_power_fraction <= 1:
        raise ValueError(f"risk.buying_power_fraction must be in (0, 1], got {config.buying_power_fraction}")
    return config


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


def check_entry(config: RiskLimitsConfig, book: BookState, entry: EntryRisk) -> str | None:
    """None when the entry is within every limit, else the first limit it breaks (one line)."""
    if config.max_open_groups is not None and book.open_groups + 1 > config.max_open_groups:
        return f"max_open_groups: {book.open_groups} open, limit {config.max_open_groups}"
    if config.max_loss_per_group is not None:
        if entry.max_loss is None:
            return f"max_loss_per_group: the loss is unbounded, limit {config.max_loss_per_group:.2f}"
        if entry.max_loss > config.max_loss_per_group:
            return f"max_loss_per_group: {entry.max_loss:.2f} > limit {config.max_loss_per_group:.2f}"
    delta = book.delta + entry.delta
    if config.max_abs_delta is not None and abs(delta) > config.max_abs_delta:
        return f"max_abs_delta: portfolio delta would be {delta:.1f} shares, limit {config.max_abs_delta:.1f}"
    vega = book.vega + entry.vega
    if config.max_abs_vega is not None and abs(vega) > config.max_abs_vega:
        return f"max_abs_vega: portfolio vega would be {vega:.1f} $/vol point, limit {config.max_abs_vega:.1f}"
    available = book.free_balance * config.buying_power_fraction
    if entry.requirement > available:
        return (
            f"buying power: needs {entry.requirement:.2f}, {config.buying_power_fraction:.0%} of free balance "
            f"{book.free_balance:.2f} is {available:.2f}"
        )
    return None
