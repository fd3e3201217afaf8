"""Exactness: latcircle's latencies against a brute-force networkx reference.

The reference knows nothing of latcircle's arrays, KD-tree or super-source. It takes the same
line features and, independently:

* builds the network from the true node of every line end (ids, or exactly coinciding
  endpoints), keeping **every** line: self-loops and parallel lines included (each is a real
  road or cable; shortest paths take the shortest on their own), plus a straight link between
  any two nodes closer than ``snap_m`` not already joined by a line;
* finds every point's nearest edges by measuring the distance to every edge geometry
  (``shapely.distance``), all those within 1e-9 m of the nearest (ties), and the projection
  on each by ``shapely.line_locate_point``; a point's latency is the minimum over them, and a
  site equally near several edges enters the network through each;
* physically splits each edge at every site projection ``q_s`` and every location projection
  ``q_p`` (adding nodes), in a networkx MultiDiGraph whose arcs weigh ``k·r·ℓ`` plus the device
  latency of the node they enter;
* runs one networkx Dijkstra per site and takes
  ``factor · (E + min_s [S_s + k·r·|s − q_s| + d(q_s, q_p) + k·r·|p − q_p|])``.

A projection that falls on a node (equally near every edge ending there) is that node: a
site there enters the network through it and a location there is reached through it, so
per-node device latency applies whichever incident edge the locator reports.

The constants come from DESIGN.md §2 by hand (n_g = 1.4682, c = 299.792458 m/µs, r = 1.2 on
roads, E = 100 µs, end_to_end adds 300 + 4000 µs, round_trip doubles).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from latcircle.config import LatencyModel
from latcircle.engine.latency import attach_sites, solve
from latcircle.engine.locator import MIN_POINTS_PER_THREAD, Locator
from latcircle.engine.network import build_network

UTM50 = "EPSG:32650"

#: µs per metre of G.652 fibre: group index over c (c = 299.792458 m/µs).
K_US_PER_M = 1.4682 / 299.792458
#: Route factor of a road proxy.
R_ROAD = 1.2
#: Per preset: fixed latency on every path (E plus extras) and the round-trip factor.
HAND_PRESETS = {
    "optical": (100.0, 1.0),
    "round_trip": (100.0, 2.0),
    "end_to_end": (100.0 + 300.0 + 4000.0, 1.0),
    "round_trip_end_to_end": (100.0 + 300.0 + 4000.0, 2.0),
}
TOL_US = 1e-6
#: A projection this close (m) to an edge's end is at the node.
AT_NODE_M = 1e-6


# --------------------------------------------------------------------------- the case


@dataclass
class Case:
    """Line features, node truth, sites and query points of one exactness check."""

    geoms: list[LineString]
    u: list[int] | None = None  # node ids; None: nodes from coinciding endpoints
    v: list[int] | None = None
    node_xy: dict[int, tuple[float, float]] = field(default_factory=dict)  # true positions
    node_us: dict[int, float] = field(default_factory=dict)  # D(n) by id
    site_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    site_us: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pts: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    preset: str = "optical"
    max_drop_m: float = 1000.0
    #: How latcircle is given the ids ("int", "float" or "str"), and the lines whose ids it
    #: is not given (NaN / None): latcircle falls back to their endpoints, the reference
    #: keeps knowing the true nodes.
    id_type: str = "int"
    missing: list[int] = field(default_factory=list)
    snap_m: float = 0.0


# --------------------------------------------------------------------------- the reference


def _ref_edges(case: Case) -> list[tuple[LineString, object, object]]:
    """Edges (geometry from a to b, a, b): every line, plus the snap links."""
    nodes: dict[object, np.ndarray] = {}
    rows = []
    for i, g in enumerate(case.geoms):
        if case.u is None:
            a, b = tuple(g.coords[0]), tuple(g.coords[-1])
            nodes[a], nodes[b] = np.asarray(a), np.asarray(b)
        else:
            a, b = case.u[i], case.v[i]
            nodes[a], nodes[b] = np.asarray(case.node_xy[a]), np.asarray(case.node_xy[b])
            if a != b and np.hypot(*(np.asarray(g.coords[0]) - case.node_xy[a])) > 1e-9:
                g = g.reverse()  # drawn from b to a
        rows.append((g, a, b))
    if case.snap_m > 0:
        joined = {frozenset((a, b)) for _, a, b in rows}
        for a, b in itertools.combinations(sorted(nodes), 2):
            gap = float(np.hypot(*(nodes[a] - nodes[b])))
            if gap < case.snap_m and frozenset((a, b)) not in joined:
                rows.append((LineString([nodes[a], nodes[b]]), a, b))
    return rows


def _nearest(geoms: list[LineString], x: float, y: float) -> tuple[float, list[int]]:
    """Distance to the nearest edge and every edge within 1e-9 m of it (brute force)."""
    d = shapely.distance(shapely.Point(x, y), np.asarray(geoms, dtype=object))
    dmin = float(d.min())
    return dmin, [int(e) for e in np.flatnonzero(d <= dmin + 1e-9)]


@dataclass
class Expected:
    """Reference answer at one query point."""

    latency: float
    site: int | None  # serving site when unique
    access: bool


def _attach_point(
    edges: list[tuple[LineString, object, object]], e: int, point: shapely.Point, label: object
) -> tuple[object, float, tuple[float, object] | None]:
    """Where a point joins the graph on edge ``e``: (graph node, metres from it, split).

    A projection on the edge's end (within 1e-6 m) *is* that node (DESIGN.md: a point at a
    node is at the node, so device latency there applies); elsewhere the edge is split at
    the projection by a new node ``label``.
    """
    g, a, b = edges[e]
    t = shapely.line_locate_point(g, point)
    if t <= AT_NODE_M:
        return ("n", a), t, None
    if t >= g.length - AT_NODE_M:
        return ("n", b), g.length - t, None
    return label, 0.0, (t, label)


def reference(case: Case) -> list[Expected]:
    """Brute-force latency at every query point."""
    fixed, factor = HAND_PRESETS[case.preset]
    kr = K_US_PER_M * R_ROAD
    edges = _ref_edges(case)
    geoms = [g for g, _, _ in edges]
    splits: dict[int, list[tuple[float, object]]] = defaultdict(list)

    # Per site: every (graph node, S_s + k·r·|s − q_s| + D) it enters by, one per tied edge.
    site_start: dict[int, list[tuple[object, float]]] = {}
    for s, (x, y) in enumerate(case.site_xy):
        drop, cands = _nearest(geoms, x, y)
        if drop > case.max_drop_m:
            continue  # not attached: serves nothing
        point = shapely.Point(x, y)
        site_start[s] = []
        for e in cands:
            node, away, split = _attach_point(edges, e, point, ("s", s, e))
            if split is not None:
                splits[e].append(split)
            # A site at a node enters the network through it: D(node) too.
            w = case.site_us[s] + kr * (drop + away) + _device(case, node)
            site_start[s].append((node, w))

    pt_join: list[tuple[float, list[tuple[object, float]]]] = []
    for i, (x, y) in enumerate(case.pts):
        drop, cands = _nearest(geoms, x, y)
        point = shapely.Point(x, y)
        joins = []
        if drop <= case.max_drop_m:
            for e in cands:
                node, away, split = _attach_point(edges, e, point, ("p", i, e))
                if split is not None:
                    splits[e].append(split)
                joins.append((node, away))
        pt_join.append((drop, joins))

    graph = nx.MultiDiGraph()  # parallel lines stay parallel arcs; Dijkstra takes the lightest
    for e, (g, a, b) in enumerate(edges):
        chain = [(0.0, ("n", a)), *sorted(splits[e], key=lambda z: z[0]), (g.length, ("n", b))]
        for (t0, n0), (t1, n1) in itertools.pairwise(chain):
            w = kr * max(t1 - t0, 0.0)
            graph.add_edge(n0, n1, w=w + _device(case, n1))
            graph.add_edge(n1, n0, w=w + _device(case, n0))

    dist = {}
    for s, starts in site_start.items():
        best: dict[object, float] = {}
        for node, w0 in starts:
            if node not in graph:
                graph.add_node(node)
            for k, d in nx.single_source_dijkstra_path_length(graph, node, weight="w").items():
                best[k] = min(best.get(k, np.inf), w0 + d)
        dist[s] = best

    out = []
    for drop, joins in pt_join:
        if drop > case.max_drop_m:
            out.append(Expected(np.inf, None, access=False))
            continue
        # (S_s + k·r·|s − q_s| + d(q_s, q_p), s) over every site and every tied edge.
        pool = [
            (d[node] + kr * away, s) for node, away in joins for s, d in dist.items() if node in d
        ]
        if not pool:
            out.append(Expected(np.inf, None, access=True))
            continue
        best_x, best_site = min(pool)
        others = [x for x, s in pool if s != best_site]
        unique = not others or min(others) - best_x > 1e-9
        total = factor * (fixed + best_x + kr * drop)
        out.append(Expected(total, best_site if unique else None, access=True))
    return out


def _device(case: Case, node: object) -> float:
    """D(n) of a graph node: only for nodes latcircle knows by id.

    A node named only on lines whose ids latcircle is not given is a coordinate node to it,
    with no id to key a device latency by.
    """
    if node[0] != "n" or case.u is None:
        return 0.0
    named = {
        x
        for i, (a, b) in enumerate(zip(case.u, case.v, strict=True))
        if i not in case.missing
        for x in (a, b)
    }
    return case.node_us.get(node[1], 0.0) if node[1] in named else 0.0


# --------------------------------------------------------------------------- latcircle


def _ids_as_given(case: Case) -> dict[str, object]:
    """The ``u``/``v`` columns latcircle is given: typed as the case says, some missing."""
    out: dict[str, object] = {}
    for name, ids in (("u", case.u), ("v", case.v)):
        vals = [None if i in case.missing else x for i, x in enumerate(ids)]
        if case.id_type == "float":
            out[name] = np.array([np.nan if x is None else float(x) for x in vals])
        elif case.id_type == "str":
            out[name] = np.array([None if x is None else f"node-{x}" for x in vals], dtype=object)
        else:
            out[name] = pd.array(vals, dtype="Int64")
    return out


def _node_latency_as_given(case: Case) -> dict[object, float]:
    if case.id_type == "str":
        return {f"node-{k}": w for k, w in case.node_us.items()}
    if case.id_type == "float":
        return {float(k): w for k, w in case.node_us.items()}
    return dict(case.node_us)


def _latcircle(case: Case):
    data = {} if case.u is None else _ids_as_given(case)
    lines = gpd.GeoDataFrame(data, geometry=case.geoms, crs=UTM50)
    net = build_network(
        lines,
        node_latency_us=_node_latency_as_given(case) if case.u is not None else None,
        snap_m=case.snap_m,
    )
    locator = Locator(net)
    params = LatencyModel(preset=case.preset, max_drop_m=case.max_drop_m).resolved(
        network_kind="road"
    )
    att = attach_sites(locator, case.site_xy[:, 0], case.site_xy[:, 1], case.site_us, params)
    lat_field = solve(net, att, params)
    loc = locator.locate(case.pts[:, 0], case.pts[:, 1], max_drop_m=params.max_drop_m)
    latency, site = lat_field.at(loc)
    return latency, site, loc, att


def check(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Assert latcircle equals the reference at every query point; return latcircle's."""
    want = reference(case)
    latency, site, loc, _ = _latcircle(case)
    for i, exp in enumerate(want):
        got = float(latency[i])
        if not exp.access:
            assert loc.edge[i] == -1 and np.isinf(loc.drop[i])
            assert np.isinf(got) and site[i] == -1, f"point {i}: beyond max drop"
            continue
        assert loc.edge[i] >= 0
        match = (np.isinf(exp.latency) and np.isinf(got)) or abs(got - exp.latency) <= TOL_US
        assert match, f"point {i} {case.pts[i]}: latcircle {got!r}, reference {exp.latency!r}"
        if np.isinf(got):
            assert site[i] == -1
        elif exp.site is not None:
            assert site[i] == exp.site, f"point {i}: serving site"
    return latency, site


