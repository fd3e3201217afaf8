"""Fibre networks as published: status fields, gaps (snap_m), OFDS, and real WATRA routes.

Expectations are hand-written or counted by independent code (pyogrio, shapely, networkx,
plain Python over the coordinates), never read back from latcircle.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, mapping

from latcircle.analysis.metro import prepare
from latcircle.config import load_config
from latcircle.errors import InputError
from latcircle.pipeline import run_city

WGS84 = "EPSG:4326"
#: µs per metre of G.652 fibre (n_g 1.4682 over c); the route factor of fibre is 1.
K_US_PER_M = 1.4682 / 299.792458

# A small real-looking network in southern Ghana (WGS84): node id -> (name, lon, lat).
NODES = {
    "ACC": ("Accra", -0.187, 5.603),
    "KSI": ("Kumasi", -1.624, 6.688),
    "TKD": ("Takoradi", -1.755, 4.899),
    "CCT": ("Cape Coast", -1.246, 5.105),
    "HO": ("Ho", 0.471, 6.601),
    "KOF": ("Koforidua", -0.259, 6.094),
}
# Spans: id, start, end, status, intermediate vertices (None: no route, straight).
SPANS = [
    ("s1", "ACC", "KOF", "operational", [(-0.21, 5.80), (-0.25, 5.95)]),
    ("s2", "KOF", "KSI", "operational", [(-0.60, 6.30), (-1.10, 6.55)]),
    ("s3", "ACC", "CCT", "operational", [(-0.60, 5.45), (-1.00, 5.20)]),
    ("s4", "CCT", "TKD", "operational", None),
    ("s5", "KOF", "HO", "operational", [(0.10, 6.30)]),
    ("s6", "TKD", "KSI", "planned", [(-1.90, 5.60), (-1.80, 6.20)]),
]


def _route(span: tuple) -> list[tuple[float, float]]:
    _, a, b, _, mids = span
    return [NODES[a][1:], *(mids or []), NODES[b][1:]]


def write_ofds_json(path: Path, *, device: dict[str, float] | None = None) -> Path:
    """An OFDS 0.3 network package: nodes with locations, spans with routes."""
    nodes = []
    for node_id, (name, lon, lat) in NODES.items():
        node = {
            "id": node_id,
            "name": name,
            "status": "operational",
            "location": {"type": "Point", "coordinates": [lon, lat]},
            "type": ["pop"],
        }
        if device and node_id in device:
            node["deviceLatency_us"] = device[node_id]
        nodes.append(node)
    spans = []
    for span in SPANS:
        sid, a, b, status, mids = span
        item = {"id": sid, "name": f"{NODES[a][0]} to {NODES[b][0]}", "status": status}
        item |= {"start": a, "end": b, "directed": False}
        if mids is not None:
            item["route"] = {"type": "LineString", "coordinates": [list(p) for p in _route(span)]}
        if status == "planned":
            item["readyForServiceDate"] = "2027-06-30"
        spans.append(item)
    package = {
        "networks": [{"id": "gh-test", "name": "Test fibre", "nodes": nodes, "spans": spans}]
    }
    path.write_text(json.dumps(package, indent=1), encoding="utf-8")
    return path


def write_ofds_geojson(path: Path) -> Path:
    """The same network as OFDS GeoJSON: span features embedding their end nodes."""
    features = []
    for span in SPANS:
        sid, a, b, status, mids = span
        ends = {
            end: {
                "id": n,
                "name": NODES[n][0],
                "location": {"type": "Point", "coordinates": list(NODES[n][1:])},
            }
            for end, n in (("start", a), ("end", b))
        }
        props = {"id": sid, "status": status, **ends, "featureType": "span"}
        if status == "planned":
            props["readyForServiceDate"] = "2027-06-30"
        geom = mapping(LineString(_route(span))) if mids is not None else None
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def write_plain_lines(path: Path, *, ids: bool) -> Path:
    """The same spans as plain lines (GeoPackage), with or without u/v ids."""
    data = {
        "status": [s[3] for s in SPANS],
        "online_year": [2027 if s[3] == "planned" else None for s in SPANS],
    }
    if ids:
        data |= {"u": [s[1] for s in SPANS], "v": [s[2] for s in SPANS]}
    geoms = [LineString(_route(s)) for s in SPANS]
    gpd.GeoDataFrame(data, geometry=geoms, crs=WGS84).to_file(path, driver="GPKG")
    return path


def write_city(
    folder: Path, network: Path, *, network_yaml: str = "", bbox=(-2.3, 4.5, 0.9, 7.1)
) -> Path:
    """A fibre city around ``network``: boundary box, two sites, key sites at the towns."""
    folder.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(geometry=[shapely.box(*bbox)], crs=WGS84).to_file(
        folder / "boundary.gpkg", driver="GPKG"
    )
    (folder / "sites.csv").write_text(
        "id,name,lon,lat\nA,Accra DC,-0.187,5.613\nK,Kumasi DC,-1.624,6.698\n", "utf-8"
    )
    rows = ["name,category,lon,lat"]
    rows += [f"{n},town,{lon + 0.01},{lat - 0.004}" for n, lon, lat in NODES.values()]
    rows += ["mid s2,town,-0.6,6.29", "mid s6,town,-1.9,5.61", "off,town,-2.2,4.6"]
    (folder / "key_sites.csv").write_text("\n".join(rows) + "\n", "utf-8")
    config = folder / "city.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        id: fibre-test
        name: Fibre test
        synthetic: true
        boundary: boundary.gpkg
        network: {{path: {network}, kind: fibre{network_yaml}}}
        sites: {{path: sites.csv, lon: lon, lat: lat, hypothetical: true}}
        key_sites: {{path: key_sites.csv, name_field: name, category_field: category}}
        model: {{max_drop_m: 15000}}
        grid: {{cell_m: 4000}}
        """),
        "utf-8",
    )
    return config


