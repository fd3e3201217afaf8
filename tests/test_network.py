"""build_network: nodes, orientation, parallel edges, self-loops, components, lengths.

Every expectation is written by hand (or derived from the geometry that generated the
input), never read back from the code under test.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from latcircle.config import LatencyModel
from latcircle.engine.latency import arc_matrix, attach_sites, solve
from latcircle.engine.locator import Locator
from latcircle.engine.network import build_network
from latcircle.errors import InputError

UTM50 = "EPSG:32650"


def _lines(geoms: list[LineString], u: list[int] | None = None, v: list[int] | None = None):
    data = {} if u is None else {"u": u, "v": v}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=UTM50)


def _node_at(net, x: float, y: float) -> int:
    hit = np.flatnonzero(np.hypot(net.x - x, net.y - y) < 1e-9)
    assert len(hit) == 1, f"expected one node at ({x}, {y}), found {len(hit)}"
    return int(hit[0])


def _edge_between(net, a: int, b: int) -> int:
    hit = np.flatnonzero(((net.u == a) & (net.v == b)) | ((net.u == b) & (net.v == a)))
    assert len(hit) == 1
    return int(hit[0])


def _assert_geometry_runs_u_to_v(net) -> None:
    for i in range(net.n_edges):
        coords = np.asarray(net.geometry[i].coords)
        assert coords[0] == pytest.approx((net.x[net.u[i]], net.y[net.u[i]]), abs=1e-9)
        assert coords[-1] == pytest.approx((net.x[net.v[i]], net.y[net.v[i]]), abs=1e-9)


# --------------------------------------------------------------------------- nodes


def test_nodes_from_ids_keep_a_bridge_unconnected() -> None:
    # A road A-B-C, and a bridge D-E whose west end lies exactly on B but is another node.
    road = [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)])]
    bridge = [LineString([(100, 0), (100, 300)])]
    with_ids = build_network(_lines(road + bridge, u=[1, 2, 4], v=[2, 3, 5]))
    assert with_ids.n_nodes == 5
    assert with_ids.n_edges == 3
    assert with_ids.stats["components"] == 2
    # Two nodes (ids 2 and 4) sit at (100, 0).
    assert np.sum(np.hypot(with_ids.x - 100, with_ids.y) < 1e-9) == 2
    # The road (3 nodes) is the larger component, so it is 0; the bridge is 1.
    assert sorted(with_ids.component.tolist()) == [0, 0, 0, 1, 1]

    no_ids = build_network(_lines(road + bridge))
    assert no_ids.n_nodes == 4  # B is shared by coincident endpoints
    assert no_ids.stats["components"] == 1
    b = _node_at(no_ids, 100, 0)
    assert np.sum((no_ids.u == b) | (no_ids.v == b)) == 3


def test_nodes_from_endpoints_coincide_exactly_and_snap_m_joins_gaps() -> None:
    geoms = [
        LineString([(0, 0), (100, 0)]),
        LineString([(100.0002, 0.0001), (200, 0)]),  # 0.2236 mm away: another node
        LineString([(201, 0), (300, 0)]),  # exactly 1 m away: another node
    ]
    net = build_network(_lines(geoms))
    assert net.n_nodes == 6
    assert net.stats["components"] == 3
    assert "snaps" not in net.stats  # off by default
    # 1 mm joins the 0.2 mm gap only, by a straight link of that length.
    net = build_network(_lines(geoms), snap_m=1e-3)
    assert net.stats["snaps"] == 1
    assert net.stats["components"] == 2
    assert net.length[-1] == pytest.approx(np.hypot(0.0002, 0.0001), abs=1e-12)
    # Exactly at the tolerance: not closer than it, not joined.
    net = build_network(_lines(geoms), snap_m=1.0)
    assert net.stats["snaps"] == 1
    net = build_network(_lines(geoms), snap_m=1.0 + 1e-9)
    assert net.stats["snaps"] == 2
    assert net.stats["components"] == 1
    assert net.stats["snap_gap_max_m"] == pytest.approx(1.0)
    assert net.n_edges == 5  # the three lines, then the two links
    _assert_geometry_runs_u_to_v(net)


def test_snap_never_doubles_a_line_and_never_chains() -> None:
    # A 3 m line between two ends: they are joined already, no link. Three ends 6 m apart in
    # a row: with snap_m 7 each neighbour pair is linked, the ends 12 m apart are not.
    geoms = [
        LineString([(0, 0), (3, 0)]),
        LineString([(100, 0), (100, 50)]),
        LineString([(106, 0), (106, -50)]),
        LineString([(112, 0), (150, 50)]),
    ]
    net = build_network(_lines(geoms), snap_m=7.0)
    assert net.stats["snaps"] == 2
    links = net.geometry[4:]
    assert sorted(g.length for g in links) == pytest.approx([6.0, 6.0])
    assert net.stats["snap_gap_total_m"] == pytest.approx(12.0)


def test_node_latency_is_keyed_by_id() -> None:
    geoms = [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])]
    net = build_network(
        _lines(geoms, u=[10, 20], v=[20, 30]), node_latency_us={20: 7.5, 30: 1.25, 99: 3.0}
    )
    assert net.node_device_us[_node_at(net, 100, 0)] == 7.5
    assert net.node_device_us[_node_at(net, 100, 50)] == 1.25
    assert net.node_device_us[_node_at(net, 0, 0)] == 0.0


# --------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("reversed_first", [False, True])
def test_a_line_drawn_v_to_u_is_flipped(reversed_first: bool) -> None:
    # Node 1 at (0, 0), node 2 at (100, 0), node 3 at (100, 300). Line 1-2 is drawn from
    # u to v; line 2-3 is drawn from 3 to 2 (v to u).
    good = (LineString([(0, 0), (100, 0)]), 1, 2)
    rev = (LineString([(100, 300), (100, 150), (100, 0)]), 2, 3)
    rows = [rev, good] if reversed_first else [good, rev]
    net = build_network(
        _lines([r[0] for r in rows], u=[r[1] for r in rows], v=[r[2] for r in rows])
    )
    assert net.n_nodes == 3
    n1, n2, n3 = _node_at(net, 0, 0), _node_at(net, 100, 0), _node_at(net, 100, 300)
    assert len({n1, n2, n3}) == 3
    e12, e23 = _edge_between(net, n1, n2), _edge_between(net, n2, n3)
    assert net.length[e12] == pytest.approx(100.0)
    assert net.length[e23] == pytest.approx(300.0)
    # The geometry is kept as drawn; u/v are swapped so that it runs from u to v.
    assert (net.u[e23], net.v[e23]) == (n3, n2)
    _assert_geometry_runs_u_to_v(net)


@st.composite
def _id_network(draw: st.DrawFn):
    """A connected graph (n >= 3) with parallel lines and self-loops, some drawn backwards.

    In a connected graph of three or more nodes every line has an end with two distinct
    neighbours, which pins the line's orientation down: every node has one right place.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(3, 12))
    pos = rng.uniform(0, 2000, size=(n, 2))
    # A random spanning tree (every node touched) plus a few extra links.
    pairs = [(i, int(rng.integers(0, i))) for i in range(1, n)]
    for _ in range(draw(st.integers(0, n))):
        a, b = rng.choice(n, size=2, replace=False)
        pairs.append((int(a), int(b)))
    for _ in range(draw(st.integers(0, 3))):  # parallel lines
        pairs.append(pairs[int(rng.integers(0, len(pairs)))][::-1])
    rng.shuffle(pairs)
    ids = rng.choice(10_000, size=n, replace=False) + 1  # arbitrary node ids
    geoms, u, v = [], [], []
    for a, b in pairs:
        mid = (pos[a] + pos[b]) / 2 + rng.normal(0, 50, size=2)
        line = LineString([pos[a], mid, pos[b]])
        geoms.append(line.reverse() if rng.random() < 0.4 else line)
        u.append(int(ids[a]))
        v.append(int(ids[b]))
    for _ in range(draw(st.integers(0, 2))):  # self-loops
        a = int(rng.integers(0, n))
        ring = LineString([pos[a], pos[a] + [40.0, 10.0], pos[a] + [10.0, 40.0], pos[a]])
        geoms.append(ring)
        u.append(int(ids[a]))
        v.append(int(ids[a]))
    return pos, ids, pairs, geoms, u, v


