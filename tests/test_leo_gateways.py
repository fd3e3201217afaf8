"""LEO through gateways: legs against 3-D vector geometry, measured judgement, ground-node plans.

The references here are independent of the module: satellite positions are found by walking
along the user's line of sight in 3-D Cartesian coordinates (the positive root of
``|U + d·e| = R + h``) and every leg is a vector norm, not the law of cosines the module uses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latcircle.analysis.ground_nodes import plan_ground_nodes
from latcircle.analysis.leo import (
    C_KM_PER_MS,
    EARTH_RADIUS_KM,
    LEO_PRESETS,
    MEASURED_APNIC_2022,
    MEASURED_STARLINK_2025,
    LeoParams,
    MeasuredLatency,
    bent_pipe_legs_km,
    coverage_half_angle_rad,
    footprint_km,
    leg_table,
    leo_path,
)
from latcircle.analysis.tiers import TierParams, check_gateways, national_tiers
from latcircle.inputs.backbone import Backbone, geodesic_m

R = EARTH_RADIUS_KM
US = 1e-3  # one microsecond, in ms


def _ground(theta: float) -> np.ndarray:
    """A ground point at central angle ``theta`` along the equator (x-y plane)."""
    return R * np.array([math.cos(theta), math.sin(theta), 0.0])


def _satellite(h: float, elev_deg: float) -> np.ndarray:
    """The satellite seen from the user at (R, 0, 0) at ``elev_deg``, toward +y."""
    e = math.radians(elev_deg)
    user = _ground(0.0)
    look = np.array([math.sin(e), math.cos(e), 0.0])  # up is +x, the gateway lies toward +y
    b = 2 * float(user @ look)
    c = float(user @ user) - (R + h) ** 2
    d = (-b + math.sqrt(b * b - 4 * c)) / 2
    return user + d * look


def _legs_by_vectors(h: float, user_elev: float, theta: float) -> tuple[float, float, float]:
    """Up, down (km) and the gateway's elevation (degrees) by 3-D vectors."""
    sat = _satellite(h, user_elev)
    gate = _ground(theta)
    up = float(np.linalg.norm(sat - _ground(0.0)))
    to_sat = sat - gate
    down = float(np.linalg.norm(to_sat))
    elev = math.degrees(math.asin(float(to_sat @ gate) / (down * R)))
    return up, down, elev


def _one_way_ms(up: float, down: float) -> float:
    return (up + down) / C_KM_PER_MS


@pytest.mark.parametrize("name", ["leo550", "leo1160"])
def test_legs_at_zenith_match_vectors_to_a_microsecond(name: str) -> None:
    p = LEO_PRESETS[name]
    up, down, _ = _legs_by_vectors(p.altitude_km, 90.0, 0.0)
    got_up, got_down = bent_pipe_legs_km(p, 0.0, user_elevation_deg=90.0)
    assert abs(_one_way_ms(float(got_up), float(got_down)) - _one_way_ms(up, down)) < US
    row = leg_table(p)[0]
    assert row["case"] == "zenith"
    assert abs(float(row["one_way_ms"]) - _one_way_ms(up, down)) < US
    assert abs(float(row["round_trip_ms"]) - 2 * _one_way_ms(up, down)) < US
    assert abs(float(row["up_ms"]) - up / C_KM_PER_MS) < US


@pytest.mark.parametrize("name", ["leo550", "leo1160"])
def test_legs_at_the_minimum_elevation_match_vectors(name: str) -> None:
    p = LEO_PRESETS[name]
    # The user sees the satellite at the minimum elevation; the gateway is where the
    # satellite is seen at the minimum elevation from the other side: 2λ away.
    theta = 2 * coverage_half_angle_rad(p.altitude_km, p.min_elevation_deg)
    up, down, elev = _legs_by_vectors(p.altitude_km, p.min_elevation_deg, theta)
    assert elev == pytest.approx(p.min_elevation_deg, abs=1e-9)
    got_up, got_down = bent_pipe_legs_km(p, theta * R, user_elevation_deg=p.min_elevation_deg)
    assert abs(_one_way_ms(float(got_up), float(got_down)) - _one_way_ms(up, down)) < US
    row = leg_table(p)[1]
    assert abs(float(row["one_way_ms"]) - _one_way_ms(up, down)) < US
    # The worst case of leo_path is this very geometry, plus the allowances.
    path = leo_path(p, [100.0], basis="geometric")
    allow = p.processing_ms + p.handover_ms
    assert abs(float(path.worst_ms[0]) - (_one_way_ms(up, down) + allow)) < US


