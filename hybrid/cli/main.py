"""The ``python -m hybrid`` entry point: one parser, a subcommand group per concern, one-line errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hybrid.cli import strategies, sweep
from hybrid.cli.parser import OneLineParser, UsageError

# A later issue adds a group (``python -m hybrid <group> ...``) by writing a module with
# ``register(groups)`` whose commands set ``run`` (args -> exit code), and listing it here.
COMMAND_GROUPS = (strategies, sweep)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m hybrid", description="Hybrid options trading system tools.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in COMMAND_GROUPS:
        group.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 2 (with one ``error: ...`` line on stderr) on bad input."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
