"""``inputs.vectors.to_crs_exact``: relabel only what PROJ would pass through unchanged."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from latcircle.inputs.vectors import _is_noop, to_crs_exact

UTM50 = pyproj.CRS.from_epsg(32650)


def _lines(crs: object) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    xy = rng.uniform([200_000, 3_300_000], [300_000, 3_400_000], size=(40, 2, 2))
    return gpd.GeoDataFrame({"k": range(40)}, geometry=shapely.linestrings(xy), crs=crs)


def test_the_same_crs_described_otherwise_is_relabelled() -> None:
    # UTM 50N as a GeoParquet's PROJJSON names it ("unknown"): not exactly EPSG:32650.
    described = pyproj.CRS.from_proj4("+proj=utm +zone=50 +datum=WGS84 +units=m +no_defs")
    assert not described.is_exact_same(UTM50)
    assert _is_noop(described, UTM50)
    gdf = _lines(described)
    out = to_crs_exact(gdf, UTM50)
    assert out.crs.is_exact_same(UTM50)
    ref = gdf.to_crs(UTM50)
    got, want = shapely.get_coordinates(out.geometry), shapely.get_coordinates(ref.geometry)
    assert np.array_equal(got, want)
    assert np.array_equal(got, shapely.get_coordinates(gdf.geometry))  # PROJ's noop: unchanged


def test_a_real_transformation_is_made() -> None:
    gdf = _lines(UTM50).to_crs(4326)
    assert not _is_noop(gdf.crs, UTM50)
    out = to_crs_exact(gdf, UTM50)
    ref = gdf.to_crs(UTM50)
    assert np.array_equal(
        shapely.get_coordinates(out.geometry), shapely.get_coordinates(ref.geometry)
    )
    assert not np.array_equal(
        shapely.get_coordinates(out.geometry), shapely.get_coordinates(gdf.geometry)
    )
