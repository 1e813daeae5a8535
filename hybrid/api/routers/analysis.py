"""Analyse a structure on the live chain (the CLI's ``strategies analyze`` with the engine's quotes), and
preview an order: the same validation as a submission, its market and its analysis, nothing queued."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import Conflict, FieldErrors
from hybrid.api.fields import Underlying
from hybrid.api.operations import Params, call, operation
from hybrid.api.schemas import Greeks, OptionQuote, Quote
from hybrid.api.validation import check_open
from hybrid.options.analytics import DEFAULT_POINTS, analyze
from hybrid.options.legs import Leg
from hybrid.orders.intents import LimitExecution, MarketExecution, OpenIntent, Side, TwoPartExecution
from hybrid.orders.structures import CatalogueStructure, CustomLegs, RuleStructure
from hybrid.valuation.marks import LegQuote, net_premium

router = APIRouter(prefix="/analysis", tags=["analysis"])

PriceAt = Literal["mid", "bid", "ask", "natural"]


class AnalysisRequest(Params):
    """A structure to analyse per one unit; legs are priced from the engine's quotes.

    ``price_at``: each leg at its ``mid``, ``bid`` or ``ask``, or ``natural`` (longs at the ask,
    shorts at the bid: what crossing the market costs). ``vol`` drives legs without an implied vol
    and the probability of profit; by default the at-the-money implied vol of the first expiry.
    """

    underlying: Underlying
    structure: Annotated[CatalogueStructure | CustomLegs, Field(discriminator="type")]
    side: Side = "buy"
    price_at: PriceAt = "mid"
    vol: float | None = Field(default=None, gt=0, le=5, description="e.g. 0.2 for 20%")
    points: int = Field(default=DEFAULT_POINTS, ge=11, le=2001, description="prices on the payoff curves")


class Payoff(BaseModel):
    price: list[float]
    expiry_pnl: list[float]
    today_pnl: list[float]


class Figures(BaseModel):
    """The analytics' result in dollars per unit (see hybrid.options.analytics)."""

    net_premium: float = Field(description="> 0 a debit paid, < 0 a credit received")
    max_profit: float | None = Field(description="null when unbounded")
    max_loss: float | None = Field(description="negative; null when unbounded")
    breakevens: list[float]
    probability_of_profit: float
    greeks: Greeks = Field(description="share-equivalent Greeks of one unit")
    payoff: Payoff


class PricedLeg(BaseModel):
    leg: Leg = Field(description="the leg of one unit with the price and implied vol it was analysed at")
    quote: OptionQuote | Quote = Field(description="the leg's market (the underlying's quote for an underlying leg)")


class Market(BaseModel):
    """Net premium of one unit in dollars at each side of its market (> 0 debit)."""

    bid: float = Field(description="what selling one unit fetches")
    mid: float
    ask: float = Field(description="what buying one unit costs, crossing every leg")


class Analysis(BaseModel):
    underlying: str
    as_of: dt.datetime = Field(description="the engine clock")
    spot: float
    vol: float
    rate: float
    dividend: float
    price_at: PriceAt
    multiplier: int
    legs: list[PricedLeg]
    market: Market
    figures: Figures


class Preview(BaseModel):
    """What a submission of ``intent`` would trade, at today's market; nothing is queued."""

    intent: OpenIntent
    units: int
    market_per_unit: Market
    market_total: Market = Field(description="market_per_unit x units")
    limit_vs_mid: float | None = Field(
        description="limit price (per share) minus the structure's mid per share, for a limit execution"
    )
    analysis: Analysis = Field(description="one unit, priced at mid")


def _leg_price(leg: Leg, quote: Quote, bid: float, ask: float, price_at: PriceAt) -> float:
    if price_at == "natural":
        return ask if leg.quantity > 0 else bid
    return getattr(quote, price_at)


def _atm_vol(context: ApiContext, underlying: str, expiry: dt.date, spot: float) -> float | None:
    vols = [(q.strike, q.iv) for q in context.view.option_quotes(underlying, expiry) if q.iv is not None]
    if not vols:
        return None
    nearest = min(abs(strike - spot) for strike, _ in vols)
    return statistics.fmean(iv for strike, iv in vols if abs(strike - spot) == nearest)


def _describe(leg: Leg) -> str:
    return "the underlying" if not leg.is_option else f"{leg.kind} {leg.strike:g} {leg.expiry}"


