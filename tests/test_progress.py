"""Progress toward the targets, the interconnect tier and the uncovered clusters.

Hand-built cities in UTM 50N (EPSG:32650) with a latency model of exactly 1 µs per metre
(``k_us_per_km: 1000``, no equipment or device latency, fibre route factor 1), so that every
share, status and gap below is known by hand.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from shapely.geometry import LineString, box

from latcircle.analysis.clusters import CLUSTER_COLUMNS, uncovered_clusters
from latcircle.analysis.interconnect import INTERCONNECT_COLUMNS, interconnect_table
from latcircle.analysis.metro import Metro, prepare
from latcircle.analysis.progress import (
    MET_TOLERANCE,
    PROGRESS_COLUMNS,
    STATUS_RULE,
    meets,
    progress_table,
    resolve_basis,
    year_range,
)
from latcircle.config import CityConfig, Target, load_config
from latcircle.engine.latency import SiteAttachment, arc_matrix, solve
from latcircle.engine.locator import PointLocation
from latcircle.errors import InputError
from latcircle.run import RunResult

X0, Y0 = 500_000.0, 3_400_000.0  # UTM 50N, near lon 117 E, lat 30.7 N
CRS = "EPSG:32650"
EXACT_MODEL = {
    "k_us_per_km": 1000.0,
    "equipment_us": 0.0,
    "site_device_us": 0.0,
    "route_factor": 1.0,
}

# --------------------------------------------------------------------------- city builder


def write_city(
    folder: Path,
    *,
    boundary: tuple[float, float, float, float],
    roads: list[list[tuple[float, float]]],
    sites: list[dict[str, Any]],
    key_sites: list[tuple[float, float]] | None = None,
    population: tuple[np.ndarray, float, float] | None = None,
    model: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    city_id: str = "test",
) -> CityConfig:
    """Write a city's files (coordinates relative to X0, Y0) and load its config."""
    folder.mkdir(parents=True, exist_ok=True)
    xmin, ymin, xmax, ymax = boundary
    gpd.GeoDataFrame(
        {"name": ["city"]}, geometry=[box(X0 + xmin, Y0 + ymin, X0 + xmax, Y0 + ymax)], crs=CRS
    ).to_file(folder / "boundary.gpkg", layer="boundary")
    lines = [LineString([(X0 + x, Y0 + y) for x, y in road]) for road in roads]
    gpd.GeoDataFrame({"kind": ["fibre"] * len(lines)}, geometry=lines, crs=CRS).to_file(
        folder / "network.gpkg", layer="network"
    )
    rows = []
    for i, s in enumerate(sites):
        row = {
            "id": s.get("id", f"S{i + 1}"),
            "tier": s.get("tier", "medium"),
            "online_year": s.get("year", ""),
            "x": X0 + s["x"],
            "y": Y0 + s.get("y", 0.0),
        }
        if "device" in s:
            row["device_latency_us"] = s["device"]
        rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "sites.csv", index=False)
    cfg: dict[str, Any] = {
        "id": city_id,
        "name": city_id.title(),
        "boundary": {"path": "boundary.gpkg"},
        "network": {"path": "network.gpkg", "kind": "fibre"},
        "sites": {"path": "sites.csv", "crs": CRS, "lon": "x", "lat": "y"},
        "model": {"preset": "optical", **(model if model is not None else EXACT_MODEL)},
        "grid": {"cell_m": 100},
    }
    if key_sites is not None:
        pd.DataFrame(
            {
                "name": [f"K{i + 1}" for i in range(len(key_sites))],
                "x": [X0 + x for x, _ in key_sites],
                "y": [Y0 + y for _, y in key_sites],
            }
        ).to_csv(folder / "key_sites.csv", index=False)
        cfg["key_sites"] = {
            "path": "key_sites.csv",
            "crs": CRS,
            "lon": "x",
            "lat": "y",
            "category_field": None,
        }
    if population is not None:
        people, left, top = population
        with rasterio.open(
            folder / "population.tif",
            "w",
            driver="GTiff",
            width=people.shape[1],
            height=people.shape[0],
            count=1,
            dtype="float64",
            crs=CRS,
            transform=from_origin(X0 + left, Y0 + top, 100.0, 100.0),
        ) as dst:
            dst.write(people, 1)
        cfg["population"] = {"path": "population.tif"}
    cfg.update(extra or {})
    path = folder / f"{city_id}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return load_config(path)


