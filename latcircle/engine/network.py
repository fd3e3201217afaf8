"""The network as arrays, and exact location of points on it.

Edges are undirected (fibre is bidirectional whatever a street's one-way rules). Nodes come
from the ``u``/``v`` ids when the lines carry them (so that a bridge crossing a road without
a shared node stays unconnected), otherwise from exactly coinciding line endpoints. Ids may
be integers, strings or floats; a line missing an id takes its nodes from its endpoints
(exactly coinciding with a node of the ids, or with other such lines' endpoints).

**Every line is an edge.** Self-loops and the longer of parallel lines never shorten a path,
so the shortest-path graph (:func:`latcircle.engine.latency.arc_matrix`) leaves them out,
but they are real roads or cables: each stays locatable, with its own exact along-edge
latency. ``snap_m`` (off by default) joins line ends closer than it by a straight link,
each one counted.

:class:`Locator` finds, for any point, the nearest point of the network ``q_p`` by
perpendicular projection onto the nearest edge: exactly, not approximately. Edges are cut
into straight pieces of at most ``piece_m``; a KD-tree over piece midpoints proposes ``k``
candidates, the exact point-to-segment distance picks the best, and a point whose answer is
not provably the nearest (a non-candidate piece could be closer) asks again for the next
candidates, twice as many each time, until it is. Points that provably have no piece within
reach (a coarse raster of lower bounds on the distance to the nearest piece midpoint) skip
the KD-tree altogether. Neither ``k`` nor the number of threads changes any answer, only the
speed (of pieces at the same distance the lowest index wins, whichever were tested). A point
equally near several edges (within ``TIE_M``) also gets every other such edge as a tie, so
that its latency is the minimum over them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from latcircle.errors import InputError
from latcircle.system import usable_cores

__all__ = ["Locator", "Network", "PointLocation", "build_network"]

log = logging.getLogger(__name__)

#: Points per locate chunk: bounds memory (k candidates per point).
CHUNK_POINTS = 500_000
#: Slices of the points per thread, so that threads stay evenly loaded.
SLICES_PER_THREAD = 8
#: Below this many points per thread, threads cost more than they save.
MIN_POINTS_PER_THREAD = 20_000

#: Longest straight piece the locator indexes (metres), candidates per point in its first
#: KD-tree query, and the factor by which it asks for more when the answer is not proven.
PIECE_M = 40.0
FIRST_K = 8
ESCALATE = 2
#: Where the locator's "no piece" sentinel lies (metres): beyond any search bound, and its
#: squared distance still finite.
SENTINEL_M = 1e150
#: Slack (metres) on the exactness proof against rounding in the distances compared.
PROOF_SLACK_M = 1e-6
#: Two edges within this distance (metres) of each other from a point are equally near: a
#: tie, evaluated on both. Above rounding of UTM coordinates (~1e-10 m), far below anything
#: a map can tell apart, and below ``PROOF_SLACK_M`` so that no unseen piece can tie.
TIE_M = 1e-9
#: cKDTree options: sliding-midpoint splits and exact node boxes query ~20 % faster here
#: and build twice as fast as the defaults.
TREE_OPTIONS = {"balanced_tree": False, "compact_nodes": False}
#: Segments cut into pieces at a time while a locator is built (bounds its temporaries).
BUILD_BLOCK = 1 << 18

#: Side (metres) of the coarse raster that rules points out of the KD-tree query, and the
#: most cells it may have (the side grows for very large networks).
NEAR_CELL_M = 200.0
NEAR_MAX_CELLS = 1_000_000
#: Slack (metres) on that ruling-out, far above any rounding in the bound.
NEAR_SLACK_M = 1.0
#: Rows named in an error message before "...".
ROWS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Network:
    """An undirected network as arrays, in a projected CRS (metres).

    Every line read is an edge, self-loops and parallel lines included (the shortest-path
    graph leaves out what cannot shorten a path; see
    :func:`latcircle.engine.latency.arc_matrix`); links added by ``snap_m`` come last.

    Attributes
    ----------
    x, y
        Node coordinates.
    u, v
        Edge endpoints (node indices); the geometry runs from ``u`` to ``v``.
    length
        Edge lengths in metres (along the geometry).
    geometry
        Edge LineStrings.
    node_device_us
        Device latency of each node (``D(n)``), 0 where the network carries none.
    component
        Connected-component label of each node.
    stats
        Counts from the build: input lines, empty lines, self-loops, parallel edges
        collapsed, snaps, components, ... reported in ``run.json``.
    edge_online_year
        Year each edge comes online (NaN: always there); ``None`` when no edge carries one.
    """

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    geometry: np.ndarray
    node_device_us: np.ndarray
    component: np.ndarray
    stats: dict[str, float] = field(default_factory=dict)
    edge_online_year: np.ndarray | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.x)

    @property
    def n_edges(self) -> int:
        """Number of edges (every line, self-loops and parallels included)."""
        return len(self.u)

    def subset(self, keep: np.ndarray) -> Network:
        """Return the network with only the edges in ``keep`` (same nodes, same indices).

        Parameters
        ----------
        keep
            Boolean mask over edges.
        """
        idx = np.flatnonzero(keep)
        years = None if self.edge_online_year is None else self.edge_online_year[idx]
        return Network(
            x=self.x,
            y=self.y,
            u=self.u[idx],
            v=self.v[idx],
            length=self.length[idx],
            geometry=self.geometry[idx],
            node_device_us=self.node_device_us,
            component=self.component,
            stats={**self.stats, "edges": float(len(idx))},
            edge_online_year=years,
        )

    def component_sizes(self) -> np.ndarray:
        """Return the number of nodes in each component, largest first."""
        return np.sort(np.bincount(self.component))[::-1]


def build_network(
    lines: gpd.GeoDataFrame,
    *,
    node_latency_us: Mapping[object, float] | None = None,
    source: str = "network",
    snap_m: float = 0.0,
    read_stats: Mapping[str, float] | None = None,
) -> Network:
    """Build an undirected network from line features.

    Parameters
    ----------
    lines
        LineStrings in a projected CRS, optionally with ``u`` and ``v`` node ids (integers,
        strings or floats; missing ids fall back to coinciding endpoints) and
        ``online_year``. Null and empty geometries are counted and left out.
    node_latency_us
        Per-node device latency keyed by ``u``/``v`` id (only with ids).
    source
        Named in error messages.
    snap_m
        Join line ends closer than this (metres) by a straight link; 0 joins none.
    read_stats
        Counts from reading (e.g. ``input_lines``: features in the file, ``empty_lines``,
        ``planned_lines``), merged into the network's stats (``empty_lines`` adds to the
        ones found here).

    Returns
    -------
    Network

    Raises
    ------
    InputError
        When no line remains, or node ids cannot be used (a missing id whose line end
        coincides with several nodes, an infinite id).
    """
    lines, n_empty = _drop_empty(lines)
    if len(lines) == 0:
        raise InputError(source, None, "the network has no edges")
    geoms = lines.geometry.to_numpy()
    stats: dict[str, float] = {}
    if "u" in lines.columns and "v" in lines.columns:
        x, y, u, v, ids, id_stats = _nodes_from_ids(lines, geoms, source)
        stats.update(id_stats)
    else:
        x, y, u, v = _nodes_from_endpoints(geoms)
        ids = None
    length = shapely.length(geoms)
    years = None
    if "online_year" in lines.columns:
        years = lines["online_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    u, v, geoms, length, years, snap_stats = _snap(x, y, u, v, geoms, length, years, snap_m)
    device = _node_device(len(x), ids, node_latency_us)
    n_comp, comp = _components(len(x), u, v)
    read = dict(read_stats or {})
    stats.update(read)
    stats.update(snap_stats)
    stats.update(_edge_stats(u, v, length, years))
    stats.update(
        input_lines=float(read.get("input_lines", len(lines) + n_empty)),
        empty_lines=float(n_empty + read.get("empty_lines", 0.0)),
        nodes=float(len(x)),
        edges=float(len(u)),
        components=float(n_comp),
        largest_component_share=float(np.bincount(comp).max() / len(x)),
        length_km=float(length.sum() / 1000.0),
    )
    return Network(
        x=x,
        y=y,
        u=u,
        v=v,
        length=length,
        geometry=geoms,
        node_device_us=device,
        component=comp,
        stats=stats,
        edge_online_year=years if years is not None and np.isfinite(years).any() else None,
    )


def _drop_empty(lines: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Leave out null and empty geometries; return what remains and how many were left."""
    geoms = lines.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if not empty.any():
        return lines, 0
    return lines[~empty], int(empty.sum())


