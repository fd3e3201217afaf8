"""The network as arrays: nodes, undirected edges, components.

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

Locating points on the network exactly is :mod:`latcircle.engine.locator`'s job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from latcircle.engine.edgelines import EdgeLines
from latcircle.errors import InputError
from latcircle.inputs.flatlines import FlatLines

__all__ = ["LineTable", "Network", "build_network", "line_table"]


log = logging.getLogger(__name__)


#: Rows named in an error message before "...".
ROWS_SHOWN = 5

#: How far (metres) a line end may lie from the node its ``u``/``v`` id names (where that
#: id's other lines meet) and still be joined to it, counted (``id_ends_joined``) and noted;
#: farther is refused. An ASSUMPTION, not a measurement: 1 m of fibre is 0.005 µs at
#: 5 µs/km, far below any latency latcircle reports, while ids that name a node kilometres
#: away are a mistake to fix, not to guess around. Wuhan's real roads: every end exactly on
#: its node (0 joined, 2026-12-07).
ID_END_TOLERANCE_M = 1.0


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
        Edge LineStrings, kept as flat coordinates (:class:`EdgeLines`; indexed like an
        array of LineStrings). An array of geometries given here is turned into one.
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
    geometry: EdgeLines
    node_device_us: np.ndarray
    component: np.ndarray
    stats: dict[str, float] = field(default_factory=dict)
    edge_online_year: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.geometry, EdgeLines):
            object.__setattr__(self, "geometry", EdgeLines.from_geometry(self.geometry))

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
            geometry=self.geometry.take(idx),
            node_device_us=self.node_device_us,
            component=self.component,
            stats={**self.stats, "edges": float(len(idx))},
            edge_online_year=years,
        )

    def component_sizes(self) -> np.ndarray:
        """Return the number of nodes in each component, largest first."""
        return np.sort(np.bincount(self.component))[::-1]


@dataclass(frozen=True, slots=True)
class LineTable:
    """Line features as the network build reads them: flat lines beside the other columns.

    Made by :func:`line_table`; with it the caller can let the features' shapely objects go
    before the network is built (:func:`build_network` takes either).

    Attributes
    ----------
    geometry
        The lines left after null and empty ones are left out, as flat coordinates.
    length
        Their lengths (``shapely.length`` of the lines as given).
    columns
        Every other column (``u``, ``v``, ``online_year``...), the features' index kept.
    n_empty
        Null and empty lines left out.
    """

    geometry: EdgeLines
    length: np.ndarray
    columns: pd.DataFrame
    n_empty: int


def line_table(lines: gpd.GeoDataFrame | FlatLines) -> LineTable:
    """Return the lines of ``lines`` as a :class:`LineTable` (null and empty ones left out).

    Parameters
    ----------
    lines
        LineStrings in a projected CRS, with any other columns; or the same read as flat
        coordinates (:class:`~latcircle.inputs.flatlines.FlatLines`, none empty), whose
        lengths are the floats ``shapely.length`` gives (:meth:`EdgeLines.lengths`).
    """
    if isinstance(lines, FlatLines):
        edges = EdgeLines(lines.coords, lines.offsets)
        return LineTable(edges, edges.lengths(), lines.columns, 0)
    lines, n_empty = _drop_empty(lines)
    geoms = lines.geometry.to_numpy()
    columns = pd.DataFrame(lines.drop(columns=lines.geometry.name))
    return LineTable(EdgeLines.from_geometry(geoms), shapely.length(geoms), columns, n_empty)


def build_network(
    lines: gpd.GeoDataFrame | LineTable,
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
        ``online_year``. Null and empty geometries are counted and left out. Or the same as
        a :class:`LineTable` (:func:`line_table`), whose features' shapely objects the
        caller has let go.
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
    table = lines if isinstance(lines, LineTable) else line_table(lines)
    del lines  # flat coordinates from here on
    columns, edges, length, n_empty = table.columns, table.geometry, table.length, table.n_empty
    if len(columns) == 0:
        raise InputError(source, None, "the network has no edges")
    start, end = edges.ends()
    stats: dict[str, float] = {}
    if "u" in columns.columns and "v" in columns.columns:
        x, y, u, v, ids, id_stats = _nodes_from_ids(columns, start, end, source)
        stats.update(id_stats)
    else:
        x, y, u, v = _nodes_from_endpoints(start, end)
        ids = None
    del start, end
    years = None
    if "online_year" in columns.columns:
        years = columns["online_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    u, v, edges, length, years, snap_stats = _snap(x, y, u, v, edges, length, years, snap_m)
    device = _node_device(len(x), ids, node_latency_us)
    n_comp, comp = _components(len(x), u, v)
    read = dict(read_stats or {})
    stats.update(read)
    stats.update(snap_stats)
    stats.update(_edge_stats(u, v, length, years))
    stats.update(
        input_lines=float(read.get("input_lines", len(columns) + n_empty)),
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
        geometry=edges,
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


def _id_codes(lines: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    lines: pd.DataFrame, start: np.ndarray, end: np.ndarray, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    u, v, ids = _id_codes(lines, source)
    missing = (u < 0) | (v < 0)
    has = np.flatnonzero(~missing)
    xy = _id_positions(u[has], v[has], start[has], end[has], n=len(ids))
    # Nodes named only on lines that lack the other id have no position yet: they join the
    # coordinate nodes below (their lines take both ends from coordinates).
    flips = _orient(u, v, has, start, end, xy)
    end_stats = _check_id_ends(lines, source, has, u, v, start, end, xy)
    n_fallback = int(missing.sum())
    if n_fallback:
        xy, u, v, ids = _fallback_to_endpoints(lines, source, missing, start, end, xy, u, v, ids)
    stats = {"lines_flipped": float(flips), "ids_from_endpoints": float(n_fallback)}
    stats.update(end_stats)
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
    ends_from, ends_to = start[has], end[has]
    at_a, at_b = xy[a], xy[b]  # each gathered once (the same floats as gathered twice)
    as_drawn = np.hypot(*(ends_from - at_a).T) + np.hypot(*(ends_to - at_b).T)
    swapped = np.hypot(*(ends_from - at_b).T) + np.hypot(*(ends_to - at_a).T)
    flip = has[swapped < as_drawn]
    u[flip], v[flip] = v[flip], u[flip].copy()
    return len(flip)


def _check_id_ends(
    lines: pd.DataFrame,
    source: str,
    has: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    xy: np.ndarray,
) -> dict[str, float]:
    """Count line ends off the node their id names; refuse ends beyond the tolerance.

    ``has``: the positions of the lines with both ids, already oriented. An end up
    to :data:`ID_END_TOLERANCE_M` from its node is joined to it (the gap is not paid in
    latency) and counted; any end farther off stops the run with an :class:`InputError`
    naming the farthest one.
    """
    gaps = {"u": _gaps(start, xy, u, has), "v": _gaps(end, xy, v, has)}
    n_far = sum(int((g > ID_END_TOLERANCE_M).sum()) for g in gaps.values())
    top = {column: float(g.max()) if len(g) else 0.0 for column, g in gaps.items()}
    if n_far:
        column = max(top, key=lambda c: top[c])  # u on a tie: the first
        position = int(has[int(np.argmax(gaps[column]))])
        value = _id_key(lines[column].iloc[position])
        raise InputError(
            source,
            column,
            f"{n_far} line end(s) lie over {ID_END_TOLERANCE_M:g} m (an assumed tolerance) "
            "from the node their id names, where that id's other lines meet; the farthest "
            f"{top[column]:,.6g} m: row {lines.index[position]} ({column} = {value!r}); fix "
            "the ids, or drop the u/v columns to join the lines by their endpoints",
        )
    return {
        "id_ends_joined": float(sum(int((g > 0).sum()) for g in gaps.values())),
        "id_end_gap_max_m": max(top.values()),
    }


def _gaps(points: np.ndarray, xy: np.ndarray, node: np.ndarray, has: np.ndarray) -> np.ndarray:
    """Distance of each line end (of the lines ``has``) from its node, in few temporaries."""
    d = xy[node[has]]
    d -= points[has]
    return np.hypot(d[:, 0], d[:, 1])


def _fallback_to_endpoints(
    lines: pd.DataFrame,
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


def _offer_groups(
    node: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Group the offers ``(node, position)`` of :func:`_id_positions` by exact equality.

    The offers are ``node`` against the positions ``start, end, start, end``. Returns each
    offer's group and each group's first offer (groups numbered in order of their first
    offer). Positions are equal exactly as numbers compare (``-0.0`` is ``0.0``; they are
    finite): hashed once as complex numbers, then each (node, position) pair as one integer,
    in linear time (sorting the offers by node and both coordinates took ~0.06 s CPU of
    Wuhan's ~0.15 s network build).
    """
    ends = np.concatenate([start, end])
    key = np.empty(len(ends), dtype=np.complex128)
    key.real, key.imag = ends[:, 0] + 0.0, ends[:, 1] + 0.0  # + 0.0: -0.0 becomes 0.0
    place, places = pd.factorize(key)
    place = np.concatenate([place, place]).astype(np.int64)
    group = pd.factorize(node.astype(np.int64) * len(places) + place)[0]
    # Codes come in order of first appearance: a group starts where a new highest code is.
    first = np.flatnonzero(np.r_[True, group[1:] > np.maximum.accumulate(group)[:-1]])
    return group, first


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
    group, first = _offer_groups(node, start, end)
    count = np.bincount(group)
    # Claimed offers: (u, start) and (v, end), the first and last quarter of the offers.
    claims = np.bincount(group[:m], minlength=len(first))
    claims += np.bincount(group[3 * m :], minlength=len(first))
    group_node = node[first]
    top, runner = _vote(group_node, count, claims, n=n)
    xy = np.full((n, 2), np.nan)
    ends = np.concatenate([start, end])  # offer i is at ends[i % 2m]: start, end, start, end
    xy[group_node[top]] = ends[first[top] % (2 * m)]
    # Placed by the vote: offered strictly more often than any other position.
    placed = np.zeros(n, dtype=bool)
    placed[group_node[top]] = count[top] > runner[group_node[top]]
    for mine, other in ((u, v), (v, u)):
        lone = np.flatnonzero(~placed[mine] & placed[other])
        near = xy[other[lone]]
        s, e = start[lone], end[lone]
        start_near_other = np.hypot(*(s - near).T) <= np.hypot(*(e - near).T)
        xy[mine[lone]] = np.where(start_near_other[:, None], e, s)
    return xy


