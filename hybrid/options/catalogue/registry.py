"""The catalogue: every structure by name, aliases, look-up with close-match errors, and its doc table."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from hybrid.options.catalogue.beyond_lean import BEYOND_LEAN_STRATEGIES
from hybrid.options.catalogue.lean import LEAN_STRATEGIES
from hybrid.options.catalogue.structure import ExpiryInput, StrategyDef, StrategyError, StrikeInput
from hybrid.options.legs import Leg

STRATEGIES: Mapping[str, StrategyDef] = MappingProxyType(
    {d.name: d for d in (*LEAN_STRATEGIES, *BEYOND_LEAN_STRATEGIES)}
)
"""Every structure by canonical name: LEAN's 41 first (spec order), then the beyond-LEAN ones."""

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "butterfly_call": "call_butterfly",  # LEAN
        "butterfly_put": "put_butterfly",  # LEAN
        "call_ratio_spread": "short_call_backspread",  # 1x2: buy one call, sell two higher
        "put_ratio_spread": "short_put_backspread",  # 1x2: buy one put, sell two lower
    }
)
"""Other names of a structure, resolved by :func:`get_strategy`."""

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _normalise(name: str) -> str:
    """``BullCallSpread`` (LEAN's C# name), ``bull-call-spread`` and ``bull_call_spread`` are one name."""
    return _CAMEL_BOUNDARY.sub("_", name.strip()).replace("-", "_").lower()


def aliases_of(name: str) -> list[str]:
    return [alias for alias, target in ALIASES.items() if target == name]


def get_strategy(name: str) -> StrategyDef:
    """The structure called ``name`` (canonical, alias or LEAN's PascalCase); unknown names list close matches."""
    key = _normalise(name)
    key = ALIASES.get(key, key)
    if key in STRATEGIES:
        return STRATEGIES[key]
    close = difflib.get_close_matches(key, [*STRATEGIES, *ALIASES], n=3, cutoff=0.6)
    hint = f"close matches: {', '.join(close)}" if close else f"{len(STRATEGIES)} are listed by `strategies list`"
    raise StrategyError(f"unknown strategy {name!r}; {hint}")


def build(
    name: str,
    strikes: Sequence[StrikeInput],
    expiries: Sequence[ExpiryInput],
    multiplier: int = 100,
) -> list[Leg]:
    """Legs of one unit of ``name``; strikes and expiries in the structure's parameter order."""
    return get_strategy(name).build(strikes, expiries, multiplier)


def listing() -> list[dict]:
    """Every structure as its :meth:`StrategyDef.to_dict` plus its aliases (the CLI/API list contract)."""
    return [{**d.to_dict(), "aliases": aliases_of(d.name)} for d in STRATEGIES.values()]


def markdown_table() -> str:
    """The catalogue documented like the spec: name, parameters, legs in order, validation."""
    rows = [
        "| name | parameters | legs, in order | validation | category | net | bias |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in STRATEGIES.values():
        aliases = aliases_of(d.name)
        name = f"{d.name} (alias {', '.join(aliases)})" if aliases else d.name
        if d.negation_of:
            name += f" = -{d.negation_of}"
        bias = f"{d.about.direction}, {d.about.volatility} volatility"
        cells = [
            name,
            ", ".join(d.parameters),
            "; ".join(d.leg_texts()),
            "; ".join(rule.text for rule in d.rules),
            d.about.category,
            d.about.net,
            bias,
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
