"""Checks of an order intent against the engine, after its own model has checked shape and bounds.

- open: every contract is listed and one the engine trades now (:func:`hybrid.orders.chain_check.chain_errors`
  over the engine view's chain and its :meth:`~hybrid.api.engine_view.EngineView.untradeable`, the engine's
  own test: active, quoted on both sides); the message names the nearest listed strikes or expiries, or why
  a listed contract is not tradeable now;
- close: the group exists, holds units, and no more units are closed than it holds; a limit (a limit
  price, or a two-part ``limit_price``) has the sign of the closing trade's natural now (what crossing
  every leg's market would pay, positive, or receive, negative: README, "Sign conventions"), so a close
  cannot rest with the sign flipped where it never fills;
- roll: the group is open, each new expiry is listed and later than the group's nearest, one expiry
  (or DTE window) per expiry parameter of its strategy, each DTE window holds a listed expiry.

Misses are :class:`~hybrid.api.errors.FieldErrors` placed on the fields of the intent (``loc`` relative
to the intent, under ``prefix``: ``("open",)`` for the tagged union a client submits).
"""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from hybrid.api.context import ApiContext
from hybrid.api.errors import FieldErrors
from hybrid.api.schemas import Group, GroupLeg
from hybrid.calendar.exchange_time import new_york_date
from hybrid.options import catalogue
from hybrid.options.chain import ChainError, OptionChain, Right
from hybrid.options.legs import Leg
from hybrid.orders.chain_check import chain_errors, chain_validator
from hybrid.orders.intents import (
    CloseGroupIntent,
    LimitExecution,
    OpenIntent,
    OrderIntent,
    RollGroupIntent,
    TwoPartExecution,
)
from hybrid.orders.structures import DteWindow
from hybrid.valuation.marks import LegQuote, net_premium

Loc = tuple[str | int, ...]


def listing_error(chain: OptionChain, expiry: dt.date, right: Right | None = None) -> str | None:
    """None when ``expiry`` (with ``right``, if given) is listed, else the chain's one-line message, which
    names the nearest listed expiries."""
    if right is None and expiry in chain.expiries:
        return None
    try:
        chain.strikes(expiry, right or "call")  # the expiry is checked first: "call" only completes the call
    except ChainError as exc:
        return str(exc)
    return None


def find_group(context: ApiContext, group_id: str) -> Group | None:
    return context.view.group(group_id)


def _open_group_ids(context: ApiContext) -> str:
    ids = [group.group_id for group in context.view.groups() if group.status == "open"]
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return shown or "none"


def open_group(context: ApiContext, group_id: str, loc: Loc) -> Group:
    """The open group ``group_id``, or a field error at ``loc`` saying why it cannot be traded."""
    group = find_group(context, group_id)
    if group is None:
        message = f"no group {group_id!r}; open groups: {_open_group_ids(context)}"
        raise FieldErrors.one(loc, message, group_id, "not_found")
    if group.status != "open":
        hint = "cancel its opening order instead" if group.status == "unfilled" else "it holds nothing"
        raise FieldErrors.one(loc, f"group {group_id!r} is {group.status}: {hint}", group_id, "group_not_open")
    return group


def check_open(context: ApiContext, intent: OpenIntent, prefix: Loc = ("open",)) -> None:
    """Field errors for the contracts of an open intent that the chain does not list."""
    errors = chain_errors(intent, chain_validator(context.view.chain, context.view.untradeable))
    if errors:
        raise FieldErrors([{**error, "loc": (*prefix, *error["loc"][1:])} for error in errors])


def check_close(context: ApiContext, intent: CloseGroupIntent, prefix: Loc = ("close",)) -> None:
    group = open_group(context, intent.group_id, (*prefix, "group_id"))
    held = abs(group.units)
    if intent.units is not None and intent.units > held:
        message = f"units must be at most {held:g}, the units group {group.group_id!r} holds"
        raise FieldErrors.one((*prefix, "units"), message, intent.units, "too_many_units")
    check_close_limit(context, group, intent, prefix)


def closing_natural(context: ApiContext, group: Group) -> float | None:
    """The net premium per share of closing one unit of ``group`` by crossing every option leg's market now
    (buy at the ask, sell at the bid): positive a debit paid, negative a credit received; None without a
    two-sided quote on every leg."""
    side = 1 if group.units > 0 else -1
    legs = [_closing_leg(leg, side) for leg in group.legs if leg.ratio != 0 and leg.kind in ("call", "put")]
    if not legs or group.underlying is None:
        return None
    try:
        quotes = [
            None if quote is None else LegQuote(quote.bid, quote.ask)
            for quote in context.view.leg_quotes(group.underlying, legs)
        ]
    except (ChainError, ValueError):
        return None
    if any(quote is None or quote.mid is None for quote in quotes):
        return None
    return net_premium(legs, quotes, multiplier=1).ask


