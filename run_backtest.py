"""Backtest from a config file: catalog in, report folder out.

    python run_backtest.py --config configs/demo.toml [--catalog DIR] [--start DATE] [--end DATE]
                           [--out DIR] [--seed N]

The config file's schema and the report's files are described in docs/backtest.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

from hybrid.backtest import run_and_report
from hybrid.runconfig import ConfigError, load_settings


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _OneLineParser(prog="run_backtest.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="TOML run configuration")
    parser.add_argument("--catalog", help="catalog directory (overrides the file's catalog)")
    parser.add_argument("--start", help="first date or ISO timestamp (UTC) to simulate")
    parser.add_argument("--end", help="last date (inclusive) or ISO timestamp (UTC) to simulate")
    parser.add_argument("--out", help="report folder (default reports/<name>-<UTC timestamp>)")
    parser.add_argument("--seed", type=int, help="seed of the fill model's random draws")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(
            args.config,
            catalog=args.catalog,
            start=args.start,
            end=args.end,
            out=args.out,
            seed=args.seed,
        )
        report = run_and_report(settings)
    except ConfigError as e:
        print(f"run_backtest.py: error: {e}", file=sys.stderr)
        return 2
    print(f"fill model: {json.loads((report / 'summary.json').read_text())['fill_model']['description']}")
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