@pytest.mark.parametrize("name", ["leo550", "leo1160"])
@pytest.mark.parametrize("user_elev", [30.0, 45.0, 70.0])
def test_a_separation_near_the_footprint_edge(name: str, user_elev: float) -> None:
    p = LEO_PRESETS[name]
    edge = footprint_km(p)
    # Just inside the edge (1 km): with the satellite above the midpoint both see it just
    # above the minimum elevation; the bound of leo_path is that relay.
    theta = (edge - 1.0) / R
    sat = (R + p.altitude_km) * np.array([math.cos(theta / 2), math.sin(theta / 2), 0.0])
    up = float(np.linalg.norm(sat - _ground(0.0)))
    down = float(np.linalg.norm(sat - _ground(theta)))
    got_up, got_down = bent_pipe_legs_km(p, edge - 1.0)
    assert abs(_one_way_ms(float(got_up), float(got_down)) - _one_way_ms(up, down)) < US
    path = leo_path(p, [edge - 1.0], basis="geometric")
    allow = p.processing_ms + p.handover_ms
    assert abs(float(path.bound_ms[0]) - (_one_way_ms(up, down) + allow)) < US
    # A user seeing the satellite higher up (toward the gateway) at a separation where the
    # gateway still sees it: the down leg by vectors, the gateway's elevation checked.
    lam = coverage_half_angle_rad(p.altitude_km, user_elev)
    theta2 = lam + 0.5 * (2 * coverage_half_angle_rad(p.altitude_km, p.min_elevation_deg) - lam)
    up_v, down_v, elev_v = _legs_by_vectors(p.altitude_km, user_elev, theta2)
    got_up, got_down = bent_pipe_legs_km(p, theta2 * R, user_elevation_deg=user_elev)
    if elev_v >= p.min_elevation_deg:
        assert abs(_one_way_ms(float(got_up), float(got_down)) - _one_way_ms(up_v, down_v)) < US
    else:
        assert not np.isfinite(got_down)
    # Beyond the footprint a bent pipe has no shared satellite.
    assert not np.isfinite(bent_pipe_legs_km(p, edge + 1.0)[0])
    assert not np.isfinite(leo_path(p, [edge + 1.0], basis="geometric").judged_ms[0])


def test_the_gateway_below_the_minimum_elevation_is_refused() -> None:
    p = LEO_PRESETS["leo550"]
    # User at 80° elevation toward the gateway, gateway 2λ away: the satellite is far beyond
    # the gateway's horizon at 25°.
    theta = 2 * coverage_half_angle_rad(550, 25)
    _, _, elev = _legs_by_vectors(550, 80.0, theta)
    assert elev < 25.0
    assert not np.isfinite(bent_pipe_legs_km(p, theta * R, user_elevation_deg=80.0)[1])


def test_inter_satellite_links_count_hops_times_link_length() -> None:
    p = LEO_PRESETS["leo550_isl"]
    lam = coverage_half_angle_rad(550, 25)
    # 2,500 km beyond the footprint's reach on the ground: the gap at the shell's radius.
    g = 2 * lam * R + 2500.0
    gap_km = (g / R - 2 * lam) * (R + 550)
    hops = math.ceil(gap_km / 1000.0)
    path = leo_path(p, [g], ground_ms=0.2)
    assert int(path.hops[0]) == hops == 3
    assert float(path.isl_km[0]) == pytest.approx(hops * 1000.0)
    d25 = float(np.linalg.norm(_satellite(550, 25) - _ground(0.0)))
    want_worst = (2 * d25 + hops * 1000.0) / C_KM_PER_MS + 1.5 + 0.2
    assert abs(float(path.worst_ms[0]) - want_worst) < US
    # Measured: the median plus the extra links' propagation plus the ground part.
    assert abs(float(path.judged_ms[0]) - (12.85 + hops * 1000.0 / C_KM_PER_MS + 0.2)) < US
    assert path.basis == "measured"
    assert float(path.bound_ms[0]) <= float(path.worst_ms[0])
    # Without links the same gateway is out of reach.
    assert not np.isfinite(leo_path(LEO_PRESETS["leo550"], [g]).judged_ms[0])


