"""Sweeps through Ray, each in a subprocess inside a loopback-only network namespace (tests/support/loopback.py):
a grid through embedded Ray, the same grid on a two-node cluster, a resume after the driver is killed, and a
walk-forward with two folds, all on the small catalog (a few seconds a trial)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hybrid.backtest import run_and_report
from hybrid.runconfig import load_settings
from hybrid.sweep.objective import STATISTICS
from tests.support.loopback import loopback_available, loopback_command

pytestmark = [
    pytest.mark.slow,  # Ray and several backtests per test
    pytest.mark.skipif(
        not loopback_available(), reason="Ray starts only in a loopback-only namespace (root, unshare -n)"
    ),
]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "support" / "backtest_small.toml"
TWO_NODES = ROOT / "tests" / "support" / "two_node_sweep.py"
QUANTITY, HOLD = "strategies.0.config.quantity", "strategies.0.config.hold_days"
GRID = f"""
[sweep]
objective = "pnl_closing"

[params]
"{QUANTITY}" = [2, 5]
"{HOLD}" = [1, 2]
"""
TIMEOUT = 300


def sweep_args(catalog: Path, space: Path, out: Path, *extra: str) -> list[str]:
    return ["--config", str(CONFIG), "--catalog", str(catalog), "--space", str(space), "--out", str(out), *extra]


def sweep_cli(*args: str) -> list[str]:
    return loopback_command([sys.executable, "-m", "hybrid", "sweep", *args])


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def space(tmp_path: Path, text: str = GRID) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(text)
    return path


def figures(out: Path) -> pd.DataFrame:
    """The results table without what may differ between equal runs (the seconds a trial took)."""
    return (
        pd.read_csv(out / "results.csv")
        .drop(columns=["seconds", "task_seconds"])
        .sort_values("trial")
        .reset_index(drop=True)
    )


def trial_records(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "trials").glob("*/trial.json")}


def session_pids(session: int) -> list[int]:
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            state, _, _, sid = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[:4]
            if int(sid) == session and state != "Z":  # a zombie is dead, only not yet reaped
                pids.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return pids


def kill_session(session: int) -> None:
    """SIGKILL every process of the session (the driver started it), by id, until none is left."""
    deadline = time.monotonic() + 30
    while (pids := session_pids(session)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    assert not session_pids(session), "processes of the killed sweep are left"


@pytest.fixture(scope="module")
def embedded(
    small_catalog: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("embedded")
    out = tmp / "sweep"
    return out, run(sweep_cli(*sweep_args(small_catalog, space(tmp), out)))


def test_a_grid_sweep_runs_every_trial_as_a_normal_backtest(
    embedded: tuple[Path, subprocess.CompletedProcess[str]], small_catalog: Path, tmp_path: Path
) -> None:
    out, proc = embedded
    assert json.loads((out / "sweep.json").read_text())["status"] == "complete"
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 4 and table["feasible"].all() and table["error"].isna().all()
    assert sorted(zip(table[QUANTITY], table[HOLD])) == [(2, 1), (2, 2), (5, 1), (5, 2)]
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert table["objective"].is_monotonic_decreasing
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), table, check_dtype=False)
    for name in ("heatmap.html", "heatmap.png", "parallel.html", "parallel.png"):
        assert (out / name).stat().st_size > 0
    assert "best trials (maximise pnl_closing):" in proc.stdout
    assert "sweep: 4/4 done, 0 running" in proc.stderr
    # The trial with the config's own values is the plain backtest of that config, figure for figure.
    row = table[(table[QUANTITY] == 5) & (table[HOLD] == 1)].iloc[0]
    direct = json.loads(
        (run_and_report(load_settings(CONFIG, catalog=small_catalog, out=tmp_path / "r")) / "summary.json").read_text()
    )
    trial = json.loads((out / row["report"] / "summary.json").read_text())
    assert trial["statistics"] == direct["statistics"]
    assert trial["groups"] == direct["groups"]


def test_a_two_node_cluster_gives_the_same_results(
    embedded: tuple[Path, subprocess.CompletedProcess[str]], small_catalog: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cluster"
    proc = run(loopback_command([sys.executable, str(TWO_NODES), *sweep_args(small_catalog, space(tmp_path), out)]))
    assert "Ray cluster at" in proc.stderr and "2 node(s), 2 CPUs" in proc.stderr
    pd.testing.assert_frame_equal(figures(out), figures(embedded[0]))
    assert len({record["node"] for record in trial_records(out).values()}) == 2  # both nodes ran trials


def test_a_sweep_resumes_after_its_driver_is_killed(small_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = sweep_args(small_catalog, space(tmp_path), out, "--max-concurrent", "1")
    log = (tmp_path / "first.log").open("w")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen(sweep_cli(*args), cwd=ROOT, env=env, stderr=log, stdout=log, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not trial_records(out) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
    finally:
        kill_session(driver.pid)  # the driver and the embedded Ray it started
        driver.wait()
    before = trial_records(out)
    assert 1 <= len(before) < 4, (tmp_path / "first.log").read_text()[-2000:]
    assert json.loads((out / "sweep.json").read_text())["status"] == "running"  # not mistaken for a finished sweep
    assert not (out / "results.csv").exists()
    stamps = {key: (out / "trials" / key / "trial.json").stat().st_mtime_ns for key in before}

    proc = run(sweep_cli(*args))
    progress = [line for line in proc.stderr.splitlines() if line.startswith("sweep: ") and " done, " in line]
    assert progress[0].startswith(f"sweep: {len(before)}/4 done, 0 running")  # the finished trials are not re-run
    after = trial_records(out)
    assert len(after) == 4
    assert {key: (out / "trials" / key / "trial.json").stat().st_mtime_ns for key in before} == stamps  # not re-run
    assert not list((out / "trials").glob(".tmp-*"))
    assert json.loads((out / "sweep.json").read_text())["status"] == "complete"
    assert len(pd.read_csv(out / "results.csv")) == 4


def test_walk_forward_with_two_folds_joins_the_out_of_sample_curves(small_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "wf"
    args = sweep_args(
        small_catalog, space(tmp_path), out, "--walk-forward", "2d:1d", "--search", "tpe", "--trials", "2"
    )
    proc = run(sweep_cli(*args))
    folds = pd.read_csv(out / "walk_forward" / "folds.csv")
    assert list(folds["fold"]) == [0, 1]
    assert list(folds["train_start"]) == ["2024-01-02", "2024-01-03"]
    assert list(folds["test_start"]) == ["2024-01-04", "2024-01-05"]
    assert folds["test_error"].isna().all()
    curve = pd.read_csv(out / "walk_forward" / "oos_equity.csv")
    assert list(curve["session"]) == ["2024-01-04", "2024-01-05"]
    assert list(curve["fold"]) == [0, 1]
    table = pd.read_csv(out / "results.csv")
    assert sorted(table["role"].value_counts().items()) == [("test", 2), ("train", 4)]
    for _, fold in folds.iterrows():  # each test runs the fold's best training trial
        train = table[(table["role"] == "train") & (table["fold"] == fold["fold"]) & (table["rank"] == 1)].iloc[0]
        test = table[(table["role"] == "test") & (table["fold"] == fold["fold"])].iloc[0]
        assert (test[QUANTITY], test[HOLD]) == (train[QUANTITY], train[HOLD])
        assert fold["in_sample_pnl_closing"] == train["objective"]
    assert (out / "walk_forward" / "equity.png").stat().st_size > 0
    assert "walk-forward: 2 folds" in proc.stdout
    assert set(STATISTICS) <= set(table.columns)
