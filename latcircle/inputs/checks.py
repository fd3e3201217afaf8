"""Checks of values inside input files that the readers apply (issue 22 §4).

Each check raises :class:`~latcircle.errors.InputError` naming the file, the field and what
is wrong, before the value can reach the engine (where a NaN coordinate used to surface as
``ValueError: negative dimensions``) or a presentation step (a NULL district name as an
``AssertionError`` from the map's label).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from latcircle.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "EARTH_SEMI_MAJOR_M",
    "MAX_METRO_EXTENT_M",
    "MAX_PROJECTED_M",
    "YEAR_RANGE",
    "check_csv_rows",
    "check_earth_crs",
    "check_line_coordinates",
    "check_metro_extent",
    "check_names",
    "check_texts_utf8",
    "check_uv_loop_ends",
    "check_uv_loops",
    "first_text_not_utf8",
]

#: Widest metro, metres, east-west or north-south in its UTM zone (assumption: Hulunbuir, the
#: largest prefecture-level city, spans about 700 km). Beyond it the boundary is not a metro
#: (a 3,000 km sliver, a national outline) and one UTM zone no longer measures it truly.
MAX_METRO_EXTENT_M = 1_000_000.0

#: Years an online year (or an OFDS ready-for-service date) may give.
YEAR_RANGE = (1990, 2100)

#: Semi-major axes of the Earth's ellipsoids and spheres (Clarke 1866: 6,378,206 m; WGS84:
#: 6,378,137 m; the GRS80 authalic sphere: 6,371,007 m; Krassowsky 1940: 6,378,245 m). PROJ
#: refuses to transform between the Earth and another body (``+a=1``, Mars' 3,396,190 m).
EARTH_SEMI_MAJOR_M = (6_300_000.0, 6_400_000.0)

#: Largest projected coordinate on the Earth, metres: its circumference (40,075 km). No place
#: of the Earth lies farther from a projection's origin in the CRSs cities use (UTM, Web
#: Mercator, CGCS2000 Gauss-Krüger); a coordinate beyond it is a broken value, not a place.
MAX_PROJECTED_M = 40_075_017.0
#: Lines whose coordinates are checked at a time (bounds the temporaries).
CHECK_BLOCK = 1 << 17


def check_earth_crs(crs: pyproj.CRS, path: Path | str, shown: str | None = None) -> None:
    """Refuse a CRS of another celestial body (or of none): latcircle maps the Earth.

    Parameters
    ----------
    crs
        The CRS an input declares or carries.
    path
        The input, for the message.
    shown
        How the user wrote the CRS (the declared text), when they did.
    """
    ellipsoid = crs.ellipsoid
    a = ellipsoid.semi_major_metre if ellipsoid is not None else None
    lo, hi = EARTH_SEMI_MAJOR_M
    if a is not None and lo <= a <= hi:
        return
    what = repr(shown) if shown else repr(crs.name)
    size = "no ellipsoid" if a is None else f"an ellipsoid of semi-major axis {a:,.6g} m"
    problem = (
        f"CRS {what} is not on the Earth ({size}; the Earth's is about 6,378 km): "
        "declare the CRS of the data"
    )
    raise InputError(path, "crs", problem)


def check_line_coordinates(gdf: gpd.GeoDataFrame, path: Path | str, *, role: str) -> None:
    """Refuse lines with a coordinate that is not a finite number on the Earth.

    Feature numbers count from 1 in the file's order (the frame's index as read).

    Parameters
    ----------
    gdf
        The lines as read, in the file's CRS (its index: the features' positions).
    path
        The file, for the message.
    role
        The config key (``network``), for the message.
    """
    geoms = gdf.geometry.to_numpy()
    crs = gdf.crs
    if crs is not None and crs.is_geographic:
        limit = np.array([180.0, 90.0])
        where = "outside longitude -180..180 / latitude -90..90"
    else:
        limit = np.array([MAX_PROJECTED_M, MAX_PROJECTED_M])
        where = f"beyond {MAX_PROJECTED_M:,.0f} m (the Earth's circumference): not a place"
    # A block of lines at a time: every coordinate at once (and its temporaries) held
    # ~220 MB at 1 M network nodes.
    first_xy, first_line, bad_lines = None, -1, []
    for lo in range(0, len(geoms), CHECK_BLOCK):
        coords, which = shapely.get_coordinates(geoms[lo : lo + CHECK_BLOCK], return_index=True)
        bad = ~np.isfinite(coords).all(axis=1) | (np.abs(coords) > limit).any(axis=1)
        if bad.any():
            if first_xy is None:
                at = int(np.flatnonzero(bad)[0])
                first_xy, first_line = coords[at], lo + int(which[at])
            bad_lines.append(lo + np.unique(which[bad]))
    if first_xy is None:
        return
    x, y = first_xy
    feature = _feature_number(gdf, first_line)
    if not (np.isfinite(x) and np.isfinite(y)):
        problem = f"that is not a finite number: ({x:g}, {y:g})"
    else:
        problem = f"({x:.6g}, {y:.6g}) {where}"
    n = int(sum(len(b) for b in bad_lines))
    more = f" ({n:,} features have such coordinates)" if n > 1 else ""
    raise InputError(path, "geometry", f"{role} feature {feature} has a coordinate {problem}{more}")


def check_names(values: pd.Series, path: Path | str, field: str, *, role: str) -> None:
    """Refuse a name field with NULL or blank values (the map and tables need every name).

    Parameters
    ----------
    values
        The name field as read.
    path, field
        The file and the field, for the message.
    role
        The config key (``districts``), for the message.
    """
    text = values.astype("string").str.strip()
    missing = (values.isna() | text.isna() | (text == "")).to_numpy()
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    n = len(rows)
    problem = (
        f"{role} feature {rows[0] + 1} has no name (NULL or blank)"
        + (f"; {n:,} features lack one" if n > 1 else "")
        + ": give every feature a name"
    )
    raise InputError(path, field, problem)


def _feature_number(gdf: pd.DataFrame, position: int) -> int:
    """Return the 1-based feature number of a row (its index label when that is a position)."""
    label = gdf.index[position]
    return int(label) + 1 if isinstance(label, int | np.integer) else position + 1


def check_csv_rows(text: str, delimiter: str, path: Path | str) -> None:
    """Refuse a CSV whose rows do not have as many fields as its header (ragged rows).

    pandas would shift a longer row's values into the wrong columns, or fill a shorter one
    with empty values, and the complaint would land on an innocent column.

    Parameters
    ----------
    text
        The CSV text.
    delimiter
        Its delimiter.
    path
        The file, for the message.
    """
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(rows, None)
    if header is None:
        return
    bad = [(i, len(r)) for i, r in enumerate(rows, start=1) if r and len(r) != len(header)]
    if not bad:
        return
    row, n = bad[0]
    more = f" ({len(bad):,} rows are ragged)" if len(bad) > 1 else ""
    problem = (
        f"{n} field(s) where the header has {len(header)}{more}: a delimiter inside an "
        "unquoted value, or a value missing?"
    )
    raise InputError(path, f"row {row}", problem)


def check_metro_extent(boundary: BaseGeometry, path: Path | str) -> None:
    """Refuse a boundary wider or taller than :data:`MAX_METRO_EXTENT_M` in its UTM zone.

    Parameters
    ----------
    boundary
        The metro boundary in its local (UTM) CRS.
    path
        The boundary file, for the message.
    """
    x0, y0, x1, y1 = boundary.bounds
    width, height = x1 - x0, y1 - y0
    if max(width, height) <= MAX_METRO_EXTENT_M:
        return
    problem = (
        f"the boundary spans {width / 1000:,.0f} km by {height / 1000:,.0f} km, over the "
        f"{MAX_METRO_EXTENT_M / 1000:,.0f} km a metro may span: give one metro's outline"
    )
    raise InputError(path, "geometry", problem)


def check_uv_loops(gdf: gpd.GeoDataFrame, path: Path | str) -> None:
    """Refuse a line whose ``u`` and ``v`` ids are one node while its ends lie apart.

    Such a line says it is a loop and draws a road between two places: the ids contradict
    the geometry, and the network would drop a road as a self-loop. (A true loop, a closed
    line from a node back to it, keeps its one id at both ends.)

    Parameters
    ----------
    gdf
        The lines as read (the index: the features' positions), with ``u`` and ``v``.
    path
        The file, for the message.
    """
    if not {"u", "v"} <= set(gdf.columns):
        return
    same = _same_ids(gdf["u"], gdf["v"])
    geoms = gdf.geometry.to_numpy()
    lines = same & (shapely.get_type_id(geoms) == 1)
    if not lines.any():
        return
    start = shapely.get_coordinates(shapely.get_point(geoms[lines], 0))
    end = shapely.get_coordinates(shapely.get_point(geoms[lines], -1))
    _refuse_apart_loops(gdf, np.flatnonzero(lines), start, end, path, crs=gdf.crs)


def check_uv_loop_ends(
    frame: pd.DataFrame,
    start: np.ndarray,
    end: np.ndarray,
    path: Path | str,
    *,
    crs: pyproj.CRS | None,
) -> None:
    """:func:`check_uv_loops` for lines given by their ends (every row a LineString).

    Parameters
    ----------
    frame
        The lines' columns as read (the index: the features' positions), with or without
        ``u`` and ``v``.
    start, end
        ``(n, 2)``: each line's first and last vertex.
    path
        The file, for the message.
    crs
        The lines' CRS (the gap's unit).
    """
    if not {"u", "v"} <= set(frame.columns):
        return
    rows = np.flatnonzero(_same_ids(frame["u"], frame["v"]))
    if len(rows):
        _refuse_apart_loops(frame, rows, start[rows], end[rows], path, crs=crs)


def _same_ids(u: pd.Series, v: pd.Series) -> np.ndarray:
    """Where ``u`` and ``v`` name one node (equal as text; integers compared directly)."""
    if pd.api.types.is_integer_dtype(u.dtype) and pd.api.types.is_integer_dtype(v.dtype):
        # The usual integer ids: equal as text exactly when equal (no 1.8 M strings each).
        return (u == v).to_numpy(dtype=bool, na_value=False)
    return (u.notna() & v.notna() & (u.astype(str) == v.astype(str))).to_numpy()


def _refuse_apart_loops(
    frame: pd.DataFrame,
    rows: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    path: Path | str,
    *,
    crs: pyproj.CRS | None,
) -> None:
    """Refuse the first of ``rows`` (lines with u = v) whose ends ``start``/``end`` differ."""
    apart = np.hypot(*(start - end).T) > 0
    if not apart.any():
        return
    first = int(rows[np.flatnonzero(apart)[0]])
    gap = float(np.hypot(*(start - end)[np.flatnonzero(apart)[0]]))
    unit = "m" if crs is None or not crs.is_geographic else "degrees"
    problem = (
        f"feature {_feature_number(frame, first)} has u = v = {frame['u'].iloc[first]} but "
        f"its ends lie {gap:,.6g} {unit} apart: a line between two places needs two node ids"
    )
    raise InputError(path, "u", problem)


#: Most bytes of a text that is not UTF-8 shown in the refusal.
_SHOWN_BYTES = 40


def first_text_not_utf8(table: pa.Table) -> tuple[str, int, bytes] | None:
    """Return the first text column, row and bytes of ``table`` that are not UTF-8, or None.

    pyarrow reads a file's texts without checking them (a GeoParquet file's; GDAL's Arrow
    stream passes a GeoPackage's bytes through), and pandas keeps them as Arrow strings: a
    text that is not UTF-8 would fail only where it is first used, deep in a run. The row
    is ``-1`` (no bytes) when the column is malformed otherwise (offsets out of order).

    Parameters
    ----------
    table
        The file's columns, as read.
    """
    import pyarrow as pa

    for field, column in zip(table.schema, table.columns, strict=True):
        if not _is_text(field.type):
            continue
        try:
            column.validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        # The refusal's one row, found text by text from the buffers (only on this path).
        row = 0
        for chunk in column.chunks:
            found = _first_not_utf8(chunk)
            if found is not None:
                return field.name, (row + found[0] if found[0] >= 0 else -1), found[1]
            row += len(chunk)
        return field.name, -1, b""
    return None


def _is_text(kind: pa.DataType) -> bool:
    """Whether an Arrow column holds texts: strings, or a dictionary of them (categories)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _first_not_utf8(chunk: pa.Array) -> tuple[int, bytes] | None:
    """Return the first row of a text chunk that is not UTF-8 (``(-1, b"")``: malformed).

    A dictionary's (categories'): the first row whose entry is not UTF-8.
    """
    import pyarrow as pa

    if not pa.types.is_dictionary(chunk.type):
        texts = _raw_texts(chunk)
        if texts is None:
            return -1, b""
        bad = [(i, t) for i, t in enumerate(texts) if t is not None and not _is_utf8(t)]
        return bad[0] if bad else None
    entries = _raw_texts(chunk.dictionary)
    if entries is None:
        return -1, b""
    wrong = [j for j, t in enumerate(entries) if t is not None and not _is_utf8(t)]
    if not wrong:
        return None
    codes = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(np.isin(codes, wrong))
    return (int(rows[0]), entries[codes[rows[0]]] or b"") if len(rows) else (-1, b"")


