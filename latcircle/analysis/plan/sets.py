"""Coverage sets: for every build, the demand points it brings within the budget.

A site's set comes from the engine itself (:func:`~latcircle.engine.latency.solve` with that
site alone, evaluated with :meth:`~latcircle.engine.latency.LatencyField.at`): the latency of a
set of sites is the minimum over its sites, and every step after the minimum is monotone, so a
point is covered by a set exactly when one of its sites covers it alone. The baseline is what
the existing sites online in each target year cover.

The sets are built grouped (:mod:`latcircle.analysis.plan.groups`), never one row per point;
a site proven to cover whole components is not evaluated (:mod:`.sitesets`).
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
    _year_views,
)
from latcircle.analysis.plan.groups import Refinement
from latcircle.analysis.plan.sites import _pool
from latcircle.analysis.plan.sitesets import site_groups
from latcircle.analysis.plan.spurs import _spur_hits, _with_access_builds

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
    site_sets: dict[int, tuple[np.ndarray, sp.csr_matrix]] = {}
    for g in goals:  # one set of site columns per distinct network (view)
        same = next((y for y in site_sets if views[y] is views[g.year]), None)
        site_sets[g.year] = (
            site_sets[same]
            if same is not None
            else site_groups(views[g.year], metro, pool, builds, basis, rows, budget_ms=budget_ms)
        )
    if access and metro.config.plan.access:
        builds = _with_access_builds(metro, builds, views[goals[0].year], basis, rows)
    spurs = builds[builds["kind"] == "access"]
    groups, group_of = {}, {}
    for g in goals:
        hits = _spur_hits(
            metro, fields[g.year], views[g.year], spurs, basis, rows, budget_ms=budget_ms
        )
        group_of[g.year], groups[g.year] = _with_spurs(site_sets[g.year], hits, len(builds))
    sets = CoverageSets(
        basis=basis,
        rows=rows,
        groups=groups,
        group_of=group_of,
        baseline=baseline,
        seconds=time.perf_counter() - t0,
    )
    return sets, builds


def _with_spurs(
    site_sets: tuple[np.ndarray, sp.csr_matrix], hits: list[np.ndarray], n_builds: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Split the site groups by what each spur covers (its column after the sites')."""
    site_of, sites = site_sets
    n_sites = n_builds - len(hits)
    refine = Refinement(site_of, sites.shape[0])
    for j, hit in enumerate(hits):
        refine.split(hit, n_sites + j)
    base = sp.hstack([sites, sp.csr_matrix((sites.shape[0], len(hits)), dtype=bool)])
    return refine.groups(sp.csr_matrix(base, dtype=bool))
