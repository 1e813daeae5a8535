"""Order intents: what a person (API), a recurring template or a strategy asks the engine to do.

An intent is the contract of the API's order submission and of recurring templates, and what the order
queue stores. Three kinds, told apart by ``kind``:

- ``open``: open a new group from a structure (see :mod:`hybrid.orders.structures`) for ``units`` units;
- ``close``: close an existing group, all of it or some units;
- ``roll``: close an existing group and open the same structure at a later expiry, as one lineage.

Sides. ``side="buy"`` opens the structure's legs as defined (times ``units``); ``side="sell"`` opens
every leg negated. The catalogue's "short X" is "X with every leg negated", so ``sell X`` and
``buy short_X`` are the same legs; both are accepted and the group keeps the name it was given.

Prices. A limit price is the net premium per share for one unit of the structure *as opened* (after
the side is applied): positive is a debit paid, negative a credit received (the catalogue's sign
convention). For a close it is the net premium of the closing trade, with the same sign convention.

Numbers are numbers: units, prices, strikes and the algorithm's parameters are strict (``true`` or
``"1"`` is refused, not read as 1), and prices are finite.

Limits. ``units`` is at most ``max_units``: ``HYBRID_MAX_UNITS`` (default 100), or ``max_units`` in
the pydantic validation context. Intents read back from the queue are validated with
``STORED_CONTEXT``: they were accepted under the limits of their day and are not judged again.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationInfo, field_validator, model_validator

from hybrid.options.legs import Leg
from hybrid.options.two_part_params import (
    DEADLINE_SECONDS,
    FIRST_FRACTION,
    LADDER_STEPS,
    MAX_ATTEMPTS,
    Bounds,
    Mode,
    OnDeadline,
)
from hybrid.orders.execution_mode import ExecutionMode
from hybrid.orders.structures import DteWindow, RuleStructure, StrictModel, Structure, field_error
from hybrid.tracking.tags import Source

MAX_UNITS_ENV = "HYBRID_MAX_UNITS"
DEFAULT_MAX_UNITS = 100
MAX_ABS_PRICE = 100_000.0  # net premium per share of one unit; far above any listed structure
MAX_METADATA_KEY = 64
MAX_METADATA_TEXT = 256
STORED_CONTEXT = {"max_units": None}
_ID = r"^[A-Za-z0-9._:\-]+$"  # also safe inside the group tags of hybrid.tracking.tags

Side = Literal["buy", "sell"]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128, pattern=_ID)]
GroupId = Annotated[str, Field(min_length=1, max_length=64, pattern=_ID)]
NetPremium = Annotated[float, Field(ge=-MAX_ABS_PRICE, le=MAX_ABS_PRICE, allow_inf_nan=False, strict=True)]


@functools.cache
def default_max_units() -> int:
    """``$HYBRID_MAX_UNITS`` (a positive integer) or 100; read once per process."""
    raw = os.environ.get(MAX_UNITS_ENV)
    if raw is None:
        return DEFAULT_MAX_UNITS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{MAX_UNITS_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


class MarketExecution(StrictModel):
    """Cross the spread now: fills fast, pays the width of every leg's market."""

    type: Literal[ExecutionMode.MARKET] = ExecutionMode.MARKET


class LimitExecution(StrictModel):
    """One limit order at ``price``: net premium per share of one unit, positive = debit paid."""

    type: Literal[ExecutionMode.LIMIT] = ExecutionMode.LIMIT
    price: NetPremium = Field(examples=[1.25, -0.85])


def _optional_within(bounds: Bounds) -> Any:
    """A field left out by default (the algorithm's configured value), else within the parameter's bounds."""
    return Field(default=None, gt=bounds.gt, ge=bounds.ge, lt=bounds.lt, le=bounds.le, strict=True)


class TwoPartExecution(StrictModel):
    """The two-part split algorithm; every parameter left out takes the algorithm's configured value.

    ``limit_price`` bounds the ladder (worst net premium per share of one unit, positive = debit).
    """

    type: Literal[ExecutionMode.TWO_PART] = ExecutionMode.TWO_PART
    mode: Mode | None = None
    first_fraction: float | None = _optional_within(FIRST_FRACTION)
    limit_price: NetPremium | None = None
    ladder_steps: int | None = _optional_within(LADDER_STEPS)
    max_attempts: int | None = _optional_within(MAX_ATTEMPTS)
    deadline_seconds: float | None = _optional_within(DEADLINE_SECONDS)
    on_deadline: OnDeadline | None = None