def _line(*pts: tuple[float, float]) -> LineString:
    return LineString(pts)


# --------------------------------------------------------------------------- presets


@pytest.mark.parametrize("preset", sorted(HAND_PRESETS))
def test_presets_resolve_to_the_hand_values(preset: str) -> None:
    p = LatencyModel(preset=preset).resolved(network_kind="road")
    fixed, factor = HAND_PRESETS[preset]
    assert p.us_per_m == pytest.approx(K_US_PER_M * R_ROAD, rel=1e-12)
    assert p.fixed_us == pytest.approx(fixed)
    assert p.factor == factor
    assert p.max_drop_m == 1000.0
    assert LatencyModel(preset=preset).resolved(network_kind="fibre").route_factor == 1.0


# --------------------------------------------------------------------------- hand cases


def _street() -> list[LineString]:
    """A bent main street of three polylines, with a side loop making a long way round."""
    return [
        _line((0, 0), (400, 30), (800, 0), (1200, 0)),  # A -> B, bent
        _line((1200, 0), (1600, -50), (2000, 0)),  # B -> C
        _line((0, 0), (0, 900), (2000, 900), (2000, 0)),  # A -> C, the long way
    ]


def test_site_and_locations_on_the_same_edge_both_sides() -> None:
    kr = K_US_PER_M * R_ROAD
    site = np.array([[600.0, 40.0]])  # above the bent edge A-B, off the network
    pts = np.array(
        [
            [100.0, 10.0],
            [300.0, 40.0],
            [590.0, 20.0],
            [610.0, 14.0],  # west of q_s
            [700.0, -20.0],
            [1000.0, 5.0],
            [1190.0, 0.0],  # east of q_s
            [1500.0, -20.0],
            [0.0, 450.0],
            [1000.0, 880.0],  # other edges
        ]
    )
    case = Case(geoms=_street(), site_xy=site, site_us=np.array([20.0]), pts=pts)
    latency, site_idx = check(case)
    assert (site_idx == 0).all()
    # By hand for a point straight on the edge near q_s: E + S + k·r·(drop_s + |Δt|).
    edge = _street()[0]
    t_s = edge.project(shapely.Point(600, 40))
    drop_s = edge.distance(shapely.Point(600, 40))
    t_p = edge.project(shapely.Point(700, -20))
    drop_p = edge.distance(shapely.Point(700, -20))
    want = 100.0 + 20.0 + kr * (drop_s + abs(t_p - t_s) + drop_p)
    assert latency[4] == pytest.approx(want, abs=TOL_US)


