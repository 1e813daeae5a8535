"""Backtest throughput: the demo configuration against the bare engine on the same catalog.

The demo run is the full system (configs/demo.toml: the autonomous IV-rank strategy with its risk
gate, circuit breaker and leg balancing, its orders worked by the TwoPart algorithm in combo mode, the
bot manager managing its groups, the options margin model, the fill model with price improvement, the
leg fill pricer, the equity sampler and progress actors); the bare run replays the same catalog on the same venue with
a strategy that does nothing and none of our actors. Both are timed
over ``BacktestNode.run()`` (engine build, catalog load, replay). Before either is timed the catalog's
files are read once and the demo's component modules imported, so that neither run pays for a cold
file cache or for importing code the other has already imported. The ratio is taken on CPU time, which
other processes on a shared machine do not inflate the way they inflate wall time.

Keys:
  backtest_catalog              "catalogs/demo", or "generated:<profile>" when it had to be generated
  backtest_quotes               data points replayed per run (quotes plus custom data)
  backtest_demo_seconds         wall time of the demo run
  backtest_demo_cpu_seconds     CPU time of the demo run
  backtest_demo_quotes_per_s    backtest_quotes / backtest_demo_seconds
  backtest_bare_seconds         wall time of the bare run
  backtest_bare_cpu_seconds     CPU time of the bare run
  backtest_bare_quotes_per_s    backtest_quotes / backtest_bare_seconds
  backtest_demo_vs_bare_ratio   demo / bare throughput on CPU time (the goal is at least 0.5)
  backtest_report_seconds       writing the demo run's report folder
  backtest_peak_rss_mb          peak resident memory of the process (both runs)
  backtest_fills_by_rung        the TwoPart ladder's attempts and fills per rung (step), summed over the two
                                parts and the legs, from the report's fill_rates.csv: {"combo": the demo run,
                                "legging": the demo config with the strategy's execution mode "legging"},
                                each {step: [attempts, fills]}
"""

from __future__ import annotations

import importlib
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
from nautilus_trader.trading.strategy import Strategy

from data.synthetic import MarketConfig, generate
from hybrid.backtest import run_backtest, write_report
from hybrid.runconfig import load_settings
from hybrid.runconfig.manifest import MANIFEST_NAME
from hybrid.runconfig.settings import ComponentSpec

ROOT = Path(__file__).resolve().parents[1]
DEMO_CATALOG = ROOT / "catalogs" / "demo"
NO_OP_STRATEGY = ComponentSpec(
    table="strategies",
    index=0,
    path="bench.backtest:NoOpStrategy",
    config_path="nautilus_trader.trading.config:StrategyConfig",
    config={},
)


class NoOpStrategy(Strategy):
    """Receives everything the engine replays and does nothing: the bare engine's cost."""

    def on_start(self) -> None:
        """Nothing to subscribe: a backtest replays every loaded quote anyway."""

    def on_stop(self) -> None:
        """Nothing to release."""


def run(quick: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        catalog, label = _catalog(quick, Path(tmp))
        settings = load_settings(ROOT / "configs" / "demo.toml", catalog=catalog, out=Path(tmp) / "report")
        out = settings.out
        if out is None:
            raise RuntimeError("the demo settings name no report directory")
        warm_up(catalog, settings.components)
        wall, cpu = time.perf_counter(), time.process_time()
        with run_backtest(settings) as demo:
            demo_seconds, demo_cpu = time.perf_counter() - wall, time.process_time() - cpu
            quotes = demo.result.iterations
            t1 = time.perf_counter()
            write_report(demo, out)
            report_seconds = time.perf_counter() - t1
        wall, cpu = time.perf_counter(), time.process_time()
        with run_backtest(replace(settings, components=(NO_OP_STRATEGY,)), instrumented=False):
            bare_seconds, bare_cpu = time.perf_counter() - wall, time.process_time() - cpu
        legging_out = Path(tmp) / "legging"
        with run_backtest(replace(settings, components=_legging(settings.components), progress=False)) as legging:
            write_report(legging, legging_out)
    return {
        "backtest_catalog": label,
        "backtest_quotes": quotes,
        "backtest_demo_seconds": round(demo_seconds, 2),
        "backtest_demo_cpu_seconds": round(demo_cpu, 2),
        "backtest_demo_quotes_per_s": round(quotes / demo_seconds),
        "backtest_bare_seconds": round(bare_seconds, 2),
        "backtest_bare_cpu_seconds": round(bare_cpu, 2),
        "backtest_bare_quotes_per_s": round(quotes / bare_seconds),
        "backtest_demo_vs_bare_ratio": round(bare_cpu / demo_cpu, 3),
        "backtest_report_seconds": round(report_seconds, 2),
        "backtest_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "backtest_fills_by_rung": {"combo": fills_by_rung(out), "legging": fills_by_rung(legging_out)},
    }


def _legging(components: tuple[ComponentSpec, ...]) -> tuple[ComponentSpec, ...]:
    """The components with every strategy's orders worked by TwoPart in legging mode."""
    return tuple(
        replace(spec, config=spec.config | {"execution": spec.config["execution"] | {"mode": "legging"}})
        if spec.table == "strategies" and "execution" in spec.config
        else spec
        for spec in components
    )


def fills_by_rung(report: Path) -> dict[str, list[int]]:
    """{step: [attempts, fills]} of the ladder's rungs in a report's fill_rates.csv."""
    rates = pd.read_csv(report / "fill_rates.csv")
    ladder = rates[rates["kind"] == "ladder"].groupby("step")[["attempts", "fills"]].sum()
    return {str(int(step)): [int(row.attempts), int(row.fills)] for step, row in ladder.iterrows()}


def warm_up(catalog: Path, components: tuple[ComponentSpec, ...]) -> None:
    """Read every file of the catalog once and import every component's module and config module."""
    for path in sorted(catalog.rglob("*")):
        if path.is_file():
            path.read_bytes()
    for spec in components:
        for dotted in (spec.path, spec.config_path):
            importlib.import_module(dotted.partition(":")[0])


def _catalog(quick: bool, tmp: Path) -> tuple[Path, str]:
    """catalogs/demo when it exists (full mode), else a freshly generated catalog."""
    if not quick and (DEMO_CATALOG / MANIFEST_NAME).is_file():
        return DEMO_CATALOG, "catalogs/demo"
    profile = "small" if quick else "demo"
    generate(MarketConfig.profile(profile), tmp / "catalog", progress=False)
    return tmp / "catalog", f"generated:{profile}"