Execution = Annotated[MarketExecution | LimitExecution | TwoPartExecution, Field(discriminator="type")]


class _Intent(StrictModel):
    execution: Execution
    priority: int = Field(
        default=5, ge=0, le=9, strict=True, description="0 is served first; ties go first-come first-served"
    )
    idempotency_key: IdempotencyKey | None = Field(
        default=None,
        description="The same submitter resending the same intent with the same key gets the same order back",
    )
    source: Source = "manual"
    client_metadata: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, max_length=16, description="Kept with the order and returned as given"
    )

    @field_validator("client_metadata")
    @classmethod
    def _short_metadata(cls, metadata: dict) -> dict:
        for key, value in metadata.items():
            if not 1 <= len(key) <= MAX_METADATA_KEY:
                raise ValueError(f"keys must be 1 to {MAX_METADATA_KEY} characters, got {len(key)}")
            if isinstance(value, str) and len(value) > MAX_METADATA_TEXT:
                raise field_error((key,), f"text values are at most {MAX_METADATA_TEXT} characters", value, "too_long")
        return metadata


class OpenIntent(_Intent):
    """Open a new group: ``units`` of ``structure`` on ``underlying``, long (buy) or negated (sell)."""

    kind: Literal["open"] = "open"
    underlying: str = Field(pattern=r"^[A-Z][A-Z0-9.]{0,5}$", examples=["SPY"])
    structure: Structure
    side: Side = "buy"
    units: int = Field(ge=1, strict=True, examples=[1])

    @field_validator("units")
    @classmethod
    def _units_within_limit(cls, units: int, info: ValidationInfo) -> int:
        context = info.context or {}
        limit = context["max_units"] if "max_units" in context else default_max_units()
        if limit is not None and units > limit:
            raise ValueError(f"units must be at most {limit} (the configured maximum)")
        return units

    def unit_legs(self) -> list[Leg]:
        """Signed legs of one unit as opened (side applied); rule structures must be resolved first."""
        if isinstance(self.structure, RuleStructure):
            raise ValueError("a rules structure has no legs until its rules are resolved against a chain")
        legs = self.structure.unit_legs()
        if self.side == "buy":
            return legs
        return [Leg(leg.kind, leg.strike, leg.expiry, -leg.quantity) for leg in legs]


class CloseGroupIntent(_Intent):
    """Close an open group: every remaining unit, or ``units`` of them."""

    kind: Literal["close"] = "close"
    group_id: GroupId
    units: int | None = Field(default=None, ge=1, strict=True, description="Leave out to close every remaining unit")


class RollGroupIntent(_Intent):
    """Close a group and open the same structure at later expiries, as one lineage.

    The new expiries are given (``expiries``) or chosen by DTE window (``dte``), one per expiry
    parameter of the group's strategy; strikes stay the same or are re-centred to the same deltas.
    A roll is two trades, so it takes market or two-part execution, not one limit price.
    """

    kind: Literal["roll"] = "roll"
    group_id: GroupId
    expiries: list[dt.date] | None = Field(default=None, min_length=1, max_length=4)
    dte: list[DteWindow] | None = Field(default=None, min_length=1, max_length=4)
    recentre: Literal["same_strikes", "same_deltas"] = "same_strikes"

    @property
    def targets(self) -> Sequence[dt.date | DteWindow]:
        """The new expiries or DTE windows, whichever was given (exactly one is)."""
        if self.expiries is not None:
            return self.expiries
        if self.dte is None:
            raise ValueError("a roll needs expiries or dte")  # refused by the model's own check
        return self.dte

    @model_validator(mode="after")
    def _one_target(self) -> RollGroupIntent:
        if (self.expiries is None) == (self.dte is None):
            raise field_error(("expiries",), "give exactly one of expiries or dte", self.expiries, "roll_target")
        if isinstance(self.execution, LimitExecution):
            message = "a roll is two trades: use market or two_part execution"
            raise field_error(("execution",), message, self.execution.type, "roll_execution")
        return self


OrderIntent = Annotated[OpenIntent | CloseGroupIntent | RollGroupIntent, Field(discriminator="kind")]
ORDER_INTENT = TypeAdapter(OrderIntent)
