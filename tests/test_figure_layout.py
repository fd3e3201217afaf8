"""The report figures' fitted layout and geometry drawing (issue 23, session round 11).

:class:`latcircle.present.figure_layout.FittedLayout` replaces constrained layout for the city
figures: it measures only the texts around the axes. The references here are matplotlib's own
full measures, independent of it: ``Figure.get_tightbbox`` (every artist, as constrained
layout measures them) must lie inside the figure with the padding constrained layout keeps,
panels must not overlap, and titles must clear what is under them. Data are hostile on
purpose: long and Chinese names, a long title, labels outside the axes.

:mod:`latcircle.present.geodraw` draws geometries as ``GeoSeries.plot`` does; the reference is
``GeoSeries.plot`` itself, pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from latcircle.config import Target
from latcircle.present import figures
from latcircle.present.figure_layout import PAD_PT, FittedLayout
from latcircle.present.geodraw import draw_lines, draw_points, draw_polygons

LONG = "an extraordinarily long district name that goes on and on 很长的区名"


def _drawn(fig: Figure) -> tuple[Figure, object]:
    """Draw ``fig`` as :func:`figures.png_bytes` does; return it and its renderer."""
    canvas = FigureCanvasAgg(fig)
    with matplotlib.rc_context(figures._text_rc()):
        canvas.draw()
    return fig, canvas.get_renderer()


def _coverage(names: list[str]) -> pd.DataFrame:
    rows = [
        {"scope": "district", "name": n, "basis": b, "threshold_ms": 1.0, "share": s}
        for n, s in zip(names, np.linspace(0.1, 1.0, len(names)), strict=True)
        for b in ("key_sites", "population", "area")
    ]
    return pd.DataFrame(rows)


def _bars() -> Figure:
    names = ["West", LONG, "东西湖区", "Riverside Core"]
    return figures.district_bars(_coverage(names), title="A city: districts within 1 ms")


def _progress(top_share: float = 0.75) -> Figure:
    years = [2024, 2025, 2026, 2027, 2028]
    table = pd.DataFrame(
        {
            "year": years * 2,
            "basis": ["key_sites"] * 5 + ["population"] * 5,
            "share": np.linspace(0.5, 0.95, 10),
            "judged": [True] * 5 + [False] * 5,
            "status": ["behind", "behind", "on_track", "met", "met"] * 2,
        }
    )
    targets = [Target(year=2027, share=0.7), Target(year=2028, share=top_share)]
    return figures.progress_chart(table, targets=targets, title="A city: progress " * 3)


def _sensitivity() -> Figure:
    rows = [
        {
            "parameter": p,
            "year": 2027,
            "basis": "key_sites",
            "value": v,
            "share": s,
            "share_above": s - 0.01,
        }
        for p, values in (("route_factor", [1.0, 1.5, 2.0]), ("equipment_us", [0, 250, 500]))
        for v, s in zip(values, (0.9, 0.6, 0.3), strict=True)
    ]
    return figures.sensitivity_chart(
        pd.DataFrame(rows),
        series=[(2027, "key_sites")],
        run_values={"route_factor": 1.2, "equipment_us": 100.0},
        targets=[0.7, 0.75],
        title="A city: share vs route factor and equipment latency (exact)",
    )


def _band_map() -> Figure:
    ring = Point(0, 0).buffer(20_000)
    layers = {
        "boundary": gpd.GeoDataFrame(geometry=[ring], crs=3857),
        "bands": gpd.GeoDataFrame(
            {"threshold_ms": [0.5, 1.0]},
            geometry=[Point(0, 0).buffer(5_000), Point(0, 0).buffer(12_000)],
            crs=3857,
        ),
    }
    return figures.band_map(layers, title="A wide city: latency bands", note="a second line")


BUILDERS: dict[str, Callable[[], Figure]] = {
    "bars": _bars,
    "progress": _progress,
    "sensitivity": _sensitivity,
    "band map": _band_map,
}


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_everything_drawn_is_inside_the_figure_with_the_padding(
    build: Callable[[], Figure],
) -> None:
    fig, renderer = _drawn(build())
    assert isinstance(fig.get_layout_engine(), FittedLayout)
    pad = PAD_PT * fig.dpi / 72.0
    tight = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)  # pixels
    width, height = fig.bbox.width, fig.bbox.height
    # Nothing clipped: matplotlib's own measure of every artist lies inside, padding kept.
    assert tight.x0 >= pad - 0.5 and tight.y0 >= pad - 0.5
    assert tight.x1 <= width - pad + 0.5 and tight.y1 <= height - pad + 0.5
    # Fitted, not just shrunk: the texts reach the padding at the sides they define.
    if build is not _band_map:  # an equal-aspect map leaves the spare width on its sides
        assert tight.x0 == pytest.approx(pad, abs=1.5)
        assert tight.x1 == pytest.approx(width - pad, abs=1.5)
    assert tight.y1 == pytest.approx(height - pad, abs=1.5)


def test_the_long_name_and_the_outside_legend_are_whole() -> None:
    fig, renderer = _drawn(_bars())
    ax = fig.axes[0]
    labels = [t for t in ax.get_yticklabels() if t.get_text()]
    assert LONG in [t.get_text() for t in labels]
    for label in labels:
        assert label.get_window_extent(renderer).x0 >= 0
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 > ax.bbox.x1  # beside the axes, not over the bars
    assert legend.x1 <= fig.bbox.width


def test_panels_and_the_figure_title_do_not_overlap() -> None:
    fig, renderer = _drawn(_sensitivity())
    left, right = (ax.get_tightbbox(renderer) for ax in fig.axes)
    assert left.x1 <= right.x0
    title = fig.get_layout_engine()._suptitle.get_window_extent(renderer)  # type: ignore[union-attr]
    assert title.y0 >= max(left.y1, right.y1)


def test_axes_titles_clear_their_axes() -> None:
    for build in (_bars, _progress, _band_map):
        fig, renderer = _drawn(build())
        ax = fig.axes[0]
        assert ax.title.get_window_extent(renderer).y0 >= ax.bbox.y1


def test_the_curve_keeps_its_target_labels_right_of_the_axes() -> None:
    weight = SimpleNamespace(weight=np.array([1.0, 1.0, 2.0]))
    evaluation = SimpleNamespace(samples=weight, latency_us=np.array([100.0, 900.0, 1500.0]))
    scenario = SimpleNamespace(evaluations={"population": evaluation})  # what the chart reads
    targets = [Target(year=2027, share=0.7), Target(year=2028, share=0.75)]
    fig = figures.coverage_curve(scenario, targets=targets, title="curve")  # type: ignore[arg-type]
    fig, renderer = _drawn(fig)
    ax = fig.axes[0]
    texts = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(texts) == 2
    for bb in texts:
        assert bb.x0 >= ax.bbox.x1 and bb.x1 <= fig.bbox.width


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_same_figure_same_bytes(build: Callable[[], Figure]) -> None:
    assert figures.png_bytes(build()) == figures.png_bytes(build())


# --- geodraw: the pixels of GeoSeries.plot ------------------------------------------------


def _pixels(draw: Callable[[object], None]) -> np.ndarray:
    fig = Figure(figsize=(3, 3), dpi=60)
    ax = fig.add_subplot()
    draw(ax)
    ax.set_aspect("equal")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def test_geodraw_draws_the_pixels_geopandas_draws() -> None:
    # The hole turns the same way as its shell: only normalising makes it a hole.
    hole = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(3, 3), (6, 3), (6, 6), (3, 6)]])
    cw = Polygon([(12, 0), (12, 4), (16, 4), (16, 0)])  # clockwise: normalised first
    polys = gpd.GeoSeries([hole, MultiPolygon([cw, Polygon([(12, 6), (16, 6), (14, 9)])])])
    lines = polys.boundary
    points = gpd.GeoSeries([Point(1, 1), Point(14, 5), None])
    colours = ["#1f77b4", "#ff7f0e"]

    def ours(ax: object) -> None:
        draw_polygons(ax, polys, facecolor=colours, edgecolor="none")  # type: ignore[arg-type]
        draw_lines(ax, lines, color="black", linewidth=1.2, linestyle="--")  # type: ignore[arg-type]
        draw_lines(ax, gpd.GeoSeries([LineString([(0, 12), (16, 12)])]), color="grey")  # type: ignore[arg-type]
        draw_points(ax, points, color="#08306b", s=28, marker="s", zorder=5)  # type: ignore[arg-type]

    def theirs(ax: object) -> None:  # without the axis labels geopandas adds (the map has none)
        plain = {"ax": ax, "add_labels": False}
        polys.plot(color=colours, edgecolor="none", **plain)
        lines.plot(color="black", linewidth=1.2, linestyle="--", **plain)
        gpd.GeoSeries([LineString([(0, 12), (16, 12)])]).plot(color="grey", **plain)
        points.plot(color="#08306b", markersize=28, marker="s", zorder=5, **plain)

    mine = _pixels(ours)
    assert (mine[..., :3] < 250).any()  # something was drawn
    np.testing.assert_array_equal(mine, _pixels(theirs))


def test_geodraw_draws_nothing_for_nothing() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert draw_polygons(ax, gpd.GeoSeries([None, Polygon()]), facecolor="red") is None
    assert draw_lines(ax, []) is None
    assert draw_points(ax, gpd.GeoSeries([], dtype="geometry")) is None
    assert not ax.collections
