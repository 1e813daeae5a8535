"""Group tags, and the group view rebuilt from a real backtest's cache, honest about missing leg fills."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide

from hybrid.backtest import run_backtest
from hybrid.runconfig import load_settings
from hybrid.tracking import GroupTags, rebuild_groups
from strategies.spread_demo import SpreadDemo

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

CONFIG = Path(__file__).resolve().parents[1] / "support" / "backtest_small.toml"


def test_tags_round_trip_and_leave_other_tags_alone() -> None:
    tags = GroupTags("O-20240102-143000-001-000-1", "recurring", "iron_condor")
    assert tags.to_tags() == ["group=O-20240102-143000-001-000-1", "source=recurring", "structure=iron_condor"]
    assert GroupTags.parse([*tags.to_tags(), "EXPIRATION_OPRA_CLOSE", "role=repair"]) == tags


def test_orders_without_a_group_tag_belong_to_no_group() -> None:
    assert GroupTags.parse(None) is None
    assert GroupTags.parse(["source=manual", "anything"]) is None


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["group=g1", "structure=x"], "lacks the source tag"),
        (["group=g1"], "lacks the source and structure tag"),
        (["group=g1", "source=robot", "structure=x"], "source"),
        (["group=", "source=manual", "structure=x"], "'group'"),
    ],
)
def test_malformed_group_tags_are_refused(tags: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GroupTags.parse(tags)


def test_a_group_id_with_separators_is_refused() -> None:
    with pytest.raises(ValueError, match="group"):
        GroupTags("a=b", "manual", "x")


class OversizeSpread(SpreadDemo):
    """Crosses the spread for 10 more units than the ask displays: NautilusTrader 1.231 fills the excess
    at the spread level without leg fills."""

    def submit(self, side: OrderSide, tick: QuoteTick, quantity: int) -> None:
        if side == OrderSide.BUY:
            spread = self.cache.instrument(self.spread_id)
            order = self.order_factory.limit(
                instrument_id=self.spread_id,
                order_side=side,
                quantity=spread.make_qty(int(tick.ask_size) + 10),
                price=spread.make_price(tick.ask_price.as_double() + 0.05),
                tags=self.group.to_tags(),
            )
            self.working = order.client_order_id
            self.submit_order(order)


def test_missing_leg_fills_make_the_group_unbalanced(small_catalog: Path) -> None:
    settings = load_settings(CONFIG, catalog=small_catalog, end="2024-01-02")
    (demo,) = settings.components
    oversize = replace(demo, path=f"{__name__}:OversizeSpread", config_path="strategies.spread_demo:SpreadDemoConfig")
    settings = replace(settings, components=(oversize,))
    with run_backtest(settings) as run:
        groups = rebuild_groups(run.engine.cache)
    (group,) = list(groups)
    assert group.opened_units > 10 and group.units == group.opened_units
    assert not group.balanced and group.unbalanced_at_ns is not None
    for leg in group.legs:
        assert leg.expected == leg.ratio * group.units
        assert abs(leg.quantity) == abs(leg.expected) - 10  # the excess never reached the legs
    assert group.status == "open" and groups.open_groups() == [group]
