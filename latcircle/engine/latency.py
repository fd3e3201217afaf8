"""The latency engine: one multi-source Dijkstra pass, exact latency at any point.

For a location ``p`` and the compute sites ``s`` online in the scenario (DESIGN.md §2)::

    L(p) = factor * ( E + min_s [ S_s + k·r·(|s − q_s| + d_G(q_s, q_p) + |p − q_p|) + ΣD ] )

How it is computed (DESIGN.md §3):

* A virtual super-source has an arc to each site's attachment point ``q_s`` of weight
  ``S_s + k·r·|s − q_s|``. Rather than rebuilding the network with ``q_s`` split into its edge
  ``(u, v)``, the arc is carried to both ends: ``+ k·r·t_s`` to ``u`` and ``+ k·r·(ℓ − t_s)``
  to ``v``. For a location on that same edge the direct along-edge term
  ``offset_s + k·r·|t_p − t_s|`` is added to the minimum. This is exactly the split-edge
  graph, without copying the network for every scenario year.
* Network arcs weigh ``k·r·ℓ`` plus the device latency ``D`` of the node they enter.
* One ``scipy.sparse.csgraph.dijkstra`` call gives every node's latency; the predecessor tree
  gives each node's serving site.
* At a location projected onto edge ``(u, v)`` at ``t`` from ``u``:
  ``min(L(u) + k·r·t, L(v) + k·r·(ℓ − t)) + k·r·|p − q_p|``, exact.
* Where nodes carry device latency, a site or location projected onto a node (equally near
  every edge ending there) is *at the node*: a site enters the network through it, a
  location is reached through it, whichever incident edge the locator happened to report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from latcircle.config import LatencyParams
from latcircle.engine.locator import Locator, PointLocation
from latcircle.engine.network import Network

__all__ = [
    "AccessTerms",
    "LatencyField",
    "SiteAttachment",
    "access_terms",
    "attach_sites",
    "direct_paths",
    "site_source_arcs",
    "solve",
    "solve_each",
    "weigh_access",
]

NO_SITE = -1
#: A point projected within this distance (metres) of an edge's end is at its node.
AT_NODE_M = 1e-6


@dataclass(frozen=True, slots=True)
class SiteAttachment:
    """Where the compute sites meet the network.

    Attributes
    ----------
    location
        Each site's projection onto its nearest edge (``edge = -1``: beyond max drop).
    offset_us
        ``S_s + k·r·|s − q_s|`` for each site (before the round-trip factor and ``E``).
    """

    location: PointLocation
    offset_us: np.ndarray

    @property
    def attached(self) -> np.ndarray:
        """Whether each site reaches the network within the max drop."""
        return self.location.edge >= 0


def attach_sites(
    locator: Locator,
    x: np.ndarray,
    y: np.ndarray,
    device_us: np.ndarray,
    params: LatencyParams,
) -> SiteAttachment:
    """Attach compute sites to their nearest edge.

    Parameters
    ----------
    locator
        The network's locator.
    x, y
        Site coordinates in the local CRS.
    device_us
        Each site's own device latency ``S_s`` (µs).
    params
        The latency model.

    Returns
    -------
    SiteAttachment
    """
    loc = locator.locate(x, y, max_drop_m=params.max_drop_m)
    offset = np.asarray(device_us, float) + params.us_per_m * np.where(
        loc.edge >= 0, loc.drop, np.inf
    )
    return SiteAttachment(location=loc, offset_us=offset)


@dataclass(frozen=True, slots=True)
class LatencyField:
    """Latency at every node for one set of online sites; evaluates any located point.

    Attributes
    ----------
    network
        The network solved on.
    params
        The latency model.
    node_us
        ``min_s (offset_s + path)`` at each node, without ``E`` and factor; ``inf`` where no
        site is reachable.
    node_site
        The serving site (index into the sites passed to :func:`solve`) of each node,
        ``-1`` where none.
    sites
        Indices of the sites that took part (online and attached).
    attachment
        The attachment of all sites (also those that did not take part).
    """

    network: Network
    params: LatencyParams
    node_us: np.ndarray
    node_site: np.ndarray
    sites: np.ndarray
    attachment: SiteAttachment

    def at(
        self,
        loc: PointLocation,
        *,
        terms: AccessTerms | None = None,
        site_dtype: np.dtype[Any] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return latency (µs, ``inf`` where none) and serving site at located points.

        Parameters
        ----------
        loc
            Points located on the same network (:meth:`Locator.locate`). A point equally
            near several edges (ties) gets the minimum over them.
        terms
            ``access_terms(network, params, loc)`` of this field's network and parameters,
            to reuse when evaluating several fields at the same points (the same answer).
        site_dtype
            The serving sites' integer type (``int64`` when ``None``): the same values,
            made in it (no ``int64`` array of every point first). It must hold ``-1`` and
            every site index.

        Returns
        -------
        latency_us, site
            Latency including ``E``, extras and the round-trip factor; ``inf`` for points
            without access or with no reachable site. ``site`` is ``-1`` there.
        """
        if terms is None or not terms.fit(self):
            terms = access_terms(self.network, self.params, loc)
        # Only points with access are evaluated (in a metro most cells may have none).
        ok = terms.rows
        dtype = np.dtype(np.int64) if site_dtype is None else np.dtype(site_dtype)
        if len(ok) == len(loc):  # every point has access: its arrays are the answer
            latency, site = self._at_access(terms.nearest)
            site = site.astype(dtype, copy=False)
        else:
            latency = np.full(len(loc), np.inf)
            site = np.full(len(loc), NO_SITE, dtype=dtype)
            latency[ok], site[ok] = self._at_access(terms.nearest)
        if len(loc.tie_point):
            p = loc.tie_point
            tie_lat, tie_site = self._at_access(terms.ties)
            # Per point the lowest over its ties (first listed of equal), then against the
            # nearest edge's answer, which keeps a tie of equal latency.
            first = _lowest_first(p, tie_lat)
            lower = first[tie_lat[first] < latency[p[first]]]
            latency[p[lower]], site[p[lower]] = tie_lat[lower], tie_site[lower]
        return latency, site

    def _at_access(self, a: _Along) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`at` for points on ``a.edge`` at ``a.t``, ``a.drop`` away (all with access)."""
        p = self.params
        via_u = self.node_us[a.u] + a.to_u_us
        via_v = self.node_us[a.v] + a.to_v_us
        best = np.minimum(via_u, via_v)
        # The serving site of the nearer end: one gather, through the end's node.
        site = self.node_site[np.where(via_u <= via_v, a.u, a.v)]
        del via_u, via_v
        best, site = self._same_edge(a.edge, a.t, best, site)
        best, site = self._at_nodes(a.edge, a.t, best, site)
        latency, unreached = weigh_access(p, best, a.drop_us, in_place=True)
        site[unreached] = NO_SITE
        return latency, site

    def _same_edge(
        self, edge: np.ndarray, t: np.ndarray, best: np.ndarray, site: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Take the direct along-edge path from a site on the same edge as the point."""
        for s, on_edge, direct in direct_paths(
            self.network, self.attachment, self.params, self.sites, edge, t
        ):
            better = direct < best[on_edge]
            best[on_edge[better]] = direct[better]
            site[on_edge[better]] = s
        return best, site

    def _at_nodes(
        self, edge: np.ndarray, t: np.ndarray, best: np.ndarray, site: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reach a point projected onto a node through that node (see :func:`_at_node_end`)."""
        net = self.network
        if not net.node_device_us.any():  # no point is treated as at a node (no arrays made)
            return best, site
        at_u, at_v = _at_node_end(net, edge, t)
        idx = np.flatnonzero(at_u | at_v)
        if len(idx) == 0:
            return best, site
        e = edge[idx]
        node = np.where(at_u[idx], net.u[e], net.v[e])
        away = np.where(at_u[idx], t[idx], net.length[e] - t[idx])
        best[idx] = self.node_us[node] + self.params.us_per_m * away
        site[idx] = self.node_site[node]
        return best, site


def weigh_access(
    params: LatencyParams, best: np.ndarray, drop_us: np.ndarray, *, in_place: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``factor · ((E + best) + drop)`` (``inf`` where ``best`` is not) and where not.

    The last steps of every point's latency, in this order (:meth:`LatencyField.at`, and
    :func:`~latcircle.engine.persite.best_two_by_nodes`, which must give the same floats).
    ``in_place`` writes into ``best`` (the caller's own array).
    """
    unreached = ~np.isfinite(best)
    latency = np.add(best, params.fixed_us, out=best if in_place else None)
    latency += drop_us
    latency *= params.factor
    latency[unreached] = np.inf
    return latency, unreached


def direct_paths(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    sites: np.ndarray,
    edge: np.ndarray,
    t: np.ndarray,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield, per site entering mid-edge, the points on its edge and their direct path (µs).

    Each item is ``(site, rows, latency)``: the rows of the points (on ``edge`` at ``t``)
    that share the site's edge, and ``offset + us_per_m · |t - t_site|`` for them. A site
    at a node enters through it (the node's latency covers it), so it yields nothing.
    """
    s_site, s_edge, s_t = _site_entries(network, attachment, sites)
    at_u, at_v = _at_node_end(network, s_edge, s_t)
    mid = np.flatnonzero(~(at_u | at_v))
    if len(mid) == 0:
        return
    # One pass over the points finds those sharing an edge with any site (one lookup per
    # point in a per-edge table: np.isin's pass per site is slower); each site then looks
    # only at those (not at every point once per site).
    has_site = np.zeros(network.n_edges, dtype=bool)
    has_site[s_edge[mid][s_edge[mid] >= 0]] = True  # (-1 would name the last edge)
    shared = np.flatnonzero(has_site[edge])
    for i in mid:
        on_edge = shared[edge[shared] == s_edge[i]]
        if len(on_edge) == 0:
            continue
        s = int(s_site[i])
        direct = attachment.offset_us[s] + params.us_per_m * np.abs(t[on_edge] - s_t[i])
        yield s, on_edge, direct


def _lowest_first(point: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Per ``point``, the index of its lowest ``value`` (of equal ones the first listed).

    What ``np.lexsort((value, point))`` puts first in each point's run (NaN last: a point
    whose values are all NaN gets its first). Points as the locator lists them (ascending)
    take one pass over runs (``fmin.reduceat``) instead of a sort.
    """
    if len(point) == 0:
        return np.zeros(0, np.int64)
    if not (point[1:] >= point[:-1]).all():
        order = np.lexsort((value, point))
        return order[np.r_[True, point[order][1:] != point[order][:-1]]]
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(point)]))
    low = np.fmin.reduceat(value, starts)
    # A run of NaN only has no equal of its NaN minimum: its first entry stands for it.
    lead = np.zeros(len(point), dtype=bool)
    lead[starts] = True
    hit = np.flatnonzero((value == low[run]) | (np.isnan(low[run]) & lead))
    return hit[np.r_[True, run[hit][1:] != run[hit][:-1]]]


