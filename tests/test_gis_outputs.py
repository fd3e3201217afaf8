"""GIS-native outputs: QGIS styles in the GeoPackage, rings, the GeoTIFF's band unit, exports.

On the tiny city (conftest): a 10 km square whose 1 km road grid covers the western 6 km, so
the 1 ms band is the 70 km² worked out by hand in test_pipeline.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from latcircle.analysis.isochrones import band_rings
from latcircle.config import load_config
from latcircle.output.exports import export_step
from latcircle.pipeline import run_city, write_progress
from latcircle.run import RunResult

STYLED = ("bands", "rings", "sites", "key_sites", "districts", "clusters")


@pytest.fixture(scope="module")
def run(tiny_run: RunResult) -> RunResult:
    """The session's tiny-city run with progress and both exports (conftest): read-only."""
    return tiny_run


def _styles(gpkg: Path) -> dict[str, tuple[str, str, int]]:
    with sqlite3.connect(gpkg) as db:
        rows = db.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_geopackage_has_a_default_qgis_style_per_layer(run: RunResult) -> None:
    gpkg = run.out / "isochrones.gpkg"
    styles = _styles(gpkg)
    layers = {str(n) for n, g in gpd.list_layers(gpkg).itertuples(index=False) if g}
    assert set(STYLED) <= layers  # clusters come from the progress step
    for layer in STYLED:
        geom_col, qml, default = styles[layer]
        assert default == 1, layer
        # The geometry column QGIS matches the style on is the layer's own.
        with sqlite3.connect(gpkg) as db:
            (col,) = db.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
        assert geom_col == col, layer
        root = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
        assert root.tag == "qgis" and root.find("renderer-v2") is not None, layer
    # GeoPackage rules: the style table is registered as an attribute table.
    with sqlite3.connect(gpkg) as db:
        kind = db.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchone()
    assert kind == ("attributes",)


def test_band_styles_draw_the_tightest_band_last_in_band_colours(run: RunResult) -> None:
    styles = _styles(run.out / "isochrones.gpkg")
    bands = ET.fromstring(styles["bands"][1].split("\n", 1)[1]).find("renderer-v2")
    assert bands.get("attr") == "threshold_ms" and bands.get("enableorderby") == "1"
    clause = bands.find("orderby/orderByClause")
    assert clause.text == '"threshold_ms"' and clause.get("asc") == "0"  # widest first
    values = [c.get("value") for c in bands.iter("category")]
    assert values == ["0.25", "0.5", "0.75", "1"]
    rings = ET.fromstring(styles["rings"][1].split("\n", 1)[1])
    labels = [c.get("label") for c in rings.iter("category")]
    assert labels == ["≤ 0.25 ms", "0.25–0.5 ms", "0.5–0.75 ms", "0.75–1 ms"]
    keys = ET.fromstring(styles["key_sites"][1].split("\n", 1)[1])
    assert {"covered", "too_far", "no_access"} <= {c.get("value") for c in keys.iter("category")}
    districts = ET.fromstring(styles["districts"][1].split("\n", 1)[1])
    assert districts.get("labelsEnabled") == "1"
    assert districts.find("labeling/settings/text-style").get("fieldName") == "name"


def test_rings_partition_the_widest_band(run: RunResult) -> None:
    gpkg = run.out / "isochrones.gpkg"
    bands = gpd.read_file(gpkg, layer="bands")
    rings = gpd.read_file(gpkg, layer="rings")
    assert list(rings["threshold_ms"]) == [0.25, 0.5, 0.75, 1.0]
    assert np.isnan(rings["lower_ms"].iloc[0]) and list(rings["lower_ms"].iloc[1:]) == [
        0.25,
        0.5,
        0.75,
    ]
    # Disjoint: no two rings share area.
    geoms = list(rings.geometry)
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert shapely.intersection(geoms[i], geoms[j]).area < 1e-3, (i, j)
    # Each ring is its band less the next tighter one; together they are the 1 ms band,
    # 70 km² by hand (test_pipeline).
    band_area = bands.set_index("threshold_ms").geometry.area
    expected = np.diff(np.concatenate([[0.0], band_area.to_numpy()]))
    np.testing.assert_allclose(rings.geometry.area.to_numpy(), expected, rtol=1e-9, atol=1e-3)
    assert rings.geometry.area.sum() / 1e6 == pytest.approx(70.0, rel=1e-6)
    assert shapely.union_all(geoms).equals(shapely.union_all(list(bands.geometry)))


def test_band_rings_with_an_empty_tightest_band() -> None:
    empty = shapely.MultiPolygon()
    square = shapely.box(0, 0, 10, 10)
    frame = gpd.GeoDataFrame(
        {"threshold_ms": [1.0, 0.5]}, geometry=[square, empty], crs="EPSG:32650"
    )
    rings = band_rings(frame)
    assert list(rings["threshold_ms"]) == [0.5, 1.0]
    assert rings.geometry.iloc[0].is_empty and rings.geometry.iloc[1].area == 100.0


