"""Measured latencies between pairs of places: what operators get from TWAMP, Y.1731 or ping.

A measurement file (CSV, or any OGR format such as a GeoPackage) has one row per measured
pair. Default columns (other names through a column map, ``{"latency_ms": "avg_rtt"}``):

============================ =====================================================
``a_lon``, ``a_lat``         endpoint A in longitude/latitude (WGS84 unless declared)
``a_site``                   or endpoint A as a compute site id of the city's sites
``b_lon``, ``b_lat``         endpoint B, likewise
``b_site``
``latency_us``               the measured value in microseconds, or
``latency_ms``               in milliseconds (exactly one of the two)
``kind``                     ``one_way`` or ``rtt``
``count``                    optional: probes behind the value
``time``                     optional: when it was measured (kept as text)
============================ =====================================================

A row may give a site id or coordinates for each endpoint; a site id wins where both are
given. In a vector file without coordinate columns, a line's first and last vertices are the
endpoints. Every value is checked: a missing, non-numeric, infinite, zero or negative latency,
an unknown ``kind`` or an endpoint with neither a site nor coordinates is one clear
:class:`~latcircle.errors.InputError` naming the file, the column and the row.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from latcircle.errors import InputError
from latcircle.inputs import chinacrs

__all__ = ["COLUMNS", "KINDS", "read_measurements"]

#: The standard columns a column map may rename.
COLUMNS = (
    "a_lon",
    "a_lat",
    "a_site",
    "b_lon",
    "b_lat",
    "b_site",
    "latency_us",
    "latency_ms",
    "kind",
    "count",
    "time",
)
#: Accepted spellings of the two kinds (compared ignoring case), to ``one_way`` / ``rtt``.
KINDS: dict[str, str] = {
    "one_way": "one_way",
    "one-way": "one_way",
    "oneway": "one_way",
    "owd": "one_way",
    "rtt": "rtt",
    "round_trip": "rtt",
    "round-trip": "rtt",
}
#: Rows named in an error message before "...".
ROWS_SHOWN = 5


def read_measurements(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    crs: str | None = None,
    kind: str | None = None,
) -> pd.DataFrame:
    """Read and check a measurement file.

    Parameters
    ----------
    path
        CSV (``.csv``, ``.tsv``, ``.txt``) or any vector file OGR reads.
    columns
        Standard column name to the file's column name, for files that name them otherwise.
    crs
        CRS of the coordinates when not WGS84 (``gcj02``, ``bd09``, an EPSG code); a vector
        file's own CRS is used otherwise.
    kind
        ``one_way`` or ``rtt`` for every row, for a file without a ``kind`` column.

    Returns
    -------
    pandas.DataFrame
        One row per measurement, in file order: ``row`` (1-based, as a person counts data
        rows), ``a_site``, ``b_site`` (text, empty where coordinates are used), ``a_lon``,
        ``a_lat``, ``b_lon``, ``b_lat`` (WGS84, NaN where a site is used), ``measured_us``,
        ``kind`` (``one_way``/``rtt``), ``one_way_us``, ``count`` (NaN when not given) and
        ``time`` (text).

    Raises
    ------
    InputError
        For an unreadable file, a missing column, or a bad value (named by row).
    """
    path = Path(path)
    raw, geoms, file_crs = _read(path)
    named = _rename(raw, columns or {}, path)
    if geoms is not None:
        named = _line_endpoints(named, geoms, path)
    out = pd.DataFrame({"row": np.arange(1, len(named) + 1)})
    out["measured_us"] = _latency(named, path)
    out["kind"] = _kinds(named, path, kind)
    factor = np.where(out["kind"] == "rtt", 0.5, 1.0)
    out["one_way_us"] = out["measured_us"] * factor
    for side in ("a", "b"):
        site, lon, lat = _endpoint(named, side, path)
        out[f"{side}_site"] = site
        out[f"{side}_lon"], out[f"{side}_lat"] = _to_wgs84(lon, lat, crs or file_crs, path)
    out["count"] = _count(named, path)
    out["time"] = named["time"].astype(str) if "time" in named else ""
    return out


def _read(path: Path) -> tuple[pd.DataFrame, np.ndarray | None, str | None]:
    """Read the file's table as text; a vector file also gives its geometries and CRS."""
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise InputError(path, None, f"cannot read file: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise InputError(path, None, f"not UTF-8 text ({exc.reason})") from None
        sep = "\t" if path.suffix.lower() == ".tsv" else None
        try:
            df = pd.read_csv(
                io.StringIO(text), sep=sep, engine="python", dtype=str, keep_default_na=False
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise InputError(path, None, f"not a readable CSV: {exc}") from None
        df.columns = [str(c).strip() for c in df.columns]
        if df.empty:
            raise InputError(path, None, "no measurements in the file")
        return df, None, None
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except (OSError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, None, f"cannot read measurements: {first}") from None
    if gdf.empty:
        raise InputError(path, None, "no measurements in the file")
    crs = None if gdf.crs is None else gdf.crs.to_string()
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    table = table.where(table.notna(), "").astype(str)
    return table, gdf.geometry.to_numpy(), crs


def _rename(df: pd.DataFrame, columns: Mapping[str, str], path: Path) -> pd.DataFrame:
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise InputError(
            path, unknown[0], f"not a measurement column; the columns are {', '.join(COLUMNS)}"
        )
    for std, own in columns.items():
        if own not in df.columns:
            shown = ", ".join(map(str, df.columns[:12]))
            raise InputError(path, own, f"no such column (for {std}); columns are: {shown}")
    return df.rename(columns={own: std for std, own in columns.items()})


def _line_endpoints(df: pd.DataFrame, geoms: np.ndarray, path: Path) -> pd.DataFrame:
    """Endpoints from line geometries, for a vector file without coordinate or site columns."""
    has_cols = any(c in df for c in ("a_lon", "a_site")) and any(
        c in df for c in ("b_lon", "b_site")
    )
    if has_cols:
        return df
    lines = shapely.get_type_id(geoms) == 1
    if not lines.all():
        row = int(np.flatnonzero(~lines)[0]) + 1
        raise InputError(
            path, "geometry", f"row {row}: not a line from A to B (and no a_/b_ columns)"
        )
    start = shapely.get_coordinates(shapely.get_point(geoms, 0))
    end = shapely.get_coordinates(shapely.get_point(geoms, -1))
    df = df.copy()
    df["a_lon"], df["a_lat"] = start[:, 0].astype(str), start[:, 1].astype(str)
    df["b_lon"], df["b_lat"] = end[:, 0].astype(str), end[:, 1].astype(str)
    return df


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask) + 1
    shown = ", ".join(str(r) for r in rows[:ROWS_SHOWN])
    return shown + (", ..." if len(rows) > ROWS_SHOWN else "")


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)


