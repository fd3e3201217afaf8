"""The interconnect tier: one-way optical latency between the metro's compute centres.

MIIT's city action (Oct 2025) asks that medium-and-larger compute centres of a metro reach
each other within 1 ms one way on the optical layer. :func:`interconnect_table` gives that
latency for every pair of such sites; :func:`pair_latency` is the exact pairwise computation
on the split-edge network (one Dijkstra per site, from a source node of its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from latcircle.analysis.coverage import covered
from latcircle.analysis.metro import Metro
from latcircle.engine.latency import SiteAttachment, site_source_arcs
from latcircle.engine.network import Network
from latcircle.errors import InputError

__all__ = [
    "INTERCONNECT_BUDGET_MS",
    "INTERCONNECT_COLUMNS",
    "INTERCONNECT_TIERS",
    "interconnect_sites",
    "interconnect_table",
    "pair_latency",
]

#: The interconnect tier's budget: one-way, optical layer (MIIT city action, Oct 2025).
INTERCONNECT_BUDGET_MS = 1.0
#: Site tiers taking part in the interconnect tier ("medium and larger compute centres").
INTERCONNECT_TIERS = ("large", "medium")

INTERCONNECT_COLUMNS = [
    "site_a",
    "site_b",
    "name_a",
    "name_b",
    "tier_a",
    "tier_b",
    "online_year",
    "reachable",
    "latency_us",
    "budget_us",
    "over_budget",
]


def interconnect_table(
    metro: Metro,
    *,
    year: int | None = None,
    tiers: Sequence[str] = INTERCONNECT_TIERS,
    budget_ms: float = INTERCONNECT_BUDGET_MS,
    fields: Mapping[int, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Return the one-way optical latency between every pair of large and medium sites.

    For sites ``a`` and ``b`` attached to the network at ``q_a`` and ``q_b``::

        L(a, b) = E + S_a + k·r·|a − q_a| + k·r·d_G(q_a, q_b) + ΣD + k·r·|b − q_b| + S_b

    both sites' devices and both drops, the fixed equipment latency ``E`` once, and the
    device latency of every network node passed. The tier is always judged one-way on the
    optical layer: the router/access extras of the ``end_to_end`` preset and the round-trip
    factor are left out. Distances come from one Dijkstra per site, from a source node of
    its own joined to both ends of its edge; two sites on the same edge also get the direct
    along-edge path (the exact split-edge graph).

    Parameters
    ----------
    metro
        The prepared metro.
    year
        Only sites online in this year; every site when ``None``.
    tiers
        Site tiers taking part (compared case-insensitively).
    budget_ms
        The interconnect budget.
    fields
        Node latencies already solved from single sites on the network of ``year``
        (:func:`latcircle.engine.latency.solve_each`'s ``node_us``, by site index: the
        protection stage's). A site whose super-source arcs there are this table's own
        (:func:`latcircle.engine.latency.site_source_arcs`) takes its distances from its
        field instead of a Dijkstra of its own: the same graph, so the same floats. Other
        sites are solved here.

    Returns
    -------
    pandas.DataFrame
        One row per pair ``a < b`` in sites-file order, columns
        :data:`INTERCONNECT_COLUMNS`. ``online_year`` is the later of the two sites' years
        (when the link can first exist). ``latency_us`` is empty and ``over_budget`` true
        for a pair not connected by the network (different components, or a site beyond the
        max drop).
    """
    sites = metro.inputs.sites
    wanted = {t.lower() for t in tiers}
    idx = interconnect_sites(metro, year=year, tiers=tiers)
    _check_pair_memory(len(idx), metro.config.sites.path, sorted(wanted))
    view = metro.view(year)  # the links built by then
    known = {int(s): fields[int(s)] for s in idx if fields is not None and int(s) in fields}
    lat = pair_latency(
        view.network,
        view.attachment,
        view.arcs,
        idx,
        us_per_m=metro.params.us_per_m,
        fixed_us=metro.params.equipment_us,
        known={
            int(s): (node_us, site_source_arcs(view.network, view.attachment, metro.params, s))
            for s, node_us in known.items()
        },
    )
    return _interconnect_rows(sites, idx, lat, budget_ms)