def test_site_exactly_on_a_node_and_on_an_edge_with_zero_device() -> None:
    site = np.array([[1200.0, 0.0], [0.0, 450.0]])
    pts = np.array([[1200.0, 0.0], [0.0, 450.0], [1300.0, -10.0], [50.0, 900.0], [20.0, 5.0]])
    case = Case(geoms=_street(), site_xy=site, site_us=np.array([0.0, 0.0]), pts=pts)
    latency, _ = check(case)
    assert latency[0] == pytest.approx(100.0, abs=TOL_US)
    assert latency[1] == pytest.approx(100.0, abs=TOL_US)


def test_site_off_the_network() -> None:
    kr = K_US_PER_M * R_ROAD
    site = np.array([[1000.0, 1200.0]])  # 300 m above the long way's top (y = 900)
    pts = np.array(
        [
            [1000.0, 600.0],
            [1000.0, 1400.0],
            [1250.0, 900.0],
            [100.0, 0.0],
            [2000.0, 450.0],
            [1600.0, -100.0],
        ]
    )
    case = Case(geoms=_street(), site_xy=site, site_us=np.array([35.0]), pts=pts)
    latency, _ = check(case)
    # q_s = (1000, 900). Points below and above share it as q_p: along-edge distance 0.
    assert latency[0] == pytest.approx(100.0 + 35.0 + kr * (300.0 + 300.0), abs=TOL_US)
    assert latency[1] == pytest.approx(100.0 + 35.0 + kr * (300.0 + 500.0), abs=TOL_US)
    assert latency[2] == pytest.approx(100.0 + 35.0 + kr * (300.0 + 250.0), abs=TOL_US)


def test_site_beyond_max_drop_serves_nothing() -> None:
    far = np.array([[1000.0, 2500.0]])  # 1600 m from the nearest edge
    pts = np.array([[500.0, 0.0], [1000.0, 900.0], [1000.0, 1500.0]])
    case = Case(geoms=_street(), site_xy=far, site_us=np.array([20.0]), pts=pts)
    latency, site = check(case)
    assert np.isinf(latency).all() and (site == -1).all()
    _, _, _, att = _latcircle(case)
    assert not att.attached[0]
    # With a second, attached site the far one still serves nothing.
    case.site_xy = np.array([[1000.0, 2500.0], [2000.0, 450.0]])
    case.site_us = np.array([0.0, 20.0])
    latency, site = check(case)
    assert np.isfinite(latency).all() and (site == 1).all()


def test_location_beyond_max_drop() -> None:
    site = np.array([[100.0, 10.0]])
    # (1000, 250) is 250 m from A-B; (1000, 650) 250 m from the long way (y = 900);
    # (1000, 450) is 450 m from both; (-400, -400) is 566 m from A.
    pts = np.array([[1000.0, 250.0], [1000.0, 650.0], [1000.0, 450.0], [-400.0, -400.0]])
    case = Case(geoms=_street(), site_xy=site, site_us=np.array([20.0]), pts=pts, max_drop_m=300.0)
    latency, site_idx = check(case)
    _, _, loc, _ = _latcircle(case)
    assert (loc.edge[2:] == -1).all() and np.isinf(loc.drop[2:]).all()
    assert np.isinf(latency[2:]).all() and (site_idx[2:] == -1).all()
    assert np.isfinite(latency[:2]).all() and (site_idx[:2] == 0).all()
    assert loc.drop[:2] == pytest.approx([250.0, 250.0])


