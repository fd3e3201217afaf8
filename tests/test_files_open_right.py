"""Files that open right: CSVs with a BOM, causes.tif as classes, WGS84 exports, --export.

On the tiny city (conftest). The GDAL attribute table is read through GDAL's own C API
(rasterio's bundled libgdal), not through latcircle's writer.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio

from latcircle.cli import _parser, main
from latcircle.output.files import read_csv


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import _write_tiny_city

    folder = tmp_path_factory.mktemp("files")
    config = _write_tiny_city(folder / "city")
    dest = folder / "out"
    argv = ["-q", "run", "--no-map", "--no-report", "--export", "geojson,geoparquet"]
    assert main([*argv, "--out", str(dest), str(config)]) == 0
    return dest


def test_csvs_start_with_a_bom_and_read_back(out: Path, tmp_path: Path) -> None:
    assert (out / "coverage.csv").read_bytes().startswith(b"\xef\xbb\xbfscope,name,")
    for name in ("progress.csv", "clusters.csv", "interconnect.csv"):
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
        assert not read_csv(out / name).columns[0].startswith("\ufeff")
    # The national roll-up reads the BOM files back (readback) and writes its own with one.
    national = tmp_path / "national"
    assert main(["-q", "national-rollup", str(out), "--out", str(national)]) == 0
    summary = national / "summary.csv"
    assert summary.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(read_csv(summary)) == 1


def test_causes_tif_is_classed(out: Path) -> None:
    with rasterio.open(out / "causes.tif") as src, rasterio.open(out / "latency.tif") as lat:
        assert src.dtypes == ("uint8",) and src.nodata == 255
        colours = src.colormap(1)
        codes = src.read(1)
        band2 = lat.read(2)
        assert lat.count >= 2 and lat.dtypes[1] == "float32"  # band order kept
    # The map's colours (present.style.STATUS_COLOURS), by hand: #1a9641 ... #d7191c.
    assert colours[1] == (0x1A, 0x96, 0x41, 255) and colours[4] == (0xD7, 0x19, 0x1C, 255)
    # Same codes as latency.tif band 2, 255 where it says 0 (outside the metro).
    np.testing.assert_array_equal(codes, np.where(band2 == 0, 255, band2).astype("uint8"))
    assert set(np.unique(codes)) <= {1, 2, 3, 4, 255} and 1 in codes and 255 in codes
    assert 'type="paletted" band="1"' in (out / "causes.qml").read_text(encoding="utf-8")


_GDAL_RAT = r"""
import ctypes, glob, os, sys, rasterio
lib = glob.glob(os.path.join(os.path.dirname(rasterio.__file__), "..", "rasterio.libs", "libgdal*"))
g = ctypes.CDLL(lib[0]) if lib else ctypes.CDLL(None)
g.GDALAllRegister()
g.GDALOpen.restype = ctypes.c_void_p; g.GDALOpen.argtypes = [ctypes.c_char_p, ctypes.c_int]
g.GDALGetRasterBand.restype = ctypes.c_void_p
g.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
g.GDALGetDefaultRAT.restype = ctypes.c_void_p; g.GDALGetDefaultRAT.argtypes = [ctypes.c_void_p]
g.GDALRATGetRowCount.argtypes = [ctypes.c_void_p]
g.GDALRATGetColumnCount.argtypes = [ctypes.c_void_p]
g.GDALRATGetNameOfCol.restype = ctypes.c_char_p
g.GDALRATGetNameOfCol.argtypes = [ctypes.c_void_p, ctypes.c_int]
g.GDALRATGetValueAsString.restype = ctypes.c_char_p
g.GDALRATGetValueAsString.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
g.GDALGetProjectionRef.restype = ctypes.c_char_p
g.GDALGetProjectionRef.argtypes = [ctypes.c_void_p]
g.GDALGetRasterCategoryNames.restype = ctypes.POINTER(ctypes.c_char_p)
g.GDALGetRasterCategoryNames.argtypes = [ctypes.c_void_p]
ds = g.GDALOpen(sys.argv[1].encode(), 0)
band = g.GDALGetRasterBand(ds, int(sys.argv[2]))
# What a GIS does first; GDAL's GeoTIFF driver loads the side file lazily, on this call.
g.GDALGetProjectionRef(ds)
names, i = [], 0
raw = g.GDALGetRasterCategoryNames(band)
while raw and raw[i] is not None:
    names.append(raw[i].decode())
    i += 1
