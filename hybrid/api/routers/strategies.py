"""The strategy catalogue: every structure with its parameters and rules, and the legs of one unit."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field, ValidationError

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import FieldErrors, NotFound, Responses
from hybrid.api.operations import Params, call, operation
from hybrid.options import catalogue
from hybrid.options.catalogue.structure import StrategyDef
from hybrid.options.legs import Leg
from hybrid.orders.structures import MAX_OPTION_LEGS, CatalogueStructure, PositiveStrike

router = APIRouter(prefix="/strategies", tags=["strategies"])

StrategyName = Annotated[str, Field(min_length=1, max_length=64, examples=["iron_condor"])]
NamePath = Annotated[str, Path(min_length=1, max_length=64, examples=["iron_condor"])]
UNKNOWN_NAME: Responses = {404: {"description": "unknown name"}}


class StrategyInfo(BaseModel):
    """A catalogue structure as ``python -m hybrid strategies list --json`` prints it."""

    name: str
    aliases: list[str]
    display_name: str
    description: str
    category: str
    net: Literal["credit", "debit", "even"]
    direction: Literal["bullish", "bearish", "neutral"]
    volatility: Literal["long", "short", "neutral"]
    origin: Literal["lean", "beyond_lean"]
    parameters: list[str]
    strikes: list[str]
    expiries: list[str]
    n_strikes: int
    n_expiries: int
    legs: list[str] = Field(description="leg templates: C(strike)[@expiry]+-n, P(...)+-n, U+-M")
    rules: list[str]
    negation_of: str | None


class StrategyFilter(Params):
    category: str | None = Field(default=None, max_length=32, examples=["vertical"])
    net: Literal["credit", "debit", "even"] | None = None
    direction: Literal["bullish", "bearish", "neutral"] | None = None
    volatility: Literal["long", "short", "neutral"] | None = None


class StrategyRef(Params):
    name: StrategyName


class BuildRequest(Params):
    """Strikes and expiries in the strategy's parameter order (see ``parameters``)."""

    strikes: list[PositiveStrike] = Field(min_length=1, max_length=8, examples=[[430, 440, 460, 470]])
    expiries: list[dt.date] = Field(min_length=1, max_length=4, examples=[["2024-02-16"]])
    multiplier: int = Field(default=100, ge=1, le=10_000, description="shares per contract (underlying legs)")


class BuildParams(BuildRequest):
    name: StrategyName


class BuiltStrategy(BaseModel):
    strategy: str = Field(description="the catalogue's canonical name (aliases are resolved)")
    legs: list[Leg]


class LegsToRecognise(Params):
    """Legs in any quantities (a multiple of a structure's ratios is that many units of it)."""

    legs: list[Leg] = Field(min_length=1, max_length=MAX_OPTION_LEGS + 1)


class Recognised(BaseModel):
    """The catalogue structure a set of legs forms, if any (``null`` fields when none)."""

    strategy: str | None = Field(description="canonical name, or null when the legs form no catalogue structure")
    display_name: str | None
    strikes: list[float] = Field(description="in the strategy's parameter order")
    expiries: list[dt.date]
    units: int = Field(description="how many units of it the legs are (quantities / the structure's ratios)")


def _leg_key(legs: list[Leg], scale: int = 1) -> list[tuple]:
    return sorted((leg.kind, leg.strike, leg.expiry, leg.quantity * scale) for leg in legs)