def test_measured_figures_are_the_published_ones_halved() -> None:
    m = MEASURED_STARLINK_2025
    assert m.p50_ms == 25.7 / 2  # SpaceX, June 2025, US median peak-hour RTT
    assert m.p95 == (55 / 2, "at most")  # fewer than 1 % of measurements above 55 ms
    a = MEASURED_APNIC_2022
    assert dict(a.published) == {"min": 10.0, "p25": 20.0, "p50": 25.0, "p75": 30.0}
    assert a.p95 == (30.0, "at least") and a.p5 == (10.0, "at least")
    assert "2025" in m.date and "2022" in a.date
    for p in LEO_PRESETS.values():  # the geometric bound is below every measured median
        if p.measured is not None:
            bound = float(leo_path(p, [0.0], basis="geometric").bound_ms[0])
            assert bound < p.measured.p50_ms


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"min_elevation_deg": 0.0}, "min_elevation_deg"),
        ({"min_elevation_deg": 90.0}, "min_elevation_deg"),
        ({"altitude_km": 159.9}, "altitude_km"),
        ({"processing_ms": -1.0}, "processing_ms"),
        ({"isl_link_km": 0.0}, "isl_link_km"),
    ],
)
def test_bad_leo_parameters(bad: dict[str, float], says: str) -> None:
    base = {"name": "x", "altitude_km": 550.0, "min_elevation_deg": 25.0}
    with pytest.raises(ValueError, match=says):
        LeoParams(**{**base, "processing_ms": 1.0, "handover_ms": 0.5, **bad})


def test_negative_measured_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        MeasuredLatency("x", p50_ms=-1.0, published=(), source="s", date="d")


def test_a_preset_without_measurement_cannot_be_judged_as_measured() -> None:
    with pytest.raises(ValueError, match="no measured latency"):
        leo_path(LEO_PRESETS["leo1160"], [0.0], basis="measured")
    assert LEO_PRESETS["leo1160"].basis == "geometric"


# --- national: gateways, the plan and its closed loop ---------------------------------------


def _line(n: int, step: float = 1.0) -> Backbone:
    lon = step * np.arange(n, dtype=float)
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


HUB = pd.DataFrame({"id": ["h"], "name": ["H"], "kind": ["hub"], "lon": [0.0], "lat": [0.0]})


def test_gateway_path_is_leo_plus_the_backbone_from_its_node() -> None:
    bb = _line(4)
    city = pd.DataFrame({"adcode": ["1"], "name": ["far"], "lon": [3.0], "lat": [6.0]})
    gw = pd.DataFrame({"id": ["g"], "name": ["G"], "lon": [3.0], "lat": [0.1]})
    p = TierParams()
    res = national_tiers(bb, HUB, city, params=p, leo=LEO_PRESETS["leo550"], gateways=gw)
    row = res.cities.iloc[0]
    assert not bool(row["terrestrial_access"])
    # Ground: E + hub site S + node n0 (entered) + 3 links + nodes n1..n3 + the gateway's drop.
    links_km = float(bb.geodesic_m.sum()) / 1000.0
    drop_km = float(geodesic_m(3.0, 0.1, 3.0, 0.0)) / 1000.0
    k = p.k_us_per_km
    ground_us = 100 + 20 + 4 * 20 + k * 1.5 * links_km + k * 1.5 * drop_km
    assert row["leo_latency_us"] == pytest.approx(12850.0 + ground_us, abs=1e-6)
    assert row["leo_gateway"] == "g"
    sep = float(geodesic_m(3.0, 6.0, 3.0, 0.1)) / 1000.0
    assert row["leo_gateway_km"] == pytest.approx(sep)
    assert res.gateways["ground_to_hub_ms"].iloc[0] == pytest.approx(ground_us / 1000.0)


def test_a_gateway_outside_every_footprint_is_named() -> None:
    city = pd.DataFrame({"adcode": ["1"], "name": ["c"], "lon": [0.0], "lat": [0.0]})
    gw = pd.DataFrame({"id": ["near", "moon"], "lon": [1.0, 60.0], "lat": [0.0, 0.0]})
    msg = check_gateways(LEO_PRESETS["leo550"], gw, city)
    assert msg is not None and "gateway moon" in msg and "footprint" in msg
    assert check_gateways(LEO_PRESETS["leo550"], gw.iloc[:1], city) is None
    assert check_gateways(LEO_PRESETS["leo550_isl"], gw, city) is None  # links reach it