def _latency(df: pd.DataFrame, path: Path) -> np.ndarray:
    given = [c for c in ("latency_us", "latency_ms") if c in df]
    if len(given) != 1:
        problem = (
            "no latency column (latency_us or latency_ms; map another name with a column map)"
            if not given
            else "both latency_us and latency_ms: give one"
        )
        raise InputError(path, "latency_us", problem)
    col = given[0]
    value = _numbers(df[col])
    bad = ~np.isfinite(value)
    if bad.any():
        raise InputError(path, col, f"not a finite number in row(s) {_rows(bad)}")
    if (value <= 0).any():
        raise InputError(
            path,
            col,
            f"a latency must be positive: {_rows(value <= 0)} (got {value[value <= 0][0]:g})",
        )
    return value * (1000.0 if col == "latency_ms" else 1.0)


def _kinds(df: pd.DataFrame, path: Path, kind: str | None) -> np.ndarray:
    if "kind" not in df:
        if kind is None:
            raise InputError(
                path, "kind", "no kind column: say one_way or rtt per row (or for the whole file)"
            )
        values = pd.Series([kind] * len(df))
    else:
        values = df["kind"].astype(str)
    norm = values.str.strip().str.lower().map(KINDS)
    bad = norm.isna().to_numpy()
    if bad.any():
        first = values.iloc[int(np.flatnonzero(bad)[0])]
        raise InputError(
            path, "kind", f"expected one_way or rtt, got {first!r} in row(s) {_rows(bad)}"
        )
    return norm.to_numpy(dtype=object)


def _endpoint(df: pd.DataFrame, side: str, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(df)
    site = (
        df[f"{side}_site"].astype(str).str.strip().to_numpy(dtype=object)
        if f"{side}_site" in df
        else np.full(n, "", dtype=object)
    )
    lon = _numbers(df[f"{side}_lon"]) if f"{side}_lon" in df else np.full(n, np.nan)
    lat = _numbers(df[f"{side}_lat"]) if f"{side}_lat" in df else np.full(n, np.nan)
    by_site = site != ""
    lon, lat = np.where(by_site, np.nan, lon), np.where(by_site, np.nan, lat)
    missing = ~by_site & ~(np.isfinite(lon) & np.isfinite(lat))
    if missing.any():
        raise InputError(
            path,
            f"{side}_lon",
            f"endpoint {side.upper()} has neither a site id ({side}_site) nor finite "
            f"coordinates ({side}_lon, {side}_lat) in row(s) {_rows(missing)}",
        )
    return site, lon, lat


def _to_wgs84(
    lon: np.ndarray, lat: np.ndarray, crs: str | None, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    have = np.isfinite(lon)
    if crs is None or crs.lower() in ("wgs84", "epsg:4326") or not have.any():
        out_lon, out_lat = lon, lat
    elif chinacrs.is_china_datum(crs):
        out_lon, out_lat = lon.copy(), lat.copy()
        out_lon[have], out_lat[have] = chinacrs.to_wgs84(lon[have], lat[have], crs)
    else:
        try:
            tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        except pyproj.exceptions.CRSError:
            raise InputError(path, "crs", f"unknown CRS {crs!r}") from None
        out_lon, out_lat = lon.copy(), lat.copy()
        out_lon[have], out_lat[have] = tr.transform(lon[have], lat[have])
    bad = have & ((np.abs(out_lon) > 180) | (np.abs(out_lat) > 90))
    if bad.any():
        raise InputError(
            path, "crs", f"coordinates are not longitude/latitude in row(s) {_rows(bad)}"
        )
    return np.asarray(out_lon, float), np.asarray(out_lat, float)


def _count(df: pd.DataFrame, path: Path) -> np.ndarray:
    if "count" not in df:
        return np.full(len(df), np.nan)
    text = df["count"].astype(str).str.strip()
    value = _numbers(df["count"])
    given = (text != "").to_numpy()
    bad = given & ~(np.isfinite(value) & (value >= 1) & (value == np.round(value)))
    if bad.any():
        raise InputError(path, "count", f"not a whole number >= 1 in row(s) {_rows(bad)}")
    return np.where(given, value, np.nan)