def test_two_components() -> None:
    island = [_line((5000, 0), (5500, 100), (6000, 0)), _line((6000, 0), (6000, 700))]
    case = Case(
        geoms=_street() + island,
        site_xy=np.array([[1000.0, 100.0]]),
        site_us=np.array([20.0]),
        pts=np.array([[500.0, 0.0], [5500.0, 50.0], [6100.0, 300.0], [2000.0, 300.0]]),
    )
    latency, site = check(case)
    assert np.isfinite(latency[[0, 3]]).all() and (site[[0, 3]] == 0).all()
    assert np.isinf(latency[[1, 2]]).all() and (site[[1, 2]] == -1).all()
    # A site on the island serves it, and only it.
    case.site_xy = np.array([[1000.0, 100.0], [6050.0, 650.0]])
    case.site_us = np.array([20.0, 20.0])
    latency, site = check(case)
    assert site.tolist() == [0, 1, 1, 0]


def test_per_node_device_latency() -> None:
    # A ladder with OTN sites on some nodes (ids), lines drawn every which way.
    nodes = {1: (0, 0), 2: (1000, 0), 3: (2000, 0), 4: (0, 800), 5: (1000, 800), 6: (2000, 800)}
    pairs = [(1, 2), (2, 3), (4, 5), (5, 6), (1, 4), (2, 5), (3, 6)]
    geoms, u, v = [], [], []
    for k, (a, b) in enumerate(pairs):
        mid = ((nodes[a][0] + nodes[b][0]) / 2 + 37.0, (nodes[a][1] + nodes[b][1]) / 2 + 23.0)
        g = _line(nodes[a], mid, nodes[b])
        geoms.append(g.reverse() if k % 3 == 1 else g)
        u.append(a)
        v.append(b)
    case = Case(
        geoms=geoms,
        u=u,
        v=v,
        node_xy=nodes,
        node_us={2: 50.0, 5: 7.0, 3: 11.0, 4: 0.5},
        site_xy=np.array([[100.0, 30.0], [1900.0, 780.0]]),
        site_us=np.array([20.0, 60.0]),
        pts=np.array(
            [
                [1000.0, 0.0],
                [1000.0, 400.0],
                [1500.0, 10.0],
                [500.0, 820.0],
                [2000.0, 400.0],
                [0.0, 400.0],
                [1000.0, 800.0],
                [1999.0, 1.0],
            ]
        ),
    )
    latency, site = check(case)
    # By hand: the point at node 2 is equally near 1-2, 2-3 and 2-5, so it is at node 2 and
    # is reached through it: along 1-2 from site 0, then D(2) = 50 µs.
    kr = K_US_PER_M * R_ROAD
    g12 = geoms[0]
    t_s, drop_s = g12.project(shapely.Point(100, 30)), g12.distance(shapely.Point(100, 30))
    want = 100.0 + 20.0 + kr * (drop_s + g12.length - t_s) + 50.0
    assert site[0] == 0 and latency[0] == pytest.approx(want, abs=TOL_US)
    # A point on 1-2 10 m short of node 2 is reached along the edge, without D(2).
    p = g12.interpolate(g12.length - 10.0)
    case.pts = np.array([[p.x, p.y]])
    latency, site = check(case)
    want = 100.0 + 20.0 + kr * (drop_s + g12.length - 10.0 - t_s)
    assert site[0] == 0 and latency[0] == pytest.approx(want, abs=TOL_US)


def test_a_site_at_a_device_node_enters_through_it() -> None:
    # Site exactly at node 2 (1000, 0), D(2) = 50: every path starts with D(2).
    nodes = {1: (0, 0), 2: (1000, 0), 3: (2000, 0)}
    geoms = [_line((0, 0), (1000, 0)), _line((1000, 0), (1500, 100), (2000, 0))]
    case = Case(
        geoms=geoms,
        u=[1, 2],
        v=[2, 3],
        node_xy=nodes,
        node_us={2: 50.0, 1: 3.0},
        site_xy=np.array([[1000.0, -40.0]]),
        site_us=np.array([20.0]),
        pts=np.array([[400.0, 0.0], [1000.0, 0.0], [1500.0, 100.0], [0.0, 0.0], [-30.0, 0.0]]),
    )
    latency, _ = check(case)
    kr = K_US_PER_M * R_ROAD
    base = 100.0 + 20.0 + kr * 40.0 + 50.0
    assert latency[0] == pytest.approx(base + kr * 600.0, abs=TOL_US)
    assert latency[1] == pytest.approx(base, abs=TOL_US)
    assert latency[2] == pytest.approx(base + kr * np.hypot(500.0, 100.0), abs=TOL_US)
    assert latency[3] == pytest.approx(base + kr * 1000.0 + 3.0, abs=TOL_US)
    assert latency[4] == pytest.approx(base + kr * 1030.0 + 3.0, abs=TOL_US)


def _ladder_field(piece_m: float):
    nodes = {1: (0, 0), 2: (1000, 0), 3: (2000, 0), 4: (0, 800), 5: (1000, 800), 6: (2000, 800)}
    pairs = [(1, 2), (2, 3), (4, 5), (5, 6), (1, 4), (2, 5), (3, 6)]
    geoms = [
        _line(
            nodes[a],
            ((nodes[a][0] + nodes[b][0]) / 2 + 37.0, (nodes[a][1] + nodes[b][1]) / 2 + 23.0),
            nodes[b],
        )
        for a, b in pairs
    ]
    lines = gpd.GeoDataFrame(
        {"u": [a for a, _ in pairs], "v": [b for _, b in pairs]}, geometry=geoms, crs=UTM50
    )
    net = build_network(lines, node_latency_us={2: 50.0, 5: 7.0, 3: 11.0, 4: 0.5})
    locator = Locator(net, piece_m=piece_m)
    params = LatencyModel().resolved(network_kind="road")
    att = attach_sites(locator, np.array([100.0]), np.array([30.0]), np.array([20.0]), params)
    return locator, solve(net, att, params)


def test_a_point_at_a_device_node_does_not_depend_on_the_locator_tie_break() -> None:
    # Points whose nearest network point is node 2 (1000, 0) or node 5 (1000, 800): equally
    # near every edge ending there. Which edge the locator reports changes with piece_m;
    # the latency must not.
    pts = np.array(
        [
            [1000.0, 0.0],
            [1000.0, -30.0],
            [1030.0, -40.0],
            [980.0, -50.0],
            [1000.0, 800.0],
            [1000.0, 850.0],
            [960.0, 830.0],
        ]
    )
    results = []
    for piece_m in (5.0, 40.0, 200.0, 2000.0):
        locator, lat_field = _ladder_field(piece_m)
        loc = locator.locate(pts[:, 0], pts[:, 1], max_drop_m=1000.0)
        results.append(lat_field.at(loc))
    for latency, site in results[1:]:
        np.testing.assert_allclose(latency, results[0][0], atol=TOL_US)
        assert np.array_equal(site, results[0][1])