@settings(max_examples=60, deadline=None)
@given(_id_network())
def test_reversed_lines_never_misplace_nodes(case) -> None:
    pos, ids, _pairs, geoms, u, v = case
    net = build_network(_lines(geoms, u=u, v=v))
    assert net.n_nodes == len(ids)
    # Node index k is the k-th smallest id: every id sits at its true position.
    order = np.argsort(ids)
    np.testing.assert_allclose(net.x, pos[order, 0], atol=1e-9)
    np.testing.assert_allclose(net.y, pos[order, 1], atol=1e-9)
    _assert_geometry_runs_u_to_v(net)
    # Every line is an edge between the two nodes it was drawn between, with its length.
    rank = {int(i): k for k, i in enumerate(np.sort(ids))}
    got = sorted(
        (*sorted((int(a), int(b))), round(float(n), 6))
        for a, b, n in zip(net.u, net.v, net.length, strict=True)
    )
    want = sorted(
        (*sorted((rank[a], rank[b])), round(g.length, 6))
        for g, a, b in zip(geoms, u, v, strict=True)
    )
    assert got == want
    assert net.stats["self_loops"] == sum(a == b for a, b in zip(u, v, strict=True))


# --------------------------------------------------------------------------- simplification


@pytest.mark.parametrize("with_ids", [True, False])
def test_parallel_edges_stay_edges_and_paths_take_the_shortest(with_ids: bool) -> None:
    straight = LineString([(0, 0), (300, 0)])  # 300 m
    detour = LineString([(0, 0), (150, 200), (300, 0)])  # 250 + 250 = 500 m
    back = LineString([(300, 0), (150, -80), (0, 0)])  # 170 + 170 = 340 m, drawn 2 -> 1
    other = LineString([(300, 0), (300, 400)])  # 400 m
    geoms = [detour, back, straight, other]
    lines = _lines(geoms, u=[1, 2, 1, 2], v=[2, 1, 2, 3]) if with_ids else _lines(geoms)
    net = build_network(lines)
    assert net.n_nodes == 3
    assert net.n_edges == 4  # every road stays locatable
    assert net.stats["parallel_edges_collapsed"] == 2
    assert net.length.tolist() == pytest.approx([500.0, 340.0, 300.0, 400.0])
    _assert_geometry_runs_u_to_v(net)
    # The shortest-path graph has one arc each way per pair: the shortest.
    params = LatencyModel().resolved(network_kind="road")
    arcs = arc_matrix(net, params).tocoo()
    a, b = _node_at(net, 0, 0), _node_at(net, 300, 0)
    weights = {(int(i), int(j)): w for i, j, w in zip(arcs.row, arcs.col, arcs.data, strict=True)}
    assert len(weights) == 4
    assert weights[(a, b)] == pytest.approx(params.us_per_m * 300.0)
    assert weights[(b, a)] == pytest.approx(params.us_per_m * 300.0)


