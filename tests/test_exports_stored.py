"""The exports from memory are the layers as the GeoPackage stores them (issue 23).

:func:`latcircle.output.files.as_stored` stands in for reading ``isochrones.gpkg`` back; the
reference here is the real thing: each frame written with :func:`write_gpkg` and read back
with ``geopandas.read_file``. Then a run's exports from memory are compared byte for byte
with the exports of its written GeoPackage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

from latcircle.output import files
from latcircle.output.exports import write_exports
from latcircle.output.files import as_stored, write_gpkg

_TRI = Polygon([(0, 0), (1, 0), (1, 1)])
_SQ = Polygon([(2, 2), (3, 2), (3, 3), (2, 3)])


def _read_back(frame: gpd.GeoDataFrame, tmp_path: Path) -> gpd.GeoDataFrame:
    path = tmp_path / "layer.gpkg"
    write_gpkg({"layer": frame}, path)
    return gpd.read_file(path, layer="layer")


def _same(frame: gpd.GeoDataFrame, tmp_path: Path) -> None:
    """``as_stored(frame)`` equals the GeoPackage round trip: values, dtypes, WKB."""
    back, mine = _read_back(frame, tmp_path), as_stored(frame)
    assert list(mine.columns) == list(back.columns)
    assert [str(t) for t in mine.dtypes] == [str(t) for t in back.dtypes]
    assert_geodataframe_equal(mine, back, check_dtype=True, check_crs=True)
    assert list(shapely.to_wkb(mine.geometry.to_numpy())) == list(
        shapely.to_wkb(back.geometry.to_numpy())
    )
    assert mine.crs == back.crs


def _frame(geometry: list[Any], **columns: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geometry, crs=32650)


def _no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if :func:`as_stored` takes its GeoPackage-in-memory way (a known type did)."""

    def refuse(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        raise AssertionError(f"round trip taken for {list(frame.dtypes.astype(str))}")

    monkeypatch.setattr(files, "_round_trip", refuse)


def test_mixed_polygons_are_promoted_and_nullable_columns_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_fallback(monkeypatch)
    frame = _frame(
        [_TRI, MultiPolygon([_TRI, _SQ]), Polygon()],  # mixed single/multi, one empty
        count=pd.array([1, None, 3], dtype="Int64"),
        whole=pd.array([1, 2, 3], dtype="Int64"),
        flag=pd.array([True, None, False], dtype="boolean"),
        sure=pd.array([True, False, True], dtype="boolean"),
        name=pd.Series(["a", None, "x\x00y"], dtype=object),  # NUL: stored as ␀
        code=pd.Series(["1", np.nan, "3"], dtype=object),
        small=np.array([1.5, 2.0, np.nan], dtype="float32"),
        rank=np.array([3, 2, 1], dtype="int32"),
        on=[True, False, True],
        km=[0.1, np.nan, 2.0],
    )
    order = ["count", "geometry", "whole", "flag", "sure", "name", "code"]
    order += ["small", "rank", "on", "km"]
    frame = frame[order]  # geometry not last: stored last
    _same(frame, tmp_path)
    assert set(as_stored(frame).geom_type) == {"MultiPolygon"}


@pytest.mark.parametrize(
    "geometry",
    [
        [_TRI, _SQ],  # single only: kept single
        [MultiPolygon([_TRI]), MultiPolygon([_SQ])],
        [LineString([(0, 0), (1, 1)]), MultiLineString([[(0, 0), (1, 0)]])],
        [Point(0, 0), shapely.MultiPoint([(1, 1), (2, 2)])],
        [Point(0, 0), _TRI],  # two kinds: a GEOMETRY layer, nothing promoted
        [_TRI, None],
        [Polygon(), Polygon()],
    ],
)
def test_geometry_types_as_stored(
    geometry: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_fallback(monkeypatch)
    _same(_frame(geometry, n=np.arange(len(geometry), dtype="int64")), tmp_path)


def test_an_empty_layer_as_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_fallback(monkeypatch)
    frame = _frame([], name=pd.Series([], dtype=object), n=pd.array([], dtype="Int64"))
    _same(frame.set_geometry(gpd.GeoSeries([], crs=32650)), tmp_path)


def test_columns_it_does_not_type_go_through_a_geopackage_in_memory(tmp_path: Path) -> None:
    # uint8 is stored as int16, numbers in a text column as OGR writes them: the fallback.
    _same(_frame([_TRI, _SQ], u=np.array([1, 2], dtype="uint8")), tmp_path)
    _same(_frame([_TRI, _SQ], mixed=pd.Series([1, "b"], dtype=object)), tmp_path)


def test_every_demo_layer_as_stored(demo_run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each layer of the demo run as the run's own isochrones.gpkg holds it."""
    _no_fallback(monkeypatch)
    gpkg = demo_run.out / "isochrones.gpkg"
    layers = demo_run.gpkg_layers()
    assert "clusters" in layers and "rings" in layers
    for name, frame in layers.items():
        back = gpd.read_file(gpkg, layer=name)
        assert_geodataframe_equal(as_stored(frame), back, check_dtype=True, check_crs=True)


@pytest.mark.parametrize("crs", ["wgs84", "local"])
def test_demo_exports_from_memory_are_the_file_s_bytes(
    demo_run: Any, tmp_path: Path, crs: str
) -> None:
    """From memory and from the written GeoPackage: the same files, byte for byte."""
    memory, disk = tmp_path / "memory", tmp_path / "disk"
    memory.mkdir()
    disk.mkdir()
    (disk / "isochrones.gpkg").write_bytes((demo_run.out / "isochrones.gpkg").read_bytes())
    formats = ["geoparquet", "geojson"]
    a = write_exports(memory, formats, crs=crs, layers=demo_run.gpkg_layers())
    b = write_exports(disk, formats, crs=crs)
    assert sorted(p.name for p in a) == sorted(p.name for p in b)
    assert len(a) == 2 * 9  # every feature layer, both formats (no layer_styles)
    for path in a:
        assert path.read_bytes() == (disk / "exports" / path.name).read_bytes(), path.name