def test_parallel_edges_and_self_loops() -> None:
    geoms = [
        _line((0, 0), (500, 300), (1000, 0)),  # 1-2 the long way (1166 m): dropped
        _line((1000, 0), (500, 0), (0, 0)),  # 2-1 straight (1000 m), drawn backwards: kept
        _line((1000, 0), (1000, 500)),  # 2-3
        _line((1000, 500), (1100, 600), (900, 600), (1000, 500)),  # 3-3 self-loop
        _line((0, 0), (-100, 100), (-100, -100), (0, 0)),  # 1-1 self-loop
    ]
    nodes = {1: (0, 0), 2: (1000, 0), 3: (1000, 500)}
    pts = np.array(
        [
            [500.0, 290.0],
            [500.0, 100.0],
            [1000.0, 590.0],
            [-90.0, 0.0],
            [1050.0, 250.0],
            [700.0, 180.0],
        ]
    )
    for ids in (True, False):
        case = Case(
            geoms=geoms,
            u=[1, 2, 2, 3, 1] if ids else None,
            v=[2, 1, 3, 3, 1] if ids else None,
            node_xy=nodes,
            site_xy=np.array([[0.0, -20.0]]),
            site_us=np.array([20.0]),
            pts=pts,
        )
        check(case)
        _, _, loc, _ = _latcircle(case)
        # The long way is still a road: the point beside it projects onto it (its first
        # segment, at 500·290 − 300·500 over |(500, 300)|), not onto the straight edge.
        assert loc.drop[0] == pytest.approx(5000.0 / np.hypot(500.0, 300.0), abs=1e-9)


@pytest.mark.parametrize("preset", ["round_trip", "end_to_end", "round_trip_end_to_end"])
def test_presets(preset: str) -> None:
    kr = K_US_PER_M * R_ROAD
    case = Case(
        geoms=_street(),
        site_xy=np.array([[1000.0, 1200.0]]),
        site_us=np.array([35.0]),
        pts=np.array([[1000.0, 600.0], [300.0, 50.0], [2000.0, 800.0]]),
        preset=preset,
    )
    latency, _ = check(case)
    fixed, factor = HAND_PRESETS[preset]
    assert latency[0] == pytest.approx(factor * (fixed + 35.0 + kr * 600.0), abs=TOL_US)


def test_several_sites_at_the_same_location() -> None:
    kr = K_US_PER_M * R_ROAD
    xy = [1000.0, 60.0]
    pts = np.array([[1000.0, 0.0], [200.0, 0.0], [2000.0, 500.0], [1000.0, 900.0]])
    # Different device latencies: the lightest (index 2) serves everything.
    case = Case(
        geoms=_street(),
        site_xy=np.array([xy, xy, xy]),
        site_us=np.array([30.0, 25.0, 5.0]),
        pts=pts,
    )
    latency, site = check(case)
    assert (site == 2).all()
    # Equal device latencies: any of them may serve, the latency is the same.
    case.site_us = np.array([20.0, 20.0, 20.0])
    latency, site = check(case)
    assert set(site.tolist()) <= {0, 1, 2}
    edge = _street()[0]
    drop = edge.distance(shapely.Point(*xy))
    assert drop == pytest.approx(60.0)  # the point (1000, 0) is on the edge: drop 0
    assert latency[0] == pytest.approx(100.0 + 20.0 + kr * drop, abs=TOL_US)


def test_exact_tie_takes_the_lower_latency() -> None:
    # A route digitised twice: A runs (0, 0) -> (1000, 0); B retraces A's (200, 0) -> (800, 0)
    # exactly, then turns north to (800, 600), where the only site is. The two do not meet
    # at any node. A point 10 m north of (500, 0) is exactly as near A as B: on A it reaches
    # no site, on B the site 300 + 600 m away. Breaking the tie by line order (A first) gave
    # "no site"; the minimum over both is the B latency.
    kr = K_US_PER_M * R_ROAD
    a = _line((0, 0), (1000, 0))
    b = _line((200, 0), (800, 0), (800, 600))
    pts = np.array([[500.0, 10.0], [500.0, -10.0], [100.0, 5.0]])
    for geoms in ([a, b], [b, a]):
        case = Case(
            geoms=geoms, site_xy=np.array([[800.0, 600.0]]), site_us=np.array([20.0]), pts=pts
        )
        latency, site = check(case)
        assert latency[0] == pytest.approx(100.0 + 20.0 + kr * (300.0 + 600.0 + 10.0), abs=TOL_US)
        assert latency[1] == latency[0] and site[0] == site[1] == 0
        assert np.isinf(latency[2])  # (100, 5) is nearest A alone: no site on A


def test_a_site_equally_near_two_edges_enters_both() -> None:
    # The site at (500, 10) is 10 m from A and from B (B retraces A between 200 and 800).
    # A point near A's far end is served through A; one near B's far end through B.
    kr = K_US_PER_M * R_ROAD
    a = _line((0, 0), (1000, 0))
    b = _line((200, 0), (800, 0), (800, 600))
    pts = np.array([[1000.0, -50.0], [830.0, 600.0]])
    for geoms in ([a, b], [b, a]):
        case = Case(
            geoms=geoms, site_xy=np.array([[500.0, 10.0]]), site_us=np.array([20.0]), pts=pts
        )
        latency, _ = check(case)
        assert latency[0] == pytest.approx(100.0 + 20.0 + kr * (10.0 + 500.0 + 50.0), abs=TOL_US)
        assert latency[1] == pytest.approx(100.0 + 20.0 + kr * (10.0 + 900.0 + 30.0), abs=TOL_US)


def test_no_site_online_or_attached() -> None:
    case = Case(
        geoms=_street(),
        site_xy=np.zeros((0, 2)),
        site_us=np.zeros(0),
        pts=np.array([[500.0, 0.0], [9000.0, 0.0]]),
    )
    latency, site = check(case)
    assert np.isinf(latency).all() and (site == -1).all()


