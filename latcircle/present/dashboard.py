"""The national dashboard's charts and its note on what the totals count, as inline SVG.

Hand-written SVG, not matplotlib: the page stays one file with no network, the charts are
crisp at any zoom, their words are text (searchable, read by screen readers through
``role="img"`` and ``<title>``), and every string from data passes through
:func:`~latcircle.present.style.escape_text` like any other text on the page.

* :func:`share_chart` -- each run's judged share in each target year, against its target;
* :func:`distribution_chart` -- how many runs fall in each 10-point band of share;
* :func:`progress_chart` -- each run's judged share by year, with the targets as steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from latcircle.analysis.national import CityOutputs
from latcircle.present.style import PROGRESS_COLOURS, escape_text, percent

__all__ = [
    "charts_section",
    "distribution_chart",
    "include_note",
    "progress_chart",
    "share_chart",
]

#: Chart geometry (CSS pixels): label column, plot width, row height.
_LABEL_W, _PLOT_W, _ROW_H, _PAD = 220, 560, 18, 24
_GREY, _TARGET = "#888888", "#222222"
#: Line colours of the progress chart, cycled (ColorBrewer Dark2, colour-blind safe-ish).
_LINES = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")


def charts_section(summary: pd.DataFrame, cities: Sequence[CityOutputs]) -> str:
    """Return the dashboard's charts section: an h2, then each chart under its h3.

    Parameters
    ----------
    summary
        The national ``summary.csv``.
    cities
        The runs as read back (for the progress by year).
    """
    charts = [
        ("Share by metro against the targets", share_chart(summary)),
        ("Distribution of the shares", distribution_chart(summary)),
        ("Progress by year", progress_chart(cities)),
    ]
    drawn = [f"<h3>{escape_text(title)}</h3>{svg}" for title, svg in charts if svg]
    if not drawn:
        return "<h2>Charts</h2><p class='note'>No run has a share to chart.</p>"
    return "<h2>Charts</h2>" + "".join(drawn)


def include_note(summary: pd.DataFrame) -> str:
    """Return a paragraph saying which runs the national totals count, and the switches.

    Parameters
    ----------
    summary
        The national ``summary.csv``.
    """
    total = len(summary)
    counted = int(_flag(summary, "in_totals", default=True).sum())
    synthetic = _flag(summary, "synthetic", default=False)
    hypothetical = _flag(summary, "sites_hypothetical", default=False)
    in_totals = _flag(summary, "in_totals", default=True)
    lines = [f"The national totals count <b>{counted} of {total}</b> runs."]
    for mask, what, switch in (
        (synthetic, "Synthetic cities (the demo)", "--include-synthetic"),
        (hypothetical, "Cities whose compute sites are hypothetical", "--include-hypothetical"),
    ):
        if not mask.any():
            continue
        if (mask & in_totals).any():
            lines.append(f"{what} are counted (<code>{switch}</code> was given).")
        else:
            lines.append(
                f"{what} are left out ({int(mask.sum())} here); "
                f"<code>latcircle national-rollup {switch}</code> counts them."
            )
    return "<p class='include'>" + " ".join(lines) + "</p>"


def _flag(summary: pd.DataFrame, column: str, *, default: bool) -> pd.Series:
    if column not in summary.columns:
        return pd.Series([default] * len(summary), index=summary.index, dtype=bool)
    return summary[column].map(_truthy).astype(bool)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def _years(summary: pd.DataFrame) -> list[int]:
    return sorted(
        int(c.split("_")[1])
        for c in summary.columns
        if c.startswith("status_") and c.split("_")[1].isdigit()
    )


def _run_label(row: dict[str, object]) -> str:
    city = str(row.get("city", ""))
    run = str(row.get("run") or city)
    name = str(row.get("name", city))
    return name if run == city else f"{name} ({run})"


def share_chart(summary: pd.DataFrame) -> str | None:
    """Return a bar chart of each run's judged share per target year against its target.

    One bar per run and target year, coloured by status (met, on track, behind; the word
    is also written at the bar's end), a black tick at the run's target in force.

    Parameters
    ----------
    summary
        The national ``summary.csv``.

    Returns
    -------
    str or None
        An ``<svg>`` element; ``None`` without target years.
    """
    years = _years(summary)
    rows = summary.to_dict("records")
    if not years or not rows:
        return None
    bars = [(r, y) for r in rows for y in years]
    height = _PAD * 2 + _ROW_H * len(bars) + 6 * len(rows)
    parts = _axis(height)
    top = _PAD
    for r in rows:
        for i, y in enumerate(years):
            share, target = _num(r.get(f"share_{y}")), _num(r.get(f"target_{y}"))
            status = str(r.get(f"status_{y}") or "")
            status = "" if status == "nan" else status
            label = f"{_run_label(r)} · {y}" if i == 0 else str(y)
            parts.append(_bar(top, label, share, target, status))
            top += _ROW_H
        top += 6
    title = "Judged share within 1 ms by metro and target year, against the target"
    return _svg(title, height, parts)


def _bar(top: float, label: str, share: float, target: float, status: str) -> str:
    y_mid = top + _ROW_H / 2
    out = [
        f"<text x='{_LABEL_W - 6}' y='{y_mid + 4:.1f}' text-anchor='end'>"
        f"<title>{escape_text(label)}</title>{escape_text(_fit(label))}</text>"
    ]
    if not math.isnan(share):
        w = _x(share) - _LABEL_W
        colour = PROGRESS_COLOURS.get(status, _GREY)
        words = f"{percent(share)} {status}".strip()
        out.append(
            f"<rect x='{_LABEL_W}' y='{top + 3:.1f}' width='{w:.1f}' height='{_ROW_H - 6}' "
            f"fill='{colour}'><title>{escape_text(label)}: {escape_text(words)}</title></rect>"
        )
        out.append(f"<text x='{_x(share) + 4:.1f}' y='{y_mid + 4:.1f}'>{escape_text(words)}</text>")
    if not math.isnan(target):
        x = _x(target)
        out.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top + 1:.1f}' y2='{top + _ROW_H - 1:.1f}' "
            f"stroke='{_TARGET}' stroke-width='2'><title>target {percent(target)}</title></line>"
        )
    return "".join(out)


def _fit(label: str, width: int = 34) -> str:
    """Return ``label`` cut to the label column (a wide CJK character counts twice), with '…'.

    The whole label stays in the bar's tooltip (``<title>``).
    """
    used = 0
    out: list[str] = []
    for ch in label:
        used += 2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1
        if used > width:
            return "".join(out).rstrip() + "…"
        out.append(ch)
    return label


def distribution_chart(summary: pd.DataFrame) -> str | None:
    """Return a histogram of the runs' judged shares in the first target year (10-point bins).

    Parameters
    ----------
    summary
        The national ``summary.csv``.

    Returns
    -------
    str or None
        An ``<svg>`` element; ``None`` without a target year or a share.
    """
    years = _years(summary)
    if not years or f"share_{years[0]}" not in summary.columns:
        return None
    year = years[0]
    shares = pd.to_numeric(summary[f"share_{year}"], errors="coerce").to_numpy(float)
    shares = shares[np.isfinite(shares)]
    if not len(shares):
        return None
    # Bins [0, 10 %), ..., [90 %, 100 %]: a share of exactly 100 % falls in the last one.
    # Rounded first: a share exactly on an edge (0.7) is in the bin it starts, whatever 0.7 * 10
    # comes to in binary.
    bins = np.floor(np.round(shares * 10, 9)).astype(int)
    counts = np.bincount(np.clip(bins, 0, 9), minlength=10)
    height, base, bar_w = 200, 160, _PLOT_W / 10
    parts = [
        f"<line x1='{_LABEL_W}' x2='{_LABEL_W + _PLOT_W}' y1='{base}' y2='{base}' "
        f"stroke='{_GREY}'/>"
    ]
    top = max(int(counts.max()), 1)
    for i, n in enumerate(counts):
        x = _LABEL_W + i * bar_w
        h = (base - 40) * n / top  # room above the tallest bar for its count
        parts.append(
            f"<rect x='{x + 2:.1f}' y='{base - h:.1f}' width='{bar_w - 4:.1f}' height='{h:.1f}' "
            f"fill='#4575b4'><title>{i * 10}–{i * 10 + 10} %: {n} run(s)</title></rect>"
        )
        if n:
            parts.append(
                f"<text x='{x + bar_w / 2:.1f}' y='{base - h - 4:.1f}' "
                f"text-anchor='middle'>{n}</text>"
            )
    for i in range(11):  # the bins' edges, 0 % to 100 %
        x = _LABEL_W + i * bar_w
        parts.append(f"<text x='{x:.1f}' y='{base + 16}' text-anchor='middle'>{i * 10}%</text>")
    column = f"target_{year}"
    targets = (
        pd.to_numeric(summary[column], errors="coerce").dropna().unique()
        if column in summary.columns
        else []
    )
    for t in sorted(float(v) for v in targets):
        x = _LABEL_W + _PLOT_W * t
        parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='4' y2='{base}' stroke='{_TARGET}' "
            f"stroke-dasharray='4 3'/><text x='{x + 3:.1f}' y='14'>target "
            f"{percent(t)}</text>"
        )
    parts.append(
        f"<text x='{_LABEL_W - 6}' y='{base - 4}' text-anchor='end'>runs by judged share, "
        f"{year}</text>"
    )
    title = f"How many metros fall in each band of judged share within 1 ms, {year}"
    return _svg(title, height, parts)


def progress_chart(cities: Sequence[CityOutputs]) -> str | None:
    """Return each run's judged share by year (lines), with its targets as steps.

    Parameters
    ----------
    cities
        The runs as read back (their ``progress.csv``).

    Returns
    -------
    str or None
        An ``<svg>`` element; ``None`` when no run has a judged share by year.
    """
    series = []
    for c in cities:
        p = c.progress
        if p is None or "judged" not in p.columns:
            continue
        judged = p[p["judged"].map(_truthy)].sort_values("year")
        if len(judged):
            label = c.name if c.run in ("", c.city) else f"{c.name} ({c.run})"
            series.append((label, judged))
    if not series:
        return None
    years = sorted({int(y) for _, s in series for y in s["year"]})
    first, last = years[0], max(years[-1], years[0] + 1)
    height, base, top = 260, 220, 20

    def xy(year: float, share: float) -> tuple[float, float]:
        x = _LABEL_W + _PLOT_W * (year - first) / (last - first)
        return x, base - (base - top) * share

    parts = _progress_axes(first, last, xy)
    for i, (label, s) in enumerate(series):
        colour = _LINES[i % len(_LINES)]
        pts = [xy(float(y), float(v)) for y, v in zip(s["year"], s["share"], strict=True)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(
            f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'>"
            f"<title>{escape_text(label)}</title></polyline>"
        )
        # The legend right of the plot, one line per run (never over the axis labels).
        legend_x, legend_y = _LABEL_W + _PLOT_W + 12, top + 4 + 14 * i
        parts.append(
            f"<rect x='{legend_x}' y='{legend_y - 5}' width='12' height='4' fill='{colour}'/>"
            f"<text x='{legend_x + 16}' y='{legend_y}'>{escape_text(label)}</text>"
        )
        if "target_share" in s.columns:
            steps = s.dropna(subset=["target_share"])
            for y, t in zip(steps["year"], steps["target_share"], strict=True):
                x, ty = xy(float(y), float(t))
                parts.append(
                    f"<line x1='{x - 6:.1f}' x2='{x + 6:.1f}' y1='{ty:.1f}' y2='{ty:.1f}' "
                    f"stroke='{_TARGET}' stroke-width='2'><title>target in force {int(y)}: "
                    f"{percent(float(t))}</title></line>"
                )
    title = "Judged share within 1 ms by year, per metro (black ticks: the target in force)"
    return _svg(title, height, parts)


def _progress_axes(
    first: int, last: int, xy: Callable[[float, float], tuple[float, float]]
) -> list[str]:
    parts = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        x0, y = xy(first, share)
        x1, _ = xy(last, share)
        parts.append(
            f"<line x1='{x0:.1f}' x2='{x1:.1f}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e3e3e3'/>"
            f"<text x='{x0 - 6:.1f}' y='{y + 4:.1f}' text-anchor='end'>{percent(share)}</text>"
        )
    for year in range(first, last + 1):
        x, y = xy(year, 0.0)
        parts.append(f"<text x='{x:.1f}' y='{y + 16:.1f}' text-anchor='middle'>{year}</text>")
    return parts


def _axis(height: float) -> list[str]:
    parts = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = _x(share)
        parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{_PAD - 6}' y2='{height - _PAD + 4}' "
            f"stroke='#e3e3e3'/><text x='{x:.1f}' y='{_PAD - 10}' text-anchor='middle'>"
            f"{percent(share)}</text>"
        )
    return parts


def _x(share: float) -> float:
    return _LABEL_W + _PLOT_W * min(max(share, 0.0), 1.0)


def _num(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return out


def _svg(title: str, height: float, parts: Sequence[str]) -> str:
    width = _LABEL_W + _PLOT_W + 220  # room for the bar labels and the legend
    text = escape_text(title)
    return (
        f"<figure><svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='{text}' "
        f"viewBox='0 0 {width} {height:.0f}' width='100%' class='chart' "
        f"font-size='12' font-family='system-ui, sans-serif'><title>{text}</title>"
        + "".join(parts)
        + f"</svg><figcaption>{text}</figcaption></figure>"
    )
