"""A network's lines as flat coordinates, read without a shapely object per line.

``geopandas.read_parquet`` and ``geopandas.read_file`` turn every WKB record into a shapely
LineString (Wuhan's 92,667 roads: ~0.06 s CPU of its ~0.1 s, and ~0.015 s more to free them
once the network holds the coordinates, measured 2026-12-07; the 1 M-node synthetic metro's
1.84 M lines in a GeoPackage: 3.3 s CPU, the read peaking ~790 MB above the process's base,
against 0.45 s and ~410 MB here, measured 2026-12-07), and the network keeps only the
coordinates (:class:`latcircle.engine.edgelines.EdgeLines`). :func:`read_flat_lines` reads
a GeoParquet file with pyarrow, as geopandas does, and a GeoPackage through GDAL's Arrow
stream (``pyogrio.raw.read_arrow``), and takes the vertices straight from the WKB bytes.

It is a fast path, not a second reader: it answers only when the outcome is certain to be
the one the frame reader gives, and returns ``None`` otherwise, so that the caller reads the
file the usual way and every refusal (empty, null or multi-part lines, Z values, NaN or
out-of-range coordinates, a missing CRS, malformed metadata...) is the usual one, word for
word. It answers for a GeoParquet file whose one geometry column is WKB, or a GeoPackage
layer whose other columns are numbers or texts, every record a little-endian 2-D
LineString of at least two vertices, every coordinate finite and within the limits of
:func:`latcircle.inputs.checks.check_line_coordinates`, on an Earth CRS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from latcircle.config import NetworkInput
from latcircle.errors import InputError
from latcircle.inputs.checks import MAX_PROJECTED_M, check_earth_crs, first_text_not_utf8

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FlatLines", "parse_wkb_lines", "read_flat_lines"]

#: WKB's header: byte order (1 byte), geometry type (uint32), vertex count (uint32).
_HEADER = 9
#: ISO / OGC WKB type code of a 2-D LineString (Z, M, ZM and EWKB flags give other codes).
_LINESTRING = 2


@dataclass(frozen=True, slots=True)
class FlatLines:
    """Network lines as flat coordinates beside their other columns (what the frame holds).

    Attributes
    ----------
    coords
        ``(m, 2)`` float64 vertices of every line, line after line.
    offsets
        ``(n + 1,)`` where each line's vertices start in ``coords`` (the last: ``m``).
    columns
        The lines' other columns (``u``, ``v``, ``highway``, ``online_year``...), one row a
        line, index ``0 .. n-1``.
    crs
        Their CRS.
    """

    coords: np.ndarray
    offsets: np.ndarray
    columns: pd.DataFrame
    crs: pyproj.CRS

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def total_bounds(self) -> np.ndarray:
        """``[xmin, ymin, xmax, ymax]`` of every vertex (as ``GeoDataFrame.total_bounds``)."""
        lo, hi = self.coords.min(axis=0), self.coords.max(axis=0)
        return np.array([lo[0], lo[1], hi[0], hi[1]])

    def take(self, rows: np.ndarray) -> FlatLines:
        """Return the lines at positions ``rows``, in that order (columns re-indexed)."""
        counts = self.offsets[rows + 1] - self.offsets[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], counts)
        vertex = np.repeat(self.offsets[rows], counts) + within
        columns = self.columns.iloc[rows].reset_index(drop=True)
        return FlatLines(np.take(self.coords, vertex, axis=0), offsets, columns, self.crs)

    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the first and the last vertex of every line, as ``(n, 2)`` arrays."""
        return (
            np.take(self.coords, self.offsets[:-1], axis=0),
            np.take(self.coords, self.offsets[1:] - 1, axis=0),
        )

    def empty_frame(self) -> gpd.GeoDataFrame:
        """Return an empty frame of these columns, a ``geometry`` column and the CRS."""
        return gpd.GeoDataFrame(
            self.columns.iloc[:0], geometry=gpd.GeoSeries([], crs=self.crs), crs=self.crs
        )


