"""Read a city's inputs into one local, projected frame of reference.

Every reader returns data in the metro's **local CRS**: the UTM zone of the boundary's
centroid, so lengths are metres. Inputs declared in GCJ-02 or BD-09 are converted to WGS84
before anything else (:mod:`latcircle.inputs.chinacrs`). Problems the user must fix raise
:class:`~latcircle.errors.InputError` naming the file, the field and what is wrong; repairs
(invalid geometry made valid, points outside the metro) are counted in :attr:`Inputs.notes`.

This module composes the readers, one module per kind of input:
:mod:`~latcircle.inputs.vectors` (vector files and CSV text as WGS84),
:mod:`~latcircle.inputs.areas` (boundary, districts), :mod:`~latcircle.inputs.lines` (the
network), :mod:`~latcircle.inputs.points` (sites, key sites) and
:mod:`~latcircle.inputs.population` (the raster). Their public names are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import pyproj
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from shapely.geometry.base import BaseGeometry

from latcircle.config import CityConfig
from latcircle.errors import InputError
from latcircle.inputs.areas import _read_boundary_wgs84, _read_districts
from latcircle.inputs.checks import check_metro_extent
from latcircle.inputs.flatlines import FlatLines
from latcircle.inputs.lines import _read_network
from latcircle.inputs.points import _read_key_sites, _read_sites, points_only, year_column
from latcircle.inputs.population import (
    MAX_RASTER_PIXELS,
    Population,
    _read_population,
)
from latcircle.inputs.population import (
    _check_window_size as _check_window_size,  # re-exported: tests/test_safety_guards.py
)
from latcircle.inputs.vectors import WGS84, read_points_text, read_vector

__all__ = [
    "MAX_RASTER_PIXELS",
    "WGS84",
    "Inputs",
    "Population",
    "local_crs",
    "points_only",
    "read_inputs",
    "read_points_text",
    "read_vector",
    "year_column",
]


@dataclass(frozen=True, slots=True)
class Inputs:
    """A city's inputs, all in the local CRS.

    Attributes
    ----------
    crs
        The local UTM CRS.
    boundary
        The metro, one (Multi)Polygon.
    districts
        ``name``, ``geometry``; ``None`` when the config has none.
    lines
        Network edges: ``geometry`` (LineString), optional ``u``, ``v`` node ids; a plain
        GeoParquet or GeoPackage network as :class:`~latcircle.inputs.flatlines.FlatLines`
        (the same columns beside flat coordinates, no shapely object per line).
    node_latency_us
        Per-node device latency keyed by the ``u``/``v`` ids, when the network carries it.
    sites
        ``site_id``, ``name``, ``tier``, ``online_year`` (nullable Int64),
        ``device_latency_us``, ``geometry``.
    key_sites
        ``name``, ``category``, ``weight``, ``geometry``; ``None`` when absent.
    population
        ``None`` when the config has no raster.
    notes
        Repairs and exclusions made while reading, one sentence each.
    network_stats
        Counts from reading the network (``empty_lines``, ``planned_lines``,
        ``excluded_lines``), for the network summary.
    """

    crs: pyproj.CRS
    boundary: BaseGeometry
    districts: gpd.GeoDataFrame | None
    lines: gpd.GeoDataFrame | FlatLines
    node_latency_us: dict[object, float] | None
    sites: gpd.GeoDataFrame
    key_sites: gpd.GeoDataFrame | None
    population: Population | None
    notes: tuple[str, ...] = ()
    network_stats: tuple[tuple[str, float], ...] = ()


def read_inputs(cfg: CityConfig, *, site_device_us: float) -> Inputs:
    """Read every input of a city config into the local CRS.

    Parameters
    ----------
    cfg
        A validated config (see :func:`latcircle.config.load_config`).
    site_device_us
        Device latency for sites whose file gives none.

    Returns
    -------
    Inputs

    Raises
    ------
    InputError
        For a file, field or value the user must fix.
    """
    notes: list[str] = []
    boundary_wgs = _read_boundary_wgs84(cfg.boundary, notes)
    crs = local_crs(boundary_wgs, source=cfg.boundary.path)
    boundary = gpd.GeoSeries([boundary_wgs], crs=WGS84).to_crs(crs).iloc[0]
    check_metro_extent(boundary, cfg.boundary.path)
    districts = _read_districts(cfg.districts, crs, boundary, notes) if cfg.districts else None
    network_stats: dict[str, float] = {}
    lines, node_latency = _read_network(cfg.network, crs, notes, network_stats)
    _check_overlap(cfg, boundary, lines)
    sites = _read_sites(cfg.sites, crs, site_device_us, boundary, notes)
    key_sites = _read_key_sites(cfg.key_sites, crs, boundary, notes) if cfg.key_sites else None
    population = _read_population(cfg.population, crs, boundary) if cfg.population else None
    return Inputs(
        crs=crs,
        boundary=boundary,
        districts=districts,
        lines=lines,
        node_latency_us=node_latency,
        sites=sites,
        key_sites=key_sites,
        population=population,
        notes=tuple(notes),
        network_stats=tuple(sorted(network_stats.items())),
    )


def _check_overlap(
    cfg: CityConfig, boundary: BaseGeometry, lines: gpd.GeoDataFrame | FlatLines
) -> None:
    """Blame the boundary when it and the network lie apart (a wrong ``crs:``, typically).

    Without this the first complaint would be about whatever is read next (sites, key
    sites), which are innocent. Bounding boxes suffice: a wrong CRS moves a file by far more
    than a metro's width.
    """
    west, south, east, north = lines.total_bounds
    bw, bs, be, bn = boundary.bounds
    if west > be or east < bw or south > bn or north < bs:
        problem = (
            f"the boundary does not overlap the network ({cfg.network.path.name}) at all: "
            "check the crs of both files"
        )
        raise InputError(cfg.boundary.path, "crs", problem)


def local_crs(geom_wgs84: BaseGeometry, *, source: object = "boundary") -> pyproj.CRS:
    """Return the WGS84 UTM CRS of the zone holding the geometry's centroid.

    Parameters
    ----------
    geom_wgs84
        Any geometry in WGS84 longitude/latitude.
    source
        The file it comes from, named in the error.
    """
    c = geom_wgs84.centroid
    code = _utm_zone_inside(c.x, c.y)
    if code is not None:  # strictly inside one zone: the one answer the query would give
        return pyproj.CRS.from_epsg(code)
    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(c.x, c.y, c.x, c.y),
    )
    if not infos:
        msg = (
            f"no UTM zone holds the metro's centroid ({c.x:.4f}, {c.y:.4f}): UTM covers "
            "80° S to 84° N (the poles are not measured)"
        )
        raise InputError(source, "geometry", msg)
    return pyproj.CRS.from_epsg(int(infos[0].code))


def _utm_zone_inside(lon: float, lat: float) -> int | None:
    """Return the EPSG code of the WGS84 UTM zone holding a point strictly inside it.

    EPSG's WGS84 UTM zones are the 6° bands from 180° W, north (326xx) from the equator to
    84° N, south (327xx) from 80° S to it. A point on no zone edge lies in exactly one, the
    one :func:`pyproj.database.query_utm_crs_info` returns (without searching the PROJ
    database, ~0.07 s CPU); on an edge or outside UTM, ``None`` (the query decides).
    """
    if not (-180.0 < lon < 180.0 and (0.0 < lat < 84.0 or -80.0 < lat < 0.0)):
        return None
    band = (lon + 180.0) / 6.0
    if band == math.floor(band):
        return None
    return (32600 if lat > 0 else 32700) + int(band) + 1
