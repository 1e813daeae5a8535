"""Fill-rate statistics: rows in SQLite, the fill-rate table, persistence and the adaptation rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hybrid.execution.fill_stats import COMPONENT, SCHEMA, Attempt, FillStats
from hybrid.store.db import Database

BASE = Attempt(
    scope="backtest",
    run_id="r1",
    ts_submit=0,
    underlying="SPY",
    mode="combo",
    part=1,
    ladder_steps=4,
    step=0,
    leg="combo",
    instrument_id="X.OPRA",
    side="BUY",
    quantity=4.0,
    filled=0.0,
    price=2.10,
    mid=2.10,
    avg_px=None,
    slippage=None,
    time_to_fill_s=None,
)


def attempt(filled: float = 0.0, **changes: object) -> Attempt:
    price = float(changes.get("price", BASE.price))
    mid = float(changes.get("mid", BASE.mid))
    fill = {"avg_px": price, "slippage": price - mid, "time_to_fill_s": 1.0} if filled else {}
    return dataclasses.replace(BASE, filled=filled, **(fill | changes))


def test_table_aggregates_attempts(tmp_path: Path) -> None:
    stats = FillStats(Database(tmp_path / "s.sqlite"))
    stats.record(attempt(4.0, price=2.12, time_to_fill_s=0.5))
    stats.record(attempt(2.0, price=2.14, time_to_fill_s=1.5))
    stats.record(attempt())
    stats.record(attempt(4.0, part=2, step=1, leg="combo"))
    table = stats.table()
    assert list(table.columns) == [
        "underlying",
        "mode",
        "part",
        "kind",
        "step",
        "leg",
        "attempts",
        "fills",
        "fill_rate",
        "quantity",
        "filled",
        "filled_ratio",
        "avg_slippage",
        "avg_time_to_fill_s",
    ]
    first = table.iloc[0]
    assert (first["part"], first["step"], first["attempts"], first["fills"]) == (1, 0, 3, 2)
    assert first["fill_rate"] == pytest.approx(2 / 3)
    assert first["filled_ratio"] == pytest.approx(6 / 12)
    assert first["avg_slippage"] == pytest.approx((0.02 * 4 + 0.04 * 2) / 6)  # weighted by filled quantity
    assert first["avg_time_to_fill_s"] == pytest.approx(1.0)  # over the attempts that filled
    assert len(table) == 2


def test_table_filters_and_groupings(tmp_path: Path) -> None:
    stats = FillStats(Database(tmp_path / "s.sqlite"))
    stats.record(attempt(4.0))
    stats.record(attempt(run_id="r2", scope="live"))
    assert stats.table(run_id="r2")["attempts"].tolist() == [1]
    assert stats.table(scope="backtest")["fills"].tolist() == [1]
    by_leg = stats.table(by=("leg",))
    assert by_leg.to_dict("records")[0]["attempts"] == 2
    with pytest.raises(ValueError, match="fill-rate table keys must be columns"):
        stats.table(by=("colour",))


def test_rows_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    db = Database(path)
    stats = FillStats(db, flush_rows=2)
    stats.record(attempt(4.0))
    assert db.query("SELECT COUNT(*) AS n FROM fill_attempts")[0]["n"] == 0  # buffered
    stats.record(attempt())
    assert db.query("SELECT COUNT(*) AS n FROM fill_attempts")[0]["n"] == 2  # a full batch is written
    stats.record(attempt(1.0))
    stats.flush()
    db.close()
    reopened = FillStats(Database(path))
    assert reopened.table()["attempts"].tolist() == [3]


def test_start_step_is_the_lowest_rung_that_usually_fills(tmp_path: Path) -> None:
    stats = FillStats(Database(tmp_path / "s.sqlite"))
    key = ("backtest", "SPY", "combo", "combo", 4)
    for _ in range(10):
        stats.record(attempt(step=0))  # never fills
        stats.record(attempt(2.0, step=1))  # always (partly) fills
    stats.record(attempt(4.0, step=2))
    assert stats.start_step(key, min_samples=10, target_fill_rate=0.5) == 1
    assert stats.start_step(key, min_samples=11, target_fill_rate=0.5) == 0  # not enough samples yet
    for _ in range(10):
        stats.record(attempt(step=0))
        stats.record(attempt(1.0, step=0))
    assert stats.start_step(key, min_samples=10, target_fill_rate=0.3) == 0  # step 0 fills 10/30 now
    assert stats.start_step(("backtest", "SPY", "combo", "combo", 8), 1, 0.5) == 0  # another ladder size
    assert stats.start_step(("live", "SPY", "combo", "combo", 4), 1, 0.5) == 0  # another scope


def test_a_part_starts_at_the_highest_start_of_its_legs(tmp_path: Path) -> None:
    stats = FillStats(Database(tmp_path / "s.sqlite"))
    for _ in range(5):
        stats.record(attempt(1.0, mode="legging", leg="buy_call", step=3))
        stats.record(attempt(1.0, mode="legging", leg="buy_put", step=1))
    keys = [("backtest", "SPY", "legging", leg, 4) for leg in ("buy_call", "buy_put", "sell_call")]
    assert stats.part_start(keys, min_samples=5, target_fill_rate=0.5, passive_floor=0.0) == 3


def test_the_passive_floor_starts_every_tenth_adapted_part_at_mid_so_mid_can_be_learnt_again(tmp_path: Path) -> None:
    stats = FillStats(Database(tmp_path / "s.sqlite"))
    key = ("backtest", "SPY", "combo", "combo", 4)
    for _ in range(20):
        stats.record(attempt(step=0))  # mid never filled
        stats.record(attempt(1.0, step=4))  # the natural always did
    starts = [stats.part_start([key], 20, 0.5, passive_floor=0.1) for _ in range(30)]
    assert [i for i, start in enumerate(starts, 1) if start == 0] == [10, 20, 30]
    assert set(starts) == {0, 4}
    assert {stats.part_start([key], 20, 0.5, passive_floor=0.0) for _ in range(30)} == {4}  # no floor: sticky
    for _ in range(40):  # the market changed: mid fills again in the parts the floor sends there
        stats.record(attempt(1.0, step=0))
    assert stats.part_start([key], 20, 0.5, passive_floor=0.1) == 0


def test_adaptation_counts_are_read_back_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    stats = FillStats(Database(path))
    for _ in range(5):
        stats.record(attempt(step=0))
        stats.record(attempt(4.0, step=2))
    stats.flush()
    reopened = FillStats(Database(path))
    assert reopened.start_step(("backtest", "SPY", "combo", "combo", 4), min_samples=5, target_fill_rate=0.9) == 2


def test_balancing_rows_are_in_the_table_but_not_in_the_adaptation(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    stats = FillStats(Database(path))
    for _ in range(10):
        stats.record(attempt(4.0, step=-1, kind="balance", price=2.20))  # always fills, at the touch
        stats.record(attempt(step=0))
    key = ("backtest", "SPY", "combo", "combo", 4)
    assert stats.start_step(key, min_samples=5, target_fill_rate=0.5) == 0
    kinds = stats.table(by=("kind",)).set_index("kind")
    assert kinds.loc["balance", "attempts"] == 10 and kinds.loc["balance", "avg_slippage"] == pytest.approx(0.10)
    stats.flush()
    assert FillStats(Database(path)).start_step(key, min_samples=5, target_fill_rate=0.5) == 0  # read back alike
    with pytest.raises(ValueError, match="attempt kind must be one of ladder, balance"):
        stats.record(attempt(kind="repair"))


def test_a_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    old = Database(path)
    v1 = SCHEMA.replace(",\n    kind TEXT NOT NULL DEFAULT 'ladder'", "")
    old.ensure_schema(COMPONENT, 1, v1)
    columns = [name for name in Attempt.__slots__ if name != "kind"]
    row = tuple(getattr(attempt(2.0, step=1), name) for name in columns)
    old.execute(f"INSERT INTO fill_attempts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", row)
    old.close()
    stats = FillStats(Database(path))
    assert stats.table()[["kind", "step", "attempts"]].to_dict("records") == [
        {"kind": "ladder", "step": 1, "attempts": 1}
    ]
    assert stats.db.query("SELECT version FROM schema_versions WHERE component = ?", (COMPONENT,))[0]["version"] == 2