def _latencies(config: Path, year: int | None = None) -> dict[str, np.ndarray]:
    metro = prepare(load_config(config))
    scenario = metro.scenario(year=year)
    return {b: ev.latency_us for b, ev in scenario.evaluations.items()}


# --------------------------------------------------------------------------- OFDS


def test_ofds_round_trips_as_json_geojson_and_plain_lines(tmp_path: Path) -> None:
    ofds_json = write_ofds_json(tmp_path / "network.json")
    ofds_geojson = write_ofds_geojson(tmp_path / "spans.geojson")
    runs = {
        "json": write_city(tmp_path / "a", ofds_json),
        "geojson": write_city(tmp_path / "b", ofds_geojson),
        "lines with ids": write_city(
            tmp_path / "c", write_plain_lines(tmp_path / "c.gpkg", ids=True)
        ),
        "lines": write_city(tmp_path / "d", write_plain_lines(tmp_path / "d.gpkg", ids=False)),
    }
    for year in (2026, 2027):
        got = {name: _latencies(cfg, year) for name, cfg in runs.items()}
        ref = got["json"]
        assert np.isfinite(ref["key_sites"]).sum() >= 6
        for name, lat in got.items():
            for basis in ref:
                np.testing.assert_allclose(lat[basis], ref[basis], rtol=0, atol=1e-10, err_msg=name)
    # The planned span (Takoradi - Kumasi, ready 2027) brings the key site beside it
    # ("mid s6", 15+ km from every built span) within reach only from 2027 on.
    before, after = _latencies(runs["json"], 2026), _latencies(runs["json"], 2027)
    mid_s6 = len(NODES) + 1
    assert np.isinf(before["key_sites"][mid_s6]) and np.isfinite(after["key_sites"][mid_s6])


def test_ofds_latency_by_hand_with_node_device_latency(tmp_path: Path) -> None:
    # Key site "mid s2" lies 0.01° off span s2's vertex (-0.60, 6.30); measure everything
    # with pyproj in the local UTM zone 30N and add it up by hand: site A -> Accra node
    # along s1 -> Koforidua (device 30 µs) -> along s2 to the projection.
    ofds_json = write_ofds_json(tmp_path / "network.json", device={"KOF": 30.0, "ACC": 7.0})
    config = write_city(
        tmp_path / "city", ofds_json, network_yaml=", node_latency_field: deviceLatency_us"
    )
    metro = prepare(load_config(config))
    assert metro.inputs.crs.to_epsg() == 32630
    tr = pyproj.Transformer.from_crs(WGS84, "EPSG:32630", always_xy=True)

    def utm(coords):
        return LineString([tr.transform(*p) for p in coords])

    s1 = utm(_route(SPANS[0]))
    s2 = utm(_route(SPANS[1]))
    site = shapely.Point(tr.transform(-0.187, 5.613))
    key = shapely.Point(tr.transform(-0.6, 6.29))
    # The site is 0.01° north of Accra: nearest the start of s1 (and of s3), at Accra
    # itself? No: s1 heads north, so the site projects onto s1 beyond the node.
    t_site = s1.project(site)
    assert 0 < t_site < s1.length
    to_kof = s1.length - t_site
    t_key = s2.project(key)
    path_m = site.distance(s1) + to_kof + t_key + key.distance(s2)
    want = 100.0 + 20.0 + K_US_PER_M * path_m + 30.0  # E + S + k·path + D(Koforidua)
    got = metro.scenario(year=None).evaluations["key_sites"].latency_us
    names = list(metro.inputs.key_sites["name"])
    assert got[names.index("mid s2")] == pytest.approx(want, abs=1e-6)
    assert metro.network.node_device_us.sum() == pytest.approx(37.0)