def analyse_legs(
    context: ApiContext, underlying: str, legs: list[Leg], price_at: PriceAt, vol: float | None, points: int
) -> Analysis:
    """Price ``legs`` (one unit, listed) from the engine's quotes and run the analytics on them."""
    view = context.view
    quotes: list[Quote] = []
    sides: list[tuple[float, float]] = []
    for leg, quote in zip(legs, view.leg_quotes(underlying, legs)):
        if (
            quote is None or quote.mid is None or quote.bid is None or quote.ask is None
        ):  # no mark: a side missing, no offer or crossed
            raise Conflict(f"no two-sided quote for {_describe(leg)} on {underlying} yet; try again when it trades")
        quotes.append(quote)
        sides.append((quote.bid, quote.ask))
    spot_quote = view.underlying_quote(underlying)
    if spot_quote is None or spot_quote.mid is None:
        raise Conflict(f"no quote for the underlying {underlying} yet; try again when it trades")
    spot = spot_quote.mid
    first_expiry = min(leg.expiry for leg in legs if leg.expiry is not None)
    vol = vol or _atm_vol(context, underlying, first_expiry, spot)
    if vol is None:
        raise FieldErrors.one(("vol",), f"no at-the-money implied vol for {first_expiry}: give vol", None, "missing")
    priced = [
        replace(
            leg,
            price=_leg_price(leg, quote, bid, ask, price_at),
            iv=quote.iv if isinstance(quote, OptionQuote) else None,
        )
        for leg, quote, (bid, ask) in zip(legs, quotes, sides)
    ]
    multiplier = int(next(q.multiplier for q in quotes if isinstance(q, OptionQuote)))
    market = net_premium(legs, [LegQuote(bid, ask) for bid, ask in sides], multiplier)
    try:
        result = analyze(
            priced,
            spot=spot,
            vol=vol,
            rate=view.rate,
            dividend=view.dividend,
            as_of=view.now(),
            multiplier=multiplier,
            points=points,
        )
    except ValueError as exc:
        raise FieldErrors.one(("structure",), str(exc), None, "not_analysable") from None
    return Analysis(
        underlying=underlying,
        as_of=view.now(),
        spot=spot,
        vol=vol,
        rate=view.rate,
        dividend=view.dividend,
        price_at=price_at,
        multiplier=multiplier,
        legs=[PricedLeg(leg=leg, quote=quote) for leg, quote in zip(priced, quotes)],
        market=Market(bid=market.bid, mid=market.mid, ask=market.ask),
        figures=Figures(**result.to_dict()),
    )


@operation("analysis.analyze", "viewer", AnalysisRequest)
async def analyse(context: ApiContext, who: Principal, params: AnalysisRequest) -> Analysis:
    """Payoff, max profit and loss, breakevens, probability of profit and Greeks of one unit at live quotes."""
    intent = OpenIntent(
        underlying=params.underlying, structure=params.structure, side=params.side, units=1, execution=MarketExecution()
    )
    check_open(context, intent, prefix=())
    return analyse_legs(context, params.underlying, intent.unit_legs(), params.price_at, params.vol, params.points)


@operation("analysis.preview", "viewer", OpenIntent)
async def preview(context: ApiContext, who: Principal, intent: OpenIntent) -> Preview:
    """Validate an open order as a submission would and show its market and analysis; nothing is queued."""
    if isinstance(intent.structure, RuleStructure):
        message = "a rules structure is resolved when the order executes: preview a catalogue or legs structure"
        raise FieldErrors.one(("structure",), message, "rules", "not_previewable")
    check_open(context, intent, prefix=())
    analysis = analyse_legs(context, intent.underlying, intent.unit_legs(), "mid", None, DEFAULT_POINTS)
    per_unit = analysis.market
    limit = intent.execution.price if isinstance(intent.execution, LimitExecution) else None
    if isinstance(intent.execution, TwoPartExecution):
        limit = intent.execution.limit_price
    units = intent.units
    return Preview(
        intent=intent,
        units=units,
        market_per_unit=per_unit,
        market_total=Market(bid=per_unit.bid * units, mid=per_unit.mid * units, ask=per_unit.ask * units),
        limit_vs_mid=None if limit is None else limit - per_unit.mid / analysis.multiplier,
        analysis=analysis,
    )


@router.post(
    "",
    summary=analyse.summary,
    responses={409: {"description": "no quote yet"}, 422: {"description": "invalid, or a contract is not listed"}},
)
async def post_analysis(request: Request, body: AnalysisRequest, who: Principal = Depends(analyse.guard)) -> Analysis:
    return await call(analyse, request, who, body)


@router.post(
    "/preview",
    summary=preview.summary,
    responses={409: {"description": "no quote yet"}, 422: {"description": "invalid, or a contract is not listed"}},
)
async def post_preview(request: Request, body: OpenIntent, who: Principal = Depends(preview.guard)) -> Preview:
    return await call(preview, request, who, body)
