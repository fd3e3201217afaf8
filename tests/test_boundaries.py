"""Samples exactly at the budget and exactly at the max drop, and one ulp beyond.

The hand-built metro (``handbuilt.py``) has exact arithmetic: every latency below is an
integer number of µs, or that integer plus the one-ulp step of a coordinate. Each ``<=`` of
the covered rule (latency ≤ budget) and of the access rule (drop ≤ max drop) therefore
decides real samples: turning one into ``<`` (or ``<=`` into ``<= + ε``) changes a value
that these tests check against the hand formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import smallest_budget_ms

from latcircle.analysis.clusters import uncovered_clusters
from latcircle.analysis.coverage import coverage_table, site_service
from latcircle.analysis.metro import Metro, Scenario, prepare
from latcircle.analysis.progress import progress_table
from latcircle.config import CityConfig, Target
from latcircle.pipeline import run_city
from latcircle.present.figures import curve
from latcircle.present.map.heat import _uncovered_population
from latcircle.run import RunResult

from handbuilt import (
    CELL_M,
    MAX_DROP_M,
    SITES,
    X0,
    Y0,
    hand_latency,
    next_x,
    next_y,
    people,
    write_city,
)

BUDGET_US = 1000.0
BASES = ("key_sites", "population", "area")
#: Key sites: at the budget from A, one ulp beyond it; at the max drop, one ulp beyond it;
#: at the budget from B, one ulp beyond it (through the drop this time).
KEY_SITES = [
    (950.0, 0.0),  # K1: 100 + 20 + 880 = 1000 µs from A: covered
    (next_x(950.0), 0.0),  # K2: one ulp further along: too far
    (100.0, 1000.0),  # K3: drop exactly 1000 m = max drop: access (1150 µs: too far)
    (100.0, next_y(1000.0)),  # K4: one ulp beyond the max drop: no access
    (1950.0, 800.0),  # K5: 100 + 40 + 60 + 800 = 1000 µs from B: covered
    (1950.0, next_y(800.0)),  # K6: one ulp further from the road: too far
    (450.0, 0.0),  # K7: 500 µs from A exactly: inside the 0.5 ms band
    (1450.0, 100.0),  # K8: 100 + 40 + 440 + 100 = 680 µs from B
]
KEY_STATUS = [
    "covered",
    "too_far",
    "too_far",
    "no_access",
    "covered",
    "too_far",
    "covered",
    "covered",
]


@dataclass(frozen=True)
class Case:
    """The hand-built metro run with a budget on which some samples lie exactly."""

    metro: Metro
    scenario: Scenario
    budget_ms: float
    thresholds_ms: list[float]
    config: CityConfig

    @property
    def budget_us(self) -> float:
        return self.budget_ms * 1000.0


def _case(folder: Path, *, budget_ms: float, thresholds_ms: list[float]) -> Case:
    extra = {"budget_ms": budget_ms, "thresholds_ms": thresholds_ms}
    cfg = write_city(folder, key_sites=KEY_SITES, extra=extra)
    metro = prepare(cfg)
    return Case(metro, metro.scenario(), budget_ms, thresholds_ms, cfg)


def _area_budgets(metro: Metro) -> list[float]:
    """Budgets (ms) equal to the hand latency of grid cells near 500 and 1000 µs.

    The metro boundary goes through WGS84 and back, so the grid (anchored on its corner)
    sits a fraction of a nanometre off the integers, and no cell is at exactly 1000 µs. The
    budget is then taken from the reference: the hand latency of a cell, which round-trips
    through ms exactly (checked), so that cells lie exactly on it.
    """
    lat, _ = hand_latency(*_xy(metro, "area"))
    out = []
    for target in (500.0, 1000.0):
        nearest = lat[np.argmin(np.abs(lat - target))]
        assert abs(nearest - target) < 1e-6
        assert (nearest / 1000.0) * 1000.0 == nearest
        out.append(float(nearest / 1000.0))
    return out


@pytest.fixture(scope="module")
def exact(tmp_path_factory: pytest.TempPathFactory) -> Case:
    """Budget 1 ms: key sites and population pixels lie exactly on it."""
    return _case(tmp_path_factory.mktemp("exact"), budget_ms=1.0, thresholds_ms=[0.5, 1.0])


@pytest.fixture(scope="module")
def on_cells(tmp_path_factory: pytest.TempPathFactory, exact: Case) -> Case:
    """Budget on the hand latency of grid cells: area cells lie exactly on it."""
    half, budget = _area_budgets(exact.metro)
    return _case(tmp_path_factory.mktemp("cells"), budget_ms=budget, thresholds_ms=[half, budget])


@pytest.fixture(scope="module", params=["exact", "on_cells"])
def case(request: pytest.FixtureRequest) -> Case:
    return request.getfixturevalue(request.param)


def _xy(metro: Metro, basis: str) -> tuple[np.ndarray, np.ndarray]:
    """Sample coordinates relative to the origin (exact: the origin is an integer)."""
    s = metro.samples[basis]
    return s.x - X0, s.y - Y0


def _hand(metro: Metro, basis: str) -> tuple[np.ndarray, np.ndarray]:
    return hand_latency(*_xy(metro, basis))


def _district(metro: Metro, basis: str) -> np.ndarray:
    """District of each sample by hand: West left of x = 1000, East right of it."""
    x, _ = _xy(metro, basis)
    return np.where(x < 1000.0, "West", "East")


def _weight(metro: Metro, basis: str) -> np.ndarray:
    """Each sample's weight by hand: 1 per key site, people by pixel position, 0.01 km²."""
    x, y = _xy(metro, basis)
    if basis == "key_sites":
        return np.ones(len(x))
    if basis == "area":
        return np.full(len(x), CELL_M * CELL_M / 1e6)
    row = np.round((1000.0 - y) / CELL_M).astype(int)
    col = np.round((x - CELL_M / 2) / CELL_M).astype(int)
    return people()[row, col]


