"""Benchmark: the two-part execution algorithm working many multi-leg orders in one backtest.

``run(quick=False)`` runs two backtests over a synthetic sub-second option market
(:mod:`bench.exec_simulation`: 8 calls quoted every 250 ms), each working vertical-spread
orders (2 legs, 4 units, so a 1 + 3 unit split) in combo mode through ``TwoPart``: one order every
half second, cycling through 4 verticals that share no leg, all bought. The
small run has 1,000 orders, the large one 10,000 (``quick``: 100 and 1,000); the market lasts as
long as the orders need. Fill statistics go to a temporary SQLite file. Keys:

- ``exec_algo_small_orders`` / ``exec_algo_large_orders``: primary orders worked;
- ``exec_algo_<size>_seconds``: wall time of ``BacktestEngine.run`` (market building excluded);
- ``exec_algo_<size>_cpu_seconds``: CPU time of the same (steadier than wall time on a shared machine);
- ``exec_algo_<size>_orders_per_s``: primary orders / seconds;
- ``exec_algo_<size>_fill_events_per_s``: ``OrderFilled`` events (children, leg repairs and the
  synthetic leg fills) / seconds;
- ``exec_algo_<size>_fill_events``, ``exec_algo_<size>_children``: the counts behind them;
- ``exec_algo_<size>_filled_units_pct``: units filled / units ordered, in percent;
- ``exec_algo_<size>_peak_rss_mb``: peak resident memory of the run's process (MB);
- ``exec_algo_scaling_ratio``: large seconds / small seconds (orders x10; must stay below 12);
- ``exec_algo_scaling_ratio_cpu``: the same ratio of CPU seconds.

Each run has a fresh interpreter: a BacktestEngine run after another in the same process was
measured 30-45% slower per order (state left by the first), which would flatter or spoil the ratio.

Why bought only, on verticals that share no leg: a leg position that goes flat and reopens
becomes a closed position, and NautilusTrader's portfolio analyzer appends each one to a pandas
Series by ``concat`` (quadratic in closed positions, in and after the run). That cost belongs to
round-trip churn, not to the algorithm, so the benchmark keeps every leg position open.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId

from bench.exec_simulation import (
    SECOND_NS,
    OrderSchedule,
    OrderScheduleConfig,
    SimMarketConfig,
    build_engine,
    make_market,
)
from hybrid.backtest.progress import Progress, ProgressConfig
from hybrid.execution.two_part import TwoPart, TwoPartConfig
from hybrid.execution.two_part_report import result

STRIKES = (95.0, 100.0, 105.0, 110.0, 115.0, 120.0, 125.0, 130.0)
START_MIDS = (9.5, 6.0, 3.2, 1.4, 0.55, 0.25, 0.12, 0.06)
EVERY_SECONDS = 0.5
UNITS = 4
TAIL_SECONDS = 120.0  # after the last order: its deadline (60 s) and repairs


def run(quick: bool = False) -> dict[str, float | int | str]:
    small, large = (100, 1_000) if quick else (1_000, 10_000)
    out: dict[str, float | int | str] = {}
    seconds: dict[str, tuple[float, float]] = {}  # wall and CPU
    for name, count in (("small", small), ("large", large)):
        print(f"exec_algo: {count} orders ...", file=sys.stderr, flush=True)
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            figures = pool.submit(_one_run, count).result()
        out.update({f"exec_algo_{name}_{key}": value for key, value in figures.items()})
        seconds[name] = (figures["seconds"], figures["cpu_seconds"])
    out["exec_algo_scaling_ratio"] = round(seconds["large"][0] / seconds["small"][0], 2)
    out["exec_algo_scaling_ratio_cpu"] = round(seconds["large"][1] / seconds["small"][1], 2)
    return out


def _one_run(count: int) -> dict[str, float | int]:
    seconds = count * EVERY_SECONDS + TAIL_SECONDS
    market = make_market(SimMarketConfig(strikes=STRIKES, start_mids=START_MIDS, seconds=seconds, seed=11))
    spreads = tuple(market.vertical(i, i + 1) for i in range(0, len(STRIKES), 2))
    engine = build_engine(market, spreads=spreads, log_level="OFF")
    schedule = OrderSchedule(
        OrderScheduleConfig(
            instrument_ids=tuple(s.id.value for s in spreads),
            first_at_ns=market.start_ns + 5 * SECOND_NS,
            count=count,
            every_seconds=EVERY_SECONDS,
            quantity=UNITS,
            log_events=False,
            log_commands=False,
        ),
    )
    engine.add_strategy(schedule)
    engine.add_actor(
        Progress(ProgressConfig(start_ns=market.start_ns, end_ns=market.end_ns, step_percent=10, interval_minutes=1))
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = TwoPartConfig(
            stats_db=str(Path(tmp) / "stats.sqlite"), deadline_seconds=60.0, log_events=False, log_commands=False
        )
        engine.add_exec_algorithm(TwoPart(config))
        began, began_cpu = time.perf_counter(), time.process_time()
        engine.run()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        orders = engine.cache.orders()
        fills = sum(isinstance(e, OrderFilled) for o in orders for e in o.events)
        leg_fills = sum(
            isinstance(e, OrderFilled) and "-LEG-" in e.client_order_id.value
            for p in [*engine.cache.positions(), *engine.cache.position_snapshots()]
            for e in p.events
        )
        filled_units = sum(_summary(engine, o)["filled_units"] for o in schedule.submitted)
        engine.dispose()
    return {
        "orders": count,
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu, 3),
        "orders_per_s": round(count / elapsed, 1),
        "fill_events": fills + leg_fills,
        "fill_events_per_s": round((fills + leg_fills) / elapsed, 1),
        "children": len(orders) - count,
        "filled_units_pct": round(100.0 * filled_units / (count * UNITS), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _summary(engine: BacktestEngine, primary_id: ClientOrderId) -> dict:
    summary = result(engine.cache, primary_id)
    if summary is None:
        raise RuntimeError(f"{primary_id} was still being worked at the end of the run")
    return summary