@dataclass(frozen=True, slots=True)
class _Along:
    """Points on edges: the edge, its ends, and the latency to each end and to the point."""

    edge: np.ndarray
    t: np.ndarray
    u: np.ndarray
    v: np.ndarray
    to_u_us: np.ndarray
    to_v_us: np.ndarray
    drop_us: np.ndarray

    @classmethod
    def of(
        cls,
        network: Network,
        params: LatencyParams,
        edge: np.ndarray,
        t: np.ndarray,
        drop: np.ndarray,
    ) -> _Along:
        """Gather and weigh, each value the same expression :meth:`LatencyField.at` uses."""
        return cls(
            edge=edge,
            t=t,
            u=network.u[edge],
            v=network.v[edge],
            to_u_us=params.us_per_m * t,
            to_v_us=params.us_per_m * (network.length[edge] - t),
            drop_us=params.us_per_m * drop,
        )


@dataclass(frozen=True, slots=True)
class AccessTerms:
    """What evaluating located points needs that no set of sites changes, gathered once.

    Built by :func:`access_terms`; passed to :meth:`LatencyField.at` of every field of the
    same network and parameters evaluated at the same points.
    """

    network: Network
    params: LatencyParams
    rows: np.ndarray
    nearest: _Along
    ties: _Along

    def fit(self, lat_field: LatencyField) -> bool:
        """Whether these terms are of ``lat_field``'s network and parameters."""
        return self.network is lat_field.network and self.params == lat_field.params


