"""The national dashboard (``national/index.html``): the page, its tables and its SVG charts.

:func:`write_dashboard` runs after :func:`latcircle.pipeline.national_rollup`;
:func:`render_dashboard` fills the template ``templates/dashboard.html``
(:mod:`latcircle.present.templating`: autoescaped, data only as template variables).

The charts are hand-written SVG, not matplotlib: the page stays one file with no network, the
charts are crisp at any zoom, their words are text (searchable, read by screen readers through
``role="img"`` and ``<title>``). Each chart is a list of :class:`SvgElement` (tag and
attribute names from this module, values as data) drawn by the template
``templates/dashboard/chart.svg``, so every string from data passes through
:func:`~latcircle.present.style.escape_text` like any other text on the page.

* :func:`share_chart` -- each run's judged share in each target year, against its target;
* :func:`distribution_chart` -- how many runs fall in each 10-point band of share;
* :func:`progress_chart` -- each run's judged share by year, with the targets as steps.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from latcircle import __version__
from latcircle.analysis.coverage import BASES
from latcircle.analysis.national import CityOutputs
from latcircle.config import DEFAULT_TARGETS, Target
from latcircle.errors import InputError
from latcircle.output.files import atomic_file
from latcircle.output.readback import (
    CITY_TABLES,
    find_city_dirs,
    read_city_outputs,
    read_optional_table,
)
from latcircle.present.figures import national_chart, png_bytes
from latcircle.present.markdown import markdown_html
from latcircle.present.style import (
    BASIS_LABELS,
    PROGRESS_COLOURS,
    amount,
    percent,
)
from latcircle.present.templating import LabelCell, LinksCell, StatusCell, png_base64, render

__all__ = [
    "SvgElement",
    "charts_section",
    "city_links",
    "distribution_chart",
    "include_note",
    "progress_chart",
    "render_dashboard",
    "share_chart",
    "write_dashboard",
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
    return render("dashboard/charts.html", charts=_charts(summary, cities))


def _charts(summary: pd.DataFrame, cities: Sequence[CityOutputs]) -> list[tuple[str, Markup]]:
    charts = [
        ("Share by metro against the targets", share_chart(summary)),
        ("Distribution of the shares", distribution_chart(summary)),
        ("Progress by year", progress_chart(cities)),
    ]
    # Each chart is already a rendered template (dashboard/chart.svg): markup, not data.
    return [(title, Markup(svg)) for title, svg in charts if svg]


def include_note(summary: pd.DataFrame) -> str:
    """Return a paragraph saying which runs the national totals count, and the switches.

    Parameters
    ----------
    summary
        The national ``summary.csv``.
    """
    return render("dashboard/include_note.html", include=_include(summary))


def _include(summary: pd.DataFrame) -> dict[str, Any]:
    """Return the include note's variables: runs counted, each left-out kind, its switch."""
    synthetic = _flag(summary, "synthetic", default=False)
    hypothetical = _flag(summary, "sites_hypothetical", default=False)
    in_totals = _flag(summary, "in_totals", default=True)
    groups = [
        {
            "what": what,
            "switch": switch,
            "counted": bool((mask & in_totals).any()),
            "left_out": int(mask.sum()),
        }
        for mask, what, switch in (
            (synthetic, "Synthetic cities (the demo)", "--include-synthetic"),
            (hypothetical, "Cities whose compute sites are hypothetical", "--include-hypothetical"),
        )
        if mask.any()
    ]
    return {"counted": int(in_totals.sum()), "total": len(summary), "groups": groups}


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


@dataclasses.dataclass(frozen=True)
class SvgElement:
    """One element of a chart: its tag, attributes (in order), tooltip and text.

    Tag and attribute names come from this module; every value is data for the template
    (``templates/dashboard/chart.svg``), which escapes it.
    """

    tag: str
    attrs: tuple[tuple[str, str], ...]
    title: str | None = None
    text: str = ""
    closed: bool = False


def _el(
    tag: str, *attrs: tuple[str, object], title: str | None = None, text: object = ""
) -> SvgElement:
    """Return an element with a body (a tooltip ``<title>`` and text, either may be empty)."""
    return SvgElement(tag, tuple((k, str(v)) for k, v in attrs), title, str(text))