def test_online_mask_equals_dropping_the_offline_sites() -> None:
    sites = np.array([[100.0, 10.0], [1900.0, 10.0], [1000.0, 880.0]])
    pts = np.random.default_rng(3).uniform([-200, -200], [2200, 1100], size=(60, 2))
    full = Case(geoms=_street(), site_xy=sites, site_us=np.array([20.0, 20.0, 20.0]), pts=pts)
    data = {}
    net = build_network(gpd.GeoDataFrame(data, geometry=full.geoms, crs=UTM50))
    locator = Locator(net)
    params = LatencyModel().resolved(network_kind="road")
    att = attach_sites(locator, sites[:, 0], sites[:, 1], full.site_us, params)
    loc = locator.locate(pts[:, 0], pts[:, 1], max_drop_m=params.max_drop_m)
    online = np.array([True, False, True])
    got, site = solve(net, att, params, online=online).at(loc)
    sub = Case(geoms=_street(), site_xy=sites[online], site_us=full.site_us[online], pts=pts)
    want_lat, want_site = check(sub)
    np.testing.assert_allclose(got, want_lat, atol=TOL_US)
    # Site indices refer to the full list: sub-index 1 is full index 2.
    assert np.array_equal(site, np.where(want_site >= 0, np.flatnonzero(online)[want_site], -1))


# --------------------------------------------------------------------------- random graphs


def _bent(rng: np.random.Generator, pa: np.ndarray, pb: np.ndarray, offset: float) -> LineString:
    n_mid = int(rng.integers(0, 4))
    along = np.sort(rng.uniform(0.1, 0.9, n_mid))
    normal = np.array([-(pb - pa)[1], (pb - pa)[0]])
    bend = rng.normal(0, 0.15, n_mid) + offset
    mids = [pa + f * (pb - pa) + o * normal for f, o in zip(along, bend, strict=True)]
    return LineString([pa, *mids, pb])


@st.composite
def random_case(draw: st.DrawFn, *, messy: bool = False) -> Case:
    """A small random metro: polylines, parallels, self-loops, maybe a second component.

    ``messy`` adds what real data carries: ids given as floats (with NaN) or strings (with
    None), sub-metre lines drawn backwards, overlapping duplicates (a line retraced
    vertex for vertex, forwards or backwards, then going elsewhere), and gaps under
    ``snap_m`` (a line starting a few metres from a node).
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    with_ids = draw(st.booleans())
    n = draw(st.integers(2, 9))
    pos = {i + 1: tuple(rng.uniform(0, 3000, 2)) for i in range(n)}
    pairs = [(i + 1, int(rng.integers(1, i + 1))) for i in range(1, n)]  # a spanning tree
    pairs += [
        tuple(int(k) for k in rng.choice(n, 2, replace=False) + 1)
        for _ in range(draw(st.integers(0, n)))
    ]
    if draw(st.booleans()):  # a second component far to the east
        m = draw(st.integers(2, 4))
        base = n + 1
        for j in range(m):
            pos[base + j] = (float(rng.uniform(6000, 8000)), float(rng.uniform(0, 2000)))
        pairs += [(base + j, base + int(rng.integers(0, j))) for j in range(1, m)]
    geoms, u, v = [], [], []
    seen: set[frozenset] = set()
    for a, b in pairs:
        key = frozenset((a, b))
        parallel = key in seen
        seen.add(key)
        geoms.append(_bent(rng, np.array(pos[a]), np.array(pos[b]), 0.3 if parallel else 0.0))
        u.append(a)
        v.append(b)
    for _ in range(draw(st.integers(0, 2))):  # self-loops
        a = int(rng.integers(1, n + 1))
        pa = np.array(pos[a])
        geoms.append(
            LineString(
                [pa, pa + rng.uniform(50, 200, 2), pa + np.array([rng.uniform(50, 200), 0.0]), pa]
            )
        )
        u.append(a)
        v.append(a)
    snap_m = 0.0
    stubs: set[int] = set()  # lines to a node of their own: reversed below
    if messy:
        snap_m = draw(st.sampled_from([0.0, 0.0, 5.0, 40.0]))
        for _ in range(draw(st.integers(0, 3))):  # sub-metre stubs to a new node
            a = int(rng.integers(1, n + 1))
            k = max(pos) + 1
            ang = rng.uniform(0, 2 * np.pi)
            pos[k] = tuple(
                np.array(pos[a]) + rng.uniform(0.05, 0.95) * np.array([np.cos(ang), np.sin(ang)])
            )
            stubs.add(len(geoms))
            geoms.append(LineString([pos[a], pos[k]]))
            u.append(a)
            v.append(k)
        for _ in range(draw(st.integers(0, 2))):  # overlapping duplicates
            src = int(rng.integers(0, len(pairs)))
            g, a = geoms[src], u[src]
            coords = list(g.coords)
            if len(coords) < 3:
                continue
            cut = int(rng.integers(1, len(coords) - 1))
            k = max(pos) + 1
            pos[k] = tuple(rng.uniform(0, 3000, 2))
            trace = [*coords[: cut + 1], pos[k]]
            line = LineString(trace)
            # Retraced backwards too: without ids only (with ids, only pinned lines are).
            geoms.append(line.reverse() if not with_ids and rng.random() < 0.5 else line)
            u.append(a)
            v.append(k)
            if rng.random() < 0.5:
                geoms.append(_bent(rng, np.array(pos[k]), np.array(pos[v[src]]), 0.0))
                u.append(k)
                v.append(v[src])
        for _ in range(draw(st.integers(0, 2))):  # a line starting a gap away from a node
            a = int(rng.integers(1, n + 1))
            gap = rng.uniform(0.5, 30.0)
            ang = rng.uniform(0, 2 * np.pi)
            k, k2 = max(pos) + 1, max(pos) + 2
            pos[k] = tuple(np.array(pos[a]) + gap * np.array([np.cos(ang), np.sin(ang)]))
            pos[k2] = tuple(rng.uniform(0, 3000, 2))
            geoms.append(_bent(rng, np.array(pos[k]), np.array(pos[k2]), 0.0))
            u.append(k)
            v.append(k2)
    missing: list[int] = []
    id_type = "int"
    if with_ids:
        if messy:
            id_type = draw(st.sampled_from(["int", "float", "str"]))
            missing = [i for i in range(len(geoms)) if rng.random() < 0.2]
        # Lines drawn v -> u, where a neighbour pins the node down (degree >= 2 among the
        # lines whose ids latcircle is given), and every sub-metre stub.
        nbrs: dict[int, set[int]] = defaultdict(set)
        for i, (a, b) in enumerate(zip(u, v, strict=True)):
            if a != b and i not in missing:
                nbrs[a].add(b)
                nbrs[b].add(a)
        for k in range(len(geoms)):
            placed = len(nbrs[u[k]]) >= 2 or len(nbrs[v[k]]) >= 2
            if k not in missing and u[k] != v[k] and placed and (k in stubs or rng.random() < 0.3):
                geoms[k] = geoms[k].reverse()
        node_us = {a: float(rng.choice([0.0, 5.0, 40.0])) for a in pos}
    else:
        node_us = {}
    n_sites = draw(st.integers(1, 4))
    site_xy = rng.uniform([-500, -500], [3500, 3500], size=(n_sites, 2))
    if draw(st.booleans()):
        site_xy[0] = site_xy[-1]  # two sites at one location
    if messy and draw(st.booleans()):  # a site on an overlap or a loop
        site_xy[-1] = np.asarray(geoms[-1].interpolate(rng.uniform(0, 1), normalized=True).coords)[
            0
        ]
    site_us = rng.choice([0.0, 20.0, 35.0], size=n_sites)
    pts = [rng.uniform([-800, -800], [8500, 3800], size=(25, 2))]
    for g in rng.choice(np.asarray(geoms, dtype=object), size=6):  # points on the network
        pts.append(np.asarray(g.interpolate(rng.uniform(0, 1), normalized=True).coords))
    if messy:  # points beside the last lines added: stubs, overlaps, gaps
        for g in geoms[-4:]:
            q = np.asarray(g.interpolate(rng.uniform(0, 1), normalized=True).coords)
            pts.append(q + rng.normal(0, 20, size=(1, 2)))
    pts.append(np.array([pos[k] for k in rng.choice(list(pos), size=3)]))  # at nodes
    return Case(
        geoms=geoms,
        u=u if with_ids else None,
        v=v if with_ids else None,
        node_xy={k: np.asarray(p) for k, p in pos.items()},
        node_us=node_us,
        site_xy=site_xy,
        site_us=site_us,
        pts=np.concatenate(pts),
        preset=draw(st.sampled_from(sorted(HAND_PRESETS))),
        max_drop_m=draw(st.sampled_from([150.0, 400.0, 1000.0])),
        id_type=id_type,
        missing=missing,
        snap_m=snap_m,
    )


@settings(max_examples=60, deadline=None)
@given(random_case())
def test_random_graphs_match_the_reference(case: Case) -> None:
    check(case)


@settings(max_examples=80, deadline=None)
@given(random_case(messy=True))
def test_random_messy_networks_match_the_reference(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- the locator


def _brute_locate(geoms: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    d = shapely.distance(shapely.points(pts)[:, None], geoms[None, :])
    dmin = d.min(axis=1)
    return dmin, [list(np.flatnonzero(row <= m + 1e-6)) for row, m in zip(d, dmin, strict=True)]


class _CountingTree:
    """Wraps the locator's KD-tree to record the k of every query."""

    def __init__(self, tree) -> None:
        self.tree = tree
        self.ks: list[int] = []

    def __getattr__(self, name: str):
        return getattr(self.tree, name)  # other queries (the tie check) unrecorded

    def query(self, *args, **kwargs):
        k = kwargs.get("k", 1)
        self.ks.append(max(k) if isinstance(k, list) else k)  # a list: those columns only
        return self.tree.query(*args, **kwargs)