@pytest.mark.parametrize("with_ids", [True, False])
def test_self_loops_stay_edges_and_are_counted(with_ids: bool) -> None:
    ring = LineString([(100, 0), (150, 50), (100, 100), (100, 0)])
    loop2 = LineString([(0, 0), (-50, 50), (0, 0)])
    road = LineString([(0, 0), (100, 0)])
    geoms = [ring, road, loop2]
    lines = _lines(geoms, u=[2, 1, 1], v=[2, 2, 1]) if with_ids else _lines(geoms)
    net = build_network(lines)
    assert net.stats["self_loops"] == 2
    assert net.n_edges == 3
    assert net.length.tolist() == pytest.approx(
        [50 * np.sqrt(2) * 2 + 100, 100.0, 100 * np.sqrt(2)]
    )
    assert net.stats["input_lines"] == 3
    arcs = arc_matrix(net, LatencyModel().resolved(network_kind="road"))
    assert arcs.nnz == 2  # the road, both ways; loops never shorten a path


def test_only_self_loops_is_a_network_without_arcs() -> None:
    ring = LineString([(0, 0), (50, 50), (0, 100), (0, 0)])
    net = build_network(_lines([ring], u=[7], v=[7]), source="roads.gpkg")
    assert (net.n_nodes, net.n_edges) == (1, 1)
    assert arc_matrix(net, LatencyModel().resolved(network_kind="road")).nnz == 0


