"""Protected plans (``--protect``): a demand point counts only when two sites cover it.

A point is **protected** in a year when at least :data:`COVERS` of the sites online then
bring it within the budget *each on its own* (one engine solve per site, as the coverage
sets do): it stays covered when any one site fails. The plan is a staged partial
**set multicover** solved to optimality by HiGHS (``scipy.optimize.milp``):

* ``x[t, j]`` (binary): build ``j`` exists by goal ``t`` (nested: ``x[t, j] <= x[t+1, j]``;
  zero before its earliest year);
* ``z[t, i]`` (binary): point ``i`` is protected by goal ``t``, only when
  ``COVERS * z[t, i] <= have[t, i] + sum_j A[t, i, j] x[t, j]`` (``have``: the existing
  sites online then that cover it, at most ``COVERS``);
* ``sum_i w_i z[t, i] >= target_t * total - protected weight already``; minimum total cost
  of the last goal's builds, within ``--max-sites`` / ``--max-cost``.

Only site builds (candidates, known data centres, sites brought forward) are considered:
a fibre spur gives access, not a second site, so access builds are left out. The plan is
checked closed loop: the planned sites are read back from their sites file, put on the
network as a run would, and every point's latency from its best and second-best site
(:func:`~latcircle.engine.persite.site_latencies`) decides the protected share.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from latcircle.analysis.coverage import Samples, covered, share_of
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan.candidates import candidate_builds
from latcircle.analysis.plan.core import (
    CoverageSets,
    Goal,
    _Pool,
    _pool_index,
    _year_views,
)
from latcircle.analysis.plan.network import SPUR_TABLE_COLUMNS, network_layers, spur_table
from latcircle.analysis.plan.planner import PlanResult, _candidates
from latcircle.analysis.plan.sites import _pool, _sites_gdf, _sites_planned
from latcircle.analysis.plan.tables import PLAN_COLUMNS
from latcircle.analysis.plan.views import YearView
from latcircle.analysis.progress import meets
from latcircle.engine.latency import access_terms, solve_each
from latcircle.engine.persite import site_latencies
from latcircle.errors import InputError

__all__ = ["COVERS", "Multicover", "multicover", "plan_protected", "protected_share"]

#: Sites that must cover a point for it to count (one may fail).
COVERS = 2


@dataclass(frozen=True)
class Multicover:
    """A solved staged multicover: per stage the builds by then, the cost, the status."""

    built: list[np.ndarray]
    cost: float
    feasible: bool
    optimal: bool


def multicover(
    cover: list[np.ndarray],
    have: list[np.ndarray],
    weight: np.ndarray,
    need: list[float],
    cost: np.ndarray,
    allowed: list[np.ndarray],
    *,
    max_builds: int | None = None,
    max_cost: float | None = None,
    time_limit_s: float = 60.0,
) -> Multicover:
    """Solve the staged partial set multicover (module docstring) with HiGHS.

    Parameters
    ----------
    cover
        Per stage, ``(points, builds)`` booleans: build ``j`` covers point ``i`` alone.
    have
        Per stage, the existing sites covering each point.
    weight
        Each point's weight.
    need
        Per stage, the weight of newly protected points required.
    cost, allowed
        Each build's cost; per stage, whether it may exist by then.
    """
    nt, nb = len(cover), len(cost)
    rows = [np.flatnonzero(h < COVERS) for h in have]  # points not yet protected
    nz = [len(r) for r in rows]
    n = nt * nb + sum(nz)
    xo = [t * nb for t in range(nt)]
    zo = list(np.cumsum([nt * nb, *nz])[:-1])
    blocks, lo, hi = [], [], []
    for t in range(nt):
        a = sp.csr_matrix(cover[t][rows[t]].astype(float))
        m = sp.lil_matrix((nz[t], n))
        m[:, xo[t] : xo[t] + nb] = -a
        m[:, zo[t] : zo[t] + nz[t]] = sp.identity(nz[t]) * COVERS
        blocks.append(m.tocsr())
        lo.append(np.full(nz[t], -np.inf))
        hi.append(np.minimum(have[t][rows[t]], COVERS).astype(float))
        w = sp.lil_matrix((1, n))
        w[0, zo[t] : zo[t] + nz[t]] = weight[rows[t]]
        blocks.append(w.tocsr())
        lo.append(np.array([need[t] - 1e-9 * float(weight.sum())]))
        hi.append(np.array([np.inf]))
        if t + 1 < nt:  # nested: a build stays
            nest = sp.lil_matrix((nb, n))
            nest[:, xo[t] : xo[t] + nb] = sp.identity(nb)
            nest[:, xo[t + 1] : xo[t + 1] + nb] = -sp.identity(nb)
            blocks.append(nest.tocsr())
            lo.append(np.full(nb, -np.inf))
            hi.append(np.zeros(nb))
    last = xo[-1]
    for limit, row in ((max_builds, np.ones(nb)), (max_cost, cost)):
        if limit is not None:
            r = sp.lil_matrix((1, n))
            r[0, last : last + nb] = row
            blocks.append(r.tocsr())
            lo.append(np.array([-np.inf]))
            hi.append(np.array([float(limit)]))
    c = np.zeros(n)
    c[last : last + nb] = cost
    upper = np.ones(n)
    for t in range(nt):
        upper[xo[t] : xo[t] + nb] = allowed[t].astype(float)
    res = milp(
        c,
        constraints=LinearConstraint(
            sp.vstack(blocks).tocsr(), np.concatenate(lo), np.concatenate(hi)
        ),
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), upper),
        options={"time_limit": time_limit_s},
    )
    if res.x is None:
        return Multicover([np.zeros(nb, bool) for _ in range(nt)], np.nan, False, False)
    built = [res.x[xo[t] : xo[t] + nb] > 0.5 for t in range(nt)]
    return Multicover(built, float(cost[built[-1]].sum()), True, res.status == 0)


def plan_protected(
    metro: Metro,
    goals: list[Goal],
    *,
    candidates: gpd.GeoDataFrame | None = None,
    max_builds: int | None = None,
    max_cost: float | None = None,
    time_limit_s: float | None = None,
    curve_points: int | None = None,
) -> PlanResult:
    """Find the cheapest site builds that protect each goal's share of points (``--protect``).

    Parameters are those of :func:`~latcircle.analysis.plan.plan_metro` (``curve_points``
    is accepted and ignored: a protected plan has no maximal-covering curve).

    Raises
    ------
    InputError
        When no plan within the limits protects enough of the basis.
    """
    t0 = time.perf_counter()
    limit = time_limit_s if time_limit_s is not None else metro.config.plan.time_limit_s
    builds = candidate_builds(metro, goals, candidates=_candidates(metro, candidates))
    pool = _pool(metro, builds)
    basis, samples = goals[0].basis, metro.samples[goals[0].basis]
    cover, have, allowed = _protect_sets(metro, goals, builds, pool)
    base = {g.year: _protected(samples, have[t]) for t, g in enumerate(goals)}
    reach = {
        g.year: _protected(samples, have[t] + (cover[t] & allowed[t]).sum(axis=1))
        for t, g in enumerate(goals)
    }
    _check_protectable(metro, goals, reach)
    need = [g.share * samples.total - base[g.year] * samples.total for g in goals]
    cost = builds["cost"].to_numpy(float)
    sol = multicover(
        cover, have, samples.weight, need, cost, allowed,
        max_builds=max_builds, max_cost=max_cost, time_limit_s=limit,
    )  # fmt: skip
    if not sol.feasible:
        msg = f"no protected plan within the limits found in {limit:g} s"
        raise InputError(metro.config.source, "--protect", msg)
    built = {g.year: b for g, b in zip(goals, sol.built, strict=True)}
    sites = _sites_planned(pool, builds, goals, built)
    gdf = _sites_gdf(sites, metro.inputs.crs)
    planned = {g.year: protected_share(metro, gdf, basis, g.year)[0] for g in goals}
    spurs = spur_table(builds, np.full(len(builds), -1))
    return PlanResult(
        goals=goals,
        basis=basis,
        builds=builds,
        built=built,
        table=_table(builds, goals, built, planned, sol),
        baseline_share=base,
        planned_share=planned,
        reachable_share=reach,
        cost=sol.cost,
        lower_bound=sol.cost if sol.optimal else float("nan"),
        gap=0.0 if sol.optimal else float("nan"),
        solver="milp (multicover)",
        greedy_cost=float("nan"),
        curve=pd.DataFrame(columns=_CURVE_COLUMNS),
        sites_planned=sites.drop(columns=["_x", "_y"]),
        seconds={"protect": time.perf_counter() - t0},
        sets=CoverageSets.of_matrix(
            basis=basis,
            rows=np.arange(len(samples.weight)),
            matrix={g.year: sp.csc_matrix(cover[t]) for t, g in enumerate(goals)},
            baseline={g.year: have[t] >= COVERS for t, g in enumerate(goals)},
            seconds=0.0,
        ),
        notes=[
            f"--protect: a point counts only when {COVERS} sites online that year each cover "
            "it on their own (it survives any one site failing); site builds only, no spurs"
        ],
        spurs=spurs,
        network_layers=network_layers(metro, spurs),
    )


_CURVE_COLUMNS = ["year", "basis", "limit", "at_most", "builds", "cost", "share", "optimal"]


def _protected(samples: Samples, count: np.ndarray) -> float:
    w = samples.weight
    return share_of(float(w[np.asarray(count) >= COVERS].sum()), samples.total)


def _check_protectable(metro: Metro, goals: list[Goal], reach: dict[int, float]) -> None:
    for g in goals:
        if not meets(reach[g.year], g.share):
            raise InputError(
                metro.config.source,
                "--protect",
                f"{g.share:.1%} of {g.basis} protected by {g.year} cannot be reached: with "
                f"every candidate built, {reach[g.year]:.2%} is covered by two sites",
            )


def _protect_sets(
    metro: Metro, goals: list[Goal], builds: gpd.GeoDataFrame, pool: _Pool
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per goal: each build's points (alone), the existing sites' counts, allowed builds."""
    years = [g.year for g in goals]
    views = _year_views(metro, pool, years)
    basis, budget = goals[0].basis, metro.config.budget_ms
    n_pool, n_existing = len(pool.table), pool.n_existing
    pidx = _pool_index(pool, builds)
    earliest = builds["earliest_year"].astype("Float64").fillna(-np.inf).to_numpy(float)
    existing = builds["existing"].to_numpy(np.int64)
    cover, have, allowed = [], [], []
    alone_on: dict[int, np.ndarray] = {}  # per distinct network (years may share one)
    for y in years:
        view = views[y]
        if id(view) not in alone_on:
            alone_on[id(view)] = _alone(view, metro, basis, n_pool, budget_ms=budget)
        alone = alone_on[id(view)]
        online = metro.online(y)
        have.append(alone[:, :n_existing][:, online].sum(axis=1))
        cols = alone[:, pidx] if len(pidx) else np.zeros((alone.shape[0], 0), bool)
        already = (existing >= 0) & online[np.maximum(existing, 0)]  # brought forward: online
        cols[:, already] = False
        cover.append(cols)
        allowed.append((earliest <= y) & ~already)
    return cover, have, allowed


