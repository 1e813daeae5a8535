"""Plain-text tables for people reading the CLI's output (``--json`` is for programs)."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str] | None, rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, under one header line when ``headers`` is given."""
    cells = ([[str(h) for h in headers]] if headers else []) + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
