"""A whole sweep: check every input before anything is written or Ray starts, run the search (or one per
walk-forward fold) on Ray, then write the table, the best trials and the plots, and mark the sweep complete.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hybrid.runconfig.catalog import read_manifest
from hybrid.runconfig.settings import ConfigError, read_config_table
from hybrid.sweep.cluster import Capacity, capacity, check_reachable, ray_session, trial_memory
from hybrid.sweep.errors import SweepError
from hybrid.sweep.objective import Objective, parse_objective
from hybrid.sweep.plots import write_plots
from hybrid.sweep.results import best_lines, results_table, write_results, write_status
from hybrid.sweep.search import SearchPlan, best_record, check_space, run_search
from hybrid.sweep.space import DEFAULT_TPE_BATCH, SEARCHES, SearchSpace, load_space
from hybrid.sweep.trial import BaseRun, TrialSpec, clear_unfinished, trial_key
from hybrid.sweep.walk_forward import Fold, FoldResult, folds, write_report

DEFAULT_RANDOM_TRIALS = 8


@dataclass(frozen=True)
class SweepOptions:
    """The command line's values; None: the space file's ``[sweep]`` default, else the built-in one."""

    config: str
    space: str
    out: str
    catalog: str | None = None
    address: str | None = None
    max_concurrent: int | None = None
    trials: int | None = None
    seed: int | None = None
    search: str | None = None
    objective: str | None = None
    constraint: str | None = None
    walk_forward: str | None = None
    heatmap: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Prepared:
    space: SearchSpace
    plan: SearchPlan
    objective: Objective
    base: BaseRun
    heatmap: tuple[str, ...]
    folds: list[Fold] | None
    trial_memory: int
    starting_balance: float


def prepare(options: SweepOptions) -> Prepared:
    """Every check that needs no Ray: the space, the search, the objective, the run configuration and each
    value the search can try, the catalog and the walk-forward windows (SweepError on the first problem)."""
    space = load_space(options.space)
    defaults = space.defaults
    search = _pick(options.search, defaults, "search", "grid", str)
    if search not in SEARCHES:
        raise SweepError(f"search {search!r} is unknown (valid: {', '.join(SEARCHES)})")
    plan = SearchPlan(
        search=search,
        trials=_positive(_pick(options.trials, defaults, "trials", DEFAULT_RANDOM_TRIALS, int), "trials"),
        seed=_pick(options.seed, defaults, "seed", 0, int),
        batch=_positive(_pick(None, defaults, "batch", DEFAULT_TPE_BATCH, int), "sweep.batch"),
    )
    objective = parse_objective(
        _pick(options.objective, defaults, "objective", "sharpe", str),
        _pick(options.constraint, defaults, "constraint", "", str) or None,
    )
    heatmap = tuple(options.heatmap or defaults.get("heatmap") or space.keys[:2])
    for key in heatmap:
        if key not in space.keys:
            raise SweepError(f"heatmap axis {key!r} is not a key of the space (keys: {', '.join(space.keys)})")
    try:
        table = read_config_table(options.config)
        catalog = options.catalog if options.catalog is not None else table.get("catalog")
        if not isinstance(catalog, str):
            raise ConfigError(f'{options.config}: no catalog: set catalog = "DIR" in the file or pass --catalog DIR')
        catalog = str(Path(catalog).resolve())  # the workers' working directory is not the driver's
        root = str(Path(__file__).resolve().parents[2])
        base = BaseRun(table=table, config_file=options.config, catalog=catalog, import_roots=(root, str(Path.cwd())))
        settings = base.check({})
        manifest = read_manifest(settings.catalog)
    except ConfigError as e:
        raise SweepError(str(e)) from None
    check_space(space, plan, base)
    return Prepared(
        space=space,
        plan=plan,
        objective=objective,
        base=base,
        heatmap=heatmap,
        folds=folds(manifest, options.walk_forward) if options.walk_forward else None,
        trial_memory=trial_memory(settings, manifest),
        starting_balance=settings.venue.starting_balance,
    )


def run_sweep(options: SweepOptions) -> int:
    """Run the sweep described by ``options``; 0 once ``sweep.json`` says complete."""
    clock = [time.perf_counter()]
    prepared = prepare(options)
    address = options.address or os.environ.get("RAY_ADDRESS") or None
    if address:  # before anything is written: an unreachable cluster is bad input like the others
        check_reachable(address)
    out = Path(options.out)
    trials_dir = out / "trials"
    trials_dir.mkdir(parents=True, exist_ok=True)
    clear_unfinished(trials_dir)
    about: dict[str, Any] = {
        "config": options.config,
        "space": options.space,
        "catalog": prepared.base.catalog,
        "plan": asdict(prepared.plan),
        "objective": prepared.objective.describe(),
        "walk_forward": options.walk_forward,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_status(out, "running", about)
    timing = {"prepare_s": _lap(clock)}
    with ray_session(options.address) as where:
        timing["ray_start_s"] = _lap(clock)
        cap = capacity(where, prepared.trial_memory, options.max_concurrent)
        print(
            f"sweep: {cap.where}: {cap.nodes} node(s), {cap.cpus} CPUs, {cap.memory / 1024**3:.1f} GB; "
            f"{cap.trial_memory / 1024**3:.1f} GB a trial, {cap.slots} at once",
            file=sys.stderr,
        )
        about |= {"ray": {"where": cap.where, "nodes": cap.nodes, "slots": cap.slots, "trial_memory": cap.trial_memory}}
        if prepared.folds is None:
            records = run_search(prepared.space, prepared.plan, prepared.objective, prepared.base, trials_dir, cap)
            roles: dict[str, tuple[str, int | None]] = {}
        else:
            records, roles, walk = _walk_forward(prepared, trials_dir, cap, out)
            about["walk_forward_summary"] = walk
        timing["trials_s"] = _lap(clock)
    timing["ray_stop_s"] = _lap(clock)
    table = results_table(records, prepared.space.keys, prepared.objective, roles)
    write_results(out, table)
    write_plots(out, table, prepared.space.keys, prepared.heatmap, prepared.objective)
    about["trials"] = len(table)
    about["failed"] = int(table["error"].notna().sum())
    about["timing"] = timing | {"write_s": _lap(clock)}
    write_status(out, "complete", about)
    for line in best_lines(table, prepared.space.keys, prepared.objective):
        print(line)
    if "walk_forward_summary" in about:
        walk = about["walk_forward_summary"]
        print(
            f"walk-forward: {walk['folds']} folds, mean in-sample {prepared.objective.stat} {_fmt(walk['mean_in_sample'])}, "
            f"out-of-sample {_fmt(walk['mean_out_of_sample'])} (decay {_fmt(walk['mean_decay'])}); "
            f"joined out-of-sample return {walk['out_of_sample_return_pct']}% ({out / 'walk_forward'})"
        )
    print(f"sweep: {len(table)} trials in {out} (results.csv, results.parquet, heatmap, parallel)")
    return 0


def _walk_forward(
    prepared: Prepared, trials_dir: Path, cap: Capacity, out: Path
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, int | None]], dict[str, Any]]:
    from hybrid.sweep.cluster import Progress, run_trials
    from hybrid.sweep.trial import finished

    assert prepared.folds is not None
    records: list[dict[str, Any]] = []
    roles: dict[str, tuple[str, int | None]] = {}
    results = []
    for fold in prepared.folds:
        label = fold.label("train")
        trained = run_search(
            prepared.space, prepared.plan, prepared.objective, prepared.base, trials_dir, cap, fold.train, label
        )
        records += trained
        roles |= {r["key"]: ("train", fold.number) for r in trained}
        winner = best_record(trained, prepared.objective)
        test = None
        if winner is not None:
            key = trial_key(prepared.base, winner["params"], *fold.test)
            spec = TrialSpec(key, 0, winner["params"], fold.test[0], fold.test[1], prepared.base, str(trials_dir))
            test = finished(trials_dir, key)
            if test is None:
                progress = Progress(1, 0, cap.slots, fold.label("test"))
                test = run_trials([spec], cap, progress)[key]
            records.append(test)
            roles[key] = ("test", fold.number)
        results.append(FoldResult(fold, winner, test))
    summary = write_report(out, results, prepared.objective, prepared.space.keys, prepared.starting_balance)
    return records, roles, summary


def _lap(clock: list[float]) -> float:
    """Seconds since the last lap (wall clock: how long the sweep's phases took, for sweep.json)."""
    now = time.perf_counter()
    seconds, clock[0] = now - clock[0], now
    return round(seconds, 2)


def _pick(cli: Any, defaults: Any, key: str, fallback: Any, kind: type) -> Any:
    value = cli if cli is not None else defaults.get(key, fallback)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise SweepError(f"sweep.{key} must be {'an integer' if kind is int else 'a string'}, got {value!r}")
    return value


def _positive(value: int, key: str) -> int:
    if value < 1:
        raise SweepError(f"{key} must be a positive integer, got {value}")
    return value


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
