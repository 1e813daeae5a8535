"""A sweep on Ray against the same backtests one after another: the 8-trial grid of configs/demo_sweep.toml
(``strategies.0.config.short_delta`` x ``wing_width``) of configs/demo.toml over catalogs/demo.

The sweep is ``python -m hybrid sweep`` with an embedded Ray, in a subprocess inside a loopback-only network
namespace (tests/support/loopback.py); the sequential run is the same 8 trials' backtests and reports in this
process, one after another, after their modules were imported once. The sweep's peak memory is the highest
sum of resident memory over every process of its session (driver, Ray's services and workers), sampled
every 0.5 s from /proc. ``--quick``: two trials of the small profile's catalog.

Keys:
  sweep_catalog                 "catalogs/demo", or "generated:small" (quick)
  sweep_trials                  trials of the grid
  sweep_slots                   trials Ray ran at once (the fewer of the CPUs and the memory's trials)
  sweep_seconds                 wall time of the whole sweep command (Ray start, trials, table and plots)
  sweep_sequential_seconds      wall time of the same backtests and reports one after another in one process
  sweep_speedup                 sweep_sequential_seconds / sweep_seconds (the goal is at least 1.7 on 2 cores)
  sweep_trial_seconds_mean      mean time of a trial's backtest and report inside its Ray worker
  sweep_overhead_per_trial_s    mean over the trials of (submission to result, seen by the driver) minus the
                                trial's own time in its worker: Ray's scheduling, worker start and imports, and
                                moving the spec and record (the goal is under 3 s)
  sweep_ray_start_seconds       ray.init of the embedded Ray
  sweep_fixed_seconds           the sweep's time outside its trials: checking the inputs, Ray's start and stop,
                                the table and plots
  sweep_peak_rss_mb             peak resident memory of the whole sweep (every process of it)
  sweep_trial_memory_mb         memory each trial asked Ray for (sized from the catalog)
  sweep_same_results            the sweep's statistics equal the sequential runs' (bool)
  sweep_out                     the sweep's folder (kept: reports/bench-sweep)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from data.synthetic import MarketConfig, generate
from hybrid.backtest import run_and_report
from hybrid.runconfig.settings import read_config_table
from hybrid.sweep.objective import trial_statistics
from hybrid.sweep.space import load_space
from hybrid.sweep.trial import BaseRun
from tests.support.loopback import loopback_command

ROOT = Path(__file__).resolve().parents[1]
DEMO_CATALOG = ROOT / "catalogs" / "demo"
CONFIG = ROOT / "configs" / "demo.toml"
OUT = ROOT / "reports" / "bench-sweep"
SPACE = ROOT / "configs" / "demo_sweep.toml"
QUICK_SPACE = '[params]\n"strategies.0.config.short_delta" = [0.12, 0.16]\n'
SAMPLE_SECONDS = 0.5


def run(quick: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        catalog, label = _catalog(quick, Path(tmp))
        space_file = SPACE
        if quick:
            space_file = Path(tmp) / "space.toml"
            space_file.write_text(QUICK_SPACE)
        space = load_space(space_file)
        trials = space.grid()
        shutil.rmtree(OUT, ignore_errors=True)
        sweep_seconds, peak = _sweep(catalog, space_file)
        summary = json.loads((OUT / "sweep.json").read_text())
        records = [json.loads(p.read_text()) for p in sorted((OUT / "trials").glob("*/trial.json"))]
        base = BaseRun(read_config_table(CONFIG), str(CONFIG), str(catalog), (str(ROOT),))
        sequential, stats = _sequential(base, trials, Path(tmp) / "sequential")
    slots = summary["ray"]["slots"]
    timing = summary["timing"]
    own = [r["seconds"] for r in records]
    table = pd.read_parquet(OUT / "results.parquet")
    overhead = (table["task_seconds"] - table["seconds"]).mean()
    swept = {json.dumps(r["params"], sort_keys=True): r["statistics"] for r in records}
    return {
        "sweep_catalog": label,
        "sweep_trials": len(trials),
        "sweep_slots": slots,
        "sweep_seconds": round(sweep_seconds, 2),
        "sweep_sequential_seconds": round(sequential, 2),
        "sweep_speedup": round(sequential / sweep_seconds, 3),
        "sweep_trial_seconds_mean": round(sum(own) / len(own), 2),
        "sweep_overhead_per_trial_s": round(float(overhead), 2),
        "sweep_ray_start_seconds": timing["ray_start_s"],
        "sweep_fixed_seconds": round(sweep_seconds - timing["trials_s"], 2),
        "sweep_peak_rss_mb": round(peak / 1024**2),
        "sweep_trial_memory_mb": round(summary["ray"]["trial_memory"] / 1024**2),
        "sweep_same_results": swept == stats,
        "sweep_out": str(OUT.relative_to(ROOT)),
    }


def _sweep(catalog: Path, space_file: Path) -> tuple[float, int]:
    """Wall time and peak summed RSS of the sweep command (its own session, so /proc tells its processes)."""
    command = [sys.executable, "-m", "hybrid", "sweep", "--config", str(CONFIG), "--catalog", str(catalog)]
    command += ["--space", str(space_file), "--out", str(OUT)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        loopback_command(command), cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _session_rss(proc.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"the sweep failed ({proc.returncode}): {out[-500:]}")
    return seconds, peak[0]


def _session_rss(session: int) -> int:
    """Bytes resident in every process whose session is ``session``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[3]) != session:  # fields after the name: state ppid pgrp session
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue  # gone between listing and reading
    return total


def _sequential(base: BaseRun, trials: list[dict], out: Path) -> tuple[float, dict[str, dict]]:
    """The trials' backtests and reports one after another in this process, after one warm-up import."""
    sys.path.insert(0, str(ROOT))
    for spec in base.check(trials[0]).components:
        __import__(spec.path.split(":")[0])
    stats: dict[str, dict] = {}
    started = time.perf_counter()
    for index, params in enumerate(trials):
        report = run_and_report(base.settings(params, None, None, out / str(index)))
        summary = json.loads((report / "summary.json").read_text())
        stats[json.dumps(params, sort_keys=True)] = trial_statistics(summary["statistics"])
    return time.perf_counter() - started, stats


def _catalog(quick: bool, tmp: Path) -> tuple[Path, str]:
    if not quick and (DEMO_CATALOG / "manifest.json").is_file():
        return DEMO_CATALOG, "catalogs/demo"
    if not quick:
        raise RuntimeError("catalogs/demo is missing: run `make catalog` first")
    out = tmp / "small"
    generate(MarketConfig.profile("small", seed=5), out, progress=False)
    return out, "generated:small"
