"""Isochrone bands on hand-built latency rasters, and the area grid itself.

Expectations are counted by hand from the raster (cells, holes, islands) or derived from
the polygon's equation, never read back from the code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from latcircle.analysis.isochrones import bands, mask_polygons
from latcircle.engine.grid import make_grid
from latcircle.errors import InputError

CRS = pyproj.CRS("EPSG:32650")
CELL = 100.0
X0, Y0 = 230_000.0, 3_380_000.0  # a UTM-like origin: exact in float64 at 100 m steps

#: Latency (µs) on an 8 x 10 grid of 100 m cells, row 0 at the top (north). ``H`` is the
#: hole (no access, NaN) inside the main patch, ``F`` is far (uncovered at every band).
H, F = np.nan, 5000.0
RASTER = np.array([
    # 0    1    2    3    4    5    6    7    8    9
    [400, 400, 400, 400, 400, 400,   F,   F,   F,   F],  # 0
    [400, 200, 200, 200, 200, 400,   F,   F, 600, 600],  # 1
    [400, 200, 200, 200, 200, 400,   F,   F, 600, 900],  # 2
    [400, 200,   H,   H, 200, 400,   F,   F,   F,   F],  # 3
    [400, 200,   H,   H, 200, 400,   F,   F,   F,   F],  # 4
    [400, 200, 200, 200, 200, 400,   F,   F,   F,   F],  # 5
    [400, 400, 400, 400, 400, 400,   F,   F,   F, 700],  # 6
    [  F,   F,   F,   F,   F,   F,   F,   F,   F,   F],  # 7
], dtype=float)  # fmt: skip
THRESHOLDS = [0.25, 0.5, 0.75, 1.0]


def _grid_over_box():
    boundary = shapely.box(X0, Y0, X0 + 10 * CELL, Y0 + 8 * CELL)
    grid = make_grid(boundary, cell_m=CELL, max_cells=1000)
    assert grid.shape == (8, 10) and grid.inside.all()
    return grid, boundary


def _centre(row: int, col: int) -> shapely.Point:
    """Centre of cell (row, col): the grid starts at the top-left corner."""
    return shapely.Point(X0 + (col + 0.5) * CELL, Y0 + 8 * CELL - (row + 0.5) * CELL)


def _bands(boundary=None):
    grid, box = _grid_over_box()
    table = bands(grid, RASTER, thresholds_ms=THRESHOLDS, boundary=boundary or box, crs=CRS)
    return grid, table.set_index("threshold_ms")


# --------------------------------------------------------------------------- bands


def test_band_areas_are_covered_cell_counts() -> None:
    _, table = _bands()
    cell_km2 = CELL * CELL / 1e6
    # Counted by hand from RASTER: 16 cells at 200 (5 x 4 less the 4 hole cells), 22 at 400
    # (6 + 6 + 5 x 2), 3 at 600, 1 at 700, 1 at 900.
    assert table.loc[0.25, "area_km2"] == pytest.approx(16 * cell_km2)
    assert table.loc[0.5, "area_km2"] == pytest.approx(38 * cell_km2)
    assert table.loc[0.75, "area_km2"] == pytest.approx(42 * cell_km2)
    assert table.loc[1.0, "area_km2"] == pytest.approx(43 * cell_km2)
    for thr in THRESHOLDS:
        assert table.loc[thr, "geometry"].area / 1e6 == pytest.approx(table.loc[thr, "area_km2"])
    assert list(table.index) == sorted(THRESHOLDS)


def test_bands_are_cumulative() -> None:
    _, table = _bands()
    geoms = [table.loc[t, "geometry"] for t in THRESHOLDS]
    for small, big in itertools.pairwise(geoms):
        assert shapely.difference(small, big).area == pytest.approx(0.0, abs=1e-6)
        assert big.area >= small.area


def test_a_hole_is_kept_as_an_interior_ring() -> None:
    _, table = _bands()
    for thr in THRESHOLDS:
        geom = table.loc[thr, "geometry"]
        hole_centre = shapely.Point(X0 + 3 * CELL, Y0 + 8 * CELL - 4 * CELL)  # cells (3-4, 2-3)
        assert not geom.contains(hole_centre), thr
        main = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        rings = list(main.interiors)
        assert len(rings) == 1, thr
        ring = shapely.Polygon(rings[0])
        assert ring.area == pytest.approx(4 * CELL * CELL)
        assert ring.bounds == pytest.approx(
            (X0 + 2 * CELL, Y0 + 3 * CELL, X0 + 4 * CELL, Y0 + 5 * CELL)
        )


def test_an_island_is_kept() -> None:
    _, table = _bands()
    # At 0.5 ms: the main patch only. At 0.75 ms: plus the 3-cell island in the north-east
    # and the lone cell at (6, 9). At 1.0 ms the island grows to 4 cells.
    parts = {
        thr: list(getattr(table.loc[thr, "geometry"], "geoms", [table.loc[thr, "geometry"]]))
        for thr in THRESHOLDS
    }
    assert len(parts[0.25]) == 1 and len(parts[0.5]) == 1
    assert sorted(round(p.area / CELL**2) for p in parts[0.75]) == [1, 3, 38]
    assert sorted(round(p.area / CELL**2) for p in parts[1.0]) == [1, 4, 38]
    assert table.loc[0.75, "geometry"].contains(_centre(1, 8))
    assert table.loc[0.75, "geometry"].contains(_centre(6, 9))
    assert not table.loc[0.75, "geometry"].contains(_centre(2, 9))
    assert table.loc[1.0, "geometry"].contains(_centre(2, 9))


def test_clipping_to_the_boundary_never_enlarges() -> None:
    grid, box = _grid_over_box()
    # A boundary that cuts through cells: a slanted quadrilateral inside the box.
    boundary = shapely.Polygon([
        (X0 + 30, Y0 + 20), (X0 + 970, Y0 + 110), (X0 + 905, Y0 + 760), (X0 + 55, Y0 + 690),
    ])  # fmt: skip
    clipped = bands(grid, RASTER, thresholds_ms=THRESHOLDS, boundary=boundary, crs=CRS)
    full = bands(grid, RASTER, thresholds_ms=THRESHOLDS, boundary=box, crs=CRS)
    for (_, c), (_, f) in zip(clipped.iterrows(), full.iterrows(), strict=True):
        assert c["area_km2"] <= f["area_km2"] + 1e-12
        assert boundary.buffer(1e-6).contains(c["geometry"])
        assert shapely.difference(c["geometry"], f["geometry"]).area == pytest.approx(0, abs=1e-6)
    # A grid made over the smaller boundary only counts cells whose centre is inside it.
    small_grid = make_grid(boundary, cell_m=CELL, max_cells=1000)
    sub = bands(
        small_grid,
        np.full(small_grid.shape, 100.0),
        thresholds_ms=[1.0],
        boundary=boundary,
        crs=CRS,
    )
    assert sub["area_km2"].iloc[0] <= boundary.area / 1e6 + 1e-12
    assert sub["area_km2"].iloc[0] <= small_grid.n_inside * small_grid.cell_km2 + 1e-12


def test_nothing_covered_is_an_empty_band() -> None:
    grid, box = _grid_over_box()
    table = bands(grid, np.full(grid.shape, np.nan), thresholds_ms=[1.0], boundary=box, crs=CRS)
    assert table["area_km2"].iloc[0] == 0.0
    assert table["geometry"].iloc[0].is_empty


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        float,
        st.tuples(st.integers(1, 9), st.integers(1, 9)),
        elements=st.sampled_from([np.nan, 100.0, 300.0, 600.0, 900.0, 1500.0]),
    ),
    st.lists(st.sampled_from([0.2, 0.4, 0.7, 1.0, 2.0]), min_size=1, max_size=4, unique=True),
)
def test_random_rasters_polygonise_cell_for_cell(raster: np.ndarray, thresholds) -> None:
    rows, cols = raster.shape
    box = shapely.box(X0, Y0, X0 + cols * CELL, Y0 + rows * CELL)
    grid = make_grid(box, cell_m=CELL, max_cells=1000)
    assert grid.shape == (rows, cols) and grid.inside.all()
    table = bands(grid, raster, thresholds_ms=thresholds, boundary=box, crs=CRS)
    previous = None
    for thr, geom, area in zip(
        table["threshold_ms"], table["geometry"], table["area_km2"], strict=True
    ):
        covered = np.isfinite(raster) & (raster <= thr * 1000.0)
        # Area is the covered-cell count times the cell area, before and after clipping.
        assert area == pytest.approx(covered.sum() * CELL * CELL / 1e6, abs=1e-9)
        assert mask_polygons(grid, covered).area == pytest.approx(covered.sum() * CELL * CELL)
        assert geom.is_valid
        # Every covered cell's centre is inside the band, every other centre outside.
        r, c = np.indices(raster.shape)
        inside = shapely.contains_xy(
            geom, X0 + (c + 0.5) * CELL, Y0 + rows * CELL - (r + 0.5) * CELL
        )
        np.testing.assert_array_equal(inside, covered)
        if previous is not None:
            assert shapely.difference(previous, geom).area == pytest.approx(0, abs=1e-6)
        previous = geom


# --------------------------------------------------------------------------- the grid


def test_make_grid_counts_a_cell_when_its_centre_is_inside() -> None:
    # Triangle (0, 0), (520, 0), (0, 310); 100 m cells from the top-left corner (0, 310):
    # 6 columns, 4 rows; centre of (r, c) = (50 + 100c, 260 - 100r). Inside when
    # x/520 + y/310 < 1 and y > 0:
    #   r = 0 (y = 260): x < 83.9  -> c = 0
    #   r = 1 (y = 160): x < 251.6 -> c = 0, 1, 2   (cell (1, 2) is only 0.8 m inside)
    #   r = 2 (y = 60):  x < 419.4 -> c = 0 .. 3
    #   r = 3 (y = -40): none, although the cells' top halves are in the triangle.
    tri = shapely.Polygon([(0, 0), (520, 0), (0, 310)])
    grid = make_grid(tri, cell_m=100, max_cells=100)
    want = np.array([
        [1, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0],
    ], dtype=bool)  # fmt: skip
    assert grid.shape == (4, 6)
    np.testing.assert_array_equal(grid.inside, want)
    assert grid.n_inside == 8
    assert grid.cell_km2 == pytest.approx(0.01)
    x, y = grid.centres()
    assert list(zip(x, y, strict=True))[:4] == [(50, 260), (50, 160), (150, 160), (250, 160)]


def test_make_grid_leaves_out_cells_centred_in_a_hole() -> None:
    # A 500 m square with a square hole (140..360): cell centres are at 50, 150, 250, 350,
    # 450, so the 3 x 3 middle cells are centred in the hole and left out, although each
    # of the 8 outer ones of them is partly in the square.
    square = shapely.Polygon(
        [(0, 0), (500, 0), (500, 500), (0, 500)],
        [[(140, 140), (360, 140), (360, 360), (140, 360)]],
    )
    grid = make_grid(square, cell_m=100, max_cells=100)
    want = np.ones((5, 5), dtype=bool)
    want[1:4, 1:4] = False  # centres 150, 250, 350 lie in (140, 360)
    np.testing.assert_array_equal(grid.inside, want)


def test_make_grid_refuses_too_many_cells() -> None:
    square = shapely.box(0, 0, 1000, 1000)
    assert make_grid(square, cell_m=10, max_cells=10_000).shape == (100, 100)
    with pytest.raises(InputError) as info:
        make_grid(square, cell_m=10, max_cells=9_999)
    assert info.value.field == "grid.cell_m"
    assert "grid.cell_m" in str(info.value)
    assert "10,000" in str(info.value)
