"""Values checked against an independent reference: networkx on the physically split network.

The reference below never calls the engine. It reads the city's own input geometry with
shapely, finds each site's and sample's nearest point on the network (``project`` /
``interpolate``), **splits** the lines there into a networkx graph, weighs every piece with
``k·r`` computed from the model numbers (route factor included), adds ``E`` and each site's
own device latency from the sites file, and runs Dijkstra. What it gives is compared with
what the code writes: each site's served weight (``site_service`` and the ``sites`` layer),
the ``service_areas`` layer, the gap in ``progress.csv`` (people, sites, km²) and the
interconnect table.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, Point

from latcircle.analysis.coverage import site_service
from latcircle.analysis.interconnect import interconnect_table
from latcircle.analysis.metro import Metro, prepare
from latcircle.analysis.progress import progress_table
from latcircle.config import Target
from latcircle.pipeline import run_city, write_progress
from latcircle.run import RunResult

from handbuilt import (
    CELL_M,
    EQUIPMENT_US,
    K_US_PER_KM,
    MAX_DROP_M,
    ROAD,
    ROUTE_FACTOR,
    X0,
    Y0,
    next_x,
    write_city,
)

KR = K_US_PER_KM / 1000.0 * ROUTE_FACTOR  # from the model numbers, not from the code

#: The main road, a branch north from x = 640, and a separate stretch in the north-east.
ROADS = [*ROAD, [(640.0, 0.0), (640.0, 640.0)], [(1500.0, 900.0), (1900.0, 900.0)]]
#: Sites: A and B as in the boundary tests; C exactly 1 ms from A (100 + 20 + 20 + 860);
#: D one ulp further; E beside the branch (20 m drop); F on the separate stretch.
SITES = [
    {"id": "A", "x": 70.0, "y": 0.0, "device": 20.0, "tier": "large"},
    {"id": "B", "x": 1890.0, "y": 0.0, "device": 40.0, "tier": "medium"},
    {"id": "C", "x": 930.0, "y": 0.0, "device": 20.0, "tier": "medium"},
    {"id": "D", "x": next_x(930.0), "y": 0.0, "device": 20.0, "tier": "large"},
    {"id": "E", "x": 660.0, "y": 330.0, "device": 10.0, "tier": "large"},
    {"id": "F", "x": 1700.0, "y": 950.0, "device": 30.0, "tier": "medium"},
]
KEY_SITES = [
    (300.0, 200.0),
    (1000.0, 40.0),
    (1600.0, 700.0),
    (1750.0, 1000.0),
    (800.0, 800.0),
    (50.0, 1000.0),  # at the max drop from the road, nearer the branch: too far
    (20.0, 1040.0),  # too far
]


# --------------------------------------------------------------------------- the reference


@dataclass
class Reference:
    """The split network as a networkx graph, and latency from a set of sites."""

    lines: list[LineString]
    graph: nx.Graph

    @classmethod
    def build(cls, roads: list[list[tuple[float, float]]], points: np.ndarray) -> Reference:
        """Split every line at the nearest point of each of ``points`` (x, y rows)."""
        lines = [LineString(r) for r in roads]
        cuts: dict[int, set[float]] = {i: {0.0, line.length} for i, line in enumerate(lines)}
        for x, y in points:
            i, t, _ = cls._nearest(lines, x, y)
            cuts[i].add(t)
        graph = nx.Graph()
        for i, line in enumerate(lines):
            stops = sorted(cuts[i])
            for a, b in itertools.pairwise(stops):
                u, v = cls._key(line.interpolate(a)), cls._key(line.interpolate(b))
                graph.add_edge(u, v, weight=KR * (b - a))
        return cls(lines, graph)

    @staticmethod
    def _nearest(lines: list[LineString], x: float, y: float) -> tuple[int, float, float]:
        p = Point(x, y)
        d = [line.distance(p) for line in lines]
        i = int(np.argmin(d))
        return i, lines[i].project(p), d[i]

    @staticmethod
    def _key(p: Point) -> tuple[float, float]:
        return (p.x, p.y)  # exact: C and D, one ulp apart, are two nodes

    def attach(self, x: float, y: float) -> tuple[tuple[float, float], float] | None:
        """Node of the nearest network point and the drop; ``None`` beyond the max drop."""
        i, t, drop = self._nearest(self.lines, x, y)
        if drop > MAX_DROP_M:
            return None
        return self._key(self.lines[i].interpolate(t)), drop

    def latency(
        self, sites: list[dict], x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """E + min over sites of S + k·r·(drop_s + d_G + drop_p), and the serving site."""
        g = self.graph.copy()
        for k, s in enumerate(sites):
            node, drop = self.attach(s["x"], s["y"])
            g.add_edge(("site", k), node, weight=s["device"] + KR * drop)
            g.add_edge("source", ("site", k), weight=0.0)
        dist, path = nx.single_source_dijkstra(g, "source")
        lat = np.full(len(x), np.inf)
        site = np.full(len(x), -1)
        for j, (px, py) in enumerate(zip(x, y, strict=True)):
            at = self.attach(px, py)
            if at is None or at[0] not in dist:
                continue
            lat[j] = EQUIPMENT_US + dist[at[0]] + KR * at[1]
            site[j] = path[at[0]][1][1]
        return lat, site

    def pair(self, a: dict, b: dict) -> float:
        """One-way latency from site ``a`` to site ``b`` (``inf``: not connected)."""
        (na, da), (nb, db) = self.attach(a["x"], a["y"]), self.attach(b["x"], b["y"])
        try:
            d = nx.dijkstra_path_length(self.graph, na, nb)
        except nx.NetworkXNoPath:
            return math.inf
        return EQUIPMENT_US + a["device"] + b["device"] + KR * (da + db) + d


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Metro]:
    folder = tmp_path_factory.mktemp("values")
    cfg = write_city(
        folder / "city",
        key_sites=KEY_SITES,
        sites=SITES,
        roads=ROADS,
        extra={
            "targets": [
                {"year": 2030, "share": 0.999, "basis": "key_sites"},
                {"year": 2031, "share": 0.999, "basis": "population"},
                {"year": 2032, "share": 0.999, "basis": "area"},
            ]
        },
    )
    return folder, prepare(cfg)


@pytest.fixture(scope="module")
def run(city: tuple[Path, Metro]) -> RunResult:
    folder, metro = city
    return run_city(metro.config, out=folder / "out", extra_outputs=[write_progress])


def _samples(metro: Metro, basis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = metro.samples[basis]
    return s.x - X0, s.y - Y0, s.weight


@pytest.fixture(scope="module")
def reference(city: tuple[Path, Metro]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reference latency and serving site of every sample, by basis."""
    _, metro = city
    points = [(s["x"], s["y"]) for s in SITES]
    xy = {b: _samples(metro, b)[:2] for b in ("key_sites", "population", "area")}
    all_xy = np.vstack([np.array(points), *(np.column_stack(v) for v in xy.values())])
    ref = Reference.build(ROADS, all_xy)
    return {b: ref.latency(SITES, *v) for b, v in xy.items()}


