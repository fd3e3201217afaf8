"""Base maps for ``map.html``: OpenStreetMap, Chinese tile services, or none.

Chinese web maps (Amap/高德, Tencent/腾讯) draw their tiles in **GCJ-02**, the obfuscated
datum Chinese law requires of published maps; it differs from WGS84 by a few hundred metres
(Wuhan: ~350 m). On those tiles every overlay is shifted from WGS84 into GCJ-02 *for display
only* (:func:`to_display`, with :func:`latcircle.inputs.chinacrs.wgs84_to_gcj02`), so that
a key site sits on its building. Outputs other than the map (GeoPackage, GeoTIFF, tables) stay
in true coordinates. Outside China the shift is the identity (chinacrs' box test).

Without a network (or where a tile host is blocked) the tiles do not load; the vector layers
still draw over the map's plain background, and the page says the tiles are unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from latcircle.inputs.chinacrs import wgs84_to_gcj02

__all__ = ["BASEMAPS", "Basemap", "BasemapName", "geometries_to_display", "to_display"]

BasemapName = Literal["osm", "amap", "tencent", "none"]
Datum = Literal["wgs84", "gcj02"]


@dataclass(frozen=True)
class Basemap:
    """A tile service and the datum its tiles are drawn in.

    Attributes
    ----------
    key
        The option value (``--basemap``).
    label
        The layer control's name.
    url
        Leaflet tile URL template (``None``: no tiles, a plain background).
    attribution
        The credit the service requires (shown on the map).
    datum
        ``"gcj02"`` for Chinese services: overlays are shifted to match.
    subdomains
        Leaflet's ``{s}`` values.
    max_zoom
        Deepest zoom the service serves.
    grey
        Whether a greyed copy is offered (and shown first): coloured bands read better on it.
    """

    key: str
    label: str
    url: str | None
    attribution: str
    datum: Datum = "wgs84"
    subdomains: str = "abc"
    max_zoom: int = 19
    grey: bool = False


#: The choices, by option value. OpenStreetMap is the default.
BASEMAPS: dict[str, Basemap] = {
    "osm": Basemap(
        key="osm",
        label="OpenStreetMap",
        url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attribution="© OpenStreetMap contributors",
        grey=True,
    ),
    "amap": Basemap(
        key="amap",
        label="Amap 高德地图 (GCJ-02)",
        url=(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}"
        ),
        attribution="© 高德地图 AutoNavi/Amap · overlays shifted to GCJ-02 for display",
        datum="gcj02",
        subdomains="1234",
        max_zoom=18,
        grey=True,
    ),
    "tencent": Basemap(
        key="tencent",
        label="Tencent 腾讯地图 (GCJ-02)",
        # Tencent numbers tile rows from the south (TMS): Leaflet's {-y}.
        url="https://rt{s}.map.gtimg.com/realtimerender?z={z}&x={x}&y={-y}&type=vector&style=0",
        attribution="© 腾讯地图 Tencent Maps · overlays shifted to GCJ-02 for display",
        datum="gcj02",
        subdomains="0123",
        max_zoom=18,
        grey=True,
    ),
    "none": Basemap(key="none", label="No base map", url=None, attribution=""),
}


def to_display(
    lon: ArrayLike, lat: ArrayLike, *, datum: Datum
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return WGS84 longitudes and latitudes in the base map's datum.

    Parameters
    ----------
    lon, lat
        WGS84 degrees.
    datum
        The base map's datum (:attr:`Basemap.datum`).

    Returns
    -------
    tuple of numpy.ndarray
        Longitudes and latitudes to draw.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if datum == "wgs84":
        return lon, lat
    return wgs84_to_gcj02(lon, lat)


def geometries_to_display(geoms: NDArray[np.object_], *, datum: Datum) -> NDArray[np.object_]:
    """Return WGS84 geometries with every vertex in the base map's datum.

    Parameters
    ----------
    geoms
        Shapely geometries in WGS84 (lon, lat).
    datum
        The base map's datum.

    Returns
    -------
    numpy.ndarray
        Geometries to draw.
    """
    if datum == "wgs84":
        return geoms

    def shift(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = to_display(xy[:, 0], xy[:, 1], datum=datum)
        return np.column_stack([x, y])

    return shapely.transform(geoms, shift)