def test_ofds_span_without_an_end_is_an_input_error(tmp_path: Path) -> None:
    path = write_ofds_json(tmp_path / "network.json")
    package = json.loads(path.read_text("utf-8"))
    del package["networks"][0]["spans"][1]["end"]
    path.write_text(json.dumps(package), "utf-8")
    config = write_city(tmp_path / "city", path)
    with pytest.raises(InputError, match=r"spans\[1\]\.end: missing"):
        prepare(load_config(config))


#: A drawn span's end node (``s4`` has no route: Cape Coast to Takoradi) with such a
#: ``location.coordinates``, and the refusal expected. A number there (``nan``, found by the
#: OFDS fuzzer) was an internal error: ``len()`` of a float.
BAD_NODE_COORDINATES = [
    (None, r"spans\[3\]\.route: missing, and node 'CCT' has no location to draw it"),
    ([], r"spans\[3\]\.route: missing, and node 'CCT' has no location to draw it"),
    ([5.1], r"spans\[3\]\.route: missing, and node 'CCT' has no location to draw it"),
    (float("nan"), r"node 'CCT': location\.coordinates: must be \[longitude, latitude\], got"),
    ("x", r"node 'CCT': location\.coordinates: must be \[longitude, latitude\], got"),
    ({"lon": 1}, r"node 'CCT': location\.coordinates: must be \[longitude, latitude\], got"),
    ([float("nan"), 5.1], r"node 'CCT': location\.coordinates: not a finite number: nan"),
    ([-1.246, 5.105, 0.0, 1.0], r"must be \[longitude, latitude\], got"),
]

#: The same node's ``location.type`` set to each (its coordinates left right), and the refusal.
BAD_NODE_TYPES = [
    ("", r"node 'CCT': location\.type: must be 'Point', got ''"),
    ("point", r"node 'CCT': location\.type: must be 'Point', got 'point'"),
    ("LineString", r"node 'CCT': location\.type: must be 'Point', got 'LineString'"),
    (None, r"node 'CCT': location\.type: must be 'Point', got null"),
]


@pytest.mark.parametrize(
    ("key", "value", "refusal"),
    [("coordinates", v, r) for v, r in BAD_NODE_COORDINATES]
    + [("type", v, r) for v, r in BAD_NODE_TYPES],
)
def test_a_node_location_that_is_not_a_point_is_an_input_error(
    tmp_path: Path, key: str, value: object, refusal: str
) -> None:
    def edit(package: dict[str, Any]) -> None:
        node = next(n for n in package["networks"][0]["nodes"] if n["id"] == "CCT")
        node["location"][key] = value

    _assert_refused(tmp_path, edit, refusal)


def _assert_refused(tmp_path: Path, edit: Callable[[dict[str, Any]], None], refusal: str) -> None:
    """Check that reading the OFDS package, as ``edit`` leaves it, raises ``refusal``."""
    config = _edited_city(tmp_path, edit)
    with pytest.raises(InputError, match=refusal):
        prepare(load_config(config))


