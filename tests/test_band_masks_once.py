"""Bands with the same cells are polygonised once; their ring is taken without an overlay.

Session round 16 (polygons, issue 23): on Wuhan the 0.5, 0.75 and 1.0 ms bands hold the very
same cells, and ``bands`` polygonised and clipped that mask three times, then ``band_rings``
differenced the equal copies twice (~8 ms each). Now ``bands`` polygonises each distinct mask
once (the rows share the geometry) and ``ring_difference`` gives a geometry minus itself as
the empty polygon. Checked here, byte for byte, against the old route computed independently:
each threshold's mask made and polygonised on its own
(``shapely.intersection(mask_polygons(grid, mask), boundary)``), and each ring a
``shapely.difference`` of those distinct objects. Cases: latencies exactly on each threshold
and one ulp over, ``inf`` and NaN, empty bands, every cell covered, wider bands equal to
tighter ones, both the cells route and the raster route.
"""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine
from mask_reference import put_on_and_over

from latcircle.analysis.isochrones import band_rings, bands, mask_polygons, ring_difference
from latcircle.engine.grid import Grid

CRS = pyproj.CRS.from_epsg(32650)
THRESHOLDS = [0.25, 0.5, 0.75, 1.0]


def _case(seed: int, gap: bool) -> tuple[Grid, np.ndarray, shapely.Polygon]:
    """A random grid, its inside cells' latencies (µs) and a metro cutting the grid."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 40)), int(rng.integers(2, 40)))
    transform = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 3_400_000.0)
    inside = rng.random(shape) < 0.8
    grid = Grid(transform=transform, shape=shape, inside=inside, cell_m=100.0)
    lat = rng.uniform(0.0, 1200.0, grid.n_inside)
    pick = rng.random(len(lat))
    put_on_and_over(lat, pick, THRESHOLDS, width=0.04)  # exactly on each threshold, 1 ulp over
    if gap:  # nothing in (0.5, 1.0] ms: the 0.5, 0.75 and 1.0 bands are equal (as on Wuhan)
        lat[(lat > 500.0) & (lat <= 1000.0)] = np.inf  # 0.5 ms itself and 1 ms + 1 ulp stay
    lat[(pick >= 0.2) & (pick < 0.25)] = np.nan
    h, w = shape[0] * 100.0, shape[1] * 100.0
    x0, y0 = transform.c, transform.f - h
    boundary = shapely.Polygon(
        [(x0 + 30, y0 + 10), (x0 + w, y0 + 50), (x0 + w - 40, y0 + h), (x0, y0 + h - 20)]
    )
    return grid, lat, boundary


def _reference(grid: Grid, lat: np.ndarray, boundary: shapely.Polygon) -> list[bytes]:
    """The old route: each threshold on its own, then rings by ``shapely.difference``."""
    geoms = []
    for t in THRESHOLDS:
        within = np.zeros(grid.n_inside, dtype=bool)
        finite = np.isfinite(lat)
        within[finite] = lat[finite] <= t * 1000.0
        mask = grid.to_raster(within, fill=False, dtype="bool")
        geoms.append(shapely.intersection(mask_polygons(grid, mask), boundary))
    rings = [geoms[0]] + [shapely.difference(geoms[i], geoms[i - 1]) for i in range(1, 4)]
    return [shapely.to_wkb(g) for g in geoms + rings]


def _got(grid: Grid, lat: np.ndarray, boundary: shapely.Polygon, *, cells: bool) -> list[bytes]:
    raster = grid.to_raster(np.where(np.isfinite(lat), lat, np.nan), dtype="float64")
    values = lat if cells else raster
    cumulative = bands(
        grid, values, thresholds_ms=THRESHOLDS, boundary=boundary, crs=CRS, cells=cells
    )
    rings = band_rings(cumulative)
    assert list(rings["area_km2"]) == [g.area / 1e6 for g in rings.geometry]
    return [shapely.to_wkb(g) for g in [*cumulative.geometry, *rings.geometry]]


@pytest.mark.parametrize("cells", [True, False])
@pytest.mark.parametrize("gap", [True, False])
@pytest.mark.parametrize("seed", range(10))
def test_bands_and_rings_equal_the_old_route(seed: int, gap: bool, cells: bool) -> None:
    grid, lat, boundary = _case(seed, gap)
    assert _got(grid, lat, boundary, cells=cells) == _reference(grid, lat, boundary)


@pytest.mark.parametrize("value", [0.0, 1000.0, np.nextafter(1000.0, np.inf), np.inf, np.nan])
def test_all_bands_the_same_cells(value: float) -> None:
    """Every cell on one side of every threshold: four equal bands (all full or all empty)."""
    grid, lat, boundary = _case(4, False)
    lat[:] = value
    for cells in (True, False):
        assert _got(grid, lat, boundary, cells=cells) == _reference(grid, lat, boundary)


def test_equal_masks_share_one_geometry() -> None:
    """The mechanism itself: rows with the same cells hold one object; others do not."""
    grid, lat, boundary = _case(2, True)
    cumulative = bands(grid, lat, thresholds_ms=THRESHOLDS, boundary=boundary, crs=CRS, cells=True)
    g = list(cumulative.geometry)
    assert g[1] is g[2] is g[3]
    assert g[0] is not g[1]
    assert shapely.to_wkb(g[0]) != shapely.to_wkb(g[1])  # the case has cells in (0.25, 0.5]


def test_ring_difference_is_shapely_difference() -> None:
    """A geometry minus itself as GEOS gives it; any other pair by ``shapely.difference``."""
    a = shapely.MultiPolygon([shapely.box(0, 0, 2, 2), shapely.box(3, 0, 4, 1)])
    b = shapely.box(1, 1, 5, 5)
    cases = [(a, a), (b, b), (a, b), (b, a), (shapely.Polygon(), shapely.Polygon())]
    cases += [(shapely.MultiPolygon(), shapely.MultiPolygon())]
    for x, y in cases:
        copy = shapely.from_wkb(shapely.to_wkb(y))  # equal, not the same object
        want = shapely.to_wkb(shapely.difference(x, copy))
        assert shapely.to_wkb(ring_difference(x, y)) == want
    z = shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1)])  # with z: the overlay, as before
    assert shapely.to_wkb(ring_difference(z, z)) == shapely.to_wkb(shapely.difference(z, z))
