"""Argument parsing that fails in one line: the CLI's exit-2 contract for every kind of bad input."""

from __future__ import annotations

import argparse
import datetime as dt
import math
from typing import NoReturn

from hybrid.options.catalogue.structure import parse_iso_date


class UsageError(Exception):
    """Bad command-line input; ``main`` prints it as one ``error: ...`` line and exits 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _float(text: str) -> float:
    """``text`` as a float; nan when it is not a number, so the callers' range checks reject it."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def finite_float(text: str) -> float:
    value = _float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def iso_date(text: str) -> dt.date:
    try:
        return parse_iso_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a real date YYYY-MM-DD, got {text!r}") from None


def comma_list(text: str) -> list[str]:
    """``440,445`` -> ``["440", "445"]``; the values are checked by whoever knows what they mean."""
    return [item.strip() for item in text.split(",")]
