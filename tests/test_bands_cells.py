"""The latency bands from the inside cells equal the bands from the whole-grid raster.

Session round 15 (issue 23): a run polygonises its bands from the area cells' latencies
(``bands(..., cells=True)``: each band's mask put on the grid) instead of making the float64
latency raster of the whole grid first. Checked against the raster way (the raster as
``scenario_latency_raster`` makes it: NaN outside the metro and where unreached), polygons
byte for byte: cells exactly on each threshold, one ulp over, ``inf``, NaN, no cell covered,
every cell covered, a grid wholly inside.
"""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine
from mask_reference import put_on_and_over

from latcircle.analysis.isochrones import bands
from latcircle.engine.grid import Grid

CRS = pyproj.CRS.from_epsg(32650)
THRESHOLDS = [0.25, 0.5, 0.75, 1.0]


def _case(seed: int, inside_share: float) -> tuple[Grid, np.ndarray, shapely.Polygon]:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
    transform = Affine(100.0, 0.0, 600_000.0, 0.0, -100.0, 3_300_000.0)
    inside = rng.random(shape) < inside_share
    grid = Grid(transform=transform, shape=shape, inside=inside, cell_m=100.0)
    lat = rng.uniform(0.0, 1300.0, grid.n_inside)
    pick = rng.random(len(lat))
    put_on_and_over(lat, pick, THRESHOLDS, width=0.05)  # exactly on each threshold, 1 ulp over
    lat[(pick >= 0.3) & (pick < 0.4)] = np.inf
    lat[(pick >= 0.4) & (pick < 0.45)] = np.nan
    h, w = shape[0] * 100.0, shape[1] * 100.0
    x0, y0 = transform.c, transform.f - h
    boundary = shapely.Polygon(
        [(x0 + 20, y0 + 40), (x0 + w, y0), (x0 + w - 30, y0 + h), (x0 + 10, y0 + h - 60)]
    )
    return grid, lat, boundary


def _raster(grid: Grid, lat: np.ndarray) -> np.ndarray:
    """As ``scenario_latency_raster`` makes it."""
    return grid.to_raster(np.where(np.isfinite(lat), lat, np.nan), dtype="float64")


def _same(a: object, b: object) -> None:
    assert list(a["threshold_ms"]) == list(b["threshold_ms"])  # type: ignore[index]
    assert list(a["area_km2"]) == list(b["area_km2"])  # type: ignore[index]
    wkb_a = [shapely.to_wkb(g) for g in a.geometry]  # type: ignore[attr-defined]
    wkb_b = [shapely.to_wkb(g) for g in b.geometry]  # type: ignore[attr-defined]
    assert wkb_a == wkb_b


@pytest.mark.parametrize("inside_share", [0.6, 1.0])
@pytest.mark.parametrize("seed", range(8))
def test_cell_bands_equal_raster_bands(seed: int, inside_share: float) -> None:
    grid, lat, boundary = _case(seed, inside_share)
    kw = {"thresholds_ms": THRESHOLDS, "boundary": boundary, "crs": CRS}
    got = bands(grid, lat, cells=True, **kw)  # type: ignore[arg-type]
    want = bands(grid, _raster(grid, lat), **kw)  # type: ignore[arg-type]
    _same(got, want)


@pytest.mark.parametrize("value", [np.inf, 0.0])  # nothing covered; everything covered
def test_none_and_all_covered(value: float) -> None:
    grid, lat, boundary = _case(3, 0.7)
    lat[:] = value
    kw = {"thresholds_ms": THRESHOLDS, "boundary": boundary, "crs": CRS}
    got = bands(grid, lat, cells=True, **kw)  # type: ignore[arg-type]
    _same(got, bands(grid, _raster(grid, lat), **kw))  # type: ignore[arg-type]
    assert (got["area_km2"] == 0).all() == (value == np.inf)
