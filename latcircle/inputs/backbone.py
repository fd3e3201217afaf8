"""National backbones: Topology Zoo GraphML (or line files) -> nodes and links with exact lengths.

A national backbone spans 60° of longitude: no single projected CRS keeps its lengths (UTM
zone 49N stretches a link in Xinjiang by several per cent). Lengths here are therefore
**geodesic** on the WGS84 ellipsoid (Karney's algorithm via :class:`pyproj.Geod`), exact to the
nanometre, and multiplied by the route factor the caller gives. Coordinates stay lon/lat; an
equal-area projection is used only for areas (:data:`CHINA_EQUAL_AREA`).

Topology Zoo files carry ``Latitude``/``Longitude`` on most nodes but no link lengths; nodes
without coordinates (international links) are dropped with their links, and every such drop, and
every coordinate fix from ``latcircle/data/backbone_fixes.csv``, is counted in ``repairs``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Geod

from latcircle.errors import InputError
from latcircle.inputs.checks import check_line_coordinates
from latcircle.inputs.ofds import is_ofds, read_ofds

__all__ = [
    "CHINA_EQUAL_AREA",
    "GEOD",
    "MAX_BACKBONE_NODES",
    "Backbone",
    "geodesic_m",
    "join_backbones",
    "read_backbone",
    "read_backbones",
    "read_gateways",
    "read_hubs",
    "read_places",
]

#: WGS84 ellipsoid for geodesic lengths.
GEOD = Geod(ellps="WGS84")
#: Albers equal-area conic for China (standard parallels 25° N and 47° N), for areas only.
CHINA_EQUAL_AREA = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=WGS84 +units=m"

#: Most nodes a backbone may have. The tiers compare every city (~370) with every node on the
#: ellipsoid (pair arrays of 8 bytes, several at once): 50,000 nodes need about 1 GB. Measured
#: (issue 22, 2026-12): 30,000 nodes took 19 s; 300,000 used 4.7 GB and ran past 4 minutes.
#: National backbones (Topology Zoo, SNDlib) have tens to hundreds of nodes.
MAX_BACKBONE_NODES = 50_000

_LAT_KEYS = ("Latitude", "latitude", "lat", "y")
_LON_KEYS = ("Longitude", "longitude", "lon", "x")


@dataclass(frozen=True)
class Backbone:
    """A backbone as arrays.

    Attributes
    ----------
    name
        The network's name (GraphML ``Network`` / ``label``, or the file stem).
    names
        Node names.
    lon, lat
        Node coordinates (WGS84 degrees).
    u, v
        Link endpoints (node indices).
    geodesic_m
        Geodesic length of each link in metres (before any route factor).
    repairs
        What was changed or dropped while reading, by kind, with the names involved.
    """

    name: str
    names: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    geodesic_m: np.ndarray
    repairs: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for a in (self.lon, self.lat, self.u, self.v, self.geodesic_m):
            a.setflags(write=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.names)


def geodesic_m(
    lon1: np.ndarray | float,
    lat1: np.ndarray | float,
    lon2: np.ndarray | float,
    lat2: np.ndarray | float,
) -> np.ndarray:
    """Geodesic distance on WGS84, metres (vectorised)."""
    _, _, d = GEOD.inv(
        np.asarray(lon1, float),
        np.asarray(lat1, float),
        np.asarray(lon2, float),
        np.asarray(lat2, float),
    )
    return np.asarray(d, dtype=float)


def read_backbone(path: str | Path, *, fixes: bool = True) -> Backbone:
    """Read a backbone from a Topology Zoo GraphML file, an OFDS network or a line file.

    Parameters
    ----------
    path
        A ``.graphml`` file (nodes with latitude/longitude attributes, links between them), an
        OFDS network (JSON package or GeoJSON spans; nodes by id, lengths along the routes) or
        any OGR line file (GeoJSON, GeoPackage…) whose line ends are the nodes.
    fixes
        Apply the bundled coordinate fixes for known topologies (each counted in ``repairs``).

    Returns
    -------
    Backbone
        Nodes, links and geodesic link lengths.

    Raises
    ------
    InputError
        If the file cannot be read, or has no located node or no link between located nodes.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(p, None, "a folder, not a file" if p.is_dir() else "no such file")
    route: dict[tuple[int, int], float] = {}
    if p.suffix.lower() == ".graphml":
        name, names, lon, lat, edges, repairs = _read_graphml(p)
    elif is_ofds(p):
        name, names, lon, lat, edges, repairs = _read_ofds(p, route)
    else:
        name, names, lon, lat, edges, repairs = _read_lines(p, route)
    if len(names) > MAX_BACKBONE_NODES:
        problem = (
            f"{len(names):,} nodes, over the limit of {MAX_BACKBONE_NODES:,} (every city is "
            "compared with every node): give the backbone's sites and links, not every vertex"
        )
        raise InputError(p, "nodes", problem)
    if fixes:
        _apply_fixes(name, names, lon, lat, repairs)
        _apply_aliases(name, names, repairs)
    if not edges:
        raise InputError(p, "links", "no link joins two nodes with coordinates")
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    length = geodesic_m(lon[u], lat[u], lon[v], lat[v])
    if route:  # line files: the geodesic length along each route, not between its ends
        length = np.array([route[e] for e in edges], dtype=float)
    return Backbone(name, tuple(names), lon, lat, u, v, length, repairs)