def _alone(
    view: YearView, metro: Metro, basis: str, n_pool: int, *, budget_ms: float
) -> np.ndarray:
    """Per point and pool site, whether that site alone covers the point.

    One engine solve per site (``solve_each``: a batch of sites per Dijkstra call, the same
    latencies bit for bit as ``solve`` with that site alone).
    """
    loc = view.samples[basis].location
    if n_pool == 0:
        return np.zeros((len(loc), 0), bool)
    terms = access_terms(view.network, metro.params, loc)  # the same for every site
    fields = solve_each(
        view.network, view.attachment, metro.params, sites=np.arange(n_pool), arcs=view.arcs
    )
    return np.column_stack(
        [covered(f.at(loc, terms=terms)[0], budget_ms=budget_ms) for f in fields]
    )


def protected_share(
    metro: Metro, sites: gpd.GeoDataFrame, basis: str, year: int
) -> tuple[float, np.ndarray]:
    """Return the share of ``basis`` within the budget of two sites online in ``year``.

    Closed loop: the sites as a run reads them, on the network a run builds
    (:func:`~latcircle.analysis.plan.network.planned_metro`); each point's best and
    second-best site latency (:func:`~latcircle.engine.persite.site_latencies`).
    """
    from latcircle.analysis.plan.network import planned_metro

    empty = pd.DataFrame(columns=SPUR_TABLE_COLUMNS)
    pm = planned_metro(metro, sites=sites, spurs=empty, bases=[basis], years=[year])
    view = pm.view(year)
    lat = site_latencies(
        view.network,
        view.attachment,
        pm.params,
        view.samples[basis].location,
        sites=np.flatnonzero(pm.online(year)),
        arcs=view.arcs,
    )
    ok = covered(lat.best_two().second, budget_ms=metro.config.budget_ms)
    s = pm.samples[basis]
    return share_of(float(s.weight[ok].sum()), s.total), ok