def _closed(tag: str, *attrs: tuple[str, object]) -> SvgElement:
    """Return an element without a body (``<line .../>``)."""
    return SvgElement(tag, tuple((k, str(v)) for k, v in attrs), closed=True)


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
            parts += _bar(top, label, share, target, status)
            top += _ROW_H
        top += 6
    title = "Judged share within 1 ms by metro and target year, against the target"
    return _svg(title, height, parts)


def _bar(top: float, label: str, share: float, target: float, status: str) -> list[SvgElement]:
    y_mid = f"{top + _ROW_H / 2 + 4:.1f}"
    out = [
        _el(
            "text",
            ("x", _LABEL_W - 6),
            ("y", y_mid),
            ("text-anchor", "end"),
            title=label,
            text=_fit(label),
        )
    ]
    if not math.isnan(share):
        w = _x(share) - _LABEL_W
        colour = PROGRESS_COLOURS.get(status, _GREY)
        words = f"{percent(share)} {status}".strip()
        out.append(
            _el(
                "rect",
                ("x", _LABEL_W),
                ("y", f"{top + 3:.1f}"),
                ("width", f"{w:.1f}"),
                ("height", _ROW_H - 6),
                ("fill", colour),
                title=f"{label}: {words}",
            )
        )
        out.append(_el("text", ("x", f"{_x(share) + 4:.1f}"), ("y", y_mid), text=words))
    if not math.isnan(target):
        x = f"{_x(target):.1f}"
        out.append(
            _el(
                "line",
                ("x1", x),
                ("x2", x),
                ("y1", f"{top + 1:.1f}"),
                ("y2", f"{top + _ROW_H - 1:.1f}"),
                ("stroke", _TARGET),
                ("stroke-width", 2),
                title=f"target {percent(target)}",
            )
        )
    return out


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
    height, base = 200, 160
    parts = [
        _closed(
            "line",
            ("x1", _LABEL_W),
            ("x2", _LABEL_W + _PLOT_W),
            ("y1", base),
            ("y2", base),
            ("stroke", _GREY),
        )
    ]
    parts += _bins(counts, base)
    column = f"target_{year}"
    targets = (
        pd.to_numeric(summary[column], errors="coerce").dropna().unique()
        if column in summary.columns
        else []
    )
    for t in sorted(float(v) for v in targets):
        x = _LABEL_W + _PLOT_W * t
        parts.append(
            _closed(
                "line",
                ("x1", f"{x:.1f}"),
                ("x2", f"{x:.1f}"),
                ("y1", 4),
                ("y2", base),
                ("stroke", _TARGET),
                ("stroke-dasharray", "4 3"),
            )
        )
        parts.append(_el("text", ("x", f"{x + 3:.1f}"), ("y", 14), text=f"target {percent(t)}"))
    parts.append(
        _el(
            "text",
            ("x", _LABEL_W - 6),
            ("y", base - 4),
            ("text-anchor", "end"),
            text=f"runs by judged share, {year}",
        )
    )
    title = f"How many metros fall in each band of judged share within 1 ms, {year}"
    return _svg(title, height, parts)