def _node_device(
    n: int, ids: np.ndarray | None, node_latency_us: Mapping[object, float] | None
) -> np.ndarray:
    device = np.zeros(n)
    if node_latency_us and ids is not None:
        pos = {_id_key(k): i for i, k in enumerate(ids) if k is not None}  # None: no id
        for key, value in node_latency_us.items():
            i = pos.get(_id_key(key))
            if i is not None:
                device[i] = value
    return device


def _id_key(value: object) -> object:
    """One key for ids that are equal as numbers (``7``, ``7.0``, ``np.int64(7)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _line_ends(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the first and the last vertex of every line, as ``(n, 2)`` arrays.

    The same as ``get_coordinates(get_point(geoms, 0))`` and ``(geoms, -1)``, in one pass
    over the coordinates instead of two point geometries per line (a tenth of the time).
    Anything but non-empty LineStrings takes shapely's path, unchanged.
    """
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(owner, minlength=len(geoms))
    if (counts == 0).any() or (shapely.get_type_id(geoms) != 1).any():
        return (
            shapely.get_coordinates(shapely.get_point(geoms, 0)),
            shapely.get_coordinates(shapely.get_point(geoms, -1)),
        )
    last = np.cumsum(counts) - 1
    return coords[last - counts + 1], coords[last]