def _read_graphml(
    p: Path,
) -> tuple[str, list[str], np.ndarray, np.ndarray, list[tuple[int, int]], dict[str, list[str]]]:
    from xml.etree.ElementTree import ParseError

    import networkx as nx

    try:
        g = nx.read_graphml(p)
    except (ParseError, nx.NetworkXError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise InputError(
            p, None, f"cannot read GraphML: {str(exc).splitlines()[0][:200]}"
        ) from None
    name = str(g.graph.get("Network") or g.graph.get("label") or p.stem).strip()
    lat_key = next((k for k in _LAT_KEYS if any(k in d for _, d in g.nodes(data=True))), None)
    lon_key = next((k for k in _LON_KEYS if any(k in d for _, d in g.nodes(data=True))), None)
    if lat_key is None or lon_key is None:
        msg = "no node carries coordinates (expected Latitude/Longitude attributes)"
        raise InputError(p, "Latitude/Longitude", msg)
    index: dict[str, int] = {}
    names: list[str] = []
    lon: list[float] = []
    lat: list[float] = []
    repairs: dict[str, list[str]] = {}
    for node, d in g.nodes(data=True):
        label = str(d.get("label", node))
        try:
            x, y = float(d[lon_key]), float(d[lat_key])
        except (KeyError, TypeError, ValueError):
            repairs.setdefault("nodes without coordinates dropped", []).append(label)
            continue
        if not (np.isfinite(x) and np.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
            raise InputError(p, lat_key, f"node {label!r} has coordinates off the Earth: {y}, {x}")
        index[node] = len(names)
        names.append(label)
        lon.append(x)
        lat.append(y)
    if not names:
        raise InputError(p, lat_key, "no node has coordinates")
    edges: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    for a, b in g.edges():
        if a not in index or b not in index:
            repairs.setdefault("links to dropped nodes dropped", []).append(f"{a}-{b}")
            continue
        i, j = sorted((index[a], index[b]))
        if i == j:
            repairs.setdefault("self-loops dropped", []).append(names[i])
        elif (i, j) in seen:
            repairs.setdefault("parallel links collapsed", []).append(f"{names[i]}-{names[j]}")
        else:
            seen.add((i, j))
            edges.append((i, j))
    return name, names, np.array(lon), np.array(lat), edges, repairs


def _read_lines(
    p: Path, route: dict[tuple[int, int], float]
) -> tuple[str, list[str], np.ndarray, np.ndarray, list[tuple[int, int]], dict[str, list[str]]]:
    """Line ends become nodes; ``route`` receives each link's geodesic length along its line."""
    import geopandas as gpd
    import pyogrio.errors
    import shapely

    try:
        gdf = gpd.read_file(p)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(p, None, f"cannot read: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):  # pyogrio reads a CSV as a plain table
        problem = "no geometry: expected a GraphML backbone or a line file (GeoJSON, GeoPackage…)"
        raise InputError(p, "geometry", problem)
    if gdf.crs is None:
        raise InputError(p, "crs", "the file declares no CRS")
    check_line_coordinates(gdf, p, role="backbone")
    gdf = gdf.to_crs(4326)
    lines = shapely.get_parts(gdf.geometry.values)
    lines = lines[shapely.get_type_id(lines) == 1]
    if len(lines) == 0:
        raise InputError(p, "geometry", "no line features")
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(lines, i)) for i in (0, -1)])
    keys, inverse = np.unique(ends, axis=0, return_inverse=True)
    n = len(lines)
    pairs = np.sort(np.column_stack([inverse[:n], inverse[n:]]), axis=1)
    along = np.array([GEOD.geometry_length(line) for line in lines], dtype=float)
    repairs: dict[str, list[str]] = {}
    for (a, b), d in zip(pairs, along, strict=True):
        key = (int(a), int(b))
        if a == b:
            repairs.setdefault("loops (both ends at one node) dropped", []).append(f"{a}")
        elif key in route:
            repairs.setdefault("parallel routes collapsed to the shortest", []).append(f"{a}-{b}")
            route[key] = min(route[key], float(d))
        else:
            route[key] = float(d)
    edges = sorted(route)
    names = [f"{x:.5f},{y:.5f}" for x, y in keys]
    return p.stem, names, keys[:, 0].copy(), keys[:, 1].copy(), edges, repairs


