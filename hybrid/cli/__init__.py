"""The command line: ``python -m hybrid <group> <command>`` (see :mod:`hybrid.cli.main`)."""

from hybrid.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