def test_empty_input_is_an_input_error() -> None:
    empty = gpd.GeoDataFrame({"u": [], "v": []}, geometry=[], crs=UTM50)
    with pytest.raises(InputError, match="no edges") as info:
        build_network(empty, source="roads.gpkg")
    assert info.value.source == "roads.gpkg"
    with pytest.raises(InputError):
        build_network(gpd.GeoDataFrame(geometry=[], crs=UTM50))


# --------------------------------------------------------------------------- components


def test_components_are_labelled_largest_first() -> None:
    # Three separate pieces given smallest first: a single edge (2 nodes), a path of
    # 4 edges (5 nodes), a path of 2 edges (3 nodes).
    pair = [LineString([(0, 0), (10, 0)])]
    five = [LineString([(1000 + 10 * i, 0), (1000 + 10 * (i + 1), 0)]) for i in range(4)]
    three = [LineString([(0, 500 + 10 * i), (0, 500 + 10 * (i + 1))]) for i in range(2)]
    net = build_network(_lines(pair + five + three))
    assert net.stats["components"] == 3
    assert net.component_sizes().tolist() == [5, 3, 2]
    assert net.component[_node_at(net, 1000, 0)] == 0
    assert net.component[_node_at(net, 1040, 0)] == 0
    assert net.component[_node_at(net, 0, 520)] == 1
    assert net.component[_node_at(net, 10, 0)] == 2
    assert net.stats["largest_component_share"] == pytest.approx(0.5)


def test_equal_components_and_isolated_nodes() -> None:
    # Node 3 only carries a self-loop: it stays a node, alone in its own component.
    geoms = [
        LineString([(0, 0), (10, 0)]),
        LineString([(50, 0), (60, 0)]),
        LineString([(90, 0), (95, 5), (90, 0)]),
    ]
    net = build_network(_lines(geoms, u=[1, 2, 3], v=[4, 5, 3]))
    assert net.stats["components"] == 3
    assert net.component_sizes().tolist() == [2, 2, 1]
    assert net.component[_node_at(net, 90, 0)] == 2
    assert net.component[_node_at(net, 0, 0)] == net.component[_node_at(net, 10, 0)]
    assert net.component[_node_at(net, 0, 0)] != net.component[_node_at(net, 50, 0)]


# --------------------------------------------------------------------------- lengths


def test_lengths_come_from_the_geometry_in_metres() -> None:
    zigzag = LineString([(0, 0), (30, 40), (60, 0), (90, 40)])  # 3 x 50 m, 90 m apart
    straight = LineString([(90, 40), (90, 1040)])  # 1 km
    net = build_network(_lines([zigzag, straight]))
    e = _edge_between(net, _node_at(net, 0, 0), _node_at(net, 90, 40))
    assert net.length[e] == pytest.approx(150.0, abs=1e-9)
    assert net.stats["length_km"] == pytest.approx(1.15)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-5e3, 5e3), st.floats(-5e3, 5e3)), min_size=2, max_size=8, unique=True
    )
)
def test_length_is_the_sum_of_segment_lengths(points) -> None:
    line = LineString(points)
    if shapely.equals_exact(shapely.get_point(line, 0), shapely.get_point(line, -1), 1e-2):
        return  # a closed line is a self-loop: dropped, tested above
    want = sum(np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(points))
    net = build_network(_lines([line]))
    assert net.length[0] == pytest.approx(want, rel=1e-12, abs=1e-9)


