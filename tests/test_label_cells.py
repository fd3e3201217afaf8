"""``label_points`` decides most points by cell: the same labels as testing every point.

The reference is the plain rule, written out here: each point is tested against each
polygon in order with ``shapely.contains_xy`` (the first polygon holding it wins, -1 for
none). Points are put exactly on vertices, on edges, on the joint bounding box, on a lattice
aligned with the polygons' vertices, in holes and in overlaps, and enough of them that the
cells are laid (checked by counting the points GEOS is asked about).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

import latcircle.engine.grid as grid_module
from latcircle.engine.grid import CELL_TEST_MIN_POINTS, label_points


def _reference(x: np.ndarray, y: np.ndarray, polygons: list) -> np.ndarray:
    label = np.full(len(x), -1, dtype=np.int32)
    for i, poly in enumerate(polygons):
        hit = shapely.contains_xy(poly, x, y) & (label < 0)
        label[hit] = i
    return label


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the points handed to GEOS by ``label_points``."""
    asked = [0]
    real = shapely.contains_xy

    def counting(geom, px, py):  # type: ignore[no-untyped-def]
        asked[0] += len(px)
        return real(geom, px, py)

    monkeypatch.setattr(grid_module.shapely, "contains_xy", counting)
    return asked


def _polygons(rng: np.random.Generator) -> list:
    """Star-shaped rings with holes, a multipolygon, overlaps, a square on the lattice."""
    out = []
    for _ in range(4):
        cx, cy = rng.uniform(-500, 500, 2)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 200))
        radii = 350 + 150 * np.sin(3 * angles + rng.uniform(0, 6)) + rng.uniform(-30, 30, 200)
        shell = np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)]
        hole = Point(cx, cy).buffer(60, quad_segs=5)
        out.append(Polygon(shell, [hole.exterior.coords]))
    square = Polygon([(0, 0), (100, 0), (100, 100), (0, 100)])
    out.append(MultiPolygon([square, Point(700, -700).buffer(150)]))
    out.append(Polygon([(-800, -800), (-200, -800), (-200, -200), (-800, -200)]))  # lattice
    return [shapely.make_valid(p) if not p.is_valid else p for p in out]


def _points(rng: np.random.Generator, polygons: list) -> tuple[np.ndarray, np.ndarray]:
    uniform = rng.uniform(-1100, 1100, (60_000, 2))
    lattice = np.stack(np.meshgrid(np.arange(-1000, 1001, 25.0), np.arange(-1000, 1001, 25.0)), -1)
    vertices = shapely.get_coordinates(polygons)
    # Midpoints of edges lie on the boundary (up to rounding); vertices exactly on it.
    rings = shapely.get_parts(shapely.boundary(np.asarray(polygons, dtype=object)))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    mids = (coords[:-1][same] + coords[1:][same]) / 2
    xmin, ymin, xmax, ymax = shapely.total_bounds(polygons)
    corners = np.array([[xmin, ymin], [xmax, ymax], [xmin, ymax], [xmax, ymin]])
    xy = np.concatenate([uniform, lattice.reshape(-1, 2), vertices, mids, corners])
    return xy[:, 0].copy(), xy[:, 1].copy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_equal_testing_every_point(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    polygons = _polygons(rng)
    x, y = _points(rng, polygons)
    expected = _reference(x, y, polygons)
    asked = _counted(monkeypatch)
    got = label_points(x, y, polygons)
    np.testing.assert_array_equal(got, expected)
    assert asked[0] < len(x) / 2  # the cells decided most points
    assert (expected >= 0).sum() > 1000 and (expected == -1).sum() > 1000
    assert len(np.unique(expected)) == len(polygons) + 1  # every polygon holds some


def test_one_polygon_each_boundary_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """The metro boundary's use: one polygon; its vertices and edge points are outside."""
    rng = np.random.default_rng(5)
    poly = _polygons(rng)[0]
    x, y = _points(rng, [poly])
    expected = _reference(x, y, [poly])
    asked = _counted(monkeypatch)
    got = label_points(x, y, [poly])
    np.testing.assert_array_equal(got, expected)
    assert asked[0] < len(x) / 2
    on_boundary = shapely.get_coordinates(poly)
    assert (label_points(on_boundary[:, 0], on_boundary[:, 1], [poly]) == -1).all()


def test_cell_path_matches_at_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly ``CELL_TEST_MIN_POINTS`` candidates (cells) and one fewer (tested each)."""
    rng = np.random.default_rng(11)
    polygons = _polygons(rng)
    # Every point a candidate: inside the polygons' joint bounding box.
    xmin, ymin, xmax, ymax = shapely.total_bounds(polygons)
    xy = rng.uniform((xmin, ymin), (xmax, ymax), (CELL_TEST_MIN_POINTS, 2))
    laid: list[int] = []
    real = grid_module._boundary_cells

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        laid.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(grid_module, "_boundary_cells", counting)
    for n, cells_laid in ((CELL_TEST_MIN_POINTS - 1, 0), (CELL_TEST_MIN_POINTS, 1)):
        laid.clear()
        got = label_points(xy[:n, 0], xy[:n, 1], polygons)
        np.testing.assert_array_equal(got, _reference(xy[:n, 0], xy[:n, 1], polygons))
        assert len(laid) == cells_laid, n  # the path taken: each point, then cells


def test_odd_inputs_fall_back_or_are_none() -> None:
    rng = np.random.default_rng(3)
    polygons = _polygons(rng)
    x, y = _points(rng, polygons)
    x[:50], y[50:100] = np.nan, np.inf  # not in any polygon
    empty = Polygon()
    with_empty = [empty, *polygons, empty]
    np.testing.assert_array_equal(label_points(x, y, with_empty), _reference(x, y, with_empty))
    # A line among the polygons: no cells, every point tested (the same labels).
    mixed = [*polygons, LineString([(0, 0), (1, 1)])]
    np.testing.assert_array_equal(label_points(x, y, mixed), _reference(x, y, mixed))
    assert (label_points(x, y, []) == -1).all()
    assert (label_points(x, y, [empty]) == -1).all()
    # A flat box (a degenerate polygon's bounds): tested each.
    flat = [Polygon([(0, 0), (10, 0), (20, 0)])]
    np.testing.assert_array_equal(label_points(x, y, flat), _reference(x, y, flat))


def test_far_coordinates() -> None:
    """Metres of a projected CRS far from the origin (a UTM northing): the same labels."""
    rng = np.random.default_rng(8)
    polygons = [shapely.affinity.translate(p, 5e5, 3.4e6) for p in _polygons(rng)]
    x, y = _points(rng, polygons)
    np.testing.assert_array_equal(label_points(x, y, polygons), _reference(x, y, polygons))