def interconnect_sites(
    metro: Metro, *, year: int | None = None, tiers: Sequence[str] = INTERCONNECT_TIERS
) -> np.ndarray:
    """Return the indices of the sites :func:`interconnect_table` pairs (tiers, online).

    Parameters
    ----------
    metro
        The prepared metro.
    year
        Only sites online in this year; every site when ``None``.
    tiers
        Site tiers taking part (compared case-insensitively).
    """
    sites = metro.inputs.sites
    wanted = {t.lower() for t in tiers}
    pick = sites["tier"].str.lower().isin(wanted).to_numpy(dtype=bool) & metro.online(year)
    return np.flatnonzero(pick)


#: Peak bytes per (site, site) cell of the interconnect computation: the node-distance
#: matrix (up to 2m x 2m floats: 32), the pair matrices (best, a term, a temporary, the direct
#: path: 32), and the table (half the cells, ~11 columns: 44), rounded up.
BYTES_PER_SITE_PAIR = 128
#: Memory the interconnect table may ask for: 4,096 sites of the tiers compared need 2 GiB.
MAX_INTERCONNECT_BYTES = 2 * 1024**3


def _check_pair_memory(m: int, source: Path, tiers: list[str]) -> None:
    """Refuse an interconnect table too large for memory, before allocating (Python ints)."""
    need = BYTES_PER_SITE_PAIR * int(m) * int(m)
    if need > MAX_INTERCONNECT_BYTES:
        fits = int((MAX_INTERCONNECT_BYTES // BYTES_PER_SITE_PAIR) ** 0.5)
        problem = (
            f"{m:,} sites of tiers {', '.join(tiers)} make {m * (m - 1) // 2:,} interconnect "
            f"pairs, about {need / 1024**3:,.1f} GiB to compute, over the limit of "
            f"{MAX_INTERCONNECT_BYTES / 1024**3:g} GiB: give at most {fits:,} sites those tiers"
        )
        raise InputError(source, "tier", problem)


def pair_latency(
    network: Network,
    attachment: SiteAttachment,
    arcs: csr_matrix,
    sites: np.ndarray,
    *,
    us_per_m: float,
    fixed_us: float,
    chunk: int = 64,
    known: Mapping[int, tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]] | None = None,
) -> np.ndarray:
    """Return the one-way latency matrix between sites (µs, ``inf`` where unreachable).

    Parameters
    ----------
    network
        The network.
    attachment
        Every site's attachment.
    arcs
        The network's arc matrix (:func:`latcircle.engine.latency.arc_matrix`).
    sites
        Indices of the sites to pair.
    us_per_m
        ``k·r``.
    fixed_us
        Latency added once to every path (``E``).
    chunk
        Dijkstra sources per call (bounds memory at ``chunk × nodes`` floats).
    known
        By site index: node latencies solved from that site alone, and the super-source
        arcs ``(node, weight)`` they were solved from. Used for a site whose own arcs here
        are exactly those (same nodes, same weights bit for bit), in place of its Dijkstra.

    Returns
    -------
    numpy.ndarray
        ``(m, m)``, symmetric; the diagonal is the latency of a zero-length path.
    """
    loc = attachment.location
    m = len(sites)
    ok = loc.edge[sites] >= 0
    edge = np.where(ok, loc.edge[sites], 0)
    t = np.where(ok, loc.t[sites], 0.0)
    off = np.where(ok, attachment.offset_us[sites], np.inf)
    ends = np.column_stack([network.u[edge], network.v[edge]])
    along = us_per_m * np.column_stack([t, network.length[edge] - t])
    leave = off[:, None] + along + network.node_device_us[ends]  # site -> end node, D charged
    arrive = off[:, None] + along  # end node -> site
    best = np.full((m, m), np.inf)
    if ok.any():
        reach = _site_distances(arcs, ends, leave, ok, chunk, _reusable(sites, ends, leave, known))
        for j in (0, 1):
            best = np.minimum(best, reach[:, :, j] + arrive[:, j][None, :])
        same = (edge[:, None] == edge[None, :]) & ok[:, None] & ok[None, :]
        direct = off[:, None] + off[None, :] + us_per_m * np.abs(t[:, None] - t[None, :])
        best = np.where(same, np.minimum(best, direct), best)
    best[~ok, :] = np.inf
    best[:, ~ok] = np.inf
    return fixed_us + best


def _source_weights(ends: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """Each site's arc weight to each end of its edge; a loop edge's one arc, the lighter."""
    loop = ends[:, 0] == ends[:, 1]
    return np.column_stack([np.where(loop, leave.min(axis=1), leave[:, 0]), leave[:, 1]])


def _reusable(
    sites: np.ndarray,
    ends: np.ndarray,
    leave: np.ndarray,
    known: Mapping[int, tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]] | None,
) -> dict[int, np.ndarray]:
    """Positions of the sites whose known field was solved from this table's very arcs."""
    out: dict[int, np.ndarray] = {}
    if not known:
        return out
    w = _source_weights(ends, leave)
    for a, s in enumerate(sites):
        entry = known.get(int(s))
        if entry is None:
            continue
        node_us, (node, weight) = entry
        mine = 1 if ends[a, 0] == ends[a, 1] else 2
        order = np.argsort(ends[a, :mine], kind="stable")
        same = (
            len(node) == mine
            and np.array_equal(node, ends[a, :mine][order])
            and weight.tobytes() == w[a, :mine][order].tobytes()
        )
        if same:
            out[a] = node_us
    return out


def _site_distances(
    arcs: csr_matrix,
    ends: np.ndarray,
    leave: np.ndarray,
    ok: np.ndarray,
    chunk: int,
    reuse: Mapping[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Latency from each site, leaving by either end of its edge, to both ends of every edge.

    One Dijkstra per site (not one per end node, twice as many): each site is a source node
    of its own, appended to the graph with an arc of weight ``leave`` to each end of its
    edge. Nothing enters a source node, so no path passes through one.

    ``reuse`` (by position) gives a site's node latencies from a field solved over the same
    arcs from the same source arcs (:func:`_reusable`): read there, not solved again.

    Returns
    -------
    numpy.ndarray
        ``(m, m, 2)``: ``[a, b, j]`` is the latency from site ``a`` to end ``j`` of site
        ``b``'s edge (``inf`` for a site not on the network, or unreachable).
    """
    n, m = arcs.shape[0], len(ends)
    out = np.full((m, m, 2), np.inf)
    reuse = reuse or {}
    for a, node_us in reuse.items():
        out[a] = node_us[ends]
    ok = ok & ~np.isin(np.arange(m), list(reuse))
    if not ok.any():
        return out
    loop = ends[:, 0] == ends[:, 1]
    # A loop edge's two ends are one node: one arc, the lighter (csr would not take a min).
    w = _source_weights(ends, leave)
    keep = np.column_stack([ok, ok & ~loop])
    indptr = np.concatenate([arcs.indptr, arcs.indptr[-1] + np.cumsum(keep.sum(axis=1))])
    graph = csr_matrix(
        (
            np.concatenate([arcs.data, w[keep]]),
            np.concatenate([arcs.indices, ends[keep]]).astype(arcs.indices.dtype, copy=False),
            indptr,
        ),
        shape=(n + m, n + m),
    )
    sources = np.flatnonzero(ok)
    for lo in range(0, len(sources), chunk):
        src = sources[lo : lo + chunk]
        dist = np.atleast_2d(dijkstra(graph, directed=True, indices=n + src))
        out[src] = dist[:, ends]
    return out


def _interconnect_rows(
    sites: gpd.GeoDataFrame, idx: np.ndarray, lat: np.ndarray, budget_ms: float
) -> pd.DataFrame:
    a, b = np.triu_indices(len(idx), k=1)
    ia, ib = idx[a], idx[b]
    value = lat[a, b]
    reach = np.isfinite(value)
    years = sites["online_year"].astype("Int64").to_numpy(dtype="float64", na_value=np.nan)
    later = np.fmax(years[ia], years[ib])
    budget_us = budget_ms * 1000.0
    out = pd.DataFrame(
        {
            "site_a": sites["site_id"].to_numpy()[ia],
            "site_b": sites["site_id"].to_numpy()[ib],
            "name_a": sites["name"].to_numpy()[ia],
            "name_b": sites["name"].to_numpy()[ib],
            "tier_a": sites["tier"].to_numpy()[ia],
            "tier_b": sites["tier"].to_numpy()[ib],
            "online_year": pd.array(np.where(np.isnan(later), None, later), dtype="Int64"),
            "reachable": reach,
            "latency_us": np.where(reach, value, np.nan),
            "budget_us": budget_us,
            "over_budget": ~reach | ~covered(value, budget_ms=budget_ms),
        }
    )
    return out[INTERCONNECT_COLUMNS]
