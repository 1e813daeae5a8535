"""Position groups: multi-leg positions rebuilt from tagged orders and their (leg) fills."""

from hybrid.tracking.groups import GroupBook, LegState, PositionGroup, rebuild_groups, synthetic_leg_fills
from hybrid.tracking.tags import SOURCES, GroupTags

__all__ = ["SOURCES", "GroupBook", "GroupTags", "LegState", "PositionGroup", "rebuild_groups", "synthetic_leg_fills"]
