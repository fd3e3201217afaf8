"""The order in which the locator takes its points (a Z-curve over its raster).

* ``_NearBound.z_order`` gives each point the Morton key of its cell: checked against a
  bit-by-bit interleave written out independently, on points inside, on the edges of and
  beyond the raster (clipped to its nearest cell).
* Locating in that order changes no answer: the same points in four orders, on one thread
  and on two, give the same arrays bit for bit.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString

from latcircle.engine.locator import MIN_POINTS_PER_THREAD, SORT_CELL_M, Locator, _NearBound
from latcircle.engine.network import build_network

UTM50 = "EPSG:32650"


def _interleave(col: int, row: int) -> int:
    """Morton key: bit i of col at bit 2i, bit i of row at bit 2i + 1 (16 bits each)."""
    key = 0
    for i in range(16):
        key |= ((col >> i) & 1) << (2 * i)
        key |= ((row >> i) & 1) << (2 * i + 1)
    return key


def test_z_order_keys_are_morton_keys_of_the_cells() -> None:
    rng = np.random.default_rng(3)
    near = _NearBound(np.column_stack([rng.uniform(0, 5000, 300), rng.uniform(0, 3000, 300)]))
    (x0, y0), cell = near._origin, SORT_CELL_M
    rows, cols = near._bound.shape
    assert cell * max(rows, cols) < 65535 * SORT_CELL_M  # cells of SORT_CELL_M here
    # Inside, exactly on cell corners, and beyond the raster on every side.
    x = np.r_[rng.uniform(x0, x0 + 9000, 500), x0, x0 + 7 * cell, x0 - 50.0, x0 + 1e7]
    y = np.r_[rng.uniform(y0, y0 + 7000, 500), y0, y0 + 3 * cell, y0 + 1e7, y0 - 50.0]
    got = near.z_order(x, y)
    col = np.clip(np.floor((x - x0) / cell), 0, 65535).astype(int)
    row = np.clip(np.floor((y - y0) / cell), 0, 65535).astype(int)
    want = [_interleave(int(c), int(r)) for c, r in zip(col, row, strict=True)]
    assert got.tolist() == want
    assert len(set(want)) > 400  # distinct cells: the check is not vacuous


def _rows(*columns: np.ndarray) -> list[tuple[float, ...]]:
    return list(zip(*(c.tolist() for c in columns), strict=True))


def _network():
    rng = np.random.default_rng(11)
    lines = [LineString([(0, y), (3000, y)]) for y in range(0, 3001, 300)]
    lines += [LineString([(x, 0), (x, 3000)]) for x in range(0, 3001, 375)]
    for a, r in zip(rng.uniform(0, 2 * np.pi, 20), rng.uniform(100, 1800, 20), strict=True):
        lines.append(LineString([(1500, 1500), (1500 + r * np.cos(a), 1500 + r * np.sin(a))]))
    return build_network(gpd.GeoDataFrame(geometry=lines, crs=UTM50))


def test_located_the_same_in_any_order_and_on_any_threads() -> None:
    net = _network()
    rng = np.random.default_rng(5)
    n = 2 * MIN_POINTS_PER_THREAD + 1_000  # so that two threads really share the points
    # Points on the lattice (exact ties), near it, and far beyond the max drop.
    x = np.r_[np.arange(0, 3001, 150.0).repeat(11), rng.uniform(-2500, 5500, n)]
    y = np.r_[np.tile(np.arange(0, 3001, 300.0), 21), rng.uniform(-2500, 5500, n)]
    locator = Locator(net)
    ref = locator.locate(x, y, max_drop_m=600.0, workers=1)
    assert ref.has_access.any() and not ref.has_access.all() and len(ref.tie_point) > 0
    orders = {
        "reversed": np.arange(len(x))[::-1],
        "random": rng.permutation(len(x)),
        "by x": np.argsort(x, kind="stable"),
    }
    for name, perm in orders.items():
        for workers in (1, 2):
            got = locator.locate(x[perm], y[perm], max_drop_m=600.0, workers=workers)
            back = np.argsort(perm)
            for field in ("edge", "t", "drop"):
                assert np.array_equal(getattr(got, field)[back], getattr(ref, field)), (
                    name,
                    workers,
                    field,
                )
            # Ties: the same (point, edge, t) rows, once mapped back to the original points.
            mine = sorted(_rows(perm[got.tie_point], got.tie_edge, got.tie_t))
            want = sorted(_rows(ref.tie_point, ref.tie_edge, ref.tie_t))
            assert mine == want, (name, workers)