def _check_locate(lines: list[LineString], pts: np.ndarray, max_drop_m: float) -> _CountingTree:
    net = build_network(gpd.GeoDataFrame(geometry=lines, crs=UTM50))
    locator = Locator(net)
    counting = _CountingTree(getattr(locator, "_tree", None))
    if counting.tree is not None:  # white box: count the candidates asked for
        locator._tree = counting
    loc = locator.locate(pts[:, 0], pts[:, 1], max_drop_m=max_drop_m)
    geoms = np.asarray(net.geometry)  # after simplification: the edges latcircle keeps
    dmin, cands = _brute_locate(geoms, pts)
    for i in range(len(pts)):
        if dmin[i] > max_drop_m:
            assert loc.edge[i] == -1 and np.isinf(loc.drop[i]), f"point {i}"
            continue
        assert loc.edge[i] >= 0, f"point {i}: {dmin[i]} m away, within {max_drop_m}"
        assert abs(loc.drop[i] - dmin[i]) <= 1e-9, f"point {i}: drop"
        assert loc.edge[i] in cands[i]
        g = geoms[loc.edge[i]]
        # The reported (edge, t) is a nearest point.
        q = shapely.line_interpolate_point(g, loc.t[i])
        assert abs(q.distance(shapely.Point(pts[i])) - dmin[i]) <= 1e-6
        if len(cands[i]) == 1:
            t = shapely.line_locate_point(g, shapely.Point(pts[i]))
            assert abs(loc.t[i] - t) <= 1e-6, f"point {i}: t {loc.t[i]} vs {t}"
        assert 0.0 <= loc.t[i] <= net.length[loc.edge[i]]
    return counting


def test_locate_on_long_edges_escalates_and_stays_exact() -> None:
    rng = np.random.default_rng(11)
    lines = [
        _line((0, 0), (8000, 0)),  # 8 km straight
        _line((0, 3000), (2500, 3600), (5000, 2900), (7500, 3300), (9000, 3000)),  # 9 km bent
        _line((8000, 0), (9000, 3000)),
    ]
    pts = np.column_stack([rng.uniform(-1500, 10500, 800), rng.uniform(-1500, 4500, 800)])
    counting = _check_locate(lines, pts, max_drop_m=1000.0)
    if counting.tree is not None:
        assert max(counting.ks) > 8, "the candidate-escalation path was not exercised"


