"""The map slider's masks per inside cell and its one-weight sums (issue 23, round 15).

Each is checked against the way it replaces, run here as the reference:

* a band or cause mask known by its inside cells and put on the grid only when new: the same
  polygons (WKB) as the whole-grid raster of levels or codes compared with the band or cause,
  and one polygonising per distinct mask;
* the sums of samples of one weight from counts: bit for bit the sums per district of
  ``w[mask & (district == i)]`` (numpy's pairwise sum), the counts likewise, and samples whose
  weights differ only in a sign bit or hold a NaN left to the sorted route.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from latcircle.analysis import workbench
from latcircle.analysis.coverage import one_weight as _one_weight
from latcircle.analysis.isochrones import mask_polygons
from latcircle.analysis.workbench import _Levels, _Shapes, _Sums
from latcircle.engine.grid import make_grid

THRESHOLDS = [0.25, 0.5, 0.75, 1.0]


def _metro() -> SimpleNamespace:
    # A concave outline with a hole: cells along its edges are clipped, some left out.
    shell = [(0, 0), (5_000, 0), (5_000, 3_100), (2_600, 1_900), (0, 4_000)]
    hole = [(1_000, 1_000), (1_800, 1_000), (1_800, 1_700), (1_000, 1_700)]
    boundary = Polygon(shell, [hole])
    grid = make_grid(boundary, cell_m=100.0, max_cells=10_000_000)
    return SimpleNamespace(grid=grid, inputs=SimpleNamespace(boundary=boundary))


def _old_band(metro: SimpleNamespace, levels: np.ndarray, i: int) -> shapely.Geometry:
    """The way before: a ``uint8`` raster of levels over the whole grid, compared with ``i``."""
    raster = metro.grid.to_raster(levels, fill=len(THRESHOLDS), dtype="uint8")
    return shapely.intersection(mask_polygons(metro.grid, raster <= i), metro.inputs.boundary)


def _old_cause(metro: SimpleNamespace, codes: np.ndarray, code: int) -> shapely.Geometry:
    raster = metro.grid.to_raster(codes, fill=0, dtype="int8")
    return shapely.intersection(mask_polygons(metro.grid, raster == code), metro.inputs.boundary)


@pytest.mark.parametrize("seed", range(6))
def test_masks_per_inside_cell_give_the_whole_grid_polygons(seed: int) -> None:
    metro = _metro()
    n = metro.grid.n_inside
    rng = np.random.default_rng(seed)
    shapes, levels = _Shapes(metro), _Levels(metro, THRESHOLDS)  # type: ignore[arg-type]
    # Smooth levels (bands as blobs), with some cells at each level and none at some.
    x, y = metro.grid.centres()
    level = (np.hypot(x - rng.uniform(0, 5_000), y - rng.uniform(0, 4_000)) // 700).astype(int)
    year = SimpleNamespace(levels=np.minimum(level, len(THRESHOLDS)).astype(np.uint8))
    codes = rng.choice(np.array([1, 2, 3, 4], dtype=np.int8), size=n, p=[0.5, 0.3, 0.0, 0.2])
    for i in range(len(THRESHOLDS)):
        got = shapes.clip(levels.cells(year, i))  # type: ignore[arg-type]
        assert shapely.to_wkb(got) == shapely.to_wkb(_old_band(metro, year.levels, i)), i
        want_mask = metro.grid.to_raster(year.levels, fill=4, dtype="uint8") <= i
        assert np.array_equal(levels.mask(year, i), want_mask)  # type: ignore[arg-type]
    for code in (2, 3, 4):  # 3: no cell has it (an empty cause)
        got = shapes.clip(codes == code)
        assert shapely.to_wkb(got) == shapely.to_wkb(_old_cause(metro, codes, code)), code


def test_a_mask_seen_again_is_not_polygonised_again(monkeypatch: pytest.MonkeyPatch) -> None:
    metro = _metro()
    made: list[np.ndarray] = []
    real = workbench.mask_polygons

    def recording(grid: object, mask: np.ndarray) -> object:
        made.append(mask.copy())
        return real(grid, mask)  # type: ignore[arg-type]

    monkeypatch.setattr(workbench, "mask_polygons", recording)
    shapes = _Shapes(metro)  # type: ignore[arg-type]
    n = metro.grid.n_inside
    a = np.zeros(n, dtype=bool)
    a[: n // 3] = True
    b = a.copy()  # the same cells, another array
    c = a.copy()
    c[-1] = True  # one cell more
    first = shapes.clip(a)
    assert shapes.clip(b) is first
    assert shapes.clip(c) is not first
    assert len(made) == 2
    assert np.array_equal(made[0], metro.grid.to_raster(a, fill=False, dtype="bool"))
    seeded = shapely.Point(0, 0).buffer(1.0)
    d = np.zeros(n, dtype=bool)
    d[5] = True
    shapes.seed(d, seeded)  # made elsewhere: taken as it is
    assert shapes.clip(d.copy()) is seeded
    assert len(made) == 2


def _brute(weight: np.ndarray, district: np.ndarray, mask: np.ndarray, n: int) -> tuple:
    want = [weight[mask & (district == i)].sum() for i in range(n)] + [weight[mask].sum()]
    counts = [float((mask & (district == i)).sum()) for i in range(n)] + [float(mask.sum())]
    return np.array([float(v) for v in want]), counts


@pytest.mark.parametrize("value", [0.01, 1.0, 1e-7, 3.3, 123456.789, 0.0, -0.0, -0.5, np.nan])
@pytest.mark.parametrize("size", [0, 1, 7, 129, 40_000])
def test_one_weight_sums_are_the_pairwise_sums_per_district(value: float, size: int) -> None:
    rng = np.random.default_rng(size)
    n = 9
    district = rng.integers(-1, n + 2, size=size).astype(np.int32)  # -1, n, n + 1: in none
    district[district == 4] = 5  # district 4 has no sample
    weight = np.full(size, value)
    samples = SimpleNamespace(weight=weight, district=district)
    sums = _Sums(n)
    assert sums._one(samples) == (size > 0)  # type: ignore[arg-type]  # one bit pattern
    masks = [rng.random(size) < 0.6, np.zeros(size, bool), np.ones(size, bool)]
    for mask in masks:
        got, count = sums.under(samples, mask)  # type: ignore[arg-type]
        want, want_count = _brute(weight, district, mask, n)
        assert got.tobytes() == want.tobytes()
        assert count.tolist() == want_count
    total, count_total = sums.totals(samples)  # type: ignore[arg-type]
    want, want_count = _brute(weight, district, np.ones(size, bool), n)
    assert total.tobytes() == want.tobytes()
    assert count_total.tolist() == want_count


@pytest.mark.parametrize(
    "weight",
    [
        np.array([0.0, -0.0, 0.0, 0.0]),  # equal as numbers, not as bits
        np.array([np.nan, 1.0, 1.0, 1.0]),
        np.array([1.0, 1.0, 1.0, np.nextafter(1.0, 2.0)]),
        np.array([1, 1, 1, 1], dtype=np.float32),
        np.arange(8.0)[::2],  # one weight a stride apart: not contiguous
    ],
)
def test_weights_not_one_float_take_the_sorted_route(weight: np.ndarray) -> None:
    district = np.array([0, 1, 0, -1], dtype=np.int64)
    samples = SimpleNamespace(weight=weight, district=district)
    sums = _Sums(2)
    assert not _one_weight(weight)
    assert not sums._one(samples)  # type: ignore[arg-type]
    mask = np.array([True, True, False, True])
    got, count = sums.under(samples, mask)  # type: ignore[arg-type]
    want, want_count = _brute(weight, district, mask, 2)
    assert got.tobytes() == want.tobytes()
    assert count.tolist() == want_count


def test_float_districts_take_the_sorted_route() -> None:
    district = np.array([0.0, 1.0, 1.0, -1.0, 0.0])
    weight = np.full(5, 0.01)
    samples = SimpleNamespace(weight=weight, district=district)
    sums = _Sums(2)
    assert not sums._one(samples)  # type: ignore[arg-type]
    mask = np.array([True, True, False, True, True])
    got, _ = sums.under(samples, mask)  # type: ignore[arg-type]
    want, _ = _brute(weight, district.astype(int), mask, 2)
    assert got.tobytes() == want.tobytes()


def test_ring_areas_are_the_first_row_of_each_threshold() -> None:
    """The map's ring layers read each year's ring areas as ``.loc[...].iloc[0]`` did."""
    import geopandas as gpd

    from latcircle.present.maps import _ring_areas

    rings = gpd.GeoDataFrame(
        {
            "threshold_ms": [0.5, 0.25, 0.5, 1.0],  # 0.5 twice: the first row counts
            "area_km2": [3.0, 0.0, 9.0, 1e-300],
            "geometry": [None] * 4,
        }
    )
    got = _ring_areas(rings)
    for t in (0.25, 0.5, 1.0):
        want = float(rings.loc[rings["threshold_ms"] == t, "area_km2"].iloc[0])
        assert got[t] == want and type(got[t]) is float
    assert list(got) == [0.5, 0.25, 1.0]


def test_no_automatic_candidates_made_when_none_can_gain(
    make_tiny_city: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every sample with access covered in the first year, the ranking keeps none.

    The reference is the ranking of the real automatic candidates (made here): the same
    empty frame (the same columns and index) as the ranking of none, and the same builds
    in the page; and a year with an open sample still makes them.
    """
    import pandas as pd

    from latcircle.analysis.coverage import CAUSE_CODES
    from latcircle.analysis.metro import prepare
    from latcircle.analysis.workbench import YearCodes, rank_candidates, year_codes
    from latcircle.config import load_config
    from latcircle.present.map import workbench as mw
    from latcircle.run import RunResult

    metro = prepare(load_config(make_tiny_city("lattice")))  # type: ignore[operator]
    result = RunResult.__new__(RunResult)
    object.__setattr__(result, "metro", metro)
    run = year_codes(metro, metro.scenario())
    covered = CAUSE_CODES["covered"]
    shut = {
        b: np.where(s.location.has_access, covered, CAUSE_CODES["no_access"]).astype(np.int8)
        for b, s in run.samples.items()
    }
    full = YearCodes(run.year, run.online, shut, run.samples, run.levels)
    basis = "area"
    states = [SimpleNamespace(key="all", year=None, codes=full)]
    assert not len(full.open_rows(basis))
    assert not mw._may_gain(result, states, basis)  # type: ignore[arg-type]
    real = mw._candidates(result)
    assert len(real)  # the lattice has junctions: candidates there would be
    want = rank_candidates(metro, states, real, count=5)  # type: ignore[arg-type]
    got = rank_candidates(metro, states, mw._no_candidates(result), count=5)  # type: ignore[arg-type]
    assert want.empty
    # No row either way; only an empty column's inferred type differs (object, not str).
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_index_type=True)
    for frame in (got, want):
        frame["source"] = "candidate"
    assert mw._builds(got) == mw._builds(want) == []
    # A sample with access left uncovered: the candidates are made, as before.
    one = {b: c.copy() for b, c in shut.items()}
    one[basis][np.flatnonzero(run.samples[basis].location.has_access)[0]] = CAUSE_CODES["too_far"]
    open_year = YearCodes(run.year, run.online, one, run.samples, run.levels)
    assert mw._may_gain(result, [SimpleNamespace(codes=open_year)], basis)  # type: ignore[arg-type]
    assert mw._may_gain(result, [], basis)  # type: ignore[arg-type]


