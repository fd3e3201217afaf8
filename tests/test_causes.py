"""The three causes of "not covered", exact on a hand-built city, in every output.

The city (UTM 50N, offset to X0, Y0; metres below are local):

* metro: the box 0-10,000 m (x) by 0-6,000 m (y); districts West (x < 5,000) and East;
  grid cells of 500 m: 20 columns by 12 rows, 240 cells of 0.25 km²;
* network: two pieces that never meet, piece A along y = 1,000 and piece B along y = 3,000,
  both from x = 0 to 10,000;
* one compute site, on piece A at x = 0, online 2024; piece B carries no site;
* latency model: k = 120 µs/km, route factor 1, no equipment or device latency, max drop
  1,000 m, so latency = 0.12 µs/m × (distance along A from x = 0 + drop) and the 1 ms budget
  is 8,333.3 m of path;
* no population raster (an empty basis is normal).

Inputs pass through WGS84 on reading (micrometre errors), so no sample here sits exactly on
the budget or the max drop: those ties are checked on the rule itself
(:func:`test_cause_codes_at_the_ties`).

By hand, per row of cells (centre y; the nearest piece; the drop):

* y = 250, 1,750 (A, drop 750): covered while x + 750 ≤ 8,333: centres 250 ... 7,250 = 15
  cells; 5 too far;
* y = 750, 1,250 (A, drop 250): x + 250 ≤ 8,333: 250 ... 7,750 = 16 cells; 4 too far;
* y = 2,250 ... 3,750 (B, drop ≤ 750): 4 rows × 20 = 80 cells unreachable (40 West, 40 East);
* y = 4,250 ... 5,750 (drop > 1,000 from B): 80 cells no access (40 West, 40 East).

So covered 62 cells (15.5 km²), too far 18 (4.5 km²), unreachable 80 (20 km²), no access 80
(20 km²). Key sites: K1 and K2 (960 µs) covered, K3 too far, K4 and K6 unreachable, K5 no
access.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from conftest import UTM50, X0, Y0

from latcircle.analysis.coverage import CAUSE_CODES
from latcircle.config import load_config
from latcircle.pipeline import default_outputs, run_city

CELL_KM2 = 0.25
#: Area by status, in cells (see the module docstring).
CELLS = {"covered": 62, "too_far": 18, "unreachable": 80, "no_access": 80}
#: Key sites: name, x, y, district, status, latency (µs; NaN where no site reaches).
KEY_SITES = [
    ("K1", 2000.0, 1100.0, "West", "covered", 0.12 * 2100),
    ("K2", 7900.0, 1100.0, "East", "covered", 0.12 * 8000),
    ("K3", 9000.0, 1100.0, "East", "too_far", 0.12 * 9100),
    ("K4", 5200.0, 3000.0, "East", "unreachable", np.nan),
    ("K5", 4000.0, 5000.0, "West", "no_access", np.nan),
    ("K6", 2200.0, 3900.0, "West", "unreachable", np.nan),
]
KEYS = {"covered": 2, "too_far": 1, "unreachable": 2, "no_access": 1}


def _write_city(folder: Path) -> Path:
    folder.mkdir(parents=True)
    box = shapely.box(X0, Y0, X0 + 10_000, Y0 + 6_000)
    gpd.GeoDataFrame({"name": ["Pieces"]}, geometry=[box], crs=UTM50).to_file(
        folder / "boundary.gpkg"
    )
    halves = [
        shapely.box(X0, Y0, X0 + 5_000, Y0 + 6_000),
        shapely.box(X0 + 5_000, Y0, X0 + 10_000, Y0 + 6_000),
    ]
    # West has an adcode and a Chinese name; East has neither.
    gpd.GeoDataFrame(
        {"name": ["West", "East"], "adcode": [420102, None], "name_local": ["江岸区", None]},
        geometry=halves,
        crs=UTM50,
    ).to_file(folder / "districts.gpkg")
    lines = [
        shapely.LineString([(X0 + x, Y0 + y), (X0 + x + 1000, Y0 + y)])
        for y in (1000.0, 3000.0)
        for x in range(0, 10_000, 1000)
    ]
    gpd.GeoDataFrame({"highway": ["primary"] * len(lines)}, geometry=lines, crs=UTM50).to_file(
        folder / "roads.gpkg"
    )
    # Points in the local CRS itself (GeoPackage): no lon/lat round trip moves them.
    gpd.GeoDataFrame(
        {
            "id": ["S"],
            "name": ["Site on piece A"],
            "tier": ["large"],
            "online_year": [2024],
            "device_latency_us": [0.0],
        },
        geometry=[shapely.Point(X0, Y0 + 1000.0)],
        crs=UTM50,
    ).to_file(folder / "sites.gpkg")
    gpd.GeoDataFrame(
        {"name": [k[0] for k in KEY_SITES], "category": ["campus"] * len(KEY_SITES)},
        geometry=[shapely.Point(X0 + k[1], Y0 + k[2]) for k in KEY_SITES],
        crs=UTM50,
    ).to_file(folder / "key_sites.gpkg")
    config = folder / "pieces.yaml"
    config.write_text(
        textwrap.dedent("""\
        id: pieces
        name: Two network pieces (synthetic)
        synthetic: true
        boundary: boundary.gpkg
        districts: {path: districts.gpkg, name_field: name}
        network: {path: roads.gpkg, kind: road}
        sites: {path: sites.gpkg}
        key_sites: {path: key_sites.gpkg, name_field: name, category_field: category}
        model: {k_us_per_km: 120, route_factor: 1.0, equipment_us: 0, site_device_us: 0,
                max_drop_m: 1000}
        grid: {cell_m: 500}
        """),
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("causes")
    cfg = load_config(_write_city(root / "in"))
    run_city(cfg, out=root / "out", extra_outputs=default_outputs())
    return root / "out"


def test_coverage_table_has_the_three_causes(run: Path) -> None:
    cov = pd.read_csv(run / "coverage.csv")
    at = cov[cov["threshold_ms"] == 1.0].set_index(["scope", "name", "basis"])
    area = at.loc[("metro", "metro", "area")]
    for status, cells in CELLS.items():
        assert area[status] == pytest.approx(cells * CELL_KM2), status
    assert area["total"] == pytest.approx(240 * CELL_KM2)
    keys = at.loc[("metro", "metro", "key_sites")]
    assert {s: keys[s] for s in KEYS} == KEYS
    # By district: West holds 40 unreachable and 40 no-access cells, and no too-far cell.
    west = at.loc[("district", "West", "area")]
    assert (west["unreachable"], west["no_access"], west["too_far"]) == (10.0, 10.0, 0.0)
    assert "population" not in set(cov["basis"])  # no raster: no population rows


def test_progress_table_carries_the_causes(run: Path) -> None:
    progress = pd.read_csv(run / "progress.csv")
    row = progress[(progress["year"] == 2024) & (progress["basis"] == "key_sites")].iloc[0]
    assert {s: row[s] for s in KEYS} == KEYS
    assert row["share"] == pytest.approx(2 / 6)
    area = progress[(progress["year"] == 2027) & (progress["basis"] == "area")].iloc[0]
    assert area["unreachable"] == pytest.approx(20.0) and area["too_far"] == pytest.approx(4.5)


def test_key_site_layer_and_status_band(run: Path) -> None:
    ks = gpd.read_file(run / "isochrones.gpkg", layer="key_sites").set_index("name")
    for name, _, _, district, status, latency in KEY_SITES:
        assert ks.loc[name, "status"] == status, name
        assert ks.loc[name, "district"] == district, name
        if np.isnan(latency):
            assert pd.isna(ks.loc[name, "latency_us"]), name
        else:
            assert ks.loc[name, "latency_us"] == pytest.approx(latency, abs=1e-3), name
    with rasterio.open(run / "latency.tif") as src:
        status = src.read(2)
    for name, cells in CELLS.items():
        assert int((status == CAUSE_CODES[name]).sum()) == cells, name
    assert int((status > 0).sum()) == 240  # every cell of the metro has a status


def test_clusters_by_cause_and_district(run: Path) -> None:
    clusters = pd.read_csv(run / "clusters.csv", dtype={"adcode": str})
    # The run is every site; the clusters are those of the first target year falling short.
    assert (clusters["year"] == 2027).all()
    got = sorted(
        zip(
            clusters["cause"],
            clusters["district"],
            clusters["cells"],
            clusters["key_sites"],
            strict=True,
        )
    )
    # The East no-access cluster holds no key site: left out of the ranking.
    assert got == [
        ("no_access", "West", 40, 1.0),
        ("too_far", "East", 18, 1.0),
        ("unreachable", "East", 40, 1.0),
        ("unreachable", "West", 40, 1.0),
    ]
    # Where the district has them: its adcode and Chinese name.
    west = clusters[clusters["district"] == "West"]
    assert (west["adcode"] == "420102").all()
    assert (west["district_local"] == "江岸区").all()
    assert (
        clusters.loc[clusters["district"] == "East", ["adcode", "district_local"]]
        .isna()
        .all()
        .all()
    )
    report = (run / "report.html").read_text(encoding="utf-8")
    assert "West (江岸区 420102)" in report
    far = clusters[clusters["cause"] == "too_far"].iloc[0]
    # The best too-far cells: x 8,250 with drop 250, or x 7,750 with drop 750.
    assert far["min_latency_us"] == pytest.approx(0.12 * 8500, abs=1e-3)
    assert clusters.loc[clusters["cause"] != "too_far", "min_latency_us"].isna().all()
    record = json.loads((run / "progress.json").read_text(encoding="utf-8"))
    counts = record["clusters"]["counts"]
    assert counts["no_access"] == {"clusters": 2, "zero_weight": 1}
    assert counts["unreachable"] == {"clusters": 2, "zero_weight": 0}
    assert counts["too_far"] == {"clusters": 1, "zero_weight": 0}
    report = (run / "report.html").read_text(encoding="utf-8")
    assert "Left out, weighing nothing on the ranking basis: 1 no access cluster(s)." in report


def test_map_and_report_name_the_three_causes(run: Path) -> None:
    page = (run / "map.html").read_text(encoding="utf-8")
    assert "unreachable (connect the network or build a site there)" in page
    # Markers and their weight (unweighted key sites here: one each).
    assert (
        "Key sites: unreachable (connect the network or build a site there) "
        "(2 markers, key-site weight 2)"
    ) in page
    assert "Key sites: no access (build access) (1 markers, key-site weight 1)" in page
    assert "Key sites: too far (build compute nearer) (1 markers, key-site weight 1)" in page
    report = (run / "report.html").read_text(encoding="utf-8")
    for words in ("2 key sites", "20.0 km²", "4.5 km²"):
        assert words in report, words
    for label in (
        "no access (build access)",
        "unreachable (connect the network or build a site there)",
        "too far (build compute nearer)",
    ):
        assert f"<h3>{label}</h3>" in report, label


def test_cause_codes_at_the_ties() -> None:
    """Exactly at the budget is covered, one ulp over is too far; no access wins over all."""
    from latcircle.analysis.coverage import cause_codes

    budget_us = 1000.0
    latency = np.array([budget_us, np.nextafter(budget_us, np.inf), np.inf, np.inf, 0.0])
    access = np.array([True, True, True, False, True])
    codes = cause_codes(latency, access, budget_ms=1.0)
    names = {v: k for k, v in CAUSE_CODES.items()}
    assert [names[c] for c in codes] == [
        "covered",
        "too_far",
        "unreachable",
        "no_access",
        "covered",
    ]
