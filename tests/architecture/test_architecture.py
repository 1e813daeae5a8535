"""The layer order of docs/architecture.md is enforced: the contract holds, and it catches an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(checkout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=checkout, capture_output=True, text=True, timeout=300, check=False
    )


def copy_checkout(target: Path) -> Path:
    for folder in ("hybrid", "data", "strategies", "bench"):
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_layer_contract(tmp_path):
    checkout = copy_checkout(tmp_path)
    legs = checkout / "hybrid" / "options" / "legs.py"
    legs.write_text(legs.read_text() + "\nfrom hybrid.api import app  # noqa: E402, F401\n")
    result = lint_imports(checkout)
    assert result.returncode != 0
    assert "hybrid.options is not allowed to import hybrid.api" in result.stdout


def test_the_library_importing_a_tool_breaks_the_forbidden_contract(tmp_path):
    checkout = copy_checkout(tmp_path)
    ladder = checkout / "hybrid" / "execution" / "ladder.py"
    ladder.write_text(ladder.read_text() + "\nimport bench.exec_simulation  # noqa: E402, F401\n")
    result = lint_imports(checkout)
    assert result.returncode != 0
    assert "hybrid.execution.ladder -> bench.exec_simulation" in result.stdout


def package_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("hybrid", cache_dir=None)
    top = {".".join(m.split(".")[:2]) for m in graph.modules}
    edges: dict[str, set[str]] = {p: set() for p in top}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = ".".join(module.split(".")[:2]), ".".join(imported.split(".")[:2])
            if source != target:
                edges[source].add(target)
    return edges


def test_the_package_import_graph_is_acyclic():
    edges = package_graph()
    done: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, "import cycle: " + " -> ".join((*path[path.index(package) :], package))
        if package in done:
            return
        for target in sorted(edges[package]):
            visit(target, (*path, package))
        done.add(package)

    for package in sorted(edges):
        visit(package, ())