def test_latency_tif_band_has_unit_and_description(run: RunResult) -> None:
    path = run.out / "latency.tif"
    with rasterio.open(path) as src:
        # Band 1 the latency (unit us); band 2 the status codes (issue 13), no unit; band 3
        # the critical route factor (issue 24, docs/uncertainty.md).
        assert src.count == 3
        assert src.units[0] == "us" and not src.units[1]
        assert "microseconds" in src.descriptions[0]
        assert "status" in src.descriptions[1]
        assert "critical route factor" in src.descriptions[2]
        assert src.tags(1)["units"] == "microseconds"
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"  # still a COG
    gdalinfo = shutil.which("gdalinfo")
    if gdalinfo:  # GDAL's own tool when installed; rasterio's rio otherwise
        out = subprocess.run([gdalinfo, str(path)], capture_output=True, text=True, check=True)
        assert "Unit Type: us" in out.stdout and "Description = one-way latency" in out.stdout
    rio = str(Path(sys.executable).with_name("rio"))  # rasterio's command line
    done = (
        subprocess.run([rio, "info", str(path)], capture_output=True, text=True)
        if Path(rio).exists()
        else None
    )
    if done is not None and done.returncode == 0:  # rasterio's command line works here
        info = json.loads(done.stdout)
        assert info["units"][0] == "us" and "microseconds" in info["descriptions"][0]


def test_exports_match_the_geopackage(run: RunResult) -> None:
    gpkg = run.out / "isochrones.gpkg"
    for layer in ("bands", "rings", "sites", "key_sites", "districts"):
        reference = gpd.read_file(gpkg, layer=layer)
        parquet = gpd.read_parquet(run.out / "exports" / f"{layer}.parquet")
        # WGS84 by default (issue 25): the GeoPackage's geometry reprojected, nothing else.
        assert parquet.crs.to_epsg() == 4326
        wgs = reference.to_crs(4326)
        assert all(
            a.equals_exact(b, 0) for a, b in zip(parquet.geometry, wgs.geometry, strict=True)
        ), layer
        geojson = json.loads((run.out / "exports" / f"{layer}.geojson").read_text())
        assert "crs" not in geojson  # RFC 7946: WGS84 implied
        back = gpd.read_file(run.out / "exports" / f"{layer}.geojson")
        assert back.crs.to_epsg() == 4326
        # Longitude/latitude of the tiny city (UTM 50N, near Wuhan), 1e-7 degree precision.
        # An empty band is a normal row: GeoJSON has no empty polygon, so its geometry is null.
        drawn = back.geometry[back.geometry.notna() & ~back.geometry.is_empty]
        assert len(back) == len(reference)
        point = drawn.representative_point()
        assert point.x.between(113, 116).all() and point.y.between(30, 31).all()
        distance = shapely.hausdorff_distance(
            reference.to_crs(4326).geometry.to_numpy(), back.geometry.to_numpy()
        )
        # Only an empty feature may come back null; every drawn one within 1e-6° (~0.1 m).
        null_ok = reference.geometry.is_empty.to_numpy() & back.geometry.isna().to_numpy()
        assert ((distance < 1e-6) | null_ok).all(), layer


def test_exports_leave_the_style_table_out(run: RunResult, tmp_path: Path) -> None:
    # In a run the exports are written before the styles; exporting the finished, styled
    # GeoPackage must still skip its layer_styles table (no geometry: not a layer to export).
    from latcircle.output.exports import write_exports

    folder = tmp_path / "styled"
    folder.mkdir()
    shutil.copy(run.out / "isochrones.gpkg", folder / "isochrones.gpkg")
    assert "layer_styles" in pyogrio.list_layers(folder / "isochrones.gpkg")[:, 0]
    written = {p.name for p in write_exports(folder, ["geojson"])}
    assert "bands.geojson" in written and "layer_styles.geojson" not in written
    assert not (folder / "exports" / "layer_styles.geojson").exists()


def test_same_inputs_same_bytes_with_styles_map_and_exports(tmp_path: Path) -> None:
    from conftest import _write_tiny_city

    from latcircle.present.map.step import map_writer

    config = _write_tiny_city(tmp_path / "city")
    outs = []
    for name in ("a", "b"):
        steps = [write_progress, map_writer(basemap="amap"), export_step(["geoparquet", "geojson"])]
        outs.append(run_city(load_config(config), out=tmp_path / name, extra_outputs=steps).out)
    names = ["map.html", "isochrones.gpkg", "latency.tif"]
    names += [f"exports/{p.name}" for p in sorted((outs[0] / "exports").iterdir())]
    assert len(names) > 10
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