# --------------------------------------------------------------------------- tests


def test_reference_agrees_with_the_engine_everywhere(
    city: tuple[Path, Metro], reference: dict
) -> None:
    """The latencies themselves, to 1e-6 µs (the engine works in absolute UTM metres)."""
    _, metro = city
    scenario = metro.scenario()
    for basis, (lat, site) in reference.items():
        ev = scenario.evaluations[basis]
        np.testing.assert_allclose(ev.latency_us, lat, rtol=0, atol=1e-6, err_msg=basis)
        np.testing.assert_array_equal(ev.site, site, err_msg=basis)


def _served(metro: Metro, reference: dict, budget_us: float) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(SITES)))
    for basis, (lat, site) in reference.items():
        w = _samples(metro, basis)[2]
        ok = lat <= budget_us
        out[f"served_{basis}"] = [w[ok & (site == k)].sum() for k in range(len(SITES))]
    return out


def test_site_service_counts_only_places_within_the_budget(
    city: tuple[Path, Metro], reference: dict
) -> None:
    _, metro = city
    scenario = metro.scenario()
    for budget_ms in (0.5, 0.75, 1.0):
        got = site_service(
            list(scenario.evaluations.values()), n_sites=len(SITES), budget_ms=budget_ms
        )
        want = _served(metro, reference, budget_ms * 1000.0)
        for col in want.columns:
            np.testing.assert_allclose(got[col], want[col], rtol=1e-12, err_msg=col)
    # C serves west of x = 930, D (one ulp east) east of it: both serve.
    assert (want["served_area"] > 0).sum() >= 5


