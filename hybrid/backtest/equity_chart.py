"""The equity curve as a PNG (matplotlib) and as a self-contained HTML page (inline SVG, no scripts)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

_W, _H, _PAD = 900, 360, 60


def write_png(samples: list[tuple[int, float]], path: Path, title: str) -> Path:
    """Equity against simulated time."""
    fig = Figure(figsize=(10, 4), dpi=100)  # no pyplot: no global figure state, no GUI backend
    ax = fig.subplots()
    if samples:
        times = pd.to_datetime([ts for ts, _ in samples], utc=True)
        ax.plot(times, [equity for _, equity in samples], linewidth=1.2, color="#1f6feb")
    ax.set_title(title)
    ax.set_ylabel("equity (USD, marked to mid)")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    return path


def write_html(samples: list[tuple[int, float]], path: Path, title: str) -> Path:
    """One HTML file with the curve as an inline SVG polyline and its range labelled."""
    path.write_text(
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}svg{background:#fff;border:1px solid #ddd}"
        "text{font-size:12px;fill:#444}</style></head><body>"
        f"<h2>{html.escape(title)}</h2>{_svg(samples)}</body></html>\n",
    )
    return path


def _svg(samples: list[tuple[int, float]]) -> str:
    if not samples:
        return "<p>no equity samples</p>"
    t0, t1 = samples[0][0], samples[-1][0]
    values = [equity for _, equity in samples]
    lo, hi = min(values), max(values)
    x_span, y_span = max(t1 - t0, 1), (hi - lo) or 1.0

    def x(ts: int) -> float:
        return _PAD + (ts - t0) / x_span * (_W - 2 * _PAD)

    def y(v: float) -> float:
        return _H - _PAD - (v - lo) / y_span * (_H - 2 * _PAD)

    points = " ".join(f"{x(ts):.1f},{y(v):.1f}" for ts, v in samples)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}">'
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{points}"/>'
        f'<text x="{_PAD}" y="{_H - _PAD + 20}">{_day(t0)}</text>'
        f'<text x="{_W - _PAD}" y="{_H - _PAD + 20}" text-anchor="end">{_day(t1)}</text>'
        f'<text x="{_PAD - 6}" y="{y(hi) + 4:.1f}" text-anchor="end">{hi:,.0f}</text>'
        f'<text x="{_PAD - 6}" y="{y(lo) + 4:.1f}" text-anchor="end">{lo:,.0f}</text>'
        f'<text x="{_W / 2}" y="{_H - 15}" text-anchor="middle">equity (USD, marked to mid) from '
        f"{values[0]:,.2f} to {values[-1]:,.2f}</text></svg>"
    )


def _day(ts: int) -> str:
    return pd.Timestamp(ts, tz="UTC").strftime("%Y-%m-%d")
