"""Session round 10 (issue 23): the shortcuts of the compute stages against their references.

* the local UTM zone without the PROJ database query, against that query;
* ``Grid.to_raster`` against boolean-mask assignment (by the mask itself since session
  round 16; ``tests/test_grid_cells.py`` checks it cell by cell), ``Grid.numbers``
  against the position of each cell in :meth:`Grid.centres` found by brute force.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from latcircle.engine.grid import Grid
from latcircle.inputs.readers import _utm_zone_inside, local_crs


def _query(lon: float, lat: float) -> list[int]:
    infos = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    return [int(i.code) for i in infos]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (114.3, 30.6),  # Wuhan
        (113.999999, 30.0),  # just west of the 114° E edge: zone 49
        (114.000001, 30.0),  # just east of it: zone 50
        (-179.999, 10.0),  # the first zone
        (179.999, -10.0),  # the last zone, south
        (0.5, 1e-6),  # just north of the equator
        (0.5, -1e-6),  # just south of it
        (12.0 + 1e-6, 83.999),  # the northern limit of UTM, inside
        (-70.6, -33.4),  # Santiago
        (-0.1, 51.5),  # London, west of the meridian
    ],
)
def test_zone_inside_is_the_databases_one_answer(lon: float, lat: float) -> None:
    assert _query(lon, lat) == [_utm_zone_inside(lon, lat)]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (114.0, 30.0),  # ON a zone edge: two zones hold it
        (0.0, 0.0),  # on an edge and the equator: four
        (-180.0, 10.0),  # the antimeridian
        (12.5, 84.0),  # ON the northern limit
        (12.5, -80.0),  # ON the southern limit
        (12.5, 85.0),  # beyond UTM
    ],
)
def test_zone_edges_and_beyond_are_left_to_the_query(lon: float, lat: float) -> None:
    assert _utm_zone_inside(lon, lat) is None


def test_local_crs_on_a_zone_edge_is_the_querys_first() -> None:
    point = shapely.Point(114.0, 30.0)
    assert local_crs(point).to_epsg() == _query(114.0, 30.0)[0] == 32649


def _grid() -> Grid:
    inside = np.array(
        [
            [False, True, True, False],
            [True, False, True, True],
            [False, False, False, True],
        ]
    )
    return Grid(
        transform=Affine(10.0, 0, 0, 0, -10.0, 30.0), shape=(3, 4), inside=inside, cell_m=10.0
    )


def test_to_raster_is_boolean_assignment() -> None:
    grid = _grid()
    values = np.array([1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    expected = np.full(grid.shape, np.nan)
    expected[grid.inside] = values
    for _ in range(2):  # the same answer each time
        assert np.array_equal(grid.to_raster(values, dtype="float64"), expected, equal_nan=True)
    codes = grid.to_raster(np.arange(6), fill=-1, dtype="int32")
    assert codes.tolist() == [[-1, 0, 1, -1], [2, -1, 3, 4], [-1, -1, -1, 5]]


def test_replaced_inside_gets_its_own_flat_indices() -> None:
    grid = _grid()
    grid.to_raster(np.zeros(6))
    other = dataclasses.replace(grid, inside=np.ones(grid.shape, dtype=bool))
    assert other.to_raster(np.arange(12.0)).ravel().tolist() == list(range(12))


def test_numbers_are_positions_in_centres_order() -> None:
    grid = _grid()
    x, y = grid.centres()
    rows, cols = np.nonzero(grid.inside)
    got = grid.numbers(rows[::-1], cols[::-1])
    # Brute force: the centre of each cell found in the centres list.
    cx = grid.transform.c + (cols[::-1] + 0.5) * grid.transform.a
    cy = grid.transform.f + (rows[::-1] + 0.5) * grid.transform.e
    want = [int(np.flatnonzero((x == a) & (y == b))[0]) for a, b in zip(cx, cy, strict=True)]
    assert got.tolist() == want == [5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_weights_are_the_full_grid_sums_bit_for_bit(seed: int) -> None:
    """Per-cluster weight from the occupied cells only = the full-grid bincount, same floats."""
    from latcircle.analysis.clusters import _sum_by

    rng = np.random.default_rng(seed)
    rows, cols, n = 40, 30, 25
    labels = rng.integers(0, n + 1, size=(rows, cols)).astype(np.int32)
    cell = rng.integers(0, rows * cols, size=3000)  # samples, several per cell, any order
    weight = rng.random(3000) * 10.0 ** rng.integers(-3, 4, size=3000)
    # The reference, as the run summed before: a full-grid raster of each cell's weight.
    raster = np.bincount(cell, weights=weight, minlength=rows * cols).reshape(rows, cols)
    want = np.bincount(labels.ravel(), weights=raster.ravel(), minlength=n + 1)[1:]
    cells, at = np.unique(cell, return_inverse=True)
    sparse = (cells, np.bincount(at, weights=weight, minlength=len(cells)))
    got = _sum_by(labels.ravel(), sparse, n)
    assert got.tobytes() == want.tobytes()
    assert np.isnan(_sum_by(labels.ravel(), None, n)).all()


def test_seeded_run_year_draws_the_run_bands(tiny_city: Path) -> None:
    """The slider's run year takes the run's own bands: the same shapes as polygonised anew."""
    from latcircle.analysis.workbench import year_states
    from latcircle.config import load_config
    from latcircle.pipeline import RunOptions, compute_run

    run = compute_run(load_config(tiny_city), RunOptions(progress=False))
    assert run.layers is not None
    years = [run.scenario.year]
    (seeded,) = year_states(run.metro, run.scenario, years, run_bands=run.layers["bands"])
    (fresh,) = year_states(run.metro, run.scenario, years)
    assert (
        shapely.to_wkb(seeded.rings.geometry.to_numpy()).tolist()
        == shapely.to_wkb(fresh.rings.geometry.to_numpy()).tolist()
    )
    assert seeded.rings.drop(columns="geometry").equals(fresh.rings.drop(columns="geometry"))
    assert seeded.causes.geometry.geom_equals_exact(fresh.causes.geometry, 0.0).all()
    # One band for each threshold, else nothing is seeded (and nothing breaks).
    (other,) = year_states(run.metro, run.scenario, years, run_bands=run.layers["bands"].iloc[:1])
    assert other.rings.geometry.geom_equals_exact(fresh.rings.geometry, 0.0).all()
