"""Links of the network under failure: their use in the shortest-path tree, and cutting one.

* :func:`tree_use` ranks links by how much served demand rests on them: the multi-source
  Dijkstra's predecessor tree carries every node's best path; a link carries the demand of
  every node below it in that tree (plus the demand located on it).
* :func:`cut_link` gives what an exact re-solve without one link needs: the arc matrix with
  the link's arcs gone (a parallel line between the same nodes takes over), and every
  located point that sat on the link (or had it as an equally near tie) located again on the
  remaining network. A point on the cut link reaches the network by its next-nearest edge
  within the max drop, as a run on the network without that link would locate it.

Arrays only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from latcircle.config import LatencyParams
from latcircle.engine.latency import (
    SiteAttachment,
    _source_arcs,
    _with_source,
)
from latcircle.engine.locator import Locator, PointLocation
from latcircle.engine.network import Network

__all__ = ["Cut", "cut_link", "shortest_tree", "tree_use"]


def shortest_tree(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    *,
    online: np.ndarray,
    arcs: csr_matrix,
) -> np.ndarray:
    """Return the predecessor of every node in the multi-source shortest-path tree.

    The same graph as :func:`latcircle.engine.latency.solve`; ``-1`` for nodes entered from
    the super-source (a site's attachment) and for nodes no site reaches.
    """
    n = network.n_nodes
    sites = np.flatnonzero(attachment.attached & np.asarray(online, bool))
    if len(sites) == 0:
        return np.full(n, -1, np.int64)
    src_node, src_w, _ = _source_arcs(network, attachment, params, sites)
    graph = _with_source(arcs, src_node, src_w)
    _, pred = dijkstra(graph, directed=True, indices=n, return_predecessors=True)
    pred = pred[:n].astype(np.int64)
    pred[(pred < 0) | (pred >= n)] = -1
    return pred


def tree_use(
    network: Network, pred: np.ndarray, node_demand: np.ndarray, edge_demand: np.ndarray
) -> np.ndarray:
    """Return each edge's use: the demand below it in the tree, plus the demand on it.

    Parameters
    ----------
    network
        The network.
    pred
        :func:`shortest_tree`.
    node_demand
        Demand reaching the network at each node (a point's weight at the node its best
        path arrives by).
    edge_demand
        Demand located on each edge.

    Returns
    -------
    numpy.ndarray
        Per edge. A tree arc stands for the shortest of the lines between its two nodes.
    """
    below = _subtree_sums(pred, node_demand)
    child = np.flatnonzero(pred >= 0)
    edge = _edge_of(network, pred[child], child)
    use = np.asarray(edge_demand, float).copy()
    np.add.at(use, edge, below[child])
    return use


def _subtree_sums(pred: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Sum of ``value`` over each node's subtree, level by level from the deepest."""
    n = len(pred)
    has = pred >= 0
    order = np.argsort(np.where(has, pred, -1), kind="stable")
    children_of = order[np.searchsorted(np.where(has, pred, -1)[order], 0) :]
    parent_sorted = pred[children_of]
    start = np.searchsorted(parent_sorted, np.arange(n), side="left")
    stop = np.searchsorted(parent_sorted, np.arange(n), side="right")
    levels = [np.flatnonzero(~has)]
    while True:
        cur = levels[-1]
        counts = stop[cur] - start[cur]
        if counts.sum() == 0:
            break
        first = np.repeat(start[cur], counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        levels.append(children_of[first + offset])
    total = np.asarray(value, float).copy()
    for level in reversed(levels[1:]):
        np.add.at(total, pred[level], total[level])
    return total


def _edge_of(network: Network, tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Return the shortest line between each pair of nodes (what the arc matrix kept)."""
    n = network.n_nodes
    lo, hi = np.minimum(network.u, network.v), np.maximum(network.u, network.v)
    key = lo.astype(np.int64) * n + hi
    order = np.lexsort((np.arange(len(key)), network.length, key))
    key_sorted = key[order]
    first = np.r_[True, key_sorted[1:] != key_sorted[:-1]]
    key_sorted, edge_sorted = key_sorted[first], order[first]
    want = np.minimum(tail, head).astype(np.int64) * n + np.maximum(tail, head)
    return edge_sorted[np.searchsorted(key_sorted, want)]


@dataclass(frozen=True)
class Cut:
    """The network without one link: arcs, and what was located on the link, again.

    Attributes
    ----------
    edge
        The link cut.
    arcs
        The arc matrix without it.
    attachment
        Sites, those on the link attached again.
    locations
        The given point sets, those on the link (or tied to it) located again.
    moved
        Per point set, the points located again.
    """

    edge: int
    arcs: csr_matrix
    attachment: SiteAttachment
    locations: tuple[PointLocation, ...]
    moved: tuple[np.ndarray, ...]


def cut_link(
    network: Network,
    arcs: csr_matrix,
    attachment: SiteAttachment,
    sites: tuple[np.ndarray, np.ndarray, np.ndarray],
    points: tuple[tuple[PointLocation, np.ndarray, np.ndarray], ...],
    edge: int,
    params: LatencyParams,
    *,
    tree: shapely.STRtree | None = None,
) -> Cut:
    """Return the network without link ``edge``, everything on it located again.

    Parameters
    ----------
    network
        The network (edge indices stay; the link is only taken out of the arcs and out of
        every location).
    arcs
        Its arc matrix.
    attachment
        The sites' attachment.
    sites
        The sites' ``x``, ``y`` and device latency ``S_s`` (for the new offsets).
    points
        Point sets as ``(location, x, y)``.
    edge
        The link.
    params
        The latency model.
    tree
        An STRtree over ``network.geometry``, to reuse across cuts.
    """
    tree = tree if tree is not None else shapely.STRtree(network.geometry)
    local, keep = _local_locator(network, tree, edge, params.max_drop_m)
    sx, sy, device_us = sites
    new_sites, _ = _relocate(attachment.location, sx, sy, edge, local, keep, params.max_drop_m)
    offset = np.asarray(device_us, float) + params.us_per_m * np.where(
        new_sites.edge >= 0, new_sites.drop, np.inf
    )
    locations, moved = [], []
    for loc, x, y in points:
        new, rows = _relocate(loc, x, y, edge, local, keep, params.max_drop_m)
        locations.append(new)
        moved.append(rows)
    return Cut(
        edge=edge,
        arcs=_without_arcs(network, arcs, edge, params),
        attachment=SiteAttachment(location=new_sites, offset_us=offset),
        locations=tuple(locations),
        moved=tuple(moved),
    )


def _local_locator(
    network: Network, tree: shapely.STRtree, edge: int, max_drop_m: float
) -> tuple[Locator | None, np.ndarray]:
    """Return a locator over the edges that may be nearest to a point on ``edge`` (not it)."""
    near = tree.query(network.geometry[edge], predicate="dwithin", distance=2 * max_drop_m)
    near = np.sort(near[near != edge])
    if len(near) == 0:
        return None, near
    keep = np.zeros(network.n_edges, bool)
    keep[near] = True
    return Locator(network.subset(keep)), near


def _relocate(
    loc: PointLocation,
    x: np.ndarray,
    y: np.ndarray,
    edge: int,
    local: Locator | None,
    keep: np.ndarray,
    max_drop_m: float,
) -> tuple[PointLocation, np.ndarray]:
    """Locate again the points on ``edge`` or tied to it; the others keep their answer."""
    on = np.flatnonzero(loc.edge == edge)
    tied = loc.tie_point[loc.tie_edge == edge]
    rows = np.unique(np.concatenate([on, tied])).astype(np.int64)
    if len(rows) == 0:
        return loc, rows
    out_edge, out_t, out_drop = loc.edge.copy(), loc.t.copy(), loc.drop.copy()
    stay = ~np.isin(loc.tie_point, rows)
    tie_p, tie_e, tie_t = loc.tie_point[stay], loc.tie_edge[stay], loc.tie_t[stay]
    if local is not None:
        new = local.locate(x[rows], y[rows], max_drop_m=max_drop_m)
        hit = new.edge >= 0
        out_edge[rows] = np.where(hit, keep[np.maximum(new.edge, 0)], -1)
        out_t[rows] = np.where(hit, new.t, 0.0)
        out_drop[rows] = np.where(hit, new.drop, np.inf)
        tie_p = np.concatenate([tie_p, rows[new.tie_point]])
        tie_e = np.concatenate([tie_e, keep[new.tie_edge]])
        tie_t = np.concatenate([tie_t, new.tie_t])
    else:  # no other edge within reach: no access
        out_edge[rows], out_t[rows], out_drop[rows] = -1, 0.0, np.inf
    order = np.lexsort((tie_e, tie_p))
    return (
        dataclasses.replace(
            loc,
            edge=out_edge,
            t=out_t,
            drop=out_drop,
            tie_point=tie_p[order].astype(np.int64),
            tie_edge=tie_e[order].astype(np.int64),
            tie_t=tie_t[order],
        ),
        rows,
    )


def _without_arcs(
    network: Network, arcs: csr_matrix, edge: int, params: LatencyParams
) -> csr_matrix:
    """Return the arc matrix without link ``edge`` (a parallel line takes over, if any)."""
    u, v = int(network.u[edge]), int(network.v[edge])
    same = np.flatnonzero(
        ((network.u == u) & (network.v == v)) | ((network.u == v) & (network.v == u))
    )
    others = same[same != edge]
    coo = arcs.tocoo()
    hit = ((coo.row == u) & (coo.col == v)) | ((coo.row == v) & (coo.col == u))
    data = coo.data.copy()
    if len(others) and u != v:
        w = params.us_per_m * network.length[others].min()
        data[hit] = w + network.node_device_us[coo.col[hit]]
        keep = np.ones(len(data), bool)
    else:
        keep = ~hit
    return csr_matrix((data[keep], (coo.row[keep], coo.col[keep])), shape=arcs.shape)
