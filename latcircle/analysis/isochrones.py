"""Isochrone polygons from the latency grid.

Each band is **cumulative**: the band at 1.0 ms is every place with latency ≤ 1.0 ms. Cells
are polygonised (``rasterio.features.shapes``), so holes (an uncovered lake, a suburb without
roads) and islands (a covered town beyond an uncovered gap) are kept, then clipped to the
metro. Simplification, if any, is for display only (:mod:`latcircle.present.maps`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import rasterio.features
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from latcircle.analysis.coverage import covered
from latcircle.engine.grid import Grid

__all__ = ["band_rings", "bands", "mask_polygons", "ring_difference", "service_areas"]


def mask_polygons(grid: Grid, mask: np.ndarray) -> BaseGeometry:
    """Return the union of the cells where ``mask`` is true, as one (Multi)Polygon.

    Parameters
    ----------
    grid
        The grid the mask is on.
    mask
        Boolean raster of ``grid.shape``.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return shapely.MultiPolygon()
    regions = _traced(mask.view(np.uint8), mask)[1]  # a bool is one byte: 0 or 1
    # shapes() returns disjoint regions with their holes: no union is needed.
    return _geometry(regions, grid)


def _traced(values: np.ndarray, mask: np.ndarray) -> dict[int, list[Any]]:
    """Return each value's regions (GeoJSON coordinates, pixel units) where ``mask`` is true.

    Polygonises only the window holding the mask (shapes() scans every pixel it is given),
    in pixel coordinates offset by the window, so that :func:`_geometry` applies the grid's
    transform in GDAL's own order of operations: the same vertices, bit for bit, as the
    whole raster gives. GDAL traces a region by whether each neighbour holds the same value,
    so one pass over a raster of several values gives each value the regions a pass over
    its own mask gives (``tests/test_service_areas_pass.py``).
    """
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    pixels = Affine(1.0, 0.0, float(cols[0]), 0.0, 1.0, float(rows[0]))
    regions: dict[int, list[Any]] = {}
    for geom, value in rasterio.features.shapes(
        np.ascontiguousarray(values[box]), mask=mask[box], transform=pixels, connectivity=4
    ):
        regions.setdefault(int(value), []).append(geom["coordinates"])
    return regions


def _geometry(regions: list[Any], grid: Grid) -> BaseGeometry:
    """One value's regions (:func:`_traced`) on ``grid``, as one (Multi)Polygon."""
    parts = _polygons(regions, grid.transform.to_gdal())
    return shapely.MultiPolygon(list(parts)) if len(parts) > 1 else parts[0]


def _polygons(regions: list[list[list[tuple[float, float]]]], gt: tuple[float, ...]) -> np.ndarray:
    """Build GeoJSON polygon coordinates (shell, then holes) mapped through geotransform ``gt``.

    The polygons ``shapely.transform(shape(...), _pixel_to_crs)`` gives, vertex for vertex
    (the same coordinates through the same arithmetic), made from one array of every ring's
    vertices instead of one Python object per vertex: rings, then polygons, by index.
    """
    rings = [ring for region in regions for ring in region]
    xy = _pixel_to_crs(gt, np.array([pt for ring in rings for pt in ring], dtype=float))
    ring_of = np.repeat(np.arange(len(rings)), [len(ring) for ring in rings])
    poly_of = np.repeat(np.arange(len(regions)), [len(region) for region in regions])
    return np.asarray(shapely.polygons(shapely.linearrings(xy, indices=ring_of), indices=poly_of))


def _pixel_to_crs(gt: tuple[float, ...], xy: np.ndarray) -> np.ndarray:
    """Map pixel (column, row) coordinates through GDAL geotransform ``gt`` as GDAL does."""
    x = gt[0] + xy[:, 0] * gt[1] + xy[:, 1] * gt[2]
    y = gt[3] + xy[:, 0] * gt[4] + xy[:, 1] * gt[5]
    return np.column_stack([x, y])


