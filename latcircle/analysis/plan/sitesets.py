"""The site builds' coverage sets, grouped, with a proven shortcut for a site that covers all.

Each site is solved alone with the engine (:func:`~latcircle.engine.latency.solve_each`, the
same latencies bit for bit as :func:`~latcircle.engine.latency.solve`). Evaluating it at every
point (``LatencyField.at``) is what a site's set costs, and on the demo every site covers
every point with access that its part of the network reaches. So, before evaluating:

**The shortcut (exact).** For a point ``p`` on edge ``(u, v)`` the engine computes
``best = min(n_u + a_u, n_v + a_v)`` (lowered only by a site on the same edge), then
``((best + E) + drop) · factor`` and compares it with the budget; every step is a
monotone floating-point operation. Take for ``p`` one end ``e_p`` (the nearer, ``a_p`` its
term): ``best ≤ n_{e_p} + a_p``. ``M*`` is the largest node latency ``M`` with
``((M + a_p + E) + drop_p) · factor ≤ budget`` at every point, found once by bisection over
the floats with the engine's own operations, so a point exactly at the budget counts as the
engine counts it. A site whose largest finite ``n_{e_p}`` is ≤ ``M*`` covers every point whose
``e_p`` it reaches; it reaches whole connected components (an unbounded Dijkstra over
symmetric arcs), so its set is the points of the components it reaches, without evaluating
any. Points equally near several edges (ties), and with per-node device latency the points
at a node, are always evaluated.

**The shortcut without the site's own solve (exact).** When no point needs evaluating and
there are fewer ends ``e_p`` than sites, one Dijkstra per end on the reversed arcs gives
``R(x, e)``, the latency of a path from every node ``x`` to ``e``; a site entering at nodes
``x_i`` with arc latencies ``w_i`` then has ``n_e ≤ min_i (w_i + R(x_i, e))`` up to rounding:
its own solve's value is at most the floating sum along that path, which is within a factor
``((1 + u) / (1 − u))^K`` (``u`` the unit roundoff, ``K`` ≤ nodes + 2 terms) of the reverse
sum. A site whose bound, so inflated (:func:`_relax`), is ≤ ``M*`` at every end it reaches
(reached exactly when the reverse latency is finite) takes the shortcut unsolved; any other
is solved as before. Only the speed depends on this: the sets are the same, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from latcircle.analysis.coverage import covered
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan.core import _Pool, _pool_index, _progress
from latcircle.analysis.plan.groups import Refinement, pair_groups
from latcircle.analysis.plan.views import YearView
from latcircle.config import LatencyParams
from latcircle.engine.latency import AT_NODE_M, access_terms, site_source_arcs, solve_each
from latcircle.engine.locator import PointLocation

__all__ = ["site_groups"]

#: Reverse solves per Dijkstra call (memory: this many rows of node latencies).
REVERSE_BATCH = 32


def site_groups(
    view: YearView,
    metro: Metro,
    pool: _Pool,
    builds: gpd.GeoDataFrame,
    basis: str,
    rows: np.ndarray,
    *,
    budget_ms: float,
    prove: bool = True,
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Return the site builds' sets on a year's network, grouped: each row's group, the sets.

    The sets' columns are the site builds (``kind != "access"``), in their order. ``prove``:
    take the shortcut without a site's own solve where the reverse bound proves it (module
    docstring; the same sets either way).
    """
    sites = builds[builds["kind"] != "access"]
    n = len(sites)
    samples = view.samples[basis]
    reach = rows[samples.location.has_access[rows]]
    if n == 0 or len(reach) == 0:
        return np.zeros(len(rows), np.int64), sp.csr_matrix((1, n), dtype=bool)
    where = np.searchsorted(rows, reach)
    # ``take`` keeps the ties: a point equally near several edges is evaluated over each of
    # them, as a run evaluates it (dropping them changed the sets on lattice pixels).
    loc = samples.location.take(reach)
    short = _Shortcut.of(view, metro.params, loc, budget_ms=budget_ms)
    # What evaluating the points needs that no site changes, gathered once for all sites.
    terms = access_terms(view.network, metro.params, loc)
    few = loc.take(short.special)
    few_terms = access_terms(view.network, metro.params, few)
    refine = Refinement(np.zeros(len(rows), np.int64), 1)
    index = _pool_index(pool, sites)
    # Per site, the components it covers whole; those proven so need no solve of their own.
    # Fewer reverse solves (one per end) than the site solves they may replace: try them.
    worth = prove and len(short.ends) < n
    proven, full = _proven(view, metro.params, index, short) if worth else _unproven(n, short)
    todo = np.flatnonzero(~proven)
    fields = solve_each(
        view.network, view.attachment, metro.params, sites=index[todo], arcs=view.arcs
    )
    steps = _progress(range(len(todo)), "coverage sets", len(todo))
    for j, one in zip((int(todo[i]) for i in steps), fields, strict=True):
        comps = short.covers(one.node_us)
        if comps is None:
            hit = where[covered(one.at(loc, terms=terms)[0], budget_ms=budget_ms)]
        elif len(short.special):
            full[j] = comps
            ok = covered(one.at(few, terms=few_terms)[0], budget_ms=budget_ms)
            hit = where[short.special[ok]]
        else:  # nothing to evaluate (an empty evaluation still costs its set-up)
            full[j] = comps
            continue
        refine.split(hit, j)
    exact_of, exact = refine.groups(sp.csr_matrix((1, n), dtype=bool))
    comp_of = np.zeros(len(rows), np.int64)  # 0: no component (no access, or evaluated)
    comp_of[where[short.plain]] = 1 + short.comp
    whole = sp.csr_matrix(np.vstack([np.zeros((1, n), bool), full.T]))
    return pair_groups(exact_of, comp_of, exact, whole)