def test_locate_near_a_dense_junction() -> None:
    rng = np.random.default_rng(5)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
    lines = [
        _line((0, 0), (r * np.cos(a), r * np.sin(a)))
        for a, r in zip(angles, rng.uniform(30, 300, 40), strict=True)
    ]
    lines += [_line((0, 0), (5, 0), (5, 5), (10, 5))]
    pts = rng.normal(0, 40, size=(600, 2))
    counting = _check_locate(lines, pts, max_drop_m=500.0)
    if counting.tree is not None:
        assert max(counting.ks) > 8


def test_locate_answer_does_not_depend_on_k_or_threads() -> None:
    # The proof makes the first k a matter of speed only: with 1, 2, 8 or 64 first candidates,
    # and on one thread or two, every point gets the same edge, position and drop, bit for bit
    # (ties included: of equally near pieces the lowest index wins, whichever were tested).
    rng = np.random.default_rng(3)
    angles = rng.uniform(0, 2 * np.pi, 60)
    lines = [
        _line((0, 0), (r * np.cos(a), r * np.sin(a)))
        for a, r in zip(angles, rng.uniform(50, 3000, 60), strict=True)
    ]
    lines += [_line((-3000, y), (3000, y + 50)) for y in (-1500, -700, 900, 2100)]
    net = build_network(gpd.GeoDataFrame(geometry=lines, crs=UTM50))
    # A lattice (grid cells: many exact ties at equal distances) plus random points.
    gx, gy = np.meshgrid(np.arange(-4000, 4000, 40.0), np.arange(-4000, 4000, 40.0))
    x = np.r_[gx.ravel(), rng.uniform(-4000, 4000, 5000)]
    y = np.r_[gy.ravel(), rng.uniform(-4000, 4000, 5000)]
    assert len(x) >= 2 * MIN_POINTS_PER_THREAD  # so that workers=2 really splits the points
    ref = Locator(net, k=8).locate(x, y, max_drop_m=800.0, workers=1)
    assert 0 < ref.has_access.sum() < len(x)
    for k, workers in ((1, 1), (2, 2), (8, 2), (64, 1)):
        got = Locator(net, k=k).locate(x, y, max_drop_m=800.0, workers=workers)
        np.testing.assert_array_equal(got.edge, ref.edge, err_msg=f"k={k}, workers={workers}")
        np.testing.assert_array_equal(got.t, ref.t)
        np.testing.assert_array_equal(got.drop, ref.drop)
        # The ties too: the same further edges for the same points (a lattice ties a lot).
        np.testing.assert_array_equal(got.tie_point, ref.tie_point)
        np.testing.assert_array_equal(got.tie_edge, ref.tie_edge)
        np.testing.assert_allclose(got.tie_t, ref.tie_t, rtol=0, atol=1e-9)
    assert len(ref.tie_point) > 20


@settings(max_examples=40, deadline=None)
@given(random_case(), st.sampled_from([100.0, 600.0, 2000.0]))
def test_locate_random_graphs(case: Case, max_drop_m: float) -> None:
    # Without ids, so that every line's geometry is the edge as drawn.
    _check_locate(case.geoms, case.pts, max_drop_m)


def test_locator_pieces_lie_on_their_lines_whatever_the_build_block(monkeypatch) -> None:
    # The locator cuts segments into pieces a block of whole lines at a time (memory), the
    # offsets along each line from one running sum carried from block to block. Blocks of
    # 1, 2 or 3 coordinates (a line or two each) give the same pieces, bit for bit, and the
    # same answers as one block; and every piece checks against shapely: its
    # start is the line's point at its offset, its end the next piece's start (or the
    # segment's end), and no piece is longer than ``piece_m``.
    from latcircle.engine import locator as locator_module

    rng = np.random.default_rng(21)
    lines = [_line(*map(tuple, rng.uniform(-900, 900, size=(int(n), 2)))) for n in (2, 3, 5, 7, 2)]
    lines += [_line((0, 0), (0, 0.5)), _line((5, 5), (5, 5), (45, 5))]  # short; a zero piece
    net = build_network(gpd.GeoDataFrame(geometry=lines, crs=UTM50))
    x, y = rng.uniform(-1000, 1000, 4000), rng.uniform(-1000, 1000, 4000)
    monkeypatch.setattr(locator_module, "BUILD_BLOCK", 10**9)
    one = Locator(net, piece_m=30.0)
    ref = one.locate(x, y, max_drop_m=300.0, workers=1)
    for block in (1, 2, 3):
        monkeypatch.setattr(locator_module, "BUILD_BLOCK", block)
        got = Locator(net, piece_m=30.0)
        for name in ("_ax", "_ay", "_dx", "_dy", "_off", "_edge_s"):
            np.testing.assert_array_equal(getattr(got, name), getattr(one, name), err_msg=name)
        assert got._half == one._half
        np.testing.assert_array_equal(got._tree.data, one._tree.data)
        loc = got.locate(x, y, max_drop_m=300.0, workers=1)
        for name in ("edge", "t", "drop", "tie_point", "tie_edge", "tie_t"):
            np.testing.assert_array_equal(getattr(loc, name), getattr(ref, name), err_msg=name)
    n = one.n_pieces
    edge, off = one._edge_s[:n], one._off
    geoms = net.geometry[edge]
    start = shapely.line_interpolate_point(geoms, off)
    np.testing.assert_allclose(shapely.get_x(start), one._ax[:n], rtol=0, atol=1e-9)
    np.testing.assert_allclose(shapely.get_y(start), one._ay[:n], rtol=0, atol=1e-9)
    length = np.hypot(one._dx[:n], one._dy[:n])
    assert length.max() <= 30.0 + 1e-9
    assert one._half == length.max() / 2
    end = shapely.line_interpolate_point(geoms, off + length)
    np.testing.assert_allclose(shapely.get_x(end), one._ax[:n] + one._dx[:n], atol=1e-9)
    np.testing.assert_allclose(shapely.get_y(end), one._ay[:n] + one._dy[:n], atol=1e-9)
    # The pieces of each line add up to its length; the sentinel is no edge, far away.
    np.testing.assert_allclose(
        np.bincount(edge, weights=length, minlength=net.n_edges), net.length, atol=1e-9
    )
    assert one._edge_s[n] == -1 and one._ax[n] >= 1e100
