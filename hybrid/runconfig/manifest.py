"""``manifest.json`` at a catalog's root: what the catalog holds, so runners can check input cheaply."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_NAME = "manifest.json"


@dataclass
class CatalogManifest:
    """Written by every data source (synthetic generator, Databento import) beside the Parquet data.

    ``underlying`` is the underlying's full instrument id on the options' venue (``SPY.OPRA``);
    ``start`` / ``end`` are ISO-8601 UTC timestamps of the first and last quote.
    """

    source: str  # "synthetic" | "databento"
    underlying: str
    venue: str
    start: str
    end: str
    instruments: int
    quotes: int
    seed: int | None = None
    profile: str | None = None
    iv_history_days: int = 0
    extra: dict = field(default_factory=dict)

    def write(self, catalog_dir: str | Path) -> Path:
        path = Path(catalog_dir) / MANIFEST_NAME
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def read(cls, catalog_dir: str | Path) -> CatalogManifest:
        path = Path(catalog_dir) / MANIFEST_NAME
        return cls(**json.loads(path.read_text()))