def _hand_status(metro: Metro, basis: str, budget_us: float) -> np.ndarray:
    lat, _ = _hand(metro, basis)
    _, y = _xy(metro, basis)
    out = np.where(lat <= budget_us, "covered", "too_far")
    return np.where(np.abs(y) > MAX_DROP_M, "no_access", out)


def test_the_handbuilt_arithmetic_is_exact(exact: Case, on_cells: Case) -> None:
    """The engine gives the hand formula bit for bit, and there are samples on the budgets."""
    for case in (exact, on_cells):
        for basis in BASES:
            want, site = _hand(case.metro, basis)
            ev = case.scenario.evaluations[basis]
            np.testing.assert_array_equal(ev.latency_us, want, err_msg=basis)
            np.testing.assert_array_equal(ev.site, site, err_msg=basis)
            np.testing.assert_array_equal(ev.samples.weight, _weight(case.metro, basis))
    # Samples exactly on each threshold, from both sites where there are several.
    for case, basis, counts in (
        (exact, "key_sites", (1, 2)),
        (exact, "population", (5, 10)),
        (on_cells, "area", (4, 9)),
    ):
        lat, site = _hand(case.metro, basis)
        for thr, count in zip(case.thresholds_ms, counts, strict=True):
            assert (lat == thr * 1000.0).sum() == count, (basis, thr)
        assert set(site[lat == case.budget_us]) == {0, 1}, basis
    # Population pixels on the top row lie exactly at the max drop.
    _, y = _xy(exact.metro, "population")
    assert (y == MAX_DROP_M).sum() == 20


def test_key_sites_at_the_budget_and_the_max_drop(exact: Case) -> None:
    ev = exact.scenario.evaluations["key_sites"]
    assert list(ev.status(1.0)) == KEY_STATUS
    lat = ev.latency_us
    assert lat[0] == lat[4] == BUDGET_US
    assert BUDGET_US < lat[1] == np.nextafter(X0 + 950.0, np.inf) - X0 + 50.0
    assert np.isinf(lat[3]) and ev.site[3] == -1
    assert lat[2] == 100.0 + 20.0 + 30.0 + 1000.0  # drop counted in full at the max drop
    loc = exact.metro.samples["key_sites"].location
    assert loc.drop[2] == MAX_DROP_M and loc.has_access[2]
    assert not loc.has_access[3]


def test_status_matches_the_hand_rule(case: Case) -> None:
    for basis in BASES:
        got = case.scenario.evaluations[basis].status(case.budget_ms)
        want = _hand_status(case.metro, basis, case.budget_us)
        np.testing.assert_array_equal(got.astype(str), want, err_msg=basis)


