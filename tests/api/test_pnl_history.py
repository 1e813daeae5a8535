"""The node's P&L history (hybrid.api.pnl_history): lineage sums across rolls, what a sample writes, bounds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hybrid.api.pnl_history import (
    FILL_DELAY,
    PORTFOLIO,
    SAMPLE_SPACING,
    HistoryRecorder,
    PnLHistory,
    Sample,
    fill_wait,
    lineage_samples,
)
from hybrid.api.schemas import Group, Lineage, Management
from hybrid.management.state import ManagementState
from hybrid.store.db import Database

START = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)


def group(group_id: str, status: str, pnl: float | None, root: str | None = None) -> Group:
    management = None
    if root is not None:
        lineage = Lineage(root_id=root, parent_id=None if root == group_id else root, generation=int(root != group_id))
        management = Management(state=ManagementState(), lineage=lineage)
    return Group.model_validate(
        {
            "group_id": group_id, "strategy_id": "S-1", "structure": "iron_condor", "source": "manual",
            "instrument_id": "X.SIM", "underlying": "SPY", "status": status, "units": 1, "opened_units": 1,
            "legs": [], "entry_premium": -1.0, "exit_premium": None, "commissions": 0.0, "pnl": pnl,
            "balanced": True, "unbalanced_at_ns": None, "orders": [], "working_orders": 0, "greeks": None,
            "management": management,
        }
    )  # fmt: skip


class Feed:
    """What the recorder reads: an engine clock a minute further on each read, a total and the groups."""

    def __init__(self) -> None:
        self.now = START
        self.total = 0.0
        self.groups: list[Group] = []
        self.published: list[list[Sample]] = []

    def read(self) -> tuple[dt.datetime, float, list[Group]]:
        self.now += dt.timedelta(minutes=1)
        return self.now, self.total, self.groups


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "state.sqlite")


@pytest.fixture
def history(db: Database) -> PnLHistory:
    return PnLHistory(db, max_points=3)


def written(db: Database) -> None:
    """Wait for the writer's group commits (the recorder never waits for the disk)."""
    db.write(lambda conn: None).result()


def recorder(history: PnLHistory, feed: Feed) -> HistoryRecorder:
    return HistoryRecorder(history, feed.read, lambda ts, samples: feed.published.append(samples))


def test_a_roll_continues_its_lineage_and_unmarked_or_unfilled_groups_are_left_out() -> None:
    groups = [
        group("A", "closed", 120.0, root="A"),
        group("B", "open", -20.0, root="A"),  # A rolled into B: one line, 100 in all
        group("C", "open", 5.0),  # not managed: its own lineage
        group("D", "open", None, root="D"),  # a leg without a mark: no point
        group("E", "unfilled", 0.0),
    ]
    samples = lineage_samples(groups)
    assert samples == {"A": (Sample("A", 100.0, "B"), True), "C": (Sample("C", 5.0, "C"), True)}


def test_samples_are_written_and_read_back_by_series(history: PnLHistory, db: Database) -> None:
    feed = Feed()
    rec = recorder(history, feed)
    feed.groups = [group("A", "open", 10.0, root="A")]
    feed.total = 10.0
    rec.sample()
    feed.groups = [group("A", "closed", 30.0, root="A"), group("B", "open", 1.0, root="A")]
    feed.total = 31.0
    rec.sample()
    written(db)
    portfolio = history.points(PORTFOLIO, limit=10)
    assert [p.pnl for p in portfolio] == [10.0, 31.0]
    assert [p.ts for p in portfolio] == [START + dt.timedelta(minutes=1), START + dt.timedelta(minutes=2)]
    lineage = history.points("A", limit=10)
    assert [(p.pnl, p.group_id) for p in lineage] == [(10.0, "A"), (31.0, "B")]
    assert history.series_of("B") == "A"
    assert history.points(PORTFOLIO, limit=10, since=portfolio[0].ts) == portfolio[1:]
    assert history.lineages(limit=1) == {"A": lineage[1:]}
    assert feed.published[-1] == [Sample(PORTFOLIO, 31.0, None), Sample("A", 31.0, "B")]


def test_a_closed_lineage_is_written_once_more_only_when_it_changes(history: PnLHistory) -> None:
    feed = Feed()
    rec = recorder(history, feed)
    feed.groups = [group("A", "closed", 50.0, root="A")]
    assert [s.series for s in rec.sample()] == [PORTFOLIO, "A"]  # its final P&L, once
    assert [s.series for s in rec.sample()] == [PORTFOLIO]
    feed.groups = [group("A", "closed", 48.0, root="A")]  # a late commission
    assert [s.series for s in rec.sample()] == [PORTFOLIO, "A"]


def test_each_series_keeps_its_newest_points(
    history: PnLHistory, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hybrid.api.pnl_history.PRUNE_EVERY", 1)
    feed = Feed()
    rec = recorder(history, feed)
    for total in range(5):
        feed.total = float(total)
        rec.sample()
    written(db)
    assert [p.pnl for p in history.points(PORTFOLIO, limit=10)] == [2.0, 3.0, 4.0]  # max_points=3


def test_bad_settings_are_refused(history: PnLHistory) -> None:
    with pytest.raises(ValueError, match="interval"):
        HistoryRecorder(history, Feed().read, lambda ts, samples: None, interval=0)
    with pytest.raises(ValueError, match="max_points"):
        PnLHistory(Database(":memory:"), max_points=0)


def test_a_since_far_in_the_future_or_past_is_an_empty_or_whole_answer(history: PnLHistory, db: Database) -> None:
    feed = Feed()
    recorder(history, feed).sample()
    written(db)
    far = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
    assert history.points(PORTFOLIO, limit=5, since=far) == [] and history.lineages(limit=5, since=far) == {}
    assert len(history.points(PORTFOLIO, limit=5, since=dt.datetime(1, 1, 2, tzinfo=dt.UTC))) == 1


def test_a_fill_waits_longer_for_its_sample_once_samples_are_costly() -> None:
    assert fill_wait(0.0) == fill_wait(0.002) == FILL_DELAY  # a small book: a fill's sample as before
    assert fill_wait(0.2) == pytest.approx(SAMPLE_SPACING * 0.2)  # a big one: sampling bounded to a share of the loop