def test_sites_layer_and_service_areas(
    run: RunResult, city: tuple[Path, Metro], reference: dict
) -> None:
    _, metro = city
    want = _served(metro, reference, 1000.0)
    gpkg = run.out / "isochrones.gpkg"
    sites = pyogrio.read_dataframe(gpkg, layer="sites")
    assert list(sites["site_id"]) == [s["id"] for s in SITES]
    for col in want.columns:
        np.testing.assert_allclose(sites[col], want[col], rtol=1e-12, err_msg=col)
    areas = pyogrio.read_dataframe(gpkg, layer="service_areas")
    got = dict(zip(areas["site_id"], areas["area_km2"], strict=True))
    lat, site = reference["area"]
    for k, s in enumerate(SITES):
        cells = int(((site == k) & (lat <= 1000.0)).sum())
        assert got.get(s["id"], 0.0) == pytest.approx(cells * CELL_M**2 / 1e6, rel=1e-9), s["id"]


def test_the_gap_in_progress_csv(run: RunResult, city: tuple[Path, Metro], reference: dict) -> None:
    """Gap = weight still to cover: whole key sites and people (rounded up), km² unrounded."""
    _, metro = city
    table = pd.read_csv(run.out / "progress.csv")
    for year, basis in ((2030, "key_sites"), (2031, "population"), (2032, "area")):
        lat, _ = reference[basis]
        w = _samples(metro, basis)[2]
        covered, total = w[lat <= 1000.0].sum(), w.sum()
        row = table[(table["year"] == year) & (table["basis"] == basis)].iloc[0]
        assert bool(row["judged"]) and row["status"] == "behind", (basis, row.to_dict())
        assert row["covered"] == pytest.approx(covered, rel=1e-12)
        shortfall = 0.999 * total - covered
        want = shortfall if basis == "area" else math.ceil(shortfall)
        assert shortfall > 0 and (basis == "area" or want > shortfall)  # rounding shows
        assert row["gap"] == pytest.approx(want, rel=1e-9), basis
    # The units, spelled out: the rows are in sites, people and km².
    units = table.drop_duplicates("basis").set_index("basis")["unit"].to_dict()
    assert units == {"key_sites": "sites", "population": "people", "area": "km2"}


def test_auto_target_is_judged_on_key_sites(city: tuple[Path, Metro]) -> None:
    _, metro = city
    table = progress_table(metro, targets=[Target(year=2030, share=0.5)])
    judged = table[(table["year"] == 2030) & table["judged"]]
    assert list(judged["basis"]) == ["key_sites"]


def test_headline_is_each_basis_own_share(
    run: RunResult, city: tuple[Path, Metro], reference: dict
) -> None:
    _, metro = city
    for basis, (lat, _) in reference.items():
        w = _samples(metro, basis)[2]
        assert run.headline[basis] == pytest.approx(w[lat <= 1000.0].sum() / w.sum(), rel=1e-12)
    assert len({round(v, 6) for v in run.headline.values()}) == 3  # three different numbers


def test_interconnect_against_the_split_graph(city: tuple[Path, Metro]) -> None:
    _, metro = city
    ref = Reference.build(ROADS, np.array([(s["x"], s["y"]) for s in SITES]))
    table = interconnect_table(metro, tiers=("large", "medium"))
    ids = [s["id"] for s in SITES]
    pairs = [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))]
    assert list(zip(table["site_a"], table["site_b"], strict=True)) == pairs
    for row in table.itertuples():
        a, b = SITES[ids.index(row.site_a)], SITES[ids.index(row.site_b)]
        assert (row.tier_a, row.tier_b) == (a["tier"], b["tier"])
        want = ref.pair(a, b)
        if math.isinf(want):
            assert not row.reachable and row.over_budget, (row.site_a, row.site_b)
            continue
        assert row.reachable
        assert row.latency_us == pytest.approx(want, abs=1e-6), (row.site_a, row.site_b)
        assert row.over_budget == (want > 1000.0)
    by_pair = table.set_index(["site_a", "site_b"])
    # A to C: exactly 1 ms, within budget; A to D: one ulp beyond it.
    assert by_pair.loc[("A", "C"), "latency_us"] == 1000.0
    assert not by_pair.loc[("A", "C"), "over_budget"]
    assert by_pair.loc[("A", "D"), "latency_us"] > 1000.0
    assert by_pair.loc[("A", "D"), "over_budget"]
    assert not by_pair.loc[("A", "F"), "reachable"]
