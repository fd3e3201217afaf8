"""Solve, check the plan on its planned network with the engine, and re-solve what failed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from latcircle.analysis.coverage import covered
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan import solve as solvers
from latcircle.analysis.plan.checks import drop_idle_builds
from latcircle.analysis.plan.core import CoverageSets, Goal, _Pool, _share
from latcircle.analysis.plan.network import planned_metro, spur_table
from latcircle.analysis.plan.reduce import Reduced, reduce_builds
from latcircle.analysis.plan.sites import _sites_gdf, _sites_planned
from latcircle.analysis.plan.stages import _stages
from latcircle.analysis.progress import meets
from latcircle.errors import InputError

#: Time limit of the LP relaxation (the lower bound), at least.
LP_TIME_LIMIT_S = 60.0
#: Solve-and-check rounds on the planned network before giving the engine's shares as they are.
VERIFY_ROUNDS = 4


@dataclass(frozen=True)
class _Verified:
    """A plan run through the engine on its planned network, as a run of its files does."""

    shares: dict[int, float]
    covered: dict[int, np.ndarray]
    spurs: pd.DataFrame
    sites: pd.DataFrame
    #: Per build, its class of equivalent builds (:class:`Reduced`), -1: covers nothing.
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: The planned metro the shares come from (its located samples are reused later).
    located: Metro | None = field(default=None, repr=False, compare=False)


def _verify(
    metro: Metro,
    goals: list[Goal],
    builds: gpd.GeoDataFrame,
    pool: _Pool,
    built: dict[int, np.ndarray],
) -> _Verified:
    """Build the planned network and sites and evaluate each goal year on them."""
    first_year = np.full(len(builds), -1)
    for g in reversed(goals):
        first_year[built[g.year]] = g.year
    spurs = spur_table(builds, first_year)
    sites = _sites_planned(pool, builds, goals, built)
    basis = goals[0].basis
    pm = planned_metro(
        metro,
        sites=_sites_gdf(sites, metro.inputs.crs),
        spurs=spurs,
        bases=[basis],
        years=[g.year for g in goals],
    )
    budget_ms = metro.config.budget_ms
    shares, cov = {}, {}
    for g in goals:
        ev = pm.scenario(year=g.year).evaluations[basis]
        cov[g.year] = covered(ev.latency_us, budget_ms=budget_ms)
        shares[g.year] = _share(metro.samples[basis], cov[g.year])
    return _Verified(shares, cov, spurs, sites.drop(columns=["_x", "_y"]), located=pm)


def _solve_verified(
    metro: Metro,
    goals: list[Goal],
    builds: gpd.GeoDataFrame,
    pool: _Pool,
    sets: CoverageSets,
    limits: tuple[int | None, float | None, float],
    notes: list[str],
    first: list[solvers.Stage] | None = None,
) -> tuple[solvers.Solution, solvers.Solution, _Verified, CoverageSets, list[solvers.Stage]]:
    """Solve, check the plan on its planned network, and re-solve without what failed.

    A spur's set counts the points its own path covers; on the planned network a point near
    two spurs is served through the nearer one, and a point with access may move onto a spur.
    Where the engine finds a point the sets count covered uncovered, the chosen builds'
    entries for it are removed (the sets only shrink) and the model is solved again.
    """
    max_builds, max_cost, limit = limits
    samples = metro.samples[sets.basis]
    cost = builds["cost"].to_numpy(float)
    for round_ in range(VERIFY_ROUNDS):
        # The first round's stages are the caller's (the same sets); later ones are rebuilt.
        stages = (
            first
            if round_ == 0 and first is not None
            else _stages(metro, goals, builds, sets, samples)
        )
        sol, greedy_sol, _, red = _solve(stages, cost, max_builds, max_cost, limit)
        sol = drop_idle_builds(stages, cost, sol)  # zero-cost builds that gain nothing
        if not sol.feasible:
            raise InputError(
                metro.config.source,
                "plan.time_limit_s",
                f"no plan found within the limits in {limit:g} s (HiGHS stopped, the greedy "
                "failed): raise plan.time_limit_s",
            )
        built = {g.year: b for g, b in zip(goals, sol.built, strict=True)}
        ver = _verify(metro, goals, builds, pool, built)
        ver = dataclasses.replace(ver, classes=red.cls)
        if all(meets(ver.shares[g.year], g.share) for g in goals):
            return sol, greedy_sol, ver, sets, stages
        sets = _without_failed(sets, built, ver)
    notes.append(
        "on the planned network the plan misses a target (spurs interact: a point is served "
        "through its nearest spur only): the shares reported are the engine's"
    )
    return sol, greedy_sol, ver, sets, stages


def _without_failed(
    sets: CoverageSets, built: dict[int, np.ndarray], ver: _Verified
) -> CoverageSets:
    """Remove the chosen builds' entries at the points the engine found uncovered.

    The points found wrong leave their group for a new one (their group's set without the
    chosen builds), one per group they leave: the sets stay grouped.
    """
    groups, group_of = {}, {}
    for year, g in sets.groups.items():
        built_y = built[year]
        hit = np.asarray(g @ built_y.astype(float)).ravel() > 0
        lab = sets.group_of[year]
        wrong = np.flatnonzero(hit[lab] & ~ver.covered[year][sets.rows])
        old, at = np.unique(lab[wrong], return_inverse=True)
        moved = sp.csr_matrix(g[old], dtype=bool)
        moved.data &= ~built_y[moved.indices]
        moved.eliminate_zeros()
        groups[year] = sp.csr_matrix(sp.vstack([g, moved], format="csr"), dtype=bool)
        groups[year].sort_indices()
        lab = lab.copy()
        lab[wrong] = g.shape[0] + at.ravel()
        group_of[year] = lab
    return dataclasses.replace(sets, groups=groups, group_of=group_of)


def _solve(
    stages: list[solvers.Stage],
    cost: np.ndarray,
    max_builds: int | None,
    max_cost: float | None,
    limit: float,
) -> tuple[solvers.Solution, solvers.Solution, solvers.Solution, Reduced]:
    """HiGHS to optimality if it can; else the better of its incumbent and the greedy.

    Solved on the reduced instance (:func:`reduce_builds`: the cheapest of equivalent
    builds, equal rows merged), mapped back. The LP relaxation (a lower bound) is solved
    only when HiGHS does not prove optimality: its own dual bound is then the gap's.
    """
    red = reduce_builds(stages, cost)
    rs, rc = red.stages, red.cost
    if len(rc) == 0:  # nothing covers anything: the plan is to build nothing, if that will do
        ok = all(st.need <= st.tol for st in stages)
        none = solvers.Solution(
            [np.zeros(len(cost), bool) for _ in stages], 0.0, ok, 0.0, ok, "milp"
        )
        return none, none, none, red
    gr = solvers.greedy(rs, rc, max_builds=max_builds, max_cost=max_cost)
    ex = solvers.min_cost(rs, rc, time_limit_s=limit, max_builds=max_builds, max_cost=max_cost)
    if ex.feasible and ex.optimal:
        lp = dataclasses.replace(ex, solver="milp")
        bound = ex.lower_bound if np.isfinite(ex.lower_bound) else ex.cost
    else:
        # The LP relaxation is cheap next to the MILP and gives the gap: a longer limit.
        lp = solvers.min_cost(
            rs,
            rc,
            relax=True,
            time_limit_s=max(limit, LP_TIME_LIMIT_S),
            max_builds=max_builds,
            max_cost=max_cost,
        )
        bounds = [lp.cost if lp.feasible and lp.optimal else np.nan]
        bounds.append(ex.lower_bound if ex.feasible else np.nan)
        finite = [b for b in bounds if np.isfinite(b)]
        bound = max(finite) if finite else float("nan")
    if (ex.feasible and ex.optimal) or (ex.feasible and (not gr.feasible or ex.cost <= gr.cost)):
        best = ex
    else:
        best = gr
    return (
        red.solution(dataclasses.replace(best, lower_bound=bound)),
        red.solution(dataclasses.replace(gr, lower_bound=bound)),
        red.solution(lp),
        red,
    )