# The straight road: 10 km along y = 0, a 100 m wide metro around it, 20 key sites every
# 500 m (250, 750, ..., 9750), 100 population pixels with 1, 2, ..., 100 people.
ROAD = [[(0.0, 0.0), (10_000.0, 0.0)]]
ROAD_BOUNDARY = (0.0, -50.0, 10_000.0, 50.0)
ROAD_KEY_SITES = [(250.0 + 500.0 * i, 0.0) for i in range(20)]
ROAD_PEOPLE = np.arange(1.0, 101.0)[None, :]
#: Sites: each covers 1,000 m either side along the road (1 µs/m, 1 ms budget).
PLAN = [
    {"x": 1000.0, "year": 2025, "tier": "large"},
    {"x": 4000.0, "year": 2026, "tier": "medium"},
    {"x": 7000.0, "year": 2027, "tier": "medium"},
    {"x": 2500.0, "year": 2027, "tier": "edge"},
]


def road_city(folder: Path, sites: list[dict[str, Any]], **kw: Any) -> CityConfig:
    kw.setdefault("key_sites", ROAD_KEY_SITES)
    kw.setdefault("population", (ROAD_PEOPLE, 0.0, 50.0))
    return write_city(folder, boundary=ROAD_BOUNDARY, roads=ROAD, sites=sites, **kw)


def covered_by(xs: np.ndarray, site_x: list[float]) -> np.ndarray:
    """Points on the road within 1,000 m of a site (never a tie at these positions)."""
    if not site_x:
        return np.zeros(len(xs), bool)
    return np.min(np.abs(xs[:, None] - np.asarray(site_x)[None, :]), axis=1) <= 1000.0


def expected_shares(site_x: list[float]) -> dict[str, float]:
    ks = np.array([x for x, _ in ROAD_KEY_SITES])
    cells = 50.0 + 100.0 * np.arange(100)
    people = ROAD_PEOPLE[0]
    return {
        "key_sites": covered_by(ks, site_x).mean(),
        "population": people[covered_by(cells, site_x)].sum() / people.sum(),
        "area": covered_by(cells, site_x).mean(),
    }


