"""The staged covering problem of a plan: one stage per goal, and whether it can be reached."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from latcircle.analysis.coverage import Samples, share_of
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan import solve as solvers
from latcircle.analysis.plan.checks import limits_failure, spur_words
from latcircle.analysis.plan.core import CoverageSets, Goal
from latcircle.analysis.plan.reduce import group_rows_of
from latcircle.analysis.progress import meets
from latcircle.errors import InputError

#: HiGHS's status for a proven infeasible model.
INFEASIBLE = 2


def _stages(
    metro: Metro,
    goals: list[Goal],
    builds: gpd.GeoDataFrame,
    sets: CoverageSets,
    samples: Samples,
) -> list[solvers.Stage]:
    """One stage per goal: rows its baseline leaves, grouped by their covering builds."""
    earliest = builds["earliest_year"].astype("Float64").fillna(-np.inf).to_numpy(float)
    out = []
    for g in goals:
        left = ~sets.baseline[g.year][sets.rows]
        w = samples.weight[sets.rows[left]]
        # The grouped sets, never one row per point (group_rows of the rows left, exactly).
        m, w = group_rows_of(sets.groups[g.year], sets.group_of[g.year][left], w)
        base = float(samples.weight[sets.baseline[g.year]].sum())
        need = g.share * samples.total - base
        out.append(solvers.Stage(m, w, need, earliest <= g.year, samples.total))
    return out


def _reachable(
    goals: list[Goal], stages: list[solvers.Stage], sets: CoverageSets, samples: Samples
) -> dict[int, float]:
    out = {}
    for g, st in zip(goals, stages, strict=True):
        base = float(samples.weight[sets.baseline[g.year]].sum())
        add = solvers.covered_weight(st, st.allowed)
        out[g.year] = share_of(base + add, samples.total)
    return out


def _check_reachable(
    metro: Metro,
    goals: list[Goal],
    stages: list[solvers.Stage],
    sets: CoverageSets,
    samples: Samples,
    reach: dict[int, float],
    builds: gpd.GeoDataFrame,
    max_builds: int | None,
    max_cost: float | None,
    limit: float,
) -> None:
    for g, st in zip(goals, stages, strict=True):
        if meets(reach[g.year], g.share):
            continue
        no_access, too_far = _blocked(g, st, sets, samples)
        raise InputError(
            metro.config.source,
            "targets",
            f"{g.share:.1%} of {g.basis} by {g.year} cannot be reached with the "
            f"{len(builds)} candidate builds: best reachable {reach[g.year]:.2%}; of the rest, "
            f"{no_access:.2%} {spur_words(metro)} and {too_far:.2%} has no "
            "candidate within the budget",
        )
    if max_builds is None and max_cost is None:
        return
    cost = builds["cost"].to_numpy(float)
    if solvers.greedy(stages, cost, max_builds=max_builds, max_cost=max_cost).feasible:
        return
    trial = solvers.min_cost(
        stages, cost, max_builds=max_builds, max_cost=max_cost, time_limit_s=limit
    )
    if trial.feasible or trial.status != INFEASIBLE:
        return  # reachable, or not proven unreachable in the time limit (see _solve)
    problem = limits_failure(
        goals,
        stages,
        sets.baseline,
        samples,
        cost,
        max_builds=max_builds,
        max_cost=max_cost,
        time_limit_s=limit,
    )
    raise InputError(metro.config.source, "--max-sites/--max-cost", problem)


def _blocked(
    goal: Goal, st: solvers.Stage, sets: CoverageSets, samples: Samples
) -> tuple[float, float]:
    """Share of the basis left uncovered with every build: no access vs too far."""
    left = ~sets.baseline[goal.year][sets.rows]
    rows = sets.rows[left]
    by_group = np.asarray(sets.groups[goal.year] @ st.allowed.astype(float)).ravel() > 0
    hit = by_group[sets.group_of[goal.year][left]]
    rest = rows[~hit]
    access = samples.location.has_access[rest]
    return (
        share_of(float(samples.weight[rest[~access]].sum()), samples.total),
        share_of(float(samples.weight[rest[access]].sum()), samples.total),
    )
