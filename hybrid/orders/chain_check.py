"""The hook that checks an intent's contracts against a live chain, and turns misses into field errors.

An intent is validated in two steps. Its own model checks shape, bounds and the catalogue's rules
without any market data. Whether the underlying, strikes and expiries are listed needs the engine's
chain, which only the running node has: the API passes a :class:`ChainValidator` (for example
:func:`chain_validator` over the :class:`~hybrid.options.chain.OptionChain` it builds from the
engine's cache, with the engine's own test of a tradeable contract: active and quoted on both sides now),
and :func:`chain_errors` returns the misses as pydantic-style errors (``loc``,
``msg``, ``type``) placed on the fields a person typed, ready for a 422 response (prefix ``loc``
with ``"body"``).

Rule structures, closes and rolls name no contract yet; they are checked when the engine resolves
them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from nautilus_trader.model.instruments import OptionContract

from hybrid.options.chain import ChainError, OptionChain, option_terms
from hybrid.options.legs import Leg
from hybrid.orders.intents import OpenIntent, OrderIntent
from hybrid.orders.structures import CatalogueStructure, CustomLegs


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One leg the chain does not list, or lists but the engine would not trade now (``missing="quote"``):
    which leg (index into the legs given), what is missing, and why.

    ``message`` should name the nearest listed strikes or expiries, as the catalogue's chain binding does.
    """

    leg: int
    missing: Literal["underlying", "strike", "expiry", "quote"]
    message: str


class ChainValidator(Protocol):
    """Checks one unit's legs on ``underlying`` against the listed contracts; no problems = all listed."""

    def __call__(self, underlying: str, legs: Sequence[Leg]) -> Sequence[ChainProblem]: ...


def chain_validator(
    chain_of: Callable[[str], OptionChain | None], untradeable: Callable[[OptionContract], str | None] | None = None
) -> ChainValidator:
    """A :class:`ChainValidator` over option chains; ``chain_of(underlying)`` is None when there is none.

    Each miss carries the chain's own message, which names the nearest listed strikes or expiries. With
    ``untradeable`` (the engine's reason not to trade a listed contract now, or None), a listed contract
    the engine would refuse is a miss too, with that reason.
    """

    def validate(underlying: str, legs: Sequence[Leg]) -> list[ChainProblem]:
        chain = chain_of(underlying)
        if chain is None:
            return [ChainProblem(0, "underlying", f"no option chain is loaded for {underlying}")]
        problems = []
        for index, leg in enumerate(legs):
            if not leg.is_option:
                continue
            try:
                contract = chain.contract(*option_terms(leg))
            except ChainError as exc:
                missing: Literal["strike", "expiry"] = "strike" if leg.expiry in chain.expiries else "expiry"
                problems.append(ChainProblem(index, missing, str(exc)))
                continue
            reason = untradeable(contract) if untradeable is not None else None
            if reason is not None:
                problems.append(ChainProblem(index, "quote", f"the engine does not trade {reason}"))
        return problems

    return validate


def chain_errors(intent: OrderIntent, validator: ChainValidator) -> list[dict]:
    """Pydantic-style errors for the contracts of ``intent`` that the chain does not list."""
    if not isinstance(intent, OpenIntent) or not isinstance(intent.structure, CatalogueStructure | CustomLegs):
        return []
    structure = intent.structure
    legs = structure.unit_legs()
    errors = []
    for problem in validator(intent.underlying, legs):
        if problem.missing == "underlying":
            loc: tuple = ("open", "underlying")
            value: object = intent.underlying
        else:
            leg = legs[problem.leg]
            on_strike = problem.missing in ("strike", "quote")  # an unquoted contract is placed on its strike
            value = leg.strike if on_strike else leg.expiry
            if isinstance(structure, CatalogueStructure):
                field = "strikes" if on_strike else "expiries"
                loc = ("open", "structure", "catalogue", field, getattr(structure, field).index(value))
            else:
                loc = ("open", "structure", "legs", "legs", problem.leg, "strike" if on_strike else "expiry")
        kind = "not_tradeable" if problem.missing == "quote" else "not_listed"
        errors.append({"type": kind, "loc": loc, "msg": problem.message, "input": value})
    return errors
