"""Where to build: the largest connected uncovered areas of a scenario, by cause and district.

:func:`uncovered_clusters` splits the uncovered grid cells by cause
(:data:`latcircle.analysis.coverage.CAUSES`: *no access*, beyond the max drop: build access;
*unreachable*, on a piece of network no online site is on: connect the network or build a site
there; *too far*, over the budget: build compute nearer), groups each cause's cells into
4-connected clusters within one district and ranks them by the people or key sites they hold.
:func:`clusters_and_counts` also says how many clusters weigh nothing (left out of the ranking);
:func:`latcircle.analysis.progress.shortfall_year` picks the year a planner should act on.
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

from latcircle.analysis.coverage import CAUSE_CODES, CAUSES
from latcircle.analysis.isochrones import mask_polygons
from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.progress import auto_basis, resolve_basis
from latcircle.engine.grid import Grid

__all__ = [
    "CLUSTER_COLUMNS",
    "all_sites_year",
    "clusters_and_counts",
    "rank_basis",
    "uncovered_clusters",
]

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
    "adcode",
    "district_local",
    "lon",
    "lat",
    "geometry",
]

_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)
_WGS84 = pyproj.CRS.from_epsg(4326)


def uncovered_clusters(
    metro: Metro,
    scenario: Scenario,
    *,
    budget_ms: float | None = None,
    top: int | None = 10,
    by: str | None = None,
    year: int | None = None,
) -> gpd.GeoDataFrame:
    """Rank the connected uncovered areas of a scenario, by cause and district.

    Uncovered grid cells are split by cause (:data:`latcircle.analysis.coverage.CAUSES`:
    *no access*, build access; *unreachable*, connect the network or build a site on that
    piece of it; *too far*, build compute nearer), and each cause's cells are grouped into
    4-connected clusters **within one district** (cells in no district form their own), so
    that one area spanning the metro does not hide the rest. People and key sites count in
    the cluster of the grid cell they fall in, and only when they are themselves uncovered.
    Clusters with no weight on the ranking basis are left out: they do not move the share a
    target is judged on (:func:`clusters_and_counts` says how many).

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
    year
        The year written in the ``year`` column; the scenario's year when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`CLUSTER_COLUMNS`, in the local CRS: ``year``, ``cause``, ``rank``
        (1 = heaviest within the cause), ``cells``, ``area_km2``, ``people`` and
        ``key_sites`` (weight; empty without that input), ``min_latency_us`` (the best
        latency in a *too far* cluster; empty for the other causes, where no site reaches),
        the ``district`` holding it with its ``adcode`` and local (Chinese) name
        ``district_local`` where the districts input has them, the centre of its cells in
        WGS84 ``lon``/``lat``, and the cells' outline clipped to the metro.
    """
    return clusters_and_counts(metro, scenario, budget_ms=budget_ms, top=top, by=by, year=year)[0]


def clusters_and_counts(
    metro: Metro,
    scenario: Scenario,
    *,
    budget_ms: float | None = None,
    top: int | None = 10,
    by: str | None = None,
    year: int | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, dict[str, int]]]:
    """Return :func:`uncovered_clusters` and, per cause, how many clusters weigh nothing.

    Parameters
    ----------
    metro, scenario, budget_ms, top, by, year
        As :func:`uncovered_clusters`.

    Returns
    -------
    tuple
        The clusters and the counts per cause.
    """
    frame, counts = _ranked_clusters(metro, scenario, budget_ms=budget_ms, top=top, by=by)
    when = scenario.year if year is None else year
    frame.insert(0, "year", pd.array([when] * len(frame), dtype="Int64"))
    gdf = gpd.GeoDataFrame(frame[CLUSTER_COLUMNS], geometry="geometry", crs=metro.inputs.crs)
    return gdf, counts


def all_sites_year(metro: Metro) -> int | None:
    """Return the year from which every site is online (the all-sites scenario), if known.

    Parameters
    ----------
    metro
        The prepared metro.

    Returns
    -------
    int or None
        The latest ``online_year`` of the sites; ``None`` when no site has one.
    """
    years = metro.inputs.sites["online_year"].dropna()
    return int(years.max()) if len(years) else None


@dataclass(frozen=True, slots=True)
class _Cells:
    """Per-cell rasters of one scenario: cause code, latency, uncovered weight by basis.

    ``weight`` holds, per basis, the flat indices of the cells with uncovered weight
    (ascending) and each one's weight: the other cells weigh nothing (no full-grid raster).
    """

    cause: np.ndarray  # CAUSE_CODES; 0 outside the metro
    latency: np.ndarray  # per inside cell (Grid.numbers), not a full-grid raster
    weight: dict[str, tuple[np.ndarray, np.ndarray]]
    district: np.ndarray
    # Each district's bounding box (:func:`_district_boxes`), found once for every cause;
    # ``None``: found when asked.
    boxes: list[tuple[slice, slice] | None] | None = None
    # Per status code, the districts holding such a cell (:func:`_districts_by_cause`);
    # ``None``: searched in the grid when asked.
    present: dict[int, np.ndarray] | None = None


def _district_boxes(district: np.ndarray) -> list[tuple[slice, slice] | None]:
    """Bounding box of district ``d`` at ``d - min + 1`` (find_objects wants labels >= 1)."""
    return ndimage.find_objects(district + (1 - int(district.min())))


def rank_basis(metro: Metro) -> str:
    """Return the basis clusters are ranked by: the last target's, else ``auto``'s."""
    bases = metro.bases
    targets = sorted(metro.config.targets, key=lambda t: t.year)
    if targets:
        return resolve_basis(targets[-1], bases)
    return auto_basis(bases)


def _ranked_clusters(
    metro: Metro,
    scenario: Scenario,
    *,
    budget_ms: float | None,
    top: int | None,
    by: str | None,
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    budget_ms = metro.config.budget_ms if budget_ms is None else budget_ms
    by = by or rank_basis(metro)
    cells = _cell_table(metro, scenario, budget_ms)
    frames: list[pd.DataFrame] = []
    counts: dict[str, dict[str, int]] = {}
    for cause in CAUSES:
        frame, total, zero = _clusters_of(metro, cells, cause, by=by, top=top)
        frames.append(frame)
        counts[cause] = {"clusters": total, "zero_weight": zero}
    out = _typed(pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True))
    return out, counts


def _cell_table(metro: Metro, scenario: Scenario, budget_ms: float) -> _Cells:
    grid = metro.grid
    area = scenario.evaluations["area"]
    weight: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for basis in ("population", "key_sites"):
        if basis in scenario.evaluations:
            weight[basis] = _uncovered_weight(grid, metro, scenario, basis, budget_ms)
    district = grid.to_raster(area.samples.district, fill=-1, dtype="int32")
    codes = area.codes(budget_ms)
    return _Cells(
        cause=grid.to_raster(codes, fill=0, dtype="int8"),
        latency=area.latency_us,
        weight=weight,
        district=district,
        boxes=_district_boxes(district),
        present=_districts_by_cause(codes, area.samples.district),
    )


def _uncovered_weight(
    grid: Grid, metro: Metro, scenario: Scenario, basis: str, budget_ms: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the uncovered weight of ``basis`` per grid cell: flat cell indices, weights.

    Each cell's weight is its samples' summed in sample order (``np.bincount`` over the
    whole grid: each bin adds its samples in the order they come); cells without an
    uncovered sample are left out. Only the uncovered samples are mapped to cells (the
    same affine arithmetic per sample), and the cells are found by marking them, not by
    sorting them.
    """
    ev = scenario.evaluations[basis]
    x, y = ev.samples.coordinates()
    # Not covered: the covered code is set exactly where the covered rule holds.
    idx = np.flatnonzero(ev.codes(budget_ms) != CAUSE_CODES["covered"])
    col, row = ~grid.transform * (x[idx], y[idx])
    row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    rows, cols = grid.shape
    keep = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    flat = row[keep] * cols + col[keep]
    sums = np.bincount(flat, weights=ev.samples.weight[idx[keep]], minlength=rows * cols)
    seen = np.zeros(rows * cols, dtype=bool)
    seen[flat] = True
    cells = np.flatnonzero(seen)
    return cells, sums[cells]


