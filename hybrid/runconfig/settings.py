"""The run configuration file (TOML): catalog, dates, venue, fill model, seed and components.

The schema is documented in docs/backtest.md. Every problem is raised as :class:`ConfigError`
with a one-line message that names the file, the key and what is valid.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

LOG_LEVELS = ("OFF", "TRACE", "DEBUG", "INFO", "WARNING", "ERROR")
COMPONENT_TABLES = ("strategies", "actors", "exec_algorithms")
MARGIN_MODELS = ("default", "options")
IMPROVEMENT_APPLIES_TO = ("spreads", "all")  # which resting limits inside the natural the fill model may fill
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ConfigError(ValueError):
    """Input the user can fix: the message is one line naming the problem and the fix."""


@dataclass(frozen=True)
class ComponentSpec:
    """A strategy, actor or execution algorithm: class and config class import paths and the config table."""

    table: str  # strategies | actors | exec_algorithms
    index: int
    path: str
    config_path: str
    config: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.table}[{self.index}]"


@dataclass(frozen=True)
class VenueSettings:
    name: str | None = None  # None: the catalog's venue
    starting_balance: float = 1_000_000.0
    fee_per_contract: float = 0.65
    fee_per_share: float = 0.005
    share_fee_minimum: float = 1.0  # per order with shares
    margin: str = "default"  # default: NautilusTrader's model; options: hybrid.risk.margin's structure-aware one


@dataclass(frozen=True)
class ImprovementSettings:
    """Fills of resting limits inside the natural (hybrid.backtest.fill_model.InsideHazard); rate 0: none."""

    rate_per_minute: float = 0.0
    exponent: float = 2.0
    applies_to: str = "spreads"


@dataclass(frozen=True)
class FillSettings:
    prob_fill_on_touch: float = 0.3
    prob_slippage: float = 0.0
    improvement: ImprovementSettings = ImprovementSettings()


@dataclass(frozen=True)
class RunSettings:
    """Everything one run needs, after command-line overrides."""

    name: str
    config_file: Path
    catalog: Path
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    seed: int
    log_level: str
    out: Path | None
    reports_dir: Path
    progress: bool
    equity_interval_minutes: int
    venue: VenueSettings
    fill_model: FillSettings
    components: tuple[ComponentSpec, ...]
    chunk_size: int | None = None  # [backtest] chunk_size: rows a chunk when streaming, 0: one shot, None: by size


# key -> (accepted types, description of what is valid)
_TOP: dict[str, tuple[tuple[type, ...], str]] = {
    "name": ((str,), "a string"),
    "catalog": ((str,), "a path string"),
    "start": ((str, dt.date), "a date like 2024-01-02 or an ISO timestamp"),
    "end": ((str, dt.date), "a date like 2024-01-02 or an ISO timestamp"),
    "seed": ((int,), "an integer"),
    "log_level": ((str,), f"one of {', '.join(LOG_LEVELS)}"),
    "reports_dir": ((str,), "a path string"),
    "progress": ((bool,), "true or false"),
    "venue": ((dict,), "a table"),
    "fill_model": ((dict,), "a table"),
    "report": ((dict,), "a table"),
    "backtest": ((dict,), "a table"),
    **dict.fromkeys(COMPONENT_TABLES, ((list,), "an array of tables ([[...]])")),
}
_VENUE = {
    "name": ((str,), "a venue name like OPRA"),
    "starting_balance": ((int, float), "a number of USD"),
    "fee_per_contract": ((int, float), "a number of USD per contract"),
    "fee_per_share": ((int, float), "a number of USD per share"),
    "share_fee_minimum": ((int, float), "a number of USD per order with shares"),
    "margin": ((str,), "one of " + ", ".join(MARGIN_MODELS)),
}
_FILL = {
    "prob_fill_on_touch": ((int, float), "a probability in [0, 1]"),
    "prob_slippage": ((int, float), "a probability in [0, 1]"),
    "improvement": ((dict,), "a table"),
}
_IMPROVEMENT = {
    "rate_per_minute": ((int, float), "a number >= 0 (fill hazard per minute at the natural; 0: no improvement)"),
    "exponent": ((int, float), "a number > 0 (the hazard is rate_per_minute x position ** exponent)"),
    "applies_to": ((str,), "one of " + ", ".join(IMPROVEMENT_APPLIES_TO)),
}
_REPORT = {"equity_interval_minutes": ((int,), "a positive integer")}
_BACKTEST = {"chunk_size": ((int,), "a number of rows >= 0 (0: load the catalog in one shot)")}
_COMPONENT = {
    "path": ((str,), "an import path like package.module:ClassName"),
    "config_path": ((str,), "an import path like package.module:ClassNameConfig"),
    "config": ((dict,), "a table"),
}


def load_settings(
    config_file: str | Path,
    *,
    catalog: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
    out: str | Path | None = None,
    seed: int | None = None,
) -> RunSettings:
    """Read and validate the TOML file; command-line values override the file's."""
    path = Path(config_file)
    return settings_from_table(read_config_table(path), path, catalog=catalog, start=start, end=end, out=out, seed=seed)


