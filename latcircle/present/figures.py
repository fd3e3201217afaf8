"""Static figures (matplotlib, PNG) for the city report and the national page.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot``, so
nothing here touches global matplotlib state or needs a display; :func:`png_bytes` and
:func:`write_figures` turn them into PNG files (stable bytes: no timestamp or software tag).

* :func:`band_map`: the cumulative latency bands over the metro boundary and districts;
* :func:`coverage_curve`: share covered against the latency budget (0–2 ms) on each basis,
  an exact weighted CDF of the sample latencies of one or more scenarios;
* :func:`district_bars`: each district's share at the budget, per basis;
* :func:`progress_chart`: share by year against the targets (2027: 70 %, 2028: 75 %);
* :func:`national_chart`: metros meeting the target and the pooled share of people.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from latcircle.output.readback import read_layers, read_optional_table
from latcircle.present.figure_layout import FittedLayout
from latcircle.present.geodraw import draw_lines, draw_points, draw_polygons
from latcircle.present.style import (
    BASIS_COLOURS,
    BASIS_LABELS,
    PROGRESS_COLOURS,
    band_colours,
    percent,
)
from latcircle.text import figure_text

if TYPE_CHECKING:
    from matplotlib import font_manager
    from matplotlib.typing import RcKeyType

    from latcircle.analysis.coverage import Evaluation
    from latcircle.analysis.metro import Scenario
    from latcircle.config import Target
    from latcircle.run import RunResult

__all__ = [
    "CJK_FONT_FIX",
    "band_map",
    "check_cjk_font",
    "cjk_fonts",
    "coverage_curve",
    "curve",
    "district_bars",
    "has_cjk",
    "national_chart",
    "png_bytes",
    "progress_chart",
    "sensitivity_chart",
    "uncertainty_fan",
    "write_figures",
]

log = logging.getLogger(__name__)

_DPI = 110
_PNG_METADATA = {"Software": None}


def curve(evaluation: Evaluation, budgets_ms: np.ndarray) -> np.ndarray:
    """Return the share of an evaluation's weight within each budget (a weighted CDF).

    Exact: the covered rule (:func:`latcircle.analysis.coverage.covered`, latency ≤ budget) at
    every budget at once, without re-solving: each sample's weight goes to the first budget
    not below its latency (a sorted search with ``side="left"``, so a latency equal to a
    budget is within it, as the rule does), and the shares are the running sums over the
    budgets. The few budgets are sorted, not the many samples.

    Parameters
    ----------
    evaluation
        One basis of a scenario.
    budgets_ms
        Budgets in milliseconds.

    Returns
    -------
    numpy.ndarray
        Shares in [0, 1]; NaN when the basis has no weight.
    """
    weight = evaluation.samples.weight
    total = float(weight.sum())
    budgets = np.asarray(budgets_ms, dtype=float)
    if total <= 0:
        return np.full(budgets.shape, np.nan)
    edges_us = budgets.ravel() * 1000.0
    order = np.argsort(edges_us, kind="stable")
    edges = edges_us[order]
    # Bin n (0-based) holds the weight of the latencies in (edge n-1, edge n]. Latencies
    # beyond the largest budget (most of them: no access is infinite) and NaN would fall
    # in a last bin that no budget counts: they are left out before the search. Every
    # other bin gets the same weights added in the same (sample) order, so the same sums.
    latency = np.asarray(evaluation.latency_us)
    if edges.size and not np.isnan(edges[-1]):  # (a NaN budget sorts last: search them all)
        within = latency <= edges[-1]
        latency, weight = latency[within], weight[within]
    first = np.searchsorted(edges, latency, side="left")
    bins = np.bincount(first, weights=weight, minlength=edges_us.size + 1)
    shares = np.empty(edges_us.size)
    shares[order] = np.cumsum(bins[: edges_us.size]) / total
    return shares.reshape(budgets.shape)


_P = ParamSpec("_P")


def _with_fonts(build: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Build the figure with the preferred fonts (a text's font is fixed when it is made).

    Data is text: names may hold ``$...$``, which matplotlib would parse as mathtext
    (drawing formulas, or failing on bad ones), so math parsing and TeX are off for every
    text made here (see also :func:`png_bytes`, where tick labels are made). Their control
    characters are drawn as U+FFFD (:class:`latcircle.present.figure_canvas.FigureCanvas`).
    """

    @functools.wraps(build)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        with matplotlib.rc_context(_text_rc()):
            return build(*args, **kwargs)

    return wrapper


