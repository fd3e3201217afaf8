"""Read OpenStreetMap road networks as undirected road segments.

OSM roads stand in for telecom ducts: in Chinese cities the ducts (通信管道) are laid along
the municipal road network, so a road graph filtered to the classes that carry ducts is the
network proxy when no fibre routes are known. This module turns the three OSM inputs
latcircle accepts into one shape, a GeoDataFrame of undirected LineStrings in EPSG:4326 with
columns ``u``, ``v`` (OSM node ids), ``highway`` and ``geometry``:

- an ``.osm.pbf`` extract (read with pyrosm, the ``fetch`` extra);
- an ``.osm`` / ``.osm.xml`` (optionally ``.bz2``) file (read with osmnx);
- an osmnx graph (a loaded GraphML file, or a graph downloaded by :mod:`latcircle.sources.fetch`).

Fibre is bidirectional whatever a street's one-way rules, so every segment appears once:
the reverse copy osmnx keeps for two-way streets is dropped and each segment is oriented
with ``u <= v``.

Examples
--------
>>> from latcircle.inputs.osm import read_osm_file
>>> lines = read_osm_file(Path("city.osm.pbf"), highway=DUCT_HIGHWAYS)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
import xml.sax
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from latcircle.errors import InputError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DUCT_HIGHWAYS",
    "OSM_SUFFIXES",
    "graph_to_lines",
    "node_id",
    "overpass_highway_filter",
    "read_osm_file",
    "simplify",
]

#: Road classes (OSM ``highway`` values) that carry telecom ducts, from the largest down.
#:
#: Chinese municipal duct plans (城市通信管道规划) follow the municipal road hierarchy:
#: expressways (快速路, OSM ``motorway`` / ``trunk``), arterials (主干路, ``primary``),
#: secondary arterials (次干路, ``secondary``), branch roads (支路, ``tertiary``,
#: ``unclassified``) and residential streets, which carry the access ducts to the blocks.
#: The ``*_link`` ramps are kept so that the graph stays connected where classes meet.
#: Left out by default: ``service`` (driveways and parking aisles inside estates: private
#: building entry, and the last metres to a building are what ``max_drop_m`` covers),
#: ``track``, ``path``, ``footway``, ``cycleway``, ``pedestrian``, ``steps`` (no public
#: ducts) and ``construction`` / ``proposed`` (not built). Pass your own list to change it.
DUCT_HIGHWAYS: tuple[str, ...] = (
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
)

#: File name endings read by :func:`read_osm_file`.
OSM_SUFFIXES: tuple[str, ...] = (".osm.pbf", ".pbf", ".osm", ".osm.xml", ".xml", ".osm.bz2")

#: Rank of a highway value when a merged edge carries several: the larger road names it.
_RANK = {value: i for i, value in enumerate(DUCT_HIGHWAYS)}

_COLUMNS = ["u", "v", "highway", "geometry"]
_WGS84 = "EPSG:4326"


# --------------------------------------------------------------------------- public


def read_osm_file(path: Path, *, highway: Sequence[str] | None) -> gpd.GeoDataFrame:
    """Read the road network of an OSM file as undirected road segments.

    Parameters
    ----------
    path
        An ``.osm.pbf`` extract (needs pyrosm) or an ``.osm`` / ``.osm.xml`` file, optionally
        bz2-compressed (``.osm.bz2``).
    highway
        OSM ``highway`` values to keep (for instance :data:`DUCT_HIGHWAYS`); ``None`` keeps
        every way that has a ``highway`` tag.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``u``, ``v`` (OSM node ids, int64, ``u <= v``), ``highway`` (str) and
        ``geometry`` (LineString from ``u`` to ``v``), CRS EPSG:4326, each undirected segment
        once. Segments run between intersections and dead ends.

    Raises
    ------
    InputError
        If the file is missing, of an unknown kind, unreadable, or has no road left after
        filtering.
    """
    path = Path(path)
    kind = _file_kind(path)
    graph = _read_pbf(path, highway) if kind == "pbf" else _read_xml(path, highway)
    return graph_to_lines(graph, highway=highway, source=path)


def graph_to_lines(
    graph: nx.MultiGraph | nx.MultiDiGraph,
    /,
    *,
    highway: Sequence[str] | None = None,
    source: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Turn an osmnx-style graph into undirected road segments.

    Parameters
    ----------
    graph
        A graph whose nodes carry ``x`` / ``y`` and whose edges may carry ``highway`` and
        ``geometry`` (osmnx, pyrosm's networkx export, osmnx GraphML). Its CRS is
        ``graph.graph["crs"]`` (EPSG:4326 when absent).
    highway
        OSM ``highway`` values to keep; ``None`` keeps every edge. A simplified osmnx edge
        may carry a list of values: it is kept when any of them is allowed.
    source
        The file the graph came from, named in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_osm_file`. Where an edge has several highway values, ``highway`` is
        the largest road class among the allowed ones.

    Raises
    ------
    InputError
        If the graph has no edge, or none left after filtering.
    """
    where = source if source is not None else graph.graph.get("name", "network graph")
    frame = _edge_frame(graph, where)
    frame = _filter_highway(frame, highway, where)
    frame = _drop_reverse_duplicates(frame)
    frame = _orient(frame)
    crs = graph.graph.get("crs") or _WGS84
    out = gpd.GeoDataFrame(frame[_COLUMNS], geometry="geometry", crs=crs)
    if not out.crs.equals(_WGS84):
        out = out.to_crs(_WGS84)
    return out.reset_index(drop=True)


