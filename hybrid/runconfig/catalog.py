"""Check the catalog a run reads before building anything: present, non-empty, covering the dates."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from hybrid.runconfig.manifest import MANIFEST_NAME, CatalogManifest
from hybrid.runconfig.settings import ConfigError


def read_manifest(catalog: Path) -> CatalogManifest:
    """The catalog's manifest; a missing or empty catalog is a ConfigError that says how to make one."""
    quotes = catalog / "data" / "quote_tick"
    if not (catalog / MANIFEST_NAME).is_file() or not quotes.is_dir() or not any(quotes.rglob("*.parquet")):
        raise ConfigError(
            f"catalog {catalog} is missing or empty: generate one with `make catalog` "
            f"or `python -m data.generate --profile demo --out {catalog}`",
        )
    try:
        return CatalogManifest.read(catalog)
    except (json.JSONDecodeError, TypeError) as e:
        raise ConfigError(f"catalog {catalog}: unreadable {MANIFEST_NAME} ({e}); regenerate the catalog") from None


def effective_range(
    manifest: CatalogManifest,
    catalog: Path,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The requested range clipped to the catalog's quotes; a range with no quotes is a ConfigError."""
    first, last = pd.Timestamp(manifest.start), pd.Timestamp(manifest.end)
    lo = first if start is None else max(start, first)
    hi = last if end is None else min(end, last)
    if lo > hi:
        asked = f"{'start' if start is None else start.isoformat()} .. {'end' if end is None else end.isoformat()}"
        raise ConfigError(
            f"date range {asked} is outside the data of catalog {catalog} "
            f"({first.isoformat()} .. {last.isoformat()}, from {MANIFEST_NAME}); choose dates within it",
        )
    return lo, hi