@pytest.fixture(scope="module")
def road_metro(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    return prepare(road_city(tmp_path_factory.mktemp("road"), PLAN))


# --------------------------------------------------------------------------- progress


def judged(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["judged"]].set_index("year")


def test_meets_is_inclusive_to_within_the_tolerance_and_never_for_nan() -> None:
    target = 0.7
    edge = 0.7 - 1e-9  # the last share that meets: the target less the 1e-9 slack
    below = np.nextafter(edge, -np.inf)  # one float under it
    assert MET_TOLERANCE == 1e-9
    assert meets(0.7, target) is True  # exactly at the target
    assert meets(7 / 10, target) is True
    assert meets(np.nextafter(0.7, 0.0), target) is True  # rounding under: the slack's job
    assert meets(edge, target) is True
    assert meets(below, target) is False
    assert meets(0.69, target) is False
    assert meets(float("nan"), target) is False
    assert meets(1.0, 1.0) is True and meets(0.0, 0.0) is True
    # Arrays: elementwise, against one target or a target each; NaN never meets.
    shares = np.array([0.7, edge, below, np.nan, 1.0, 0.0])
    np.testing.assert_array_equal(meets(shares, target), [True, True, False, False, True, False])
    np.testing.assert_array_equal(
        meets(np.array([0.7, 0.74, 0.75, np.nan]), np.array([0.7, 0.75, 0.75, 0.0])),
        [True, False, True, False],
    )
    assert meets(np.zeros(0), target).shape == (0,)


def test_year_range_runs_from_first_online_year_to_last_target(road_metro: Metro) -> None:
    assert year_range(road_metro) == [2025, 2026, 2027, 2028]
    late = [Target(year=2030, share=0.5)]
    assert year_range(road_metro, late) == [2025, 2026, 2027, 2028, 2029, 2030]
    assert year_range(road_metro, []) == [2025, 2026, 2027]


def test_year_range_without_online_years_covers_the_target_years(tmp_path: Path) -> None:
    metro = prepare(road_city(tmp_path, [{"x": 1000.0}]))
    assert year_range(metro) == [2027, 2028]
    table = progress_table(metro)
    assert list(judged(table)["share"]) == [0.2, 0.2]


def test_progress_on_track_then_met_then_behind(road_metro: Metro) -> None:
    table = progress_table(road_metro)
    assert list(table.columns) == PROGRESS_COLUMNS
    assert len(table) == 4 * 3  # years x bases
    ks = judged(table)
    assert (ks["basis"] == "key_sites").all()  # "auto" judges on key sites when present
    # 2025: 4 of 20 key sites; 2026: 8; 2027 and 2028: 14 (70 %).
    assert list(ks["share"]) == [0.2, 0.4, 0.7, 0.7]
    assert list(ks["covered"]) == [4.0, 8.0, 14.0, 14.0]
    assert list(ks["sites_online"]) == [1, 2, 4, 4]
    assert list(ks["target_year"]) == [2027, 2027, 2027, 2028]
    assert list(ks["target_share"]) == [0.70, 0.70, 0.70, 0.75]
    # The sites planned online by 2027 reach 70 %: the early years are on track.
    assert list(ks["planned_share"]) == [0.7, 0.7, 0.7, 0.7]
    assert list(ks["status"]) == ["on track", "on track", "met", "behind"]
    # Gaps in key sites: 14 - 4, 14 - 8, 0, then 15 - 14 against 75 %.
    assert list(ks["gap"]) == [10.0, 6.0, 0.0, 1.0]


def test_progress_other_bases_exact(road_metro: Metro) -> None:
    table = progress_table(road_metro)
    online = {2025: [1000.0], 2026: [1000.0, 4000.0], 2027: [1000.0, 4000.0, 7000.0, 2500.0]}
    online[2028] = online[2027]
    for row in table.itertuples():
        expected = expected_shares(online[row.year])[row.basis]
        assert row.share == pytest.approx(expected, abs=1e-12), (row.year, row.basis)
    area = table[table["basis"] == "area"].set_index("year")
    assert list(area["unit"]) == ["km2"] * 4
    assert area.loc[2025, "total"] == pytest.approx(1.0)  # 100 cells of 0.01 km²
    # Not judged, but shown against the same target: 0.2 km² covered, 0.7 km² needed.
    assert area.loc[2025, "gap"] == pytest.approx(0.5)
    assert not area["judged"].any()
    pop = table[table["basis"] == "population"].set_index("year")
    # Pixels 1..20 (1..20 people) covered in 2025: 210 of 5,050; 70 % is 3,535 people.
    assert pop.loc[2025, "covered"] == 210.0
    assert pop.loc[2025, "gap"] == 3535.0 - 210.0


def test_progress_behind_when_the_plan_falls_short(tmp_path: Path) -> None:
    sites = [{"x": 1000.0, "year": 2025}, {"x": 4000.0, "year": 2027}]
    metro = prepare(road_city(tmp_path, sites))
    ks = judged(progress_table(metro))
    assert list(ks["share"]) == [0.2, 0.2, 0.4, 0.4]
    assert list(ks["planned_share"]) == [0.4, 0.4, 0.4, 0.4]
    assert list(ks["status"]) == ["behind"] * 4
    assert list(ks["gap"]) == [10.0, 10.0, 6.0, 7.0]


def test_progress_met_early_and_behind_the_later_target(tmp_path: Path) -> None:
    sites = [{**s, "year": 2025} for s in PLAN]
    metro = prepare(road_city(tmp_path, sites))
    ks = judged(progress_table(metro, years=[2025, 2026, 2027, 2028]))
    assert list(ks["status"]) == ["met", "met", "met", "behind"]
    assert list(ks["gap"]) == [0.0, 0.0, 0.0, 1.0]


def test_auto_basis_is_population_without_key_sites(tmp_path: Path) -> None:
    metro = prepare(road_city(tmp_path, PLAN, key_sites=None))
    assert resolve_basis(Target(year=2027, share=0.7), metro.samples) == "population"
    ks = judged(progress_table(metro))
    assert (ks["basis"] == "population").all()
    # 2027: pixels 1-50 and 61-80 covered: 1,275 + 1,410 = 2,685 of 5,050 (53.2 %).
    assert ks.loc[2027, "covered"] == 2685.0
    assert list(ks["status"]) == ["behind"] * 4


def test_explicit_targets_on_area_and_threshold(tmp_path: Path) -> None:
    targets = [
        {"year": 2026, "share": 0.4, "basis": "area", "source": "test A"},
        {"year": 2028, "share": 0.5, "basis": "area", "threshold_ms": 0.5, "source": "test B"},
    ]
    metro = prepare(road_city(tmp_path, PLAN, extra={"targets": targets}))
    table = progress_table(metro)
    ks = judged(table)
    assert (ks["basis"] == "area").all()
    assert list(ks["threshold_ms"]) == [1.0, 1.0, 0.5, 0.5]
    # At 0.5 ms each site covers 500 m either side: 4 sites x 10 cells, no overlap (40 %).
    assert list(ks["share"]) == pytest.approx([0.2, 0.4, 0.4, 0.4])
    assert list(ks["status"]) == ["on track", "met", "behind", "behind"]
    assert list(ks["gap"]) == pytest.approx([0.2, 0.0, 0.1, 0.1])
    assert list(ks["target_year"]) == [2026, 2026, 2028, 2028]


def test_target_on_a_missing_basis_is_an_input_error(tmp_path: Path) -> None:
    metro = prepare(road_city(tmp_path, PLAN, key_sites=None))
    with pytest.raises(InputError, match=r"test\.yaml: targets\.basis: .*no key_sites input"):
        progress_table(metro, targets=[Target(year=2027, share=0.7, basis="key_sites")])


def test_no_targets_gives_shares_without_status(road_metro: Metro) -> None:
    table = progress_table(road_metro, targets=[])
    assert list(table["year"].unique()) == [2025, 2026, 2027]
    assert (table["status"] == "").all()
    assert table["target_share"].isna().all()


def test_years_with_the_same_sites_share_one_solve(road_metro: Metro) -> None:
    calls: list[int | None] = []
    original = Metro.scenario

    class Counting(Metro):
        def scenario(self, **kw: Any) -> Any:
            calls.append(kw.get("year"))
            return original(self, **kw)

    counting = Counting(**{f.name: getattr(road_metro, f.name) for f in dataclasses.fields(Metro)})
    progress_table(counting)
    assert sorted(calls) == [2025, 2026, 2027]  # 2028 has the 2027 sites
    calls.clear()
    progress_table(counting, reuse=[road_metro.scenario(year=2025)])
    assert sorted(calls) == [2026, 2027]


# --------------------------------------------------------------------------- property


def with_sites(metro: Metro, idx: list[int], years: list[int]) -> Metro:
    """The metro with only the candidate sites ``idx``, online in ``years``."""
    sel = np.asarray(idx, dtype=np.int64)
    sites = metro.inputs.sites.iloc[sel].reset_index(drop=True).copy()
    sites["online_year"] = pd.array(years, dtype="Int64")
    loc = metro.attachment.location
    attachment = SiteAttachment(
        location=PointLocation(
            edge=loc.edge[sel], t=loc.t[sel], drop=loc.drop[sel], max_drop_m=loc.max_drop_m
        ),
        offset_us=metro.attachment.offset_us[sel],
    )
    inputs = dataclasses.replace(metro.inputs, sites=sites)
    return dataclasses.replace(metro, inputs=inputs, attachment=attachment)


@pytest.fixture(scope="module")
def grid_metro(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    """A 3 km x 3 km street grid, 8 candidate sites with their own device latency."""
    rng = np.random.default_rng(3)
    roads = [[(0.0, y), (3000.0, y)] for y in (250.0, 1250.0, 2250.0)]
    roads += [[(x, 0.0), (x, 3000.0)] for x in (400.0, 1500.0, 2600.0)]
    candidates = [
        {"x": float(x), "y": float(y), "device": float(d)}
        for x, y, d in zip(
            rng.uniform(0, 3000, 8), rng.uniform(0, 3000, 8), rng.uniform(0, 300, 8), strict=True
        )
    ]
    key_sites = [(float(x), float(y)) for x, y in rng.uniform(0, 3000, (25, 2))]
    people = rng.integers(0, 50, (30, 30)).astype(float)
    cfg = write_city(
        tmp_path_factory.mktemp("grid"),
        boundary=(0.0, 0.0, 3000.0, 3000.0),
        roads=roads,
        sites=candidates,
        key_sites=key_sites,
        population=(people, 0.0, 3000.0),
        model={**EXACT_MODEL, "max_drop_m": 600.0},
    )
    return prepare(cfg)


YEARS = [2024, 2025, 2026, 2027, 2028]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=st.lists(
        st.tuples(st.integers(0, 7), st.sampled_from(YEARS)), max_size=5, unique_by=lambda p: p[0]
    ),
    new=st.tuples(st.integers(0, 7), st.sampled_from(YEARS)),
)
def test_adding_a_site_never_lowers_a_later_share(
    grid_metro: Metro, plan: list[tuple[int, int]], new: tuple[int, int]
) -> None:
    plan = [p for p in plan if p[0] != new[0]]
    before = with_sites(grid_metro, [i for i, _ in plan], [y for _, y in plan])
    after = with_sites(grid_metro, [i for i, _ in plan] + [new[0]], [y for _, y in plan] + [new[1]])
    a = progress_table(before, years=YEARS).set_index(["year", "basis"])["share"]
    b = progress_table(after, years=YEARS).set_index(["year", "basis"])["share"]
    for (year, basis), share in a.items():
        if year >= new[1]:
            assert b[(year, basis)] >= share - 1e-12, (year, basis)
        else:
            assert b[(year, basis)] == share, (year, basis)


# --------------------------------------------------------------------------- interconnect


#: The tangle's route factor: not 1, so that a dropped ``r`` changes every latency.
TANGLE_ROUTE_FACTOR = 1.3


def brute_force_pairs(metro: Metro, idx: np.ndarray) -> np.ndarray:
    """Pair latency on the explicitly split network, by networkx Dijkstra.

    Independent of the engine's site attachment: each site's nearest edge, its position
    along it and its drop come from shapely (``distance`` / ``project``) on the edge
    geometry; its offset is the device latency from the sites file plus ``k·r·drop`` with
    ``r`` the test's own route factor.
    """
    net, p = metro.network, metro.params
    kr = p.k_us_per_m * TANGLE_ROUTE_FACTOR
    sites = metro.inputs.sites
    where: dict[int, tuple[int, float, float]] = {}  # site -> (edge, t, drop)
    for s in idx:
        pt = sites.geometry.iloc[int(s)]
        d = shapely.distance(net.geometry, pt)
        e = int(np.argmin(d))
        if d[e] <= p.max_drop_m:
            where[int(s)] = (e, float(shapely.line_locate_point(net.geometry[e], pt)), float(d[e]))
    offset = {
        s: float(sites["device_latency_us"].iloc[s]) + kr * drop
        for s, (_, _, drop) in where.items()
    }
    g = nx.DiGraph()
    on_edge: dict[int, list[tuple[float, int]]] = {}
    for s, (e, t, _) in where.items():
        on_edge.setdefault(e, []).append((t, s))
    for e in range(net.n_edges):
        stops = [(0.0, ("n", int(net.u[e])))]
        stops += [(t, ("s", s)) for t, s in sorted(on_edge.get(e, []))]
        stops += [(float(net.length[e]), ("n", int(net.v[e])))]
        for (t0, a), (t1, b) in itertools.pairwise(stops):
            w = kr * (t1 - t0)
            da = net.node_device_us[a[1]] if a[0] == "n" else 0.0
            db = net.node_device_us[b[1]] if b[0] == "n" else 0.0
            for tail, head, d in ((a, b, db), (b, a, da)):
                if not g.has_edge(tail, head) or g[tail][head]["weight"] > w + d:
                    g.add_edge(tail, head, weight=w + d)
    m = len(idx)
    out = np.full((m, m), np.inf)
    for i, a in enumerate(idx):
        if int(a) not in where:
            continue
        dist = nx.single_source_dijkstra_path_length(g, ("s", int(a)))
        for j, b in enumerate(idx):
            if int(b) in where and ("s", int(b)) in dist:
                out[i, j] = p.equipment_us + offset[int(a)] + dist[("s", int(b))] + offset[int(b)]
    return out


@pytest.fixture(scope="module")
def tangle_metro(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    """A random tangle of streets in two components, sites on, beside and off the network."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 4000, (14, 2))
    roads = []
    for i in range(14):
        for j in rng.choice(14, 2, replace=False):
            if i != j:
                mid = (xy[i] + xy[j]) / 2 + rng.normal(0, 150, 2)  # bent: length > chord
                roads.append([tuple(xy[i]), tuple(mid), tuple(xy[j])])
    roads.append([(6000.0, 0.0), (7000.0, 500.0)])  # a separate component
    roads.append([(6200.0, 1500.0), (6900.0, 1500.0)])  # and another
    sites = [
        {
            "x": float(x),
            "y": float(y),
            "device": float(d),
            "tier": ["large", "medium", "edge"][k % 3],
        }
        for k, (x, y, d) in enumerate(
            zip(
                rng.uniform(0, 4000, 12),
                rng.uniform(0, 4000, 12),
                rng.uniform(0, 100, 12),
                strict=True,
            )
        )
    ]
    a, b = np.array(roads[0][0]), np.array(roads[0][1])
    for f in (0.3, 0.6):  # two sites on the same edge
        sites.append(
            {"x": float(a[0] + f * (b - a)[0]), "y": float(a[1] + f * (b - a)[1]), "tier": "large"}
        )
    sites.append({"x": 6300.0, "y": 160.0, "tier": "medium"})
    sites.append({"x": 6500.0, "y": 1500.0, "tier": "large"})
    sites.append({"x": 20_000.0, "y": 20_000.0, "tier": "large"})  # beyond the max drop
    cfg = write_city(
        tmp_path_factory.mktemp("tangle"),
        boundary=(-500.0, -500.0, 7500.0, 4500.0),
        roads=roads,
        sites=sites,
        model={"preset": "optical", "route_factor": TANGLE_ROUTE_FACTOR},
    )
    metro = prepare(cfg)
    assert metro.network.stats["components"] >= 3
    edge = metro.attachment.location.edge
    assert edge[12] == edge[13] >= 0 and edge[16] < 0
    return metro


def test_interconnect_matches_brute_force(tangle_metro: Metro) -> None:
    table = interconnect_table(tangle_metro, tiers=("large", "medium", "edge"))
    assert list(table.columns) == INTERCONNECT_COLUMNS
    idx = np.arange(len(tangle_metro.inputs.sites))
    expected = brute_force_pairs(tangle_metro, idx)
    ids = list(tangle_metro.inputs.sites["site_id"])
    got = np.full_like(expected, np.inf)
    for r in table.itertuples():
        i, j = ids.index(r.site_a), ids.index(r.site_b)
        got[i, j] = got[j, i] = r.latency_us if r.reachable else np.inf
    upper = np.triu_indices(len(ids), k=1)
    np.testing.assert_allclose(got[upper], expected[upper], atol=1e-6)
    assert np.isinf(expected[upper]).any() and np.isfinite(expected[upper]).any()
    assert (table.loc[~table["reachable"], "over_budget"]).all()
    assert table["latency_us"].isna().sum() == (~table["reachable"]).sum()


def test_interconnect_with_node_device_latency(tangle_metro: Metro) -> None:
    rng = np.random.default_rng(5)
    net = dataclasses.replace(
        tangle_metro.network, node_device_us=rng.uniform(0, 50, tangle_metro.network.n_nodes)
    )
    arcs = arc_matrix(net, tangle_metro.params)
    metro = dataclasses.replace(tangle_metro, network=net, arcs=arcs)
    table = interconnect_table(metro, tiers=("large", "medium", "edge"))
    expected = brute_force_pairs(metro, np.arange(len(metro.inputs.sites)))
    ids = list(metro.inputs.sites["site_id"])
    for r in table.itertuples():
        want = expected[ids.index(r.site_a), ids.index(r.site_b)]
        if np.isfinite(want):
            assert r.latency_us == pytest.approx(want, abs=1e-6)
        else:
            assert not r.reachable


def test_interconnect_agrees_with_the_latency_field(tangle_metro: Metro) -> None:
    """Latency from site a, evaluated at site b, plus b's own device: the same number."""
    table = interconnect_table(tangle_metro).set_index(["site_a", "site_b"])
    sites = tangle_metro.inputs.sites
    ids = list(sites["site_id"])
    for (a, b), row in table.iterrows():
        if not row["reachable"]:
            continue
        i, j = ids.index(a), ids.index(b)
        only = np.zeros(len(ids), bool)
        only[i] = True
        lat_field = solve(
            tangle_metro.network, tangle_metro.attachment, tangle_metro.params, online=only
        )
        loc = tangle_metro.attachment.location
        at_b = PointLocation(
            edge=loc.edge[[j]], t=loc.t[[j]], drop=loc.drop[[j]], max_drop_m=loc.max_drop_m
        )
        latency, _ = lat_field.at(at_b)
        assert row["latency_us"] == pytest.approx(
            latency[0] + sites["device_latency_us"].iloc[j], abs=1e-6
        )


def test_interconnect_tiers_year_and_budget(road_metro: Metro) -> None:
    table = interconnect_table(road_metro)  # large and medium: S1, S2, S3 (S4 is edge)
    assert list(zip(table["site_a"], table["site_b"], strict=True)) == [
        ("S1", "S2"),
        ("S1", "S3"),
        ("S2", "S3"),
    ]
    # 1 µs per metre along the road, no device or equipment latency.
    assert list(table["latency_us"]) == pytest.approx([3000.0, 6000.0, 3000.0])
    assert list(table["over_budget"]) == [True, True, True]
    assert list(table["online_year"]) == [2026, 2027, 2027]
    assert list(interconnect_table(road_metro, year=2026)["site_b"]) == ["S2"]
    assert interconnect_table(road_metro, year=2025).empty
    wide = interconnect_table(road_metro, budget_ms=5.0)
    assert list(wide["over_budget"]) == [False, True, False]


# --------------------------------------------------------------------------- clusters


@pytest.fixture(scope="module")
def band_metro(tmp_path_factory: pytest.TempPathFactory) -> Metro:
    """A 4 km x 2 km metro, one road at y = 1,200 m, access within 460 m of it.

    No access: 7 rows of cells in the south (280 cells), 3 in the north (120 cells). Sites
    at x = 510 and 3,510 m on the road leave a too-far gap in the middle.
    """
    key_sites = [
        (1020.0, 310.0),
        (2020.0, 310.0),
        (3020.0, 310.0),  # south, no access
        (1020.0, 1860.0),  # north, no access
        (2020.0, 1210.0),
        (2020.0, 1310.0),  # middle, too far
        (620.0, 1210.0),
    ]  # covered
    cfg = write_city(
        tmp_path_factory.mktemp("band"),
        boundary=(0.0, 0.0, 4000.0, 2000.0),
        roads=[[(0.0, 1200.0), (4000.0, 1200.0)]],
        sites=[{"x": 510.0, "y": 1200.0, "tier": "large"}, {"x": 3510.0, "y": 1200.0}],
        key_sites=key_sites,
        population=(np.ones((20, 40)), 0.0, 2000.0),
        model={**EXACT_MODEL, "max_drop_m": 460.0},
    )
    return prepare(cfg)


def band_cells() -> tuple[np.ndarray, np.ndarray]:
    x, y = np.meshgrid(50.0 + 100.0 * np.arange(40), 50.0 + 100.0 * np.arange(20))
    return x.ravel(), y.ravel()


def test_clusters_split_by_cause_and_ranked(band_metro: Metro) -> None:
    clusters = uncovered_clusters(band_metro, band_metro.scenario())
    assert list(clusters.columns) == CLUSTER_COLUMNS
    x, y = band_cells()
    drop = np.abs(y - 1200.0)
    lat = np.minimum(np.abs(x - 510.0), np.abs(x - 3510.0)) + drop
    too_far = (drop <= 460.0) & (lat > 1000.0)
    no_access = clusters[clusters["cause"] == "no_access"]
    assert list(no_access["rank"]) == [1, 2]
    assert list(no_access["cells"]) == [280, 120]  # ranked by key sites: 3, then 1
    assert list(no_access["key_sites"]) == [3.0, 1.0]
    assert list(no_access["people"]) == [280.0, 120.0]
    assert list(no_access["area_km2"]) == pytest.approx([2.8, 1.2])
    assert no_access["min_latency_us"].isna().all()
    far = clusters[clusters["cause"] == "too_far"]
    assert len(far) == 1
    assert far["cells"].iloc[0] == too_far.sum()
    assert far["people"].iloc[0] == too_far.sum()
    assert far["key_sites"].iloc[0] == 2.0
    assert far["min_latency_us"].iloc[0] == pytest.approx(lat[too_far].min(), abs=1e-6)
    # Centres: the south band's is its middle; everything lies inside its own outline.
    assert clusters.geometry.area.to_numpy() == pytest.approx(clusters["area_km2"].to_numpy() * 1e6)
    south = clusters[(clusters["cause"] == "no_access") & (clusters["rank"] == 1)]
    centre = gpd.GeoSeries.from_xy(south["lon"], south["lat"], crs=4326).to_crs(CRS).iloc[0]
    assert centre.x - X0 == pytest.approx(2000.0, abs=1e-3)  # mean of columns 50..3950
    assert centre.y - Y0 == pytest.approx(350.0, abs=1e-3)
    assert south.geometry.iloc[0].contains(centre)


def test_clusters_rank_by_area_and_top(band_metro: Metro) -> None:
    scenario = band_metro.scenario()
    top = uncovered_clusters(band_metro, scenario, by="area", top=1)
    assert list(top["cause"]) == ["no_access", "too_far"]
    assert top["cells"].iloc[0] == 280
    # With only the western site online the whole east is too far: one bigger cluster.
    west = band_metro.scenario(online=np.array([True, False]))
    far = uncovered_clusters(band_metro, west)
    far = far[far["cause"] == "too_far"]
    assert len(far) == 1 and far["cells"].iloc[0] > 200


def test_clusters_ring_centre_lies_in_the_cluster(tmp_path: Path) -> None:
    """A ring of no-access cells around a covered core: its centre is moved onto the ring."""
    roads = [[(1000.0, 1000.0), (2000.0, 1000.0)], [(1500.0, 500.0), (1500.0, 1500.0)]]
    cfg = write_city(
        tmp_path,
        boundary=(0.0, 0.0, 3000.0, 2000.0),
        roads=roads,
        sites=[{"x": 1500.0, "y": 1000.0}],
        key_sites=None,
        model={**EXACT_MODEL, "max_drop_m": 300.0},
    )
    metro = prepare(cfg)
    ring = uncovered_clusters(metro, metro.scenario())
    ring = ring[ring["cause"] == "no_access"]
    assert len(ring) == 1
    centre = gpd.GeoSeries.from_xy(ring["lon"], ring["lat"], crs=4326).to_crs(CRS).iloc[0]
    assert ring.geometry.iloc[0].buffer(1e-6).contains(centre)


# --------------------------------------------------------------------------- writing


def test_write_progress_through_the_pipeline(tmp_path: Path) -> None:
    from latcircle.pipeline import run_city, write_progress

    cfg = road_city(tmp_path / "in", PLAN)
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run
        run_city(cfg, out=out, extra_outputs=[write_progress])
        outs.append(out)
    for name in ("progress.csv", "interconnect.csv", "clusters.csv", "progress.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    progress = pd.read_csv(outs[0] / "progress.csv")
    # The uncertainty columns (issue 24, docs/uncertainty.md) come after the progress columns.
    quantiles = ["share_p5", "share_p50", "share_p95", "p_meet"]
    assert list(progress.columns) == [*PROGRESS_COLUMNS, *quantiles]
    assert list(progress.loc[progress["judged"], "status"]) == [
        "on track",
        "on track",
        "met",
        "behind",
    ]
    record = __import__("json").loads((outs[0] / "progress.json").read_text())
    assert record["rule"] == STATUS_RULE
    assert [t["judged_on"] for t in record["targets"]] == ["key_sites", "key_sites"]
    assert record["status_by_year"] == {
        "2025": "on track",
        "2026": "on track",
        "2027": "met",
        "2028": "behind",
    }
    assert "MIIT" in record["targets"][0]["source"]
    layers = [name for name, _ in pyogrio.list_layers(outs[0] / "isochrones.gpkg")]
    assert "clusters" in layers
    clusters = gpd.read_file(outs[0] / "isochrones.gpkg", layer="clusters")
    assert len(clusters) == len(pd.read_csv(outs[0] / "clusters.csv"))
    assert len(pd.read_csv(outs[0] / "interconnect.csv")) == 3


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
@pytest.mark.slow
def test_wuhan_progress(wuhan_run: RunResult) -> None:
    # The session's one whole run of data/cities/wuhan.yaml (conftest; skips without data).
    result = wuhan_run
    progress = pd.read_csv(result.out / "progress.csv")
    ks = progress[progress["judged"]].set_index("year")
    assert list(ks.index) == [2024, 2025, 2026, 2027, 2028]
    assert (ks["basis"] == "key_sites").all()
    assert ks.loc[2028, "share"] == pytest.approx(result.headline["key_sites"], abs=1e-6)
    # Shares never fall as the hypothetical sites come online.
    for basis, rows in progress.groupby("basis"):
        assert rows["share"].is_monotonic_increasing, basis
    links = pd.read_csv(result.out / "interconnect.csv")
    assert len(links) == 10  # 5 large or medium sites
    assert not links["over_budget"].any()  # within the urban core, well under 1 ms