@_with_fonts
def band_map(layers: Mapping[str, gpd.GeoDataFrame], *, title: str = "", note: str = "") -> Figure:
    """Draw the cumulative latency bands over the metro boundary, districts and sites.

    Parameters
    ----------
    layers
        A run's GeoPackage layers (``bands``, ``boundary``; ``districts``, ``sites``
        when present), in the local CRS.
    title
        Axes title.
    note
        A line under the title (e.g. "synthetic").

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(7.5, 6.5), dpi=_DPI, layout=FittedLayout())
    ax = fig.add_subplot()
    bands = layers["bands"].sort_values("threshold_ms", ascending=False)
    colours = band_colours(bands["threshold_ms"])
    boundary = layers["boundary"].geometry
    draw_polygons(ax, boundary, facecolor="#f0f0f0", edgecolor="none")
    # Empty bands (no site online, or none within them) are left out; the others are one
    # collection, drawn in order (the widest first, each narrower band over it).
    drawn = bands[~(bands.geometry.isna() | bands.geometry.is_empty)]
    draw_polygons(
        ax,
        drawn.geometry,
        facecolor=[colours[float(t)] for t in drawn["threshold_ms"]],
        edgecolor="none",
    )
    if "districts" in layers:
        draw_lines(ax, layers["districts"].boundary, color="#525252", linewidth=0.6, linestyle="--")
    draw_lines(ax, boundary.boundary, color="black", linewidth=1.2)
    handles: list[Artist] = [Patch(color=c, label=f"≤ {t:g} ms") for t, c in colours.items()]
    if "sites" in layers and len(layers["sites"]):
        sites = layers["sites"]
        online = sites["online"].astype(bool) if "online" in sites else np.ones(len(sites), bool)
        site = {"s": 28, "marker": "s", "zorder": 5}
        if online.any():
            draw_points(ax, sites.geometry[online], color="#08306b", **site)
        if (~online).any():
            draw_points(ax, sites.geometry[~online], facecolor="white", edgecolor="#08306b", **site)
        handles.append(
            Line2D([], [], color="#08306b", marker="s", linestyle="", label="compute site")
        )
    handles.append(Patch(facecolor="#f0f0f0", edgecolor="black", label="beyond the largest band"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_axis_off()
    ax.set_aspect("equal")
    _scale_note(ax, layers["boundary"])
    _set_title(ax, title + (f"\n{note}" if note else ""), fontsize=10)
    return fig


def _scale_note(ax: Axes, boundary: gpd.GeoDataFrame) -> None:
    """Draw a plain scale bar (the local CRS is in metres)."""
    x0, y0, x1, _ = boundary.total_bounds
    km = 10 ** np.floor(np.log10(max((x1 - x0) / 4000.0, 1.0)))
    ax.plot([x1 - km * 1000, x1], [y0, y0], color="black", linewidth=2)
    ax.text(x1 - km * 500, y0, f"{km:g} km\n", ha="center", va="bottom", fontsize=8)


@_with_fonts
def coverage_curve(
    scenarios: Scenario | Mapping[str, Scenario],
    *,
    max_ms: float = 2.0,
    budget_ms: float = 1.0,
    targets: Sequence[Target] = (),
    title: str = "",
) -> Figure:
    """Plot the share covered against the latency budget, 0 to ``max_ms``, per basis.

    Parameters
    ----------
    scenarios
        One scenario, or several by label (drawn solid, dashed, dotted, ...).
    max_ms
        Right end of the budget axis.
    budget_ms
        The budget marked with a vertical line.
    targets
        Target shares marked with horizontal lines.
    title
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    named = scenarios if isinstance(scenarios, Mapping) else {"": scenarios}
    budgets = np.linspace(0.0, max_ms, 401)
    fig = Figure(figsize=(7.0, 4.2), dpi=_DPI, layout=FittedLayout())
    ax = fig.add_subplot()
    styles = ["-", "--", ":", "-."]
    for i, (label, scenario) in enumerate(named.items()):
        for basis, ev in scenario.evaluations.items():
            name = BASIS_LABELS.get(basis, basis) + (f" — {label}" if label else "")
            ax.plot(
                budgets,
                curve(ev, budgets),
                color=BASIS_COLOURS.get(basis),
                linestyle=styles[i % len(styles)],
                linewidth=1.8,
                label=name,
            )
    ax.axvline(budget_ms, color="black", linewidth=0.8)
    for t in targets:
        ax.axhline(t.share, color="grey", linewidth=0.8, linestyle="--")
        label = f" {t.year}: {percent(t.share, digits=0)}"
        ax.text(max_ms, t.share, label, va="center", fontsize=8)
    ax.set_xlim(0, max_ms)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("latency budget (ms, one-way)")
    ax.set_ylabel("share within budget")
    ax.yaxis.set_major_formatter(lambda v, _pos: percent(v, digits=0))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    _set_title(ax, title, fontsize=10)
    return fig


