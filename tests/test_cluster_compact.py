"""The shortfall's clusters from compact arrays give what the whole-grid way gives.

Session round 15 (issue 23): the uncovered weight per cell is summed by marking the cells
instead of sorting them (``_uncovered_weight``), each cause's districts are found from the
inside cells' own arrays (``_districts_by_cause``) and each cluster's size is counted in its
district's window (``_district_clusters``). Each is checked, bit for bit, against the way
it was done before (``np.unique`` of the cells, a search of the whole grid, a count over the
whole grid), on random grids with samples outside the grid, on cell edges, exactly on the
budget, one ulp over it, unreached and without access.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from affine import Affine
from scipy import ndimage

from latcircle.analysis.clusters import (
    _Cells,
    _district_boxes,
    _district_clusters,
    _district_labels,
    _districts_by_cause,
    _uncovered_weight,
)
from latcircle.analysis.coverage import CAUSE_CODES, Evaluation, Samples, covered
from latcircle.engine.grid import Grid
from latcircle.engine.locator import PointLocation

_FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def _grid(rng: np.random.Generator) -> Grid:
    shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
    transform = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 3_400_000.0)
    return Grid(transform=transform, shape=shape, inside=rng.random(shape) < 0.7, cell_m=100.0)


def _old_uncovered_weight(
    grid: Grid, ev: Evaluation, budget_ms: float
) -> tuple[np.ndarray, np.ndarray]:
    """The way before round 15: every sample mapped, the cells found by ``np.unique``."""
    x, y = ev.samples.coordinates()
    uncovered = ~covered(ev.latency_us, budget_ms=budget_ms)
    col, row = ~grid.transform * (x, y)
    row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    rows, cols = grid.shape
    keep = uncovered & (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    cells, at = np.unique(row[keep] * cols + col[keep], return_inverse=True)
    return cells, np.bincount(at, weights=ev.samples.weight[keep], minlength=len(cells))


@pytest.mark.parametrize("seed", range(8))
def test_uncovered_weight_equals_the_sorted_cells(seed: int) -> None:
    rng = np.random.default_rng(seed)
    grid = _grid(rng)
    n = int(rng.integers(0, 3000))
    rows, cols = grid.shape
    t = grid.transform
    # Points over the grid and a margin around it, some exactly on cell edges and corners.
    x = t.c + rng.uniform(-2, cols + 2, n) * t.a
    y = t.f + rng.uniform(-2, rows + 2, n) * t.e
    on_edge = rng.random(n) < 0.2
    x[on_edge] = t.c + rng.integers(-1, cols + 2, on_edge.sum()) * t.a
    budget = 1.0
    lat = rng.uniform(0.0, 2000.0, n)
    pick = rng.random(n)
    lat[pick < 0.1] = 1000.0  # exactly on the budget: covered
    lat[(pick >= 0.1) & (pick < 0.2)] = np.nextafter(1000.0, np.inf)  # one ulp over
    lat[(pick >= 0.2) & (pick < 0.3)] = np.inf  # unreached
    edge = np.where(rng.random(n) < 0.15, -1, 0)  # without access
    lat[edge < 0] = np.inf
    weight = rng.uniform(0.0, 50.0, n) * (rng.random(n) < 0.9)  # some weigh nothing
    loc = PointLocation(edge=edge, t=np.zeros(n), drop=np.zeros(n), max_drop_m=1000.0)
    samples = Samples("population", weight, loc, np.zeros(n, np.int64), x, y)
    ev = Evaluation(samples=samples, latency_us=lat, site=np.full(n, -1))
    scenario = SimpleNamespace(evaluations={"population": ev})
    cells, w = _uncovered_weight(grid, None, scenario, "population", budget)  # type: ignore[arg-type]
    ref_cells, ref_w = _old_uncovered_weight(grid, ev, budget)
    assert cells.dtype == ref_cells.dtype and np.array_equal(cells, ref_cells)
    assert w.dtype == ref_w.dtype and w.tobytes() == ref_w.tobytes()


def _random_cells(rng: np.random.Generator) -> tuple[Grid, np.ndarray, np.ndarray, _Cells]:
    grid = _grid(rng)
    n = grid.n_inside
    coarse = rng.integers(-1, 6, size=(grid.shape[0] // 4 + 1, grid.shape[1] // 4 + 1))
    blocks = np.kron(coarse, np.ones((4, 4), dtype=int))[: grid.shape[0], : grid.shape[1]]
    district = blocks[grid.inside].astype(np.int64)  # per inside cell, as the area samples
    codes = rng.choice(np.array([1, 2, 3, 4], np.int8), size=n, p=rng.dirichlet(np.ones(4)))
    raster = grid.to_raster(district, fill=-1, dtype="int32")
    cells = _Cells(
        cause=grid.to_raster(codes, fill=0, dtype="int8"),
        latency=np.zeros(n),
        weight={},
        district=raster,
        boxes=_district_boxes(raster),
        present=_districts_by_cause(codes, district),
    )
    return grid, codes, district, cells


@pytest.mark.parametrize("seed", range(10))
def test_districts_by_cause_equal_a_search_of_the_grid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    _, _, _, cells = _random_cells(rng)
    for code in CAUSE_CODES.values():
        want = np.unique(cells.district[cells.cause == code])
        got = cells.present.get(code, np.zeros(0, np.int64)) if cells.present else []
        assert np.array_equal(got, want), code


@pytest.mark.parametrize("seed", range(10))
def test_cluster_sizes_equal_a_count_over_the_whole_grid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    _, _, _, cells = _random_cells(rng)
    assert cells.present is not None
    for code in CAUSE_CODES.values():
        mask = cells.cause == code
        present = cells.present.get(code, np.zeros(0, np.int64))
        labels, n, size = _district_clusters(cells, mask, present)
        ref_labels, ref_n = _district_labels(cells, mask)  # districts searched in the grid
        assert n == ref_n and np.array_equal(labels, ref_labels)
        want = np.bincount(ref_labels.ravel(), minlength=n + 1)[1:]
        assert size.dtype == want.dtype and np.array_equal(size, want)
        # Each label is one 4-connected piece of one district (an independent check).
        for k in range(1, n + 1):
            piece = labels == k
            assert len(np.unique(cells.district[piece])) == 1
            assert ndimage.label(piece, structure=_FOUR)[1] == 1


def test_no_inside_cell_has_no_district() -> None:
    assert _districts_by_cause(np.zeros(0, np.int8), np.zeros(0, np.int64)) == {}
