"""Command line: write a synthetic option-market catalog.

    python -m data.generate --profile demo --out catalogs/demo
    python -m data.generate --profile small --seed 7 --scenario high_iv --out /tmp/small

Bad arguments print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import NoReturn

from data.synthetic import MarketConfig, generate
from data.synthetic.config import PROFILES, SCENARIOS


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as a single line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m data.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", required=True, choices=PROFILES, help="demo: 3 months; small: 4 days")
    parser.add_argument("--out", required=True, help="catalog directory to create (new or empty)")
    parser.add_argument("--seed", type=int, help="random seed (profile default if omitted)")
    parser.add_argument("--symbol", help="underlying symbol (default SPY)")
    parser.add_argument("--spot", type=float, help="underlying price before the first session (default 450)")
    parser.add_argument("--start", type=_date, help="first session of intraday quotes, YYYY-MM-DD")
    parser.add_argument("--days", type=int, help="number of sessions with intraday quotes")
    parser.add_argument("--scenario", choices=SCENARIOS, help="force the IV rank of the window into a band")
    parser.add_argument("--non-penny", action="store_true", help="quote $0.05 below $3 and $0.10 above")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {
        name: value
        for name, value in (
            ("seed", args.seed),
            ("symbol", args.symbol),
            ("spot", args.spot),
            ("start", args.start),
            ("days", args.days),
            ("scenario", args.scenario),
        )
        if value is not None
    }
    if args.non_penny:
        overrides["penny"] = False
    began = time.perf_counter()
    try:
        config = MarketConfig.profile(args.profile, **overrides)
        manifest = generate(config, args.out, progress=not args.quiet)
    except ValueError as exc:
        print(f"python -m data.generate: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.out}: {manifest.instruments} instruments, {manifest.quotes} quotes, "
        f"{manifest.start} to {manifest.end}, {manifest.iv_history_days} days of IV history "
        f"({time.perf_counter() - began:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
