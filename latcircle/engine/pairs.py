"""Shortest paths between pairs of located points, taken apart: length, nodes, devices.

For a measured pair (a probe and a compute site, two probes) the latency model is::

    L(a, b) = E + S_a + S_b + k·r·( |a − q_a| + d_G(q_a, q_b) + |b − q_b| ) + Σ D(n)

Calibration fits ``E`` and ``r`` to measured latencies, so it needs each pair's path *taken
apart*: the network length ``d_G`` (with the pieces of the two end edges), the device
latency ``Σ D`` of the nodes passed, and how many nodes those are. :func:`pair_paths` finds
the path the latency engine would take (the same split-edge graph as
:mod:`latcircle.engine.latency`: both ends of each point's edge, its ties, the direct path
along a shared edge, a point at a node with device latency entering through that node) and
walks its predecessors back to sum those parts.

Cost: one Dijkstra per endpoint in a *cover* of the pairs (a set of endpoints that holds one
end of every pair, chosen greedily), so a campaign of probes towards a few compute sites costs
a few passes, whatever the number of probes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from latcircle.engine.latency import _at_node_end
from latcircle.engine.locator import PointLocation
from latcircle.engine.network import Network

__all__ = ["PairPaths", "pair_paths"]

#: Sources per Dijkstra call (memory: ``chunk × nodes`` floats and ints).
CHUNK = 32


@dataclass(frozen=True, slots=True)
class PairPaths:
    """The model's path of each pair, taken apart.

    Attributes
    ----------
    reachable
        Both ends have access and lie on one connected piece of the network.
    length_m
        Network length between the two projections ``q_a`` and ``q_b`` (metres, drops
        excluded; ``inf`` where not reachable).
    device_us
        Sum of the device latency ``D`` of the network nodes passed (0 where the network
        carries none).
    nodes
        Number of network nodes passed (0 for two points on one edge, joined along it).
    """

    reachable: np.ndarray
    length_m: np.ndarray
    device_us: np.ndarray
    nodes: np.ndarray


def pair_paths(
    network: Network,
    arcs: csr_matrix,
    loc: PointLocation,
    a: np.ndarray,
    b: np.ndarray,
    *,
    us_per_m: float,
) -> PairPaths:
    """Return the shortest path of each pair ``(loc[a[i]], loc[b[i]])``, taken apart.

    Parameters
    ----------
    network
        The network.
    arcs
        Its arc matrix (:func:`latcircle.engine.latency.arc_matrix`) at ``us_per_m``.
    loc
        The distinct endpoints, located on ``network``.
    a, b
        Each pair's two endpoints (indices into ``loc``).
    us_per_m
        ``k·r``: with per-node device latency the shortest path depends on it.

    Returns
    -------
    PairPaths
    """
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    p = len(a)
    length = np.full(p, np.inf)
    device = np.zeros(p)
    nodes = np.zeros(p, np.int64)
    ok = (loc.edge[a] >= 0) & (loc.edge[b] >= 0)
    src, dst = _orient(a, b, ok)
    entries = _Entries.of(network, loc)
    sources = np.unique(src[ok])
    for lo in range(0, len(sources), CHUNK):
        chunk = sources[lo : lo + CHUNK]
        rows = np.flatnonzero(ok & np.isin(src, chunk))
        _solve_chunk(
            network,
            arcs,
            entries,
            chunk,
            src[rows],
            dst[rows],
            us_per_m,
            out=(rows, length, device, nodes),
        )
    reach = np.isfinite(length)
    return PairPaths(
        reachable=reach,
        length_m=length,
        device_us=np.where(reach, device, 0.0),
        nodes=np.where(reach, nodes, 0),
    )


def _orient(a: np.ndarray, b: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each pair's source and target: the source from a greedy cover of the pairs.

    Repeatedly the endpoint in most pairs not yet covered becomes a source (lowest index of
    equals): few Dijkstra passes for a star of probes around a few sites.
    """
    src, dst = a.copy(), b.copy()
    left = np.flatnonzero(ok & (a != b))
    n = int(max(a.max(initial=0), b.max(initial=0))) + 1
    while len(left):
        degree = np.bincount(a[left], minlength=n) + np.bincount(b[left], minlength=n)
        pick = int(np.argmax(degree))
        on_b = left[(b[left] == pick) & (a[left] != pick)]
        src[on_b], dst[on_b] = b[on_b], a[on_b]
        left = left[(a[left] != pick) & (b[left] != pick)]
    return src, dst