def _hand_rows(metro: Metro, thresholds_ms: list[float]) -> pd.DataFrame:
    rows = []
    for basis in BASES:
        lat, _ = _hand(metro, basis)
        _, y = _xy(metro, basis)
        weight = _weight(metro, basis)
        access = np.abs(y) <= MAX_DROP_M
        district = _district(metro, basis)
        for scope, name, mask in (
            ("metro", "metro", np.ones(len(lat), bool)),
            ("district", "West", district == "West"),
            ("district", "East", district == "East"),
        ):
            for thr in thresholds_ms:
                covered = weight[mask & (lat <= thr * 1000.0)].sum()
                no_access = weight[mask & ~access].sum()
                total = weight[mask].sum()
                rows.append(
                    {
                        "scope": scope,
                        "name": name,
                        "basis": basis,
                        "threshold_ms": thr,
                        "covered": covered,
                        "no_access": no_access,
                        "too_far": total - covered - no_access,
                        "total": total,
                    }
                )
    return pd.DataFrame(rows).set_index(["scope", "name", "basis", "threshold_ms"]).sort_index()


def test_coverage_table_counts_ties_as_covered(case: Case) -> None:
    table = coverage_table(
        [case.scenario.evaluations[b] for b in BASES],
        thresholds_ms=case.thresholds_ms,
        district_names=case.metro.district_names,
    )
    got = table.set_index(["scope", "name", "basis", "threshold_ms"]).sort_index()
    want = _hand_rows(case.metro, case.thresholds_ms)
    assert list(got.index) == list(want.index)
    for col in ("covered", "no_access", "too_far", "total"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-12, err_msg=col)


def test_coverage_of_the_key_sites_spelled_out(exact: Case) -> None:
    table = coverage_table(
        [exact.scenario.evaluations["key_sites"]],
        thresholds_ms=[0.5, 1.0],
        district_names=exact.metro.district_names,
    ).set_index(["name", "threshold_ms"])
    # Covered K1, K5 (on the budget), K7, K8; no access K4; too far K2, K3, K6.
    metro = table.loc[("metro", 1.0)]
    assert (metro.covered, metro.no_access, metro.too_far) == (4.0, 1.0, 3.0)
    assert table.loc[("metro", 0.5)].covered == 1.0  # K7, at 500 µs exactly
    west, east = table.loc[("West", 1.0)], table.loc[("East", 1.0)]
    assert (west.covered, west.no_access, west.too_far, west.total) == (2.0, 1.0, 2.0, 5.0)
    assert (east.covered, east.no_access, east.too_far, east.total) == (2.0, 0.0, 1.0, 3.0)


def test_scenario_share_and_the_curve_count_ties(case: Case) -> None:
    for basis in BASES:
        lat, _ = _hand(case.metro, basis)
        w = _weight(case.metro, basis)
        want = [w[lat <= t * 1000.0].sum() / w.sum() for t in case.thresholds_ms]
        for thr, share in zip(case.thresholds_ms, want, strict=True):
            assert case.scenario.share(basis, threshold_ms=thr) == pytest.approx(share, rel=1e-12)
        got = curve(case.scenario.evaluations[basis], np.array(case.thresholds_ms))
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=basis)


def test_site_service_counts_ties_and_nothing_beyond(case: Case) -> None:
    served = site_service(
        [case.scenario.evaluations[b] for b in BASES], n_sites=2, budget_ms=case.budget_ms
    )
    for basis in BASES:
        lat, site = _hand(case.metro, basis)
        w = _weight(case.metro, basis)
        for s in (0, 1):
            want = w[(site == s) & (lat <= case.budget_us)].sum()
            got = served.loc[s, f"served_{basis}"]
            assert got == pytest.approx(want, rel=1e-12), (basis, s)