def test_no_build_gives_the_groups_of_no_column() -> None:
    """Without builds, each basis's groups are what the rows and no column of hits give."""
    from latcircle.analysis.workbench import _columns, _groups, _state_sets

    rng = np.random.default_rng(5)
    n = 50
    has_access = rng.random(n) < 0.7
    samples = SimpleNamespace(
        weight=rng.random(n),
        district=rng.integers(-1, 3, n),
        location=SimpleNamespace(has_access=has_access, take=lambda rows: rows),
    )
    codes = rng.choice(np.array([1, 2, 4], dtype=np.int8), n)
    year = SimpleNamespace(samples={"population": samples}, codes={"population": codes})
    year.open_rows = lambda b: np.flatnonzero((year.codes[b] != 1) & has_access)
    state = SimpleNamespace(year=None, codes=year)
    metro = SimpleNamespace(config=SimpleNamespace(budget_ms=1.0), view_key=lambda y: None)
    empty = np.zeros(0)
    got = _state_sets(metro, state, empty, empty, {None: []})  # type: ignore[arg-type]
    rows, hits = _columns(metro, state, "population", [])  # type: ignore[arg-type]
    assert len(rows) and hits.shape == (len(rows), 0)  # rows there are, no build to cover them
    want = _groups(samples.weight[rows], samples.district[rows], hits)
    g = got["population"]
    assert list(got) == ["population"]
    for a, b in ((g.weight, want.weight), (g.district, want.district), (g.count, want.count)):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert g.builds == want.builds == []