def _district_labels(cells: _Cells, mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected clusters of ``mask`` that never cross a district boundary."""
    labels, n, _ = _district_clusters(cells, mask)
    return labels, n


def _district_clusters(
    cells: _Cells, mask: np.ndarray, districts: np.ndarray | None = None
) -> tuple[np.ndarray, int, np.ndarray]:
    """:func:`_district_labels` and each cluster's number of cells.

    ``districts``: the districts holding a cell of ``mask``, ascending (``np.unique`` of
    them when ``None``). Each cluster's size is counted in its district's window (the
    same integers as a count over the whole grid).
    """
    labels = np.zeros(mask.shape, dtype=np.int32)  # ndimage.label's own type: n < 2**31
    n = 0
    if districts is None:
        districts = np.unique(cells.district[mask])
    if not len(districts):
        return labels, n, np.zeros(0, np.int64)
    # Each district labelled inside its bounding box, not over the whole grid: the same
    # clusters in the same (row-major) order, one grid scan per cause instead of one per
    # district (find_objects wants labels >= 1, hence the shift).
    shift = 1 - int(cells.district.min())
    boxes = cells.boxes if cells.boxes is not None else _district_boxes(cells.district)
    sizes = []
    for d in districts:
        box = boxes[int(d) + shift - 1]
        part, k = ndimage.label(mask[box] & (cells.district[box] == d), structure=_FOUR_CONNECTED)
        hit = part > 0
        found = part[hit]
        labels[box][hit] = found + n
        sizes.append(np.bincount(found, minlength=k + 1)[1:])
        n += k
    return labels, n, np.concatenate(sizes).astype(np.int64, copy=False)


def _districts_by_cause(area_codes: np.ndarray, district: np.ndarray) -> dict[int, np.ndarray]:
    """Per status code, the districts (ascending) holding an inside cell with that code.

    From the inside cells' own arrays (what the rasters hold at those cells), in one count
    instead of a search of the whole grid per cause.
    """
    if not len(district):
        return {}
    low = int(district.min())
    span = max(CAUSE_CODES.values()) + 1  # codes 0 (outside) to the highest
    key = (district.astype(np.int64) - low) * span + area_codes
    counts = np.bincount(key, minlength=(int(district.max()) - low + 1) * span)
    counts = counts.reshape(-1, span)
    return {code: np.flatnonzero(counts[:, code]) + low for code in CAUSE_CODES.values()}


def _clusters_of(
    metro: Metro, cells: _Cells, cause: str, *, by: str, top: int | None
) -> tuple[pd.DataFrame, int, int]:
    """Ranked clusters of one cause, with how many there are and how many weigh nothing."""
    empty = pd.DataFrame(columns=[c for c in CLUSTER_COLUMNS if c != "year"])
    code = CAUSE_CODES[cause]
    present = None if cells.present is None else cells.present.get(code, np.zeros(0, np.int64))
    if present is not None and not len(present):  # no cell of this cause: no grid pass
        return empty, 0, 0
    labels, n, size = _district_clusters(cells, cells.cause == code, present)
    if n == 0:
        return empty, 0, 0
    flat = labels.ravel()
    people = _sum_by(flat, cells.weight.get("population"), n)
    key_sites = _sum_by(flat, cells.weight.get("key_sites"), n)
    rank_by = {"population": people, "key_sites": key_sites}.get(by)
    primary = rank_by if rank_by is not None else size.astype(float)
    # A cluster weighing nothing on the ranking basis cannot move the judged share.
    weighty = np.nan_to_num(primary) > 0
    order = np.lexsort((np.arange(n), -size, -np.nan_to_num(primary)))
    order = order[weighty[order]]
    if top is not None:
        order = order[:top]
    frame = _describe(metro, cells, labels, order, cause, size, people, key_sites)
    return (frame if len(frame) else empty), n, int((~weighty).sum())


def _sum_by(flat: np.ndarray, cells: tuple[np.ndarray, np.ndarray] | None, n: int) -> np.ndarray:
    """Each cluster's weight: its cells' summed in row-major order (the empty ones add 0)."""
    if cells is None:
        return np.full(n, np.nan)
    index, weight = cells
    return np.bincount(flat[index], weights=weight, minlength=n + 1)[1:]


def _district_info(metro: Metro) -> tuple[list[str], list[str], list[str]]:
    """District names, adcodes and local names in index order, plus '' for 'none'."""
    d = metro.inputs.districts
    count = len(metro.district_names)

    def column(name: str) -> list[str]:
        if d is None or name not in d.columns:
            return [""] * (count + 1)
        return [("" if pd.isna(v) else str(v)) for v in d[name]] + [""]

    return [*metro.district_names, ""], column("adcode"), column("name_local")


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
    names, codes, local = _district_info(metro)
    rows = []
    for rank, k in enumerate(order, start=1):
        box = boxes[k]
        mask = labels[box] == k + 1
        r, c = np.nonzero(mask)
        r, c = r + box[0].start, c + box[1].start
        lon, lat = to_wgs.transform(*_centre(grid, r, c))
        district = int(cells.district[r[0], c[0]])  # one district per cluster (-1: none)
        rows.append(
            {
                "cause": cause,
                "rank": rank,
                "cells": int(size[k]),
                "area_km2": float(size[k] * grid.cell_km2),
                "people": float(people[k]),
                "key_sites": float(key_sites[k]),
                "min_latency_us": (
                    _min_latency(cells.latency[grid.numbers(r, c)])
                    if cause == "too_far"
                    else np.nan
                ),
                "district": names[district],
                "adcode": codes[district],
                "district_local": local[district],
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
    kinds = {
        "cause": str,
        "rank": "int64",
        "cells": "int64",
        "district": str,
        "adcode": str,
        "district_local": str,
    }
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