def test_progress_counts_ties(case: Case) -> None:
    """The covered weight of progress.csv, and a target met exactly by samples on the budget."""
    target = Target(year=2030, share=0.5, basis="key_sites", threshold_ms=case.budget_ms)
    table = progress_table(case.metro, targets=[target])
    for basis in BASES:
        lat, _ = _hand(case.metro, basis)
        w = _weight(case.metro, basis)
        got = table[(table["year"] == 2030) & (table["basis"] == basis)].iloc[0]
        assert got.covered == pytest.approx(w[lat <= case.budget_us].sum(), rel=1e-12), basis
        assert got.total == pytest.approx(w.sum(), rel=1e-12), basis


def test_a_target_met_exactly_on_the_budget(exact: Case) -> None:
    table = progress_table(exact.metro, targets=[Target(year=2030, share=0.5, basis="key_sites")])
    row = table[(table["year"] == 2030) & (table["basis"] == "key_sites")].iloc[0]
    assert (row.covered, row.total, row.share) == (4.0, 8.0, 0.5)  # K1 and K5 on the budget
    assert row.status == "met" and row.gap == 0.0


def test_clusters_leave_the_ties_out(case: Case) -> None:
    # Ranked by area, every cluster weighs something: none is left out of the table.
    clusters = uncovered_clusters(case.metro, case.scenario, top=None, by="area")
    too_far = clusters[clusters["cause"] == "too_far"]
    lat, _ = _hand(case.metro, "area")
    assert too_far["cells"].sum() == int((np.isfinite(lat) & (lat > case.budget_us)).sum())
    assert (clusters["cause"] == "no_access").sum() == 0  # the top row is AT the max drop
    # People and key sites count in the cluster of the cell they fall in, when both are
    # uncovered: with the budget on the cells, the pixels on the budget (exact integers) are
    # covered while their cells (a fraction of a nanometre off) are not, and vice versa.
    lat_p, _ = _hand(case.metro, "population")
    w = _weight(case.metro, "population")
    cell = _cell_of(case.metro, *_xy(case.metro, "population"))
    want_people = w[(lat_p > case.budget_us) & (lat[cell] > case.budget_us)].sum()
    assert too_far["people"].sum() == pytest.approx(want_people, rel=1e-12)
    # K6 is too far (one ulp), but its cell (centre a fraction of a nanometre nearer) is not.
    lat_k, _ = _hand(case.metro, "key_sites")
    cell = _cell_of(case.metro, *_xy(case.metro, "key_sites"))
    want = ((lat_k > case.budget_us) & (lat[cell] > case.budget_us)).sum()
    assert clusters["key_sites"].sum() == float(want)
    assert want >= 3