def _unproven(n: int, short: _Shortcut) -> tuple[np.ndarray, np.ndarray]:
    """No site proven: every site is solved."""
    return np.zeros(n, bool), np.zeros((n, short.n_comp), bool)


def _proven(
    view: YearView, params: LatencyParams, sites: np.ndarray, short: _Shortcut
) -> tuple[np.ndarray, np.ndarray]:
    """Per site, whether the reverse bound proves the shortcut, and then its components.

    Only when no point needs evaluating (the shortcut then needs no field at all): else
    none is proven.
    """
    proven, comps = _unproven(len(sites), short)
    if len(short.special) or not np.isfinite(short.m_star):
        return proven, comps
    bound = _entry_bounds(view, params, sites, short.ends)  # (ends, sites); inf: unreached
    relax = _relax(view.network.n_nodes)
    for j in range(len(sites)):
        fin = np.isfinite(bound[:, j])
        comps[j, short.end_comp[fin]] = True
        if not fin.any():
            proven[j] = True  # reaches no end: covers no component (as its solve finds)
        elif np.array_equal(fin, comps[j, short.end_comp]):
            proven[j] = bool(bound[fin, j].max() * relax <= short.m_star)
    comps[~proven] = False
    return proven, comps


def _entry_bounds(
    view: YearView, params: LatencyParams, sites: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Per end and site, ``min_i (w_i + R(x_i, end))`` over the site's entry arcs (inf: none)."""
    entries = [site_source_arcs(view.network, view.attachment, params, int(s)) for s in sites]
    counts = np.array([len(e[0]) for e in entries], np.int64)
    out = np.full((len(ends), len(sites)), np.inf)
    has = np.flatnonzero(counts)
    if len(has) == 0:
        return out
    node = np.concatenate([entries[j][0] for j in has])
    w = np.concatenate([entries[j][1] for j in has])
    starts = np.r_[0, np.cumsum(counts[has])[:-1]]
    reverse = view.arcs.T.tocsr()  # paths into each end: the forward arcs, reversed
    for lo in range(0, len(ends), REVERSE_BATCH):
        dist = dijkstra(reverse, directed=True, indices=ends[lo : lo + REVERSE_BATCH])
        via = dist[:, node] + w
        out[lo : lo + REVERSE_BATCH, has] = np.minimum.reduceat(via, starts, axis=1)
    return out


def _relax(n_nodes: int) -> float:
    """Return the factor covering the rounding between a path's sum forward and reversed.

    A floating sum of ``K`` non-negative terms lies within ``(1 ± u)^K`` of the exact sum;
    forward over reverse, plus the two roundings of the bound itself, is below
    ``exp(2u(K + 2))`` with ``K ≤ n_nodes + 2``: ``1 + 4u(n_nodes + 4)`` is above that.
    """
    u = float(np.finfo(float).eps) / 2.0
    return 1.0 + 4.0 * u * (n_nodes + 4)


@dataclass(frozen=True)
class _Shortcut:
    """When a site covers every point of the components it reaches (module docstring).

    Attributes
    ----------
    plain, special
        Indices of the points the shortcut judges, and of those always evaluated.
    comp
        Per plain point, its component (0 … ``n_comp`` − 1).
    n_comp
        Number of components.
    ends
        The nodes ``e_p`` (distinct), and ``end_comp`` their components.
    m_star
        ``M*``; −inf when no node latency covers every plain point.
    """

    plain: np.ndarray
    special: np.ndarray
    comp: np.ndarray
    n_comp: int
    ends: np.ndarray
    end_comp: np.ndarray
    m_star: float

    @classmethod
    def of(
        cls, view: YearView, params: LatencyParams, loc: PointLocation, *, budget_ms: float
    ) -> _Shortcut:
        """Split the points, find their components and ``M*``."""
        net = view.network
        special = np.zeros(len(loc), bool)
        special[loc.tie_point] = True
        if net.node_device_us.any():  # points at a node are reached through it: evaluated
            special |= (loc.t <= AT_NODE_M) | (loc.t >= net.length[loc.edge] - AT_NODE_M)
        plain = np.flatnonzero(~special)
        e, t = loc.edge[plain], loc.t[plain]
        # The engine's terms (latency._Along.of): the same expressions, the same floats.
        to_u = params.us_per_m * t
        to_v = params.us_per_m * (net.length[e] - t)
        drop_us = params.us_per_m * loc.drop[plain]
        near_u = to_u <= to_v
        node = np.where(near_u, net.u[e], net.v[e])
        a = np.where(near_u, to_u, to_v)
        n_comp, label = connected_components(view.arcs, directed=True, connection="weak")
        ends = np.unique(node)
        return cls(
            plain=plain,
            special=np.flatnonzero(special),
            comp=label[node],
            n_comp=int(n_comp),
            ends=ends,
            end_comp=label[ends],
            m_star=_m_star(a, drop_us, params, budget_ms=budget_ms) if len(plain) else -np.inf,
        )

    def covers(self, node_us: np.ndarray) -> np.ndarray | None:
        """Per component, whether the site covers its plain points; ``None``: evaluate."""
        n = node_us[self.ends]
        fin = np.isfinite(n)
        comps = np.zeros(self.n_comp, bool)
        comps[self.end_comp[fin]] = True
        if not fin.any():
            return comps
        if n[fin].max() > self.m_star or not np.array_equal(fin, comps[self.end_comp]):
            return None
        return comps


def _m_star(
    a: np.ndarray, drop_us: np.ndarray, params: LatencyParams, *, budget_ms: float
) -> float:
    """Return the largest node latency ``M`` ≥ 0 covering every point through ``M + a``."""

    def all_covered(m: float) -> bool:
        lat = np.add(m + a, params.fixed_us)  # LatencyField._at_access's operations, in order
        lat += drop_us
        lat *= params.factor
        return bool(covered(lat, budget_ms=budget_ms).all())

    if not all_covered(0.0):
        return -np.inf
    # Non-negative floats order as their bit patterns: bisect those.
    lo, hi = 0, int(np.float64(np.inf).view(np.int64))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if all_covered(float(np.int64(mid).view(np.float64))):
            lo = mid
        else:
            hi = mid
    return float(np.int64(lo).view(np.float64))