def parse_wkb_lines(offsets: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Vertices of WKB records that are all little-endian 2-D LineStrings (else ``None``).

    Parameters
    ----------
    offsets
        ``(n + 1,)`` where each record starts in ``data`` (the last: where the last ends),
        as a binary Arrow array holds them.
    data
        The records' bytes (``uint8``).

    Returns
    -------
    tuple of numpy.ndarray or None
        ``(coords, line_offsets)``: ``(m, 2)`` float64 vertices and where each line's
        start; ``None`` when a record is anything else (another type, big-endian, Z or M
        values, an SRID, fewer than two vertices, a length that does not match its count).
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    if n <= 0:
        return None
    starts, size = offsets[:-1], np.diff(offsets)
    if (size < _HEADER).any():
        return None
    records = data[offsets[0] : offsets[-1]]
    fixed = bool((size == size[0]).all())
    if fixed:  # every record of one size (e.g. simplified two-vertex roads): a 2-D view
        table = records.reshape(n, int(size[0]))
        head = table[:, :_HEADER]
    else:
        head = data[starts[:, None] + np.arange(_HEADER)]  # (n, 9) header bytes
    kind = np.ascontiguousarray(head[:, 1:5]).view("<u4")[:, 0]
    count = np.ascontiguousarray(head[:, 5:9]).view("<u4")[:, 0].astype(np.int64)
    if (head[:, 0] != 1).any() or (kind != _LINESTRING).any() or (count < 2).any():
        return None
    if (size != _HEADER + 16 * count).any():
        return None
    if fixed:
        body = np.ascontiguousarray(table[:, _HEADER:]).reshape(-1)
    else:
        keep = np.ones(len(records), dtype=bool)
        keep[(starts - offsets[0])[:, None] + np.arange(_HEADER)] = False
        body = records[keep]
    coords = body.view("<f8").astype(np.float64, copy=False).reshape(-1, 2)
    line_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=line_offsets[1:])
    return coords, line_offsets


def coordinates_fit(coords: np.ndarray, crs: pyproj.CRS) -> bool:
    """Whether every coordinate passes :func:`~latcircle.inputs.checks.check_line_coordinates`.

    Finite, and within longitude -180..180 / latitude -90..90 in a geographic CRS, within
    the Earth's circumference in a projected one (the bounds themselves included).
    """
    if crs.is_geographic:
        limit = np.array([180.0, 90.0])
    else:
        limit = np.array([MAX_PROJECTED_M, MAX_PROJECTED_M])
    if len(coords) == 0:
        return True
    # A NaN makes the column's minimum and maximum NaN, which compares false.
    low, high = coords.min(axis=0), coords.max(axis=0)
    return bool((-limit <= low).all() and (high <= limit).all())


def read_flat_lines(spec: NetworkInput) -> FlatLines | None:
    """Read a GeoParquet or GeoPackage network as :class:`FlatLines`, or ``None``.

    The columns are pyarrow's ``to_pandas`` of the file's non-geometry columns, as
    ``geopandas.read_parquet`` makes them (GeoParquet) or as pyogrio's frame reader makes
    them (GeoPackage: only column types for which the two are the same); the CRS is the
    file's, as geopandas reads it. ``None`` whenever the file is not one this path answers
    for exactly (module docstring): the caller then reads it with the frame reader.

    Parameters
    ----------
    spec
        The network's config section (no ``crs:`` declared; a ``.parquet``,
        ``.geoparquet`` or ``.gpkg`` file; not OFDS).
    """
    if spec.crs is not None or spec.format == "ofds":
        return None
    lines = _read_flat(spec)
    if lines is not None:
        import pyarrow as pa

        # On pyarrow's default pool (mimalloc: a library user's process; the command line
        # asks for the C library's heap, system.arrow_system_pool) the file's freed Arrow
        # buffers stay in mimalloc's heaps, out of reach of the network build and of
        # malloc_trim: the 1 M-node metro's peak 1,046 MB without this, 960 with it, 913 on
        # the C library's heap either way (measured 2026-12-07).
        pa.default_memory_pool().release_unused()
    return lines


def _read_flat(spec: NetworkInput) -> FlatLines | None:
    """:func:`read_flat_lines`' reading (a frame of its own, so the table is gone after)."""
    suffix = spec.path.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        found = _parquet_table(spec.path)
    elif suffix == ".gpkg":
        found = _geopackage_table(spec.path, spec.layer)
    else:
        return None
    if found is None:
        return None
    table, name, crs = found
    # A text that is not UTF-8 (pyarrow reads texts unchecked): the frame reader refuses it.
    if table.num_rows == 0 or crs is None or first_text_not_utf8(table) is not None:
        return None
    flat = _wkb_coordinates(table.column(name))
    if flat is None or not coordinates_fit(flat[0], crs):
        return None
    try:
        check_earth_crs(crs, spec.path)
    except InputError:
        return None
    columns = table.drop_columns([name]).to_pandas()
    if len(columns) != table.num_rows:
        return None
    return FlatLines(flat[0], flat[1], columns, crs)


