"""The search space file (TOML): which dotted keys of the run configuration vary, over what, and how to search.

    [sweep]                       # defaults; the command line overrides each
    search = "grid"               # grid | random | tpe
    trials = 8                    # random and tpe: how many trials
    seed = 0                      # random and tpe: the sampler's seed
    objective = "sharpe"          # hybrid.sweep.objective.OBJECTIVES
    constraint = "max_drawdown_pct<=10"
    heatmap = ["strategies.0.config.short_delta", "strategies.0.config.wing_width"]
    batch = 4                     # tpe: suggestions per round (fixed, so the trials do not depend on the cores)

    [params]
    "strategies.0.config.short_delta" = [0.12, 0.16, 0.20]              # these values
    "strategies.0.config.wing_width" = { low = 3.0, high = 7.0, step = 2.0 }  # a range: every step (grid), or
    "strategies.0.config.max_dte" = { low = 40, high = 60 }             # drawn within it (ints when both are)
    "strategies.0.config.risk_per_position" = { low = 0.005, high = 0.05, log = true }

A key is the path of a value in the run configuration's TOML table, list entries by index
(``strategies.0.config.short_delta`` is ``short_delta`` in the first ``[[strategies]]``'s config).
"""

from __future__ import annotations

import copy
import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.sweep.errors import SweepError

SEARCHES = ("grid", "random", "tpe")
DEFAULT_TPE_BATCH = 4
_SWEEP_KEYS = ("search", "trials", "seed", "objective", "constraint", "heatmap", "batch")
_RANGE_KEYS = ("low", "high", "step", "log")
_MAX_GRID = 10_000


@dataclass(frozen=True)
class Param:
    """One dimension: a list of ``values``, or a range ``low``..``high`` (inclusive) with an optional ``step``."""

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int) and not isinstance(self.step, float)

    def grid(self) -> list[Any]:
        """Every value a grid tries: the list, or the range's steps."""
        if self.values is not None:
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.step is None:
            if not self.integer:
                raise SweepError(f"space: params.{self.key!r}: a grid needs a list or a step for the range")
            return list(range(int(self.low), int(self.high) + 1))
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        points = [self.low + i * self.step for i in range(count)]
        return [int(p) for p in points] if self.integer else [_clean(p) for p in points]

    def corners(self) -> list[Any]:
        """The values that bound the dimension: what to check before any trial runs."""
        return list(self.values) if self.values is not None else [_typed(self, self.low), _typed(self, self.high)]

    def draw(self, rng: np.random.Generator) -> Any:
        """A uniform draw (log-uniform with ``log``), on the step when there is one."""
        if self.values is not None:
            return self.values[int(rng.integers(len(self.values)))]
        assert self.low is not None and self.high is not None
        if self.step is not None:
            points = self.grid()
            return points[int(rng.integers(len(points)))]
        if self.integer and not self.log:
            return int(rng.integers(int(self.low), int(self.high) + 1))
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
            return round(value) if self.integer else _clean(value)
        return _clean(float(rng.uniform(self.low, self.high)))


