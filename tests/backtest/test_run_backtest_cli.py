"""run_backtest.py end to end: a good run prints where the report went; bad input is one line, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parents[1] / "support" / "backtest_small.toml"


def cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run_backtest.py", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def config_with(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


DEMO = '[[strategies]]\npath = "strategies.spread_demo:SpreadDemo"\n'


def test_a_run_prints_where_the_report_went(small_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = cli("--config", CONFIG, "--catalog", small_catalog, "--end", "2024-01-03", "--out", out, "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"report: {out}"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 4 and summary["end"].startswith("2024-01-03T23:59:59")
    assert "backtest: 100%" in proc.stderr  # progress while it ran


def test_missing_catalog_says_how_to_generate_one(tmp_path: Path) -> None:
    proc = cli("--config", CONFIG, "--catalog", tmp_path / "nowhere")
    assert_one_line_error(proc, "missing or empty", "make catalog", "python -m data.generate --profile demo --out")


def test_empty_catalog_says_how_to_generate_one(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("--config", CONFIG, "--catalog", tmp_path / "empty"), "missing or empty", "make catalog")


def test_dates_outside_the_data_name_the_catalog_range(small_catalog: Path) -> None:
    proc = cli("--config", CONFIG, "--catalog", small_catalog, "--start", "2023-01-01", "--end", "2023-02-01")
    assert_one_line_error(proc, "outside the data", "2024-01-02T14:30:00+00:00", "manifest.json")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            '[[strategies]]\npath = "strategies.nope:Foo"\n',
            ["unknown strategy path 'strategies.nope:Foo'", "no module named 'strategies.nope'"],
        ),
        (
            '[[strategies]]\npath = "strategies.spread_demo:Nope"\n',
            ["unknown strategy path", "module 'strategies.spread_demo' has no 'Nope'"],
        ),
        (
            '[[actors]]\npath = "hybrid.nowhere:Watcher"\n',
            ["unknown actor path 'hybrid.nowhere:Watcher'", "no module named 'hybrid.nowhere'"],
        ),
        ('seed = 1\n[venue\nname = "OPRA"\n', ["TOML syntax error", "line 2"]),
        ("[venue]\nfees = 1.0\n", ["unknown key 'venue.fees'", "starting_balance", "fee_per_contract"]),
        ('colour = "red"\n', ["unknown key 'colour'", "valid keys:"]),
        ('seed = "seven"\n', ["'seed' must be an integer", "str 'seven'"]),
        ('log_level = "LOUD"\n', ["'log_level' must be one of", "WARNING"]),
        ("[fill_model]\nprob_fill_on_touch = 2\n", ["fill_model.prob_fill_on_touch", "[0, 1]"]),
        ('start = "someday"\n', ["'start' must be a date"]),
        (
            DEMO + "[strategies.config]\nquantityy = 5\n",
            ["strategies[0].config (SpreadDemoConfig)", "unknown key 'quantityy'", "quantity"],
        ),
        (
            DEMO + '[strategies.config]\nquantity = "five"\n',
            ["strategies[0].config", "'quantity'", "Expected `int`, got `str`"],
        ),
    ],
)
def test_malformed_config_is_one_line_naming_the_key(
    small_catalog: Path, tmp_path: Path, text: str, fragments: list[str]
) -> None:
    proc = cli("--config", config_with(tmp_path, text), "--catalog", small_catalog)
    assert_one_line_error(proc, *fragments)


def test_bad_command_line_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(cli("--config", CONFIG, "--seed", "x"), "--seed", "invalid int value")
    assert_one_line_error(cli("--config", tmp_path / "absent.toml"), "cannot read config file")