def access_terms(network: Network, params: LatencyParams, loc: PointLocation) -> AccessTerms:
    """Return the site-independent part of evaluating ``loc`` on ``network`` with ``params``.

    Parameters
    ----------
    network
        The network the points were located on.
    params
        The latency model.
    loc
        The located points.

    Returns
    -------
    AccessTerms
    """
    rows = np.flatnonzero(loc.edge >= 0)
    nearest = _Along.of(network, params, loc.edge[rows], loc.t[rows], loc.drop[rows])
    ties = _Along.of(network, params, loc.tie_edge, loc.tie_t, loc.drop[loc.tie_point])
    return AccessTerms(network=network, params=params, rows=rows, nearest=nearest, ties=ties)


def _site_entries(
    network: Network, attachment: SiteAttachment, sites: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the ``sites`` enter the network: (site, edge, t), nearest edge then ties.

    A site equally near several edges enters through each of them.
    """
    loc = attachment.location
    tie = np.isin(loc.tie_point, sites)
    return (
        np.concatenate([sites, loc.tie_point[tie]]).astype(np.int64),
        np.concatenate([loc.edge[sites], loc.tie_edge[tie]]).astype(np.int64),
        np.concatenate([loc.t[sites], loc.tie_t[tie]]),
    )


def solve(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    *,
    online: np.ndarray | None = None,
    arcs: csr_matrix | None = None,
) -> LatencyField:
    """Run one multi-source Dijkstra pass from every online, attached site.

    Parameters
    ----------
    network
        The network.
    attachment
        All sites' attachment (:func:`attach_sites`).
    params
        The latency model.
    online
        Boolean mask of the sites taking part (e.g. online in the scenario year); all when
        ``None``.
    arcs
        The network's arc matrix from :func:`arc_matrix`, to reuse across calls.

    Returns
    -------
    LatencyField
    """
    n = network.n_nodes
    use = attachment.attached.copy()
    if online is not None:
        use &= np.asarray(online, bool)
    sites = np.flatnonzero(use)
    if arcs is None:
        arcs = arc_matrix(network, params)
    if len(sites) == 0:
        return LatencyField(
            network=network,
            params=params,
            node_us=np.full(n, np.inf),
            node_site=np.full(n, NO_SITE, np.int64),
            sites=sites,
            attachment=attachment,
        )
    src_node, src_w, src_site = _source_arcs(network, attachment, params, sites)
    graph = _with_source(arcs, src_node, src_w)
    dist, pred = dijkstra(graph, directed=True, indices=n, return_predecessors=True)
    node_us = dist[:n]
    node_site = _serving_site(pred[:n], n, src_node, src_site)
    return LatencyField(
        network=network,
        params=params,
        node_us=node_us,
        node_site=node_site,
        sites=sites,
        attachment=attachment,
    )


def solve_each(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    *,
    sites: np.ndarray,
    arcs: csr_matrix | None = None,
    batch: int = 32,
) -> Iterator[LatencyField]:
    """Yield the field of each of ``sites`` alone, as :func:`solve` with only it online.

    A batch of sites is solved in one Dijkstra call, each site from its own super-source
    (a node with arcs to its entry nodes only): the same relaxations over the same arcs as
    :func:`solve`, so the node latencies are the same, bit for bit, and the serving site is
    that site wherever one is reachable. For what-if questions about many single sites
    (the map's candidates) without building the graph once per site.

    Parameters
    ----------
    network
        The network.
    attachment
        All sites' attachment (:func:`attach_sites`).
    params
        The latency model.
    sites
        Indices (into the attachment) of the sites, in the order to yield them.
    arcs
        The network's arc matrix from :func:`arc_matrix`, to reuse across calls.
    batch
        Sites per Dijkstra call (memory: ``batch`` rows of node latencies).

    Yields
    ------
    LatencyField
    """
    n = network.n_nodes
    if arcs is None:
        arcs = arc_matrix(network, params)
    sites = np.asarray(sites, dtype=np.int64)
    for start in range(0, len(sites), batch):
        chunk = sites[start : start + batch]
        entries = [
            _source_arcs(network, attachment, params, np.array([s]))
            if attachment.attached[s]
            else (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
            for s in chunk
        ]
        counts = np.array([len(e[0]) for e in entries], dtype=np.int64)
        m = len(chunk)
        indptr = np.concatenate([arcs.indptr, arcs.indptr[-1] + np.cumsum(counts)])
        indices = np.concatenate([arcs.indices, *[e[0] for e in entries]])
        data = np.concatenate([arcs.data, *[e[1] for e in entries]])
        graph = csr_matrix(
            (data, indices.astype(arcs.indices.dtype, copy=False), indptr),
            shape=(n + m, n + m),
        )
        dist = dijkstra(graph, directed=True, indices=np.arange(n, n + m))
        for i, s in enumerate(chunk):
            node_us = dist[i, :n].copy()
            yield LatencyField(
                network=network,
                params=params,
                node_us=node_us,
                node_site=np.where(np.isfinite(node_us), s, NO_SITE).astype(np.int64),
                sites=np.array([s] if attachment.attached[s] else [], dtype=np.int64),
                attachment=attachment,
            )


def arc_matrix(network: Network, params: LatencyParams) -> csr_matrix:
    """Return the directed arc matrix: ``k·r·ℓ`` plus the device latency of the head node.

    Only what can shorten a path: self-loops are left out, and of parallel edges (lines
    between the same two nodes) the lightest arc is kept, since csr_matrix would sum them.
    The others stay edges of the network: located on and evaluated along exactly.

    Parameters
    ----------
    network
        The network.
    params
        The latency model (for ``k·r``).
    """
    n = network.n_nodes
    # Node indices as the matrix will hold them (32 bits while they fit): no 64-bit copies
    # for scipy to convert, and the weights summed in place (the same sums).
    idx = np.int32 if n < np.iinfo(np.int32).max else np.int64
    tail = np.concatenate([network.u, network.v], dtype=idx, casting="same_kind")
    head = np.concatenate([network.v, network.u], dtype=idx, casting="same_kind")
    w = params.us_per_m * network.length
    weight = np.concatenate([w, w])
    del w
    weight += network.node_device_us[head]
    if not _may_repeat_arcs(network):
        return csr_matrix((weight, (tail, head)), shape=(n, n))
    arc = tail != head
    tail, head, weight = tail[arc], head[arc], weight[arc]
    # Only the arcs whose (tail, head) repeats are sorted (a hash finds them, a few dozen in
    # a city); csr_matrix sorts the columns of each row, so the order of the rest is moot.
    key = tail.astype(np.int64) * n + head
    rep = np.flatnonzero(pd.Series(key).duplicated(keep=False).to_numpy())
    order = rep[np.lexsort((weight[rep], head[rep], tail[rep]))]
    t, h = tail[order], head[order]
    first = order[np.r_[True, (t[1:] != t[:-1]) | (h[1:] != h[:-1])][: len(order)]]
    keep = np.ones(len(tail), dtype=bool)
    keep[rep] = False
    keep[first] = True
    return csr_matrix((weight[keep], (tail[keep], head[keep])), shape=(n, n))


def _may_repeat_arcs(network: Network) -> bool:
    """Whether some (tail, head) may carry several arcs, or a node one to itself.

    Known not to when the build counted no self-loop and no parallel line, and no edge has
    an online year (parallels of different years are not counted as collapsed). A network
    without those counts (built by hand) is deduplicated, which is always right; a subset
    keeps its whole network's counts, which can only overstate.
    """
    st = network.stats
    return (
        network.edge_online_year is not None
        or st.get("self_loops", 1) > 0
        or st.get("parallel_edges_collapsed", 1) > 0
    )


def _at_node_end(
    network: Network, edge: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return which located points sit on their edge's ``u`` node, and which on its ``v``.

    A point projected onto a node is equally near every edge ending there. With per-node
    device latency the edge it is reported on would matter (arriving along an edge does
    not enter its end node), and which edge the locator reports is a tie-break that changes
    with ``piece_m``. So such a point is *at the node*: a site there enters the network
    through the node, a location there is reached through it. Without device latency every
    edge gives the same answer, and no point is treated specially.
    """
    if not network.node_device_us.any():
        none = np.zeros(len(edge), dtype=bool)
        return none, none
    ok = edge >= 0
    e = np.where(ok, edge, 0)
    at_u = ok & (t <= AT_NODE_M)
    at_v = ok & ~at_u & (t >= network.length[e] - AT_NODE_M)
    return at_u, at_v


def site_source_arcs(
    network: Network, attachment: SiteAttachment, params: LatencyParams, site: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the arcs ``(node, weight)`` by which one site enters :func:`solve_each`'s graph.

    Its super-source's arcs, by node: two fields solved over the same arcs from sources with
    the same arcs have the same node latencies (a Dijkstra's distances are a function of
    the graph), which lets another computation from that site reuse its field.

    Parameters
    ----------
    network, attachment, params
        As for :func:`solve_each`.
    site
        The site's index (into the attachment).
    """
    if not attachment.attached[site]:
        return np.zeros(0, np.int64), np.zeros(0)
    node, w, _ = _source_arcs(network, attachment, params, np.array([site]))
    return node, w


def _source_arcs(
    network: Network, attachment: SiteAttachment, params: LatencyParams, sites: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Super-source arcs to both ends of each site's edge(s), the lightest per node."""
    site, e, t = _site_entries(network, attachment, sites)
    off = attachment.offset_us[site]
    node = np.concatenate([network.u[e], network.v[e]])
    w = (
        np.concatenate([off + params.us_per_m * t, off + params.us_per_m * (network.length[e] - t)])
        + network.node_device_us[node]
    )
    site = np.concatenate([site, site])
    at_u, at_v = _at_node_end(network, e, t)
    keep = np.concatenate([~at_v, ~at_u])  # a site at a node enters through that node only
    node, w, site = node[keep], w[keep], site[keep]
    order = np.lexsort((site, w, node))  # per node: lightest first, ties to the lower site index
    node, w, site = node[order], w[order], site[order]
    first = np.r_[True, node[1:] != node[:-1]]
    return node[first], w[first], site[first]


def _with_source(arcs: csr_matrix, src_node: np.ndarray, src_w: np.ndarray) -> csr_matrix:
    """Append the super-source as node ``n`` with arcs to ``src_node``."""
    n = arcs.shape[0]
    indptr = np.concatenate([arcs.indptr, [arcs.indptr[-1] + len(src_node)]])
    indices = np.concatenate([arcs.indices, src_node]).astype(arcs.indices.dtype, copy=False)
    data = np.concatenate([arcs.data, src_w])
    # Rows 0..n-1 keep their arcs; the new last row is the source. The matrix is square n+1.
    return csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))


def _serving_site(
    pred: np.ndarray, source: int, src_node: np.ndarray, src_site: np.ndarray
) -> np.ndarray:
    """Follow predecessors up to the node the super-source entered by (pointer jumping)."""
    n = len(pred)
    root = np.arange(n)
    parent = np.where((pred >= 0) & (pred != source), pred, root)
    reached = pred >= 0
    # Doubling: after step i every node points 2**i levels up; O(n log depth).
    while True:
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    site_of_root = np.full(n, NO_SITE, dtype=np.int64)
    site_of_root[src_node] = src_site
    out = site_of_root[parent]
    out[~reached] = NO_SITE
    return out