def _raw_texts(chunk: pa.Array) -> list[bytes | None] | None:
    """Return a string chunk's texts as bytes, undecoded (None: a null), or None if malformed.

    From the buffers: pyarrow's own conversion decodes, or fails on offsets out of order.
    """
    import pyarrow as pa

    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    n, at = len(chunk), chunk.offset
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[at : at + n + 1]
    data = buffers[2].to_pybytes() if buffers[2] is not None else b""
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    out: list[bytes | None] = []
    for i in range(n):
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        if not 0 <= lo <= hi <= len(data):
            return None
        out.append(data[lo:hi] if valid[i] else None)
    return out


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_texts_utf8(table: pa.Table, path: Path | str) -> None:
    """Refuse a file whose texts are not all UTF-8 (:func:`first_text_not_utf8`).

    Parameters
    ----------
    table
        The file's text columns (or all of them), as read.
    path
        The file, named in the message.
    """
    bad = first_text_not_utf8(table)
    if bad is None:
        return
    field, row, value = bad
    if row < 0:
        raise InputError(path, field, "the column's texts are not valid UTF-8")
    shown = repr(value[:_SHOWN_BYTES]) + ("..." if len(value) > _SHOWN_BYTES else "")
    raise InputError(path, field, f"row {row + 1} is not UTF-8 text: {shown}")
