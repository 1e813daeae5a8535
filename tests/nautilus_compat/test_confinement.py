"""Nothing outside :mod:`hybrid.nautilus_compat` touches a NautilusTrader private name or internal topic string.

Private names: an attribute ``x._name`` on anything but ``self`` / ``cls`` whose name NautilusTrader
itself defines as private (collected from the installed package's sources, so the project's own
private attributes of other names are not flagged). Internal strings: topic and endpoint literals and
the patched module global. A hit is reported as ``file:line``: move that use into the compat package.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import nautilus_trader

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "hybrid" / "nautilus_compat"
SCANNED = ("hybrid", "strategies", "data", "bench")
EXCLUDED: tuple[str, ...] = ()  # files allowed to keep a hit; empty on purpose
PRIVATE_USE = re.compile(r"(?<![\w.])(?!self\.|cls\.)[A-Za-z_]\w*(?:\.\w+)*\.(_[a-z]\w*)")
NT_PRIVATE_DEF = re.compile(
    r"(?:self\.|\bdef |\bcdef [\w\[\], ]+ |cpdef [\w\[\], ]+ |readonly [\w\[\], ]+ )(_[a-z]\w*)"
)
INTERNAL_STRING = re.compile(
    r"""[fr]?["'](?:events\.|commands\.|ExecEngine\.|RiskEngine\.|DataEngine\.|Portfolio\.)|create_pyo3_conversion_wrapper"""
)


@cache
def nautilus_private_names() -> frozenset[str]:
    package = Path(nautilus_trader.__file__).parent
    names: set[str] = set()
    for path in package.rglob("*"):
        if path.suffix in {".py", ".pyx", ".pxd"}:
            names.update(NT_PRIVATE_DEF.findall(path.read_text(encoding="utf-8", errors="replace")))
    return frozenset(names)


def project_files() -> list[Path]:
    files = sorted(ROOT.glob("run_*.py"))
    for top in SCANNED:
        files.extend(sorted((ROOT / top).rglob("*.py")))
    return [f for f in files if COMPAT not in f.parents and str(f.relative_to(ROOT)) not in EXCLUDED]


def hits() -> list[str]:
    private = nautilus_private_names()
    found = []
    for path in project_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            names = [n for n in PRIVATE_USE.findall(line) if n in private]
            if names or INTERNAL_STRING.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_scan_knows_the_private_names_the_compat_package_uses() -> None:
    assert {"_clients", "_record_local_activity"} <= nautilus_private_names()


def test_no_nautilus_private_name_or_internal_topic_outside_the_compat_package() -> None:
    assert hits() == []
