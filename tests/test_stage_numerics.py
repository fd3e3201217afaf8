"""Session round 12's faster stage numerics against independent references.

* ``isochrones.mask_polygons`` builds its polygons from one array of ring vertices: checked
  against the cell union (boxes, brute force) and, vertex for vertex, against shapely's own
  GeoJSON constructor on the same ``rasterio.features.shapes`` output.
* ``LatencyField.at`` picks each point's lowest tie in one pass over runs of points
  (``_lowest_first``): checked against a plain loop and the stable sort it replaces, with
  equal values, ``inf``, NaN and unsorted points.
* The progress tally sums each basis's total weight once: checked against a loop over the
  samples, with samples exactly on the budget.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from mask_reference import shapely_reference

from latcircle.analysis.isochrones import mask_polygons
from latcircle.engine.latency import _lowest_first


class _Grid:
    """What ``mask_polygons`` reads of a grid: its transform."""

    def __init__(self, transform: Affine) -> None:
        self.transform = transform


def _same_region(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """Equal up to rounding: as many polygons, holes and a negligible symmetric difference.

    (The cell corners are computed in another order than GDAL's, so vertices may differ in
    the last bits on a sheared grid.)
    """
    parts_a, parts_b = shapely.get_parts(a), shapely.get_parts(b)
    holes = sorted(shapely.get_num_interior_rings(parts_a)) == sorted(
        shapely.get_num_interior_rings(parts_b)
    )
    return (
        len(parts_a) == len(parts_b)
        and holes
        and shapely.symmetric_difference(a, b).area <= 1e-6 * max(a.area, b.area)
    )


def _cell_union(transform: Affine, mask: np.ndarray) -> shapely.Geometry:
    """Brute force: the union of every true cell's quadrilateral."""
    cells = []
    for r, c in zip(*np.nonzero(mask), strict=True):
        corners = [transform * (c + dc, r + dr) for dc, dr in ((0, 0), (1, 0), (1, 1), (0, 1))]
        cells.append(shapely.Polygon(corners))
    return shapely.union_all(cells)


HOLE_AND_ISLANDS = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 0, 0],
        [0, 1, 0, 0, 1, 0, 1],  # a hole of two cells; an island at the right
        [0, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0],  # touches the ring at a corner only: its own polygon
        [0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=bool,
)


@pytest.mark.parametrize(
    "transform",
    [
        Affine(100.0, 0.0, 230_000.0, 0.0, -100.0, 3_380_000.0),
        Affine(0.3, 0.07, -12_345.678, 0.05, -0.41, 9_876_543.21),  # sheared, off-grid
    ],
)
def test_mask_polygons_hole_islands_and_corner_touch(transform: Affine) -> None:
    got = mask_polygons(_Grid(transform), HOLE_AND_ISLANDS)
    assert got.geom_type == "MultiPolygon" and len(got.geoms) == 3
    ring = max(got.geoms, key=lambda g: g.area)
    assert len(ring.interiors) == 1  # the two-cell hole
    cell = abs(transform.a * transform.e - transform.b * transform.d)
    # rel 1e-9: shoelace areas far from the origin (9.9e6) lose digits of the 0.12 m² cells
    assert got.area == pytest.approx(HOLE_AND_ISLANDS.sum() * cell, rel=1e-9)
    assert _same_region(got, _cell_union(transform, HOLE_AND_ISLANDS))
    assert shapely.to_wkb(got) == shapely.to_wkb(shapely_reference(transform, HOLE_AND_ISLANDS))


def test_mask_polygons_single_cell_full_and_empty() -> None:
    t = Affine(50.0, 0.0, 1000.0, 0.0, -50.0, 2000.0)
    one = np.zeros((4, 5), dtype=bool)
    one[2, 3] = True
    got = mask_polygons(_Grid(t), one)
    assert got.geom_type == "Polygon"
    assert shapely.equals(got, shapely.box(1150.0, 1850.0, 1200.0, 1900.0))
    full = np.ones((4, 5), dtype=bool)
    assert shapely.equals(
        mask_polygons(_Grid(t), full), shapely.box(1000.0, 1800.0, 1250.0, 2000.0)
    )
    assert mask_polygons(_Grid(t), np.zeros((4, 5), dtype=bool)).is_empty


def test_mask_polygons_equal_shapely_constructor_on_random_masks() -> None:
    rng = np.random.default_rng(12)
    for k in range(150):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        mask = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        if not mask.any():
            continue
        shear = float(rng.normal()) if k % 3 == 0 else 0.0
        t = Affine(
            float(rng.uniform(0.3, 200)),
            shear,
            float(rng.uniform(-1e6, 1e6)),
            -shear / 2,
            -float(rng.uniform(0.3, 200)),
            float(rng.uniform(-1e7, 1e7)),
        )
        got = mask_polygons(_Grid(t), mask)
        # The window's offsets are exact: the whole raster gives the same vertices.
        assert shapely.to_wkb(got) == shapely.to_wkb(shapely_reference(t, mask)), k
        if k % 10 == 0:
            assert _same_region(got, _cell_union(t, mask)), k


