"""The option chain as the engine holds it: underlyings, expiries, strikes, and quotes with IV and Greeks.

The strikes list every listed contract of an expiry and right, each with whether the engine trades it now
(:func:`hybrid.trading.market.untradeable`: active, quoted on both sides): an order on one it would not
trade is refused at submit and by the preview alike, with that reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import FieldErrors, NotFound
from hybrid.api.fields import UNDERLYING_PATTERN, Underlying
from hybrid.api.operations import NoParams, Params, call, operation
from hybrid.api.schemas import ExpiryInfo, OptionQuote, Quote
from hybrid.api.validation import listing_error
from hybrid.calendar.exchange_time import new_york_date
from hybrid.options.chain import ChainError, OptionChain, Right

router = APIRouter(prefix="/chain", tags=["chain"])

UnderlyingPath = Annotated[str, Path(pattern=UNDERLYING_PATTERN, examples=["SPY"])]


class UnderlyingInfo(BaseModel):
    underlying: str
    expiries: int
    quote: Quote | None


class ChainRef(Params):
    underlying: Underlying


class ExpiryFilter(Params):
    expiry: dt.date | None = Field(default=None, description="only this expiry (must be listed)")
    right: Right | None = None


class StrikesQuery(Params):
    expiry: dt.date
    right: Right


class ChainQuery(ChainRef, ExpiryFilter):
    pass


class StrikesParams(ChainRef, StrikesQuery):
    pass


class ListedContract(BaseModel):
    """One listed contract and whether the engine would trade it now."""

    strike: float
    instrument_id: str
    quoted: bool = Field(description="active and quoted on both sides now: the engine trades it")
    reason: str | None = Field(description="why the engine would not trade it now; null when quoted")


class Strikes(BaseModel):
    underlying: str
    expiry: dt.date
    right: Right
    strikes: list[float]
    contracts: list[ListedContract] = Field(description="per strike, in the same order: quoted now or why not")


class ChainQuotes(BaseModel):
    """Quotes of listed contracts, with the inputs their IVs and Greeks were computed from."""

    underlying: str
    as_of: dt.datetime = Field(description="the engine clock: the valuation instant")
    rate: float
    dividend: float
    spot: Quote | None
    quotes: list[OptionQuote]


def listed_chain(context: ApiContext, underlying: str) -> OptionChain:
    """The chain of ``underlying``; :class:`NotFound` naming the loaded ones when there is none."""
    chain = context.view.chain(underlying)
    if chain is None:
        loaded = ", ".join(context.view.underlyings()) or "none"
        raise NotFound(f"no option chain is loaded for {underlying}; loaded: {loaded}")
    return chain


def check_expiry(chain: OptionChain, expiry: dt.date, right: Right | None) -> None:
    """A field error naming the nearest listed expiries (or the right not listed) unless it is listed."""
    message = listing_error(chain, expiry, right)
    if message is not None:
        field = "expiry" if expiry not in chain.expiries else "right"
        raise FieldErrors.one((field,), message, str(expiry) if field == "expiry" else right, "not_listed")


@operation("chain.underlyings", "viewer")
async def list_underlyings(context: ApiContext, who: Principal, params: NoParams) -> list[UnderlyingInfo]:
    """Underlyings with listed options, their number of expiries and the underlying's quote."""
    view = context.view
    return [
        UnderlyingInfo(underlying=name, expiries=len(chain.expiries), quote=view.underlying_quote(name))
        for name in view.underlyings()
        if (chain := view.chain(name)) is not None
    ]


@operation("chain.expiries", "viewer", ChainRef)
async def list_expiries(context: ApiContext, who: Principal, params: ChainRef) -> list[ExpiryInfo]:
    """Listed expiries with days to expiry and the number of listed calls and puts."""
    chain = listed_chain(context, params.underlying)
    today = new_york_date(context.view.now())

    def count(expiry: dt.date, right: Right) -> int:
        try:
            return len(chain.strikes(expiry, right))
        except ChainError:
            return 0

    return [
        ExpiryInfo(expiry=e, dte=(e - today).days, calls=count(e, "call"), puts=count(e, "put")) for e in chain.expiries
    ]


@operation("chain.strikes", "viewer", StrikesParams)
async def list_strikes(context: ApiContext, who: Principal, params: StrikesParams) -> Strikes:
    """Listed strikes of one expiry and right, ascending, each with whether the engine trades it now."""
    chain = listed_chain(context, params.underlying)
    check_expiry(chain, params.expiry, params.right)
    listed = list(chain.strikes(params.expiry, params.right))
    contracts = []
    for strike in listed:
        contract = chain.contract(params.expiry, params.right, strike)
        reason = context.view.untradeable(contract)
        contracts.append(
            ListedContract(strike=strike, instrument_id=contract.id.value, quoted=reason is None, reason=reason)
        )
    return Strikes(
        underlying=params.underlying, expiry=params.expiry, right=params.right, strikes=listed, contracts=contracts
    )


@operation("chain.quotes", "viewer", ChainQuery)
async def chain_quotes(context: ApiContext, who: Principal, params: ChainQuery) -> ChainQuotes:
    """Quotes (bid, ask, mid), implied vols and per-share Greeks of the chain or of one expiry / right."""
    chain = listed_chain(context, params.underlying)
    if params.expiry is not None:
        check_expiry(chain, params.expiry, params.right)
    view = context.view
    return ChainQuotes(
        underlying=params.underlying,
        as_of=view.now(),
        rate=view.rate,
        dividend=view.dividend,
        spot=view.underlying_quote(params.underlying),
        quotes=view.option_quotes(params.underlying, params.expiry, params.right),
    )


@router.get("", summary=list_underlyings.summary)
async def get_underlyings(request: Request, who: Principal = Depends(list_underlyings.guard)) -> list[UnderlyingInfo]:
    return await call(list_underlyings, request, who, NoParams())


@router.get("/{underlying}/expiries", summary=list_expiries.summary, responses={404: {"description": "no chain"}})
async def get_expiries(
    request: Request, underlying: UnderlyingPath, who: Principal = Depends(list_expiries.guard)
) -> list[ExpiryInfo]:
    return await call(list_expiries, request, who, ChainRef(underlying=underlying))


@router.get("/{underlying}/strikes", summary=list_strikes.summary, responses={404: {"description": "no chain"}})
async def get_strikes(
    request: Request,
    underlying: UnderlyingPath,
    query: Annotated[StrikesQuery, Query()],
    who: Principal = Depends(list_strikes.guard),
) -> Strikes:
    return await call(list_strikes, request, who, StrikesParams(underlying=underlying, **query.model_dump()), "query")


@router.get("/{underlying}/quotes", summary=chain_quotes.summary, responses={404: {"description": "no chain"}})
async def get_quotes(
    request: Request,
    underlying: UnderlyingPath,
    query: Annotated[ExpiryFilter, Query()],
    who: Principal = Depends(chain_quotes.guard),
) -> ChainQuotes:
    return await call(chain_quotes, request, who, ChainQuery(underlying=underlying, **query.model_dump()), "query")