def _closing_leg(leg: GroupLeg, side: int) -> Leg:
    """One unit of the trade that closes ``leg`` of a group held long (``side`` 1) or short (-1)."""
    return Leg(leg.kind or "call", leg.strike, leg.expiry, -side * leg.ratio)


def check_close_limit(context: ApiContext, group: Group, intent: CloseGroupIntent, prefix: Loc) -> None:
    """A field error when the close's limit has the opposite sign to the closing trade's natural now."""
    execution = intent.execution
    if isinstance(execution, LimitExecution):
        limit, field = execution.price, "price"
    elif isinstance(execution, TwoPartExecution) and execution.limit_price is not None:
        limit, field = execution.limit_price, "limit_price"
    else:
        return
    natural = closing_natural(context, group)
    if natural is None or limit * natural >= 0:
        return
    if natural > 0:
        expected = "closing it pays a debit now, so the limit is the most to pay: a positive number"
    else:
        expected = "closing it receives a credit now, so the limit is the least to accept: a negative number"
    message = (
        f"group {group.group_id!r}: {expected} (natural {natural:+.2f} per share; premiums are positive for a "
        f"debit paid and negative for a credit received, whichever side), got {limit:+.2f}"
    )
    raise FieldErrors.one((*prefix, "execution", field), message, limit, "limit_sign")


def check_roll(context: ApiContext, intent: RollGroupIntent, prefix: Loc = ("roll",)) -> None:
    group = open_group(context, intent.group_id, (*prefix, "group_id"))
    chain = context.view.chain(group.underlying) if group.underlying else None
    if chain is None:
        message = f"group {group.group_id!r} has no option chain loaded to roll into"
        raise FieldErrors.one((*prefix, "group_id"), message, group.group_id, "not_listed")
    targets = intent.targets
    field = "expiries" if intent.expiries is not None else "dte"
    try:
        wanted = catalogue.get_strategy(group.structure).n_expiries
    except catalogue.StrategyError:
        wanted = None  # custom legs: any number of expiries
    if wanted is not None and len(targets) != wanted:
        message = f"{group.structure} has {wanted} expiry parameter(s): give {wanted} {field}, got {len(targets)}"
        raise FieldErrors.one((*prefix, field), message, len(targets), "roll_target")
    current = min((leg.expiry for leg in group.legs if leg.expiry is not None), default=None)
    today = new_york_date(context.view.now())
    errors = [
        {"type": "not_listed", "loc": (*prefix, field, index), "msg": problem, "input": str(target)}
        for index, target in enumerate(targets)
        if (problem := _roll_target_error(chain, target, current, today)) is not None
    ]
    if errors:
        raise FieldErrors(errors)


def _roll_target_error(
    chain: OptionChain, target: dt.date | DteWindow, current: dt.date | None, today: dt.date
) -> str | None:
    """Why a roll cannot go to ``target`` (an expiry, or a DTE window from ``today``), or None."""
    if isinstance(target, DteWindow):
        try:
            chain.expiry_by_dte(today, target.min_dte, target.max_dte)
        except ChainError as exc:
            return str(exc)
        return None
    message = listing_error(chain, target)
    if message is None and current is not None and target <= current:
        message = f"{target} must be after the group's nearest expiry {current}"
    return message


def check_source(intent: OrderIntent) -> None:
    """An order through the API is a person's: its ``source`` is ``manual``, so it meets the manual source's
    limits (docs/api.md, "Risk")."""
    if intent.source != "manual":
        message = "an order submitted through the API is 'manual' (templates' orders are 'recurring', strategies' 'autonomous')"
        raise FieldErrors.one((intent.kind, "source"), message, intent.source, "source_not_manual")


def check_intent(context: ApiContext, intent: OrderIntent) -> None:
    """Every engine-side check of a submitted intent (tagged union: locs start with its kind); one case per
    kind, so a new intent kind is a type error here until it has its checks)."""
    match intent:
        case OpenIntent():
            check_open(context, intent)
        case CloseGroupIntent():
            check_close(context, intent)
        case RollGroupIntent():
            check_roll(context, intent)
        case _:
            assert_never(intent)
