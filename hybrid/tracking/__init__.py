"""Position groups: multi-leg positions rebuilt from tagged orders and their (leg) fills."""

from hybrid.tracking.groups import GroupBook, LegState, PositionGroup, rebuild_groups, synthetic_leg_fills
from hybrid.tracking.legged import LeggedUnits, legged_units, record_legged_units
from hybrid.tracking.tags import SOURCES, GroupTags, leg_ratio_tag, parse_leg_ratios

__all__ = [
    "SOURCES",
    "GroupBook",
    "GroupTags",
    "LegState",
    "LeggedUnits",
    "PositionGroup",
    "leg_ratio_tag",
    "legged_units",
    "parse_leg_ratios",
    "rebuild_groups",
    "record_legged_units",
    "synthetic_leg_fills",
]
