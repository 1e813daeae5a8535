"""Benchmark: the Databento import against the raw decode of the same file.

``run(quick=False)`` writes, in a temporary directory, an OPRA.PILLAR mbp-1 file of 10M records (``quick``:
1M) with ``databento_dbn``'s record layout: 500 SPY options (and their definitions) quoted by four exchanges
in turn, each record a new bid/ask; then times the raw decode (every record decompressed and decoded to
numpy by the databento client, ``DBNStore.to_ndarray`` in chunks) and the import (``data.databento_import``,
best quote across the exchanges, catalog written in chunks, IV history derived), the import in a child
process whose peak RSS (its own ``VmHWM``) is measured. Keys:

- ``databento_records``: records in the file;
- ``databento_raw_decode_records_per_s``: records / seconds of the raw decode;
- ``databento_import_records_per_s``: records / seconds of the import (whole command, end to end);
- ``databento_import_ratio``: import / raw decode throughput (goal: at least 0.2);
- ``databento_import_peak_rss_mb``: the import process's peak RSS (goal: under 1,500 MB for 10M records);
- ``databento_quotes_written``: quotes in the catalog (the best quote changes, fewer than the records).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import databento
import numpy as np

from hybrid.options.instruments import occ_symbol
from tests.support.dbn_fixtures import SESSION_OPEN_NS, option_definition, record_array, write_dbn

OPTIONS = 500
EXCHANGES = [databento.Publisher[f"OPRA_PILLAR_{v}"].to_int() for v in ("XCBO", "ARCO", "AMXO", "XPHL")]


def write_market(tmp: Path, records: int) -> tuple[Path, Path, Path]:
    symbols = {occ_symbol("SPY", dt.date(2024, 7, 12), "CP"[n % 2], 400 + n // 2): 10_000 + n for n in range(OPTIONS)}
    defs = write_dbn(
        tmp / "defs.dbn.zst",
        "OPRA.PILLAR",
        "definition",
        symbols,
        [option_definition(s, i) for s, i in symbols.items()],
    )
    rng = np.random.default_rng(7)
    quotes = record_array("mbp-1", records)
    ids = np.array(list(symbols.values()), dtype=np.uint32)
    quotes["instrument_id"] = ids[rng.integers(0, OPTIONS, records)]
    quotes["publisher_id"] = np.array(EXCHANGES, dtype=np.uint16)[np.arange(records) % len(EXCHANGES)]
    ts = SESSION_OPEN_NS + np.arange(records, dtype=np.uint64) * 2_000_000  # 2 ms apart
    quotes["ts_recv"] = quotes["ts_event"] = ts
    cents = rng.integers(100, 2000, records)
    quotes["bid_px_00"] = cents * 10_000_000
    quotes["ask_px_00"] = (cents + rng.integers(1, 5, records)) * 10_000_000
    quotes["bid_sz_00"] = rng.integers(1, 100, records)
    quotes["ask_sz_00"] = rng.integers(1, 100, records)
    quotes["action"] = b"A"
    quotes["side"] = b"N"
    days = int((int(ts[-1]) - SESSION_OPEN_NS) // 86_400_000_000_000) + 1
    q = write_dbn(tmp / "opra.mbp-1.dbn.zst", "OPRA.PILLAR", "mbp-1", symbols, quotes, parent="SPY.OPT", days=days)
    spy = record_array("mbp-1", 1000)
    spy["instrument_id"], spy["publisher_id"] = 15144, databento.Publisher.XNAS_ITCH_XNAS.to_int()
    spy["ts_recv"] = spy["ts_event"] = ts[:: max(1, records // 1000)][:1000]
    spy["bid_px_00"], spy["ask_px_00"] = 600_000_000_000, 600_010_000_000
    spy["bid_sz_00"], spy["ask_sz_00"] = 100, 100
    u = write_dbn(tmp / "spy.dbn.zst", "XNAS.ITCH", "mbp-1", {"SPY": 15144}, spy, days=days)
    return defs, q, u


def raw_decode(path: Path) -> tuple[int, float]:
    began = time.perf_counter()
    count = sum(len(chunk) for chunk in databento.DBNStore.from_file(path).to_ndarray(count=1 << 20))
    return count, time.perf_counter() - began


# The peak is the child's VmHWM: getrusage's ru_maxrss keeps, across fork and exec, the high-water mark of
# the bench process that wrote the file (gigabytes of records), which is not the import's.
_CHILD = """
import json, re, sys, time
from pathlib import Path
from data.databento_import import import_databento
defs, q, u, out = sys.argv[1:]
began = time.perf_counter()
m = import_databento([defs], [q], [u], out)
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"seconds": time.perf_counter() - began, "quotes": m.quotes, "peak_kb": peak}))
"""


def run(quick: bool = False) -> dict:
    records = 1_000_000 if quick else 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        defs, quotes, spy = write_market(Path(tmp), records)
        count, raw_seconds = raw_decode(quotes)
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(defs), str(quotes), str(spy), str(Path(tmp) / "catalog")],
            capture_output=True,
            text=True,
            check=True,
        )
        child = json.loads(proc.stdout.strip().splitlines()[-1])
    raw_rate = count / raw_seconds
    import_rate = count / child["seconds"]
    return {
        "databento_records": count,
        "databento_raw_decode_records_per_s": round(raw_rate),
        "databento_import_records_per_s": round(import_rate),
        "databento_import_ratio": round(import_rate / raw_rate, 3),
        "databento_import_peak_rss_mb": round(child["peak_kb"] / 1024),
        "databento_quotes_written": child["quotes"],
    }