def _plan_case() -> tuple[Backbone, pd.DataFrame]:
    bb = _line(6, 8.0)  # nodes every 8° (890 km) on the equator: one footprint is not enough
    rng = np.random.default_rng(7)
    lon = rng.uniform(-10.0, 50.0, 14)
    lat = rng.choice([-1, 1], 14) * rng.uniform(4.0, 14.0, 14)  # beyond the 300 km drop
    cities = pd.DataFrame(
        {
            "adcode": [f"{i:02d}" for i in range(14)],
            "name": list("abcdefghijklmn"),
            "lon": lon,
            "lat": lat,
        }
    )
    return bb, cities


@pytest.mark.parametrize("basis", ["geometric", "measured"])
def test_plan_is_optimal_against_brute_force_and_closes_the_loop(basis: str) -> None:
    bb, cities = _plan_case()
    leo = LEO_PRESETS["leo550"]
    p = TierParams(app_budget_ms=10.0, hub_budget_ms=30.0)
    plan = plan_ground_nodes(bb, HUB, cities, leo=leo, params=p, leo_basis=basis)

    # Brute force: every subset of nodes, re-evaluated by national_tiers itself.
    def reach(subset: tuple[int, ...]) -> tuple[int, int]:
        gw = pd.DataFrame(
            {
                "id": [f"s{i}" for i in subset],
                "name": [f"s{i}" for i in subset],
                "lon": bb.lon[list(subset)],
                "lat": bb.lat[list(subset)],
            }
        )
        sites = pd.concat([HUB, gw.assign(kind="ground_node")], ignore_index=True)
        c = national_tiers(
            bb, sites, cities, params=p, leo=leo, gateways=gw, leo_basis=basis
        ).cities
        na = ~c["terrestrial_access"]
        return int((na & c["leo_meets_app_tier"]).sum()), int((na & c["leo_meets_hub_tier"]).sum())

    best_reach = reach(tuple(range(bb.n_nodes)))
    fewest = min(
        len(s)
        for k in range(bb.n_nodes + 1)
        for s in itertools.combinations(range(bb.n_nodes), k)
        if reach(s) == best_reach
    )
    s = plan.summary
    assert fewest >= 2  # a real choice
    assert s["nodes_chosen"] == fewest
    assert (s["planned_10ms_weight"], s["planned_20ms_weight"]) == best_reach
    assert s["closed_loop_matches"] is True
    assert (s["rerun_10ms_weight"], s["rerun_20ms_weight"]) == best_reach
    if basis == "measured":  # 12.85 ms median one way: nothing within 10 ms over LEO
        assert best_reach[0] == 0


# --- a city run with a gateways file ---------------------------------------------------------


def test_city_gateway_ground_part_is_the_metro_path(
    make_tiny_city: Callable[..., Path], tmp_path: Path
) -> None:
    from conftest import X0, Y0, to_lonlat

    from latcircle.analysis.city_tiers import city_tiers
    from latcircle.analysis.metro import prepare
    from latcircle.config import load_config

    # A gateway on the road grid's node (3 km, 1 km): from site A (1 km, 5 km) or B (5 km,
    # 5 km) it is 2 km + 4 km of road, route factor 1.2: E + S + k·1.2·6,000 m.
    lon, lat = to_lonlat(np.array([X0 + 3000.0]), np.array([Y0 + 1000.0]))
    folder = tmp_path / "gw"
    folder.mkdir()
    (folder / "gw.csv").write_text(f"id,lon,lat\ng1,{lon[0]:.10f},{lat[0]:.10f}\n")
    cfg_path = make_tiny_city("g", extra_yaml=f"tiers: {{gateways: {folder / 'gw.csv'}}}\n")
    metro = prepare(load_config(cfg_path))
    scenario = metro.scenario(year=None)
    res = city_tiers(metro, scenario, metro.config.tiers)
    k_us_per_m = 1.4682 / 299.792458
    ground_ms = (100 + 20 + k_us_per_m * 1.2 * 6000.0) / 1000.0
    leo = res.leo_ms["key_sites"]
    far = float(leo[np.isfinite(leo)][0])  # the road-less "far east" key site
    assert abs(far - (25.7 / 2 + ground_ms)) < 1e-6
    rows = res.table.set_index(["basis", "tier"])
    assert rows.loc[("key_sites", "leo_20ms"), "gateways"] == "1 gateway(s) from gw.csv"
    # Geometric basis: 2 slant ranges at 25° + allowances + the same ground part.
    geo = city_tiers(
        metro, scenario, metro.config.tiers.model_copy(update={"leo_basis": "geometric"})
    )
    d25 = float(np.linalg.norm(_satellite(550, 25) - _ground(0.0)))
    far_geo = float(geo.leo_ms["key_sites"][np.isfinite(geo.leo_ms["key_sites"])][0])
    assert abs(far_geo - (2 * d25 / C_KM_PER_MS + 1.5 + ground_ms)) < 1e-6


