"""Draw shapely geometries on a matplotlib axes, as ``GeoSeries.plot`` does, without pyplot.

``GeoSeries.plot`` imports ``matplotlib.pyplot`` (its only importer in a run, about 0.05 s)
and builds a collection per call through many checks. The band map needs three plain cases,
drawn here the way geopandas 1.x draws them, so the pixels are the same: geometries are
normalised first (ring orientation and start, which decide holes and where dashes begin),
polygons become one patch collection, lines one line collection, points one scatter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path

if TYPE_CHECKING:
    from collections.abc import Iterable

    from matplotlib.axes import Axes
    from matplotlib.collections import PathCollection

__all__ = ["draw_lines", "draw_points", "draw_polygons"]


def _parts(geoms: Iterable[Any]) -> np.ndarray:
    """Normalised single and multi geometries; missing and empty ones left out."""
    arr = shapely.normalize(np.asarray(list(geoms), dtype=object))
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    return arr[keep]


def draw_polygons(ax: Axes, geoms: Iterable[Any], **style: Any) -> PatchCollection | None:
    """Draw (multi)polygons as one collection, in order; ``style`` as for PatchCollection.

    Parameters
    ----------
    ax
        The axes.
    geoms
        Shapely (multi)polygons (missing or empty ones are skipped).
    **style
        ``facecolor`` (one colour, or one per geometry), ``edgecolor``, ...

    Returns
    -------
    matplotlib.collections.PatchCollection or None
        None when there was nothing to draw.
    """
    polys = _parts(geoms)
    if not len(polys):
        return None
    collection = PatchCollection([PathPatch(_polygon_path(p)) for p in polys], **style)
    ax.add_collection(collection, autolim=True)
    ax.autoscale_view()
    return collection


def _polygon_path(polygon: Any) -> Path:
    """One compound path of a (multi)polygon's rings (exteriors and holes)."""
    parts = [polygon] if polygon.geom_type == "Polygon" else list(polygon.geoms)
    paths = []
    for part in parts:
        paths.append(Path(np.asarray(part.exterior.coords)[:, :2], closed=True))
        paths.extend(Path(np.asarray(r.coords)[:, :2], closed=True) for r in part.interiors)
    return Path.make_compound_path(*paths)


def draw_lines(ax: Axes, geoms: Iterable[Any], **style: Any) -> LineCollection | None:
    """Draw (multi)linestrings as one collection; ``style`` as for LineCollection."""
    lines = shapely.get_parts(_parts(geoms))
    if not len(lines):
        return None
    collection = LineCollection([np.array(g.coords)[:, :2] for g in lines], **style)
    ax.add_collection(collection, autolim=True)
    ax.autoscale_view()
    return collection


def draw_points(ax: Axes, geoms: Iterable[Any], **style: Any) -> PathCollection | None:
    """Draw (multi)points as one scatter; ``style`` as for ``Axes.scatter``."""
    xy = shapely.get_coordinates(shapely.get_parts(_parts(geoms)))
    if not len(xy):
        return None
    return ax.scatter(xy[:, 0], xy[:, 1], **style)