rat = g.GDALGetDefaultRAT(band)
cols = [g.GDALRATGetNameOfCol(rat, c).decode() for c in range(g.GDALRATGetColumnCount(rat))]
rows = [[g.GDALRATGetValueAsString(rat, r, c).decode() for c in range(len(cols))]
        for r in range(g.GDALRATGetRowCount(rat))]
print(__import__("json").dumps({"cols": cols, "rows": rows, "names": names}))
"""


@pytest.mark.parametrize(("name", "band"), [("causes.tif", 1), ("latency.tif", 2)])
def test_causes_classes_read_by_gdal(out: Path, name: str, band: int) -> None:
    if not glob.glob(os.path.join(os.path.dirname(rasterio.__file__), "..", "rasterio.libs")):
        pytest.skip("rasterio without a bundled libgdal (a system GDAL build)")
    done = subprocess.run(
        [sys.executable, "-c", _GDAL_RAT, str(out / name), str(band)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = json.loads(done.stdout)
    assert table["cols"] == ["value", "cause", "label", "red", "green", "blue"]
    assert [r[:2] for r in table["rows"]] == [
        ["1", "covered"],
        ["2", "no_access"],
        ["3", "unreachable"],
        ["4", "too_far"],
    ]
    assert table["rows"][0][3:] == ["26", "150", "65"]
    # Category names by pixel value (0 is outside the metro: nodata 255 in causes.tif).
    assert table["names"] == [
        "outside the metro",
        "covered",
        "no access (build access)",
        "unreachable (connect the network or build a site there)",
        "too far (build compute nearer)",
    ]


def test_geoparquet_metadata_says_epsg_4326(out: Path, tmp_path: Path) -> None:
    meta = json.loads(pq.read_schema(out / "exports" / "bands.parquet").metadata[b"geo"])
    crs = meta["columns"][meta["primary_column"]]["crs"]
    assert crs["id"] == {"authority": "EPSG", "code": 4326}
    gj = json.loads((out / "exports" / "bands.geojson").read_text(encoding="utf-8"))
    assert "crs" not in gj  # RFC 7946: WGS84 longitude/latitude
    from latcircle.output.exports import write_exports

    (tmp_path / "isochrones.gpkg").write_bytes((out / "isochrones.gpkg").read_bytes())
    write_exports(tmp_path, ["geoparquet", "geojson"], crs="local")
    meta = json.loads(pq.read_schema(tmp_path / "exports" / "bands.parquet").metadata[b"geo"])
    local = meta["columns"][meta["primary_column"]]["crs"]["id"]
    assert local["authority"] == "EPSG" and 32601 <= local["code"] <= 32660  # UTM north
    gj = json.loads((tmp_path / "exports" / "bands.geojson").read_text(encoding="utf-8"))
    assert gj["crs"]["properties"]["name"] == f"urn:ogc:def:crs:EPSG::{local['code']}"


@pytest.mark.parametrize(
    ("argv", "formats"),
    [
        (["run", "--export", "geojson", "CITY.yaml"], ["geojson"]),
        (["run", "--export", "geojson,geoparquet", "CITY.yaml"], ["geojson", "geoparquet"]),
        (
            ["run", "CITY.yaml", "--export", "geoparquet", "--export", "geojson"],
            ["geoparquet", "geojson"],
        ),
        (["run", "CITY.yaml"], []),
    ],
)
def test_export_keeps_config_positional(argv: list[str], formats: list[str]) -> None:
    args = _parser().parse_args(argv)
    assert str(args.config) == "CITY.yaml" and args.export == formats
    assert args.export_crs == "wgs84"


def test_unknown_export_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        _parser().parse_args(["run", "--export", "geojson,shapefile", "CITY.yaml"])
    assert done.value.code == 2
    assert "unknown format(s) 'shapefile'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--export-crs", "gcj02", "CITY.yaml"])


def test_latency_qml_classes_at_the_thresholds(out: Path) -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring((out / "latency.qml").read_text(encoding="utf-8"))
    renderer = root.find("pipe/rasterrenderer")
    assert renderer is not None and renderer.get("band") == "1"
    items = root.findall(".//colorrampshader/item")
    # The tiny city's thresholds 0.25, 0.5, 0.75, 1 ms are 250 ... 1000 µs (band 1's unit).
    assert [i.get("value") for i in items] == ["250", "500", "750", "1000"]
    assert [i.get("label") for i in items][:2] == ["≤ 0.25 ms", "0.25–0.5 ms"]
