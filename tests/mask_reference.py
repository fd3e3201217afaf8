"""A mask's polygons by the plain route: shapely's GeoJSON constructor over the whole raster.

The reference the isochrone tests compare ``mask_polygons`` and ``service_areas`` against:
GDAL traces the mask in pixel coordinates over the whole raster (no window), shapely builds
each part from GeoJSON, and the grid transform is applied afterwards in GDAL's own order.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from shapely.geometry import shape

from latcircle.analysis.isochrones import _pixel_to_crs


def shapely_reference(transform: Affine, mask: np.ndarray) -> shapely.Geometry:
    """Return the polygons of ``mask`` (4-connected), mapped by ``transform``."""
    parts = [
        shape(geom)
        for geom, value in rasterio.features.shapes(
            mask.astype(np.uint8), mask=mask, transform=Affine.identity(), connectivity=4
        )
        if value == 1
    ]
    geom = shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]
    return shapely.transform(geom, partial(_pixel_to_crs, transform.to_gdal()))


def put_on_and_over(
    latency_us: np.ndarray, pick: np.ndarray, thresholds_ms: list[float], *, width: float
) -> None:
    """Put samples exactly on each threshold and one ulp over it (in place).

    Threshold ``i`` takes the samples whose ``pick`` (uniform in [0, 1)) falls in
    ``[i·width, (i + ½)·width)`` exactly on it, and ``[(i + ½)·width, (i + 1)·width)`` one ulp
    over: the boundary samples the band tests need.
    """
    for i, t in enumerate(thresholds_ms):
        on, over = t * 1000.0, np.nextafter(t * 1000.0, np.inf)
        lo, mid, hi = width * i, width * (i + 0.5), width * (i + 1)
        latency_us[(pick >= lo) & (pick < mid)] = on
        latency_us[(pick >= mid) & (pick < hi)] = over