def bands(
    grid: Grid,
    latency_us: np.ndarray,
    *,
    thresholds_ms: list[float],
    boundary: BaseGeometry,
    crs: pyproj.CRS,
    clip: Callable[[np.ndarray], BaseGeometry] | None = None,
    cells: bool = False,
) -> gpd.GeoDataFrame:
    """Polygonise cumulative latency bands, clipped to the metro.

    Parameters
    ----------
    grid
        The area grid.
    latency_us
        Latency raster on ``grid`` (NaN outside the metro or without access); with
        ``cells``, one latency per inside cell (:meth:`Grid.centres` order, ``inf`` or NaN
        where none).
    thresholds_ms
        Band limits in milliseconds.
    boundary
        The metro polygon.
    crs
        CRS of the grid.
    clip
        Returns a mask's cells as polygons clipped to ``boundary``; ``None``:
        :func:`mask_polygons` intersected with ``boundary`` (a caller polygonising many
        rasters of one grid passes a memo of that).
    cells
        ``latency_us`` holds the inside cells' latencies: each band's mask is their
        covered rule put on the grid (the same mask as the raster's, without making a
        float raster of the whole grid).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold: ``threshold_ms``, ``area_km2``, ``geometry``; thresholds
        whose masks hold the same cells share one geometry, polygonised and clipped once.
    """
    if clip is None:
        clip = partial(_clipped, grid, boundary)
    rows = []
    made: dict[bytes, BaseGeometry] = {}  # wider bands often hold the same cells: one polygon
    for thr in sorted(thresholds_ms):
        within = covered(latency_us, budget_ms=thr)  # NaN and inf: never covered
        if not cells:
            within = within & grid.inside
        key = np.packbits(within).tobytes()
        if key not in made:
            made[key] = clip(grid.to_raster(within, fill=False, dtype="bool") if cells else within)
        geom = made[key]
        rows.append({"threshold_ms": thr, "area_km2": geom.area / 1e6, "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def _clipped(grid: Grid, boundary: BaseGeometry, mask: np.ndarray) -> BaseGeometry:
    return shapely.intersection(mask_polygons(grid, mask), boundary)


def service_areas(
    grid: Grid,
    site_raster: np.ndarray,
    *,
    site_ids: list[str],
    boundary: BaseGeometry,
    crs: pyproj.CRS,
) -> gpd.GeoDataFrame:
    """Polygonise each site's service area (cells it serves within the budget).

    Parameters
    ----------
    grid
        The area grid.
    site_raster
        Serving-site index per cell, -1 where uncovered.
    site_ids
        Site id of each index.
    boundary
        The metro polygon.
    crs
        CRS of the grid.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``area_km2``, ``geometry``, for sites serving at least one cell.
    """
    rows = []
    served = site_raster >= 0
    # One pass over every site's cells: each site gets the polygons of its own mask.
    traced = _traced(site_raster, served) if served.any() else {}
    for i in sorted(traced):
        geom = shapely.intersection(_geometry(traced[i], grid), boundary)
        rows.append({"site_id": site_ids[i], "area_km2": geom.area / 1e6, "geometry": geom})
    return gpd.GeoDataFrame(
        rows, columns=["site_id", "area_km2", "geometry"], geometry="geometry", crs=crs
    )


def ring_difference(a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    """Return ``a`` minus ``b`` (:func:`shapely.difference`), ``b`` being the tighter band.

    A (multi)polygon minus itself is what GEOS gives for it without the overlay: an empty
    polygon (:func:`bands` gives bands with the same cells as one geometry).
    """
    if a is b and a.geom_type in ("Polygon", "MultiPolygon") and not a.has_z:
        return shapely.Polygon()
    return shapely.difference(a, b)


def band_rings(
    cumulative: gpd.GeoDataFrame,
    *,
    difference: Callable[[BaseGeometry, BaseGeometry], BaseGeometry] = ring_difference,
) -> gpd.GeoDataFrame:
    """Return disjoint rings from cumulative bands: each place in its tightest band only.

    Ring ``i`` is band ``i`` minus band ``i - 1`` (thresholds ascending); the bands are
    nested (a place within 0.5 ms is within 1 ms), so the rings partition the widest band.

    Parameters
    ----------
    cumulative
        The :func:`bands` frame (any row order).
    difference
        ``a`` minus ``b`` (:func:`ring_difference`, or a memo of it).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold, ascending: ``lower_ms`` (the next tighter threshold, NaN for
        the first), ``threshold_ms``, ``area_km2``, ``geometry``; same CRS.
    """
    ordered = cumulative.sort_values("threshold_ms")
    thresholds = [float(t) for t in ordered["threshold_ms"]]
    geoms = list(ordered.geometry)
    rows = []
    for i, (thr, geom) in enumerate(zip(thresholds, geoms, strict=True)):
        ring = geom if i == 0 else difference(geom, geoms[i - 1])
        lower = float("nan") if i == 0 else thresholds[i - 1]
        rows.append(
            {"lower_ms": lower, "threshold_ms": thr, "area_km2": ring.area / 1e6, "geometry": ring}
        )
    return gpd.GeoDataFrame(
        rows,
        geometry="geometry",
        crs=cumulative.crs,
        columns=["lower_ms", "threshold_ms", "area_km2", "geometry"],
    )