# --------------------------------------------------------------------------- node ids


def _grid_lines() -> tuple[list[LineString], list[int], list[int]]:
    """A 3 x 3 lattice of nodes 1..9 (100 m apart), 12 lines, every other drawn v -> u."""
    pos = {3 * r + c + 1: (100.0 * c, 100.0 * r) for r in range(3) for c in range(3)}
    pairs = [(k, k + 1) for k in pos if k % 3] + [(k, k + 3) for k in pos if k <= 6]
    geoms, u, v = [], [], []
    for i, (a, b) in enumerate(pairs):
        line = LineString([pos[a], pos[b]])
        geoms.append(line.reverse() if i % 2 else line)
        u.append(a)
        v.append(b)
    return geoms, u, v


@pytest.mark.parametrize("kind", ["int", "float", "str", "mixed"])
def test_ids_of_any_type_give_the_same_network(kind: str) -> None:
    geoms, u, v = _grid_lines()
    if kind == "float":
        u, v = [k + 0.5 for k in u], [k + 0.5 for k in v]  # not even whole numbers
    elif kind == "str":
        u, v = [f"n{k}" for k in u], [f"n{k}" for k in v]
    elif kind == "mixed":  # as a spreadsheet might: 7, "7" never equal; 7 and 7.0 are
        u = [k if k % 2 else float(k) for k in u]
        v = [k if k % 3 else f"{k}" for k in v]
    net = build_network(_lines(geoms, u=u, v=v))
    # Mixed: ints 1-8 (7.0 is 7) and the texts "3", "6", "9" (v's multiples of 3): 11 ids.
    assert net.n_nodes == (11 if kind == "mixed" else 9)
    assert net.n_edges == 12
    _assert_geometry_runs_u_to_v(net)
    if kind != "mixed":
        assert net.stats["components"] == 1
        assert net.stats["lines_flipped"] == 6


def test_float_ids_with_nan_fall_back_to_endpoints_not_one_huge_id() -> None:
    # As after a GeoParquet round trip: float ids, a third of them NaN. Casting NaN to int
    # made one node of them all (every such line a self-loop, dropped): the lattice
    # shattered. Each line missing an id takes its nodes from its exactly coinciding ends.
    geoms, u, v = _grid_lines()
    uf = np.array(u, dtype=float)
    vf = np.array(v, dtype=float)
    uf[::3] = np.nan
    vf[1::4] = np.nan
    missing = int((np.isnan(uf) | np.isnan(vf)).sum())
    net = build_network(_lines(geoms, u=uf.tolist(), v=vf.tolist()))
    assert net.n_nodes == 9
    assert net.n_edges == 12
    assert net.stats["components"] == 1
    assert net.stats["self_loops"] == 0
    assert net.stats["ids_from_endpoints"] == missing
    _assert_geometry_runs_u_to_v(net)
    # Lines all missing: the whole network from endpoints, as without id columns.
    nan = [np.nan] * 12
    net = build_network(_lines(geoms, u=nan, v=nan))
    assert (net.n_nodes, net.stats["components"]) == (9, 1)


def test_missing_ids_on_nullable_and_text_columns() -> None:
    geoms, u, v = _grid_lines()
    as_int = pd.array([None if i == 4 else k for i, k in enumerate(u)], dtype="Int64")
    net = build_network(_lines(geoms, u=as_int, v=v))
    assert (net.n_nodes, net.stats["components"], net.stats["ids_from_endpoints"]) == (9, 1, 1)
    as_text = [None if i in (0, 7) else f"n{k}" for i, k in enumerate(v)]
    net = build_network(_lines(geoms, u=[f"n{k}" for k in u], v=as_text))
    assert (net.n_nodes, net.stats["components"], net.stats["ids_from_endpoints"]) == (9, 1, 2)