def _read_ofds(
    p: Path, route: dict[tuple[int, int], float]
) -> tuple[str, list[str], np.ndarray, np.ndarray, list[tuple[int, int]], dict[str, list[str]]]:
    """OFDS spans: nodes by id at their span ends, each link its geodesic length along its route."""
    import shapely

    lines, _ = read_ofds(p)
    index: dict[str, int] = {}
    xy: list[tuple[float, float]] = []
    repairs: dict[str, list[str]] = {}
    for row in lines.itertuples():
        coords = shapely.get_coordinates(row.geometry)
        ends = []
        for node, at in ((str(row.u), coords[0]), (str(row.v), coords[-1])):
            if node not in index:
                index[node] = len(xy)
                xy.append((float(at[0]), float(at[1])))
            ends.append(index[node])
        a, b = sorted(ends)
        d = float(GEOD.geometry_length(row.geometry))
        if a == b:
            repairs.setdefault("loops (both ends at one node) dropped", []).append(str(row.u))
        elif (a, b) in route:
            repairs.setdefault("parallel routes collapsed to the shortest", []).append(
                f"{row.u}-{row.v}"
            )
            route[(a, b)] = min(route[(a, b)], d)
        else:
            route[(a, b)] = d
    arr = np.array(xy, dtype=float).reshape(-1, 2)
    return p.stem, list(index), arr[:, 0].copy(), arr[:, 1].copy(), sorted(route), repairs


def _apply_fixes(
    network: str, names: list[str], lon: np.ndarray, lat: np.ndarray, repairs: dict[str, list[str]]
) -> None:
    text = resources.files("latcircle.data").joinpath("backbone_fixes.csv").read_text("utf-8")
    for row in csv.DictReader(text.splitlines()):
        if row["network"].strip() != network.strip() or row["node"] not in names:
            continue
        i = names.index(row["node"])
        lon[i], lat[i] = float(row["lon"]), float(row["lat"])
        repairs.setdefault("node coordinates corrected", []).append(
            f"{row['node']}: {row['reason']}"
        )


def _apply_aliases(network: str, names: list[str], repairs: dict[str, list[str]]) -> None:
    """Correct misspelt node names through ``latcircle/data/backbone_aliases.csv``."""
    text = resources.files("latcircle.data").joinpath("backbone_aliases.csv").read_text("utf-8")
    for row in csv.DictReader(text.splitlines()):
        if row["network"].strip() != network.strip():
            continue
        for i, n in enumerate(names):
            if n == row["node"]:
                names[i] = row["canonical"]
                repairs.setdefault("node names corrected", []).append(
                    f"{row['node']} -> {row['canonical']}"
                )