def overpass_highway_filter(highway: Sequence[str] | None) -> str | None:
    """Return the Overpass way filter that selects ``highway`` classes (``None``: all roads).

    Parameters
    ----------
    highway
        OSM ``highway`` values.

    Returns
    -------
    str or None
        An osmnx ``custom_filter`` such as ``'["highway"~"^(primary|secondary)$"]...'``, or
        ``None`` to use osmnx's ``"all"`` network type.
    """
    if highway is None:
        return None
    values = "|".join(sorted(set(highway)))
    # area=yes ways are squares and plazas drawn as polygons, not streets.
    return f'["highway"~"^({values})$"]["area"!~"yes"]'


def simplify(graph: nx.MultiDiGraph, /) -> nx.MultiDiGraph:
    """Merge chains of segments between intersections, keeping road classes apart.

    Parameters
    ----------
    graph
        An unsimplified osmnx-style graph (returned unchanged when already simplified).

    Returns
    -------
    networkx.MultiDiGraph
        The simplified graph. Rings without an intersection are kept (they still carry
        ducts), and an edge never mixes two ``highway`` classes.
    """
    import osmnx as ox

    if graph.graph.get("simplified"):
        return graph
    return ox.simplify_graph(graph, edge_attrs_differ=["highway"], remove_rings=False)


# --------------------------------------------------------------------------- readers


def _file_kind(path: Path) -> str:
    if not path.exists():
        raise InputError(path, None, "file not found")
    name = path.name.lower()
    if name.endswith(".pbf"):
        return "pbf"
    if name.endswith((".osm", ".osm.xml", ".xml", ".osm.bz2")):
        return "xml"
    raise InputError(path, None, f"not an OSM file (expected one of {', '.join(OSM_SUFFIXES)})")


def _read_pbf(path: Path, highway: Sequence[str] | None) -> nx.MultiDiGraph:
    try:
        import pyrosm
        from pyrosm.exceptions import PBFException
    except ImportError:
        msg = "reading .osm.pbf needs pyrosm: pip install 'latcircle[fetch]'"
        raise InputError(path, None, msg) from None
    # The filter is applied while reading, so the rest of the file is never built into
    # geometries; the "all" network keeps private roads too, because ducts run there as well.
    custom = {"highway": list(highway)} if highway is not None else None
    try:
        with warnings.catch_warnings():
            # pyrosm warns when nothing matches; the InputError below says it better.
            warnings.filterwarnings("ignore", message="Could not find any", category=UserWarning)
            reader = pyrosm.OSM(str(path), progress=False)
            graph = reader.get_graph(
                network_type="all",
                graph_type="networkx",
                retain_all=True,
                simplify=True,
                custom_filter=custom,
            )
    except (PBFException, OSError, ValueError, RuntimeError, EOFError) as exc:
        raise InputError(path, None, f"cannot read OSM PBF: {_first_line(exc)}") from None
    if graph is None or graph.number_of_edges() == 0:
        raise InputError(path, "highway", _no_roads(highway))
    return graph


def _read_xml(path: Path, highway: Sequence[str] | None) -> nx.MultiDiGraph:
    import osmnx as ox

    encoding = "utf-8"
    try:
        # Unsimplified first: osmnx builds every way of the file (buildings too), so the
        # non-road ways go before the chains are merged, or they would split road edges.
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True, encoding=encoding)
    # XML ParseError is a SyntaxError; osmnx's "no data" and bad values are ValueErrors.
    except (OSError, ValueError, SyntaxError, xml.sax.SAXException) as exc:
        raise InputError(path, None, f"cannot read OSM XML: {_first_line(exc)}") from None
    allowed = None if highway is None else set(highway)
    drop = [
        (u, v, k)
        for u, v, k, value in graph.edges(keys=True, data="highway")
        if not _allowed(value, allowed)
    ]
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n, degree in graph.degree() if degree == 0])
    if graph.number_of_edges() == 0:
        raise InputError(path, "highway", _no_roads(highway))
    return simplify(graph)