def test_a_missing_id_keeps_a_bridge_unconnected_only_where_ids_say() -> None:
    # Two ids at (100, 0): road node 2 and bridge end 4. A line missing its ids that ends
    # exactly there cannot tell which: the run stops naming the column and the row.
    road = [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)])]
    bridge = [LineString([(100, 0), (100, 300)])]
    spur = [LineString([(100, 0), (100, -50)])]
    lines = _lines(road + bridge + spur, u=[1.0, 2.0, 4.0, np.nan], v=[2.0, 3.0, 5.0, np.nan])
    with pytest.raises(InputError, match=r"row\(s\) 3") as info:
        build_network(lines, source="roads.parquet")
    assert info.value.field in ("u", "v")
    assert info.value.source == "roads.parquet"


def test_an_infinite_id_is_an_input_error() -> None:
    geoms, u, v = _grid_lines()
    bad = [float(k) for k in u]
    bad[5] = np.inf
    with pytest.raises(InputError, match=r"infinite node id in row\(s\) 5") as info:
        build_network(_lines(geoms, u=bad, v=v), source="roads.parquet")
    assert info.value.field == "u"


def test_node_latency_keys_match_ids_of_any_type() -> None:
    geoms, u, v = _grid_lines()
    net = build_network(
        _lines(geoms, u=[float(k) for k in u], v=[float(k) for k in v]),
        node_latency_us={5: 12.0, 9.0: 3.0},
    )
    assert net.node_device_us[_node_at(net, 100, 100)] == 12.0
    assert net.node_device_us[_node_at(net, 200, 200)] == 3.0
    assert net.node_device_us.sum() == 15.0
    net = build_network(
        _lines(geoms, u=[f"n{k}" for k in u], v=[f"n{k}" for k in v]),
        node_latency_us={"n5": 12.0, 5: 99.0},
    )
    assert net.node_device_us.sum() == 12.0


def test_sub_metre_lines_drawn_backwards_are_flipped() -> None:
    # 0.3 m and 0.0004 m links drawn v -> u between pinned nodes: no metric tolerance.
    geoms = [
        LineString([(0, 0), (100, 0)]),  # 1 -> 2
        LineString([(100.3, 0), (100, 0)]),  # 2 -> 3, drawn from 3
        LineString([(100.3, 0), (200, 0)]),  # 3 -> 4
        LineString([(200.0004, 0), (200, 0)]),  # 4 -> 5, drawn from 5
        LineString([(200.0004, 0), (300, 0)]),  # 5 -> 6
    ]
    net = build_network(_lines(geoms, u=[1, 2, 3, 4, 5], v=[2, 3, 4, 5, 6]))
    assert net.stats["lines_flipped"] == 2
    _assert_geometry_runs_u_to_v(net)
    assert (net.u[1], net.v[1]) == (_node_at(net, 100.3, 0), _node_at(net, 100, 0))


# --------------------------------------------------------------------------- empty lines


def test_null_and_empty_geometries_are_counted_and_left_out() -> None:
    geoms = [LineString([(0, 0), (100, 0)]), None, LineString(), LineString([(100, 0), (100, 80)])]
    net = build_network(_lines(geoms, u=[1, 8, np.nan, 2], v=[2, 9, np.nan, 3]))
    assert net.stats["empty_lines"] == 2
    assert net.stats["input_lines"] == 4
    assert net.n_edges == 2
    net = build_network(_lines(geoms), read_stats={"empty_lines": 3.0})
    assert net.stats["empty_lines"] == 5  # 3 left out while reading, 2 here
    with pytest.raises(InputError, match="no edges"):
        build_network(_lines([None, LineString()]))


# --------------------------------------------------------------------------- real data


def _wuhan(shared_data) -> gpd.GeoDataFrame:
    return gpd.read_parquet(shared_data / "wuhan" / "roads_osm.parquet")[["u", "v", "geometry"]]


