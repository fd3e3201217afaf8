"""End-to-end runs checked against hand-computed figures (tiny city) and real data (Wuhan)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from latcircle.config import C_M_PER_US, GROUP_INDEX_G652, load_config
from latcircle.pipeline import run_city
from latcircle.run import RunResult

# k·r for a road proxy, by hand: group index / c, times the 1.2 route factor (µs per metre).
KR = GROUP_INDEX_G652 / C_M_PER_US * 1.2
FIXED = 100.0 + 20.0  # E (optical preset) + the sites' device latency in the tiny city


def _metro(table: pd.DataFrame, basis: str, thr: float = 1.0) -> pd.Series:
    row = table[(table.scope == "metro") & (table.basis == basis) & (table.threshold_ms == thr)]
    assert len(row) == 1
    return row.iloc[0]


def test_tiny_city_shares_by_hand(tiny_city: Path, tmp_path: Path) -> None:
    result = run_city(load_config(tiny_city), out=tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "coverage.csv")
    # Roads cover x <= 6 km; with a 1 km max drop, cells and pixels whose centre has
    # x <= 7 km have access, and everything with access is far inside 1 ms (< 15 km of road).
    area = _metro(table, "area")
    assert area.total == pytest.approx(100.0)  # 10 km x 10 km
    assert area.covered == pytest.approx(28 * 40 * 0.0625)  # 28 of 40 columns of 250 m cells
    assert area.share == pytest.approx(0.7)
    assert area.no_access == pytest.approx(30.0) and area.too_far == pytest.approx(0.0)
    pop = _metro(table, "population")
    assert pop.total == pytest.approx(40_000) and pop.share == pytest.approx(0.7)
    keys = _metro(table, "key_sites")
    assert (keys.covered, keys.no_access, keys.total) == (3, 1, 4)
    east = table[(table.name == "East") & (table.basis == "area") & (table.threshold_ms == 1.0)]
    assert east.share.iloc[0] == pytest.approx(8 / 20)  # 8 of 20 eastern columns reach a road
    assert result.headline["area"] == pytest.approx(0.7)


def test_tiny_city_key_site_latencies_by_hand(tiny_city: Path, tmp_path: Path) -> None:
    run_city(load_config(tiny_city), out=tmp_path / "out")
    ks = gpd.read_file(tmp_path / "out" / "isochrones.gpkg", layer="key_sites").set_index("name")
    # Manhattan distances on the 1 km grid from site A (1, 5) km and B (5, 5) km.
    assert ks.loc["on road west", "latency_us"] == pytest.approx(FIXED + KR * 3000, abs=1e-6)
    assert ks.loc["on road west", "serving_site"] == "A"
    assert ks.loc["near road", "latency_us"] == pytest.approx(FIXED + KR * 2500, abs=1e-6)
    assert ks.loc["near road", "serving_site"] == "B"
    assert ks.loc["edge east", "latency_us"] == pytest.approx(FIXED + KR * (4000 + 500), abs=1e-6)
    assert ks.loc["far east", "status"] == "no_access"
    assert np.isnan(ks.loc["far east", "latency_us"])


def test_scenario_year_leaves_later_sites_out(make_tiny_city, tmp_path: Path) -> None:
    cfg = load_config(make_tiny_city(extra_yaml="year: 2025\n"))
    run_city(cfg, out=tmp_path / "out")
    ks = gpd.read_file(tmp_path / "out" / "isochrones.gpkg", layer="key_sites").set_index("name")
    # Site B comes online in 2027, so in 2025 site A serves everything.
    assert ks.loc["near road", "latency_us"] == pytest.approx(FIXED + KR * 3500, abs=1e-6)
    assert set(ks["serving_site"].dropna()) == {"A"}
    sites = gpd.read_file(tmp_path / "out" / "isochrones.gpkg", layer="sites").set_index("site_id")
    assert bool(sites.loc["A", "online"]) and not bool(sites.loc["B", "online"])


def test_too_far_split_at_a_tight_budget(make_tiny_city, tmp_path: Path) -> None:
    cfg = load_config(make_tiny_city(extra_yaml="thresholds_ms: [0.13, 1.0]\n"))
    run_city(cfg, out=tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "coverage.csv")
    keys = _metro(table, "key_sites", 0.13)
    # 0.13 ms leaves 10 µs after E and S: 1,701 m of route. No key site is that close.
    assert (keys.covered, keys.no_access, keys.too_far) == (0, 1, 3)
    area = _metro(table, "area", 0.13)
    assert area.covered + area.no_access + area.too_far == pytest.approx(area.total)
    assert 0 < area.covered < _metro(table, "area", 1.0).covered


def test_outputs_are_complete_and_well_formed(tiny_city: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_city(load_config(tiny_city), out=out)
    assert {"coverage.csv", "isochrones.gpkg", "latency.tif", "run.json"} <= {
        p.name for p in out.iterdir()
    }
    layers = set(gpd.list_layers(out / "isochrones.gpkg")["name"])
    assert {"bands", "sites", "key_sites", "boundary", "districts", "service_areas"} <= layers
    bands = gpd.read_file(out / "isochrones.gpkg", layer="bands")
    assert list(bands.threshold_ms) == [0.25, 0.5, 0.75, 1.0]
    assert bands.geometry.area.iloc[-1] / 1e6 == pytest.approx(70.0, rel=1e-6)
    with rasterio.open(out / "latency.tif") as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.dtypes[0] == "float32"
        data = src.read(1)
        assert np.isnan(data[:, -1]).all()  # the road-less east edge has no access
        assert np.nanmax(data) < 1000.0
    run = json.loads((out / "run.json").read_text())
    assert run["city"]["synthetic"] is True and run["city"]["sites_hypothetical"] is True
    assert run["parameters"]["route_factor"] == 1.2
    assert len(run["inputs"]["network"][0]["sha256"]) == 64
    timings = json.loads((out / "timings.json").read_text())  # apart: run.json is stable
    assert {"load", "network", "locate", "dijkstra", "outputs"} <= set(timings["stage_seconds"])


def test_same_inputs_same_bytes(tiny_city: Path, tmp_path: Path) -> None:
    cfg = load_config(tiny_city)
    run_city(cfg, out=tmp_path / "a")
    run_city(cfg, out=tmp_path / "b")
    for name in ("coverage.csv", "isochrones.gpkg", "latency.tif"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_failed_run_leaves_previous_outputs(tiny_city: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_city(load_config(tiny_city), out=out)
    before = (out / "coverage.csv").read_bytes()

    def explode(result: object, folder: Path) -> None:
        (folder / "half-written.txt").write_text("partial")
        raise RuntimeError("killed mid-run")

    with pytest.raises(RuntimeError):
        run_city(load_config(tiny_city), out=out, extra_outputs=[explode])
    assert (out / "coverage.csv").read_bytes() == before
    assert not (out / "half-written.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.realdata
@pytest.mark.slow
def test_wuhan_end_to_end(wuhan_run: RunResult) -> None:
    # The session's one whole run of data/cities/wuhan.yaml (conftest; skips without data).
    table = wuhan_run.coverage
    districts = set(table.loc[table.scope == "district", "name"])
    assert len(districts) == 13
    keys = _metro(table, "key_sites")
    assert keys.total == 1676  # every Weibo POI lies inside the OSM boundary after GCJ-02 -> WGS84
    pop = _metro(table, "population")
    # WorldPop ages 20+: 9,491,334 people in the clipped raster (data README).
    assert pop.total == pytest.approx(9_491_334, rel=0.01)
    area = _metro(table, "area")
    assert area.total == pytest.approx(8604, rel=0.005)  # OSM boundary, 8,604 km²
    for basis in ("key_sites", "population", "area"):
        share = _metro(table, basis).share
        assert 0.0 < share < 1.0
    # Roads cover the urban core only: outlying districts are mostly without access.
    xinzhou = table[
        (table.name == "Xinzhou") & (table.basis == "area") & (table.threshold_ms == 1.0)
    ]
    assert xinzhou.share.iloc[0] < 0.2


def test_graphml_fibre_network_with_node_device_latency(tiny_city: Path, tmp_path: Path) -> None:
    """A fibre network as osmnx GraphML, OTN nodes carrying device latency (DESIGN §2 D(n))."""
    import networkx as nx
    import osmnx as ox

    from tests.conftest import X0, Y0, to_lonlat

    # A straight 4 km fibre along y = 5 km with nodes every km; node 2 is an OTN site (30 µs).
    xs = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0]) + X0
    lon, lat = to_lonlat(xs, np.full(5, 5000.0 + Y0))
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(5):
        graph.add_node(
            i + 1, x=float(lon[i]), y=float(lat[i]), device_latency_us=30.0 if i == 2 else 0.0
        )
    for i in range(4):
        graph.add_edge(i + 1, i + 2, key=0, highway="fibre")
        graph.add_edge(i + 2, i + 1, key=0, highway="fibre")
    ox.save_graphml(graph, tmp_path / "fibre.graphml")
    folder = tiny_city.parent
    text = tiny_city.read_text(encoding="utf-8").replace(
        "network: {path: roads.gpkg, kind: road}",
        f"network: {{path: {tmp_path / 'fibre.graphml'}, kind: fibre, "
        "node_latency_field: device_latency_us}",
    )
    (folder / "fibre.yaml").write_text(text, encoding="utf-8")
    (folder / "sites.csv").write_text(
        "id,lon,lat,device_latency_us\n" + f"A,{lon[0]:.9f},{lat[0]:.9f},20\n", encoding="utf-8"
    )
    (folder / "key_sites.csv").write_text(
        "name,category,lon,lat\n"
        + "".join(f"k{i},campus,{lon[i]:.9f},{lat[i]:.9f}\n" for i in (1, 3, 4)),
        encoding="utf-8",
    )
    run_city(load_config(folder / "fibre.yaml"), out=tmp_path / "out")
    ks = gpd.read_file(tmp_path / "out" / "isochrones.gpkg", layer="key_sites").set_index("name")
    kr_fibre = GROUP_INDEX_G652 / C_M_PER_US * 1.0  # route factor 1.0 for a fibre network
    # Great-circle vs UTM: node spacing is 1 km in UTM to within a millimetre.
    assert ks.loc["k1", "latency_us"] == pytest.approx(FIXED + kr_fibre * 1000, abs=1e-3)
    # Passing through the OTN node at 3 km adds its 30 µs.
    assert ks.loc["k3", "latency_us"] == pytest.approx(FIXED + kr_fibre * 3000 + 30, abs=1e-3)
    assert ks.loc["k4", "latency_us"] == pytest.approx(FIXED + kr_fibre * 4000 + 30, abs=1e-3)


def test_links_with_an_online_year(tiny_city: Path, tmp_path: Path) -> None:
    """Roads over the road-less east come online in 2027: access, and shares, follow."""
    import shapely
    from conftest import X0, Y0

    from latcircle.analysis.metro import prepare
    from latcircle.analysis.progress import progress_table

    roads = gpd.read_file(tiny_city.parent / "roads.gpkg")
    roads["online_year"] = pd.array([pd.NA] * len(roads), dtype="Int64")
    # Extend the horizontal roads from x = 6 km to 10 km, built in 2027.
    east = [
        shapely.LineString(
            [(X0 + 6000 + i * 1000, Y0 + j * 1000), (X0 + 7000 + i * 1000, Y0 + j * 1000)]
        )
        for i in range(4)
        for j in range(11)
    ]
    new = gpd.GeoDataFrame(
        {
            "highway": ["residential"] * len(east),
            "online_year": pd.array([2027] * len(east), dtype="Int64"),
        },
        geometry=east,
        crs=roads.crs,
    )
    pd.concat([roads, new], ignore_index=True).to_file(
        tiny_city.parent / "roads.gpkg", driver="GPKG"
    )
    metro = prepare(load_config(tiny_city))
    # Before 2027 the east beyond 7 km has no access (the hand-computed 70 % of the tiny city);
    # from 2027 every cell is within 500 m of a road.
    assert metro.scenario(year=2026).share("area", threshold_ms=1.0) == pytest.approx(0.7)
    assert metro.scenario(year=2027).share("area", threshold_ms=1.0) == pytest.approx(1.0)
    assert metro.scenario(year=2026).share("key_sites", threshold_ms=1.0) == pytest.approx(0.75)
    assert metro.scenario(year=2027).share("key_sites", threshold_ms=1.0) == pytest.approx(1.0)
    # "far east" (9, 5) km: reached over the new road at y = 5 km from site B at (5, 5) km.
    ev = metro.scenario(year=2027).evaluations["key_sites"]
    far = ev.latency_us[2]  # key sites in file order: on road west, near road, far east
    assert far == pytest.approx(FIXED + KR * 4000, abs=1e-6)
    table = progress_table(metro)
    area = table[table.basis == "area"].set_index("year")["share"]
    assert area.loc[2026] == pytest.approx(0.7) and area.loc[2027] == pytest.approx(1.0)
    # Roads built in 2028 instead: 2027 and 2028 have the same sites (A and B) on two
    # networks, two solves. Neither year's scenario stands in for the other's, whichever
    # was solved first (the run's own scenario is handed to the table to reuse).
    new["online_year"] = pd.array([2028] * len(east), dtype="Int64")
    pd.concat([roads, new], ignore_index=True).to_file(
        tiny_city.parent / "roads.gpkg", driver="GPKG"
    )
    metro = prepare(load_config(tiny_city))
    assert np.array_equal(metro.online(2027), metro.online(2028))
    for reuse in ([metro.scenario(year=2027)], [metro.scenario(year=2028)]):
        table = progress_table(metro, years=[2027, 2028], reuse=reuse)
        area = table[table.basis == "area"].set_index("year")["share"]
        assert area.loc[2027] == pytest.approx(0.7) and area.loc[2028] == pytest.approx(1.0)


def test_prepared_metro_stays_frozen(tiny_city: Path) -> None:
    """No cache fills later and no list grows: a prepared metro is the same after any use."""
    import dataclasses
    import pickle

    from latcircle.analysis.metro import prepare

    metro = prepare(load_config(tiny_city))
    assert isinstance(metro.inputs.notes, tuple) and isinstance(metro.views, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        metro.inputs.notes = ()  # type: ignore[misc]
    views, notes = metro.views, metro.inputs.notes
    for year in (None, 2024, 2027, 2030):
        metro.scenario(year=year)
    assert metro.views is views and metro.inputs.notes is notes
    # Nothing unpicklable either (a prepared metro may travel to a worker process).
    again = pickle.loads(pickle.dumps(metro))
    assert again.scenario(year=2030).share("area", threshold_ms=1.0) == metro.scenario(
        year=2030
    ).share("area", threshold_ms=1.0)