#: Largest ranking score :func:`_vote` forms in int64 (a power of two under its maximum).
_SCORE_LIMIT = 2**62


def _vote(
    group_node: np.ndarray, count: np.ndarray, claims: np.ndarray, *, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each node's winning offer group, and each node's best count among its other groups.

    A node's groups rank by count, then claims, then first seen (groups are numbered in
    order of their first offer, so the lowest number). Returns the winning groups (one per
    node that has offers, in no particular order) and, per node, the highest count of its
    other groups (0 when it has none). The ranking is one integer per group, its maximum
    per node found in one pass (``np.maximum.at``; the three-key sort it replaces took
    ~0.02 s of Wuhan's 268,000 groups); a score that could overflow falls back to the sort.
    """
    n_groups = len(group_node)
    top_count, top_claims = int(count.max(initial=0)), int(claims.max(initial=0))
    if (top_count + 1) * (top_claims + 1) * (n_groups + 1) < _SCORE_LIMIT:
        # count, then claims, then the lower group number: distinct for every group.
        score = (count * (top_claims + 1) + claims) * n_groups + (
            n_groups - 1 - np.arange(n_groups)
        )
        best = np.full(n, -1, dtype=np.int64)
        np.maximum.at(best, group_node, score)
        is_top = score == best[group_node]
    else:
        order = np.lexsort((np.arange(n_groups), -claims, -count, group_node))
        is_top = np.zeros(n_groups, dtype=bool)
        is_top[order[np.r_[True, group_node[order[1:]] != group_node[order[:-1]]]]] = True
    runner = np.zeros(n, dtype=np.int64)
    np.maximum.at(runner, group_node[~is_top], count[~is_top])
    return np.flatnonzero(is_top), runner


def _nodes_from_endpoints(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Nodes at exactly coinciding line ends (no tolerance: ``snap_m`` joins near ones)."""
    pts = np.concatenate([start, end])
    xy, inverse = np.unique(pts, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n = len(start)
    return xy[:, 0].copy(), xy[:, 1].copy(), inverse[:n], inverse[n:]


def _snap(
    x: np.ndarray,
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    edges: EdgeLines,
    length: np.ndarray,
    years: np.ndarray | None,
    snap_m: float,
) -> tuple[np.ndarray, np.ndarray, EdgeLines, np.ndarray, np.ndarray | None, dict[str, float]]:
    """Join distinct nodes closer than ``snap_m`` by straight links, appended as edges.

    A link is added for every such pair not already joined by a line. A link, not a merge:
    chains of near ends never pull far ends together, every line keeps its geometry, and the
    gap is paid for along the link.
    """
    if snap_m <= 0:
        return u, v, edges, length, years, {}
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
    links = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1)) if len(a) else None
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
        edges if links is None else EdgeLines.concat([edges, EdgeLines.from_geometry(links)]),
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
    distinct = _distinct_pairs(lo, hi, None if years is None else years[~loops])
    return {
        "self_loops": float(loops.sum()),
        "parallel_edges_collapsed": float(len(lo) - distinct),
        "zero_length_edges": float(((length == 0) & ~loops).sum()),
    }


