"""Backtest reports, read from their folders (see :mod:`hybrid.api.reports`): the list with headline figures,
and one report's equity curve, groups, fill rates and bot actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import NotFound, Responses
from hybrid.api.operations import NoParams, Params, call, operation
from hybrid.api.reports import read_summary, read_table, report_folders

router = APIRouter(prefix="/reports", tags=["reports"])

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
UNKNOWN: Responses = {404: {"description": "unknown report"}}


class ReportInfo(BaseModel):
    """A report folder and its headline figures (from summary.json)."""

    name: str = Field(description="the folder's name")
    config_file: str | None
    start: str | None
    end: str | None
    groups: int | None
    total_pnl: float | None = Field(description="ending equity at mid less the starting balance, USD")
    win_rate: float | None
    max_drawdown: float | None
    sharpe: float | None
    all_groups_balanced: bool | None


class Table(BaseModel):
    rows: list[dict[str, str]] = Field(description="the CSV's rows as text, column name to value")
    truncated: bool = Field(description="the file has more rows than were sent")


class Report(BaseModel):
    info: ReportInfo
    summary: dict[str, Any] = Field(description="summary.json as written (groups, statistics, counts, actions)")
    equity: Table = Field(description="equity.csv: ts_ns, equity")
    fill_rates: Table
    actions: Table


class ReportRef(Params):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]


def _info(name: str, summary: dict[str, Any]) -> ReportInfo:
    stats = summary.get("statistics") or {}
    return ReportInfo(
        name=name,
        config_file=summary.get("config_file"),
        start=summary.get("start"),
        end=summary.get("end"),
        groups=(summary.get("counts") or {}).get("groups"),
        total_pnl=(stats.get("pnl") or {}).get("total"),
        win_rate=(stats.get("groups") or {}).get("win_rate"),
        max_drawdown=(stats.get("equity") or {}).get("max_drawdown"),
        sharpe=(stats.get("equity") or {}).get("sharpe"),
        all_groups_balanced=summary.get("all_groups_balanced"),
    )


@operation("reports.list", "viewer")
async def list_reports(context: ApiContext, who: Principal, params: NoParams) -> list[ReportInfo]:
    """The report folders with their headline figures, newest last."""
    return [_info(folder.name, read_summary(folder)) for folder in report_folders(context.reports)]


@operation("reports.get", "viewer", ReportRef)
async def get_report(context: ApiContext, who: Principal, params: ReportRef) -> Report:
    """One report: summary, equity curve, fill rates and bot actions, read from its files."""
    folder = context.reports / params.name
    if not (folder / "summary.json").is_file():
        raise NotFound(f"no report {params.name!r} under the reports folder")
    summary = read_summary(folder)
    tables = {
        name: Table(rows=rows, truncated=cut)
        for name in ("equity", "fill_rates", "actions")
        for rows, cut in [read_table(folder / f"{name}.csv")]
    }
    return Report(info=_info(params.name, summary), summary=summary, **tables)


@router.get("", summary=list_reports.summary)
async def get_reports(request: Request, who: Principal = Depends(list_reports.guard)) -> list[ReportInfo]:
    return await call(list_reports, request, who, NoParams())


@router.get("/{name}", summary=get_report.summary, responses=UNKNOWN)
async def get_one_report(
    request: Request, name: Annotated[str, Path(pattern=NAME_PATTERN)], who: Principal = Depends(get_report.guard)
) -> Report:
    return await call(get_report, request, who, ReportRef(name=name))