def test_wuhan_sub_metre_lines_drawn_backwards_are_flipped(shared_data) -> None:
    lines = _wuhan(shared_data)
    coords, owner = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    first = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    last = np.r_[first[1:] - 1, len(owner) - 1]
    starts = [tuple(p) for p in coords[first]]
    ends = [tuple(p) for p in coords[last]]
    # By hand: a node sits at the one end shared by every line naming it (two or more).
    offers: dict[int, list[set]] = defaultdict(list)
    for a, b, s, e in zip(lines["u"], lines["v"], starts, ends, strict=True):
        offers[int(a)].append({s, e})
        offers[int(b)].append({s, e})
    pos = {}
    for node, sets in offers.items():
        common = set.intersection(*sets)
        if len(sets) >= 2 and len(common) == 1:
            pos[node] = next(iter(common))
    length = shapely.length(lines.geometry.to_numpy())
    want = {
        i
        for i, (a, b, s, e) in enumerate(zip(lines["u"], lines["v"], starts, ends, strict=True))
        if length[i] < 1.0 and s != e and (pos.get(int(b)) == s or pos.get(int(a)) == e)
    }
    net = build_network(lines)
    ids = np.unique(np.concatenate([lines["u"], lines["v"]]))
    flipped = ids[net.u] != lines["u"].to_numpy()
    got = set(np.flatnonzero(flipped & (length < 1.0)).tolist())
    assert got == want
    assert len(want) == 29  # as counted in issue 14


def test_wuhan_float_ids_with_nan_keep_the_network_whole(shared_data) -> None:
    # After a GeoParquet round trip through a simplification tool: float ids, ~15 % NaN.
    lines = _wuhan(shared_data)
    whole = build_network(lines)
    # Where two ids sit at one point (over- and underpasses), an end without its id cannot
    # tell which it meets: those lines keep their ids here, and are tried alone below.
    xy = pd.Series(list(zip(whole.x, whole.y, strict=True)))
    stacked = set(xy[xy.duplicated(keep=False)])
    coords, owner = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    touches = np.zeros(len(lines), dtype=bool)
    hit = np.array([tuple(p) in stacked for p in coords])
    touches[owner[hit]] = True
    assert 0 < touches.sum() < 1000
    rng = np.random.default_rng(14)
    holes = lines.assign(u=lines["u"].astype(float), v=lines["v"].astype(float))
    gone_u = (rng.random(len(lines)) < 0.1) & ~touches
    gone_v = (rng.random(len(lines)) < 0.05) & ~touches
    holes.loc[gone_u, "u"] = np.nan
    holes.loc[gone_v, "v"] = np.nan
    patched = build_network(holes)
    assert patched.stats["components"] == whole.stats["components"] == 1
    assert patched.n_nodes == whole.n_nodes == 82_902
    assert patched.stats["self_loops"] == whole.stats["self_loops"] == 0
    assert patched.stats["ids_from_endpoints"] == (gone_u | gone_v).sum()
    params = LatencyModel().resolved(network_kind="road")
    x0, y0, x1, y1 = lines.total_bounds
    px, py = rng.uniform(x0, x1, 3000), rng.uniform(y0, y1, 3000)
    sx, sy = np.array([x0 + 0.4 * (x1 - x0)]), np.array([y0 + 0.6 * (y1 - y0)])
    out = []
    for net in (whole, patched):
        locator = Locator(net)
        att = attach_sites(locator, sx, sy, np.array([20.0]), params)
        loc = locator.locate(px, py, max_drop_m=params.max_drop_m)
        out.append(solve(net, att, params).at(loc)[0])
    assert np.isfinite(out[0]).sum() > 1000
    np.testing.assert_allclose(out[1], out[0], rtol=0, atol=1e-9)
    # One id missing at a stacked point: the run stops, naming the column and the row.
    row = int(np.flatnonzero(touches)[0])
    one = lines.assign(u=lines["u"].astype(float))
    one.loc[row, "u"] = np.nan
    with pytest.raises(InputError, match=rf"^roads\.parquet: u: .*row\(s\) {row}$"):
        build_network(one, source="roads.parquet")
