"""The map's slider and heat layer take shortcuts that give what the long way gives (issue 23).

Each shortcut is checked against the computation it replaces, run here as the reference:

* a (multi)polygon minus itself: GEOS's own :func:`shapely.difference` (same WKB);
* the run's rings seeded into the slider: the same rings as differenced anew;
* district slices found with integers: the same bounds as the float search the slider used;
* heat cells summed densely: the same cells and sums, bit for bit, as the sorted unique keys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from latcircle.analysis import workbench
from latcircle.analysis.workbench import _district_starts, _Shapes
from latcircle.present.map import heat


def _shapes() -> _Shapes:
    shapes = _Shapes.__new__(_Shapes)  # only the difference memo is exercised
    shapes._clipped = {}
    shapes._differences = {}
    return shapes


@pytest.mark.parametrize(
    "geom",
    [
        box(0, 0, 1, 1),
        Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 2)]]),
        MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
        shapely.intersection(MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]), box(0.5, 0, 9, 9)),
        MultiPolygon(),
        Polygon(),
    ],
)
def test_a_polygon_minus_itself_is_what_geos_gives(geom: object) -> None:
    got = _shapes().difference(geom, geom)
    want = shapely.difference(geom, geom)
    assert shapely.to_wkb(got) == shapely.to_wkb(want)


def test_other_geometries_minus_themselves_take_geos() -> None:
    line = shapely.LineString([(0, 0), (1, 1)])
    got = _shapes().difference(line, line)
    assert shapely.to_wkb(got) == shapely.to_wkb(shapely.difference(line, line))
    assert got.geom_type == "LineString"


def test_equal_but_distinct_polygons_are_differenced() -> None:
    a, b = box(0, 0, 2, 2), box(0, 0, 2, 2)
    shapes = _shapes()
    assert shapes.difference(a, b).equals(shapely.difference(a, b))
    c = box(1, 0, 3, 2)
    assert shapes.difference(c, a).equals(box(2, 0, 3, 2))


def test_seeded_rings_only_for_matching_thresholds() -> None:
    import geopandas as gpd

    from latcircle.analysis.isochrones import band_rings

    geoms = [box(0, 0, 1, 1), box(0, 0, 2, 2), box(0, 0, 3, 3)]
    bands = gpd.GeoDataFrame(
        {"threshold_ms": [1.0, 0.5, 0.75]}, geometry=[geoms[2], geoms[0], geoms[1]]
    )
    rings = band_rings(bands)
    shapes = _shapes()
    shapes.seed_rings(bands, rings)
    # The seeded rings are returned for the very band objects, in threshold order...
    assert shapes.difference(geoms[1], geoms[0]) is rings.geometry.iloc[1]
    assert shapes.difference(geoms[2], geoms[1]) is rings.geometry.iloc[2]
    # ... and equal what GEOS gives for them.
    assert shapes.difference(geoms[2], geoms[1]).equals(shapely.difference(geoms[2], geoms[1]))
    other = _shapes()
    other.seed_rings(bands, rings.iloc[:2])  # thresholds differ: nothing seeded
    assert other._differences == {}


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int16, np.float64])
@pytest.mark.parametrize("n", [0, 1, 13, 400])
def test_district_bounds_as_integers(n: int, dtype: type) -> None:
    """The slice bounds found with integers are those the float search found."""
    rng = np.random.default_rng(n)
    district = rng.integers(-1, max(n, 1), size=50_000).astype(dtype)
    ordered = district[np.argsort(district, kind="stable")]
    want = np.searchsorted(ordered, np.arange(n + 1) - 0.5)
    starts = _district_starts(district, n)
    assert starts.dtype == (dtype if dtype != np.float64 else np.float64)
    assert np.array_equal(np.searchsorted(ordered, starts), want)


def test_slider_sums_match_the_coverage_rule() -> None:
    """``_Sums.under`` per district, bit for bit as ``w[district == i][mask].sum()``."""
    rng = np.random.default_rng(3)
    n = 9
    district = rng.integers(-1, n, size=20_000)
    weight = rng.random(20_000) * 10.0 ** rng.integers(-3, 4, size=20_000)
    mask = rng.random(20_000) < 0.6

    class _S:  # the two fields _Sums reads
        pass

    samples = _S()
    samples.district, samples.weight = district, weight  # type: ignore[attr-defined]
    got, count = workbench._Sums(n).under(samples, mask)  # type: ignore[arg-type]
    want = [weight[district == i][mask[district == i]].sum() for i in range(n)]
    want.append(weight[mask].sum())
    assert got.tobytes() == np.array(want).tobytes()
    assert count.tolist() == [float((mask & (district == i)).sum()) for i in range(n)] + [
        float(mask.sum())
    ]


def _sorted_route(key: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weight)
    keep = sums >= 1.0
    return keys[keep], sums[keep]


@pytest.mark.parametrize("dense", [True, False])
def test_heat_cells_sum_as_the_sorted_route(dense: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not dense:
        monkeypatch.setattr(heat, "_DENSE_CELLS", 10)
    rng = np.random.default_rng(11)
    key = rng.integers(0, 5_000, size=60_000)
    weight = rng.random(60_000) * 10.0 ** rng.integers(-4, 3, size=60_000)
    # Cells exactly at the limit (sum 1.0) are kept; just under it, left out.
    key = np.concatenate([key, [7_000, 7_000, 7_001]])
    weight = np.concatenate([weight, [0.5, 0.5, np.nextafter(1.0, 0.0)]])
    keys, sums = heat._cell_sums(key, weight)
    want_keys, want_sums = _sorted_route(key, weight)
    assert np.array_equal(keys, want_keys)
    assert sums.tobytes() == want_sums.tobytes()
    assert 7_000 in keys and 7_001 not in keys


def test_seeded_rings_give_the_rings_made_anew(make_tiny_city: Callable[..., Path]) -> None:
    """The slider's run year with the run's bands and rings: the same shapes as made anew."""
    from latcircle.analysis.workbench import year_states
    from latcircle.config import load_config
    from latcircle.pipeline import RunOptions, compute_run

    # Thresholds that split the tiny city (58.75, 70, 70, 70 km²): two bands are distinct
    # (their ring is the run's), two the same (their ring is the empty polygon).
    config = make_tiny_city(extra_yaml="thresholds_ms: [0.15, 0.17, 0.2, 1.0]\n")
    run = compute_run(load_config(config), RunOptions(progress=False))
    assert run.layers is not None
    years = [run.scenario.year]
    layers = run.layers
    (seeded,) = year_states(
        run.metro, run.scenario, years, run_bands=layers["bands"], run_rings=layers["rings"]
    )
    (fresh,) = year_states(run.metro, run.scenario, years)
    for got, want in ((seeded.rings, fresh.rings), (seeded.causes, fresh.causes)):
        assert shapely.to_wkb(got.geometry.to_numpy()).tolist() == (
            shapely.to_wkb(want.geometry.to_numpy()).tolist()
        )
        assert got.drop(columns="geometry").equals(want.drop(columns="geometry"))
    # The run's own ring object was taken (not differenced again) where the bands differ.
    assert np.allclose(seeded.rings["area_km2"], [58.75, 11.25, 0.0, 0.0], atol=1e-9)
    assert seeded.rings.geometry.iloc[1] is layers["rings"].geometry.iloc[1]
    assert fresh.rings.geometry.iloc[1] is not layers["rings"].geometry.iloc[1]


def _curve_every_sample(latency: np.ndarray, weight: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """The share curve as it was computed before: every sample searched among the budgets."""
    edges_us = budgets.ravel() * 1000.0
    order = np.argsort(edges_us, kind="stable")
    first = np.searchsorted(edges_us[order], latency, side="left")
    bins = np.bincount(first, weights=weight, minlength=edges_us.size + 1)
    shares = np.empty(edges_us.size)
    shares[order] = np.cumsum(bins[: edges_us.size]) / float(weight.sum())
    return shares.reshape(budgets.shape)


@pytest.mark.parametrize(
    "budgets",
    [
        np.linspace(0.0, 2.0, 401),
        np.array([1.0, 0.25, 0.75, 0.5]),  # unsorted, as a config may list them
        np.array([0.5]),
        np.array([1.0, np.nan, 0.5]),  # a NaN budget sorts last: every sample searched
    ],
)
def test_share_curve_leaves_out_only_what_no_budget_counts(budgets: np.ndarray) -> None:
    from types import SimpleNamespace

    from latcircle.present.figures import curve

    rng = np.random.default_rng(5)
    n = 30_000
    latency = rng.uniform(0.0, 2500.0, size=n)
    latency[rng.random(n) < 0.6] = np.inf  # no access
    latency[:50] = np.nan
    edges = budgets[np.isfinite(budgets)] * 1000.0
    latency[50 : 50 + len(edges)] = edges  # samples exactly at a budget: within it
    latency[100 : 100 + len(edges)] = np.nextafter(edges, np.inf)  # just beyond: not
    weight = rng.random(n) * 10.0 ** rng.integers(-3, 4, size=n)
    ev = SimpleNamespace(latency_us=latency, samples=SimpleNamespace(weight=weight))
    got = curve(ev, budgets)  # type: ignore[arg-type]
    want = _curve_every_sample(latency, weight, budgets)
    assert got.tobytes() == want.tobytes()
