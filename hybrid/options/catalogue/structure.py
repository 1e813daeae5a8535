"""How one option structure is written down as data, validated and turned into legs.

A structure is a :class:`StrategyDef`: its parameters (strikes, then expiries, in LEAN's order), a
leg template and validation rules, all written as short strings so the catalogue reads like the
spec's table:

- a leg is ``C(strike_param)[@expiry_param]±n`` (call), ``P(...)±n`` (put) or ``U±M`` (the
  underlying, ± one contract multiplier of shares); ``@expiry_param`` may be left out when the
  structure takes one expiry;
- a rule is a comparison, possibly chained, of parameters or of sums/differences/integer multiples
  of them: ``"long_put_strike < short_put_strike <= short_call_strike"``,
  ``"higher_strike - middle_strike == middle_strike - lower_strike"``, ``"near_expiration < far_expiration"``.

Strike arithmetic is done in :class:`~decimal.Decimal` so that equal-wing checks are exact for
strikes such as 0.1/0.2/0.3.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import reduce
from typing import Any, Literal

from hybrid.options.legs import Leg, LegKind

StrikeInput = float | int | Decimal | str
ExpiryInput = dt.date | str
Net = Literal["credit", "debit", "even"]
Direction = Literal["bullish", "bearish", "neutral"]
Volatility = Literal["long", "short", "neutral"]
Origin = Literal["lean", "beyond_lean"]

_NETS = ("credit", "debit", "even")
_DIRECTIONS = ("bullish", "bearish", "neutral")
_VOLATILITIES = ("long", "short", "neutral")
_KINDS: dict[str, LegKind] = {"C": "call", "P": "put", "U": "underlying"}
_LEG = re.compile(r"^(?P<kind>[CPU])(?:\((?P<strike>\w+)\))?(?:@(?P<expiry>\w+))?(?P<qty>[+-](?:\d+|M))$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class StrategyError(ValueError):
    """Invalid input to a strategy factory. The message is one line naming the broken rule.

    ``rule`` is the text of the validation rule that failed, when a rule (not a count or a type) failed.
    """

    def __init__(self, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


def parse_iso_date(text: object) -> dt.date:
    """A real calendar date written exactly ``YYYY-MM-DD``; ``ValueError`` otherwise."""
    if isinstance(text, str) and _ISO_DATE.match(text.strip()):
        return dt.date.fromisoformat(text.strip())  # rejects 2024-02-30
    raise ValueError(f"not a YYYY-MM-DD date: {text!r}")


def format_number(value: Decimal | float) -> str:
    """A strike or width as a person writes it: ``450``, ``447.5`` (no exponent, no trailing zeros)."""
    return format(Decimal(str(value)).normalize(), "f")


@dataclass(frozen=True, slots=True)
class LegTemplate:
    """One leg of a structure with its strike and expiry given by parameter names."""

    kind: LegKind
    quantity: int  # contracts; for the underlying, in contract multipliers of shares
    strike: str | None = None
    expiry: str | None = None

    @classmethod
    def parse(cls, text: str, default_expiry: str | None) -> LegTemplate:
        m = _LEG.match(text)
        if m is None:
            raise ValueError(f"leg template {text!r} is not C(strike)[@expiry]±n, P(...)±n or U±M")
        kind = _KINDS[m["kind"]]
        is_shares = m["qty"][1:] == "M"
        if (kind == "underlying") != is_shares or (kind == "underlying") == (m["strike"] is not None):
            raise ValueError(f"leg template {text!r}: options take (strike)±n, the underlying takes U±M only")
        quantity = (1 if is_shares else int(m["qty"][1:])) * (-1 if m["qty"][0] == "-" else 1)
        expiry = None if kind == "underlying" else m["expiry"] or default_expiry
        return cls(kind, quantity, m["strike"], expiry)

    def render(self, show_expiry: bool) -> str:
        """Back to template text (``@expiry`` only when the structure has several expiries)."""
        sign = "+" if self.quantity > 0 else "-"
        if self.kind == "underlying":
            return f"U{sign}M"
        at = f"@{self.expiry}" if show_expiry else ""
        return f"{self.kind[0].upper()}({self.strike}){at}{sign}{abs(self.quantity)}"

    def make(self, strikes: Mapping[str, Decimal], expiries: Mapping[str, dt.date], multiplier: int) -> Leg:
        if self.kind == "underlying":
            return Leg("underlying", None, None, self.quantity * multiplier)
        if self.strike is None or self.expiry is None:
            raise ValueError(f"leg template {self.render(show_expiry=True)}: an option leg names its strike and expiry")
        return Leg(self.kind, float(strikes[self.strike]), expiries[self.expiry], self.quantity)


# comparison -> (what the error message says, the test)
_COMPARISONS: dict[type, tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Lt: ("must be <", operator.lt),
    ast.LtE: ("must be <=", operator.le),
    ast.Gt: ("must be >", operator.gt),
    ast.GtE: ("must be >=", operator.ge),
    ast.Eq: ("must equal", operator.eq),
    ast.NotEq: ("must differ from", operator.ne),
}
_ARITHMETIC: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}


def _check_expression(node: ast.expr, text: str) -> None:
    match node:
        case ast.Name():
            return
        case ast.Constant(value=int()):
            return
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _ARITHMETIC:
            _check_expression(left, text)
            _check_expression(right, text)
        case _:
            raise ValueError(f"rule {text!r}: only names, integers, +, - and * are allowed")


def _evaluate(node: ast.expr, values: Mapping[str, Decimal | dt.date]) -> Decimal | dt.date:
    match node:
        case ast.Name(id=name):
            return values[name]
        case ast.Constant(value=int() as value):
            return Decimal(value)
        case ast.BinOp(left=left, op=op, right=right):
            lhs, rhs = _evaluate(left, values), _evaluate(right, values)
            if not (isinstance(lhs, Decimal) and isinstance(rhs, Decimal)):
                raise ValueError(f"rule {ast.unparse(node)!r}: dates take no arithmetic")
            return _ARITHMETIC[type(op)](lhs, rhs)
    raise AssertionError(f"unchecked rule node {ast.dump(node)}")


def _show(value: Decimal | dt.date) -> str:
    return value.isoformat() if isinstance(value, dt.date) else format_number(value)


@dataclass(frozen=True)
class Rule:
    """A validation rule: a (chained) comparison; ``text`` is kept in a normalised spelling."""

    text: str
    _tree: ast.Compare = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tree = ast.parse(self.text, mode="eval").body
        except SyntaxError as exc:
            raise ValueError(f"rule {self.text!r} does not parse: {exc.msg}") from None
        if not isinstance(tree, ast.Compare) or not all(type(op) in _COMPARISONS for op in tree.ops):
            raise ValueError(f"rule {self.text!r} must be a comparison (<, <=, >, >=, ==, !=)")
        for operand in (tree.left, *tree.comparators):
            _check_expression(operand, self.text)
        object.__setattr__(self, "text", ast.unparse(tree))
        object.__setattr__(self, "_tree", tree)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n.id for n in ast.walk(self._tree) if isinstance(n, ast.Name))

    def renamed(self, mapping: Mapping[str, str]) -> Rule:
        tree = ast.parse(self.text, mode="eval")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                node.id = mapping.get(node.id, node.id)
        return Rule(ast.unparse(tree))

    def broken(self, values: Mapping[str, Decimal | dt.date]) -> str | None:
        """``None`` when the rule holds, else e.g. ``leg1_strike (450) must be < leg2_strike (445)``."""
        operands = (self._tree.left, *self._tree.comparators)
        for left, op, right in zip(operands, self._tree.ops, operands[1:]):
            requirement, holds = _COMPARISONS[type(op)]
            lhs, rhs = _evaluate(left, values), _evaluate(right, values)
            if not holds(lhs, rhs):
                return f"{ast.unparse(left)} ({_show(lhs)}) {requirement} {ast.unparse(right)} ({_show(rhs)})"
        return None


@dataclass(frozen=True)
class About:
    """What the UI shows for a structure: name, one-line description, category and bias."""

    display_name: str
    category: str
    net: Net
    direction: Direction
    volatility: Volatility
    description: str

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("net", self.net, _NETS),
            ("direction", self.direction, _DIRECTIONS),
            ("volatility", self.volatility, _VOLATILITIES),
        ):
            if value not in allowed:
                raise ValueError(f"{self.display_name}: {name} {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class StrategyDef:
    """One option structure: parameters, legs per one unit, validation rules and UI metadata."""

    name: str
    strikes: tuple[str, ...]
    expiries: tuple[str, ...]
    legs: tuple[LegTemplate, ...]
    rules: tuple[Rule, ...]
    about: About
    origin: Origin
    negation_of: str | None = None

    def __post_init__(self) -> None:
        params = self.parameters
        if len(set(params)) != len(params):
            raise ValueError(f"{self.name}: parameter names repeat: {params}")
        options = [leg for leg in self.legs if leg.kind != "underlying"]
        if any(leg.expiry is None for leg in options):
            raise ValueError(f"{self.name}: with several expiries every option leg needs @expiry")
        if any(leg.strike is None for leg in options):
            raise ValueError(f"{self.name}: every option leg needs a strike")
        used_strikes = {leg.strike for leg in options if leg.strike is not None}
        used_expiries = {leg.expiry for leg in options if leg.expiry is not None}
        if used_strikes != set(self.strikes) or used_expiries != set(self.expiries):
            used = sorted(used_strikes | used_expiries)
            raise ValueError(f"{self.name}: legs use {used}, parameters are {params}")
        for rule in self.rules:
            if not rule.names <= set(params):
                raise ValueError(f"{self.name}: rule {rule.text!r} names unknown parameters")
        if reduce(math.gcd, (abs(leg.quantity) for leg in self.legs)) != 1:
            raise ValueError(f"{self.name}: leg quantities must have a greatest common divisor of 1")

    @property
    def parameters(self) -> tuple[str, ...]:
        """Strike parameters then expiry parameters, in LEAN's order."""
        return self.strikes + self.expiries

    @property
    def n_strikes(self) -> int:
        return len(self.strikes)

    @property
    def n_expiries(self) -> int:
        return len(self.expiries)

    def leg_texts(self) -> list[str]:
        return [leg.render(show_expiry=self.n_expiries > 1) for leg in self.legs]

    def build(
        self,
        strikes: Sequence[StrikeInput],
        expiries: Sequence[ExpiryInput],
        multiplier: int = 100,
    ) -> list[Leg]:
        """Legs for one unit; raises :class:`StrategyError` naming the first broken rule."""
        strike_values = self._parse(self.strikes, strikes, ("strike", "strikes"), self._strike)
        expiry_values = self._parse(self.expiries, expiries, ("expiry", "expiries"), self._expiry)
        values: dict[str, Decimal | dt.date] = {**strike_values, **expiry_values}
        if isinstance(multiplier, bool) or not isinstance(multiplier, int) or multiplier <= 0:
            raise StrategyError(f"{self.name}: multiplier must be a positive integer, got {multiplier!r}")
        for rule in self.rules:
            if (broken := rule.broken(values)) is not None:
                raise StrategyError(f"{self.name}: {broken}", rule=rule.text)
        return [leg.make(strike_values, expiry_values, multiplier) for leg in self.legs]

    def negated(self, name: str, about: About, rename: Mapping[str, str] | None = None) -> StrategyDef:
        """The "short" of this structure: every leg negated, parameters optionally renamed in place."""
        names = dict(rename or {})

        def renamed(parameter: str | None) -> str | None:
            return None if parameter is None else names.get(parameter, parameter)

        return StrategyDef(
            name=name,
            strikes=tuple(names.get(p, p) for p in self.strikes),
            expiries=tuple(names.get(p, p) for p in self.expiries),
            legs=tuple(
                replace(
                    leg,
                    quantity=-leg.quantity,
                    strike=renamed(leg.strike),
                    expiry=renamed(leg.expiry),
                )
                for leg in self.legs
            ),
            rules=tuple(rule.renamed(names) for rule in self.rules),
            about=about,
            origin=self.origin,
            negation_of=self.name,
        )

    def to_dict(self) -> dict:
        """The listing contract of the CLI and the API (aliases are added by the registry)."""
        return {
            "name": self.name,
            "display_name": self.about.display_name,
            "description": self.about.description,
            "category": self.about.category,
            "net": self.about.net,
            "direction": self.about.direction,
            "volatility": self.about.volatility,
            "origin": self.origin,
            "parameters": list(self.parameters),
            "strikes": list(self.strikes),
            "expiries": list(self.expiries),
            "n_strikes": self.n_strikes,
            "n_expiries": self.n_expiries,
            "legs": self.leg_texts(),
            "rules": [rule.text for rule in self.rules],
            "negation_of": self.negation_of,
        }

    def _parse[V](
        self, names: tuple[str, ...], given: object, nouns: tuple[str, str], convert: Callable[[str, Any], V]
    ) -> dict[str, V]:
        if isinstance(given, (str, bytes, int, float, Decimal, dt.date)):
            values = [given]  # a lone value for a one-parameter list
        elif isinstance(given, Iterable):
            values = list(given)
        else:
            raise StrategyError(f"{self.name}: {nouns[1]} must be a list, got {given!r}")
        if len(values) != len(names):
            noun = nouns[0] if len(names) == 1 else nouns[1]
            raise StrategyError(f"{self.name}: takes {len(names)} {noun} ({', '.join(names)}), got {len(values)}")
        return {name: convert(name, value) for name, value in zip(names, values)}

    def _strike(self, name: str, value: StrikeInput) -> Decimal:
        number = None
        if isinstance(value, (int, float, Decimal, str)) and not isinstance(value, bool):
            try:
                number = Decimal(str(value).strip())
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite() or number <= 0:
            raise StrategyError(f"{self.name}: {name} must be a positive number, got {value!r}")
        return number

    def _expiry(self, name: str, value: ExpiryInput) -> dt.date:
        if isinstance(value, dt.datetime):
            raise StrategyError(f"{self.name}: {name} must be a date, not a datetime ({value!r})")
        if isinstance(value, dt.date):
            return value
        try:
            return parse_iso_date(value)
        except ValueError:
            raise StrategyError(f"{self.name}: {name} must be a real date YYYY-MM-DD, got {value!r}") from None


def define(
    name: str,
    strikes: str,
    legs: str,
    rules: Sequence[str],
    about: About,
    expiries: str = "expiration",
    origin: Origin = "lean",
) -> StrategyDef:
    """A structure from its table row: space-separated parameter names and leg templates."""
    expiry_names = tuple(expiries.split())
    default_expiry = expiry_names[0] if len(expiry_names) == 1 else None
    return StrategyDef(
        name=name,
        strikes=tuple(strikes.split()),
        expiries=expiry_names,
        legs=tuple(LegTemplate.parse(text, default_expiry) for text in legs.split()),
        rules=tuple(Rule(text) for text in rules),
        about=about,
        origin=origin,
    )
