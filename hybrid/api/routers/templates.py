"""Recurring order templates: create, read, update, enable, disable and delete, with their upcoming runs.

A template's order is checked against the chain like a submission when it names concrete contracts
(a catalogue structure with strikes and expiries, or custom legs); strike rules are resolved at each run.
Upcoming runs are the schedule's next fire times on the NYSE calendar after the engine clock's now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import NotFound, Responses
from hybrid.api.fields import Limit, TemplateId
from hybrid.api.operations import Params, call, operation
from hybrid.api.validation import check_open
from hybrid.management.schedules import next_fire_times
from hybrid.management.template_store import RunRecord, StoredTemplate, TemplateNotFound
from hybrid.management.templates import RecurringTemplate

router = APIRouter(prefix="/templates", tags=["templates"])

TemplateIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
Upcoming = Annotated[int, Field(ge=0, le=50, description="how many upcoming runs to list")]
UPCOMING = 5  # upcoming runs shown by default for one template
UNKNOWN_TEMPLATE: Responses = {404: {"description": "unknown template"}}


class Template(BaseModel):
    template_id: int
    template: RecurringTemplate
    created_at: dt.datetime
    updated_at: dt.datetime
    next_runs: list[dt.datetime] = Field(
        description="upcoming fire times (UTC), whether or not the template is enabled"
    )


class TemplateQuery(Params):
    enabled: bool | None = None
    upcoming: Upcoming = 3


class UpcomingQuery(Params):
    upcoming: Upcoming = UPCOMING


class TemplateRef(UpcomingQuery):
    template_id: TemplateId


class TemplateUpdate(RecurringTemplate):
    """A template's new definition, and which template it replaces."""

    template_id: TemplateId


class RunsParams(Params):
    template_id: TemplateId
    limit: Limit = 100


class Deleted(BaseModel):
    template_id: int
    deleted: bool = True


def _view(context: ApiContext, stored: StoredTemplate, upcoming: int) -> Template:
    runs = next_fire_times(stored.template, context.view.now(), upcoming) if upcoming else []
    return Template(
        template_id=stored.template_id,
        template=stored.template,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        next_runs=runs,
    )


def _checked(context: ApiContext, template: RecurringTemplate) -> RecurringTemplate:
    check_open(context, template.order, prefix=("order",))
    return template


async def _change[T](context: ApiContext, work: Callable[..., T], *args: object) -> T:
    """Run a template store change off the loop; an unknown template id is a 404."""
    try:
        return await context.off_loop(work, *args)
    except TemplateNotFound as exc:
        raise NotFound(exc.args[0]) from None


@operation("templates.list", "viewer", TemplateQuery)
async def list_templates(context: ApiContext, who: Principal, params: TemplateQuery) -> list[Template]:
    """Every template (or the enabled or disabled ones) with its next runs."""
    return [_view(context, stored, params.upcoming) for stored in context.templates.templates(params.enabled)]


@operation("templates.get", "viewer", TemplateRef)
async def get_template(context: ApiContext, who: Principal, params: TemplateRef) -> Template:
    """One template with its next runs."""
    try:
        stored = context.templates.get(params.template_id)
    except TemplateNotFound as exc:
        raise NotFound(exc.args[0]) from None
    return _view(context, stored, params.upcoming)


@operation("templates.create", "admin", RecurringTemplate)
async def create_template(context: ApiContext, who: Principal, template: RecurringTemplate) -> Template:
    """Create a template; its order is checked against the chain when it names contracts."""
    stored = await _change(context, context.templates.create, _checked(context, template), context.view.now())
    return _view(context, stored, UPCOMING)


@operation("templates.update", "admin", TemplateUpdate)
async def update_template(context: ApiContext, who: Principal, params: TemplateUpdate) -> Template:
    """Replace a template's definition."""
    template = _checked(context, RecurringTemplate.model_validate(params.model_dump(exclude={"template_id"})))
    stored = await _change(context, context.templates.update, params.template_id, template, context.view.now())
    return _view(context, stored, UPCOMING)