def _lowest_first_loop(point: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Brute force: per point in ascending order, its lowest value's first index (NaN last)."""
    out = []
    for p in sorted(set(point.tolist())):
        idx = [i for i in range(len(point)) if point[i] == p]
        finite = [i for i in idx if not np.isnan(value[i])]
        if not finite:
            out.append(idx[0])
            continue
        low = min(value[i] for i in finite)
        out.append(next(i for i in finite if value[i] == low))
    return np.array(out, dtype=np.int64)


def _lexsort_first(point: np.ndarray, value: np.ndarray) -> np.ndarray:
    order = np.lexsort((value, point))
    return order[np.r_[True, point[order][1:] != point[order][:-1]]]


def test_lowest_first_hand_case_with_equal_values_inf_and_nan() -> None:
    point = np.array([0, 0, 0, 3, 3, 5, 5, 5, 7, 7, 9])
    value = np.array([4.0, 2.0, 2.0, np.inf, np.inf, np.nan, 1.5, np.nan, np.nan, np.nan, 0.0])
    # point 0: the first 2.0 (index 1); 3: both inf, the first (3); 5: 1.5 (6, NaN last);
    # 7: NaN only, its first (8); 9: alone (10).
    np.testing.assert_array_equal(_lowest_first(point, value), [1, 3, 6, 8, 10])
    np.testing.assert_array_equal(_lexsort_first(point, value), [1, 3, 6, 8, 10])
    assert len(_lowest_first(np.zeros(0, np.int64), np.zeros(0))) == 0


@pytest.mark.parametrize("sort_points", [True, False])
def test_lowest_first_equals_loop_and_stable_sort(sort_points: bool) -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        k = int(rng.integers(1, 200))
        point = rng.integers(0, 40, k)
        if sort_points:
            point = np.sort(point)
        value = rng.choice([0.5, 1.0, 1.0, 2.0, np.inf, np.nan], size=k)  # many exact ties
        got = _lowest_first(point, value)
        np.testing.assert_array_equal(got, _lexsort_first(point, value))
        np.testing.assert_array_equal(got, _lowest_first_loop(point, value))


def _scenario(samples: object, latency_us: np.ndarray) -> object:
    from latcircle.analysis.coverage import Evaluation
    from latcircle.analysis.metro import Scenario

    ev = Evaluation(
        samples=samples, latency_us=latency_us, site=np.zeros(len(latency_us), np.int64)
    )  # type: ignore[arg-type]
    return Scenario(year=None, online=np.ones(1, bool), field=None, evaluations={"population": ev})  # type: ignore[arg-type]


def test_progress_tally_sums_by_hand_with_samples_on_the_budget() -> None:
    from latcircle.analysis.coverage import Samples
    from latcircle.analysis.progress import _Tally
    from latcircle.engine.locator import PointLocation

    # Five people-weighted samples; the budget is 1 ms = 1000 µs.
    weight = np.array([10.0, 20.0, 30.0, 40.0, 0.5])
    edge = np.array([0, 0, -1, 0, 0])  # the third has no access
    loc = PointLocation(edge=edge, t=np.zeros(5), drop=np.zeros(5), max_drop_m=1000.0)
    samples = Samples(
        basis="population", weight=weight, location=loc, district=np.zeros(5, np.int64)
    )
    # On the budget (covered), just above it (too far), no access, unreachable, well within.
    year_a = _scenario(
        samples, np.array([1000.0, np.nextafter(1000.0, 2000.0), np.inf, np.inf, 3.0])
    )
    # Another year on the same samples: the first now just above, the fourth on the budget.
    year_b = _scenario(samples, np.array([1000.5, 999.0, np.inf, 1000.0, np.inf]))
    tally = _Tally()
    covered, total, causes = tally.get(year_a, "population", 1.0)
    assert (covered, total) == (10.0 + 0.5, 100.5)
    assert causes == {"no_access": 30.0, "unreachable": 40.0, "too_far": 20.0}
    covered, total, causes = tally.get(year_b, "population", 1.0)
    assert (covered, total) == (20.0 + 40.0, 100.5)
    assert causes == {"no_access": 30.0, "unreachable": 0.5, "too_far": 10.0}
    # A wider threshold: the sample just above 1 ms is covered at 1.0005 ms (1000.5 µs).
    covered, total, _ = tally.get(year_b, "population", 1.0005)
    assert (covered, total) == (70.0, 100.5)
