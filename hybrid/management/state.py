"""The per-group management state: what has fired, the stop debounce, the manual override, custom rules.

Frozen and JSON-serialisable so the store can persist it after every change and the bot resumes exactly
where it was after a restart.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hybrid.management.management_rules import ManagementRules

ExitKind = Literal["profit", "stop_loss", "roll"]


class ManagementState(BaseModel):
    """Where the bot stands with one group.

    ``fired_levels`` are 1-based tranche numbers already taken; ``stop_count`` the consecutive trusted
    checks beyond the stop; ``paused`` a person's override (the bot leaves the group alone);
    ``rules`` the group's own rules (None: the defaults); ``exit_requested`` the full close already
    asked for, so it is not asked again while its orders work; ``entry_deltas`` each leg's delta when
    the lineage was first opened (legs in :func:`~hybrid.management.group_marking.canonical_legs` order),
    the targets of a ``same_deltas`` roll.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fired_levels: tuple[int, ...] = ()
    stop_count: int = Field(default=0, ge=0)
    paused: bool = False
    rules: ManagementRules | None = None
    exit_requested: ExitKind | None = None
    entry_deltas: tuple[float, ...] | None = None

    def rules_or(self, default: ManagementRules) -> ManagementRules:
        """The rules in force for this group: its own when set, else ``default``."""
        return self.rules if self.rules is not None else default

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> ManagementState:
        return cls.model_validate_json(text)