def _bins(counts: np.ndarray, base: int) -> list[SvgElement]:
    """Return the histogram's bars with their counts, then the bins' edges, 0 % to 100 %."""
    bar_w = _PLOT_W / 10
    parts = []
    top = max(int(counts.max()), 1)
    for i, n in enumerate(counts):
        x = _LABEL_W + i * bar_w
        h = (base - 40) * n / top  # room above the tallest bar for its count
        parts.append(
            _el(
                "rect",
                ("x", f"{x + 2:.1f}"),
                ("y", f"{base - h:.1f}"),
                ("width", f"{bar_w - 4:.1f}"),
                ("height", f"{h:.1f}"),
                ("fill", "#4575b4"),
                title=f"{i * 10}–{i * 10 + 10} %: {n} run(s)",
            )
        )
        if n:
            parts.append(
                _el(
                    "text",
                    ("x", f"{x + bar_w / 2:.1f}"),
                    ("y", f"{base - h - 4:.1f}"),
                    ("text-anchor", "middle"),
                    text=n,
                )
            )
    for i in range(11):
        x = _LABEL_W + i * bar_w
        parts.append(
            _el(
                "text",
                ("x", f"{x:.1f}"),
                ("y", base + 16),
                ("text-anchor", "middle"),
                text=f"{i * 10}%",
            )
        )
    return parts


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
            _el(
                "polyline",
                ("points", path),
                ("fill", "none"),
                ("stroke", colour),
                ("stroke-width", 2),
                title=label,
            )
        )
        # The legend right of the plot, one line per run (never over the axis labels).
        legend_x, legend_y = _LABEL_W + _PLOT_W + 12, top + 4 + 14 * i
        parts.append(
            _closed(
                "rect",
                ("x", legend_x),
                ("y", legend_y - 5),
                ("width", 12),
                ("height", 4),
                ("fill", colour),
            )
        )
        parts.append(_el("text", ("x", legend_x + 16), ("y", legend_y), text=label))
        if "target_share" in s.columns:
            steps = s.dropna(subset=["target_share"])
            for y, t in zip(steps["year"], steps["target_share"], strict=True):
                x, ty = xy(float(y), float(t))
                parts.append(
                    _el(
                        "line",
                        ("x1", f"{x - 6:.1f}"),
                        ("x2", f"{x + 6:.1f}"),
                        ("y1", f"{ty:.1f}"),
                        ("y2", f"{ty:.1f}"),
                        ("stroke", _TARGET),
                        ("stroke-width", 2),
                        title=f"target in force {int(y)}: {percent(float(t))}",
                    )
                )
    title = "Judged share within 1 ms by year, per metro (black ticks: the target in force)"
    return _svg(title, height, parts)


def _progress_axes(
    first: int, last: int, xy: Callable[[float, float], tuple[float, float]]
) -> list[SvgElement]:
    parts = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        x0, y = xy(first, share)
        x1, _ = xy(last, share)
        parts.append(
            _closed(
                "line",
                ("x1", f"{x0:.1f}"),
                ("x2", f"{x1:.1f}"),
                ("y1", f"{y:.1f}"),
                ("y2", f"{y:.1f}"),
                ("stroke", "#e3e3e3"),
            )
        )
        parts.append(
            _el(
                "text",
                ("x", f"{x0 - 6:.1f}"),
                ("y", f"{y + 4:.1f}"),
                ("text-anchor", "end"),
                text=percent(share),
            )
        )
    for year in range(first, last + 1):
        x, y = xy(year, 0.0)
        parts.append(
            _el(
                "text",
                ("x", f"{x:.1f}"),
                ("y", f"{y + 16:.1f}"),
                ("text-anchor", "middle"),
                text=year,
            )
        )
    return parts


