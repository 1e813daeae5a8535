"""One trial: the run configuration with the trial's parameters set, run as a normal backtest into its own
report folder, in whichever Ray worker the scheduler picks.

A trial's key is a hash of its parameters, its date window and the base run (configuration table and
catalog), so a restarted sweep recognises the trials it already ran. The report is written into a
hidden ``.tmp-`` folder and renamed to ``trials/<key>`` only once ``trial.json`` is in it: a folder
without the dot is a finished trial, whatever happened to the driver or the worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid.backtest.report import run_and_report
from hybrid.runconfig.components import importable
from hybrid.runconfig.settings import ConfigError, RunSettings, settings_from_table
from hybrid.sweep.errors import SweepError
from hybrid.sweep.objective import trial_statistics
from hybrid.sweep.space import apply_params

TRIAL_FILE = "trial.json"
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class BaseRun:
    """What every trial of a sweep shares: the run configuration's table, its file (named in errors) and the
    catalog, and the import roots the workers need for the configuration's components."""

    table: Mapping[str, Any]
    config_file: str
    catalog: str
    import_roots: tuple[str, ...]

    def fingerprint(self) -> str:
        text = json.dumps({"table": self.table, "catalog": self.catalog}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def settings(self, params: Mapping[str, Any], start: str | None, end: str | None, out: Path | None) -> RunSettings:
        """The trial's run settings; a ConfigError when the configuration rejects a value."""
        table = apply_params(self.table, params)
        table["progress"] = False  # a sweep reports its own progress; the trials' would interleave
        return settings_from_table(table, Path(self.config_file), catalog=self.catalog, start=start, end=end, out=out)

    def check(self, params: Mapping[str, Any], start: str | None = None, end: str | None = None) -> RunSettings:
        """The settings once the configuration and every component's config accept the values, else a SweepError
        naming the parameters (what a backtest would reject, found before any trial runs)."""
        try:
            settings = self.settings(params, start, end, None)
            for spec in settings.components:
                importable(spec, self.config_file)
        except ConfigError as e:
            shown = ", ".join(f"{k} = {v!r}" for k, v in params.items()) or "the base run"
            raise SweepError(f"space key {shown}: {e}") from None
        return settings


@dataclass(frozen=True)
class TrialSpec:
    """One backtest of the sweep: its key, the order it was asked for, its parameters and date window."""

    key: str
    index: int
    params: Mapping[str, Any]
    start: str | None
    end: str | None
    base: BaseRun
    trials_dir: str

    @property
    def folder(self) -> Path:
        return Path(self.trials_dir) / self.key


def trial_key(base: BaseRun, params: Mapping[str, Any], start: str | None, end: str | None) -> str:
    text = json.dumps({"base": base.fingerprint(), "params": params, "start": start, "end": end}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finished(trials_dir: Path, key: str) -> dict[str, Any] | None:
    """The record of a trial that already ran, or None."""
    path = trials_dir / key / TRIAL_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def run_trial(spec: TrialSpec) -> dict[str, Any]:
    """Run the trial's backtest (in a Ray worker) and return its record; the report folder stays on disk.

    A backtest that raises is a failed trial (its record says why), not a failed sweep: the same input would
    fail the same way again, so the record is kept and a restart does not retry it.
    """
    for root in reversed(spec.base.import_roots):  # the configuration's components load by path, e.g. strategies.*
        if root not in sys.path:
            sys.path.insert(0, root)
    done = finished(Path(spec.trials_dir), spec.key)
    if done is not None:
        return done
    tmp = Path(spec.trials_dir) / f"{TMP_PREFIX}{spec.key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.perf_counter()
    error: str | None = None
    stats: dict[str, float | None] | None = None
    try:
        run_and_report(spec.base.settings(spec.params, spec.start, spec.end, tmp))
        stats = trial_statistics(json.loads((tmp / "summary.json").read_text())["statistics"])
    except Exception as e:  # recorded in the trial's row: the sweep goes on with the others
        error = f"{type(e).__name__}: {e}".splitlines()[0]
    record = {
        "key": spec.key,
        "index": spec.index,
        "params": dict(spec.params),
        "start": spec.start,
        "end": spec.end,
        "statistics": stats,
        "error": error,
        "seconds": round(time.perf_counter() - started, 2),
        "node": _node_id(),
    }
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / TRIAL_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    try:
        tmp.rename(spec.folder)
    except OSError:  # another attempt of the same trial finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return record


def _node_id() -> str | None:
    """The Ray node that ran the trial (None outside Ray)."""
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None


def clear_unfinished(trials_dir: Path) -> None:
    """Remove the report folders of trials that never finished (a killed driver or worker)."""
    for path in trials_dir.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
