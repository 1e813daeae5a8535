"""``python -m hybrid sweep``: a parameter sweep or walk-forward analysis of a backtest on Ray (docs/sweeps.md).

    python -m hybrid sweep --config configs/demo.toml --space SPACE.toml [--catalog DIR] [--out DIR]
        [--address RAY_ADDRESS] [--max-concurrent N] [--trials N] [--seed N] [--search grid|random|tpe]
        [--objective NAME] [--constraint STAT<=X] [--heatmap KEY,KEY] [--walk-forward TRAINd:TESTd]

Re-running with the same ``--out`` runs only the trials that are missing. Bad input exits 2 with one
``error: ...`` line on stderr, before anything is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hybrid.cli.parser import UsageError, comma_list, positive_int
from hybrid.sweep import SweepError
from hybrid.sweep.objective import OBJECTIVES
from hybrid.sweep.run import SweepOptions, run_sweep
from hybrid.sweep.space import SEARCHES


def register(groups: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` command to the top-level parser."""
    sweep = groups.add_parser("sweep", help="a parameter sweep or walk-forward analysis of a backtest on Ray")
    sweep.add_argument("--config", required=True, help="the run configuration (TOML) every trial starts from")
    sweep.add_argument("--space", required=True, help="the search space (TOML: [params] dotted keys, [sweep] defaults)")
    sweep.add_argument("--catalog", help="catalog directory, seen at the same path by every Ray worker")
    sweep.add_argument("--out", help="the sweep's folder (default reports/sweeps/<config>-<space>); reuse it to resume")
    sweep.add_argument(
        "--address", help="a Ray cluster (HOST:PORT, ray://HOST:PORT or auto; default $RAY_ADDRESS, else embedded)"
    )
    sweep.add_argument(
        "--max-concurrent", type=positive_int, help="trials at once (default: what CPUs and memory allow)"
    )
    sweep.add_argument("--trials", type=positive_int, help="random and tpe: how many trials (default 8)")
    sweep.add_argument("--seed", type=int, help="random and tpe: the search's seed (default 0)")
    sweep.add_argument(
        "--search", choices=SEARCHES, help="grid (default), random or tpe (Optuna's TPE through Ray Tune)"
    )
    sweep.add_argument("--objective", choices=OBJECTIVES, help="the statistic to optimise (default sharpe)")
    sweep.add_argument("--constraint", metavar="STAT<=X", help="a bound a trial must meet, e.g. max_drawdown_pct<=10")
    sweep.add_argument(
        "--heatmap", type=comma_list, metavar="KEY,KEY", help="the heatmap's two keys (default the first two)"
    )
    sweep.add_argument(
        "--walk-forward", metavar="TRAINd:TESTd", help="optimise on each training window, test the winner after it"
    )
    sweep.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = args.out or str(Path("reports") / "sweeps" / f"{Path(args.config).stem}-{Path(args.space).stem}")
    options = SweepOptions(
        config=args.config,
        space=args.space,
        out=out,
        catalog=args.catalog,
        address=args.address,
        max_concurrent=args.max_concurrent,
        trials=args.trials,
        seed=args.seed,
        search=args.search,
        objective=args.objective,
        constraint=args.constraint,
        walk_forward=args.walk_forward,
        heatmap=tuple(args.heatmap) if args.heatmap else None,
    )
    try:
        return run_sweep(options)
    except SweepError as e:
        raise UsageError(str(e)) from None
