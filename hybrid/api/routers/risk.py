"""Risk: every pre-trade limit with its usage, the circuit breakers (state, reason, trip time), an admin's
reset, and the portfolio stress grid (P&L of the book and of each group under underlying moves and vol shifts).

The limits are the account-wide gate's (:mod:`hybrid.risk.account`), the same that refuses an order submitted
here (409 ``risk_limit``), one from a recurring template or from the autonomous strategy. A reset goes through
each tripped breaker's own endpoint (:func:`hybrid.risk.breaker_endpoint`), as an operator's reset would.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Self

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, model_validator

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import Conflict, FieldErrors
from hybrid.api.operations import NoParams, Params, call, operation
from hybrid.api.schemas import RiskState, StressGrid
from hybrid.calendar.exchange_time import new_york_date

router = APIRouter(prefix="/risk", tags=["risk"])

MAX_POINTS = 201  # moves or vol shifts on one axis


class RiskReset(BaseModel):
    reset: list[str] = Field(description="the strategies whose breaker was reset")
    risk: RiskState


class StressParams(Params):
    """A grid of ``moves`` underlying moves from ``move_min`` to ``move_max`` (fractions of spot) by ``shifts``
    implied-vol shifts from ``shift_min`` to ``shift_max`` (vol points), now or at the close of ``at``."""

    move_min: float = Field(default=-0.2, ge=-0.95, le=5)
    move_max: float = Field(default=0.2, ge=-0.95, le=5)
    moves: int = Field(default=41, ge=1, le=MAX_POINTS)
    shift_min: float = Field(default=-10.0, ge=-100, le=100)
    shift_max: float = Field(default=10.0, ge=-100, le=100)
    shifts: int = Field(default=21, ge=1, le=MAX_POINTS)
    at: dt.date | None = Field(default=None, description="the horizon date (New York); none: now")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.move_min > self.move_max:
            raise ValueError(f"move_min {self.move_min} must be <= move_max {self.move_max}")
        if self.shift_min > self.shift_max:
            raise ValueError(f"shift_min {self.shift_min} must be <= shift_max {self.shift_max}")
        return self


@operation("risk.get", "viewer")
async def get_risk(context: ApiContext, who: Principal, params: NoParams) -> RiskState:
    """Every pre-trade limit with its usage, the trading state, the breakers and the latest refusals."""
    return context.view.risk()


@operation("risk.reset", "admin")
async def reset(context: ApiContext, who: Principal, params: NoParams) -> RiskReset:
    """Reset every tripped circuit breaker (admin); 409 when none is tripped."""
    done = context.view.reset_breakers(f"{who.name} (API)")
    if not done:
        raise Conflict("no circuit breaker is tripped: nothing to reset")
    return RiskReset(reset=done, risk=context.view.risk())


@operation("risk.stress", "viewer", StressParams)
async def stress(context: ApiContext, who: Principal, params: StressParams) -> StressGrid:
    """P&L of the book and each open group under a grid of underlying moves and implied-vol shifts."""
    today = new_york_date(context.view.now())
    if params.at is not None and params.at < today:
        raise FieldErrors.one(("at",), f"must be today ({today}) or later", str(params.at), "date_in_past")
    moves = np.linspace(params.move_min, params.move_max, params.moves).round(6).tolist()
    shifts = np.linspace(params.shift_min, params.shift_max, params.shifts).round(6).tolist()
    return context.view.stress(moves, shifts, params.at)


@router.get("", summary=get_risk.summary)
async def get_risk_route(request: Request, who: Principal = Depends(get_risk.guard)) -> RiskState:
    return await call(get_risk, request, who, NoParams())


@router.post("/reset", summary=reset.summary, responses={409: {"description": "no breaker is tripped"}})
async def post_reset(request: Request, who: Principal = Depends(reset.guard)) -> RiskReset:
    return await call(reset, request, who, NoParams())


@router.get("/stress", summary=stress.summary, responses={422: {"description": "invalid grid or date"}})
async def get_stress(
    request: Request, query: Annotated[StressParams, Query()], who: Principal = Depends(stress.guard)
) -> StressGrid:
    return await call(stress, request, who, query, "query")
