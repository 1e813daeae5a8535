"""The option strategy catalogue: LEAN's 43 ``OptionStrategies`` names and the structures beyond them.

Each structure is defined once, as data (:mod:`.lean`, :mod:`.beyond_lean`), and built by one
factory, :meth:`StrategyDef.build`::

    from hybrid.options.catalogue import build, get_strategy
    legs = build("bull_call_spread", [440, 445], [date(2024, 6, 21)])
    get_strategy("iron_condor").parameters  # LEAN's order: strikes, then expiries

Quantities are per one unit (greatest common divisor 1): contracts for options, shares for the
underlying (± the contract multiplier). Nothing here checks a chain; see :mod:`hybrid.options.chain`.
``python -m hybrid strategies list --markdown`` prints the whole catalogue as a table.
"""

from hybrid.options.catalogue.registry import (
    ALIASES,
    STRATEGIES,
    aliases_of,
    build,
    get_strategy,
    listing,
    markdown_table,
)
from hybrid.options.catalogue.structure import About, LegTemplate, Rule, StrategyDef, StrategyError

__all__ = [
    "ALIASES",
    "STRATEGIES",
    "About",
    "LegTemplate",
    "Rule",
    "StrategyDef",
    "StrategyError",
    "aliases_of",
    "build",
    "get_strategy",
    "listing",
    "markdown_table",
]