@dataclass(frozen=True)
class _Entries:
    """Where each endpoint enters the network: (endpoint, edge, t), nearest edge then ties."""

    point: np.ndarray
    edge: np.ndarray
    t: np.ndarray
    at_u: np.ndarray
    at_v: np.ndarray

    @classmethod
    def of(cls, network: Network, loc: PointLocation) -> _Entries:
        has = np.flatnonzero(loc.edge >= 0)
        tie = loc.edge[loc.tie_point] >= 0
        point = np.concatenate([has, loc.tie_point[tie]]).astype(np.int64)
        edge = np.concatenate([loc.edge[has], loc.tie_edge[tie]]).astype(np.int64)
        t = np.concatenate([loc.t[has], loc.tie_t[tie]])
        order = np.argsort(point, kind="stable")
        point, edge, t = point[order], edge[order], t[order]
        at_u, at_v = _at_node_end(network, edge, t)
        return cls(point, edge, t, at_u, at_v)

    def rows_of(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (which of ``points``, entry row) for every entry of the given points."""
        lo = np.searchsorted(self.point, points, side="left")
        hi = np.searchsorted(self.point, points, side="right")
        count = hi - lo
        owner = np.repeat(np.arange(len(points)), count)
        row = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        return owner, np.repeat(lo, count) + row


def _solve_chunk(
    network: Network,
    arcs: csr_matrix,
    entries: _Entries,
    chunk: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    w: float,
    *,
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """One Dijkstra from each source of ``chunk``; take apart the paths of its pairs."""
    n = network.n_nodes
    s_owner, s_row = entries.rows_of(chunk)  # source entries: owner = position in chunk
    node, along = _entry_arcs(network, entries, s_row)
    owner = np.concatenate([s_owner, s_owner])
    dev = network.node_device_us[node]
    graph = _with_sources(arcs, n, len(chunk), owner, node, w * along + dev)
    dist, pred = dijkstra(
        graph, directed=True, indices=n + np.arange(len(chunk)), return_predecessors=True
    )
    dist = np.atleast_2d(dist)
    pred = np.atleast_2d(pred)
    row = np.searchsorted(chunk, src)  # each pair's Dijkstra row
    best, arrive, tail_len, direct = _best_arrival(network, entries, dist, row, src, dst, w)
    rows, length, device, nodes = out
    dev_sum, count = _walk(pred, row, arrive, n, network.node_device_us)
    via = arrive >= 0
    # The latency to the arrival node is w·(length from the source point) + ΣD: the length
    # is what remains (one division: no per-arc lookup along every path).
    reached = dist[row, np.maximum(arrive, 0)]
    length_via = (reached - dev_sum) / w + tail_len
    length[rows] = np.where(via, length_via, direct)
    length[rows[~np.isfinite(best)]] = np.inf
    device[rows] = np.where(via, dev_sum, 0.0)
    nodes[rows] = np.where(via, count, 0)


def _entry_arcs(
    network: Network, entries: _Entries, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """End nodes reached from entries ``rows`` and the length along the edge to each.

    The ``u`` ends first, then the ``v`` ends; an entry at a node with device latency
    reaches only that node (its other end gets an infinite length).
    """
    e, t = entries.edge[rows], entries.t[rows]
    node = np.concatenate([network.u[e], network.v[e]])
    along = np.concatenate(
        [
            np.where(entries.at_v[rows], np.inf, t),
            np.where(entries.at_u[rows], np.inf, network.length[e] - t),
        ]
    )
    return node, along


def _with_sources(
    arcs: csr_matrix, n: int, m: int, owner: np.ndarray, node: np.ndarray, weight: np.ndarray
) -> csr_matrix:
    """Append ``m`` source nodes with arcs to ``node``; the lightest per (source, node)."""
    fin = np.isfinite(weight)
    owner, node, weight = owner[fin], node[fin], weight[fin]
    order = np.lexsort((weight, node, owner))
    owner, node, weight = owner[order], node[order], weight[order]
    first = np.r_[True, (owner[1:] != owner[:-1]) | (node[1:] != node[:-1])][: len(owner)]
    owner, node, weight = owner[first], node[first], weight[first]
    counts = np.bincount(owner, minlength=m)
    indptr = np.concatenate([arcs.indptr, arcs.indptr[-1] + np.cumsum(counts)])
    return csr_matrix(
        (
            np.concatenate([arcs.data, weight]),
            np.concatenate([arcs.indices, node]).astype(arcs.indices.dtype, copy=False),
            indptr,
        ),
        shape=(n + m, n + m),
    )


def _best_arrival(
    network: Network,
    entries: _Entries,
    dist: np.ndarray,
    row: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    w: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: the best latency, the node it arrives by (-1: direct), the length after it.

    Also the length of the direct path along a shared edge (``inf`` where there is none).
    """
    p = len(src)
    owner, erow = entries.rows_of(dst)
    e, t = entries.edge[erow], entries.t[erow]
    r = row[owner]
    cand_node = np.concatenate([network.u[e], network.v[e]])
    tail = np.concatenate(
        [
            np.where(entries.at_v[erow], np.inf, t),
            np.where(entries.at_u[erow], np.inf, network.length[e] - t),
        ]
    )
    lat = dist[np.concatenate([r, r]), cand_node] + w * tail
    pair = np.concatenate([owner, owner])
    best = np.full(p, np.inf)
    np.minimum.at(best, pair, lat)
    # The first candidate reaching the best (u before v, nearest edge before ties).
    hit = np.flatnonzero(lat == best[pair])
    first = hit[np.unique(pair[hit], return_index=True)[1]]
    arrive = np.full(p, -1, np.int64)
    tail_len = np.zeros(p)
    arrive[pair[first]] = cand_node[first]
    tail_len[pair[first]] = tail[first]
    direct = _direct(entries, src, dst, owner, erow)
    use_direct = w * direct <= best  # the direct path wins ties: no node passed
    arrive[use_direct] = -1
    best = np.minimum(best, w * direct)
    arrive[~np.isfinite(best)] = -1
    return best, arrive, tail_len, direct


def _direct(
    entries: _Entries, src: np.ndarray, dst: np.ndarray, owner: np.ndarray, erow: np.ndarray
) -> np.ndarray:
    """Length along a shared edge between each pair's source and target (``inf``: none)."""
    p = len(src)
    out = np.full(p, np.inf)
    s_owner, s_row = entries.rows_of(src)
    if len(s_row) == 0 or len(erow) == 0:
        return out
    # Join source and target entries on (pair, edge); points at a node with device latency
    # enter through the node, never along the edge.
    mid_s = ~(entries.at_u[s_row] | entries.at_v[s_row])
    mid_d = ~(entries.at_u[erow] | entries.at_v[erow])
    s_key = s_owner[mid_s] * (entries.edge.max() + 1) + entries.edge[s_row][mid_s]
    d_key = owner[mid_d] * (entries.edge.max() + 1) + entries.edge[erow][mid_d]
    s_t, d_t = entries.t[s_row][mid_s], entries.t[erow][mid_d]
    order = np.argsort(s_key, kind="stable")
    s_key, s_t = s_key[order], s_t[order]
    at = np.searchsorted(s_key, d_key)
    found = at < len(s_key)
    found[found] = s_key[at[found]] == d_key[found]
    gap = np.abs(s_t[at[found]] - d_t[found])
    np.minimum.at(out, owner[mid_d][found], gap)
    return out


def _walk(
    pred: np.ndarray,
    row: np.ndarray,
    arrive: np.ndarray,
    n: int,
    device: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Walk every pair's predecessors back from its arrival node to the source, all at once.

    Returns the device latency and the count of the network nodes passed.
    """
    p = len(row)
    dev = np.zeros(p)
    count = np.zeros(p, np.int64)
    active = np.flatnonzero(arrive >= 0)
    cur = arrive[active].astype(np.int64)
    while len(active):
        dev[active] += device[cur]
        count[active] += 1
        prev = pred[row[active], cur].astype(np.int64)
        go = (prev >= 0) & (prev < n)  # stops at the source node (>= n)
        active, cur = active[go], prev[go]
    return dev, count