def read_backbones(paths: list[str | Path] | tuple[str | Path, ...]) -> Backbone:
    """Read several backbones and join them at the nodes they share (by corrected name).

    Parameters
    ----------
    paths
        Backbone files (see :func:`read_backbone`); one path gives that backbone alone.

    Returns
    -------
    Backbone
        The joined network (see :func:`join_backbones`).
    """
    parts = [read_backbone(p) for p in paths]
    return parts[0] if len(parts) == 1 else join_backbones(parts)


def join_backbones(parts: list[Backbone]) -> Backbone:
    """Join backbones at nodes of the same name (a city's points of presence meet there).

    A joined node keeps the first backbone's position; how far the others' were is recorded in
    ``repairs`` ("nodes joined"), as is every node of the same name within one backbone.
    Parallel links between the same two nodes collapse to the shortest.

    Parameters
    ----------
    parts
        Backbones, in order of precedence.

    Returns
    -------
    Backbone
        Named ``"A + B"``, with the repairs of every part (prefixed by its name).
    """
    index: dict[str, int] = {}
    names: list[str] = []
    lon: list[float] = []
    lat: list[float] = []
    repairs: dict[str, list[str]] = {}
    best: dict[tuple[int, int], float] = {}
    for bb in parts:
        for kind, items in bb.repairs.items():
            repairs.setdefault(kind, []).extend(f"{bb.name}: {x}" for x in items)
        local = []
        for i, n in enumerate(bb.names):
            if n in index:
                j = index[n]
                off = float(geodesic_m(bb.lon[i], bb.lat[i], lon[j], lat[j])) / 1000.0
                repairs.setdefault("nodes joined", []).append(f"{bb.name}: {n} ({off:.1f} km)")
            else:
                index[n] = j = len(names)
                names.append(n)
                lon.append(float(bb.lon[i]))
                lat.append(float(bb.lat[i]))
            local.append(j)
        for a, b in zip(bb.u, bb.v, strict=True):
            i, j = sorted((local[a], local[b]))
            if i != j:
                key = (i, j)
                d = float(geodesic_m(lon[i], lat[i], lon[j], lat[j]))
                best[key] = min(best.get(key, np.inf), d)
    keys = sorted(best)
    x, y = np.array(lon), np.array(lat)
    u = np.array([k[0] for k in keys], dtype=np.int64)
    v = np.array([k[1] for k in keys], dtype=np.int64)
    name = " + ".join(bb.name for bb in parts)
    return Backbone(name, tuple(names), x, y, u, v, geodesic_m(x[u], y[u], x[v], y[v]), repairs)


_GATEWAY_COLUMNS = ("id", "lon", "lat")


def read_gateways(path: str | Path) -> pd.DataFrame:
    """Read LEO gateways (ground stations): a CSV with ``id``, ``lon``, ``lat`` (WGS84).

    Parameters
    ----------
    path
        The CSV; ``name`` and ``source`` columns are kept when present.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``name``, ``lon``, ``lat`` (and ``source``), ids unique; may be empty.

    Raises
    ------
    InputError
        On a missing column, a duplicate id or a position off the Earth.
    """
    source = Path(path)
    try:
        frame = pd.read_csv(source, dtype={"id": str, "name": str})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(source, None, f"cannot read: {exc}") from None
    missing = [c for c in _GATEWAY_COLUMNS if c not in frame]
    if missing:
        raise InputError(source, ", ".join(missing), "missing column(s)")
    if frame["id"].duplicated().any():
        dup = frame.loc[frame["id"].duplicated(), "id"].iloc[0]
        raise InputError(source, "id", f"duplicate id {dup!r}")
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    off = ~(lon.between(-180, 180) & lat.between(-90, 90))
    if off.any():
        row = int(np.flatnonzero(off.to_numpy())[0]) + 2
        raise InputError(source, "lon/lat", f"row {row} is not a WGS84 position")
    name = frame["name"] if "name" in frame else frame["id"]
    out = pd.DataFrame(
        {"id": frame["id"], "name": name.fillna(frame["id"]), "lon": lon, "lat": lat}
    )
    if "source" in frame:
        out["source"] = frame["source"].fillna("")
    return out


_HUB_COLUMNS = ("id", "name", "kind", "lon", "lat")


