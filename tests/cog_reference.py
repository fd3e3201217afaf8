"""GDAL's own route to latcircle's COGs: the references their bytes are checked against.

An encoded GTiff source in ``/vsimem`` (the whole stack cast to float32 at once, no
overviews), with latency.tif's tags, unit and band descriptions, copied by GDAL's COG driver
with its defaults: how latcircle wrote latency.tif (and, as a palette band, causes.tif) before
2026-12-06, and what ``tests/test_cog_bytes.py`` and ``tests/test_cog_source.py`` compare with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.io import MemoryFile

from latcircle.output.causes import CAUSES_NODATA
from latcircle.output.files import LATENCY_UNIT

__all__ = ["gdal_route_causes", "gdal_route_cog"]


def gdal_route_cog(
    bands: list[np.ndarray], path: Path, names: list[str], *, crs: str, transform: Affine
) -> None:
    """Write ``bands`` (one shape) to ``path`` by GDAL's default COG route."""
    rows, cols = bands[0].shape
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": len(bands),
        "nodata": float("nan"),
        "width": cols,
        "height": rows,
        "crs": crs,
        "transform": transform,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(np.stack(bands).astype("float32"))
            tmp.update_tags(units="microseconds")
            tmp.update_tags(1, units="microseconds")
            for band, text in enumerate(names, start=1):
                tmp.set_band_description(band, text)
            tmp.units = (LATENCY_UNIT,) + ("",) * (len(bands) - 1)
        with mem.open() as src:
            rasterio.shutil.copy(
                src,
                path,
                driver="COG",
                compress="DEFLATE",
                predictor="YES",
                overview_resampling="nearest",
                blocksize=512,
            )


def gdal_route_causes(
    values: np.ndarray,
    path: Path,
    *,
    colormap: dict[int, tuple[int, int, int, int]],
    description: str,
    crs: str,
    transform: Affine,
) -> None:
    """Write status codes ``values`` (uint8) to ``path`` as causes.tif by GDAL's default route."""
    profile = {
        "driver": "GTiff",
        "dtype": "uint8",
        "count": 1,
        "nodata": CAUSES_NODATA,
        "width": values.shape[1],
        "height": values.shape[0],
        "crs": crs,
        "transform": transform,
        "photometric": "palette",
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(values, 1)
            tmp.write_colormap(1, colormap)
            tmp.set_band_description(1, description)
        with mem.open() as src:
            rasterio.shutil.copy(
                src, path, driver="COG", compress="DEFLATE", overview_resampling="nearest"
            )
