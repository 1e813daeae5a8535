"""The sweep's plots: a heatmap of the objective over two parameters and a parallel-coordinates plot of every
trial, each as an interactive HTML page (plotly; ``plotly.min.js`` is written once beside the pages, so they
open offline) and as a PNG. Plotly's own PNG export needs kaleido, which is not a dependency: the PNGs are
drawn with matplotlib from the same table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hybrid.sweep.objective import Objective

HEATMAP = "heatmap"
PARALLEL = "parallel"


def write_plots(
    out: Path, table: pd.DataFrame, keys: Sequence[str], axes: Sequence[str], objective: Objective
) -> list[Path]:
    """The heatmap over ``axes`` (one or two parameter keys) and the parallel-coordinates plot of the
    searched trials (a walk-forward's training trials, all folds); the files written."""
    trials = table[table["role"] != "test"]
    if trials.empty:
        return []
    grid = heatmap_grid(trials, axes)
    title = f"{objective.stat} ({objective.describe()}), mean over the other parameters"
    written = [_heatmap_html(grid, out / f"{HEATMAP}.html", title), _heatmap_png(grid, out / f"{HEATMAP}.png", title)]
    written += [
        _parallel_html(trials, keys, objective, out / f"{PARALLEL}.html"),
        _parallel_png(trials, keys, objective, out / f"{PARALLEL}.png"),
    ]
    return written


def heatmap_grid(trials: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """The mean objective of the feasible trials at each (row, column) value; NaN where none was feasible."""
    row_key, column_key = (axes[0], axes[1]) if len(axes) > 1 else (axes[0], None)
    frame = trials.assign(_column="" if column_key is None else trials[column_key].astype(str))
    frame = frame.assign(_row=frame[row_key].astype(str), _value=pd.to_numeric(frame["objective"], errors="coerce"))
    grid = frame.pivot_table(index="_row", columns="_column", values="_value", aggfunc="mean", dropna=False)
    grid = grid.reindex(index=_ordered(frame[row_key]), columns=_ordered(frame[column_key]) if column_key else [""])
    grid.index.name, grid.columns.name = row_key, column_key or ""
    return grid


def _ordered(values: pd.Series) -> list[str]:
    unique = list(dict.fromkeys(values))
    with contextlib.suppress(TypeError):  # mixed types keep the order they were tried in
        unique = sorted(unique)
    return [str(v) for v in unique]


def _heatmap_html(grid: pd.DataFrame, path: Path, title: str) -> Path:
    import plotly.graph_objects as go

    z = grid.to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=[[None if np.isnan(v) else float(v) for v in row] for row in z],
            x=list(grid.columns),
            y=list(grid.index),
            colorscale="RdYlGn",
            texttemplate="%{z:.3g}",
            colorbar={"title": "objective"},
        )
    )
    fig.update_layout(title=title, xaxis_title=grid.columns.name, yaxis_title=grid.index.name)
    fig.write_html(path, include_plotlyjs="directory")
    return path


def _heatmap_png(grid: pd.DataFrame, path: Path, title: str) -> Path:
    fig = Figure(figsize=(8, 6), dpi=80)  # no pyplot: no global figure state, no GUI backend
    ax = fig.subplots()
    z = grid.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(z), cmap="RdYlGn", aspect="auto", origin="lower")
    ax.set_xticks(range(len(grid.columns)), list(grid.columns))
    ax.set_yticks(range(len(grid.index)), list(grid.index))
    ax.set_xlabel(grid.columns.name)
    ax.set_ylabel(grid.index.name)
    for (i, j), value in np.ndenumerate(z):
        ax.text(j, i, "infeasible" if np.isnan(value) else f"{value:.3g}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="objective")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return path


def _numeric(column: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """A column as numbers for an axis, and its category labels when it is not numeric."""
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().all():
        return numbers.to_numpy(dtype=float), None
    labels = _ordered(column)
    return np.array([labels.index(str(v)) for v in column], dtype=float), labels


def _parallel_html(trials: pd.DataFrame, keys: Sequence[str], objective: Objective, path: Path) -> Path:
    import plotly.graph_objects as go

    score = pd.to_numeric(trials["objective"], errors="coerce")
    dimensions = []
    for key in keys:
        values, labels = _numeric(trials[key])
        dimension: dict[str, object] = {"label": key.rsplit(".", 1)[-1], "values": values.tolist()}
        if labels is not None:
            dimension |= {"tickvals": list(range(len(labels))), "ticktext": labels}
        dimensions.append(dimension)
    dimensions.append(
        {"label": objective.stat, "values": score.fillna(score.min() if score.notna().any() else 0).tolist()}
    )
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": score.fillna(score.min() if score.notna().any() else 0).tolist(),
                "colorscale": "RdYlGn",
                "showscale": True,
            },
            dimensions=dimensions,
        )
    )
    fig.update_layout(title=f"every trial: parameters and {objective.stat} (infeasible trials at the minimum)")
    fig.write_html(path, include_plotlyjs="directory")
    return path


def _parallel_png(trials: pd.DataFrame, keys: Sequence[str], objective: Objective, path: Path) -> Path:
    from matplotlib import colormaps

    columns = [*keys, "objective"]
    scaled = []
    for column in columns:
        values, _ = _numeric(trials[column])
        lo, hi = (
            np.nanmin(values) if np.isfinite(values).any() else 0.0,
            np.nanmax(values) if np.isfinite(values).any() else 1.0,
        )
        scaled.append((values - lo) / ((hi - lo) or 1.0))
    matrix = np.array(scaled).T
    score = matrix[:, -1]
    fig = Figure(figsize=(max(6, 2 * len(columns)), 5), dpi=80)
    ax = fig.subplots()
    cmap = colormaps["RdYlGn"]
    for row, value in zip(matrix, score):
        ax.plot(range(len(columns)), row, color="#bbbbbb" if np.isnan(value) else cmap(value), alpha=0.8)
    ax.set_xticks(range(len(columns)), [c.rsplit(".", 1)[-1] if c != "objective" else objective.stat for c in columns])
    ax.set_yticks([0, 1], ["min", "max"])
    ax.set_title(f"every trial, each axis scaled to its range (grey: infeasible); colour: {objective.stat}", fontsize=9)
    ax.grid(axis="x", alpha=0.5)
    fig.tight_layout()
    fig.savefig(path)
    return path