@_with_fonts
def district_bars(
    coverage: pd.DataFrame,
    *,
    threshold_ms: float = 1.0,
    title: str = "",
    names: Mapping[str, str] | None = None,
) -> Figure:
    """Bar each district's share within ``threshold_ms``, one bar per basis.

    Parameters
    ----------
    coverage
        The coverage table (``coverage.csv``).
    threshold_ms
        The threshold shown.
    title
        Axes title.
    names
        Labels to show for the table's district names (``--lang zh``: the local names);
        the order stays that of the table's names.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = coverage[
        (coverage["scope"] == "district") & np.isclose(coverage["threshold_ms"], threshold_ms)
    ]
    table = rows.pivot_table(index="name", columns="basis", values="share", dropna=False)
    bases = [b for b in BASIS_LABELS if b in table.columns]
    table = table[bases].sort_index(ascending=False)
    height = max(2.5, 0.45 * len(table) * max(len(bases), 1) ** 0.5 + 1.2)
    fig = Figure(figsize=(7.0, height), dpi=_DPI, layout=FittedLayout())
    ax = fig.add_subplot()
    if table.empty:
        ax.text(0.5, 0.5, "no districts in this city's config", ha="center", va="center")
        ax.set_axis_off()
        return fig
    step = 0.8 / len(bases)
    y = np.arange(len(table))
    for i, basis in enumerate(bases):
        # First basis on top within each district's group, as in the legend.
        _bars(
            ax,
            y + ((len(bases) - 1) / 2 - i) * step,
            table[basis].fillna(0).to_numpy(),
            height=step,
            color=BASIS_COLOURS[basis],
            label=BASIS_LABELS[basis],
        )
    # Data, shown as the canvas shows every text (tick labels are made as it draws).
    ax.set_yticks(y, [figure_text((names or {}).get(n, n)) for n in table.index])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _pos: percent(v, digits=0))
    ax.set_xlabel(f"share within {threshold_ms:g} ms")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _set_title(ax, title, fontsize=10)
    return fig


#: Most bars drawn as one patch: Agg snaps a path to whole pixels, as it snaps each bar
#: alone, only when it has at most 1,024 vertices (five a bar).
_BARS_PER_PATCH = 200


def _bars(
    ax: Axes, y: np.ndarray, widths: np.ndarray, *, height: float, color: str, label: str
) -> None:
    """Draw horizontal bars from 0 as ``Axes.barh`` draws them, in one patch per 200 bars.

    ``barh`` makes a :class:`~matplotlib.patches.Rectangle` per bar (most of a district
    chart's building time, and a draw each). The same rectangles as one path, vertex for
    vertex in ``Rectangle``'s order, with ``barh``'s fill, no edge and the same line width
    (it sets the snapping), give the same pixels; the legend shows the first patch as it
    showed the bars' (``tests/test_figure_bars.py`` compares with ``barh``).
    """
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    bottom = np.asarray(y, dtype=float) - height / 2
    widths = np.asarray(widths, dtype=float)
    one = [MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY]
    for start in range(0, len(bottom), _BARS_PER_PATCH):
        b = bottom[start : start + _BARS_PER_PATCH]
        w = widths[start : start + _BARS_PER_PATCH]
        zero = np.zeros_like(b)
        xs = np.column_stack([zero, zero + w, zero + w, zero, zero])
        ys = np.column_stack([b, b, b + height, b + height, b])
        path = MplPath(np.column_stack([xs.ravel(), ys.ravel()]), one * len(b))
        patch = PathPatch(
            path, facecolor=color, edgecolor="none", label=label if start == 0 else "_nolegend_"
        )
        patch.sticky_edges.x.append(0.0)
        ax.add_patch(patch)
    ax.autoscale()  # as barh asks for: the view fitted to the bars, with margins, at draw


@_with_fonts
def progress_chart(
    progress: pd.DataFrame, *, targets: Sequence[Target] = (), title: str = ""
) -> Figure:
    """Plot each basis' share by year against the targets.

    Parameters
    ----------
    progress
        A progress table (:func:`latcircle.analysis.progress.progress_table`): ``year``, ``basis``,
        ``share``, and when present ``judged`` (the judged basis is drawn bold) and
        ``status`` (markers coloured met / on track / behind).
    targets
        Targets drawn as stars at (year, share).
    title
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(7.0, 4.2), dpi=_DPI, layout=FittedLayout())
    ax = fig.add_subplot()
    for basis, rows in progress.groupby("basis", sort=False):
        rows = rows.sort_values("year")
        judged = bool(rows["judged"].astype(bool).any()) if "judged" in rows else False
        ax.plot(
            rows["year"],
            rows["share"],
            color=BASIS_COLOURS.get(str(basis)),
            linewidth=2.6 if judged else 1.2,
            alpha=1.0 if judged else 0.7,
            label=BASIS_LABELS.get(str(basis), str(basis)) + (" (judged)" if judged else ""),
        )
        if judged and "status" in rows:
            colours = [PROGRESS_COLOURS.get(str(s), "grey") for s in rows["status"]]
            ax.scatter(
                rows["year"],
                rows["share"],
                c=colours,
                s=36,
                zorder=4,
                edgecolors="black",
                linewidths=0.5,
            )
    _targets(ax, targets)
    _year_axis(ax, progress["year"], targets)
    ax.set_ylabel("share within the target's budget")
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], marker="o", linestyle="", color=c, label=s)
        for s, c in PROGRESS_COLOURS.items()
    ]
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    _set_title(ax, title, fontsize=10)
    return fig


