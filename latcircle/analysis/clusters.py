"""Where to build: the largest connected uncovered areas of a scenario, by cause.

:func:`uncovered_clusters` splits the uncovered grid cells into *no access* (beyond the max
drop: build access) and *too far* (over the budget: build compute), groups each cause's cells
into 4-connected clusters and ranks them by the people or key sites they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import ndimage

from latcircle.analysis.coverage import covered
from latcircle.analysis.isochrones import mask_polygons
from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.progress import auto_basis, resolve_basis
from latcircle.engine.grid import Grid

__all__ = ["CLUSTER_COLUMNS", "rank_basis", "uncovered_clusters"]

CLUSTER_COLUMNS = [
    "year",
    "cause",
    "rank",
    "cells",
    "area_km2",
    "people",
    "key_sites",
    "min_latency_us",
    "district",
    "lon",
    "lat",
    "geometry",
]

_CAUSES = ("no_access", "too_far")
_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)
_WGS84 = pyproj.CRS.from_epsg(4326)


def uncovered_clusters(
    metro: Metro,
    scenario: Scenario,
    *,
    budget_ms: float | None = None,
    top: int | None = 10,
    by: str | None = None,
) -> gpd.GeoDataFrame:
    """Rank the connected uncovered areas of a scenario, by cause.

    Uncovered grid cells are split by cause (*no access*: beyond the max drop, build access;
    *too far*: over the budget, build compute), and each cause's cells are grouped into
    4-connected clusters. People and key sites are assigned to the cluster of the grid cell
    they fall in, counting only those that are themselves uncovered.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        A scenario solved on it.
    budget_ms
        The access budget; the config's when ``None``.
    top
        Clusters kept per cause (all when ``None``).
    by
        Rank by ``key_sites``, ``population`` or ``area``; by the basis of the last target
        when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`CLUSTER_COLUMNS`, in the local CRS: the scenario ``year``, ``cause``,
        ``rank`` (1 = largest within the cause), ``cells``, ``area_km2``, ``people`` and
        ``key_sites`` (weight; empty without that input), ``min_latency_us`` (best latency
        in a too-far cluster), the ``district`` holding most of its cells, the centre of its
        cells in WGS84 ``lon``/``lat``, and the cells' outline clipped to the metro.
    """
    budget_ms = metro.config.budget_ms if budget_ms is None else budget_ms
    by = by or rank_basis(metro)
    cells = _cell_table(metro, scenario, budget_ms)
    frames = [_clusters_of(metro, cells, cause, by=by, top=top) for cause in _CAUSES]
    out = _typed(pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True))
    out.insert(0, "year", pd.array([scenario.year] * len(out), dtype="Int64"))
    return gpd.GeoDataFrame(out[CLUSTER_COLUMNS], geometry="geometry", crs=metro.inputs.crs)


@dataclass(frozen=True, slots=True)
class _Cells:
    """Per-cell rasters of one scenario: cause code, latency, uncovered weight by basis."""

    cause: np.ndarray  # 0 covered / outside, 1 no_access, 2 too_far
    latency: np.ndarray
    weight: dict[str, np.ndarray]
    district: np.ndarray


def rank_basis(metro: Metro) -> str:
    """Return the basis clusters are ranked by: the last target's, else ``auto``'s."""
    bases = metro.bases
    targets = sorted(metro.config.targets, key=lambda t: t.year)
    if targets:
        return resolve_basis(targets[-1], bases)
    return auto_basis(bases)


def _cell_table(metro: Metro, scenario: Scenario, budget_ms: float) -> _Cells:
    grid = metro.grid
    area = scenario.evaluations["area"]
    within = covered(area.latency_us, budget_ms=budget_ms)
    # The causes of Evaluation.status, as codes: 1 no access, 2 too far, 0 covered.
    code = np.where(area.samples.location.has_access, np.where(within, 0, 2), 1)
    weight: dict[str, np.ndarray] = {}
    for basis in ("population", "key_sites"):
        if basis in scenario.evaluations:
            weight[basis] = _uncovered_weight(grid, metro, scenario, basis, budget_ms)
    return _Cells(
        cause=grid.to_raster(code, fill=0, dtype="int8"),
        latency=grid.to_raster(area.latency_us, fill=np.inf, dtype="float64"),
        weight=weight,
        district=grid.to_raster(area.samples.district, fill=-1, dtype="int32"),
    )


def _uncovered_weight(
    grid: Grid, metro: Metro, scenario: Scenario, basis: str, budget_ms: float
) -> np.ndarray:
    """Raster of the uncovered weight of ``basis`` per grid cell."""
    ev = scenario.evaluations[basis]
    x, y = ev.samples.coordinates()
    uncovered = ~covered(ev.latency_us, budget_ms=budget_ms)
    col, row = ~grid.transform * (x, y)
    row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    rows, cols = grid.shape
    keep = uncovered & (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    flat = np.bincount(
        row[keep] * cols + col[keep], weights=ev.samples.weight[keep], minlength=rows * cols
    )
    return flat.reshape(grid.shape)


def _clusters_of(
    metro: Metro, cells: _Cells, cause: str, *, by: str, top: int | None
) -> pd.DataFrame:
    code = _CAUSES.index(cause) + 1
    labels, n = ndimage.label(cells.cause == code, structure=_FOUR_CONNECTED)
    if n == 0:
        return pd.DataFrame(columns=[c for c in CLUSTER_COLUMNS if c != "year"])
    flat = labels.ravel()
    size = np.bincount(flat, minlength=n + 1)[1:]
    people = _sum_by(flat, cells.weight.get("population"), n)
    key_sites = _sum_by(flat, cells.weight.get("key_sites"), n)
    rank_by = {"population": people, "key_sites": key_sites}.get(by)
    primary = rank_by if rank_by is not None else size.astype(float)
    order = np.lexsort((np.arange(n), -size, -np.nan_to_num(primary)))
    if top is not None:
        order = order[:top]
    return _describe(metro, cells, labels, order, cause, size, people, key_sites)


def _sum_by(flat: np.ndarray, raster: np.ndarray | None, n: int) -> np.ndarray:
    if raster is None:
        return np.full(n, np.nan)
    return np.bincount(flat, weights=raster.ravel(), minlength=n + 1)[1:]


def _describe(
    metro: Metro,
    cells: _Cells,
    labels: np.ndarray,
    order: np.ndarray,
    cause: str,
    size: np.ndarray,
    people: np.ndarray,
    key_sites: np.ndarray,
) -> pd.DataFrame:
    grid = metro.grid
    boxes = ndimage.find_objects(labels)
    to_wgs = pyproj.Transformer.from_crs(metro.inputs.crs, _WGS84, always_xy=True)
    names = [*metro.district_names, ""]
    rows = []
    for rank, k in enumerate(order, start=1):
        box = boxes[k]
        mask = labels[box] == k + 1
        r, c = np.nonzero(mask)
        r, c = r + box[0].start, c + box[1].start
        lon, lat = to_wgs.transform(*_centre(grid, r, c))
        lat_us = cells.latency[r, c]
        district = np.bincount(cells.district[r, c] + 1, minlength=len(names) + 1)
        rows.append(
            {
                "cause": cause,
                "rank": rank,
                "cells": int(size[k]),
                "area_km2": float(size[k] * grid.cell_km2),
                "people": float(people[k]),
                "key_sites": float(key_sites[k]),
                "min_latency_us": _min_latency(lat_us) if cause == "too_far" else np.nan,
                "district": names[int(np.argmax(district[1:]))] if district[1:].any() else "",
                "lon": float(lon),
                "lat": float(lat),
                "geometry": _outline(grid, box, mask, metro.inputs.boundary),
            }
        )
    return pd.DataFrame(rows, columns=[c for c in CLUSTER_COLUMNS if c != "year"])


def _centre(grid: Grid, r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Return the mean of the cells' centres, or the cluster's cell nearest to it.

    The mean of a ring-shaped cluster falls in its hole: the nearest cell of the cluster
    is then a better "where to build".
    """
    rm, cm = r.mean(), c.mean()
    if not np.any((r == np.floor(rm + 0.5)) & (c == np.floor(cm + 0.5))):
        k = int(np.argmin((r - rm) ** 2 + (c - cm) ** 2))
        rm, cm = float(r[k]), float(c[k])
    x = grid.transform.c + (cm + 0.5) * grid.transform.a
    y = grid.transform.f + (rm + 0.5) * grid.transform.e
    return float(x), float(y)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Give the cluster columns fixed dtypes (also when there are no clusters)."""
    kinds = {"cause": str, "rank": "int64", "cells": "int64", "district": str}
    for col in CLUSTER_COLUMNS[1:]:
        if col != "geometry":
            df[col] = df[col].astype(kinds.get(col, "float64"))
    return df


def _min_latency(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.min()) if len(finite) else np.nan


def _outline(grid: Grid, box: tuple[slice, slice], mask: np.ndarray, boundary: Any) -> Any:
    """Return the cells of ``mask`` (a window ``box`` of the grid), clipped to the metro."""
    sub = Grid(
        transform=grid.transform * grid.transform.translation(box[1].start, box[0].start),
        shape=mask.shape,
        inside=mask,
        cell_m=grid.cell_m,
    )
    geom = shapely.intersection(mask_polygons(sub, mask), boundary)
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type == "Polygon"]
    polys += [q for p in parts if p.geom_type == "MultiPolygon" for q in p.geoms]
    return shapely.MultiPolygon(polys)
