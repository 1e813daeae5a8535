"""The two-part algorithm's per-order parameters: their names, defaults and bounds, defined once.

Three places read them: the order intents' ``two_part`` execution block
(:class:`hybrid.orders.intents.TwoPartExecution`: the bounds become its JSON schema), the algorithm's
config (:class:`hybrid.execution.two_part.TwoPartConfig`: its defaults are :data:`DEFAULTS`) and a
primary order's ``exec_algorithm_params`` (:func:`resolve_params`). The definition sits in the
vocabulary layer because ``hybrid.orders`` and ``hybrid.execution`` are siblings that may not import
each other, and both need it.

Values in ``exec_algorithm_params`` may be numbers or their text (params read back from a database
are text). Anything else is an error naming the parameter and what is valid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

Mode = Literal["combo", "legging"]
OnDeadline = Literal["cancel", "complete"]
MODES: tuple[str, ...] = get_args(Mode)
ON_DEADLINE: tuple[str, ...] = get_args(OnDeadline)


@dataclass(frozen=True, slots=True)
class Bounds:
    """A numeric range (pydantic's ``gt``/``ge``/``lt``/``le``); ``valid`` says it in an error message."""

    valid: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def contains(self, value: float) -> bool:
        return (
            (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )


FIRST_FRACTION = Bounds("a number between 0 and 1 (exclusive)", gt=0, lt=1)
LADDER_STEPS = Bounds("an integer from 1 to 20", ge=1, le=20)
MAX_ATTEMPTS = Bounds("an integer from 1 to 100", ge=1, le=100)
DEADLINE_SECONDS = Bounds("seconds in (0, 86400]", gt=0, le=86_400)


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
        _within("first_fraction", FIRST_FRACTION, self.first_fraction)
        finite = self.limit_price is None or math.isfinite(self.limit_price)
        _check("limit_price", finite, "a finite net premium per share", self.limit_price)
        _within("ladder_steps", LADDER_STEPS, self.ladder_steps)
        _within("max_attempts", MAX_ATTEMPTS, self.max_attempts)
        _within("deadline_seconds", DEADLINE_SECONDS, self.deadline_seconds)
        _check("on_deadline", self.on_deadline in ON_DEADLINE, f"one of {', '.join(ON_DEADLINE)}", self.on_deadline)


PARAM_NAMES = tuple(f.name for f in fields(TwoPartParams))


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


def _integer(raw: Any) -> int:
    value = float(raw)
    if not value.is_integer():
        raise ValueError(raw)
    return int(value)


def _within(name: str, bounds: Bounds, value: float) -> None:
    _check(name, bounds.contains(value), bounds.valid, value)


def _check(name: str, ok: bool, valid: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"two-part parameter {name!r} must be {valid}, got {value!r}")


DEFAULTS = TwoPartParams(
    mode="combo",
    first_fraction=0.35,
    limit_price=None,
    ladder_steps=4,
    max_attempts=5,
    deadline_seconds=180.0,
    on_deadline="cancel",
)