@_with_fonts
def national_chart(
    progress: pd.DataFrame, *, targets: Sequence[Target] = (), title: str = ""
) -> Figure:
    """Plot the national rollup by year: the pooled share and the metros meeting the target.

    The columns are the rollup's own names (:data:`latcircle.analysis.national.POOLED_SHARE`,
    ``METROS_MET``, ``METROS``), never guessed: a table without them is an error.

    Parameters
    ----------
    progress
        The national ``progress.csv``: ``year``, the pooled share (people within the
        target's budget over the people of the metros counted), metros meeting the target
        in force, and metros reporting.
    targets
        Targets drawn as stars.
    title
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        When a column the chart plots is missing.
    """
    from latcircle.analysis.national import METROS, METROS_MET, POOLED_SHARE

    fig = Figure(figsize=(7.0, 4.2), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    years = progress["year"].astype(int)
    ax.plot(
        years,
        progress[POOLED_SHARE].astype(float),
        color=BASIS_COLOURS["population"],
        linewidth=2.2,
        marker="o",
        label="people within the budget (pooled)",
        gid=POOLED_SHARE,
    )
    _targets(ax, targets)
    _year_axis(ax, years, targets)
    ax.set_ylabel("share")
    right = ax.twinx()
    right.bar(
        years,
        progress[METROS_MET],
        color="#bdbdbd",
        alpha=0.6,
        width=0.6,
        label="metros meeting the target in force",
        zorder=0,
    )
    right.set_ylim(0, max(float(progress[METROS].max()) if len(progress) else 0.0, 1.0) * 1.05)
    right.set_ylabel("metros meeting the target in force")
    ax.set_zorder(right.get_zorder() + 1)
    ax.patch.set_visible(False)
    lines, labels = ax.get_legend_handles_labels()
    bars, bar_labels = right.get_legend_handles_labels()
    ax.legend(lines + bars, labels + bar_labels, fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    return fig


@_with_fonts
def sensitivity_chart(
    table: pd.DataFrame,
    *,
    series: Sequence[tuple[int | None, str]],
    run_values: Mapping[str, float],
    targets: Sequence[float] = (),
    title: str = "",
) -> Figure:
    """Plot shares as the exact step functions of ``r`` and of ``E``.

    Parameters
    ----------
    table
        ``sensitivity.csv``'s rows (:func:`latcircle.analysis.sensitivity.sensitivity_table`).
    series
        The ``(year, basis)`` curves to draw (year ``None``: the run's all-sites scenario).
    run_values
        The run's own ``route_factor`` and ``equipment_us`` (drawn as vertical lines).
    targets
        Target shares drawn as horizontal lines.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(8.0, 3.6), dpi=_DPI)
    axes = fig.subplots(1, 2, sharey=True)
    labels = {"route_factor": "route factor r", "equipment_us": "equipment latency E (µs)"}
    styles = ["-", "--", "-.", ":"]
    for ax, parameter in zip(axes, ("route_factor", "equipment_us"), strict=True):
        part = table[table["parameter"] == parameter]
        for i, (year, basis) in enumerate(series):
            on = part["year"].isna() if year is None else part["year"] == year
            rows = part[on & (part["basis"] == basis)].sort_values("value", kind="stable")
            # Left-continuous steps: the share holds up to each value, then drops to share_above.
            x = np.repeat(rows["value"].to_numpy(), 2)
            y = np.column_stack([rows["share"], rows["share_above"]]).ravel()
            when = "every site" if year is None else str(year)
            ax.plot(
                x,
                y,
                color=BASIS_COLOURS.get(basis),
                linestyle=styles[i % len(styles)],
                linewidth=1.6,
                label=f"{BASIS_LABELS.get(basis, basis)}, {when}",
            )
        if parameter in run_values:
            ax.axvline(run_values[parameter], color="black", linestyle=":", linewidth=1)
        for share in targets:
            ax.axhline(share, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel(labels[parameter])
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(lambda v, _pos: percent(v, digits=0))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share within the budget")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.set_layout_engine(FittedLayout(suptitle=fig.suptitle(title, fontsize=10)))
    return fig


@_with_fonts
def uncertainty_fan(
    table: pd.DataFrame, *, targets: Sequence[Target] = (), title: str = "", note: str = ""
) -> Figure:
    """Plot each basis' share by year with its P5-P95 band and P50 line.

    Parameters
    ----------
    table
        :attr:`latcircle.analysis.uncertainty.UncertaintyResult.table`: ``year``, ``basis``,
        ``share``, ``share_p5``, ``share_p50``, ``share_p95`` (rows without a year skipped).
    targets
        Targets drawn as stars.
    title, note
        Axes title and a note under it (how the band was computed).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(7.0, 4.2), dpi=_DPI, layout=FittedLayout())
    ax = fig.add_subplot()
    rows = table[table["year"].notna()]
    for basis, b_rows in rows.groupby("basis", sort=False):
        b_rows = b_rows.sort_values("year")
        colour = BASIS_COLOURS.get(str(basis))
        years = b_rows["year"].astype(int).to_numpy()
        ax.fill_between(
            years, b_rows["share_p5"], b_rows["share_p95"], color=colour, alpha=0.18, linewidth=0
        )
        ax.plot(
            years,
            b_rows["share_p50"],
            color=colour,
            linewidth=1.8,
            label=BASIS_LABELS.get(str(basis), str(basis)) + " P50 (band P5-P95)",
        )
        ax.plot(years, b_rows["share"], color=colour, linewidth=1.0, linestyle=":")
    _targets(ax, targets)
    _year_axis(ax, rows["year"].astype(int), targets)
    ax.set_ylabel("share within the budget")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", linestyle=":", label="at the run's parameters"))
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    _set_title(ax, title + (f"\n{note}" if note else ""), fontsize=9)
    return fig


def _set_title(ax: Axes, text: str, *, fontsize: float) -> None:
    """Title ``ax``, pinned at its top (``y=1``, as matplotlib would place it here).

    Left to itself, matplotlib measures every tick label at each draw to keep a title clear
    of ticks on top of the axes; these figures have none, so the title stays where it is.
    """
    ax.set_title(text, fontsize=fontsize, y=1.0)


def _targets(ax: Axes, targets: Sequence[Target]) -> None:
    for t in targets:
        ax.scatter([t.year], [t.share], marker="*", s=180, color="black", zorder=5)
        ax.annotate(
            f"{t.year} target {percent(t.share, digits=0)}",
            (t.year, t.share),
            xytext=(-6, 8),
            textcoords="offset points",
            ha="right",
            fontsize=8,
        )


def _year_axis(ax: Axes, years: pd.Series, targets: Sequence[Target]) -> None:
    every = sorted({int(y) for y in years} | {t.year for t in targets})
    if every:
        ax.set_xticks(every, [str(y) for y in every])
        ax.set_xlim(every[0] - 0.5, every[-1] + 0.5)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _pos: percent(v, digits=0))
    ax.grid(alpha=0.3)