@dataclass(frozen=True)
class SearchSpace:
    """The parsed space file: its dimensions (sorted by key, so the trials do not depend on the file's order)
    and the ``[sweep]`` defaults."""

    file: Path
    params: tuple[Param, ...]
    defaults: Mapping[str, Any]

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination, the first key varying slowest."""
        axes = [p.grid() for p in self.params]
        size = math.prod(len(a) for a in axes)
        if size > _MAX_GRID:
            raise SweepError(
                f"space {self.file}: the grid has {size:,} trials (at most {_MAX_GRID:,}); use search = random or tpe"
            )
        return [dict(zip(self.keys, combo)) for combo in itertools.product(*axes)]

    def random(self, trials: int, seed: int) -> list[dict[str, Any]]:
        """``trials`` distinct draws (fewer when the space has fewer points), the same for the same seed."""
        rng = np.random.default_rng(seed)
        drawn: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(trials * 100):
            if len(drawn) == trials:
                break
            params = {p.key: p.draw(rng) for p in self.params}
            fingerprint = repr(sorted(params.items()))
            if fingerprint not in seen:
                seen.add(fingerprint)
                drawn.append(params)
        return drawn


def load_space(path: str | Path) -> SearchSpace:
    """Read and check the space file; every problem is one :class:`SweepError` naming the file and the key."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text())
    except OSError as e:
        raise SweepError(
            f"cannot read space file {file}: {e.strerror}; pass an existing TOML file with --space"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"space {file}: TOML syntax error: {e}") from None
    unknown = sorted(set(raw) - {"sweep", "params"})
    if unknown:
        raise SweepError(f"space {file}: unknown table {unknown[0]!r} (valid: sweep, params)")
    defaults = raw.get("sweep", {})
    if not isinstance(defaults, dict):
        raise SweepError(f"space {file}: 'sweep' must be a table")
    for key in defaults:
        if key not in _SWEEP_KEYS:
            raise SweepError(f"space {file}: unknown key 'sweep.{key}' (valid keys: {', '.join(_SWEEP_KEYS)})")
    table = raw.get("params", {})
    if not isinstance(table, dict) or not table:
        raise SweepError(f"space {file}: the space is empty: add a [params] table with at least one dotted key")
    params = tuple(_param(file, key, table[key]) for key in sorted(table))
    return SearchSpace(file=file, params=params, defaults=defaults)


def _param(file: Path, key: str, spec: object) -> Param:
    where = f"space {file}: params.{key!r}"
    if not key or any(not part for part in key.split(".")):
        raise SweepError(f"{where}: a key is a dotted path like strategies.0.config.short_delta")
    if isinstance(spec, list):
        if not spec:
            raise SweepError(f"{where}: the list of values is empty")
        return Param(key=key, values=tuple(spec))
    if not isinstance(spec, dict):
        raise SweepError(f"{where}: must be a list of values or a table {{ low = ..., high = ... }}, got {spec!r}")
    for name in spec:
        if name not in _RANGE_KEYS:
            raise SweepError(f"{where}: unknown key {name!r} (valid keys: {', '.join(_RANGE_KEYS)})")
    low, high, step, log = spec.get("low"), spec.get("high"), spec.get("step"), spec.get("log", False)
    numbers = [v for v in (low, high, step) if v is not None]
    if low is None or high is None or any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers):
        raise SweepError(f"{where}: a range needs numbers low and high (and optionally step, log)")
    if not low < high:
        raise SweepError(f"{where}: low {low} must be below high {high}")
    if step is not None and step <= 0:
        raise SweepError(f"{where}: step must be > 0, got {step}")
    if not isinstance(log, bool) or (log and (low <= 0 or step is not None)):
        raise SweepError(f"{where}: log = true needs low > 0 and no step")
    return Param(key=key, low=low, high=high, step=step, log=log)


def apply_params(table: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of the run configuration's table with each dotted key set to its value."""
    out = copy.deepcopy(dict(table))
    for key, value in params.items():
        node: Any = out
        parts = key.split(".")
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            here = ".".join(parts[:depth]) or "the run config"
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise SweepError(
                        f"space key {key!r}: {here} is a list of {len(node)}; use an index 0..{len(node) - 1}"
                    )
                if last:
                    node[int(part)] = copy.deepcopy(value)
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = copy.deepcopy(value)
                else:
                    node = node.setdefault(part, {})
            else:
                raise SweepError(f"space key {key!r}: {here} is a value ({node!r}), not a table or list")
    return out


def _typed(param: Param, value: float | None) -> Any:
    return int(value) if param.integer and value is not None else value


def _clean(value: float) -> float:
    """A float without binary noise (0.30000000000000004 -> 0.3), so keys and tables read as typed."""
    return float(f"{value:.10g}")
