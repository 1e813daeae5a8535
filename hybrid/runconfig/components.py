"""Turn the config file's component entries into NautilusTrader importable configs, checked up front.

NautilusTrader resolves import paths and parses config tables only once the engine is being
built, and reports problems as tracebacks; resolving and parsing here first turns each problem
into a one-line :class:`ConfigError` naming the entry, the path or the key.
"""

from __future__ import annotations

import importlib
import re

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ImportableActorConfig, NautilusConfig
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.execution.config import ImportableExecAlgorithmConfig
from nautilus_trader.trading.config import ImportableStrategyConfig
from nautilus_trader.trading.strategy import Strategy

from hybrid.runconfig.settings import ComponentSpec, ConfigError

Importable = ImportableStrategyConfig | ImportableActorConfig | ImportableExecAlgorithmConfig

_BASES: dict[str, tuple[type, str]] = {
    "strategies": (Strategy, "strategy"),
    "actors": (Actor, "actor"),
    "exec_algorithms": (ExecAlgorithm, "execution algorithm"),
}
_UNKNOWN_FIELD = re.compile(r"unknown field `(?P<key>[^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `(?P<key>[^`]+)`")
_AT = re.compile(r" - at `\$\.?(?P<key>[^`]*)`")


def importable(spec: ComponentSpec, source: str) -> Importable:
    """The NautilusTrader importable config for one entry, after its class and config have been checked."""
    base, noun = _BASES[spec.table]
    cls = _resolve(spec.path, f"{noun} path", spec, source)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"{source}: {spec.where}.path {spec.path!r} is not a {base.__name__} subclass")
    config_cls = _resolve(spec.config_path, "config path", spec, source)
    if not (isinstance(config_cls, type) and issubclass(config_cls, NautilusConfig)):
        raise ConfigError(f"{source}: {spec.where}.config_path {spec.config_path!r} is not a NautilusConfig subclass")
    _parse(config_cls, spec, source)
    if spec.table == "strategies":
        return ImportableStrategyConfig(strategy_path=spec.path, config_path=spec.config_path, config=spec.config)
    if spec.table == "actors":
        return ImportableActorConfig(actor_path=spec.path, config_path=spec.config_path, config=spec.config)
    return ImportableExecAlgorithmConfig(
        exec_algorithm_path=spec.path, config_path=spec.config_path, config=spec.config
    )


def _resolve(path: str, what: str, spec: ComponentSpec, source: str) -> object:
    module_name, _, name = path.rpartition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise ConfigError(
                f"{source}: unknown {what} {path!r} in {spec.where}: no module named {module_name!r}"
            ) from None
        raise ConfigError(f"{source}: {spec.where}: module {module_name!r} failed to import: {e}") from None
    if not hasattr(module, name):
        raise ConfigError(f"{source}: unknown {what} {path!r} in {spec.where}: module {module_name!r} has no {name!r}")
    return getattr(module, name)


def _parse(config_cls: type[NautilusConfig], spec: ComponentSpec, source: str) -> None:
    valid = ", ".join(f for f in config_cls.__struct_fields__)
    where = f"{source}: {spec.where}.config ({config_cls.__name__})"
    try:
        config_cls.parse(msgspec.json.encode(spec.config))
    except msgspec.ValidationError as e:
        message = str(e)
        if m := _UNKNOWN_FIELD.search(message):
            raise ConfigError(f"{where}: unknown key {m['key']!r} (valid keys: {valid})") from None
        if m := _MISSING_FIELD.search(message):
            raise ConfigError(f"{where}: required key {m['key']!r} is missing") from None
        at = _AT.search(message)
        if at is None:  # the config class's own check (its __post_init__), which names the key itself
            raise ConfigError(f"{where}: {message}") from None
        raise ConfigError(f"{where}: key {at['key']!r}: {_AT.sub('', message)}") from None