def _cell_of(metro: Metro, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the area sample whose cell holds each point (x in [cx-50, cx+50), y in
    (cy-50, cy+50]: the grid's rows count down from its top edge)."""
    cx, cy = _xy(metro, "area")
    half = CELL_M / 2
    hit = (
        (cx[None, :] - half <= x[:, None])
        & (x[:, None] < cx[None, :] + half)
        & (cy[None, :] - half < y[:, None])
        & (y[:, None] <= cy[None, :] + half)
    )
    assert (hit.sum(axis=1) == 1).all()
    return hit.argmax(axis=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, case: Case) -> RunResult:
    return run_city(case.config, out=tmp_path_factory.mktemp("run") / "out")


def test_written_layers_count_ties(run: RunResult, case: Case) -> None:
    run_out = run.out
    lat, site = _hand(case.metro, "area")
    cell_km2 = CELL_M * CELL_M / 1e6
    gpkg = run_out / "isochrones.gpkg"
    bands = pyogrio.read_dataframe(gpkg, layer="bands")
    assert list(bands["threshold_ms"]) == case.thresholds_ms
    for thr, area in zip(bands["threshold_ms"], bands["area_km2"], strict=True):
        assert area == pytest.approx((lat <= thr * 1000.0).sum() * cell_km2, rel=1e-9), thr
    areas = pyogrio.read_dataframe(gpkg, layer="service_areas")
    got = dict(zip(areas["site_id"], areas["area_km2"], strict=True))
    for s, sid in enumerate(("A", "B")):
        want = ((site == s) & (lat <= case.budget_us)).sum() * cell_km2
        assert got[sid] == pytest.approx(want, rel=1e-9), sid
    keys = pyogrio.read_dataframe(gpkg, layer="key_sites")
    want_status = _hand_status(case.metro, "key_sites", case.budget_us)
    assert list(keys["status"]) == list(want_status)
    sites = pyogrio.read_dataframe(gpkg, layer="sites")
    lat_k, site_k = _hand(case.metro, "key_sites")
    for s in (0, 1):
        assert (
            sites["served_key_sites"].iloc[s] == ((site_k == s) & (lat_k <= case.budget_us)).sum()
        )
    coverage = pd.read_csv(run_out / "coverage.csv")
    got_cov = coverage.set_index(["scope", "name", "basis", "threshold_ms"]).sort_index()
    want = _hand_rows(case.metro, case.thresholds_ms)
    np.testing.assert_allclose(got_cov["covered"], want["covered"], rtol=1e-9)


def test_map_heat_counts_the_people_beyond_the_budget(run: RunResult, case: Case) -> None:
    """The map's heat layer: one point per 100 m cell holding people beyond the budget."""
    lat, _ = _hand(case.metro, "population")
    sums = _weight(case.metro, "population")[lat > case.budget_us]  # one pixel per cell
    top = float(np.percentile(sums, 99))
    weight = np.round(np.minimum(sums / top, 1.0), 2)
    heat = _uncovered_population(run, cell_m=CELL_M, precision=7)
    assert heat is not None
    points, scale_top = heat
    assert scale_top == top  # the heat scale's top: the 99th-percentile cell's people
    assert sorted(p[2] for p in points) == sorted(weight[weight >= 0.01])


def test_map_slider_counts_the_samples_on_the_budget(case: Case) -> None:
    """The map's per-year shares (the workbench): samples exactly at the budget are covered."""
    from latcircle.analysis.workbench import year_states

    (state,) = year_states(case.metro, case.scenario, [case.scenario.year])
    on_budget = 0
    for basis in BASES:
        lat, _ = _hand(case.metro, basis)
        covered = _hand_status(case.metro, basis, case.budget_us) == "covered"
        on_budget += int((covered & (lat == case.budget_us)).sum())
        want = float(_weight(case.metro, basis)[covered].sum())
        assert state.covered[basis][-1] == pytest.approx(want, rel=1e-12), basis
        assert state.count[basis][-1] == covered.sum(), basis
    assert on_budget > 0  # the case puts samples exactly on the budget


def test_one_ulp_under_the_budget_leaves_the_ties_out(case: Case) -> None:
    """The samples ON the budget are covered at it and not at the float just below it."""
    below_us = float(np.nextafter(case.budget_us, -np.inf))
    below_ms = smallest_budget_ms(below_us)
    assert below_ms * 1000.0 == below_us  # an exact budget for these samples
    table = coverage_table(
        [case.scenario.evaluations[b] for b in BASES],
        thresholds_ms=[below_ms, case.budget_ms],
        district_names=case.metro.district_names,
    )
    metro = table[table["scope"] == "metro"].set_index(["basis", "threshold_ms"])
    ties = 0
    for basis in BASES:
        lat, _ = _hand(case.metro, basis)
        w = _weight(case.metro, basis)
        on = w[lat == case.budget_us].sum()
        ties += int(on > 0)
        at = metro.loc[(basis, case.budget_ms), "covered"]
        under = metro.loc[(basis, below_ms), "covered"]
        assert at == pytest.approx(w[lat <= case.budget_us].sum(), rel=1e-12), basis
        assert at - under == pytest.approx(on, rel=1e-9, abs=1e-12), basis
        share = case.scenario.share(basis, threshold_ms=below_ms)
        assert share == pytest.approx(w[lat <= below_us].sum() / w.sum(), rel=1e-12), basis
        status = case.scenario.evaluations[basis].status(below_ms)
        assert not (status[lat == case.budget_us] == "covered").any(), basis
    assert ties >= 1


def test_an_access_spur_counts_a_point_exactly_at_the_budget(exact: Case) -> None:
    """The planner's fibre spur (docs/plan.md): ``L(q) + k·r·(along + drop)`` at the budget."""
    import geopandas as gpd
    import shapely

    from latcircle.analysis.plan import spur_hits

    metro = exact.metro
    # q = (400, 0) on the road: from site A (x = 70, S = 20 µs) L(q) = 100 + 20 + 330 = 450 µs.
    loc = metro.locator.locate(np.array([X0 + 400.0]), np.array([Y0]), max_drop_m=MAX_DROP_M)
    spurs = gpd.GeoDataFrame(
        {"q_edge": loc.edge, "q_t": loc.t},
        geometry=[shapely.LineString([(X0 + 400.0, Y0), (X0 + 400.0, Y0 + 1000.0)])],
        crs=metro.inputs.crs,
    )
    # Along the spur, 550 m: 450 + 550 = 1000 µs, exactly the budget; 551 m: 1 µs over.
    x = np.array([X0 + 400.0, X0 + 400.0])
    y = np.array([Y0 + 550.0, Y0 + 551.0])
    hits = spur_hits(metro, exact.scenario.field, spurs, x, y, budget_ms=exact.budget_ms)
    assert [h.tolist() for h in hits] == [[0]]


# --- the map's what-if panel (analysis.workbench): samples exactly on the budget -------------

#: What-if builds on the road at x = 940 and x = 960 (default device latency 0 µs): a sample
#: at ``(x, y)`` is within the budget of one alone when ``100 + |x − x_b| + |y| ≤ 1000``. K1
#: (950, 0) is exactly at the budget from A and therefore already covered: no build may add
#: it. K2 (one ulp beyond) is too far from A and 110 µs from either build: each adds it.
#: No sample lies within 10 µs of a build's budget (pixel and key-site offsets from 940 and
#: 960 end in 10 or 90 m), so the centimetre the WGS84 round trip moves a build changes
#: nothing here.
BUILD_X = (940.0, 960.0)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    import pyproj

    to_wgs84 = pyproj.Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def test_whatif_groups_leave_the_samples_on_the_budget_out(exact: Case) -> None:
    """A build adds only samples uncovered before it: K1 and the pixels ON the budget are not."""
    from latcircle.analysis.workbench import whatif_sets, year_states

    metro = exact.metro
    (state,) = year_states(metro, exact.scenario, [exact.scenario.year])
    lonlat = [_lonlat(x, 0.0) for x in BUILD_X]
    builds = pd.DataFrame({"lon": [p[0] for p in lonlat], "lat": [p[1] for p in lonlat]})
    groups = whatif_sets(metro, [state], builds)[state.key]
    # Key sites: only K2 (West), covered by both builds; K1 on the budget is no group.
    keys = groups["key_sites"]
    i_west, i_east = (metro.district_names.index(n) for n in ("West", "East"))
    assert keys.weight.tolist() == [1.0] and keys.count.tolist() == [1]
    assert keys.district.tolist() == [i_west] and [b.tolist() for b in keys.builds] == [[0, 1]]
    # Population: pixels beyond the budget (with access: every row is within the max drop)
    # that a build covers, per district, by the hand formula.
    lat, _ = _hand(metro, "population")
    x, y = _xy(metro, "population")
    w = _weight(metro, "population")
    west = x < 1000.0
    before = lat > BUDGET_US
    on_budget = (lat == BUDGET_US) & (np.abs(x - 950.0) + np.abs(y) <= 900.0)
    assert on_budget.any()  # pixels a build reaches that sit exactly on the budget already
    pop = groups["population"]
    for d, mask in ((i_west, west), (i_east, ~west)):
        by_build = [100.0 + np.abs(x - xb) + np.abs(y) <= BUDGET_US for xb in BUILD_X]
        want = w[mask & before & (by_build[0] | by_build[1])].sum()
        assert pop.weight[pop.district == d].sum() == pytest.approx(want, rel=1e-12), d
        assert want > 0 or d == i_east


def test_candidate_ranking_leaves_the_samples_on_the_budget_out(exact: Case) -> None:
    """Two candidates tied at one key site each (K2), ranked by id; one adding nothing left out.

    K1 lies exactly on the budget from A: already covered, it adds to no candidate's gain
    (each of the two covers it at 110 µs). The candidate at x = 20 reaches neither K1 nor K2
    (100 + 930 = 1030 µs) nor any other uncovered key site: it adds nothing and is left out.
    """
    import geopandas as gpd
    import shapely

    from latcircle.analysis.workbench import rank_candidates, year_states

    metro = exact.metro
    states = year_states(metro, exact.scenario, [exact.scenario.year])
    pts = [(960.0, "c2"), (20.0, "c0"), (940.0, "c1")]
    candidates = gpd.GeoDataFrame(
        {"build_id": [b for _, b in pts], "name": [f"n{b}" for _, b in pts]},
        geometry=[shapely.Point(X0 + x, Y0) for x, _ in pts],
        crs=metro.inputs.crs,
    )
    table = rank_candidates(metro, states, candidates, count=10)
    assert table["build_id"].tolist() == ["c1", "c2"]  # the tie broken by id
    assert table["gain"].tolist() == [1.0, 1.0]  # K2 alone, on the judged basis (key sites)
    assert table["later"].tolist() == [0.0, 0.0]


# --- protection (analysis.protection): samples exactly on the budget ------------------------


def test_site_failure_counts_the_samples_on_the_budget(exact: Case) -> None:
    """What rests on one site alone, with K1 (from A) and K5 (from B) exactly at 1 ms.

    By hand (``L = E + S + |x − x_s| + |y|``): K1, K7 covered by A only, K5, K8 by B only;
    their backups: K1 from B 100 + 40 + 940 = 1080 µs, K5 from A 100 + 20 + 1880 + 800 =
    2800 µs, K7 from B 100 + 40 + 1440 = 1580 µs, K8 from A 100 + 20 + 1380 + 100 = 1600 µs.
    """
    from latcircle.analysis.protection import protection

    metro = exact.metro
    found = protection(metro, exact.scenario)
    other = found.sites.other_us["key_sites"]
    assert [other[i] for i in (0, 4, 6, 7)] == [1080.0, 2800.0, 1580.0, 1600.0]
    assert np.isnan(other[[1, 2, 3, 5]]).all()  # not covered: no backup computed
    sites = found.table[found.table["kind"] == "site"].set_index(["basis", "id"])
    for sid in ("A", "B"):
        row = sites.loc[("key_sites", sid)]
        assert (row.covered, row.lost, row.share_after) == (4.0, 2.0, 0.25), sid
    # Population: lost when A (B) fails = covered by A (B) and not by the other site.
    x, y = _xy(metro, "population")
    w = _weight(metro, "population")
    lat_a, _ = hand_latency(x, y, [SITES[0]])
    lat_b, _ = hand_latency(x, y, [SITES[1]])
    assert ((lat_a == BUDGET_US) & (lat_b > BUDGET_US)).any()
    assert ((lat_b == BUDGET_US) & (lat_a > BUDGET_US)).any()
    for sid, mine, theirs in (("A", lat_a, lat_b), ("B", lat_b, lat_a)):
        row = sites.loc[("population", sid)]
        lost = w[(mine <= BUDGET_US) & (theirs > BUDGET_US)].sum()
        assert row.lost == pytest.approx(lost, rel=1e-12), sid
        assert row.share_after == pytest.approx(w[theirs <= BUDGET_US].sum() / w.sum(), rel=1e-12)


def _rerun_without_edge(metro: Metro, edge: int) -> dict[str, np.ndarray]:
    """Latency of every sample on the network without ``edge``, built and solved afresh."""
    import dataclasses

    from latcircle.analysis.coverage import evaluate
    from latcircle.engine.latency import arc_matrix, attach_sites, solve
    from latcircle.engine.locator import Locator

    keep = np.ones(metro.network.n_edges, bool)
    keep[edge] = False
    net = metro.network.subset(keep)
    locator = Locator(net)
    sites = metro.inputs.sites
    att = attach_sites(
        locator,
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(),
        metro.params,
    )
    field = solve(net, att, metro.params, online=None, arcs=arc_matrix(net, metro.params))
    out = {}
    for basis, s in metro.samples.items():
        loc = locator.locate(*s.coordinates(), max_drop_m=metro.params.max_drop_m)
        out[basis] = evaluate(field, dataclasses.replace(s, location=loc)).latency_us
    return out


def test_link_failure_counts_the_samples_on_the_budget(exact: Case) -> None:
    """Each road link's loss against a rerun without it, samples on the budget before and after.

    Cutting the west link (0-640 m) moves site A to the node at 640 m, 570 m away: K1 is then
    120 + 570 + 310 = 1000 µs from it, exactly on the budget again (covered, not lost). Cutting
    the east stub (1920-2000 m) moves K5 and the pixel at (1950, 800), both at 1 ms before.
    """
    import dataclasses

    from latcircle.analysis.protection import protection

    metro = dataclasses.replace(exact.metro, config=exact.config.with_protection(4))
    found = protection(metro, exact.scenario)
    links = found.table[found.table["kind"] == "link"]
    assert links["id"].nunique() == 4  # every road link carries covered demand
    before = {b: exact.scenario.evaluations[b].latency_us for b in BASES}
    for edge_id in links["id"].unique():
        ref = _rerun_without_edge(exact.metro, int(edge_id.split()[1]))
        for basis in ("key_sites", "population"):
            w = _weight(exact.metro, basis)
            row = links[(links["id"] == edge_id) & (links["basis"] == basis)].iloc[0]
            assert row.covered == pytest.approx(w[before[basis] <= BUDGET_US].sum(), rel=1e-12)
            lost = w[before[basis] <= BUDGET_US].sum() - w[ref[basis] <= BUDGET_US].sum()
            assert row.lost == pytest.approx(lost, rel=1e-12, abs=1e-9), (edge_id, basis)
    west = _rerun_without_edge(exact.metro, _edge_at(exact.metro, 300.0))
    assert west["key_sites"][0] == BUDGET_US  # K1, exactly on the budget after the cut


def _edge_at(metro: Metro, x: float) -> int:
    """The road link under the point ``(x, 0)``."""
    loc = metro.locator.locate(np.array([X0 + x]), np.array([Y0]), max_drop_m=MAX_DROP_M)
    return int(loc.edge[0])


def test_map_slider_takes_the_run_bands_with_cells_on_the_budget(
    on_cells: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run year's bands, cells exactly on a threshold included, are not drawn again.

    The slider seeds its shapes with the run's own bands, keyed by the masks of the covered
    rule: a mask made with another rule at the seed would miss cells on the budget, and the
    year's bands would be polygonised a second time.
    """
    from latcircle.analysis import workbench
    from latcircle.analysis.coverage import covered
    from latcircle.analysis.isochrones import bands
    from latcircle.pipeline.city_rasters import scenario_latency_raster

    metro, sc = on_cells.metro, on_cells.scenario
    lat, _ = _hand(metro, "area")
    assert (lat == on_cells.budget_us).any()  # cells exactly on the budget
    raster = scenario_latency_raster(metro, sc)  # the run's own raster, as its isochrones make it
    thresholds = sorted(metro.config.thresholds_ms)
    run_bands = bands(
        metro.grid,
        raster,
        thresholds_ms=thresholds,
        boundary=metro.inputs.boundary,
        crs=metro.inputs.crs,
    )
    masks = [covered(raster, budget_ms=thr) & metro.grid.inside for thr in thresholds]
    drawn: list[np.ndarray] = []
    real = workbench.mask_polygons

    def recording(grid: object, mask: np.ndarray) -> object:
        drawn.append(mask.copy())
        return real(grid, mask)

    monkeypatch.setattr(workbench, "mask_polygons", recording)
    workbench.year_states(metro, sc, [sc.year], run_bands=run_bands)
    assert drawn  # the causes are still drawn: the patch is in effect
    assert not any(np.array_equal(d, m) for d in drawn for m in masks)


def test_map_slider_band_masks_are_the_hand_covered_cells(on_cells: Case) -> None:
    """The slider's band masks (one level raster per year's codes): every cell within each band.

    Against the hand latency of each grid cell, with cells exactly on a threshold (covered),
    and nothing outside the metro.
    """
    from latcircle.analysis import workbench

    metro, sc = on_cells.metro, on_cells.scenario
    lat, _ = _hand(metro, "area")
    thresholds = sorted(metro.config.thresholds_ms)
    assert (lat == on_cells.budget_us).any()  # cells exactly on the budget
    levels = workbench._Levels(metro, thresholds)
    for i, thr in enumerate(thresholds):
        want = np.zeros(metro.grid.shape, dtype=bool)
        want[metro.grid.inside] = lat <= thr * 1000.0  # row-major, as the grid's centres
        got = levels.mask(workbench.year_codes(metro, sc), i)  # the slider reads codes
        assert np.array_equal(got, want), thr
        assert got.any() and not got[~metro.grid.inside].any()