def png_bytes(fig: Figure) -> bytes:
    """Return the figure as PNG bytes, without a timestamp or software tag.

    Parameters
    ----------
    fig
        The figure.
    """
    from matplotlib.image import imsave

    from latcircle.present.figure_canvas import FigureCanvas

    buf = io.BytesIO()
    dpi = fig.get_dpi()
    fig.set_dpi(_DPI)  # as ``savefig(dpi=_DPI)``: for the draw only
    try:
        # Tick labels are made when the figure is drawn: the same text rules apply.
        with matplotlib.rc_context(_text_rc()):
            # What ``savefig`` does, drawn once: with a layout engine ``savefig`` first draws
            # the whole figure with rendering off to run the layout, then again to render (a
            # sixth of its time here). ``Figure.draw`` runs the layout itself before drawing
            # anything, so one draw gives the same pixels; they are encoded as ``savefig``
            # does (Pillow's PNG at the figure's dpi): the same bytes
            # (tests/test_figures_once.py).
            canvas = FigureCanvas(fig)
            canvas.draw()
            imsave(
                buf,
                canvas.buffer_rgba(),
                format="png",
                origin="upper",
                dpi=_DPI,
                # None removes a key (matplotlib's docs), which its stubs do not allow for.
                metadata=_PNG_METADATA,  # type: ignore[arg-type]
            )
    finally:
        fig.set_dpi(dpi)
    return buf.getvalue()