def _distinct_pairs(lo: np.ndarray, hi: np.ndarray, years: np.ndarray | None) -> int:
    """Count the distinct ``(lo, hi)`` node pairs, or ``(lo, hi, year)`` with years.

    One hashed integer per pair (``lo * n + hi``, exact while ``n * n`` fits an int64),
    then with its year's code: the count a three-level ``MultiIndex.unique`` gives
    (~0.008 s on Wuhan's 92,667 lines) in a third of the time.
    """
    if len(lo) == 0:
        return 0
    n = int(hi.max()) + 1
    if n > _PAIR_LIMIT:  # lo * n + hi could overflow: the index of three levels
        year_key = np.zeros(len(lo)) if years is None else np.nan_to_num(years, nan=-1.0)
        return len(pd.MultiIndex.from_arrays([lo, hi, year_key]).unique())
    pair = lo.astype(np.int64) * n + hi
    if years is None:
        return len(pd.unique(pair))
    pair_code, _ = pd.factorize(pair)
    year_code, _ = pd.factorize(np.nan_to_num(years, nan=-1.0))  # no year: -1, as before
    return len(pd.unique(pair_code.astype(np.int64) * (int(year_code.max()) + 1) + year_code))


#: Largest node count for which :func:`_distinct_pairs` forms ``lo * n + hi`` in int64.
_PAIR_LIMIT = 3_037_000_499  # floor(sqrt(2**63 - 1))


def _components(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    adj = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    n_comp, labels = connected_components(adj, directed=False)
    # Relabel so that component 0 is the largest (stable, deterministic).
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.lexsort((np.arange(len(sizes)), -sizes))] = np.arange(len(sizes))
    return int(n_comp), rank[labels].astype(np.int32)
