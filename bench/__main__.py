"""``make bench``: run every benchmark section, print the figures, write ``bench/results.json``.

Each section is a module of this package exposing ``run(quick: bool = False) -> dict``; its keys are
documented in the module's docstring and in docs/benchmarks.md. Sections run in their own process so
that one section's memory peak or warm caches do not colour another's figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

SECTIONS = (
    "catalog_gen",
    "databento",
    "analytics",
    "backtest",
    "streaming",
    "group_book",
    "exec_algo",
    "api",
    "live_book",
    "live_api",
    "ui",
    "risk",
    "sweep",
)
RESULTS = Path(__file__).with_name("results.json")


def _run_section(name: str, quick: bool) -> dict:
    code = (
        "import json, sys, importlib;"
        f"r = importlib.import_module('bench.{name}').run(quick={quick});"
        "sys.stdout.write('\\n@@RESULT@@' + json.dumps(r))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0 or "@@RESULT@@" not in proc.stdout:
        return {f"{name}_error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(proc.stdout.rsplit("@@RESULT@@", 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, for a smoke run")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    args = parser.parse_args(argv)

    # A partial run (--only) keeps the other sections' last figures; a full run starts afresh.
    results: dict = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    for name in args.only or SECTIONS:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        figures = _run_section(name, args.quick)
        results.pop(f"{name}_error", None)
        figures[f"{name}_section_seconds"] = round(time.perf_counter() - t0, 2)
        for key, value in figures.items():
            print(f"  {key:<44} {value}")
        results.update(figures)
    results["machine"] = f"{platform.machine()} {platform.python_version()} cores={_cores()}"
    results["quick"] = args.quick
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"bench: figures written to {RESULTS}")
    failed = [k for k in results if k.endswith("_error")]
    return 1 if failed else 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    raise SystemExit(main())