def _text_rc() -> dict[RcKeyType, Any]:
    """Matplotlib settings under which every string is drawn as written (no mathtext)."""
    return {"font.family": _font_families(), "text.parse_math": False, "text.usetex": False}


#: Fonts tried in order, glyph by glyph: Latin first, then CJK for Chinese place names.
_FONT_PREFERENCE = (
    "DejaVu Sans",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)


#: The fonts of :data:`_FONT_PREFERENCE` that carry Chinese glyphs.
_CJK_FONTS = frozenset(_FONT_PREFERENCE[1:])
#: What to do when no installed font has Chinese glyphs.
CJK_FONT_FIX = (
    "no installed font has Chinese glyphs: Chinese names in the figures will show as boxes "
    "(install one, e.g. `apt-get install fonts-noto-cjk`)"
)


@functools.cache
def _font_families() -> list[str]:
    """Return the preferred fonts that are installed (matplotlib falls back per glyph)."""
    from matplotlib import font_manager

    installed = cjk_fonts(font_manager.fontManager) | {
        f.name for f in font_manager.fontManager.ttflist
    }
    return [name for name in _FONT_PREFERENCE if name in installed] or ["sans-serif"]


def cjk_fonts(manager: font_manager.FontManager) -> set[str]:
    """Return the CJK fonts ``manager`` knows, adding installed ones its cache predates.

    matplotlib caches the font list the first time it runs; a CJK font installed later (the
    usual ``apt-get install fonts-noto-cjk`` after ``pip install``) stays unknown to it. The
    files fontconfig knows for Chinese (``fc-list :lang=zh``) are added to ``manager``.

    Parameters
    ----------
    manager
        A matplotlib font manager (``matplotlib.font_manager.fontManager``).

    Returns
    -------
    set of str
        The preferred CJK font names it knows afterwards; empty when there is none.
    """
    known = {f.name for f in manager.ttflist} & _CJK_FONTS
    if known:
        return known
    for path in _fontconfig_cjk_files():
        try:
            manager.addfont(path)
        except (OSError, RuntimeError, ValueError):  # unreadable or unsupported file
            continue
    return {f.name for f in manager.ttflist} & _CJK_FONTS


def _fontconfig_cjk_files() -> list[str]:
    """Font files fontconfig lists for Chinese, sorted (none without fontconfig)."""
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        done = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    files = {line.split(":")[0].strip() for line in done.stdout.splitlines() if line.strip()}
    return sorted(f for f in files if f.lower().endswith((".ttf", ".otf", ".ttc")))


def has_cjk(text: str) -> bool:
    """Return whether ``text`` has a CJK ideograph (so it needs a CJK font)."""
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


