"""Benchmark: generating the synthetic option-market catalog.

``run(quick=False)`` generates the ``demo`` profile (``quick``: the ``small`` profile) with its default
seed into a temporary directory, which is removed afterwards, and returns:

- ``catalog_gen_profile``: the profile generated;
- ``catalog_gen_seconds``: wall time of ``data.synthetic.generate`` (model, pricing and catalog writes);
- ``catalog_gen_quotes``: quotes written (underlying and options);
- ``catalog_gen_quotes_per_s``: quotes / seconds;
- ``catalog_gen_instruments``: instruments written (the underlying and every option listed);
- ``catalog_gen_iv_days``: daily 30-day ATM IV records written (warm-up history and window);
- ``catalog_gen_bytes``: total size of the catalog's files;
- ``catalog_gen_files``: number of files in the catalog.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from data.synthetic import MarketConfig, generate


def run(quick: bool = False) -> dict:
    profile = "small" if quick else "demo"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "catalog"
        began = time.perf_counter()
        manifest = generate(MarketConfig.profile(profile), out)
        seconds = time.perf_counter() - began
        files = [p for p in out.rglob("*") if p.is_file()]
        return {
            "catalog_gen_profile": profile,
            "catalog_gen_seconds": round(seconds, 3),
            "catalog_gen_quotes": manifest.quotes,
            "catalog_gen_quotes_per_s": round(manifest.quotes / seconds),
            "catalog_gen_instruments": manifest.instruments,
            "catalog_gen_iv_days": manifest.iv_history_days,
            "catalog_gen_bytes": sum(p.stat().st_size for p in files),
            "catalog_gen_files": len(files),
        }
