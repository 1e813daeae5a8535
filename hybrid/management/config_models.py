"""Parse the pydantic models an Actor's config carries as tables (rules, overrides, templates) with one-line errors.

NautilusTrader configs are msgspec structs, so nested models arrive as plain mappings from TOML or JSON;
:func:`parse_model` validates one and turns the first problem into a ``ValueError`` that names the config
key and the field, e.g. ``rules.stop_loss_pct: Input should be less than 0 (got 5)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError


def parse_model[M: BaseModel](model: type[M], data: Mapping[str, Any] | M, name: str) -> M:
    """``data`` validated as ``model``; a ValueError naming ``name`` and the failing field otherwise."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join([name, *(str(part) for part in first["loc"])])
        got = first.get("input")
        shown = "" if isinstance(got, Mapping) or got is None else f" (got {got!r})"
        raise ValueError(f"{where}: {first['msg']}{shown}") from None