def _parquet_table(path: Path) -> tuple[pa.Table, str, pyproj.CRS | None] | None:
    """Return a GeoParquet file's table, its one WKB geometry column and CRS, or ``None``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # The one file's table as pq.read_table gives it, without the dataset layer
        # read_table goes through (and imports: ~0.008 s of a run; tests/test_flat_network.py).
        with pq.ParquetFile(path) as file:
            table = file.read()
    except (OSError, ValueError, pa.ArrowException):
        return None  # the frame reader says what is wrong, in its words
    geo = _geo_column(table.schema.metadata)
    if geo is None or geo[0] not in table.column_names:
        return None
    return table, geo[0], geo[1]


def _geopackage_table(
    path: Path, layer: str | None
) -> tuple[pa.Table, str, pyproj.CRS | None] | None:
    """Return a GeoPackage layer's table (GDAL's Arrow stream), its geometry column and CRS.

    ``None`` unless every column is one whose ``to_pandas`` is what pyogrio's frame reader
    gives (:func:`_same_as_frame`; tests/test_flat_network.py reads each both ways). The
    column types are judged from the stream's schema before any feature is read, so that a
    layer the frame reader will read anyway (a date column) is not read twice.
    """
    import pyarrow as pa
    import pyogrio.raw

    try:
        # What pyogrio.raw.read_arrow does (open the stream, read it all), with the schema
        # looked at in between.
        with pyogrio.raw.open_arrow(path, layer=layer, use_pyarrow=True) as (meta, reader):
            name = meta.get("geometry_name") or "wkb_geometry"
            others = [f for f in reader.schema if f.name != name]
            if not all(_same_as_frame(f.type, 0) for f in others):
                return None
            table = reader.read_all()
    except (OSError, ValueError, RuntimeError, pa.ArrowException):
        return None  # the frame reader says what is wrong, in its words
    if name not in table.column_names or meta.get("encoding", "UTF-8").upper() != "UTF-8":
        return None
    # Integers and booleans with nulls: the frame reader makes them float64 (known only now).
    if not all(_same_as_frame(f.type, table.column(f.name).null_count) for f in others):
        return None
    try:
        crs = pyproj.CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    except pyproj.exceptions.CRSError:
        return None
    return table, name, crs


def _same_as_frame(kind: pa.DataType, nulls: int) -> bool:
    """Whether an Arrow column's ``to_pandas`` is pyogrio's frame column for an OGR field.

    Integers and booleans only without nulls (the frame reader makes them float64, Arrow
    an object column of booleans); floats and texts with or without (texts that are not
    UTF-8 are left to the frame reader by :func:`_read_flat`); anything else (dates, times,
    binary, lists) is left to the frame reader.
    """
    import pyarrow as pa

    if pa.types.is_floating(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return True
    return (pa.types.is_integer(kind) or pa.types.is_boolean(kind)) and nulls == 0


def _geo_column(metadata: dict[bytes, bytes] | None) -> tuple[str, pyproj.CRS | None] | None:
    """Return the one WKB geometry column of plain GeoParquet metadata and its CRS, or None.

    Anything geopandas would warn about, refuse or read differently (several geometry
    columns, a bbox covering column, spherical edges, a native encoding) is left to it.
    """
    if not metadata or b"geo" not in metadata:
        return None
    try:
        geo = json.loads(metadata[b"geo"])
    except (TypeError, ValueError):
        return None
    if not isinstance(geo, dict) or not (geo.get("version") or geo.get("schema_version")):
        return None
    columns, primary = geo.get("columns"), geo.get("primary_column")
    if not isinstance(primary, str) or not isinstance(columns, dict) or list(columns) != [primary]:
        return None
    column = columns[primary]
    if not isinstance(column, dict) or column.get("encoding") != "WKB":
        return None
    if "covering" in column or column.get("edges", "planar") != "planar":
        return None
    crs = column.get("crs", "OGC:CRS84")  # missing: OGC:CRS84 (the GeoParquet spec)
    if crs is None:
        return primary, None
    if isinstance(crs, dict):
        _remove_member_ids(crs)
    try:
        return primary, pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        return None


def _remove_member_ids(crs: dict) -> None:
    """Drop the ids of datum ensemble members, as geopandas does before reading a PROJJSON.

    (``geopandas.io.arrow._remove_id_from_member_of_ensembles``: older PROJ databases do not
    know newer members' ids.)
    """
    for key, value in crs.items():
        if isinstance(value, dict):
            _remove_member_ids(value)
        elif key == "members" and isinstance(value, list):
            for member in value:
                if isinstance(member, dict):
                    member.pop("id", None)


def _wkb_coordinates(column: object) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the vertices of a binary WKB column (chunks combined), or ``None``."""
    import pyarrow as pa

    array = column.combine_chunks()  # type: ignore[attr-defined]
    if isinstance(array.type, pa.ExtensionType):
        array = array.storage
    if array.null_count:
        return None
    if pa.types.is_binary(array.type):
        width: type[np.signedinteger] = np.int32
    elif pa.types.is_large_binary(array.type):
        width = np.int64
    else:
        return None
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.empty(0)
    return parse_wkb_lines(offsets, data.astype(np.uint8, copy=False))