def read_config_table(config_file: str | Path) -> dict[str, Any]:
    """The config file's TOML table, unvalidated (a sweep edits it before :func:`settings_from_table`)."""
    return _read_toml(Path(config_file))


def settings_from_table(
    raw: dict[str, Any],
    path: Path,
    *,
    catalog: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
    out: str | Path | None = None,
    seed: int | None = None,
) -> RunSettings:
    """Validate a config table read from ``path`` (named in every error); command-line values override it."""
    top = _checked(raw, _TOP, "", path)
    venue = _checked(top.get("venue", {}), _VENUE, "venue.", path)
    fill = _checked(top.get("fill_model", {}), _FILL, "fill_model.", path)
    improvement = _checked(fill.get("improvement", {}), _IMPROVEMENT, "fill_model.improvement.", path)
    report = _checked(top.get("report", {}), _REPORT, "report.", path)
    backtest = _checked(top.get("backtest", {}), _BACKTEST, "backtest.", path)
    catalog = catalog if catalog is not None else top.get("catalog")
    if catalog is None:
        raise ConfigError(f'{path}: no catalog: set catalog = "DIR" in the file or pass --catalog DIR')
    settings = RunSettings(
        name=top.get("name", path.stem),
        config_file=path,
        catalog=Path(catalog),
        start=_timestamp(*_override(start, top, "start"), path, end_of_day=False),
        end=_timestamp(*_override(end, top, "end"), path, end_of_day=True),
        seed=seed if seed is not None else top.get("seed", 0),
        log_level=_log_level(top.get("log_level", "WARNING"), path),
        out=Path(out) if out is not None else None,
        reports_dir=Path(top.get("reports_dir", "reports")),
        progress=top.get("progress", True),
        equity_interval_minutes=_positive(
            report.get("equity_interval_minutes", 30), "report.equity_interval_minutes", path
        ),
        venue=VenueSettings(
            name=venue.get("name"),
            starting_balance=float(venue.get("starting_balance", VenueSettings.starting_balance)),
            fee_per_contract=float(venue.get("fee_per_contract", VenueSettings.fee_per_contract)),
            fee_per_share=float(venue.get("fee_per_share", VenueSettings.fee_per_share)),
            share_fee_minimum=float(venue.get("share_fee_minimum", VenueSettings.share_fee_minimum)),
            margin=_one_of(venue.get("margin", VenueSettings.margin), MARGIN_MODELS, "venue.margin", path),
        ),
        fill_model=FillSettings(
            prob_fill_on_touch=_probability(
                fill.get("prob_fill_on_touch", FillSettings.prob_fill_on_touch), "fill_model.prob_fill_on_touch", path
            ),
            prob_slippage=_probability(
                fill.get("prob_slippage", FillSettings.prob_slippage), "fill_model.prob_slippage", path
            ),
            improvement=_improvement(improvement, path),
        ),
        components=tuple(_components(top, path)),
        chunk_size=_chunk_size(backtest.get("chunk_size"), path),
    )
    if settings.start is not None and settings.end is not None and settings.start >= settings.end:
        raise ConfigError(f"{path}: start {settings.start} is not before end {settings.end}; swap or widen the dates")
    fees = (settings.venue.fee_per_contract, settings.venue.fee_per_share, settings.venue.share_fee_minimum)
    if settings.venue.starting_balance <= 0 or min(fees) < 0:
        raise ConfigError(
            f"{path}: venue.starting_balance must be > 0 and venue.fee_per_contract, venue.fee_per_share and "
            "venue.share_fee_minimum >= 0"
        )
    return settings


