"""Each site's service area polygonised in its own window equals the whole-grid way.

Session round 15 (issue 23): ``service_areas`` finds every serving site's cells and
bounding box in one pass (``ndimage.find_objects``) and polygonises each inside that window,
instead of a whole-grid mask per site searched for its window. Checked against the way it
was done before (``np.unique`` of the sites, ``mask_polygons`` of each whole-grid mask), the
polygons' WKB byte for byte: sites of one cell at the grid's corners, sites serving nothing,
no site at all, sites interleaved cell by cell, a site covering the whole grid.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine

from latcircle.analysis.isochrones import mask_polygons, service_areas
from latcircle.engine.grid import Grid

CRS = pyproj.CRS.from_epsg(32650)


def _old(grid: Grid, site_raster: np.ndarray, ids: list[str], boundary: object) -> gpd.GeoDataFrame:
    rows = []
    for i in np.unique(site_raster[site_raster >= 0]):
        geom = shapely.intersection(mask_polygons(grid, site_raster == i), boundary)
        rows.append({"site_id": ids[int(i)], "area_km2": geom.area / 1e6, "geometry": geom})
    return gpd.GeoDataFrame(
        rows, columns=["site_id", "area_km2", "geometry"], geometry="geometry", crs=CRS
    )


def _same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert list(a["site_id"]) == list(b["site_id"])
    assert a["area_km2"].tolist() == b["area_km2"].tolist()
    assert [shapely.to_wkb(g) for g in a.geometry] == [shapely.to_wkb(g) for g in b.geometry]


def _case(seed: int) -> tuple[Grid, np.ndarray, object]:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 25)), int(rng.integers(1, 25)))
    transform = Affine(100.0, 0.0, 500_000.0 + rng.uniform(-1, 1), 0.0, -100.0, 3_400_000.0)
    grid = Grid(transform=transform, shape=shape, inside=np.ones(shape, bool), cell_m=100.0)
    n_sites = int(rng.integers(1, 8))
    coarse = rng.integers(-1, n_sites, size=(shape[0] // 3 + 1, shape[1] // 3 + 1))
    raster = np.kron(coarse, np.ones((3, 3), dtype=int))[: shape[0], : shape[1]]
    noise = rng.random(shape) < 0.2
    raster[noise] = rng.integers(-1, n_sites, noise.sum())
    w, h = shape[1] * 100.0, shape[0] * 100.0
    x0, y0 = transform.c, transform.f - h
    boundary = shapely.Polygon(
        [(x0 + 30, y0 + 30), (x0 + w, y0 + 10), (x0 + w - 40, y0 + h), (x0, y0 + h - 50)]
    )
    return grid, raster.astype("int32"), boundary


@pytest.mark.parametrize("seed", range(12))
def test_windows_equal_whole_grid_masks(seed: int) -> None:
    grid, raster, boundary = _case(seed)
    ids = [f"s{i}" for i in range(int(raster.max()) + 3)]  # some sites serve nothing
    got = service_areas(grid, raster, site_ids=ids, boundary=boundary, crs=CRS)
    _same(got, _old(grid, raster, ids, boundary))


def test_corners_nothing_and_everything() -> None:
    grid, raster, boundary = _case(0)
    ids = ["a", "b", "c", "d"]
    corners = np.full(raster.shape, -1, "int32")
    corners[0, 0], corners[-1, -1], corners[0, -1] = 2, 0, 3
    for case in (corners, np.full(raster.shape, -1, "int32"), np.full(raster.shape, 1, "int32")):
        got = service_areas(grid, case, site_ids=ids, boundary=boundary, crs=CRS)
        _same(got, _old(grid, case, ids, boundary))
    # Interleaved cell by cell (a checkerboard of two sites): many one-cell regions.
    checker = (np.indices(raster.shape).sum(axis=0) % 2).astype("int32")
    got = service_areas(grid, checker, site_ids=ids, boundary=boundary, crs=CRS)
    _same(got, _old(grid, checker, ids, boundary))
    assert len(got) == (2 if checker.size > 1 else 1)