@functools.cache
def _warn_no_cjk_font() -> None:
    """Say once per session that Chinese text cannot be drawn, and the fix."""
    log.warning(CJK_FONT_FIX)


def check_cjk_font(texts: Sequence[str]) -> bool:
    """Return whether the figures can draw ``texts``; warn once (with the fix) if not.

    Parameters
    ----------
    texts
        Text the figures will draw (city and district names).
    """
    if not any(has_cjk(t) for t in texts):
        return True
    if set(_font_families()) & _CJK_FONTS:
        return True
    _warn_no_cjk_font()
    return False


def write_figures(
    result: RunResult,
    folder: str | Path,
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    progress: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write a city's figures as PNG files under ``folder/figures/``.

    Parameters
    ----------
    result
        The run.
    folder
        The (temporary) output folder; its ``isochrones.gpkg`` supplies the band map.
    layers
        The GeoPackage layers, read from ``folder`` when ``None``.
    progress
        The progress table; ``folder/progress.csv`` when ``None`` and it exists. Without
        one there is no progress chart.

    Returns
    -------
    dict
        Figure name (``bands``, ``curve``, ``districts``, ``progress``) to file.
    """
    folder = Path(folder)
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    written = {}
    for name, fig in city_figures(result, folder, layers=layers, progress=progress).items():
        path = out / f"{name}.png"
        path.write_bytes(png_bytes(fig))
        written[name] = path
    return written


def city_figures(
    result: RunResult,
    folder: str | Path,
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    progress: pd.DataFrame | None = None,
    lang: str = "en",
) -> dict[str, Figure]:
    """Build a city's figures (see :func:`write_figures`); district names in ``lang``."""
    from latcircle.present.map.words import metro_district_names

    cfg = result.metro.config
    shown = metro_district_names(result.metro, lang) if lang != "en" else None
    names = dict(zip(result.metro.district_names, shown, strict=True)) if shown else None
    check_cjk_font([cfg.name, cfg.name_local or "", *result.metro.district_names])
    layers = layers if layers is not None else read_layers(folder)
    if progress is None:
        progress = read_optional_table(Path(folder) / "progress.csv")
    when = f"sites online by {result.scenario.year}" if result.scenario.year else "all sites"
    note = "synthetic: every input is generated" if cfg.synthetic else ""
    if cfg.sites.hypothetical:
        note += ("; " if note else "") + "compute sites are hypothetical"
    figs = {
        "bands": band_map(layers, title=f"{cfg.name}: latency bands ({when})", note=note),
        "curve": coverage_curve(
            result.scenario,
            budget_ms=cfg.budget_ms,
            targets=cfg.targets,
            title=f"{cfg.name}: share covered vs latency budget",
        ),
        "districts": district_bars(
            result.coverage,
            threshold_ms=cfg.budget_ms,
            title=f"{cfg.name}: districts within {cfg.budget_ms:g} ms",
            names=names,
        ),
    }
    if progress is not None and len(progress):
        figs["progress"] = progress_chart(
            progress, targets=cfg.targets, title=f"{cfg.name}: progress toward the targets"
        )
    figs.update(_robust_figures(result))
    return figs


def _robust_figures(result: RunResult) -> dict[str, Figure]:
    """Return the sensitivity curves and the uncertainty fan, when the run computed them."""
    robust, cfg = result.robust, result.metro.config
    if robust is None:
        return {}
    p = result.metro.params
    series = [(c.year, c.basis) for c in robust.critical.itertuples()]
    series = list(dict.fromkeys(series)) or [(robust.year, b) for b in result.metro.bases]
    figs = {
        "sensitivity": sensitivity_chart(
            robust.table,
            series=series,
            run_values={"route_factor": p.route_factor, "equipment_us": p.equipment_us},
            targets=[t.share for t in cfg.targets],
            title=f"{cfg.name}: share vs route factor and equipment latency (exact)",
        )
    }
    unc = robust.uncertainty
    if unc is not None and unc.table["year"].notna().any():
        figs["fan"] = uncertainty_fan(
            unc.table,
            targets=cfg.targets,
            title=f"{cfg.name}: share by year, P5-P95 under parameter uncertainty",
            note=(
                "exact: one uncertain parameter"
                if unc.exact
                else f"Monte Carlo: {unc.samples} draws, seed {unc.seed}"
            ),
        )
    return figs
