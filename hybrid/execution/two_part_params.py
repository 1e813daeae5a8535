"""The per-order parameters of the two-part algorithm and the split of N units into two parts.

A primary order may override the algorithm's configured defaults through
``exec_algorithm_params``; the names are those of the order intents' ``two_part`` execution block
(:class:`hybrid.orders.intents.TwoPartExecution`): ``mode``, ``first_fraction``, ``limit_price``,
``ladder_steps``, ``max_attempts``, ``deadline_seconds``, ``on_deadline``. Values may be numbers or
their text (params read back from a database are text). Anything else is an error naming the
parameter and what is valid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MODES = ("combo", "legging")
ON_DEADLINE = ("cancel", "complete")
PARAM_NAMES = (
    "mode",
    "first_fraction",
    "limit_price",
    "ladder_steps",
    "max_attempts",
    "deadline_seconds",
    "on_deadline",
)


@dataclass(frozen=True, slots=True)
class TwoPartParams:
    """What one primary order is worked with (see docs/execution.md)."""

    mode: str
    first_fraction: float
    limit_price: float | None
    ladder_steps: int
    max_attempts: int
    deadline_seconds: float
    on_deadline: str

    def __post_init__(self) -> None:
        _check("mode", self.mode in MODES, f"one of {', '.join(MODES)}", self.mode)
        _check(
            "first_fraction", 0 < self.first_fraction < 1, "a number between 0 and 1 (exclusive)", self.first_fraction
        )
        finite = self.limit_price is None or math.isfinite(self.limit_price)
        _check("limit_price", finite, "a finite net premium per share", self.limit_price)
        _check("ladder_steps", 1 <= self.ladder_steps <= 20, "an integer from 1 to 20", self.ladder_steps)
        _check("max_attempts", 1 <= self.max_attempts <= 100, "an integer from 1 to 100", self.max_attempts)
        _check("deadline_seconds", 0 < self.deadline_seconds <= 86_400, "seconds in (0, 86400]", self.deadline_seconds)
        _check("on_deadline", self.on_deadline in ON_DEADLINE, f"one of {', '.join(ON_DEADLINE)}", self.on_deadline)


def resolve_params(defaults: TwoPartParams, params: Mapping[str, Any] | None) -> TwoPartParams:
    """``defaults`` overridden by a primary order's ``exec_algorithm_params``; ValueError names a bad one."""
    params = params or {}
    unknown = sorted(set(params) - set(PARAM_NAMES))
    if unknown:
        raise ValueError(f"unknown exec_algorithm_params key {unknown[0]!r}; valid: {', '.join(PARAM_NAMES)}")
    casts: dict[str, Callable[[Any], Any]] = {
        "mode": str,
        "first_fraction": float,
        "limit_price": float,
        "ladder_steps": _integer,
        "max_attempts": _integer,
        "deadline_seconds": float,
        "on_deadline": str,
    }
    values = {name: getattr(defaults, name) for name in PARAM_NAMES}
    for name, raw in params.items():
        if raw is None:
            continue
        try:
            values[name] = casts[name](raw)
        except (TypeError, ValueError):
            raise ValueError(
                f"exec_algorithm_params {name!r} must be {casts[name].__name__.strip('_')}-like, got {raw!r}"
            ) from None
    return TwoPartParams(**values)


def split_units(units: int, first_fraction: float) -> tuple[int, ...]:
    """Whole units of the two parts: about ``first_fraction`` first (half rounded up), each at least 1.

    One unit cannot be split: it is worked as a single part.
    """
    if units < 1:
        raise ValueError(f"units must be at least 1, got {units}")
    if units == 1:
        return (1,)
    first = min(max(math.floor(units * first_fraction + 0.5), 1), units - 1)
    return (first, units - first)


def _integer(raw: Any) -> int:
    value = float(raw)
    if not value.is_integer():
        raise ValueError(raw)
    return int(value)


def _check(name: str, ok: bool, valid: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"two-part parameter {name!r} must be {valid}, got {value!r}")