# --------------------------------------------------------------------------- steps


def _edge_frame(graph: nx.MultiGraph | nx.MultiDiGraph, where: object) -> pd.DataFrame:
    """Return one row per graph edge: u, v, raw highway value, geometry from u to v."""
    if graph.number_of_edges() == 0:
        raise InputError(where, None, "the network graph has no edges")
    us, vs, values, geoms = [], [], [], []
    for u, v, data in graph.edges(data=True):
        geom = data.get("geometry")
        if geom is None:
            a, b = graph.nodes[u], graph.nodes[v]
            geom = LineString([(float(a["x"]), float(a["y"])), (float(b["x"]), float(b["y"]))])
        us.append(u)
        vs.append(v)
        values.append(data.get("highway"))
        geoms.append(geom)
    return pd.DataFrame(
        {
            "u": _ids(us, vs)[0],
            "v": _ids(us, vs)[1],
            "highway": values,
            "geometry": np.asarray(geoms, dtype=object),
        }
    )


def node_id(value: Any) -> object:
    """Return a graph node's id as latcircle keys it: an integer when it is one, else text.

    Parameters
    ----------
    value
        The node as the graph names it (osmnx: an integer; other GraphML: often text).
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return str(value)


def _ids(us: list[Any], vs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Node ids as integers when every one is (OSM), otherwise all as text (never cast)."""
    keys = [node_id(i) for i in [*us, *vs]]
    if all(isinstance(k, int) for k in keys):
        out = np.asarray(keys, dtype=np.int64)
    else:
        out = np.asarray([str(i) for i in [*us, *vs]], dtype=object)
    return out[: len(us)], out[len(us) :]


def _filter_highway(
    frame: pd.DataFrame, highway: Sequence[str] | None, where: object
) -> pd.DataFrame:
    allowed = None if highway is None else set(highway)
    keep = np.fromiter((_allowed(h, allowed) for h in frame["highway"]), bool, len(frame))
    out = frame[keep].copy()
    if out.empty:
        raise InputError(where, "highway", _no_roads(highway))
    out["highway"] = [_one_value(h, allowed) for h in out["highway"]]
    return out


def _allowed(value: object, allowed: set[str] | None) -> bool:
    values = _values(value)
    if allowed is None:
        # No filter still means roads: an edge without a highway tag is not a street.
        return bool(values)
    return any(v in allowed for v in values)


def _values(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        # GraphML round trips store osmnx lists as their repr: "['primary', 'secondary']".
        if value.startswith("[") and value.endswith("]"):
            return [v.strip(" '\"") for v in value[1:-1].split(",") if v.strip(" '\"")]
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def _one_value(value: object, allowed: set[str] | None) -> str:
    values = [v for v in _values(value) if allowed is None or v in allowed]
    if not values:
        return ""
    return min(values, key=lambda v: (_RANK.get(v, len(_RANK)), v))


def _drop_reverse_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep one edge of each pair that is the same segment in both directions.

    Two edges are the same segment when they join the same two nodes along the same line
    (read in either direction). Parallel edges with different geometry are different streets
    and are all kept.
    """
    geoms = frame["geometry"].to_numpy()
    forward = shapely.to_wkb(geoms)
    backward = shapely.to_wkb(shapely.reverse(geoms))
    shape_key = np.where(forward <= backward, forward, backward)
    key = pd.DataFrame(
        {
            "a": np.minimum(frame["u"].to_numpy(), frame["v"].to_numpy()),
            "b": np.maximum(frame["u"].to_numpy(), frame["v"].to_numpy()),
            "shape": shape_key,
        },
        index=frame.index,
    )
    return frame[~key.duplicated(keep="first")]


def _orient(frame: pd.DataFrame) -> pd.DataFrame:
    """Orient each segment so that ``u <= v``, reversing its geometry when flipped."""
    out = frame.copy()
    flip = (out["u"] > out["v"]).to_numpy()
    if flip.any():
        u = out["u"].to_numpy().copy()
        v = out["v"].to_numpy().copy()
        u[flip], v[flip] = v[flip], u[flip]
        out["u"], out["v"] = u, v
        geoms = out["geometry"].to_numpy().copy()
        geoms[flip] = shapely.reverse(geoms[flip])
        out["geometry"] = geoms
    return out


def _no_roads(highway: Sequence[str] | None) -> str:
    if highway is None:
        return "no road (way with a highway tag) in the network"
    return f"no road of the classes {sorted(set(highway))}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