def _id_codes(lines: gpd.GeoDataFrame, source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``u`` and ``v`` as codes into the distinct ids (-1 where missing), and the ids.

    Ids are labels, never cast: integers, strings and floats all work, and ``7`` and ``7.0``
    are one id. Codes follow the sorted ids where the ids sort (the usual integers), so the
    node order is the same as it always was; mixed types keep their order of appearance.
    """
    n = len(lines)
    both = pd.concat([lines["u"], lines["v"]], ignore_index=True)
    if both.dtype == object:
        both = both.map(_id_key)
    numeric = pd.api.types.is_float_dtype(both.dtype)
    if numeric and np.isinf(both.to_numpy(dtype=float, na_value=np.nan)).any():
        bad = np.flatnonzero(np.isinf(both.to_numpy(dtype=float, na_value=np.nan)))
        column = "u" if bad[0] < n else "v"
        raise InputError(
            source, column, f"infinite node id in row(s) {_rows(bad % n, lines.index)}"
        )
    try:
        codes, uniques = pd.factorize(both, sort=True)
    except TypeError:  # ids of several types do not sort: first appearance instead
        codes, uniques = pd.factorize(both, sort=False)
    ids = np.asarray(uniques, dtype=object)
    return codes[:n].astype(np.int64), codes[n:].astype(np.int64), ids


def _rows(positions: np.ndarray, index: pd.Index) -> str:
    """Name rows by their index labels, the first few."""
    labels = [str(index[int(p)]) for p in np.unique(positions)[:ROWS_SHOWN]]
    more = ", ..." if len(np.unique(positions)) > ROWS_SHOWN else ""
    return ", ".join(labels) + more


def _nodes_from_ids(
    lines: gpd.GeoDataFrame, geoms: np.ndarray, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    start, end = _line_ends(geoms)
    u, v, ids = _id_codes(lines, source)
    missing = (u < 0) | (v < 0)
    has = np.flatnonzero(~missing)
    xy = _id_positions(u[has], v[has], start[has], end[has], n=len(ids))
    # Nodes named only on lines that lack the other id have no position yet: they join the
    # coordinate nodes below (their lines take both ends from coordinates).
    flips = _orient(u, v, has, start, end, xy)
    n_fallback = int(missing.sum())
    if n_fallback:
        xy, u, v, ids = _fallback_to_endpoints(lines, source, missing, start, end, xy, u, v, ids)
    stats = {"lines_flipped": float(flips), "ids_from_endpoints": float(n_fallback)}
    return xy[:, 0].copy(), xy[:, 1].copy(), u, v, ids, stats


def _orient(
    u: np.ndarray,
    v: np.ndarray,
    has: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    xy: np.ndarray,
) -> int:
    """Swap ``u``/``v`` (in place) of lines drawn from ``v`` to ``u``; return how many.

    Decided exactly, with no metric tolerance: a line is reversed when its ends lie nearer
    its nodes the other way round (so a reversed line of a few centimetres is flipped too).
    """
    a, b = u[has], v[has]
    as_drawn = np.hypot(*(start[has] - xy[a]).T) + np.hypot(*(end[has] - xy[b]).T)
    swapped = np.hypot(*(start[has] - xy[b]).T) + np.hypot(*(end[has] - xy[a]).T)
    flip = has[swapped < as_drawn]
    u[flip], v[flip] = v[flip], u[flip].copy()
    return len(flip)


def _fallback_to_endpoints(
    lines: gpd.GeoDataFrame,
    source: str,
    missing: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    xy: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Give lines missing an id both their nodes from their endpoints, exactly.

    An end exactly on a node of the ids is that node; other ends are new nodes, one per
    distinct coordinate. An end exactly on two or more nodes of the ids cannot be told
    apart: an :class:`InputError` naming the rows.
    """
    rows = np.flatnonzero(missing)
    ends = np.concatenate([start[rows], end[rows]])
    placed = np.flatnonzero(np.isfinite(xy[:, 0]))
    if len(placed) == 0:  # no line has both ids: every node from the endpoints
        xy_all, inverse = np.unique(ends, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        u[rows], v[rows] = inverse[: len(rows)], inverse[len(rows) :]
        return xy_all, u, v, np.full(len(xy_all), None, dtype=object)
    key_nodes = pd.MultiIndex.from_arrays([xy[placed, 0], xy[placed, 1]])
    dup = key_nodes.duplicated(keep=False)
    key_ends = pd.MultiIndex.from_arrays([ends[:, 0], ends[:, 1]])
    ambiguous = key_ends.isin(key_nodes[dup])
    if ambiguous.any():
        column = "u" if (u[rows] < 0)[np.flatnonzero(ambiguous) % len(rows)][0] else "v"
        raise InputError(
            source,
            column,
            "missing node id where the line end lies on several nodes (give the id, or drop "
            "the u/v columns to join every line by its endpoints), row(s) "
            + _rows(rows[np.flatnonzero(ambiguous) % len(rows)], lines.index),
        )
    unique_nodes = key_nodes[~dup]
    at = unique_nodes.get_indexer(key_ends)
    node = np.where(at >= 0, placed[~dup][np.maximum(at, 0)], -1)
    new = np.flatnonzero(node < 0)
    extra_xy, inverse = np.unique(ends[new], axis=0, return_inverse=True)
    # Ids named only on lines missing the other id are left without a position: give them
    # none of their own (they are not nodes of any line) by dropping them below.
    node[new] = len(xy) + inverse.ravel()
    xy = np.concatenate([xy, extra_xy])
    u[rows], v[rows] = node[: len(rows)], node[len(rows) :]
    ids = np.concatenate([ids, np.full(len(extra_xy), None, dtype=object)])
    return _drop_unused(xy, u, v, ids)


def _drop_unused(
    xy: np.ndarray, u: np.ndarray, v: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop nodes no line uses (an id named only beside a missing one), renumbering."""
    used = np.zeros(len(xy), dtype=bool)
    used[u] = True
    used[v] = True
    if used.all():
        return xy, u, v, ids
    new_index = np.cumsum(used) - 1
    return xy[used], new_index[u], new_index[v], ids[used]


def _id_positions(
    u: np.ndarray, v: np.ndarray, start: np.ndarray, end: np.ndarray, *, n: int
) -> np.ndarray:
    """Place each node id where its lines meet, whichever way each line is drawn.

    Each line offers both its ends to both its nodes; a node takes the end offered most
    often (a node on several lines is where they all end), ties going to the end the line's
    orientation claims (start for ``u``, end for ``v``). A node the vote leaves tied (met on
    one line only, or on parallel lines to one neighbour) then takes its lines' end away from
    its neighbour, when the vote placed the neighbour. Nodes on no line get NaN.

    Taking the first ``u``/``v`` occurrence instead misplaces both nodes of a reversed line
    whenever that line is the first to name them. That is kept as the fast path for the
    usual input, where every line agrees with it exactly.
    """
    m = len(u)
    xy = np.full((n, 2), np.nan)
    xy[v[::-1]] = end[::-1]  # later writes win: writing in reverse keeps the first occurrence
    xy[u[::-1]] = start[::-1]
    if (start == xy[u]).all() and (end == xy[v]).all():
        return xy
    node = np.concatenate([u, u, v, v])
    pos = np.concatenate([start, end, start, end])
    claimed = np.r_[np.ones(m), np.zeros(m), np.zeros(m), np.ones(m)]
    kx, ky = pos[:, 0], pos[:, 1]  # exactly equal positions only: no tolerance
    # Group equal (node, position) offers; lexsort is stable, so a group's head is its first.
    by = np.lexsort((ky, kx, node))
    head = np.r_[True, (np.diff(node[by]) != 0) | (np.diff(kx[by]) != 0) | (np.diff(ky[by]) != 0)]
    group = np.cumsum(head) - 1
    first = by[head]
    count = np.bincount(group)
    claims = np.bincount(group, weights=claimed[by])
    group_node = node[first]
    # Per node: most offered, then most claimed, then first seen.
    order = np.lexsort((first, -claims, -count, group_node))
    is_top = np.r_[True, group_node[order[1:]] != group_node[order[:-1]]]
    top = order[is_top]
    xy = np.full((n, 2), np.nan)
    xy[group_node[top]] = pos[first[top]]
    # Placed by the vote: offered strictly more often than any other position.
    after = np.flatnonzero(is_top) + 1
    has_runner = ~np.r_[is_top, True][after]
    runner = np.where(has_runner, count[order[np.minimum(after, len(order) - 1)]], 0)
    placed = np.zeros(n, dtype=bool)
    placed[group_node[top]] = count[top] > runner
    for mine, other in ((u, v), (v, u)):
        lone = ~placed[mine] & placed[other]
        start_near_other = np.hypot(*(start - xy[other]).T) <= np.hypot(*(end - xy[other]).T)
        far_end = np.where(start_near_other[:, None], end, start)
        xy[mine[lone]] = far_end[lone]
    return xy


def _nodes_from_endpoints(geoms: np.ndarray) -> tuple[np.ndarray, ...]:
    """Nodes at exactly coinciding line ends (no tolerance: ``snap_m`` joins near ones)."""
    start, end = _line_ends(geoms)
    pts = np.concatenate([start, end])
    xy, inverse = np.unique(pts, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n = len(geoms)
    return xy[:, 0].copy(), xy[:, 1].copy(), inverse[:n], inverse[n:]


def _snap(
    x: np.ndarray,
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    geoms: np.ndarray,
    length: np.ndarray,
    years: np.ndarray | None,
    snap_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, dict[str, float]]:
    """Join distinct nodes closer than ``snap_m`` by straight links, appended as edges.

    A link is added for every such pair not already joined by a line. A link, not a merge:
    chains of near ends never pull far ends together, every line keeps its geometry, and the
    gap is paid for along the link.
    """
    if snap_m <= 0:
        return u, v, geoms, length, years, {}
    xy = np.column_stack([x, y])
    pairs = cKDTree(xy).query_pairs(snap_m, output_type="ndarray")
    a, b = pairs[:, 0], pairs[:, 1]
    gap = np.hypot(x[a] - x[b], y[a] - y[b])
    near = gap < snap_m  # strictly closer than the tolerance
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    joined = pd.MultiIndex.from_arrays([lo, hi])
    linked = pd.MultiIndex.from_arrays([a, b]).isin(joined)
    keep = near & ~linked
    a, b, gap = a[keep], b[keep], gap[keep]
    order = np.lexsort((b, a))
    a, b, gap = a[order], b[order], gap[order]
    links = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1)) if len(a) else np.empty(0)
    stats = {
        "snap_m": float(snap_m),
        "snaps": float(len(a)),
        "snap_gap_max_m": float(gap.max()) if len(a) else 0.0,
        "snap_gap_total_m": float(gap.sum()),
    }
    if years is not None:
        years = np.concatenate([years, np.full(len(a), np.nan)])
    return (
        np.concatenate([u, a]).astype(np.int64),
        np.concatenate([v, b]).astype(np.int64),
        np.concatenate([geoms, np.asarray(links, dtype=object)]),
        np.concatenate([length, gap]),
        years,
        stats,
    )


def _edge_stats(
    u: np.ndarray, v: np.ndarray, length: np.ndarray, years: np.ndarray | None
) -> dict[str, float]:
    """Count self-loops and the parallel lines the shortest-path graph leaves out.

    Parallel lines of different online years each matter in some year: counted per year.
    """
    loops = u == v
    lo, hi = np.minimum(u, v)[~loops], np.maximum(u, v)[~loops]
    year_key = np.zeros(len(lo)) if years is None else np.nan_to_num(years[~loops], nan=-1.0)
    distinct = len(pd.MultiIndex.from_arrays([lo, hi, year_key]).unique()) if len(lo) else 0
    return {
        "self_loops": float(loops.sum()),
        "parallel_edges_collapsed": float(len(lo) - distinct),
        "zero_length_edges": float(((length == 0) & ~loops).sum()),
    }


def _components(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    adj = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    n_comp, labels = connected_components(adj, directed=False)
    # Relabel so that component 0 is the largest (stable, deterministic).
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.lexsort((np.arange(len(sizes)), -sizes))] = np.arange(len(sizes))
    return int(n_comp), rank[labels].astype(np.int32)


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True, slots=True)
class PointLocation:
    """Where points meet the network.

    Attributes
    ----------
    edge
        Index of the nearest edge, -1 where the point is beyond ``max_drop_m``.
    t
        Distance along the edge from its ``u`` end to the projection ``q_p`` (metres).
    drop
        Distance from the point to ``q_p`` (metres); ``inf`` beyond ``max_drop_m``.
    max_drop_m
        The largest drop searched.
    tie_point, tie_edge, tie_t
        Ties: further edges as near (within ``TIE_M``) as ``edge`` to point ``tie_point``,
        with the projection's distance along each; one row per further edge, sorted by
        point then edge. A point's latency is the minimum over its edge and its ties.
    """

    edge: np.ndarray
    t: np.ndarray
    drop: np.ndarray
    max_drop_m: float
    tie_point: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tie_edge: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tie_t: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def has_access(self) -> np.ndarray:
        """Whether each point is within ``max_drop_m`` of the network."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, rows: np.ndarray) -> PointLocation:
        """Return the locations of the points ``rows`` (sorted indices), ties included.

        Parameters
        ----------
        rows
            Increasing point indices.
        """
        keep = np.isin(self.tie_point, rows)
        return PointLocation(
            edge=self.edge[rows],
            t=self.t[rows],
            drop=self.drop[rows],
            max_drop_m=self.max_drop_m,
            tie_point=np.searchsorted(rows, self.tie_point[keep]),
            tie_edge=self.tie_edge[keep],
            tie_t=self.tie_t[keep],
        )


@dataclass(frozen=True)
class _Segments:
    """The straight segments of a set of lines: start, direction, length, offset, owner.

    ``offset`` is the distance along its line from the line's start to the segment's start.
    """

    ax: np.ndarray
    ay: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    edge: np.ndarray


def _segments(geometry: np.ndarray) -> _Segments:
    """Split lines into their straight segments (each line's vertices in order)."""
    coords, owner = shapely.get_coordinates(geometry, return_index=True)
    start = np.flatnonzero(owner[1:] == owner[:-1])  # a segment from each such vertex
    edge = owner[start]
    del owner
    ax, ay = coords[start, 0], coords[start, 1]
    start += 1
    dx, dy = coords[start, 0] - ax, coords[start, 1] - ay
    del coords, start
    length = np.hypot(dx, dy)
    # Offset of each segment's start along its edge: cumulative length within the edge.
    cum = np.cumsum(length)
    start_of_edge = np.r_[0, np.flatnonzero(edge[1:] != edge[:-1]) + 1]
    base = np.repeat(
        cum[start_of_edge] - length[start_of_edge], np.diff(np.r_[start_of_edge, len(edge)])
    )
    cum -= length
    cum -= base
    return _Segments(ax=ax, ay=ay, dx=dx, dy=dy, length=length, offset=cum, edge=edge)


class Locator:
    """Exact nearest-edge projection for many points.

    Parameters
    ----------
    network
        The network to locate on.
    piece_m
        Longest straight piece indexed. Smaller pieces tighten the proof of exactness (fewer
        points ask again) but make a larger tree.
    k
        Candidates tested per point before the exactness check.

    Notes
    -----
    The reported edge is canonical: of pieces at the same computed distance the one with the
    lowest index (the lowest edge, then the nearest its ``u`` end) wins, so the answer is the
    same whatever ``k`` or the number of threads. Every other edge within ``TIE_M`` of as
    near is reported too (``PointLocation.tie_*``), so that evaluation can take the minimum
    latency over them rather than depend on line order.
    """

    def __init__(self, network: Network, *, piece_m: float = PIECE_M, k: int = FIRST_K) -> None:
        seg = _segments(network.geometry)
        n_cut = np.maximum(1, np.ceil(seg.length / piece_m)).astype(np.int64)
        first = np.cumsum(n_cut) - n_cut  # each segment's first piece
        n = int(n_cut.sum())
        # Final arrays allocated once and filled block by block: the vectorised cut of all
        # segments at once held ~20 piece-sized temporaries (1.4 GB at 1 M nodes). Each
        # value is the same elementwise expression as before, so the pieces are the same bits.
        # One extra slot: the sentinel piece (index n, what the tree returns for "no
        # neighbour"), farther than any bound yet finite so that its arithmetic stays quiet.
        self._ax, self._ay = np.empty(n + 1), np.empty(n + 1)
        self._dx, self._dy = np.empty(n + 1), np.empty(n + 1)
        self._off = np.empty(n)
        self._edge_s = np.empty(n + 1, dtype=seg.edge.dtype)  # with the sentinel's "no edge"
        mid = np.empty((n, 2))
        longest = 0.0
        for lo in range(0, len(n_cut), BUILD_BLOCK):
            block = slice(lo, lo + BUILD_BLOCK)
            longest = max(longest, self._cut(seg, block, n_cut[block], int(first[lo]), mid))
        self._ax[n], self._ay[n], self._dx[n], self._dy[n] = SENTINEL_M, SENTINEL_M, 0.0, 0.0
        self._edge_s[n] = -1
        self._edge = self._edge_s[:n]
        self._half = longest / 2
        del seg, n_cut, first
        self._tree = cKDTree(mid, **TREE_OPTIONS)  # holds ``mid`` itself: no copy
        self._k = min(k, n)
        self._near = _NearBound(mid)
        self.network = network

    def _cut(
        self, seg: _Segments, block: slice, n_cut: np.ndarray, at: int, mid: np.ndarray
    ) -> float:
        """Cut the segments ``block`` into pieces, written from piece ``at``; return the longest.

        A segment is cut into ``n_cut`` equal pieces: piece ``j`` runs from fraction ``j/n``
        to ``(j+1)/n`` of it.
        """
        rep = np.repeat(np.arange(len(n_cut)), n_cut)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(n_cut) - n_cut, n_cut)
        cuts = n_cut[rep]
        f0 = j / cuts
        f1 = (j + 1) / cuts
        del j, cuts
        pieces = slice(at, at + len(rep))
        rep += block.start  # segment index
        # Piece ends a + d·f, one coordinate at a time (1-D gathers are several times faster).
        ax, sx = seg.ax[rep], seg.dx[rep]
        x0, x1 = ax + sx * f0, ax + sx * f1
        ay, sy = seg.ay[rep], seg.dy[rep]
        y0, y1 = ay + sy * f0, ay + sy * f1
        del ax, sx, ay, sy
        self._ax[pieces], self._ay[pieces] = x0, y0
        dx, dy = x1 - x0, y1 - y0
        self._dx[pieces], self._dy[pieces] = dx, dy
        mid[pieces, 0] = (x0 + x1) / 2
        mid[pieces, 1] = (y0 + y1) / 2
        self._off[pieces] = seg.offset[rep] + seg.length[rep] * f0
        self._edge_s[pieces] = seg.edge[rep]
        return float(np.hypot(dx, dy).max()) if len(dx) else 0.0

    def _piece_len(self, piece: np.ndarray) -> np.ndarray:
        """Length of the pieces given by index (from their direction: no per-piece array)."""
        return np.hypot(self._dx[piece], self._dy[piece])

    @property
    def n_pieces(self) -> int:
        """Number of straight pieces indexed."""
        return len(self._edge)

    def locate(
        self, x: np.ndarray, y: np.ndarray, *, max_drop_m: float, workers: int = -1
    ) -> PointLocation:
        """Project points onto their nearest edge.

        Parameters
        ----------
        x, y
            Point coordinates in the network's CRS.
        max_drop_m
            Points farther than this from every edge get ``edge = -1``.
        workers
            Threads sharing the points (as scipy's ``workers``: -1 for every usable core).
            Each point's answer depends on that point alone, so the result is the same
            whatever the number.

        Returns
        -------
        PointLocation
        """
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        n = len(x)
        edge = np.full(n, -1, dtype=self._edge.dtype)
        t = np.zeros(n)
        drop = np.full(n, np.inf)
        found: list[tuple[np.ndarray, ...]] = []  # tie candidates, one tuple per part
        n_threads, parts = self._parts(n, workers)

        def work(rows: slice) -> None:
            found.append(self._locate_part(x, y, rows, max_drop_m, edge, t, drop))

        if n_threads == 1:
            for rows in parts:
                work(rows)
        else:
            # The ruling-out, the KD-tree queries and the numpy arithmetic all release the GIL
            # and each part writes its own rows, so threads use every core for the whole step
            # (not only the tree query, as scipy's ``workers`` alone would).
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(work, parts))
        tie_point, tie_edge, tie_t = self._ties(found, edge, drop)
        return PointLocation(
            edge=edge,
            t=t,
            drop=drop,
            max_drop_m=max_drop_m,
            tie_point=tie_point,
            tie_edge=tie_edge,
            tie_t=tie_t,
        )

    def _ties(
        self, found: list[tuple[np.ndarray, ...]], edge: np.ndarray, drop: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every further edge within ``TIE_M`` of as near as each point's answer.

        ``found`` holds (point, piece, squared distance, fraction) of every piece of another
        edge than the best of its round that was within ``TIE_M`` of that best. The best only
        gets nearer, so every piece within ``TIE_M`` of the final answer is among them (a
        piece of the then-best edge is covered by that edge's best piece, recorded when it
        was displaced); what is no longer that near, or on the answer's edge, is dropped.
        One row per (point, edge): its nearest piece, of equally near the lowest index.
        """
        if found:
            point, piece, d2, f = (np.concatenate(c) for c in zip(*found, strict=True))
        else:
            point, piece, d2, f = (
                np.zeros(0, np.int64),
                np.zeros(0, np.int64),
                np.zeros(0),
                np.zeros(0),
            )
        e = self._edge_s[piece]
        keep = (edge[point] >= 0) & (e != edge[point]) & (np.sqrt(d2) <= drop[point] + TIE_M)
        point, piece, d2, f, e = point[keep], piece[keep], d2[keep], f[keep], e[keep]
        order = np.lexsort((piece, d2, e, point))
        point, piece, e, f = point[order], piece[order], e[order], f[order]
        first = np.r_[True, (point[1:] != point[:-1]) | (e[1:] != e[:-1])][: len(point)]
        point, piece, e, f = point[first], piece[first], e[first], f[first]
        t = np.minimum(self._off[piece] + f * self._piece_len(piece), self.network.length[e])
        return point.astype(np.int64), e.astype(np.int64), t

    @staticmethod
    def _parts(n: int, workers: int) -> tuple[int, list[slice]]:
        """Return the threads to use and the slices of ``n`` points they share.

        Several slices per thread, taken in turn as threads free up: the points needing work
        (those near the network) gather in parts of a metro, so equal halves would leave one
        thread idle. A slice never exceeds ``CHUNK_POINTS`` (memory).
        """
        n_threads = usable_cores() if workers < 0 else max(workers, 1)
        n_threads = max(1, min(n_threads, n // MIN_POINTS_PER_THREAD))
        per_thread = 1 if n_threads == 1 else SLICES_PER_THREAD
        size = max(1, min(CHUNK_POINTS, -(-n // (n_threads * per_thread))))
        return n_threads, [slice(lo, min(lo + size, n)) for lo in range(0, n, size)]

    def _locate_part(
        self,
        x: np.ndarray,
        y: np.ndarray,
        rows: slice,
        max_drop_m: float,
        edge: np.ndarray,
        t: np.ndarray,
        drop: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """Locate the points ``rows``, write their answers in place, return tie candidates."""
        px, py = x[rows], y[rows]
        bound = max_drop_m + self._half + 1e-6
        # Only points that may have a piece midpoint within ``bound`` go to the KD-tree; the
        # others would get no candidate from it anyway.
        near = np.flatnonzero(self._near.lower_bound(px, py) <= bound + NEAR_SLACK_M)
        piece, dist, frac, ties = self._nearest_pieces(px[near], py[near], bound)
        hit = (piece < self.n_pieces) & (dist <= max_drop_m)
        at, piece, frac = near[hit] + (rows.start or 0), piece[hit], frac[hit]
        e = self._edge[piece]
        edge[at] = e
        t[at] = np.minimum(self._off[piece] + frac * self._piece_len(piece), self.network.length[e])
        drop[at] = dist[hit]
        tie_row, tie_piece, tie_d2, tie_f = ties
        return near[tie_row] + (rows.start or 0), tie_piece, tie_d2, tie_f

    def _nearest_pieces(
        self, px: np.ndarray, py: np.ndarray, bound: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """Return each point's nearest piece, its distance, the fraction along it, and ties.

        A point with no piece midpoint within ``bound`` gets piece ``n_pieces`` and ``inf``.
        Ties are candidates (row, piece, squared distance, fraction) for :meth:`_ties`.
        """
        n = len(px)
        best = np.full(n, self.n_pieces, dtype=np.int64)
        best_d2 = np.full(n, np.inf)  # squared: compared exactly as computed, ties included
        best_f = np.zeros(n)
        ties: list[tuple[np.ndarray, ...]] = []
        rows = np.arange(n)
        seen, k = 0, min(self._k, self.n_pieces)
        while len(rows) and k > seen:
            # Only candidates seen + 1 .. k are new; the nearer ones were tested already.
            dist, idx = self._tree.query(
                np.column_stack([px[rows], py[rows]]),
                k=list(range(seen + 1, k + 1)),
                distance_upper_bound=bound,
            )
            d2, f = self._to_pieces(px[rows, None], py[rows, None], idx)
            # Canonical choice: the nearest, and of equally near pieces the lowest index.
            d2_min = d2.min(axis=1)
            j = np.argmin(np.where(d2 == d2_min[:, None], idx, self.n_pieces), axis=1)
            pick = np.arange(len(rows))
            cand = idx[pick, j]
            old_d2, old, old_f = best_d2[rows], best[rows], best_f[rows]
            better = ((d2_min < old_d2) | ((d2_min == old_d2) & (cand < old))) & (
                cand < self.n_pieces  # the sentinel is never an answer
            )
            at = rows[better]
            best[at], best_d2[at], best_f[at] = cand[better], d2_min[better], f[pick, j][better]
            ties.append(self._tie_candidates(rows, idx, d2, f, better, (old, old_d2, old_f), best))
            # A piece not among the k has its midpoint at least dist[:, -1] away, so it is at
            # least dist[:, -1] - half away: the answer is proven when best is below that
            # (strictly, so no unseen piece can tie), or when fewer than k pieces are within
            # ``bound`` (dist inf: none unseen). The rest ask again with more candidates:
            # points far from a road, and near dense junctions.
            last = dist[:, -1]
            best_d = np.sqrt(best_d2[rows])
            rows = rows[np.isfinite(last) & (best_d >= last - self._half - PROOF_SLACK_M)]
            seen, k = k, min(k * ESCALATE, self.n_pieces)
        found = tuple(np.concatenate(c) for c in zip(*ties, strict=True)) if ties else ()
        return best, np.sqrt(best_d2), best_f, found or _no_ties()

    def _tie_candidates(
        self,
        rows: np.ndarray,
        idx: np.ndarray,
        d2: np.ndarray,
        f: np.ndarray,
        better: np.ndarray,
        previous: tuple[np.ndarray, np.ndarray, np.ndarray],
        best: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """Pieces of another edge than the best within ``TIE_M`` of it, after one round.

        This round's candidates, and the previous best when this round displaced it.
        """
        old, old_d2, old_f = previous
        best_edge = self._edge_s[best[rows]]
        d2_best = np.minimum(old_d2, d2.min(axis=1))
        thr = (np.sqrt(d2_best) + TIE_M) ** 2
        near = d2 <= thr[:, None]
        # The chosen piece itself is near when it came in this round: look further only
        # where another piece is near too (rare: junctions, vertices, overlapping lines).
        check = np.flatnonzero(near.sum(axis=1) > better)
        r, c = np.nonzero(near[check] & (self._edge_s[idx[check]] != best_edge[check, None]))
        r = check[r]
        shown = better & (old < self.n_pieces) & (old_d2 <= thr) & (self._edge_s[old] != best_edge)
        return (
            np.concatenate([rows[r], rows[shown]]),
            np.concatenate([idx[r, c], old[shown]]),
            np.concatenate([d2[r, c], old_d2[shown]]),
            np.concatenate([f[r, c], old_f[shown]]),
        )

    def _to_pieces(
        self, px: np.ndarray, py: np.ndarray, piece: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Squared distance from points to pieces given by index, and the fraction along each.

        ``px``, ``py`` are columns broadcast against ``piece``; index ``n_pieces`` (the
        tree's "none") is the sentinel, farther than any bound.
        """
        # w = p - a; f = clip(w·d / |d|², 0, 1); e = w - f·d; |e|². In place on the gathered
        # copies: this is the innermost loop of every location.
        wx = self._ax.take(piece)
        np.subtract(px, wx, out=wx)
        wy = self._ay.take(piece)
        np.subtract(py, wy, out=wy)
        dx, dy = self._dx.take(piece), self._dy.take(piece)
        # |d|² from the gathered terms (as cheap as gathering it, and no per-piece array); a
        # zero-length piece (the sentinel too) gets 1: its fraction is then 0, its start.
        denom = dx * dx
        tmp = dy * dy
        denom += tmp
        denom[denom == 0.0] = 1.0
        f = wx * dx
        np.multiply(wy, dy, out=tmp)
        f += tmp
        f /= denom
        np.clip(f, 0.0, 1.0, out=f)
        dx *= f
        wx -= dx
        dy *= f
        wy -= dy
        wx *= wx
        wy *= wy
        wx += wy
        return wx, f


def _no_ties() -> tuple[np.ndarray, ...]:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0)


class _NearBound:
    """A lower bound on the distance from any point to the nearest of a set of points.

    The points are binned into a coarse raster; a Euclidean distance transform gives each
    cell the distance ``D`` between its centre and the nearest occupied cell's centre. A point
    in that cell is at least ``D - √2·cell`` from every binned point (each is within half a
    diagonal of its cell centre). Outside the raster the distance to the points' bounding box
    is the bound.
    """

    def __init__(self, xy: np.ndarray) -> None:
        from scipy.ndimage import distance_transform_edt  # only when a Locator is built

        x, y = xy[:, 0], xy[:, 1]
        self._lo = (float(x.min()), float(y.min())) if len(x) else (0.0, 0.0)
        self._hi = (float(x.max()), float(y.max())) if len(x) else (0.0, 0.0)
        span_x, span_y = self._hi[0] - self._lo[0], self._hi[1] - self._lo[1]
        area = (span_x + 1.0) * (span_y + 1.0)
        self._cell = max(NEAR_CELL_M, float(np.sqrt(area / NEAR_MAX_CELLS)))
        cols, rows = int(span_x // self._cell) + 1, int(span_y // self._cell) + 1
        occupied = np.zeros((rows, cols), dtype=bool)
        for lo in range(0, len(x), BUILD_BLOCK):  # in blocks: no point-sized temporaries
            bx, by = x[lo : lo + BUILD_BLOCK], y[lo : lo + BUILD_BLOCK]
            col = np.minimum(np.floor((bx - self._lo[0]) / self._cell).astype(np.intp), cols - 1)
            row = np.minimum(np.floor((by - self._lo[1]) / self._cell).astype(np.intp), rows - 1)
            occupied[row, col] = True
        centre_m = distance_transform_edt(~occupied) * self._cell
        self._bound = np.maximum(centre_m - np.sqrt(2.0) * self._cell, 0.0)

    def lower_bound(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return a lower bound (metres) on each point's distance to the nearest point."""
        (x0, y0), (x1, y1) = self._lo, self._hi
        out = np.hypot(
            np.maximum(np.maximum(x0 - x, x - x1), 0.0), np.maximum(np.maximum(y0 - y, y - y1), 0.0)
        )
        col = np.floor((x - x0) / self._cell)
        row = np.floor((y - y0) / self._cell)
        rows, cols = self._bound.shape
        inside = np.flatnonzero((col >= 0) & (row >= 0) & (col < cols) & (row < rows))
        cell = self._bound[row[inside].astype(np.int64), col[inside].astype(np.int64)]
        out[inside] = np.maximum(out[inside], cell)
        return out
