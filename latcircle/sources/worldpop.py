"""WorldPop: the country's 100 m population raster, cropped to the metro."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from shapely.geometry.base import BaseGeometry

from latcircle.errors import FetchError
from latcircle.output.files import atomic_file
from latcircle.sources._http import short

WGS84 = "EPSG:4326"

#: WorldPop country rasters: 2020, unconstrained, 100 m (3 arc-seconds), people per pixel,
#: WGS84. ``{ISO3}`` / ``{iso3}`` are the country code in upper / lower case (CHN, HKG, MAC).
#: China's file is about 1 GB and is downloaded once into the cache.
WORLDPOP_URL = (
    "https://data.worldpop.org/GIS/Population/Global_2000_2020/2020/{ISO3}/{iso3}_ppp_2020.tif"
)


def country_raster_url(template: str, iso3: str) -> str:
    """Return WorldPop's URL for a country from a template with ``{ISO3}``/``{iso3}``."""
    return template.replace("{ISO3}", iso3.upper()).replace("{iso3}", iso3.lower())


def crop_raster(src_path: Path, polygon: BaseGeometry, dest: Path) -> float:
    """Copy the pixels over the metro's bounding box (plus one pixel) into ``dest``.

    Returns
    -------
    float
        People in the cropped raster.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    try:
        src = rasterio.open(src_path)
    except RasterioIOError as exc:
        src_path.unlink(missing_ok=True)  # a broken download: fetch it again next time
        raise FetchError("population", f"cannot read {src_path.name}: {short(exc)}") from None
    with src:
        crs = src.crs or WGS84
        bounds = transform_bounds(WGS84, crs, *polygon.bounds)
        w = from_bounds(*bounds, transform=src.transform)
        col0 = max(0, math.floor(w.col_off) - 1)
        row0 = max(0, math.floor(w.row_off) - 1)
        col1 = min(src.width, math.ceil(w.col_off + w.width) + 1)
        row1 = min(src.height, math.ceil(w.row_off + w.height) + 1)
        if col1 <= col0 or row1 <= row0:
            raise FetchError("population", f"{src_path.name} does not cover the metro")
        window = Window(col0, row0, col1 - col0, row1 - row0)
        data = src.read(1, window=window)
        profile = src.profile.copy()
        profile.update(
            driver="GTiff",
            count=1,
            height=data.shape[0],
            width=data.shape[1],
            transform=src.window_transform(window),
            crs=crs,
            compress="deflate",
            tiled=True,
            blockxsize=256,
            blockysize=256,
        )
        nodata = src.nodata
    people = data[data != nodata] if nodata is not None else data.ravel()
    people = people[np.isfinite(people) & (people > 0)]

    def write(tmp: Path) -> None:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)

    atomic_file(dest, write)
    return float(people.sum())
