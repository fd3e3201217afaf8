"""Vector inputs as WGS84: any OGR format, GeoParquet, CSV/text points, declared CRSs.

GCJ-02 and BD-09 are converted to WGS84 first (:mod:`latcircle.inputs.chinacrs`); CSV
text is decoded (UTF-8, else GB18030), its delimiter sniffed and its coordinate columns found.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from latcircle.config import VectorInput
from latcircle.errors import InputError
from latcircle.inputs import chinacrs
from latcircle.inputs.checks import check_csv_rows, check_earth_crs, check_texts_utf8

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)

#: What a layer without a geometry column is told.
_NO_GEOMETRY = "the layer has no geometry (a table without shapes)"

#: A frame or its geometries alone (:func:`read_vector`, :func:`read_geometries`).
_Shapes = TypeVar("_Shapes", gpd.GeoDataFrame, gpd.GeoSeries)


_LON_NAMES = ("lon", "lng", "longitude", "long", "x")


_LAT_NAMES = ("lat", "latitude", "y")


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
        if not isinstance(gdf, gpd.GeoDataFrame):  # a table without shapes
            raise InputError(path, spec.layer or role, _NO_GEOMETRY)
    if gdf.empty:
        raise InputError(path, spec.layer or role, "no features in the file")
    return _assign_crs(gdf, spec, role)


def read_geometries(spec: VectorInput, *, role: str) -> gpd.GeoSeries:
    """Read only a vector input's geometries, as :func:`read_vector` reads them.

    The same checks, CRS rules and GCJ-02 / BD-09 conversion, without the attribute fields
    or a frame around them: for inputs that are shapes alone (the boundary, one district per
    file). An OGR file's geometries come straight from pyogrio's WKB (~3x faster than a
    frame for Wuhan's 13 district files, measured 2026-12-07); CSV and GeoParquet inputs go
    through :func:`read_vector`.

    Parameters
    ----------
    spec
        The input's config section.
    role
        The config key used in error messages.

    Returns
    -------
    geopandas.GeoSeries
        The geometries :func:`read_vector` would return, with the same CRS.
    """
    path = spec.path
    if path.suffix.lower() in (".csv", ".txt", ".tsv", ".parquet", ".geoparquet"):
        return read_vector(spec, role=role).geometry
    with _reading(path, spec, role):
        meta, _, wkb, _ = pyogrio.raw.read(path, layer=spec.layer, columns=[])
    if wkb is None:  # a table without shapes
        raise InputError(path, spec.layer or role, _NO_GEOMETRY)
    with _reading(path, spec, role):
        geoms = gpd.GeoSeries(shapely.from_wkb(wkb), crs=meta["crs"])
    if geoms.empty:
        raise InputError(path, spec.layer or role, "no features in the file")
    return _assign_crs(geoms, spec, role)


def _read_ogr(path: Path, spec: VectorInput, role: str) -> gpd.GeoDataFrame:
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        with _reading(path, spec, role):
            gdf = gpd.read_parquet(path)
        # pyogrio decodes an OGR file's texts and refuses bytes that are not UTF-8 itself;
        # pyarrow does not, and pandas kept them undecoded until first used, deep in a run.
        check_texts_utf8(_arrow_texts(gdf), path)
        return gdf
    with _reading(path, spec, role):
        return gpd.read_file(path, layer=spec.layer, engine="pyogrio")


def _arrow_texts(gdf: gpd.GeoDataFrame) -> pa.Table:
    """Return the frame's text columns that pandas holds as Arrow strings, as Arrow has them.

    ``pyarrow.array`` hands an Arrow-backed column over undecoded (the file's bytes, checked
    by no one yet); texts held any other way were decoded when read. No second read of the
    file.
    """
    import pyarrow as pa

    return pa.table(
        {
            str(name): pa.array(gdf[name])
            for name in gdf.columns
            if isinstance(gdf[name].dtype, pd.StringDtype) and gdf[name].dtype.storage == "pyarrow"
        }
    )


@contextlib.contextmanager
def _reading(path: Path, spec: VectorInput, role: str) -> Iterator[None]:
    """Read a file: a library's error becomes one line naming the file, warnings kept quiet."""
    try:
        # NaN coordinates make shapely warn while parsing: the coordinate checks report them
        # as one line (issue 22), so the warning's two lines of source must not print too.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            yield
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


def _assign_crs(gdf: _Shapes, spec: VectorInput, role: str) -> _Shapes:
    declared = spec.crs
    if declared is not None and chinacrs.is_china_datum(declared):
        gdf = gdf.set_crs(WGS84, allow_override=True)
        _check_lonlat(gdf, spec.path, role)
        if isinstance(gdf, gpd.GeoSeries):
            return chinacrs.geometry_to_wgs84(gdf, declared)  # what frame_to_wgs84 calls
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


def to_crs_exact(gdf: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Return ``gdf`` in ``crs``; relabelled only when PROJ's transformation is a no-op.

    A file may carry the target CRS described another way (a GeoParquet's PROJJSON of UTM
    zone 50N, named "unknown", is not :meth:`~pyproj.crs.CRS.is_exact_same` as EPSG:32650),
    and geopandas then passes every coordinate through PROJ's ``noop`` pipeline, which
    returns them unchanged (~0.1 s CPU for Wuhan's 185,000 road vertices). The coordinates
    are the same either way; only the copy is saved.

    Parameters
    ----------
    gdf
        A frame with a CRS.
    crs
        The target CRS.
    """
    if gdf.crs is not None and _is_noop(gdf.crs, crs):
        return gdf.set_crs(crs, allow_override=True)
    return gdf.to_crs(crs)


def local_coordinates(coords: np.ndarray, source: pyproj.CRS, target: pyproj.CRS) -> np.ndarray:
    """Return ``(m, 2)`` coordinates in ``target`` exactly as :func:`to_crs_exact` makes them.

    The same array when PROJ's transformation is a no-op (or the CRSs are exactly the same,
    where ``GeoDataFrame.to_crs`` returns its input); otherwise the transform geopandas
    applies (``Transformer.from_crs(source, target, always_xy=True)`` on every x and y at
    once), so the same floats.

    Parameters
    ----------
    coords
        Vertices in ``source``.
    source, target
        The CRSs.
    """
    if _is_noop(source, target) or source.is_exact_same(target):
        return coords
    tr = pyproj.Transformer.from_crs(source, target, always_xy=True)
    x, y = tr.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


@functools.lru_cache(maxsize=32)
def _is_noop(source: pyproj.CRS, target: pyproj.CRS) -> bool:
    """Whether PROJ transforms ``source`` to ``target`` (x, y order) by its no-op pipeline.

    Cached: PROJ takes ~0.02 s to find the operation between a CRS it cannot name and an
    EPSG one, and a national worker reads many cities in the same few CRSs.
    """
    try:
        tr = pyproj.Transformer.from_crs(source, target, always_xy=True)
    except pyproj.exceptions.ProjError:
        return False
    return tr.definition.split(" ", 1)[0] == "proj=noop"


def _check_lonlat(gdf: gpd.GeoDataFrame | gpd.GeoSeries, path: Path, role: str) -> None:
    xmin, ymin, xmax, ymax = gdf.total_bounds
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        raise InputError(
            path,
            "crs",
            f"{role} coordinates are not longitude/latitude degrees "
            f"(bounds {xmin:.6g}, {ymin:.6g}, {xmax:.6g}, {ymax:.6g}): declare the CRS",
        )


def _first_line(exc: BaseException) -> str:
    """Return the gist of a library error: its first line, without GDAL's driver hint."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].split(".; ")[0].rstrip(".")
