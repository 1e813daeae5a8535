"""Which trials a sweep runs: every grid point, seeded random draws, or Ray Tune's Optuna (TPE) searcher.

Every search is deterministic for the same space and seed, whatever the cluster: the grid and the draws are
fixed up front, and TPE asks ``batch`` trials per round and is told their results in the order it asked, so
its suggestions never depend on which trial finished first. A restarted sweep replays the same rounds and
reuses every trial whose folder exists, so it runs only the missing ones and ends with the same trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid.sweep.cluster import Capacity, Progress, run_trials
from hybrid.sweep.errors import SweepError
from hybrid.sweep.objective import Objective
from hybrid.sweep.space import Param, SearchSpace
from hybrid.sweep.trial import BaseRun, TrialSpec, finished, trial_key

Window = tuple[str | None, str | None]
FULL_RANGE: Window = (None, None)


@dataclass(frozen=True)
class SearchPlan:
    search: str  # grid | random | tpe
    trials: int  # random and tpe
    seed: int
    batch: int  # tpe: trials asked per round


def fixed_trials(space: SearchSpace, plan: SearchPlan) -> list[dict[str, Any]] | None:
    """The parameters of every trial of a grid or random search; None for TPE (it picks as it goes)."""
    if plan.search == "grid":
        return space.grid()
    if plan.search == "random":
        return space.random(plan.trials, plan.seed)
    return None


def check_space(space: SearchSpace, plan: SearchPlan, base: BaseRun) -> None:
    """Every value the search can try is accepted by the run configuration (SweepError naming the key if not):
    each trial of a grid or random search, each list value and range bound of a TPE search."""
    trials = fixed_trials(space, plan)
    if trials is not None:
        checked: set[str] = set()
        for param in space.params:  # one key at a time first, so the error names the key at fault
            for value in param.corners():
                base.check({param.key: value})
        for params in trials:
            fingerprint = repr(sorted(params.items()))
            if fingerprint not in checked:
                checked.add(fingerprint)
                base.check(params)
        return
    for param in space.params:
        for value in param.corners():
            base.check({param.key: value})


def run_search(
    space: SearchSpace,
    plan: SearchPlan,
    objective: Objective,
    base: BaseRun,
    trials_dir: Path,
    cap: Capacity,
    window: Window = FULL_RANGE,
    label: str = "sweep",
) -> list[dict[str, Any]]:
    """Run the search's trials (reusing finished ones) and return their records in the order they were asked."""
    trials = fixed_trials(space, plan)
    if trials is None:
        return _tpe(space, plan, objective, base, trials_dir, cap, window, label)
    specs = [_spec(base, params, index, window, trials_dir) for index, params in enumerate(trials)]
    unique = list({spec.key: spec for spec in specs}.values())
    done = {spec.key: record for spec in unique if (record := finished(trials_dir, spec.key)) is not None}
    progress = Progress(len(unique), len(done), cap.slots, label)
    progress.show()
    records = done | run_trials([s for s in unique if s.key not in done], cap, progress)
    return [records[spec.key] | {"index": spec.index} for spec in specs]


def _spec(base: BaseRun, params: dict[str, Any], index: int, window: Window, trials_dir: Path) -> TrialSpec:
    return TrialSpec(
        key=trial_key(base, params, *window),
        index=index,
        params=params,
        start=window[0],
        end=window[1],
        base=base,
        trials_dir=str(trials_dir),
    )


def _tpe(
    space: SearchSpace,
    plan: SearchPlan,
    objective: Objective,
    base: BaseRun,
    trials_dir: Path,
    cap: Capacity,
    window: Window,
    label: str,
) -> list[dict[str, Any]]:
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = {f"p{i}": param for i, param in enumerate(space.params)}
    sampler = optuna.samplers.TPESampler(seed=plan.seed, n_startup_trials=max(2, min(10, plan.trials // 2)))
    searcher = OptunaSearch(
        space={name: _distribution(param) for name, param in names.items()},
        metric="objective",
        mode=objective.mode,
        sampler=sampler,
    )
    progress = Progress(plan.trials, 0, cap.slots, label)
    progress.show()
    records: list[dict[str, Any]] = []
    while len(records) < plan.trials:
        asked: list[tuple[str, TrialSpec]] = []
        for index in range(len(records), min(plan.trials, len(records) + plan.batch)):
            suggestion = searcher.suggest(f"trial_{index}")
            if not isinstance(suggestion, dict):
                raise SweepError(f"the TPE searcher stopped after {index} trials")
            params = {names[name].key: _decode(names[name], value) for name, value in sorted(suggestion.items())}
            asked.append((f"trial_{index}", _spec(base, params, index, window, trials_dir)))
        done = {spec.key: r for _, spec in asked if (r := finished(trials_dir, spec.key)) is not None}
        progress.done += len(done)
        todo = list({spec.key: spec for _, spec in asked if spec.key not in done}.values())
        results = done | run_trials(todo, cap, progress)
        for trial_id, spec in asked:
            record = results[spec.key] | {"index": spec.index}
            records.append(record)
            searcher.on_trial_complete(
                trial_id, {"objective": objective.search_value(objective.score(record["statistics"]))}
            )
        progress.total = plan.trials
    return records


def _distribution(param: Param) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if param.values is not None:  # by index: values may be tables or lists, which Optuna cannot hold
        return CategoricalDistribution(list(range(len(param.values))))
    assert param.low is not None and param.high is not None
    if param.integer:
        return IntDistribution(int(param.low), int(param.high), log=param.log, step=int(param.step or 1))
    return FloatDistribution(float(param.low), float(param.high), log=param.log, step=param.step)


def _decode(param: Param, value: Any) -> Any:
    if param.values is not None:
        return param.values[int(value)]
    if param.integer:
        return int(value)
    return float(f"{float(value):.10g}")


def best_record(records: Sequence[dict[str, Any]], objective: Objective) -> dict[str, Any] | None:
    """The feasible trial with the best score (the first asked among equals), or None."""
    ranked = sorted(records, key=lambda r: (objective.rank_key(objective.score(r["statistics"])), r["index"]))
    if not ranked or objective.score(ranked[0]["statistics"]) is None:
        return None
    return ranked[0]
