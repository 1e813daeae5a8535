"""The tag convention every order of a position group carries.

NautilusTrader positions are per instrument, so a multi-leg position (a group) exists only as the
set of orders that opened, closed, repaired or rolled it. Each such order carries three
``key=value`` tags in ``Order.tags``::

    group=<group id>          unique per trader; the opening order's client order id is a good choice
    source=<origin>           autonomous | manual | recurring
    structure=<name>          the catalogue name of the structure, e.g. bull_call_spread

Other tags (without ``=`` or with other keys) are left alone, so components may add their own.

A structure with a leg its instrument does not list (the underlying leg of a covered call, collar,
conversion, ..., traded as separate orders on the ``Equity``) names that leg on the structure's
orders, so the group view knows it before any share has traded::

    leg_ratio=<instrument id>:<signed ratio>   e.g. leg_ratio=SPY.OPRA:-100

The ratio is the leg's signed quantity per unit of the group's structure instrument, the unit
the group's ``units`` count (a covered call sells its call: units -1 per structure, shares -100 per
unit, so +100 shares expected). Orders without the tag parse as before.

Two more tags let the owning strategy take its groups over again after a restart from the orders alone
(:mod:`hybrid.trading.restored`)::

    per_unit=<signed integer>   instrument units per unit of the structure as opened (bind's option_quantity)
    parent=<group id>           a rolled group's orders name the group it was rolled from
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from nautilus_trader.model.identifiers import InstrumentId

Source = Literal["autonomous", "manual", "recurring"]
SOURCES: tuple[Source, ...] = get_args(Source)
GROUP_KEY = "group"
SOURCE_KEY = "source"
STRUCTURE_KEY = "structure"
LEG_RATIO_KEY = "leg_ratio"
PER_UNIT_KEY = "per_unit"
PARENT_KEY = "parent"
_FORBIDDEN = frozenset("=, \t\n")


@dataclass(frozen=True, slots=True)
class GroupTags:
    """Which group an order belongs to, where the group came from and what structure it is."""

    group_id: str
    source: str
    structure: str

    def __post_init__(self) -> None:
        for key, value in ((GROUP_KEY, self.group_id), (STRUCTURE_KEY, self.structure)):
            if not value or _FORBIDDEN.intersection(value):
                raise ValueError(f"tag {key!r} must be non-empty without '=', ',' or spaces, got {value!r}")
        if self.source not in SOURCES:
            raise ValueError(f"tag 'source' must be one of {', '.join(SOURCES)}, got {self.source!r}")

    def to_tags(self) -> list[str]:
        """The tags to pass as ``tags=`` when creating an order."""
        return [
            f"{GROUP_KEY}={self.group_id}",
            f"{SOURCE_KEY}={self.source}",
            f"{STRUCTURE_KEY}={self.structure}",
        ]

    @classmethod
    def parse(cls, tags: Iterable[str] | None) -> GroupTags | None:
        """The group tags of an order, or None when the order belongs to no group.

        Raises ValueError when a ``group=`` tag is present but ``source=`` or ``structure=`` is
        missing or invalid: such an order was built against the convention and must not be
        silently dropped from the group view.
        """
        values: dict[str, str] = {}
        for tag in tags or ():
            key, sep, value = tag.partition("=")
            if sep and key in (GROUP_KEY, SOURCE_KEY, STRUCTURE_KEY):
                values[key] = value
        if GROUP_KEY not in values:
            return None
        missing = [k for k in (SOURCE_KEY, STRUCTURE_KEY) if k not in values]
        if missing:
            raise ValueError(f"order tagged group={values[GROUP_KEY]} lacks the {' and '.join(missing)} tag")
        return cls(values[GROUP_KEY], values[SOURCE_KEY], values[STRUCTURE_KEY])


def leg_ratio_tag(instrument_id: InstrumentId, ratio: int) -> str:
    """The tag naming a leg the structure instrument does not list, with its ratio per unit (module doc)."""
    if ratio == 0:
        raise ValueError(f"tag {LEG_RATIO_KEY!r} needs a non-zero ratio for {instrument_id}")
    return f"{LEG_RATIO_KEY}={instrument_id}:{ratio}"


def parse_leg_ratios(tags: Iterable[str] | None) -> dict[InstrumentId, int]:
    """The legs named by ``leg_ratio=`` tags, by instrument; empty when there are none.

    Raises ValueError naming the tag when one is malformed or has a zero ratio.
    """
    out: dict[InstrumentId, int] = {}
    for tag in tags or ():
        key, sep, value = tag.partition("=")
        if not sep or key != LEG_RATIO_KEY:
            continue
        instrument, _, ratio = value.rpartition(":")
        try:
            instrument_id, signed = InstrumentId.from_str(instrument), int(ratio)
        except ValueError:
            signed = 0
        if signed == 0:
            raise ValueError(f"tag {LEG_RATIO_KEY!r} must be <instrument id>:<signed integer>, non-zero, got {value!r}")
        out[instrument_id] = signed
    return out


def tag_value(tags: Iterable[str] | None, key: str) -> str | None:
    """The value of the first ``key=value`` tag, None when there is none."""
    for tag in tags or ():
        name, sep, value = tag.partition("=")
        if sep and name == key:
            return value
    return None
