"""Saved custom leg sets for the UI's leg builder: list, save (by name, replacing) and delete.

Recurring templates (``/templates``) do not fit: they must have a schedule and an order to fire, while a
saved leg set is only a structure to load back. See :mod:`hybrid.api.leg_templates`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import NotFound, Responses
from hybrid.api.fields import TemplateId
from hybrid.api.leg_templates import LegTemplate, LegTemplateIn, LegTemplateNotFound
from hybrid.api.operations import NoParams, Params, call, operation

router = APIRouter(prefix="/leg-templates", tags=["leg_templates"])

UNKNOWN: Responses = {404: {"description": "unknown leg template"}}


class LegTemplateRef(Params):
    leg_template_id: TemplateId


@operation("leg_templates.list", "viewer")
async def list_leg_templates(context: ApiContext, who: Principal, params: NoParams) -> list[LegTemplate]:
    """Every saved leg set, by name."""
    return context.leg_templates.templates()


@operation("leg_templates.save", "trader", LegTemplateIn)
async def save_leg_template(context: ApiContext, who: Principal, params: LegTemplateIn) -> LegTemplate:
    """Save a leg set under its name; a used name is replaced."""
    return await context.off_loop(context.leg_templates.save, params, context.view.now())


@operation("leg_templates.delete", "trader", LegTemplateRef)
async def delete_leg_template(context: ApiContext, who: Principal, params: LegTemplateRef) -> None:
    """Delete a saved leg set."""
    try:
        await context.off_loop(context.leg_templates.delete, params.leg_template_id)
    except LegTemplateNotFound as exc:
        raise NotFound(exc.args[0]) from None


@router.get("", summary=list_leg_templates.summary)
async def get_leg_templates(request: Request, who: Principal = Depends(list_leg_templates.guard)) -> list[LegTemplate]:
    return await call(list_leg_templates, request, who, NoParams())


@router.post("", status_code=status.HTTP_201_CREATED, summary=save_leg_template.summary)
async def post_leg_template(
    request: Request, body: LegTemplateIn, who: Principal = Depends(save_leg_template.guard)
) -> LegTemplate:
    return await call(save_leg_template, request, who, body)


@router.delete(
    "/{leg_template_id}", status_code=status.HTTP_204_NO_CONTENT, summary=delete_leg_template.summary, responses=UNKNOWN
)
async def delete_one_leg_template(
    request: Request,
    leg_template_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    who: Principal = Depends(delete_leg_template.guard),
) -> Response:
    await call(delete_leg_template, request, who, LegTemplateRef(leg_template_id=leg_template_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
