"""The heat layer of people beyond the budget (no access or too far), aggregated to cells."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import folium
import numpy as np
import pyproj

from latcircle.analysis.coverage import covered
from latcircle.present import assets as _assets
from latcircle.present.basemaps import to_display
from latcircle.present.map.elements import WGS84
from latcircle.present.map.legend import heat_scale_html
from latcircle.present.map.plugins import HeatMap
from latcircle.present.style import HEAT_GRADIENT, escape_text

if TYPE_CHECKING:
    from latcircle.run import RunResult

__all__ = ["add_heat"]


def add_heat(
    fmap: folium.Map,
    result: RunResult,
    *,
    cell_m: float,
    precision: int,
    datum: str,
    words: Mapping[str, str],
) -> tuple[HeatMap, str] | None:
    """Add the heat of uncovered people; return it and its legend section (or ``None``)."""
    # Heat cells are hundreds of metres wide: 4 decimals (about 10 m) lose nothing. The
    # weights have 2.
    found = _uncovered_population(result, cell_m=cell_m, precision=min(precision, 4))
    if found is None or not len(found[0]):
        return None
    points, top = found
    if datum != "wgs84":  # rows already rounded to at most 4 decimals stay as they are
        lon, lat = to_display(points[:, 1], points[:, 0], datum=datum)  # type: ignore[arg-type]
        points = np.array(
            [
                [round(float(a), 4), round(float(b), 4), float(w)]
                for a, b, w in zip(lat, lon, points[:, 2], strict=True)
            ],
            dtype=float,
        )
    heat = HeatMap(
        points,  # every value rounded to at most 4 places: written from the array
        decimals=4,
        name=escape_text(words["layer_heat"]),
        show=True,
        radius=14,
        blur=12,
        min_opacity=0.05,
        max_zoom=13,
        gradient=HEAT_GRADIENT,
    )
    heat.default_js = _assets.js_urls(_assets.HEAT_JS)  # pinned, not folium@main
    heat.add_to(fmap)
    return heat, heat_scale_html(top, cell_m, words)


def _uncovered_population(
    result: RunResult, *, cell_m: float, precision: int
) -> tuple[np.ndarray, float] | None:
    """People beyond the budget (no access or too far), summed over ``cell_m`` cells.

    Returns ``[lat, lon, weight]`` rows (an ``(n, 3)`` float array), weight relative to the
    99th-percentile cell, and that cell's people (the top of the heat scale).
    """
    metro, scenario = result.metro, result.scenario
    if "population" not in scenario.evaluations:
        return None
    ev = scenario.evaluations["population"]
    x, y = ev.samples.coordinates()  # the pixels inside the metro, as prepare chose them
    out = ~covered(ev.latency_us, budget_ms=metro.config.budget_ms)
    people = ev.samples.weight[out]
    if not people.sum():
        return np.empty((0, 3)), 0.0
    ix = np.floor(x[out] / cell_m).astype(np.int64)
    iy = np.floor(y[out] / cell_m).astype(np.int64)
    # One int64 key per cell, ordered as the (ix, iy) rows would sort: a 1-D unique instead
    # of np.unique(axis=0), which sorts rows through a structured view, several times slower.
    x0, y0 = ix.min(), iy.min()
    ny = iy.max() - y0 + 1
    key = (ix - x0) * ny + (iy - y0)
    keys, sums = _cell_sums(key, people)
    kx, ky = np.divmod(keys, ny)
    cx, cy = (kx + x0 + 0.5) * cell_m, (ky + y0 + 0.5) * cell_m
    lon, lat = pyproj.Transformer.from_crs(metro.inputs.crs, WGS84, always_xy=True).transform(
        cx, cy
    )
    # Intensity relative to the 99th percentile cell: one dense block must not wash out
    # the rest of the heat layer.
    top = float(np.percentile(sums, 99)) or 1.0
    weight = np.round(np.minimum(sums / top, 1.0), 2)
    # Cells under 1 % of that show as nothing but haze (and weigh on the page): left out.
    shown = weight >= 0.01
    rows = np.column_stack(
        [np.round(lat[shown], precision), np.round(lon[shown], precision), weight[shown]]
    )
    return rows, top


#: Most cells of the dense sum of :func:`_cell_sums` (int64 keys, float64 sums: 16 bytes a
#: cell, 64 MB at most); a wider box of cells takes the sorted route.
_DENSE_CELLS = 4_000_000


def _cell_sums(key: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the cells (ascending keys ``>= 0``) whose weight sums to at least 1, and those sums.

    Each cell's weights are added in sample order (``np.bincount``), so a dense count over
    the cells' box gives the same sums, bit for bit, as the sorted unique keys did, without
    the sort; cells summing under 1 are left out either way.
    """
    size = int(key.max()) + 1 if len(key) else 0
    if size <= _DENSE_CELLS:
        dense = np.bincount(key, weights=weight, minlength=size)
        keys = np.flatnonzero(dense >= 1.0)
        return keys, dense[keys]
    keys, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weight)
    keep = sums >= 1.0
    return keys[keep], sums[keep]
