"""The network's lines: any vector format, OSM, osmnx GraphML or OFDS; status and repairs.

Null and empty geometries are left out and counted; multi-part lines are split; a status
field maps lines to built, planned and excluded.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from latcircle.config import NetworkInput, NetworkStatus
from latcircle.errors import InputError
from latcircle.inputs.checks import check_line_coordinates, check_uv_loop_ends, check_uv_loops
from latcircle.inputs.flatlines import FlatLines, coordinates_fit, read_flat_lines
from latcircle.inputs.points import year_column
from latcircle.inputs.vectors import _first_line, local_coordinates, read_vector, to_crs_exact

#: The column that follows each line's position through the flat path's row filters.
_LINE = "\x00latcircle line"


def _read_network(
    spec: NetworkInput, crs: pyproj.CRS, notes: list[str], stats: dict[str, float]
) -> tuple[gpd.GeoDataFrame | FlatLines, dict | None]:
    """Read the network's lines into the local CRS; counts go to ``stats``, notes to ``notes``.

    Null and empty geometries are left out and counted; a status field maps lines to built
    (kept), planned (kept with an online year, or left out) and excluded (left out). A plain
    GeoParquet or GeoPackage file of 2-D lines comes back as :class:`FlatLines` (no shapely
    object per line: :func:`_read_flat_network`), any other file as a frame.
    """
    flat = _read_flat_network(spec, crs, notes, stats)
    if flat is not None:
        return flat, None
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
    local = to_crs_exact(gdf[[*keep, "geometry"]], crs).reset_index(drop=True)
    check_line_coordinates(local, spec.path, role="network (in the metro's local CRS)")
    return local, node_latency


def _read_flat_network(
    spec: NetworkInput, crs: pyproj.CRS, notes: list[str], stats: dict[str, float]
) -> FlatLines | None:
    """:func:`_read_network`'s steps on :class:`FlatLines`, or ``None`` for the frame path.

    The same steps in the same order on the same columns, so the same lines, columns, counts,
    notes and refusals; a line's coordinates are only ever the file's, or PROJ's transform
    of them as ``GeoDataFrame.to_crs`` makes it. ``None`` (nothing noted or counted) when
    :func:`~latcircle.inputs.flatlines.read_flat_lines` does not answer, or when a
    coordinate in the local CRS would be refused: the frame path then reads the file and
    refuses it in its own words.
    """
    flat = read_flat_lines(spec)
    if flat is None or _LINE in flat.columns.columns:
        return None
    start, end = flat.ends()
    gdf = flat.columns.assign(**{_LINE: np.arange(len(flat))})
    gdf = _filter_highway(gdf, spec)  # its columns only
    own_notes: list[str] = []
    own_stats = {"input_lines": float(len(gdf)), "empty_lines": 0.0}
    rows = gdf[_LINE].to_numpy()
    check_uv_loop_ends(gdf, start[rows], end[rows], spec.path, crs=flat.crs)
    if "online_year" in gdf.columns:
        gdf = gdf.assign(online_year=year_column(gdf, spec.path))
    status = spec.status
    if status is None and spec.kind == "fibre" and "status" in gdf.columns:
        status = NetworkStatus()  # as for a frame (a GeoParquet file is never OFDS)
    if status is not None:
        gdf = _apply_status(gdf, spec.path, status, own_notes, own_stats)
    keep = [c for c in ("u", "v", "highway", "online_year") if c in gdf.columns]
    rows = gdf[_LINE].to_numpy()
    lines = flat.take(rows) if not np.array_equal(rows, np.arange(len(flat))) else flat
    columns = pd.DataFrame(gdf[keep]).reset_index(drop=True)
    coords = local_coordinates(lines.coords, lines.crs, crs)
    if not coordinates_fit(coords, crs):
        return None
    notes.extend(own_notes)
    stats.update(own_stats)
    return FlatLines(coords, lines.offsets, columns, crs)


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
