"""The management rules config: when to take profits, stop out and roll, and which marks to trust.

Percentages are percent numbers of the entry net premium (``50.0`` is +50%); tranche fractions are
shares of the units held at entry. Frozen pydantic models, so a bad value is reported against its field
and a config can travel as JSON (API, per-group custom rules).
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Recentre = Literal["same_strikes", "same_deltas"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProfitTranche(_Frozen):
    """Close ``fraction`` of the entry units once the P&L reaches ``at_pct`` percent."""

    at_pct: float = Field(gt=0, description="P&L % that triggers this tranche, e.g. 50.0 for +50%")
    fraction: float = Field(gt=0, le=1, description="share of the units at entry, in (0, 1]")


DEFAULT_TRANCHES = (
    ProfitTranche(at_pct=50.0, fraction=0.3),
    ProfitTranche(at_pct=100.0, fraction=0.5),
    ProfitTranche(at_pct=200.0, fraction=0.2),
)


class RollRules(_Frozen):
    """Roll when fewer than ``below_dte`` calendar days are left to the nearest expiry.

    The new expiry is the first listed one whose DTE is within ``[target_dte_min, target_dte_max]``.
    """

    below_dte: int = Field(default=7, ge=1, description="roll when DTE < this many calendar days")
    target_dte_min: int = Field(default=30, ge=1)
    target_dte_max: int = Field(default=45, ge=1)
    recentre: Recentre = "same_strikes"

    @model_validator(mode="after")
    def _window(self) -> RollRules:
        if self.target_dte_max < self.target_dte_min:
            raise ValueError(
                f"target_dte_max ({self.target_dte_max}) must be >= target_dte_min ({self.target_dte_min})"
            )
        if self.target_dte_min <= self.below_dte:
            raise ValueError(
                f"target_dte_min ({self.target_dte_min}) must be > below_dte ({self.below_dte}), "
                "else the new group would be rolled again at once"
            )
        return self


class ManagementRules(_Frozen):
    """Everything the bot needs to manage one group; the defaults are the house rules."""

    profit_tranches: tuple[ProfitTranche, ...] = DEFAULT_TRANCHES
    stop_loss_pct: float | None = Field(-200.0, lt=0, description="None disables the stop")
    stop_confirmations: int = Field(2, ge=1, description="consecutive trusted checks beyond the stop needed to close")
    max_spread_ratio: float = Field(
        0.5, gt=0, description="a leg is too wide when ask-bid > this x mid and > max_spread_abs"
    )
    max_spread_abs: float = Field(0.10, ge=0, description="widths up to this are always trusted")
    roll: RollRules | None = RollRules()

    @model_validator(mode="after")
    def _tranches(self) -> ManagementRules:
        levels = [t.at_pct for t in self.profit_tranches]
        if any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError(f"profit_tranches: at_pct must be strictly ascending, got {levels}")
        total = sum(t.fraction for t in self.profit_tranches)
        if self.profit_tranches and not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"profit_tranches: fractions must add up to 1 (all the units), got {total:g}")
        return self
