"""OpenStreetMap through osmnx and the Overpass API: road graphs and tagged features.

Notes
-----
osmnx keeps its settings in module-level state. :func:`osmnx_settings` changes them only
inside a ``with`` block and restores them (and the ``socket.getaddrinfo`` that osmnx patches
to pin a host's address) on exit. That also means two fetches must not run at once in one
process.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from latcircle.errors import FetchError
from latcircle.inputs.osm import DUCT_HIGHWAYS, overpass_highway_filter, simplify
from latcircle.sources._http import short

if TYPE_CHECKING:
    import networkx as nx

WGS84 = "EPSG:4326"

#: OSM tags of key sites (重点场所), as osmnx ``tags``: a key with ``True`` takes every value,
#: a key with a list takes those values. They stand for MIIT's categories: business districts
#: (offices, commercial and retail land, malls), industrial parks (industrial land), campuses
#: (universities, colleges, research institutes), hospitals, and the operators' integrated
#: access points (telephone exchanges).
DEFAULT_KEY_SITE_TAGS: dict[str, bool | list[str]] = {
    "office": True,
    "landuse": ["commercial", "industrial", "retail"],
    "amenity": ["hospital", "university", "college", "research_institute"],
    "shop": ["mall"],
    "telecom": ["exchange"],
}


#: OSM tags of compute sites: the documented ``telecom=data_center`` and the tags mappers
#: also use for data-centre buildings and sites.
DATA_CENTRE_TAGS: dict[str, bool | list[str]] = {
    "telecom": ["data_center", "data_centre"],
    "building": ["data_center", "data_centre"],
    "industrial": ["data_center", "data_centre"],
}


@contextlib.contextmanager
def osmnx_settings(*, overpass_url: str | None, cache_folder: Path | None) -> Iterator[None]:
    """Point osmnx at an Overpass server and a cache folder inside a ``with`` block.

    Parameters
    ----------
    overpass_url
        Overpass API base URL (``.../api``; a trailing ``/interpreter`` is dropped);
        ``None`` keeps osmnx's. The status check osmnx makes before each query to respect
        the server's rate limit is skipped for a loopback server, which has no such endpoint
        to honour.
    cache_folder
        Where osmnx caches Overpass answers; ``None`` disables its cache.

    Yields
    ------
    None
        Inside the block osmnx uses these settings; on exit the previous settings and
        ``socket.getaddrinfo`` (which osmnx replaces to pin a host to one address) are back.
    """
    import osmnx as ox

    names = (
        "overpass_url",
        "overpass_rate_limit",
        "cache_folder",
        "use_cache",
        "log_console",
        "doh_url_template",
    )
    saved = {n: getattr(ox.settings, n) for n in names}
    saved_getaddrinfo = socket.getaddrinfo
    try:
        if overpass_url is not None:
            ox.settings.overpass_url = _overpass_base(overpass_url)
        ox.settings.overpass_rate_limit = not _is_loopback(ox.settings.overpass_url)
        ox.settings.use_cache = cache_folder is not None
        if cache_folder is not None:
            ox.settings.cache_folder = str(cache_folder)
        ox.settings.log_console = False  # our progress display owns the terminal
        yield
    finally:
        for n, value in saved.items():
            setattr(ox.settings, n, value)
        socket.getaddrinfo = saved_getaddrinfo


def download_graph(
    polygon: BaseGeometry,
    *,
    highway: Sequence[str] | None = DUCT_HIGHWAYS,
    overpass_url: str | None = None,
    cache_dir: Path | None = None,
) -> nx.MultiDiGraph:
    """Download the road graph inside a polygon from Overpass with osmnx.

    Parameters
    ----------
    polygon
        WGS84 (Multi)Polygon; osmnx queries it buffered by 500 m and truncates to it.
    highway
        Road classes asked of Overpass; ``None`` asks for every road (osmnx ``"all"``).
    overpass_url
        Overpass API base URL; ``None`` is osmnx's default server.
    cache_dir
        osmnx's response cache; ``None`` disables caching.

    Returns
    -------
    networkx.MultiDiGraph
        Simplified (chains merged between intersections, road classes kept apart), every
        connected component kept: a site attaches to its own component, so small pieces
        are still reported rather than dropped.

    Raises
    ------
    FetchError
        If Overpass cannot be reached, answers an error or returns no road.
    """
    import osmnx as ox

    with (
        osmnx_settings(overpass_url=overpass_url, cache_folder=cache_dir),
        _osm_errors("network"),
    ):
        _fail_fast_if_unreachable(ox.settings.overpass_url)
        graph = ox.graph_from_polygon(
            polygon,
            network_type="all",
            custom_filter=overpass_highway_filter(highway),
            simplify=False,
            retain_all=True,
        )
    if graph.number_of_edges() == 0:
        raise FetchError("network", "Overpass returned no road inside the metro")
    return simplify(graph)


def download_points(
    polygon: BaseGeometry,
    *,
    tags: Mapping[str, bool | Sequence[str]],
    overpass_url: str | None = None,
    cache_dir: Path | None = None,
    source: str = "key_sites",
) -> gpd.GeoDataFrame:
    """Download OSM features with some tags inside a polygon, one point per feature.

    Parameters
    ----------
    polygon
        WGS84 (Multi)Polygon.
    tags
        osmnx ``tags``: a key with ``True`` takes every value, a key with a list its values.
    overpass_url
        Overpass API base URL; ``None`` is osmnx's default server.
    cache_dir
        osmnx's response cache; ``None`` disables caching.
    source
        Source named in errors.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name``, ``category`` (the tag value for keys given with a list, such as
        ``hospital``; the key for keys taken whole, such as ``office``), ``osm_ref``
        (``way/123``) and ``geometry`` (a point inside each feature), EPSG:4326. Empty when
        nothing matches.

    Raises
    ------
    FetchError
        If Overpass cannot be reached or answers an error.
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    tags = normal_tags(tags)
    with (
        osmnx_settings(overpass_url=overpass_url, cache_folder=cache_dir),
        _osm_errors(source),
    ):
        _fail_fast_if_unreachable(ox.settings.overpass_url)
        try:
            features = ox.features_from_polygon(polygon, tags=dict(tags))
        except InsufficientResponseError as exc:
            # osmnx's way of saying "nothing matches" is not a failure; an unreadable
            # answer (same exception, "... responded: ...") is.
            if not str(exc).startswith(("No matching features", "No data elements")):
                raise
            features = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=WGS84)
    return _points_from_features(features, tags)