def _override(cli_value: str | None, top: dict, key: str) -> tuple[str | dt.date | None, str]:
    """The command line's value (named ``--key``) when given, else the file's (named ``key``)."""
    return (cli_value, f"--{key}") if cli_value is not None else (top.get(key), key)


def _read_toml(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(
            f"cannot read config file {path}: {e.strerror}; pass an existing TOML file with --config"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: TOML syntax error: {e}") from None


def _checked(table: dict, schema: Mapping[str, tuple[tuple[type, ...], str]], prefix: str, path: Path) -> dict:
    """The table itself, once every key is known and every value has an accepted type."""
    for key, value in table.items():
        if key not in schema:
            raise ConfigError(f"{path}: unknown key '{prefix}{key}' (valid keys: {', '.join(schema)})")
        types, valid = schema[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ConfigError(f"{path}: '{prefix}{key}' must be {valid}, got {type(value).__name__} {value!r}")
    return table


def _components(top: dict, path: Path) -> list[ComponentSpec]:
    specs = []
    for table in COMPONENT_TABLES:
        for index, entry in enumerate(top.get(table, [])):
            where = f"{table}[{index}]."
            if not isinstance(entry, dict):
                raise ConfigError(f"{path}: '{table}' must be an array of tables ([[{table}]]), got {entry!r}")
            _checked(entry, _COMPONENT, where, path)
            if "path" not in entry:
                raise ConfigError(
                    f"{path}: '{where}path' is missing: set it to an import path like package.module:ClassName"
                )
            for key in ("path", "config_path"):
                if key in entry and ":" not in entry[key]:
                    raise ConfigError(
                        f"{path}: '{where}{key}' must look like package.module:ClassName, got {entry[key]!r}"
                    )
            specs.append(
                ComponentSpec(
                    table=table,
                    index=index,
                    path=entry["path"],
                    config_path=entry.get("config_path", entry["path"] + "Config"),
                    config=entry.get("config", {}),
                ),
            )
    return specs


def _timestamp(value: str | dt.date | None, key: str, path: Path, end_of_day: bool) -> pd.Timestamp | None:
    """UTC timestamp; a date alone means its first instant, or for ``end`` its last."""
    if value is None:
        return None
    date_only = (isinstance(value, dt.date) and not isinstance(value, dt.datetime)) or (
        isinstance(value, str) and _DATE_ONLY.match(value) is not None
    )
    try:
        ts = pd.Timestamp(value)
    except ValueError:
        ts = pd.NaT
    if ts is pd.NaT:
        raise ConfigError(f"{path}: '{key}' must be a date like 2024-01-02 or an ISO timestamp, got {value!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts + pd.Timedelta(days=1) - pd.Timedelta(1, "ns") if date_only and end_of_day else ts


def _one_of(value: str, valid: tuple[str, ...], key: str, path: Path) -> str:
    if value not in valid:
        raise ConfigError(f"{path}: '{key}' must be one of {', '.join(valid)}, got {value!r}")
    return value


def _log_level(value: str, path: Path) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{path}: 'log_level' must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def _positive(value: int, key: str, path: Path) -> int:
    if value <= 0:
        raise ConfigError(f"{path}: '{key}' must be a positive integer, got {value}")
    return value


def _chunk_size(value: int | None, path: Path) -> int | None:
    if value is not None and value < 0:
        raise ConfigError(
            f"{path}: 'backtest.chunk_size' must be a number of rows >= 0 (0: load the catalog in one shot), got {value}"
        )
    return value


def _improvement(table: dict, path: Path) -> ImprovementSettings:
    key = "fill_model.improvement."
    rate = float(table.get("rate_per_minute", ImprovementSettings.rate_per_minute))
    exponent = float(table.get("exponent", ImprovementSettings.exponent))
    if not (math.isfinite(rate) and rate >= 0):
        raise ConfigError(f"{path}: '{key}rate_per_minute' must be a number >= 0 (0: no improvement), got {rate}")
    if not (math.isfinite(exponent) and exponent > 0):
        raise ConfigError(f"{path}: '{key}exponent' must be a number > 0, got {exponent}")
    applies_to = _one_of(
        table.get("applies_to", ImprovementSettings.applies_to), IMPROVEMENT_APPLIES_TO, key + "applies_to", path
    )
    return ImprovementSettings(rate_per_minute=rate, exponent=exponent, applies_to=applies_to)


def _probability(value: float, key: str, path: Path) -> float:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{path}: '{key}' must be a probability in [0, 1], got {value}")
    return float(value)
