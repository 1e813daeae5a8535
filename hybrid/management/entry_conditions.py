"""Entry conditions of a recurring template and the pure check of them against the market.

A template fires only when every condition given holds; :meth:`EntryConditions.blockers` lists the ones
that do not (or cannot be checked for missing data), which become the "skipped" reason in the action log.
Portfolio Greeks are share-equivalent (quantity x multiplier x greek), as NautilusTrader reports them.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Greek = Literal["delta", "gamma", "vega", "theta"]
Comparison = Literal[">", ">=", "<", "<="]
_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GreekThreshold(_Model):
    """E.g. ``delta > 100`` or, with ``absolute``, ``|delta| > 100`` on the portfolio's Greeks."""

    greek: Greek
    op: Comparison
    value: float = Field(allow_inf_nan=False)
    absolute: bool = False

    def describe(self) -> str:
        name = f"|{self.greek}|" if self.absolute else self.greek
        return f"{name} {self.op} {self.value:g}"

    def holds(self, greek_value: float) -> bool:
        return _COMPARE[self.op](abs(greek_value) if self.absolute else greek_value, self.value)


@dataclass(frozen=True, slots=True)
class EntryContext:
    """The market as a template sees it when it is evaluated; None where it is not known."""

    iv_rank: float | None = None
    underlying_price: float | None = None
    portfolio_greeks: Mapping[str, float] = field(default_factory=dict)
    open_groups: int = 0


class EntryConditions(_Model):
    """All conditions given must hold for a run to fire; none given means always fire."""

    iv_rank_min: float | None = Field(default=None, ge=0, le=100)
    iv_rank_max: float | None = Field(default=None, ge=0, le=100)
    underlying_above: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    underlying_below: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    greeks: tuple[GreekThreshold, ...] = Field(default=(), max_length=8)
    max_open_groups: int | None = Field(default=None, ge=1, description="cap on this template's open groups")

    @model_validator(mode="after")
    def _consistent(self) -> EntryConditions:
        for low, high in (("iv_rank_min", "iv_rank_max"), ("underlying_above", "underlying_below")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo >= hi:
                raise ValueError(f"{low} ({lo:g}) must be below {high} ({hi:g}), else nothing can fire")
        return self

    def blockers(self, context: EntryContext) -> list[str]:
        """Why a run may not fire now: one reason per failing or uncheckable condition ([] = fire)."""
        reasons: list[str] = []
        if self.iv_rank_min is not None or self.iv_rank_max is not None:
            rank = context.iv_rank
            if rank is None:
                reasons.append("IV rank unknown")
            elif self.iv_rank_min is not None and rank < self.iv_rank_min:
                reasons.append(f"IV rank {rank:.1f} < {self.iv_rank_min:g}")
            elif self.iv_rank_max is not None and rank > self.iv_rank_max:
                reasons.append(f"IV rank {rank:.1f} > {self.iv_rank_max:g}")
        if self.underlying_above is not None or self.underlying_below is not None:
            price = context.underlying_price
            if price is None:
                reasons.append("underlying price unknown")
            elif self.underlying_above is not None and not price > self.underlying_above:
                reasons.append(f"underlying {price:g} not above {self.underlying_above:g}")
            elif self.underlying_below is not None and not price < self.underlying_below:
                reasons.append(f"underlying {price:g} not below {self.underlying_below:g}")
        for threshold in self.greeks:
            value = context.portfolio_greeks.get(threshold.greek)
            if value is None:
                reasons.append(f"portfolio {threshold.greek} unknown")
            elif not threshold.holds(value):
                reasons.append(f"portfolio {threshold.describe()} is false ({threshold.greek} {value:g})")
        if self.max_open_groups is not None and context.open_groups >= self.max_open_groups:
            reasons.append(f"{context.open_groups} groups open, cap {self.max_open_groups}")
        return reasons
