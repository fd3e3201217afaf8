"""Lighter reads of the load stage give what the frame reads gave, bit for bit.

``inputs.vectors.read_geometries`` (the boundary, one district per file) reads an OGR file's
geometries from pyogrio's WKB without a frame; it must return the geometries and CRS
``read_vector`` returns, and fail with its very message. ``inputs.population._band_values``
reads an all-valid band straight into float64; it must equal rasterio's masked read filled
with 0, and a band with a nodata value must still have those pixels masked.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.windows import Window

from latcircle.config import VectorInput
from latcircle.errors import InputError
from latcircle.inputs.population import _band_values
from latcircle.inputs.vectors import read_geometries, read_vector

# A district-like polygon with a hole and a second part, near Wuhan (lon/lat).
_SHAPES = [
    shapely.Polygon(
        [(114.20, 30.50), (114.35, 30.52), (114.33, 30.66), (114.21, 30.61)],
        holes=[[(114.25, 30.55), (114.28, 30.55), (114.27, 30.58)]],
    ),
    shapely.MultiPolygon(
        [
            shapely.box(114.40, 30.40, 114.45, 30.46),
            shapely.box(114.47, 30.41, 114.52, 30.44),
        ]
    ),
]


def _write(tmp_path: Path, name: str, frame: gpd.GeoDataFrame, **kw: object) -> Path:
    path = tmp_path / name
    frame.to_file(path, engine="pyogrio", **kw)
    return path


def _same(spec: VectorInput, role: str) -> None:
    ref = read_vector(spec, role=role).geometry
    got = read_geometries(spec, role=role)
    assert isinstance(got, gpd.GeoSeries)
    assert got.crs == ref.crs
    assert [g.wkb for g in got] == [g.wkb for g in ref]


@pytest.mark.parametrize("crs", [None, "gcj02", "bd09", "wgs84"])
def test_geojson_geometries_as_read_vector(tmp_path: Path, crs: str | None) -> None:
    frame = gpd.GeoDataFrame({"name": ["a", "b"], "n": [1, 2]}, geometry=_SHAPES, crs=4326)
    path = _write(tmp_path, "d.geojson", frame)
    _same(VectorInput(path=path, crs=crs), "districts")


def test_projected_shapefile_keeps_its_crs_as_read_vector(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=_SHAPES, crs=4326).to_crs(32650)
    path = _write(tmp_path, "b.shp", frame)
    _same(VectorInput(path=path), "boundary")
    assert read_geometries(VectorInput(path=path), role="boundary").crs.to_epsg() == 32650


def test_a_layer_of_a_geopackage_as_read_vector(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=_SHAPES, crs=4326)
    path = _write(tmp_path, "m.gpkg", frame.iloc[:1], layer="one")
    frame.to_file(path, layer="two", engine="pyogrio")
    _same(VectorInput(path=path, layer="two"), "districts")
    assert len(read_geometries(VectorInput(path=path, layer="two"), role="districts")) == 2


def _message(call: object) -> str:
    with pytest.raises(InputError) as info:
        call()  # type: ignore[operator]
    return str(info.value)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_the_same_errors_as_read_vector(tmp_path: Path) -> None:
    no_crs = _write(tmp_path, "nocrs.gpkg", gpd.GeoDataFrame({"id": [1]}, geometry=_SHAPES[:1]))
    far = _write(
        tmp_path,
        "far.geojson",
        gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(500, 10, 501, 11)], crs=4326),
    )
    empty = _write(tmp_path, "empty.gpkg", gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326))
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    cases = [
        VectorInput(path=no_crs),  # no CRS in the file, none declared
        VectorInput(path=far, crs="gcj02"),  # not lon/lat degrees
        VectorInput(path=empty),  # no features
        VectorInput(path=broken),  # unreadable
        VectorInput(path=tmp_path / "missing.geojson"),
        VectorInput(path=no_crs, crs="EPSG:999999"),  # unknown CRS
    ]
    for spec in cases:
        expected = _message(lambda spec=spec: read_vector(spec, role="districts"))
        got = _message(lambda spec=spec: read_geometries(spec, role="districts"))
        assert got == expected, spec


def test_a_table_without_shapes_is_bad_input_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"a": [1, 2]}), path, layer="t")
    spec = VectorInput(path=path)
    expected = "table.gpkg: districts: the layer has no geometry (a table without shapes)"
    assert _message(lambda: read_vector(spec, role="districts")).endswith(expected)
    assert _message(lambda: read_geometries(spec, role="districts")).endswith(expected)


def test_csv_points_go_through_read_vector(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("name,lon,lat\na,114.3,30.6\nb,114.4,30.5\n", encoding="utf-8")
    _same(VectorInput(path=path), "sites")


def _raster(path: Path, values: np.ndarray, **profile: object) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype=values.dtype,
        crs="EPSG:4326",
        transform=from_origin(114.0, 31.0, 0.001, 0.001),
        **profile,
    ) as dst:
        dst.write(values, 1)


def _masked_filled(path: Path, window: Window) -> np.ndarray:
    """rasterio's masked read, widened and filled with 0 (the reference)."""
    with rasterio.open(path) as src:
        data = src.read(1, window=window, masked=True).astype(np.float64)
    return np.asarray(data.filled(0.0))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "uint16"])
def test_an_all_valid_band_reads_as_the_masked_read(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(7)
    values = (rng.random((40, 30)) * 50).astype(dtype)
    values[rng.random((40, 30)) < 0.4] = 0
    if dtype.startswith("float"):
        values[3, 4] = np.nan  # NaN without nodata: read as NaN both ways (the reader refuses it)
        values[5, 6] = 1e-30  # tiny, kept exactly
    path = tmp_path / "all_valid.tif"
    _raster(path, values)
    window = Window(2, 3, 25, 30)
    with rasterio.open(path) as src:
        got = _band_values(src, 1, window)
    expected = _masked_filled(path, window)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)  # NaN equal to NaN, every value bit for bit
    assert got.tobytes() == expected.tobytes()


def test_a_band_with_nodata_still_masks_it(tmp_path: Path) -> None:
    values = np.array([[1.5, -9999.0], [0.0, 7.25]], dtype="float32")
    path = tmp_path / "nodata.tif"
    _raster(path, values, nodata=-9999.0)
    with rasterio.open(path) as src:
        got = _band_values(src, 1, Window(0, 0, 2, 2))
    np.testing.assert_array_equal(got, [[1.5, 0.0], [0.0, 7.25]])