def test_empty_is_normal_no_gateway_and_no_demand(tmp_path: Path) -> None:
    from latcircle.present.tiers_page import write_tiers_page

    bb = _line(3)
    cities = pd.DataFrame(
        {"adcode": ["1", "2"], "name": ["x", "y"], "lon": [1.0, 2.0], "lat": [0.5, 9.0]}
    )
    none = pd.DataFrame({"id": [], "name": [], "lon": [], "lat": []})
    res = national_tiers(bb, HUB, cities, leo=LEO_PRESETS["leo550"], gateways=none)
    assert np.isinf(res.cities["leo_latency_us"]).all()
    assert not res.cities["leo_meets_hub_tier"].any()
    assert res.summary["leo"]["gateways"] == "0 gateway(s) from the gateways table"
    # Every city has access: nothing to plan, an empty plan, and the page still writes.
    plan = plan_ground_nodes(bb, HUB, cities.iloc[:1], leo=LEO_PRESETS["leo550"])
    assert plan.summary["nodes_chosen"] == 0 and plan.summary["no_access_weight"] == 0.0
    assert plan.summary["closed_loop_matches"] is True and len(plan.gateways) == 0
    page = write_tiers_page(res, bb, tmp_path, plan=plan)
    assert "Ground coordination nodes (plan)" in page.read_text(encoding="utf-8")


# --- backbones: OFDS, aliases and joins --------------------------------------------------------


def test_ofds_backbone_lengths_along_routes_and_a_join(tmp_path: Path) -> None:
    import json

    from pyproj import Geod

    from latcircle.inputs.backbone import join_backbones, read_backbone

    route = [[110.0, 30.0], [110.5, 30.4], [111.0, 30.0]]
    pkg = {
        "networks": [
            {
                "id": "n",
                "nodes": [
                    {"id": "A", "location": {"type": "Point", "coordinates": [110.0, 30.0]}},
                    {"id": "B", "location": {"type": "Point", "coordinates": [111.0, 30.0]}},
                    {"id": "C", "location": {"type": "Point", "coordinates": [111.0, 31.0]}},
                ],
                "spans": [
                    {"id": "s1", "start": "A", "end": "B",
                     "route": {"type": "LineString", "coordinates": route}},
                    {"id": "s2", "start": "B", "end": "C"},
                ],
            }
        ]
    }  # fmt: skip
    path = tmp_path / "net.json"
    path.write_text(json.dumps(pkg), encoding="utf-8")
    bb = read_backbone(path)
    assert bb.names == ("A", "B", "C")
    geod = Geod(ellps="WGS84")
    along = sum(geod.inv(*route[i], *route[i + 1])[2] for i in range(2))
    straight = geod.inv(111.0, 30.0, 111.0, 31.0)[2]
    lengths = dict(zip(zip(bb.u.tolist(), bb.v.tolist(), strict=True), bb.geodesic_m, strict=True))
    assert lengths[(0, 1)] == pytest.approx(along, rel=1e-12)  # along the route, not A-B
    assert lengths[(1, 2)] == pytest.approx(straight, rel=1e-12)
    # Joined with a backbone naming the same node "B": one node, links of both.
    other = Backbone(
        "other", ("B", "D"), np.array([111.0, 112.0]), np.array([30.0, 30.0]),
        np.array([0]), np.array([1]), geodesic_m(111.0, 30.0, 112.0, 30.0).reshape(1),
    )  # fmt: skip
    joined = join_backbones([bb, other])
    assert joined.names == ("A", "B", "C", "D") and len(joined.u) == 3
    assert joined.repairs["nodes joined"] == ["other: B (0.0 km)"]
