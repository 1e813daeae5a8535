"""Fill-rate statistics of the two-part execution algorithm, grouped as asked (see hybrid.execution.fill_stats)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import NotFound
from hybrid.api.operations import Params, call, operation
from hybrid.execution.fill_stats import TABLE_KEYS, TABLE_METRICS

router = APIRouter(prefix="/fill-stats", tags=["fill_stats"])

# what a table can be grouped by: the attempt's descriptive columns, not its measurements
Key = Literal[
    "scope", "run_id", "underlying", "mode", "part", "kind", "ladder_steps", "step", "leg", "instrument_id", "side"
]


class FillStatsQuery(Params):
    scope: str | None = Field(default=None, min_length=1, max_length=64, description="e.g. live or backtest")
    run_id: str | None = Field(default=None, min_length=1, max_length=128)
    by: list[Key] = Field(default=cast(list[Key], list(TABLE_KEYS)), min_length=1, max_length=10)  # columns, so keys


class FillStatsRow(BaseModel):
    """One group of child order attempts: its keys and how they filled."""

    keys: dict[str, str | int | float | None]
    attempts: int
    fills: int = Field(description="attempts with any fill")
    fill_rate: float
    quantity: float
    filled: float
    filled_ratio: float | None
    avg_slippage: float | None = Field(description="per share against the mid at submission, positive = worse")
    avg_time_to_fill_s: float | None


def _value(value: Any) -> Any:  # a pandas record value
    return None if isinstance(value, float) and math.isnan(value) else value


@operation("fill_stats.table", "viewer", FillStatsQuery)
async def fill_stats_table(context: ApiContext, who: Principal, params: FillStatsQuery) -> list[FillStatsRow]:
    """Fill rate, filled ratio, slippage and time to fill, grouped by the keys in ``by``."""
    if context.fill_stats is None:
        raise NotFound("fill-rate statistics are not configured on this node")
    by = tuple(dict.fromkeys(params.by))
    table = await context.off_loop(context.fill_stats.table, params.run_id, params.scope, by)
    return [
        FillStatsRow(keys={key: _value(row[key]) for key in by}, **{name: _value(row[name]) for name in TABLE_METRICS})
        for row in table.to_dict("records")
    ]


@router.get("", summary=fill_stats_table.summary, responses={404: {"description": "not configured"}})
async def get_fill_stats(
    request: Request, query: Annotated[FillStatsQuery, Query()], who: Principal = Depends(fill_stats_table.guard)
) -> list[FillStatsRow]:
    return await call(fill_stats_table, request, who, query, "query")