def read_hubs(path: str | Path | None = None) -> pd.DataFrame:
    """Read a hubs/clusters table (default: the bundled East-to-West Computing table).

    Parameters
    ----------
    path
        A CSV with ``id``, ``name``, ``kind`` (``hub`` or ``cluster``), ``lon``, ``lat`` (WGS84);
        ``None`` for ``latcircle/data/east_west_hubs.csv``.

    Returns
    -------
    pandas.DataFrame
        The table, ids unique, at least one hub.

    Raises
    ------
    InputError
        On a missing column, a duplicate id, an unknown kind, coordinates off the Earth, or no hub.
    """
    if path is None:
        source: object = "latcircle/data/east_west_hubs.csv"
        text = resources.files("latcircle.data").joinpath("east_west_hubs.csv").read_text("utf-8")
        frame = pd.read_csv(io.StringIO(text), dtype={"id": str})
    else:
        source = Path(path)
        if source.is_dir():
            raise InputError(source, None, "a folder, not a file")
        try:
            frame = pd.read_csv(source, dtype={"id": str})
        except (
            OSError,
            UnicodeDecodeError,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
        ) as exc:
            raise InputError(source, None, f"cannot read: {exc}") from None
    missing = [c for c in _HUB_COLUMNS if c not in frame]
    if missing:
        raise InputError(source, ", ".join(missing), "missing column(s)")
    if frame["id"].duplicated().any():
        dup = frame.loc[frame["id"].duplicated(), "id"].iloc[0]
        raise InputError(source, "id", f"duplicate id {dup!r}")
    bad_kind = ~frame["kind"].isin(["hub", "cluster", "ground_node"])
    if bad_kind.any():
        raise InputError(
            source,
            "kind",
            f"{frame.loc[bad_kind, 'kind'].iloc[0]!r} is not hub, cluster or ground_node",
        )
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    off = ~(lon.between(-180, 180) & lat.between(-90, 90))
    if off.any():
        raise InputError(
            source, "lon/lat", f"row {int(np.flatnonzero(off)[0]) + 2} is not a WGS84 position"
        )
    if not (frame["kind"] == "hub").any():
        raise InputError(source, "kind", "no hub: at least one row must be kind=hub")
    return frame.assign(lon=lon, lat=lat)


def read_places(path: str | Path, *, name_field: str = "name") -> pd.DataFrame:
    """Read the places of a tiers run (towns of an export market, say) as points.

    Parameters
    ----------
    path
        A CSV with ``lon``/``lat`` (WGS84) or any OGR point file with a CRS.
    name_field
        The column naming each place.

    Returns
    -------
    pandas.DataFrame
        ``adcode`` (the row's id, ``id`` column or row number), ``name``, ``lon``, ``lat``,
        ``point`` (``as given``) and ``population`` when the file has it.

    Raises
    ------
    InputError
        On an unreadable file, a missing column, no point, or a position off the Earth.
    """
    import geopandas as gpd
    import pyogrio.errors

    source = Path(path)
    if not source.is_file():
        raise InputError(source, None, "no such file")
    if source.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(source)
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(source, None, f"cannot read: {exc}") from None
        if not {"lon", "lat"} <= set(frame.columns):
            raise InputError(source, "lon/lat", "missing column(s)")
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    else:
        try:
            gdf = gpd.read_file(source)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InputError(source, None, f"cannot read: {str(exc).splitlines()[0]}") from None
        if gdf.crs is None:
            raise InputError(source, "crs", "the file declares no CRS")
        gdf = gdf.to_crs(4326)
        if not (gdf.geom_type == "Point").all():
            raise InputError(source, "geometry", "places must be points")
        frame = pd.DataFrame(gdf.drop(columns="geometry"))
        lon, lat = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    if name_field not in frame:
        raise InputError(source, name_field, "missing column")
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise InputError(source, "lon/lat", f"place {row} is not a WGS84 position")
    ids = frame["id"].astype(str) if "id" in frame else pd.Series(range(1, len(frame) + 1))
    out = pd.DataFrame(
        {
            "adcode": ids.astype(str).str.zfill(4).to_numpy(),
            "name": frame[name_field].astype(str).to_numpy(),
            "lon": lon,
            "lat": lat,
            "point": "as given",
        }
    )
    if "population" in frame:
        out["population"] = pd.to_numeric(frame["population"], errors="coerce").fillna(0.0)
    return out
