"""Coverage sets: for every build, the demand points it brings within the budget.

A site's set comes from the engine itself (:func:`~latcircle.engine.latency.solve` with that
site alone, evaluated with :meth:`~latcircle.engine.latency.LatencyField.at`): the latency of a
set of sites is the minimum over its sites, and every step after the minimum is monotone, so a
point is covered by a set exactly when one of its sites covers it alone. The baseline is what
the existing sites online in each target year cover.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from latcircle.analysis.coverage import covered
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan.core import (
    CoverageSets,
    Goal,
    _baseline_field,
    _Pool,
    _pool_index,
    _progress,
    _year_views,
)
from latcircle.analysis.plan.sites import _pool
from latcircle.analysis.plan.spurs import _spur_columns, _with_access_builds
from latcircle.analysis.plan.views import YearView
from latcircle.engine.latency import access_terms, solve_each

__all__ = ["coverage_sets"]


def coverage_sets(
    metro: Metro,
    goals: list[Goal],
    builds: gpd.GeoDataFrame,
    *,
    pool: _Pool | None = None,
    access: bool = True,
) -> tuple[CoverageSets, gpd.GeoDataFrame]:
    """Compute, for every build, the demand points it brings within the budget.

    Parameters
    ----------
    metro
        The prepared metro.
    goals
        The goals (their years are the stages; all on one basis).
    builds
        The site builds (:func:`candidate_builds`); access builds are appended here.
    pool
        The sites as read back (computed when ``None``).
    access
        Add access builds (fibre spurs to tiles of demand without access).

    Returns
    -------
    CoverageSets, geopandas.GeoDataFrame
        The sets, and the builds with any access builds appended (column order).
    """
    t0 = time.perf_counter()
    basis = goals[0].basis
    pool = pool or _pool(metro, builds)
    views = _year_views(metro, pool, [g.year for g in goals])
    budget_ms = metro.config.budget_ms
    fields = {g.year: _baseline_field(metro, pool, views[g.year], g.year) for g in goals}
    baseline = {
        y: covered(f.at(views[y].samples[basis].location)[0], budget_ms=budget_ms)
        for y, f in fields.items()
    }
    rows = np.flatnonzero(~baseline[goals[0].year])
    site_cols: dict[int, sp.csc_matrix] = {}
    for g in goals:  # one set of site columns per distinct network (view)
        same = next((y for y in site_cols if views[y] is views[g.year]), None)
        site_cols[g.year] = (
            site_cols[same]
            if same is not None
            else _site_columns(views[g.year], metro, pool, builds, basis, rows, budget_ms=budget_ms)
        )
    if access and metro.config.plan.access:
        builds = _with_access_builds(metro, builds, views[goals[0].year], basis, rows)
    spurs = builds[builds["kind"] == "access"]
    matrix = {}
    for g in goals:
        acc_cols = _spur_columns(
            metro, fields[g.year], views[g.year], spurs, basis, rows, budget_ms=budget_ms
        )
        matrix[g.year] = sp.hstack([site_cols[g.year], acc_cols], format="csc").astype(bool)
    sets = CoverageSets(
        basis=basis,
        rows=rows,
        matrix=matrix,
        baseline=baseline,
        seconds=time.perf_counter() - t0,
    )
    return sets, builds


def _site_columns(
    view: YearView,
    metro: Metro,
    pool: _Pool,
    builds: gpd.GeoDataFrame,
    basis: str,
    rows: np.ndarray,
    *,
    budget_ms: float,
) -> sp.csc_matrix:
    """One engine solve per site build on a year's network, evaluated at the rows with access."""
    sites = builds[builds["kind"] != "access"]
    n = len(sites)
    samples = view.samples[basis]
    reach = rows[samples.location.has_access[rows]]
    if n == 0 or len(reach) == 0:
        return sp.csc_matrix((len(rows), n), dtype=bool)
    where = np.searchsorted(rows, reach)
    # ``take`` keeps the ties: a point equally near several edges is evaluated over each of
    # them, as a run evaluates it (dropping them changed the sets on lattice pixels).
    loc = samples.location.take(reach)
    pidx = _pool_index(pool, sites)
    # What evaluating these points needs that no site changes, gathered once for all sites.
    terms = access_terms(view.network, metro.params, loc)
    indices, indptr = [], [0]
    # Each site alone, as ``_site_field`` solves it (the same latencies, bit for bit), a batch
    # of sites per Dijkstra call instead of a graph built for each.
    fields = solve_each(view.network, view.attachment, metro.params, sites=pidx, arcs=view.arcs)
    for _, one in zip(_progress(range(n), "coverage sets", n), fields, strict=True):
        hit = where[covered(one.at(loc, terms=terms)[0], budget_ms=budget_ms)]
        indices.append(hit)
        indptr.append(indptr[-1] + len(hit))
    data = np.ones(indptr[-1], bool)
    idx = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    return sp.csc_matrix((data, idx, np.array(indptr)), shape=(len(rows), n))