def _edited_city(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Write the OFDS package, ``edit`` it, and return a city config reading it."""
    path = write_ofds_json(tmp_path / "network.json")
    package = json.loads(path.read_text("utf-8"))
    edit(package)
    path.write_text(json.dumps(package), "utf-8")
    return write_city(tmp_path / "city", path)


#: Two positions (Accra towards Kasoa), given under each type below.
_AK = [[-0.19, 5.61], [-0.3, 5.5]]

#: A span's route (span 0, which has one) set to each, and the refusal expected. An empty or
#: unknown type (found by the OFDS fuzzer: ``""``) and a one-position line were internal
#: errors (shapely's GeometryTypeError, GEOS's IllegalArgumentException); "linestring" was
#: read by shapely without the position checks.
BAD_ROUTES = [
    ({"type": "", "coordinates": _AK}, r"\.type: not a GeoJSON geometry type: ''"),
    ({"type": "Foo", "coordinates": _AK}, r"\.type: not a GeoJSON geometry type: 'Foo'"),
    ({"type": "linestring", "coordinates": _AK}, r"\.type: not a GeoJSON geometry type: 'lin"),
    ({"type": None, "coordinates": _AK}, r"\.type: not a GeoJSON geometry type: null"),
    ({"type": 5, "coordinates": _AK}, r"\.type: not a GeoJSON geometry type: a number"),
    ({"coordinates": _AK}, r"\.type: missing"),
    (
        {"type": "LineString", "coordinates": _AK[:1]},
        r"\.coordinates: a line needs two positions or more, got one",
    ),
    (
        {"type": "MultiLineString", "coordinates": [_AK, _AK[1:]]},
        r"\.coordinates\[1\]: a line needs two positions or more, got one",
    ),
    ({"type": "Point", "coordinates": _AK[0]}, r": must be a line, got Point"),
    ({"type": "Polygon", "coordinates": [_AK]}, r": not a GeoJSON geometry$"),
    # Given, but as nothing: drawn as a straight line before, as if the span had no route.
    ({}, r"\.type: missing"),
    ("", r": not a GeoJSON geometry: a string"),
    (0, r": not a GeoJSON geometry: a number"),
]


@pytest.mark.parametrize(("route", "refusal"), BAD_ROUTES)
def test_a_route_that_is_not_a_line_is_an_input_error(
    tmp_path: Path, route: object, refusal: str
) -> None:
    def edit(package: dict[str, Any]) -> None:
        package["networks"][0]["spans"][0]["route"] = route

    _assert_refused(tmp_path, edit, r"networks\[0\]\.spans\[0\]\.route" + refusal)


@pytest.mark.parametrize(
    "route",
    [{"type": "LineString", "coordinates": []}, {"type": "MultiLineString", "coordinates": [[]]}],
)
def test_a_route_of_no_position_is_left_out_and_counted(tmp_path: Path, route: object) -> None:
    # The boundary below the one-position refusal: an empty line is a feature without
    # geometry, as in a plain line file (two positions, the other side, is every span here).
    def edit(package: dict[str, Any]) -> None:
        package["networks"][0]["spans"][0]["route"] = route

    metro = prepare(load_config(_edited_city(tmp_path, edit)))
    st = metro.network.stats
    assert (st["input_lines"], st["empty_lines"]) == (len(SPANS), 1)
    assert any(f"1 of {len(SPANS)} feature(s) have no geometry" in n for n in metro.inputs.notes)


def test_a_geojson_span_names_its_geometry(tmp_path: Path) -> None:
    path = write_ofds_geojson(tmp_path / "spans.geojson")
    data = json.loads(path.read_text("utf-8"))
    data["features"][0]["geometry"]["type"] = ""
    path.write_text(json.dumps(data), "utf-8")
    config = write_city(tmp_path / "city", path)
    with pytest.raises(
        InputError, match=r"features\[0\]\.geometry\.type: not a GeoJSON geometry type: ''"
    ):
        prepare(load_config(config))


# --------------------------------------------------------------------------- status


def test_status_unknown_values_stop_the_run_until_mapped(tmp_path: Path) -> None:
    lines = gpd.read_file(write_plain_lines(tmp_path / "l.gpkg", ids=False))
    lines.loc[4, "status"] = "Unknown"
    lines.loc[2, "status"] = "Decommissioned"
    lines = lines.drop(columns="online_year")
    lines.to_file(tmp_path / "status.gpkg", driver="GPKG")
    config = write_city(tmp_path / "a", tmp_path / "status.gpkg")
    with pytest.raises(InputError, match=r"status: status value\(s\) \['Unknown'\]"):
        prepare(load_config(config))
    # Mapped: Unknown counts as built; the planned span has no year: left out, noted.
    config = write_city(
        tmp_path / "b",
        tmp_path / "status.gpkg",
        network_yaml=", status: {built: [operational, unknown]}",
    )
    metro = prepare(load_config(config))
    st = metro.network.stats
    assert (st["built_lines"], st["planned_lines"], st["excluded_lines"]) == (4, 0, 2)
    assert st["input_lines"] == 6
    assert metro.network.n_edges == 4
    assert any("1 planned line(s) without an online year left out" in n for n in metro.inputs.notes)
    assert any("1 line(s) with status in" in n for n in metro.inputs.notes)
    # With a year for planned lines, the planned span is online from it.
    config = write_city(
        tmp_path / "c",
        tmp_path / "status.gpkg",
        network_yaml=", status: {built: [operational, unknown], planned_online_year: 2028}",
    )
    metro = prepare(load_config(config))
    assert metro.network.stats["planned_lines"] == 1
    assert metro.network.n_edges == 5
    years = metro.network.edge_online_year
    assert np.nansum(years == 2028) == 1 and np.isnan(years).sum() == 4


# --------------------------------------------------------------------------- WATRA, real


WATRA = {"ghana": (59, 0, 32630), "senegal": (71, 3, 32628)}


def _watra(shared_data: Path, country: str) -> Path:
    path = shared_data / "fibre" / f"{country}_lines.geojson"
    if not path.exists():
        pytest.skip(f"WATRA fibre routes not found at {path}")
    return path


def _hand_counts(path: Path, *, epsg: int, snap_m: float, with_planned: bool) -> dict[str, float]:
    """Count what a reader of these routes must report, with pyogrio, shapely and networkx."""
    raw = pyogrio.read_dataframe(path)
    empty = raw.geometry.isna() | raw.geometry.is_empty
    status = raw["status"].str.strip().str.lower()
    keep = ~empty & ((status == "operational") | ((status == "planned") & with_planned))
    parts = raw[keep].explode(index_parts=False).to_crs(epsg)
    ends = [(tuple(g.coords[0]), tuple(g.coords[-1])) for g in parts.geometry]
    nodes = sorted({p for e in ends for p in e})
    joined = {frozenset(e) for e in ends}
    graph = nx.MultiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(ends)
    snaps = 0
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            if np.hypot(a[0] - b[0], a[1] - b[1]) < snap_m and frozenset((a, b)) not in joined:
                snaps += 1
                graph.add_edge(a, b)
    loops = sum(a == b for a, b in ends)
    pairs = [frozenset(e) for e in ends if e[0] != e[1]]
    return {
        "input_lines": float(len(raw)),
        "empty_lines": float(empty.sum()),
        "planned_in_file": float((status == "planned").sum()),
        "edges": float(len(parts) + snaps),
        "nodes": float(len(nodes)),
        "self_loops": float(loops),
        "parallel_edges_collapsed": float(len(pairs) - len(set(pairs))),
        "snaps": float(snaps),
        "components": float(nx.number_connected_components(graph)),
    }


@pytest.mark.parametrize("country", sorted(WATRA))
@pytest.mark.parametrize("snap_m", [100.0, 20_000.0])  # 20 km: Ghana has 2 such gaps
def test_watra_routes_report_what_hand_counts_say(
    shared_data: Path, tmp_path: Path, country: str, snap_m: float
) -> None:
    path = _watra(shared_data, country)
    n_lines, n_planned, epsg = WATRA[country]
    raw = pyogrio.read_dataframe(path)
    hull = raw.to_crs(epsg).union_all().convex_hull.buffer(20_000)
    bbox = gpd.GeoSeries([hull], crs=epsg).to_crs(WGS84).total_bounds
    cfg_path = write_city(tmp_path / "city", path, network_yaml=f", snap_m: {snap_m}", bbox=bbox)
    _sites_on_routes(raw, tmp_path / "city")
    cfg = load_config(cfg_path)
    result = run_city(cfg, out=tmp_path / "out", extra_outputs=[])
    reported = json.loads((tmp_path / "out" / "run.json").read_text("utf-8"))["network"]
    hand = _hand_counts(path, epsg=epsg, snap_m=snap_m, with_planned=False)
    assert hand["input_lines"] == n_lines and hand["planned_in_file"] == n_planned
    # The data's ends all meet exactly; at 20 km two of Ghana's ends, unjoined, are snapped.
    assert hand["snaps"] == (2 if country == "ghana" and snap_m > 100 else 0)
    assert result.metro.inputs.crs.to_epsg() == epsg
    for key in ("input_lines", "empty_lines", "edges", "nodes", "self_loops"):
        assert reported[key] == hand[key], key
    for key in ("parallel_edges_collapsed", "snaps", "components"):
        assert reported[key] == hand[key], key
    # Planned routes: no year in the file, none configured -> left out, and said so.
    assert reported["excluded_lines"] == n_planned
    assert reported["built_lines"] == n_lines - n_planned
    if n_planned:
        assert any(f"{n_planned} planned line(s)" in n for n in reported_notes(tmp_path))
    assert 0.0 < reported["area_within_max_drop_share"] < 1.0


def _sites_on_routes(raw: gpd.GeoDataFrame, folder: Path) -> None:
    """Sites at the first route's two ends; key sites beside the middle of every route."""
    first = raw.geometry.iloc[0].geoms[0]
    (a, b), (c, d) = first.coords[0], first.coords[-1]
    (folder / "sites.csv").write_text(f"id,name,lon,lat\nA,a,{a},{b}\nB,b,{c},{d}\n", "utf-8")
    rows = ["name,category,lon,lat"]
    for i, g in enumerate(raw.geometry):
        q = g.geoms[0].interpolate(0.5, normalized=True)
        rows.append(f"route {i},town,{q.x + 0.003},{q.y}")
    (folder / "key_sites.csv").write_text("\n".join(rows) + "\n", "utf-8")


def reported_notes(tmp_path: Path) -> list[str]:
    return json.loads((tmp_path / "out" / "run.json").read_text("utf-8"))["notes"]


def test_senegal_planned_routes_join_in_their_year_and_duplicates_tie(
    shared_data: Path, tmp_path: Path
) -> None:
    path = _watra(shared_data, "senegal")
    raw = pyogrio.read_dataframe(path)
    bbox = gpd.GeoSeries([raw.union_all().envelope.buffer(0.2)], crs=WGS84).total_bounds
    config = write_city(
        tmp_path / "city",
        path,
        network_yaml=", snap_m: 100, status: {planned_online_year: 2030}",
        bbox=bbox,
    )
    _sites_on_routes(raw, tmp_path / "city")
    metro = prepare(load_config(config))
    hand = _hand_counts(path, epsg=32628, snap_m=100.0, with_planned=True)
    st = metro.network.stats
    assert (st["planned_lines"], st["excluded_lines"]) == (3, 0)
    for key in ("edges", "nodes", "parallel_edges_collapsed", "components"):
        assert st[key] == hand[key], key
    # Routes digitised twice (identical geometry): a point beside one is as near the other.
    geoms = metro.network.geometry
    wkb = [shapely.normalize(g).wkb for g in geoms]
    dup = next(i for i, w in enumerate(wkb) if wkb.count(w) > 1)
    twin = next(j for j, w in enumerate(wkb) if w == wkb[dup] and j != dup)
    q = geoms[dup].interpolate(0.37, normalized=True)
    loc = metro.locator.locate(np.array([q.x + 40.0]), np.array([q.y]), max_drop_m=1000.0)
    assert {int(loc.edge[0]), *loc.tie_edge.tolist()} >= {dup, twin}


def test_features_without_geometry_and_gaps_are_counted_and_said(tmp_path: Path) -> None:
    # The spans as plain GeoJSON, plus one feature with a null geometry and one with an
    # empty one; Koforidua - Ho drawn stopping 55 m short of Koforidua (a gap).
    tr = pyproj.Transformer.from_crs(WGS84, "EPSG:32630", always_xy=True)
    back = pyproj.Transformer.from_crs("EPSG:32630", WGS84, always_xy=True)
    features = []
    for span in SPANS:
        coords = _route(span)
        if span[0] == "s5":
            x, y = tr.transform(*coords[0])
            coords[0] = back.transform(x + 55.0, y)
        props = {"status": span[3], "online_year": 2027 if span[3] == "planned" else None}
        features.append(
            {"type": "Feature", "properties": props, "geometry": mapping(LineString(coords))}
        )
    features.append({"type": "Feature", "properties": {"status": "operational"}, "geometry": None})
    empty = {"type": "LineString", "coordinates": []}
    features.append({"type": "Feature", "properties": {"status": "operational"}, "geometry": empty})
    path = tmp_path / "routes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    metro = prepare(load_config(write_city(tmp_path / "a", path)))
    st = metro.network.stats
    assert (st["input_lines"], st["empty_lines"], st["built_lines"]) == (8, 2, 5)
    assert any("2 of 8 feature(s) have no geometry" in n for n in metro.inputs.notes)
    assert st["components"] == 2  # Ho hangs off the gap
    metro = prepare(load_config(write_city(tmp_path / "b", path, network_yaml=", snap_m: 60")))
    st = metro.network.stats
    assert (st["snaps"], st["components"]) == (1, 1)
    assert st["snap_gap_max_m"] == pytest.approx(55.0, abs=1e-6)
    assert any("1 gap(s) under snap_m = 60 m joined" in n for n in metro.inputs.notes)
    # At the tolerance exactly, the gap is not closer than it: not joined. The gap measured
    # by hand, in the same UTM zone, from the coordinates as written.
    ends = [tuple(features[4]["geometry"]["coordinates"][0]), NODES["KOF"][1:]]
    (x1, y1), (x2, y2) = (tr.transform(*p) for p in ends)
    gap = float(np.hypot(x1 - x2, y1 - y2))
    assert st["snap_gap_max_m"] == gap
    for snap_m, joined in ((gap, 0), (float(np.nextafter(gap, np.inf)), 1)):
        cfg = write_city(tmp_path / f"d{joined}", path, network_yaml=f", snap_m: {snap_m!r}")
        assert prepare(load_config(cfg)).network.stats["snaps"] == joined


@pytest.mark.parametrize("country", sorted(WATRA))
def test_watra_latencies_equal_the_brute_force_reference(shared_data: Path, country: str) -> None:
    # The reference of test_latency_exact (networkx, every line kept, edges split at every
    # projection, ties as the minimum) on the real routes, gaps under 20 km joined.
    from test_latency_exact import Case, check

    path = _watra(shared_data, country)
    _, _, epsg = WATRA[country]
    raw = pyogrio.read_dataframe(path)
    parts = raw[raw["status"] == "Operational"].explode(index_parts=False).to_crs(epsg)
    geoms = list(parts.geometry)
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = parts.total_bounds
    beside = [
        np.asarray(g.interpolate(f, normalized=True).coords)[0] + rng.normal(0, 500, 2)
        for g, f in zip(geoms, rng.uniform(0, 1, len(geoms)), strict=True)
    ]
    case = Case(
        geoms=geoms,
        site_xy=np.array([np.asarray(geoms[k].coords[0]) + 300.0 for k in (0, 7, 20)]),
        site_us=np.array([20.0, 0.0, 35.0]),
        pts=np.concatenate([rng.uniform([x0, y0], [x1, y1], size=(60, 2)), np.array(beside)]),
        max_drop_m=20_000.0,
        snap_m=20_000.0,
    )
    latency, _ = check(case)
    assert np.isfinite(latency).sum() >= len(geoms)


def test_a_missing_status_is_named_and_can_be_mapped(tmp_path: Path) -> None:
    lines = gpd.read_file(write_plain_lines(tmp_path / "l.gpkg", ids=False))
    lines.loc[1, "status"] = None
    lines.to_file(tmp_path / "status.gpkg", driver="GPKG")
    with pytest.raises(InputError, match=r"\['\(missing\)'\]"):
        prepare(load_config(write_city(tmp_path / "a", tmp_path / "status.gpkg")))
    config = write_city(
        tmp_path / "b",
        tmp_path / "status.gpkg",
        network_yaml=", status: {built: [operational, '']}",
    )
    assert prepare(load_config(config)).network.stats["built_lines"] == 5


# --------------------------------------------------------------------------- the command line


def _break_ids(folder: Path) -> Path:
    """Float ids where a line missing its id ends on two stacked nodes."""
    folder.mkdir(parents=True, exist_ok=True)
    geoms = [
        LineString([(-0.187, 5.603), (-0.25, 5.95)]),
        LineString([(-0.25, 5.95), (-0.6, 6.3)]),
        LineString([(-0.25, 5.95), (-0.1, 6.2)]),  # another node at the same point
        LineString([(-0.25, 5.95), (-0.4, 5.9)]),  # ids missing: which node?
    ]
    frame = gpd.GeoDataFrame(
        {"u": [1.0, 2.0, 7.0, np.nan], "v": [2.0, 3.0, 8.0, np.nan]}, geometry=geoms, crs=WGS84
    )
    frame.to_file(folder / "ids.gpkg", driver="GPKG")
    return write_city(folder, folder / "ids.gpkg")


def _break_ofds(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_ofds_json(folder / "network.json")
    package = json.loads(path.read_text("utf-8"))
    package["networks"][0]["spans"][2]["route"] = {"type": "Point", "coordinates": [0.0, 5.0]}
    path.write_text(json.dumps(package), "utf-8")
    return write_city(folder, path)


def _break_status(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = gpd.read_file(write_plain_lines(folder / "l.gpkg", ids=False))
    lines.loc[0, "status"] = "Unknown"
    lines.to_file(folder / "status.gpkg", driver="GPKG")
    return write_city(folder, folder / "status.gpkg")


@pytest.mark.parametrize(
    ("breaks", "names", "says"),
    [
        (_break_ids, "ids.gpkg: u: ", "lies on several nodes"),
        (_break_ofds, "network.json: networks[0].spans[2].route: ", "must be a line, got Point"),
        (_break_status, "status.gpkg: status: ", "['Unknown'] are neither built"),
    ],
    ids=["stacked-missing-id", "ofds-route-not-a-line", "unknown-status"],
)
def test_bad_network_is_one_line_exit_2_nothing_written(
    breaks, names: str, says: str, tmp_path: Path, capsys
) -> None:
    from latcircle.cli import main

    config = breaks(tmp_path / "city")
    out = tmp_path / "out"
    code = main(["run", str(config), "--out", str(out)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert names in lines[0] and says in lines[0], lines[0]
    assert not out.exists()


def test_report_says_what_was_read(tmp_path: Path) -> None:
    from latcircle.pipeline import write_progress
    from latcircle.present.report import write_report

    lines = gpd.read_file(write_plain_lines(tmp_path / "l.gpkg", ids=False))
    lines.loc[1, "status"] = "Decommissioned <script>"
    lines.to_file(tmp_path / "status.gpkg", driver="GPKG")
    config = write_city(
        tmp_path / "city",
        tmp_path / "status.gpkg",
        network_yaml=", snap_m: 50, status: {excluded: ['decommissioned <script>']}",
    )
    run_city(
        load_config(config), out=tmp_path / "out", extra_outputs=[write_progress, write_report]
    )
    html = (tmp_path / "out" / "report.html").read_text("utf-8")
    record = json.loads((tmp_path / "out" / "run.json").read_text("utf-8"))
    st = record["network"]
    assert (st["input_lines"], st["built_lines"], st["planned_lines"], st["excluded_lines"]) == (
        6,
        4,
        1,
        1,
    )
    assert "<h3>Network read</h3>" in html
    for label, value in [
        ("lines read", "6"),
        ("built lines", "4"),
        ("planned lines (online from their year)", "1"),
        ("lines left out by status", "1"),
        ("gaps under 50 m joined (snap_m)", "0"),
        ("connected components", f"{st['components']:.0f}"),
    ]:
        assert f"<td>{label}</td><td>{value}</td>" in html, label
    share = f"{st['area_within_max_drop_share']:.1%}"
    assert f"of the network</td><td>{share}</td>" in html
    # The status value from the data (in the config's list) reaches the report as text.
    assert "decommissioned &lt;script&gt;" in html
    assert "decommissioned <script>" not in html


def test_multi_part_lines_that_do_not_join_lose_only_their_own_ids(tmp_path: Path) -> None:
    # Spans with u/v ids; s2 (Koforidua - Kumasi) as two parts with a 0.05° hole: that line
    # cannot be one edge. Its parts join by endpoints; every other line keeps its ids.
    from shapely.geometry import MultiLineString

    geoms = [LineString(_route(s)) for s in SPANS]
    route = _route(SPANS[1])
    geoms[1] = MultiLineString([route[:2], [(-0.65, 6.3), *route[2:]]])
    geoms[0] = MultiLineString([_route(SPANS[0])[:2], _route(SPANS[0])[1:]])  # joins: merged
    frame = gpd.GeoDataFrame(
        {"u": [s[1] for s in SPANS], "v": [s[2] for s in SPANS], "status": [s[3] for s in SPANS]},
        geometry=geoms,
        crs=WGS84,
    )
    frame.to_file(tmp_path / "multi.gpkg", driver="GPKG")
    metro = prepare(load_config(write_city(tmp_path / "a", tmp_path / "multi.gpkg")))
    st = metro.network.stats
    assert st["ids_from_endpoints"] == 2  # the two parts of s2
    assert metro.network.n_edges == 6  # 4 whole built spans + 2 parts (s6: planned, no year)
    assert st["components"] == 2  # the hole cuts Kumasi off
    assert any("1 multi-part line(s) whose parts do not join" in n for n in metro.inputs.notes)
