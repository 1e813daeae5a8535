"""The search space, the objective and the searches' trial lists: parsing, determinism, dotted keys (no Ray)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hybrid.sweep import SweepError
from hybrid.sweep.cluster import Capacity, Progress
from hybrid.sweep.objective import parse_constraint, parse_objective
from hybrid.sweep.search import SearchPlan, run_search
from hybrid.sweep.space import apply_params, load_space
from hybrid.sweep.trial import BaseRun, TrialSpec


def space_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(text)
    return path


SPACE = """
[params]
"strategies.0.config.quantity" = [1, 2, 3]
"strategies.0.config.concession_dollars" = { low = 0.01, high = 0.05, step = 0.02 }
"venue.fee_per_contract" = { low = 0.5, high = 1.0 }
"""


def test_a_grid_is_every_combination_in_key_order(tmp_path: Path) -> None:
    space = load_space(space_file(tmp_path, '[params]\n"b.x" = [1, 2]\n"a.y" = { low = 1, high = 3 }\n'))
    assert space.keys == ["a.y", "b.x"]
    assert space.grid() == [{"a.y": a, "b.x": b} for a in (1, 2, 3) for b in (1, 2)]


def test_a_range_with_a_step_lands_on_clean_values(tmp_path: Path) -> None:
    space = load_space(space_file(tmp_path, '[params]\n"a" = { low = 0.1, high = 0.3, step = 0.1 }\n'))
    assert [p["a"] for p in space.grid()] == [0.1, 0.2, 0.3]


def test_random_draws_are_the_same_for_the_same_seed_and_stay_in_range(tmp_path: Path) -> None:
    space = load_space(space_file(tmp_path, SPACE))
    first, again, other = space.random(6, seed=3), space.random(6, seed=3), space.random(6, seed=4)
    assert first == again != other
    assert len({repr(sorted(p.items())) for p in first}) == 6
    for params in first:
        assert params["strategies.0.config.quantity"] in (1, 2, 3)
        assert params["strategies.0.config.concession_dollars"] in (0.01, 0.03, 0.05)
        assert 0.5 <= params["venue.fee_per_contract"] <= 1.0


def test_a_float_range_without_a_step_is_no_grid(tmp_path: Path) -> None:
    space = load_space(space_file(tmp_path, SPACE))
    with pytest.raises(SweepError, match=r"venue\.fee_per_contract.*needs a list or a step"):
        space.grid()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[params]\n", "the space is empty"),
        ("[sweep]\nsearch = 'grid'\n", "the space is empty"),
        ('[params]\n"a" = []\n', "'a': the list of values is empty"),
        ('[params]\n"a" = { low = 2, high = 1 }\n', "'a': low 2 must be below high 1"),
        ('[params]\n"a" = { low = 1, high = 2, by = 1 }\n', "'a': unknown key 'by'"),
        ('[params]\n"a..b" = [1]\n', "a dotted path"),
        ('[sweep]\nsearchh = "grid"\n[params]\n"a" = [1]\n', "unknown key 'sweep.searchh'"),
        ('[params]\n"a" = [1\n', "TOML syntax error"),
    ],
)
def test_a_bad_space_is_one_error_naming_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(SweepError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        load_space(space_file(tmp_path, text))


def test_dotted_keys_reach_into_tables_and_lists_without_touching_the_original() -> None:
    table: dict[str, Any] = {"strategies": [{"config": {"a": 1}}], "venue": {"fee": 0.65}}
    out = apply_params(table, {"strategies.0.config.a": 2, "venue.fee": 1.0, "report.equity_interval_minutes": 5})
    assert out == {
        "strategies": [{"config": {"a": 2}}],
        "venue": {"fee": 1.0},
        "report": {"equity_interval_minutes": 5},
    }
    assert table["strategies"][0]["config"]["a"] == 1
    with pytest.raises(SweepError, match=r"'strategies.1.config.a': strategies is a list of 1; use an index 0..0"):
        apply_params(table, {"strategies.1.config.a": 2})
    with pytest.raises(SweepError, match=r"'venue.fee.x': venue.fee is a value"):
        apply_params(table, {"venue.fee.x": 2})


def test_objectives_rank_feasible_trials_first_in_their_direction() -> None:
    sharpe = parse_objective("sharpe", "max_drawdown_pct<=10")
    assert sharpe.score({"sharpe": 1.5, "max_drawdown_pct": 4.0}) == 1.5
    assert sharpe.score({"sharpe": 3.0, "max_drawdown_pct": 12.0}) is None  # breaks the constraint
    assert sharpe.score({"sharpe": None, "max_drawdown_pct": 1.0}) is None
    scores = [1.0, None, 2.0]
    assert sorted(scores, key=sharpe.rank_key) == [2.0, 1.0, None]
    drawdown = parse_objective("max_drawdown_pct", None)
    assert sorted(scores, key=drawdown.rank_key) == [1.0, 2.0, None]
    assert str(parse_constraint("sharpe > -0.5")) == "sharpe>-0.5"


@pytest.mark.parametrize(
    ("name", "constraint", "fragment"),
    [("sharp", None, "objective 'sharp' is unknown"), ("sharpe", "drawdown<10", "constraint 'drawdown<10' must")],
)
def test_a_bad_objective_is_one_error(name: str, constraint: str | None, fragment: str) -> None:
    with pytest.raises(SweepError, match=fragment):
        parse_objective(name, constraint)


def fake_run_trials(calls: list[list[dict]]):
    """run_trials without Ray: a made-up score with its best at quantity 3 and concession 0.03."""

    def run(specs: list[TrialSpec], cap: Capacity, progress: Progress) -> dict[str, dict]:
        calls.append([dict(s.params) for s in specs])
        out = {}
        for s in specs:
            score = -abs(s.params["strategies.0.config.quantity"] - 3) - abs(
                s.params["strategies.0.config.concession_dollars"] - 0.03
            )
            stats = {"sharpe": score, "max_drawdown_pct": 1.0}
            out[s.key] = {"key": s.key, "index": s.index, "params": dict(s.params), "start": None, "end": None}
            out[s.key] |= {"statistics": stats, "error": None, "seconds": 0.0, "node": None}
        return out

    return run


def test_tpe_asks_in_fixed_rounds_and_repeats_itself_for_the_same_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = load_space(
        space_file(
            tmp_path,
            '[params]\n"strategies.0.config.quantity" = { low = 1, high = 6 }\n'
            '"strategies.0.config.concession_dollars" = { low = 0.01, high = 0.05 }\n',
        )
    )
    base = BaseRun(table={"strategies": [{"config": {}}]}, config_file="x.toml", catalog="c", import_roots=())
    cap = Capacity(where="test", nodes=1, cpus=2, memory=0, trial_memory=1, slots=2)
    plan = SearchPlan(search="tpe", trials=10, seed=11, batch=3)
    runs = []
    for _ in range(2):
        calls: list[list[dict]] = []
        monkeypatch.setattr("hybrid.sweep.search.run_trials", fake_run_trials(calls))
        records = run_search(space, plan, parse_objective("sharpe", None), base, tmp_path / "trials", cap)
        assert [len(c) for c in calls] == [3, 3, 3, 1]  # rounds of `batch`, whatever the slots
        runs.append([r["params"] for r in records])
    assert runs[0] == runs[1]
    assert len(runs[0]) == 10