def _table(
    builds: gpd.GeoDataFrame,
    goals: list[Goal],
    built: dict[int, np.ndarray],
    planned: dict[int, float],
    sol: Multicover,
) -> pd.DataFrame:
    """``plan.csv`` of a protected plan: each build, its year and the protected share then."""
    first = np.full(len(builds), -1)
    for g in reversed(goals):
        first[built[g.year]] = g.year
    chosen = np.flatnonzero(first >= 0)
    chosen = chosen[np.lexsort((chosen, first[chosen]))]
    b = builds.iloc[chosen]
    lonlat = b.geometry.to_crs(4326) if len(b) else gpd.GeoSeries([], crs=4326)
    return pd.DataFrame(
        {
            "year": first[chosen],
            "order": np.arange(1, len(chosen) + 1),
            "build_id": b["build_id"].to_numpy(),
            "kind": b["kind"].to_numpy(),
            "name": b["name"].to_numpy(),
            "tier": b["tier"].to_numpy(),
            "cost": b["cost"].to_numpy(float),
            "device_latency_us": b["device_latency_us"].to_numpy(float),
            "length_m": 0.0,
            "lon": np.asarray(lonlat.x),
            "lat": np.asarray(lonlat.y),
            "basis": goals[0].basis,
            "cumulative_share": [planned[int(y)] for y in first[chosen]],
            "solver": "milp (multicover)",
            "gap": 0.0 if sol.optimal else np.nan,
            "alternatives": "",
            "nearest_alternatives": "",
            "source": b["source"].to_numpy() if "source" in b else "",
        },
        columns=PLAN_COLUMNS,
    )