@contextlib.contextmanager
def _osm_errors(source: str) -> Iterator[None]:
    """Turn osmnx and requests failures into a :class:`FetchError` naming the source."""
    import osmnx as ox
    import requests
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    # Entered inside osmnx_settings: the server osmnx uses is the one to name.
    where = ox.settings.overpass_url
    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        msg = f"cannot reach {where} (offline, or the server is down): {short(exc)}"
        raise FetchError(source, msg) from None
    except requests.exceptions.Timeout:
        raise FetchError(source, f"{where} did not answer in time") from None
    except ResponseStatusCodeError as exc:
        raise FetchError(source, f"{where} answered with an error: {short(exc)}") from None
    except InsufficientResponseError as exc:
        raise FetchError(source, f"{where} returned nothing usable: {short(exc)}") from None
    except (requests.exceptions.RequestException, ValueError, KeyError) as exc:
        raise FetchError(source, f"{where}: {type(exc).__name__}: {short(exc)}") from None


def _fail_fast_if_unreachable(url: str, *, timeout: float = 10.0) -> None:
    """Stop osmnx from waiting on a server that cannot be reached (inside osmnx_settings).

    Offline, osmnx would wait 60 s before each query (its fallback when the rate-limit status
    page cannot be read) and try Google's DNS-over-HTTPS, only to fail afterwards. When a TCP
    connection to the server fails, both are turned off: answers in osmnx's cache are still
    used, anything else fails at once with a connection error.
    """
    import osmnx as ox

    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return
    except OSError:
        ox.settings.overpass_rate_limit = False
        ox.settings.doh_url_template = None


def _overpass_base(url: str) -> str:
    url = url.rstrip("/")
    return url.removesuffix("/interpreter")


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normal_tags(tags: Mapping[str, bool | Sequence[str] | str]) -> dict[str, bool | list[str]]:
    """Return osmnx ``tags`` with a list of strings (or a bool) for every key."""
    out: dict[str, bool | list[str]] = {}
    for key, value in tags.items():
        if isinstance(value, bool):
            out[str(key)] = value
        elif isinstance(value, str):
            out[str(key)] = [value]
        else:
            out[str(key)] = [str(v) for v in value]
    return out


def _points_from_features(
    features: gpd.GeoDataFrame, tags: Mapping[str, bool | list[str]]
) -> gpd.GeoDataFrame:
    if features.empty:
        empty = {c: pd.Series([], dtype=object) for c in ("name", "category", "osm_ref")}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    # A metro queried in several pieces returns the features on a seam more than once.
    features = features[~features.index.duplicated(keep="first")].reset_index()
    category = pd.Series(pd.NA, index=features.index, dtype="string")
    for key, wanted in tags.items():
        if key not in features.columns:
            continue
        values = features[key].astype("string")
        if wanted is False:  # the tag named but no value wanted: matches nothing
            continue
        if wanted is True:
            hit = values.notna()
            label = pd.Series(key, index=features.index, dtype="string")
        else:
            hit = values.isin(list(wanted))
            label = values
        fill = category.isna() & hit.fillna(False)
        category[fill] = label[fill]
    keep = category.notna()
    features = features[keep.to_numpy()]
    name = features["name"] if "name" in features.columns else pd.Series("", index=features.index)
    points = shapely.point_on_surface(features.geometry.to_numpy())
    return gpd.GeoDataFrame(
        {
            "name": name.astype("string").fillna("").to_numpy(dtype=str),
            "category": category[keep].to_numpy(dtype=str),
            "osm_ref": (
                features["element"].astype(str) + "/" + features["id"].astype(str)
            ).to_numpy(dtype=str),
        },
        geometry=points,
        crs=WGS84,
    ).reset_index(drop=True)


def buffered(polygon: BaseGeometry, metres: float) -> BaseGeometry:
    """Return a WGS84 polygon grown by ``metres`` (buffered in its UTM zone)."""
    series = gpd.GeoSeries([polygon], crs=WGS84)
    utm = series.estimate_utm_crs()
    return series.to_crs(utm).buffer(metres).to_crs(WGS84).iloc[0]


def inside(points: gpd.GeoDataFrame, polygon: BaseGeometry) -> np.ndarray:
    """Return which points lie inside the polygon (same CRS)."""
    if points.empty:
        return np.zeros(0, dtype=bool)
    return shapely.contains_xy(polygon, points.geometry.x, points.geometry.y)