def recognise(legs: list[Leg]) -> Recognised:
    """The first catalogue structure whose legs, for some strikes and expiries drawn from ``legs``, are
    ``legs`` up to a common unit count; tried in catalogue order with every assignment of the distinct
    strikes and expiries to the structure's parameters (at most 4! each)."""
    strikes = sorted({leg.strike for leg in legs if leg.strike is not None})
    expiries = sorted({leg.expiry for leg in legs if leg.expiry is not None})
    units = math.gcd(*(leg.quantity for leg in legs))
    unit_legs = [Leg(leg.kind, leg.strike, leg.expiry, leg.quantity // units) for leg in legs]
    wanted = _leg_key(unit_legs)
    multiplier = next((abs(leg.quantity) for leg in unit_legs if not leg.is_option), 100)
    for strategy in catalogue.STRATEGIES.values():
        if strategy.n_strikes != len(strikes) or strategy.n_expiries != len(expiries):
            continue
        for strike_order in itertools.permutations(strikes):
            for expiry_order in itertools.permutations(expiries):
                try:
                    built = strategy.build(list(strike_order), list(expiry_order), multiplier)
                except catalogue.StrategyError:
                    continue
                if _leg_key(built) == wanted:
                    return Recognised(
                        strategy=strategy.name,
                        display_name=strategy.about.display_name,
                        strikes=list(strike_order),
                        expiries=list(expiry_order),
                        units=units,
                    )
    return Recognised(strategy=None, display_name=None, strikes=[], expiries=[], units=units)


def _info(strategy: StrategyDef) -> StrategyInfo:
    return StrategyInfo(**strategy.to_dict(), aliases=catalogue.aliases_of(strategy.name))


def _strategy(name: str) -> StrategyDef:
    try:
        return catalogue.get_strategy(name)
    except catalogue.StrategyError as exc:
        raise NotFound(str(exc)) from None


@operation("strategies.list", "viewer", StrategyFilter)
async def list_strategies(context: ApiContext, who: Principal, params: StrategyFilter) -> list[StrategyInfo]:
    """Every catalogue structure, optionally filtered by category, net, direction and volatility."""
    wanted = params.model_dump(exclude_none=True)
    return [
        _info(strategy)
        for strategy in catalogue.STRATEGIES.values()
        if all(getattr(strategy.about, key) == value for key, value in wanted.items())
    ]


@operation("strategies.get", "viewer", StrategyRef)
async def get_strategy(context: ApiContext, who: Principal, params: StrategyRef) -> StrategyInfo:
    """One structure by name, alias or LEAN name; an unknown name lists close matches."""
    return _info(_strategy(params.name))


@operation("strategies.build", "viewer", BuildParams)
async def build_strategy(context: ApiContext, who: Principal, params: BuildParams) -> BuiltStrategy:
    """The legs of one unit; a broken catalogue rule is a field error on strikes or expiries."""
    strategy = _strategy(params.name)
    try:
        CatalogueStructure(strategy=strategy.name, strikes=params.strikes, expiries=params.expiries)
    except ValidationError as exc:
        raise FieldErrors.from_validation(exc) from None
    legs = strategy.build(params.strikes, params.expiries, params.multiplier)
    return BuiltStrategy(strategy=strategy.name, legs=legs)


@operation("strategies.recognise", "viewer", LegsToRecognise)
async def recognise_legs(context: ApiContext, who: Principal, params: LegsToRecognise) -> Recognised:
    """The catalogue structure custom legs form (name, strikes, expiries, units), or none."""
    return recognise(params.legs)


@router.get("", summary=list_strategies.summary)
async def get_strategies(
    request: Request,
    params: Annotated[StrategyFilter, Query()],
    who: Principal = Depends(list_strategies.guard),
) -> list[StrategyInfo]:
    return await call(list_strategies, request, who, params, "query")


@router.post("/recognise", summary=recognise_legs.summary)
async def post_recognise(
    request: Request, body: LegsToRecognise, who: Principal = Depends(recognise_legs.guard)
) -> Recognised:
    return await call(recognise_legs, request, who, body)


@router.get("/{name}", summary=get_strategy.summary, responses=UNKNOWN_NAME)
async def get_one_strategy(
    request: Request, name: NamePath, who: Principal = Depends(get_strategy.guard)
) -> StrategyInfo:
    return await call(get_strategy, request, who, StrategyRef(name=name))


@router.post(
    "/{name}/build",
    summary=build_strategy.summary,
    responses={**UNKNOWN_NAME, 422: {"description": "a catalogue rule is broken"}},
)
async def post_build(
    request: Request,
    name: NamePath,
    body: BuildRequest,
    who: Principal = Depends(build_strategy.guard),
) -> BuiltStrategy:
    return await call(build_strategy, request, who, BuildParams(name=name, **body.model_dump()))
