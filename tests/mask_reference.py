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