def _axis(height: float) -> list[SvgElement]:
    parts = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = f"{_x(share):.1f}"
        parts.append(
            _closed(
                "line",
                ("x1", x),
                ("x2", x),
                ("y1", _PAD - 6),
                ("y2", height - _PAD + 4),
                ("stroke", "#e3e3e3"),
            )
        )
        parts.append(
            _el("text", ("x", x), ("y", _PAD - 10), ("text-anchor", "middle"), text=percent(share))
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


def _svg(title: str, height: float, parts: Sequence[SvgElement]) -> str:
    return render(
        "dashboard/chart.svg",
        title=title,
        width=_LABEL_W + _PLOT_W + 220,  # room for the bar labels and the legend
        height=f"{height:.0f}",
        elements=parts,
    )


# --- the page ----------------------------------------------------------------------------


def write_dashboard(
    national_dir: str | Path,
    cities: Sequence[CityOutputs] | None = None,
    *,
    targets: Sequence[Target] = DEFAULT_TARGETS,
) -> Path:
    """Write ``index.html`` into the national folder: every city, the rollup, the chart.

    Each city links only to files its folder held when it was read
    (:attr:`~latcircle.analysis.national.CityOutputs.pages`): its ``report.html`` and
    ``map.html`` when present; when neither is (a national sweep writes neither unless
    asked), its tables ``coverage.csv`` and ``progress.csv``.

    Parameters
    ----------
    national_dir
        The folder :func:`latcircle.pipeline.national_rollup` wrote (``summary.csv``,
        ``progress.csv``, ``shortfalls.md``).
    cities
        The runs to link, as read back (:attr:`latcircle.analysis.national.NationalResult.runs`);
        when ``None``, the national folder's siblings that are city runs, read back by
        :func:`latcircle.output.readback.read_city_outputs` (a folder that is not one is
        not linked).
    targets
        Targets drawn on the national chart.

    Returns
    -------
    pathlib.Path
        The page written.
    """
    national_dir = Path(national_dir)
    summary = read_optional_table(national_dir / "summary.csv")
    if summary is None:
        msg = f"{national_dir}: no summary.csv (write the national tables first)"
        raise FileNotFoundError(msg)
    progress = read_optional_table(national_dir / "progress.csv")
    if cities is None:
        cities = _sibling_runs(national_dir)
    chart = (
        national_chart(
            progress,
            targets=targets,
            title="Metros meeting the target in force, and the pooled share",
        )
        if progress is not None and len(progress)
        else None
    )
    shortfalls = national_dir / "shortfalls.md"
    page = render_dashboard(
        summary,
        progress,
        links=city_links(national_dir, cities),
        chart=chart,
        shortfalls=shortfalls.read_text(encoding="utf-8") if shortfalls.exists() else None,
        cities=cities,
    )
    path = national_dir / "index.html"
    atomic_file(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return path


def render_dashboard(
    summary: pd.DataFrame,
    progress: pd.DataFrame | None,
    *,
    links: Mapping[str, Sequence[tuple[str, str]]],
    chart: Figure | None = None,
    shortfalls: str | None = None,
    cities: Sequence[CityOutputs] = (),
) -> str:
    """Return the national dashboard as one HTML page (``templates/dashboard.html``).

    Parameters
    ----------
    summary
        The national ``summary.csv`` (one row per city).
    progress
        The national ``progress.csv`` (one row per year), or ``None``.
    links
        Run name (and city id) to the links of its row: ``(label, href)`` pairs, each href
        relative to the page and to a file that exists (:func:`city_links`).
    chart
        The national progress chart.
    shortfalls
        The plain-language shortfall note (Markdown, rendered by
        :func:`~latcircle.present.markdown.markdown_html`, its headings placed under the
        page's).
    cities
        The runs as read back, for the progress-by-year chart.

    Returns
    -------
    str
    """
    by_year = None
    if progress is not None and len(progress):
        header, rows = _national_progress_rows(progress)
        png = png_base64(png_bytes(chart)) if chart else None
        by_year = {"chart": png, "header": header, "rows": rows}
    return render(
        "dashboard.html",
        title="1 ms latency circle: national progress",
        version=__version__,
        include=_include(summary),
        outcome_counts=_outcome_counts(summary),
        charts=_charts(summary, cities),
        rollup=_rollup(summary, links),
        by_year=by_year,
        # shortfalls.md starts at '#': under the page's h2 its headings start at h3.
        shortfalls=markdown_html(shortfalls, top_level=3) if shortfalls else None,
    )


def city_links(
    national_dir: str | Path, cities: Sequence[CityOutputs]
) -> dict[str, list[tuple[str, str]]]:
    """Return each run's links on the dashboard: only to files its folder holds.

    A run links its ``report.html`` and ``map.html`` when its folder held them when it was
    read (:attr:`~latcircle.analysis.national.CityOutputs.pages`); when it held neither, its
    tables (:data:`latcircle.output.readback.CITY_TABLES`: ``coverage.csv``,
    ``progress.csv``, which every run read back has).

    Parameters
    ----------
    national_dir
        The folder of the dashboard (hrefs are relative to it).
    cities
        The runs, as read back, in the roll-up's order.

    Returns
    -------
    dict
        Run name (:attr:`~latcircle.analysis.national.CityOutputs.run`) and city id (its
        first run) to ``(label, href)`` pairs, in
        :data:`~latcircle.output.readback.CITY_PAGES` order.
    """
    links: dict[str, list[tuple[str, str]]] = {}
    for c in cities:
        rel = Path(os.path.relpath(c.folder, national_dir)).as_posix()
        files = [(_PAGE_LABELS[p], p) for p in c.pages] or [(t, t) for t in CITY_TABLES]
        # A folder name is data: quoted as a URL path (a '#', '?' or '%' in it stays part of
        # the name), then escaped as HTML text where the template writes the link.
        pairs = [(label, quote(f"{rel}/{name}")) for label, name in files]
        links.setdefault(c.city, pairs)  # one run of a city: by its id
        links[c.run] = pairs  # several runs of a city: by their folder names
    return links


#: The words of a city page's link on the dashboard.
_PAGE_LABELS = {"report.html": "report", "map.html": "map"}


def _sibling_runs(national_dir: Path) -> list[CityOutputs]:
    """Return the national folder's siblings that read back as city runs (others: none)."""
    try:
        folders, _ = find_city_dirs([national_dir.parent], out=national_dir)
    except InputError:
        return []  # no sibling is a city run
    runs = []
    for folder in folders:
        try:
            runs.append(read_city_outputs(folder))
        except InputError:
            continue  # not a city run, or one that cannot be read: nothing to link
    return runs


def _rollup(
    summary: pd.DataFrame, links: Mapping[str, Sequence[tuple[str, str]]]
) -> dict[str, Any]:
    """Return the metros table: header, rows (name, flags, links, shares, statuses)."""
    years = _years(summary)
    bases = [b for b in BASES if f"share_{b}" in summary.columns]
    header = (
        ["metro", "links"]
        + [f"{BASIS_LABELS[b]} ≤ 1 ms" for b in bases]
        + ["population", "key sites"]
        + [f"{y} target" for y in years]
    )
    rows = []
    for r in summary.to_dict("records"):
        city = str(r.get("city", r.get("id", "")))
        run = str(r.get("run") or city)
        name = r.get("name", city) if run == city else f"{r.get('name', city)} ({run})"
        line: list[Any] = [
            LabelCell(name, _row_flags(r)),
            LinksCell(tuple((links[run] if run in links else links.get(city)) or ())),
        ]
        line += [percent(r.get(f"share_{b}")) for b in bases]
        line += [amount(r.get("population"), "people"), amount(r.get("key_sites"), "sites")]
        line += [_year_status(r, y) for y in years]
        rows.append(line)
    return {"header": header, "rows": rows}


def _row_flags(r: Mapping[str, Any]) -> list[str]:
    """Return a metro's flags: synthetic, hypothetical sites, failed, stale, left out."""
    flags = [
        t
        for t, key in (("synthetic", "synthetic"), ("hypothetical sites", "sites_hypothetical"))
        if _truthy(r.get(key))
    ]
    outcome = str(r.get("outcome") or "")
    if outcome in ("failed", "stale"):  # no outputs, or older ones: never shown as current
        flags.append(f"{outcome}: {r.get('reason')}" if r.get("reason") else outcome)
    if "in_totals" in r and not _truthy(r.get("in_totals")):
        flags.append("not in the national totals")
    return flags


def _year_status(r: Mapping[str, Any], year: int) -> StatusCell | str:
    status = str(r.get(f"status_{year}", "") or "")
    if status in ("", "nan"):
        return "n/a"
    after = f" {percent(r.get(f'share_{year}'))} vs {percent(r.get(f'target_{year}'))}"
    return StatusCell(status, PROGRESS_COLOURS.get(status, "#888"), after)


def _outcome_counts(summary: pd.DataFrame) -> str | None:
    """One line: the cities asked, run, up to date, failed (and runs stale), from ``outcome``."""
    if "outcome" not in summary.columns or not len(summary):
        return None
    counts = summary["outcome"].fillna("").astype(str).value_counts()
    swept = sum(int(counts.get(k, 0)) for k in ("run", "up to date", "failed"))
    parts = [f"{swept} cities asked"] if swept else [f"{len(summary)} runs read"]
    parts += [
        f"{int(counts[k])} {k}" for k in ("run", "up to date", "failed", "stale") if k in counts
    ]
    return " · ".join(parts)


#: The national progress table's columns, in order, and their words.
_PROGRESS_COLUMNS = {
    "year": "year",
    "target_share": "target in force",
    "metros": "metros",
    "met": "met",
    "on_track": "on track",
    "behind": "behind",
    "share_met": "share of metros meeting",
    "share_pop_weighted": "population-weighted share",
    "population_share": "people within budget (pooled)",
}


def _national_progress_rows(progress: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    cols = [c for c in _PROGRESS_COLUMNS if c in progress.columns]
    rows = []
    for r in progress.to_dict("records"):
        line = []
        for c in cols:
            v = r.get(c)
            if "share" in c:
                line.append(percent(v))
            elif pd.isna(v):
                line.append("")
            else:
                line.append(str(int(v)) if float(v).is_integer() else f"{v:g}")
        rows.append(line)
    return [_PROGRESS_COLUMNS[c] for c in cols], rows