@operation("templates.enable", "admin", TemplateRef)
async def enable_template(context: ApiContext, who: Principal, params: TemplateRef) -> Template:
    """Switch a template on; its runs start from now (the disabled period is not caught up)."""
    stored = await _change(context, context.templates.set_enabled, params.template_id, True, context.view.now())
    return _view(context, stored, params.upcoming)


@operation("templates.disable", "admin", TemplateRef)
async def disable_template(context: ApiContext, who: Principal, params: TemplateRef) -> Template:
    """Switch a template off without deleting it."""
    stored = await _change(context, context.templates.set_enabled, params.template_id, False, context.view.now())
    return _view(context, stored, params.upcoming)


@operation("templates.delete", "admin", TemplateRef)
async def delete_template(context: ApiContext, who: Principal, params: TemplateRef) -> Deleted:
    """Delete a template and its runs (the action log keeps its history)."""
    await _change(context, context.templates.delete, params.template_id, context.view.now())
    return Deleted(template_id=params.template_id)


@operation("templates.runs", "viewer", RunsParams)
async def template_runs(context: ApiContext, who: Principal, params: RunsParams) -> list[RunRecord]:
    """The template's latest recorded runs (fired, skipped with the reason, or claimed), oldest first."""
    try:
        context.templates.get(params.template_id)
    except TemplateNotFound as exc:
        raise NotFound(exc.args[0]) from None
    return context.templates.runs(params.template_id)[-params.limit :]


@router.get("", summary=list_templates.summary)
async def get_templates(
    request: Request, query: Annotated[TemplateQuery, Query()], who: Principal = Depends(list_templates.guard)
) -> list[Template]:
    return await call(list_templates, request, who, query, "query")


@router.post("", status_code=status.HTTP_201_CREATED, summary=create_template.summary)
async def post_template(
    request: Request, response: Response, body: RecurringTemplate, who: Principal = Depends(create_template.guard)
) -> Template:
    created = await call(create_template, request, who, body)
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{created.template_id}"
    return created


@router.get("/{template_id}", summary=get_template.summary, responses=UNKNOWN_TEMPLATE)
async def get_one_template(
    request: Request,
    template_id: TemplateIdPath,
    query: Annotated[UpcomingQuery, Query()],
    who: Principal = Depends(get_template.guard),
) -> Template:
    return await call(get_template, request, who, TemplateRef(template_id=template_id, upcoming=query.upcoming))


@router.put("/{template_id}", summary=update_template.summary, responses=UNKNOWN_TEMPLATE)
async def put_template(
    request: Request,
    template_id: TemplateIdPath,
    body: RecurringTemplate,
    who: Principal = Depends(update_template.guard),
) -> Template:
    params = TemplateUpdate.model_validate({**body.model_dump(), "template_id": template_id})
    return await call(update_template, request, who, params)


@router.post("/{template_id}/enable", summary=enable_template.summary, responses=UNKNOWN_TEMPLATE)
async def post_enable(
    request: Request, template_id: TemplateIdPath, who: Principal = Depends(enable_template.guard)
) -> Template:
    return await call(enable_template, request, who, TemplateRef(template_id=template_id))


@router.post("/{template_id}/disable", summary=disable_template.summary, responses=UNKNOWN_TEMPLATE)
async def post_disable(
    request: Request, template_id: TemplateIdPath, who: Principal = Depends(disable_template.guard)
) -> Template:
    return await call(disable_template, request, who, TemplateRef(template_id=template_id))


@router.delete(
    "/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary=delete_template.summary,
    responses=UNKNOWN_TEMPLATE,
)
async def delete_one_template(
    request: Request, template_id: TemplateIdPath, who: Principal = Depends(delete_template.guard)
) -> None:
    await call(delete_template, request, who, TemplateRef(template_id=template_id))


@router.get("/{template_id}/runs", summary=template_runs.summary, responses=UNKNOWN_TEMPLATE)
async def get_runs(
    request: Request,
    template_id: TemplateIdPath,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    who: Principal = Depends(template_runs.guard),
) -> list[RunRecord]:
    return await call(template_runs, request, who, RunsParams(template_id=template_id, limit=limit), "query")
