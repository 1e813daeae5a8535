"""Streaming backtests: memory and throughput of the demo over a catalog too large to load in one shot.

The catalog is synthetic: the demo profile over 126 sessions (six months, 2024-01-02 to 2024-07-02)
with option quotes on a 90-second grid: 27.1M quotes, 4,109 instruments. It is generated once into
``catalogs/bench-streaming`` (git-ignored) and reused while its manifest matches; the quick mode
generates the ``small`` profile into a temporary directory. Both runs stream the catalog in chunks
of the runner's default chunk size (hybrid.backtest.runner.DEFAULT_CHUNK_SIZE): the demo
configuration (configs/demo.toml, the full system) and the bare engine of bench/backtest.py (the same
catalog and venue, a strategy that does nothing, none of our actors), one after the other in this
process. Resident memory is sampled every 0.2 s during each run; "not growing with the length of the
run" is read from the peak of its second half against the peak of its first. The ratio is taken on
CPU time, as bench/backtest.py does.

Keys:
  streaming_catalog                  "catalogs/bench-streaming" (or "generated:small" in quick mode)
  streaming_generate_seconds         generating the catalog in this run (0 when it was reused)
  streaming_generate_peak_rss_mb     peak resident memory of the generation (0 when reused)
  streaming_quotes                   quotes in the catalog (the manifest's count)
  streaming_sessions                 sessions of intraday data
  streaming_chunk_size               rows a chunk
  streaming_data_points              data points replayed per run (quotes, trades, custom data)
  streaming_demo_seconds             wall time of the streamed demo run
  streaming_demo_cpu_seconds         CPU time of the streamed demo run
  streaming_demo_quotes_per_s        streaming_data_points / streaming_demo_seconds
  streaming_demo_peak_rss_mb         peak resident memory during the demo run (goal: under 3,072)
  streaming_demo_rss_growth          peak of the run's second half / peak of its first half (flat: about 1)
  streaming_bare_seconds             wall time of the streamed bare run
  streaming_bare_cpu_seconds         CPU time of the streamed bare run
  streaming_bare_quotes_per_s        the bare run's data points / streaming_bare_seconds
  streaming_bare_peak_rss_mb         peak resident memory during the bare run
  streaming_demo_vs_bare_ratio       demo / bare throughput on CPU time (goal: at least 0.65)
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.backtest import NO_OP_STRATEGY, warm_up
from data.synthetic import MarketConfig, generate
from hybrid.backtest import run_backtest
from hybrid.backtest.runner import DEFAULT_CHUNK_SIZE
from hybrid.runconfig import load_settings
from hybrid.runconfig.catalog import read_manifest
from hybrid.runconfig.manifest import MANIFEST_NAME
from hybrid.runconfig.settings import RunSettings

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalogs" / "bench-streaming"
FULL_MARKET = {"days": 126, "option_interval_s": 90}
QUICK_CHUNK_SIZE = 5_000
SAMPLE_SECONDS = 0.2
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class RssSamples:
    """Resident memory of this process, sampled on a thread while a run goes on."""

    values: list[float] = field(default_factory=list)

    @property
    def peak_mb(self) -> int:
        return round(max(self.values, default=0.0))

    @property
    def growth(self) -> float:
        half = len(self.values) // 2
        if half == 0:
            return 1.0
        return round(max(self.values[half:]) / max(self.values[:half]), 3)


@contextmanager
def sampled_rss() -> Iterator[RssSamples]:
    samples = RssSamples()
    done = threading.Event()

    def sample() -> None:
        with open("/proc/self/statm") as statm:
            while not done.is_set():
                statm.seek(0)
                samples.values.append(int(statm.read().split()[1]) * PAGE_MB)
                done.wait(SAMPLE_SECONDS)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join()


def run(quick: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
        catalog, label, generate_seconds, generate_rss = _catalog(quick, Path(tmp))
        manifest = read_manifest(catalog)
        chunk_size = QUICK_CHUNK_SIZE if quick else DEFAULT_CHUNK_SIZE
        settings = load_settings(ROOT / "configs" / "demo.toml", catalog=catalog)
        settings = replace(settings, chunk_size=chunk_size, progress=False)
        warm_up(catalog, settings.components)
        demo = _timed(settings, instrumented=True)
        bare = _timed(replace(settings, components=(NO_OP_STRATEGY,)), instrumented=False)
    return {
        "streaming_catalog": label,
        "streaming_generate_seconds": generate_seconds,
        "streaming_generate_peak_rss_mb": generate_rss,
        "streaming_quotes": manifest.quotes,
        "streaming_sessions": int(manifest.extra.get("window_days", 0)),
        "streaming_chunk_size": chunk_size,
        "streaming_data_points": demo.data_points,
        "streaming_demo_seconds": demo.seconds,
        "streaming_demo_cpu_seconds": demo.cpu_seconds,
        "streaming_demo_quotes_per_s": round(demo.data_points / demo.seconds),
        "streaming_demo_peak_rss_mb": demo.rss.peak_mb,
        "streaming_demo_rss_growth": demo.rss.growth,
        "streaming_bare_seconds": bare.seconds,
        "streaming_bare_cpu_seconds": bare.cpu_seconds,
        "streaming_bare_quotes_per_s": round(bare.data_points / bare.seconds),  # its own count (no subscriptions)
        "streaming_bare_peak_rss_mb": bare.rss.peak_mb,
        "streaming_demo_vs_bare_ratio": round(bare.cpu_seconds / demo.cpu_seconds, 3),
    }


@dataclass
class Timed:
    seconds: float
    cpu_seconds: float
    data_points: int
    rss: RssSamples


def _timed(settings: RunSettings, instrumented: bool) -> Timed:
    with sampled_rss() as rss:
        wall, cpu = time.perf_counter(), time.process_time()
        with run_backtest(settings, instrumented=instrumented) as backtest:
            seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
            data_points = backtest.result.iterations
    return Timed(round(seconds, 2), round(cpu_seconds, 2), data_points, rss)


def _catalog(quick: bool, tmp: Path) -> tuple[Path, str, float, int]:
    """The catalog, its label, and the seconds and peak memory (MB) its generation took here (0 when reused)."""
    if quick:
        config = MarketConfig.profile("small")
        out, label = tmp / "catalog", "generated:small"
    else:
        config = MarketConfig.profile("demo", **FULL_MARKET)
        out, label = CATALOG, "catalogs/bench-streaming"
        if (out / MANIFEST_NAME).is_file() and _matches(out, config):
            return out, label, 0.0, 0
        if out.exists():
            raise RuntimeError(f"{out} holds another catalog: remove it and run again")
    with sampled_rss() as rss:
        began = time.perf_counter()
        generate(config, out, progress=False)
    return out, label, round(time.perf_counter() - began, 1), rss.peak_mb


def _matches(catalog: Path, config: MarketConfig) -> bool:
    extra = read_manifest(catalog).extra
    return extra.get("window_days") == config.days and extra.get("option_interval_s") == config.option_interval_s
