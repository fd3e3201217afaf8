"""Every site's service area from one polygonising pass equals its own mask's polygons.

Session round 16 (polygons, issue 23): ``service_areas`` (the run's ``service_areas`` layer,
protection's ``single_site_coverage``) polygonised the grid once per site (``raster == i``,
a full-grid comparison, a scan for its window, a GDAL pass). It now makes one GDAL pass
over the window of every served cell, whose values are the site indices, and gives each
site the regions GDAL traced for its value. GDAL traces a region by whether each neighbour
holds the same value, so these are the regions of the site's own mask.

The reference here is independent of the code under test: for each site alone, its mask
over the whole raster through ``rasterio.features.shapes`` and shapely's GeoJSON
constructor, mapped through the grid's transform, then clipped to the metro (the route
before round 1's windows, which ``tests/test_stage_numerics.py`` ties to the cell union).
Compared byte for byte (WKB), and the rows' order and areas: regions of one site touching
another's, sites' regions inside another's holes, corner contacts (4-connected), one site,
a site index skipped, sheared and tiny-cell grids, nothing served.
"""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine
from mask_reference import shapely_reference
from scipy import ndimage

from latcircle.analysis.isochrones import service_areas
from latcircle.engine.grid import Grid

CRS = pyproj.CRS.from_epsg(32650)


def _reference(
    grid: Grid, raster: np.ndarray, ids: list[str], boundary: shapely.Polygon
) -> list[tuple[str, float, bytes]]:
    out = []
    for i in range(len(ids)):
        if (raster == i).any():
            geom = shapely.intersection(shapely_reference(grid.transform, raster == i), boundary)
            out.append((ids[i], geom.area / 1e6, shapely.to_wkb(geom)))
    return out


def _got(
    grid: Grid, raster: np.ndarray, ids: list[str], boundary: shapely.Polygon
) -> list[tuple[str, float, bytes]]:
    frame = service_areas(grid, raster, site_ids=ids, boundary=boundary, crs=CRS)
    assert list(frame.columns) == ["site_id", "area_km2", "geometry"]
    rows = zip(frame["site_id"], frame["area_km2"], frame.geometry, strict=True)
    return [(str(s), float(a), shapely.to_wkb(g)) for s, a, g in rows]


def _case(seed: int) -> tuple[Grid, np.ndarray, list[str], shapely.Polygon]:
    rng = np.random.default_rng(seed)
    shape_ = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
    k = int(rng.integers(1, 7))
    field = rng.random((k, *shape_))
    if seed % 3:  # blobs of each site, touching each other (Voronoi-like service areas)
        field = ndimage.uniform_filter(field, size=(1, 5, 5))
    raster = field.argmax(axis=0).astype(np.int32)
    raster[raster == k - 1] = k  # an index no cell holds (a site serving nothing)
    raster[rng.random(shape_) < (0.0, 0.1, 0.4)[seed % 3]] = -1  # not served
    size = (100.0, 30.0, 0.1)[seed % 3]
    shear = float(rng.normal()) if seed % 4 == 0 else 0.0
    transform = Affine(size, shear, 600_000.0 + seed, -shear / 2, -size, 3_300_000.0)
    grid = Grid(transform=transform, shape=shape_, inside=np.ones(shape_, bool), cell_m=size)
    poly = shapely.box(*shapely.bounds(shapely_reference(transform, np.ones(shape_, bool))))
    boundary = shapely.affinity.rotate(poly, 7.0).buffer(-0.2 * size)  # cuts the grid
    return grid, raster, [f"s{i}" for i in range(k + 1)], boundary


@pytest.mark.parametrize("seed", range(60))
def test_one_pass_equals_each_site_alone(seed: int) -> None:
    grid, raster, ids, boundary = _case(seed)
    assert _got(grid, raster, ids, boundary) == _reference(grid, raster, ids, boundary)


def test_hand_case_holes_islands_and_corners() -> None:
    """Site 1 fills site 0's hole; site 2 touches site 0 at a corner only; site 0 has two parts."""
    raster = np.array(
        [
            [0, 0, 0, -1, 2],
            [0, 1, 0, 2, -1],
            [0, 0, 0, -1, 0],
            [-1, -1, -1, -1, 0],
        ],
        dtype=np.int32,
    )
    transform = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 3_000_000.0)
    grid = Grid(transform=transform, shape=raster.shape, inside=raster >= -1, cell_m=100.0)
    boundary = shapely.box(500_000.0, 2_999_600.0, 500_500.0, 3_000_000.0)
    got = _got(grid, raster, ["a", "b", "c"], boundary)
    assert got == _reference(grid, raster, ["a", "b", "c"], boundary)
    assert [(s, a) for s, a, _ in got] == [("a", 0.1), ("b", 0.01), ("c", 0.02)]  # by hand
    a = shapely.from_wkb(got[0][2])
    assert a.geom_type == "MultiPolygon" and len(a.geoms) == 2  # the ring and the corner part
    assert shapely.get_num_interior_rings(shapely.get_parts(a)).tolist() == [1, 0]


def test_nothing_served() -> None:
    grid, raster, ids, boundary = _case(1)
    raster[:] = -1
    assert _got(grid, raster, ids, boundary) == []
