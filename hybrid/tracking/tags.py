"""The tag convention every order of a position group carries.

NautilusTrader positions are per instrument, so a multi-leg position (a group) exists only as the
set of orders that opened, closed, repaired or rolled it. Each such order carries three
``key=value`` tags in ``Order.tags``::

    group=<group id>          unique per trader; the opening order's client order id is a good choice
    source=<origin>           autonomous | manual | recurring
    structure=<name>          the catalogue name of the structure, e.g. bull_call_spread

Other tags (without ``=`` or with other keys) are left alone, so components may add their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SOURCES = ("autonomous", "manual", "recurring")
GROUP_KEY = "group"
SOURCE_KEY = "source"
STRUCTURE_KEY = "structure"
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
