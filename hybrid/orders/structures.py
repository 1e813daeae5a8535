"""What an order opens: a catalogue strategy, a catalogue strategy with strike rules, or custom legs.

Three shapes, told apart by ``type`` (a discriminated union, so a request says which one it means and
its errors name the right fields):

- ``catalogue``: a strategy name with strikes and expiries in the strategy's parameter order, checked
  by the catalogue's own rules (the catalogue is the only place those rules live);
- ``rules``: a strategy name with one strike rule per strike parameter (delta target, offset from the
  at-the-money strike, or a width from another strike) and one DTE window per expiry parameter,
  resolved against the chain when the order is executed (recurring templates use this);
- ``legs``: custom legs in the Leg JSON contract, per one unit of the structure.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from hybrid.options import catalogue
from hybrid.options.legs import Leg

MAX_OPTION_LEGS = 4  # NautilusTrader option spreads were exercised up to four legs
MAX_OPTION_RATIO = 10  # contracts of one leg per unit of the structure
MAX_UNDERLYING_SHARES = 1_000  # shares of the underlying leg per unit: ten US contracts' worth
MAX_STRIKE = 1_000_000

PositiveStrike = Annotated[float, Field(gt=0, le=MAX_STRIKE, allow_inf_nan=False, strict=True)]


def field_error(loc: tuple[str | int, ...], message: str, value: object, kind: str) -> ValidationError:
    """A validation error placed on ``loc`` (relative to the model being validated) with our own type."""
    return ValidationError.from_exception_data(
        "OrderIntent",
        [InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)],
    )


def _canonical_name(name: str) -> str:
    """The catalogue's own name for ``name`` (aliases and LEAN's PascalCase accepted)."""
    return catalogue.get_strategy(name).name


StrategyName = Annotated[
    str, Field(min_length=1, max_length=64, examples=["iron_condor"]), AfterValidator(_canonical_name)
]


class StrictModel(BaseModel):
    """Immutable, and an unknown field is an error: a misspelt option must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogueStructure(StrictModel):
    """A catalogue strategy with concrete strikes and expiries, in the strategy's parameter order."""

    type: Literal["catalogue"] = "catalogue"
    strategy: StrategyName
    strikes: list[PositiveStrike] = Field(min_length=1, max_length=8, examples=[[480, 490, 510, 520]])
    expiries: list[dt.date] = Field(min_length=1, max_length=4, examples=[["2024-06-21"]])
    _legs: tuple[Leg, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _catalogue_rules(self) -> CatalogueStructure:
        try:
            legs = catalogue.build(self.strategy, self.strikes, self.expiries)
        except catalogue.StrategyError as exc:
            field = self._field_at_fault(exc)
            raise field_error((field,), str(exc), getattr(self, field), "catalogue_rule") from None
        self._legs = tuple(legs)
        return self

    def _field_at_fault(self, exc: catalogue.StrategyError) -> str:
        """``expiries`` when the broken rule only compares expiries (or their count is wrong), else ``strikes``."""
        strategy = catalogue.get_strategy(self.strategy)
        if exc.rule is None:
            return "strikes" if len(self.strikes) != strategy.n_strikes else "expiries"
        broken = next(rule for rule in strategy.rules if rule.text == exc.rule)
        return "expiries" if broken.names <= set(strategy.expiries) else "strikes"

    def unit_legs(self) -> list[Leg]:
        """The catalogue's legs for one long unit (built once, at validation)."""
        return list(self._legs)


class DeltaStrike(StrictModel):
    """The listed strike where the parameter's option has this absolute delta, e.g. 0.16.

    The option is the put when every leg at this strike parameter is a put, else the call.
    """

    by: Literal["delta"] = "delta"
    delta: float = Field(gt=0, lt=1, strict=True)


class AtmOffsetStrike(StrictModel):
    """The listed strike ``steps`` strikes above (+) or below (-) the at-the-money strike."""

    by: Literal["atm_offset"] = "atm_offset"
    steps: int = Field(ge=-50, le=50, strict=True)


class WidthStrike(StrictModel):
    """``points`` away from the strike chosen for parameter ``from_strike`` (by delta or ATM offset)."""

    by: Literal["width"] = "width"
    from_strike: str = Field(min_length=1, max_length=64, examples=["short_put_strike"])
    points: float = Field(ge=-10_000, le=10_000, allow_inf_nan=False, strict=True)

    @model_validator(mode="after")
    def _non_zero(self) -> WidthStrike:
        if self.points == 0:
            raise field_error(("points",), "a width of 0 is the same strike: use a non-zero width", 0, "width")
        return self


StrikeRule = Annotated[DeltaStrike | AtmOffsetStrike | WidthStrike, Field(discriminator="by")]


class DteWindow(StrictModel):
    """Days to expiry, both ends included: the resolver picks a listed expiry inside the window."""

    min_dte: int = Field(ge=0, le=1100, strict=True)
    max_dte: int = Field(ge=0, le=1100, strict=True)

    @model_validator(mode="after")
    def _ordered(self) -> DteWindow:
        if self.min_dte > self.max_dte:
            message = f"max_dte ({self.max_dte}) must be at least min_dte ({self.min_dte})"
            raise field_error(("max_dte",), message, self.max_dte, "dte_window")
        return self


class RuleStructure(StrictModel):
    """A catalogue strategy whose strikes and expiries are chosen by rule when the order executes.

    One rule per strike parameter and one window per expiry parameter, in the strategy's parameter
    order; a width is taken from a strike chosen by delta or ATM offset. The resolved strikes and
    expiries then go through the catalogue's rules, like a ``catalogue`` structure.
    """

    type: Literal["rules"] = "rules"
    strategy: StrategyName
    strikes: list[StrikeRule] = Field(min_length=1, max_length=8)
    expiries: list[DteWindow] = Field(min_length=1, max_length=4)

    @model_validator(mode="after")
    def _rules_fit_strategy(self) -> RuleStructure:
        strategy = catalogue.get_strategy(self.strategy)
        for field, wanted in (("strikes", strategy.strikes), ("expiries", strategy.expiries)):
            given = getattr(self, field)
            if len(given) != len(wanted):
                message = f"{self.strategy} takes {len(wanted)} {field} rules ({', '.join(wanted)}), got {len(given)}"
                raise field_error((field,), message, len(given), "catalogue_parameters")
        anchors = [name for name, rule in zip(strategy.strikes, self.strikes) if not isinstance(rule, WidthStrike)]
        for index, rule in enumerate(self.strikes):
            if isinstance(rule, WidthStrike) and rule.from_strike not in anchors:
                message = f"from_strike must name a strike chosen by delta or ATM offset: one of {anchors}"
                raise field_error(("strikes", index, "from_strike"), message, rule.from_strike, "width_anchor")
        return self


class CustomLegs(StrictModel):
    """Legs per one unit (Leg JSON contract): 1 to 4 option legs and at most one underlying leg.

    Quantities are the structure's ratios, so they have no common divisor; the size goes in ``units``.
    Leg prices are not order parameters (the price is on the execution).
    """

    type: Literal["legs"] = "legs"
    legs: list[Leg] = Field(min_length=1, max_length=MAX_OPTION_LEGS + 1)

    @model_validator(mode="after")
    def _sane_legs(self) -> CustomLegs:
        options = [leg for leg in self.legs if leg.is_option]
        if not 1 <= len(options) <= MAX_OPTION_LEGS:
            message = f"give 1 to {MAX_OPTION_LEGS} option legs, got {len(options)}"
            raise field_error(("legs",), message, len(options), "leg_count")
        if len(self.legs) - len(options) > 1:
            raise field_error(("legs",), "give at most one underlying leg", len(self.legs), "leg_count")
        seen: set[tuple] = set()
        for index, leg in enumerate(self.legs):
            key = (leg.kind, leg.strike, leg.expiry)
            if key in seen:
                message = "the same contract appears twice: merge the two legs into one quantity"
                raise field_error(("legs", index), message, leg.to_dict(), "duplicate_leg")
            seen.add(key)
            if leg.strike is not None and not leg.strike <= MAX_STRIKE:  # option legs have strikes
                message = f"strike must be a finite number up to {MAX_STRIKE}"
                raise field_error(("legs", index, "strike"), message, leg.strike, "leg_strike")
            bound = MAX_OPTION_RATIO if leg.is_option else MAX_UNDERLYING_SHARES
            if abs(leg.quantity) > bound:
                message = f"quantity per unit must be within +/-{bound}; put the size in units"
                raise field_error(("legs", index, "quantity"), message, leg.quantity, "leg_quantity")
            for name in ("price", "iv"):
                if getattr(leg, name) is not None:
                    message = f"leg {name} is not an order parameter: set the price on execution"
                    raise field_error(("legs", index, name), message, getattr(leg, name), "leg_price")
        divisor = math.gcd(*(leg.quantity for leg in self.legs))
        if divisor != 1:
            message = f"quantities share the factor {divisor}: divide them by it and multiply units instead"
            raise field_error(("legs",), message, [leg.quantity for leg in self.legs], "leg_ratio")
        return self

    def unit_legs(self) -> list[Leg]:
        """The legs as given, for one long unit."""
        return list(self.legs)


Structure = Annotated[CatalogueStructure | RuleStructure | CustomLegs, Field(discriminator="type")]
