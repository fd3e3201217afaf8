"""The planner: the cheapest builds that bring a metro to its coverage targets.

Given a prepared :class:`~latcircle.analysis.metro.Metro` and its targets (70 % by 2027 and
75 % by 2028 by default), :func:`plan_metro` answers *what to build*:

1. **Builds** (:func:`candidate_builds`): new compute sites (a candidates file, or the
   automatic set: network junctions thinned to a spacing), existing sites planned for a
   later year *brought forward*, and **access builds**: a straight fibre spur from the
   network to a tile of demand that has no access (docs/plan.md says exactly how).
2. **Coverage sets** (:func:`coverage_sets`): for every build, the demand points of the judged
   basis it brings within the budget, held grouped (points covered by the same builds are one
   row: :mod:`latcircle.analysis.plan.groups`). A site's set comes from
   the engine itself (:func:`~latcircle.engine.latency.solve` with that site alone, evaluated
   with :meth:`~latcircle.engine.latency.LatencyField.at`): the latency of a set of sites is
   the minimum over its sites, and every step after the minimum is monotone, so a point is
   covered by a set exactly when one of its sites covers it alone. The baseline is what the
   existing sites online in each target year cover.
3. **Solvers** (:mod:`latcircle.analysis.plan.solve`): the staged partial set-covering problem
   to optimality with HiGHS (``scipy.optimize.milp``) within a time limit, a lazy greedy with
   the LP relaxation as lower bound, so every plan states its optimality gap, and the
   maximal-covering curve (best share with 1, 2, … k builds).

Positions of sites are taken **as the planned sites file gives them**: every site is written
to the sites CSV format and read back with the run's own reader before anything is located,
so that running the city with ``sites-planned.csv`` reproduces the planned share exactly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from latcircle.analysis.coverage import BASES
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan import solve as solvers
from latcircle.analysis.plan.candidates import _with_known_dc, auto_candidates, candidate_builds
from latcircle.analysis.plan.core import CoverageSets, Goal, _Pool, _share
from latcircle.analysis.plan.curve import _curves
from latcircle.analysis.plan.network import network_layers
from latcircle.analysis.plan.sets import coverage_sets
from latcircle.analysis.plan.sites import _pool
from latcircle.analysis.plan.stages import _check_reachable, _reachable, _stages
from latcircle.analysis.plan.tables import _plan_table, _with_alternatives
from latcircle.analysis.plan.verify import _solve_verified, _Verified
from latcircle.analysis.progress import resolve_basis
from latcircle.config import Target
from latcircle.errors import InputError
from latcircle.inputs.candidates import read_candidates

__all__ = ["BUILD_KINDS", "PlanResult", "goals_from", "plan_metro"]

log = logging.getLogger(__name__)

#: What a build is: a new compute site (a candidate, or a known data centre from fetched
#: PeeringDB / OSM data), an existing site brought forward, a fibre spur.
BUILD_KINDS = ("site", "known_dc", "bring_forward", "access")


@dataclass(frozen=True)
class PlanResult:
    """A plan: what to build by when, at what cost, reaching which shares.

    Attributes
    ----------
    goals
        The targets planned for, in year order.
    basis
        The judged basis.
    builds
        Every candidate build (``build_id``, ``kind``, ``name``, ``tier``, ``cost``,
        ``device_latency_us``, ``earliest_year``, ``existing``, ``length_m``, geometry:
        points for sites, spurs as lines), in the local CRS.
    built
        Per goal year, the builds existing by then (boolean over ``builds``, nested).
    table
        ``plan.csv``: one row per build chosen, columns :data:`PLAN_COLUMNS`.
    baseline_share, planned_share
        Per goal year, the judged share without and with the plan (as a run computes it).
    reachable_share
        Per goal year, the share with every candidate built.
    cost, lower_bound, gap, solver
        Total cost, proven lower bound, relative gap and the solver the plan came from.
    greedy_cost
        The lazy greedy's cost (for comparison).
    curve
        The maximal-covering curves for each goal's year: ``year``, ``basis``, ``limit``
        (``builds`` or ``cost``), ``at_most`` (the limit's value), ``builds``, ``cost``,
        ``share``, ``optimal``: the best share within that limit.
    sites_planned
        The sites file a run accepts (:data:`SITES_COLUMNS`): existing sites (brought-forward
        ones with their new year) and the new sites.
    seconds
        Wall time per planning step.
    sets
        The coverage sets.
    notes
        What the planner assumed or could not do, one sentence each.
    spurs
        The chosen fibre spurs (:data:`~latcircle.analysis.plan.network.SPUR_TABLE_COLUMNS`):
        ``network-planned.gpkg``.
    network_layers
        The planned network's layers (``network-planned.gpkg``).
    targets
        ``targets.csv`` (:data:`~latcircle.analysis.plan.margins.TARGET_COLUMNS`): per goal,
        the share at the plan's parameters, at the run's, P5 / P50 / P95 and P(meet).
    parameters
        The parameters the plan was made at (route factor, equipment latency, how chosen).
    located
        The planned metro (network with the spurs, samples of the basis located on it) the
        planned shares were evaluated on: :func:`~latcircle.analysis.plan.network.planned_metro`
        reuses its located samples for the same spurs (``None``: none kept;
        :func:`~latcircle.analysis.plan.margins.plan_with_margins` lets it go once its
        how-sure step has used it).
    """

    goals: list[Goal]
    basis: str
    builds: gpd.GeoDataFrame
    built: dict[int, np.ndarray]
    table: pd.DataFrame
    baseline_share: dict[int, float]
    planned_share: dict[int, float]
    reachable_share: dict[int, float]
    cost: float
    lower_bound: float
    gap: float
    solver: str
    greedy_cost: float
    curve: pd.DataFrame
    sites_planned: pd.DataFrame
    seconds: dict[str, float]
    sets: CoverageSets
    notes: list[str] = field(default_factory=list)
    spurs: pd.DataFrame = field(default_factory=pd.DataFrame)
    network_layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    parameters: dict[str, Any] = field(default_factory=dict)
    located: Metro | None = field(default=None, repr=False, compare=False)


# --------------------------------------------------------------------------- goals


def goals_from(
    metro: Metro,
    *,
    target: float | None = None,
    year: int | None = None,
    basis: str | None = None,
) -> list[Goal]:
    """Return the goals to plan for: one given target, or the config's targets.

    Parameters
    ----------
    metro
        The prepared metro.
    target, year
        A single target share (0 < share ≤ 1) by ``year``; both or neither.
    basis
        ``key_sites``, ``population`` or ``area``; the targets' own (``auto``: key sites
        when the city has them, else population) when ``None``.

    Raises
    ------
    InputError
        For a share outside (0, 1], a target without a year, or a basis the city lacks.
    """
    src = metro.config.source
    if (target is None) != (year is None):
        raise InputError(src, "--target/--year", "give both a target share and its year")
    if target is not None and not 0 < target <= 1:
        raise InputError(src, "--target", f"a share must be in (0, 1], got {target:g}")
    if basis is not None and basis not in metro.samples:
        have = ", ".join(b for b in BASES if b in metro.samples)
        raise InputError(src, "--basis", f"the city has no {basis} input (it has: {have})")
    if target is not None and year is not None:
        targets = [Target.model_validate({"year": year, "share": target, "basis": basis or "auto"})]
    else:
        targets = [
            t.model_copy(update={"basis": basis}) if basis else t for t in metro.config.targets
        ]
    if not targets:
        raise InputError(src, "targets", "no target to plan for (give --target and --year)")
    goals = [Goal(t.year, t.share, resolve_basis(t, metro.samples, source=src)) for t in targets]
    if len({g.basis for g in goals}) > 1:
        msg = "the targets are judged on different bases; plan one basis at a time (--basis)"
        raise InputError(src, "targets.basis", msg)
    return sorted(goals, key=lambda g: g.year)


# --------------------------------------------------------------------------- builds


def plan_metro(
    metro: Metro,
    goals: list[Goal],
    *,
    candidates: gpd.GeoDataFrame | None = None,
    max_builds: int | None = None,
    max_cost: float | None = None,
    time_limit_s: float | None = None,
    curve_points: int | None = None,
) -> PlanResult:
    """Find the cheapest builds that reach every goal, staged by year.

    Parameters
    ----------
    metro
        The prepared metro (inputs are not read again).
    goals
        The goals (:func:`goals_from`), all on one basis.
    candidates
        Candidate sites; the config's ``plan.candidates`` file, else the automatic set
        (:func:`auto_candidates`), when ``None``.
    max_builds, max_cost
        Limits on the whole plan.
    time_limit_s
        HiGHS time limit per solve; the config's ``plan.time_limit_s`` when ``None``.
    curve_points
        Points of the maximal-covering curve (builds 1..n); at least the plan's size + 2.

    Returns
    -------
    PlanResult

    Raises
    ------
    InputError
        When no plan reaches the goals: the message gives the best share reachable and what
        blocks the rest (no access that no spur reaches, or no candidate within the budget).
    """
    seconds: dict[str, float] = {}
    limit = time_limit_s if time_limit_s is not None else metro.config.plan.time_limit_s
    limits = (max_builds, max_cost, limit)
    t0 = time.perf_counter()
    builds = candidate_builds(metro, goals, candidates=_candidates(metro, candidates))
    pool = _pool(metro, builds)
    seconds["candidates"] = time.perf_counter() - t0
    sets, builds = coverage_sets(metro, goals, builds, pool=pool)
    seconds["coverage_sets"] = sets.seconds
    t1 = time.perf_counter()
    stages, reach = _reachable_stages(metro, goals, builds, sets, limits)
    notes = _notes(metro, builds, sets)
    sol, greedy_sol, ver, sets, stages = _solve_verified(
        metro, goals, builds, pool, sets, limits, notes, stages
    )
    seconds["solve"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    built = {g.year: b for g, b in zip(goals, sol.built, strict=True)}
    table, curve = _tables(
        metro, goals, builds, pool, sets, built, sol, ver, stages, limit, curve_points
    )
    seconds["tables"] = time.perf_counter() - t2
    return PlanResult(
        goals=goals,
        basis=sets.basis,
        builds=builds,
        built=built,
        table=table,
        baseline_share={
            g.year: _share(metro.samples[sets.basis], sets.baseline[g.year]) for g in goals
        },
        planned_share=ver.shares,
        reachable_share=reach,
        **_costs(sol, greedy_sol),
        curve=curve,
        sites_planned=ver.sites,
        seconds=seconds,
        sets=sets,
        notes=notes,
        spurs=ver.spurs,
        network_layers=network_layers(metro, ver.spurs),
        located=ver.located,
    )


def _reachable_stages(
    metro: Metro,
    goals: list[Goal],
    builds: gpd.GeoDataFrame,
    sets: CoverageSets,
    limits: tuple[int | None, float | None, float],
) -> tuple[list[solvers.Stage], dict[int, float]]:
    """Return the stages and the shares reachable; refuse a goal out of reach."""
    max_builds, max_cost, limit = limits
    samples = metro.samples[sets.basis]
    stages = _stages(metro, goals, builds, sets, samples)
    reach = _reachable(goals, stages, sets, samples)
    _check_reachable(
        metro, goals, stages, sets, samples, reach, builds, max_builds, max_cost, limit
    )
    return stages, reach


def _tables(
    metro: Metro,
    goals: list[Goal],
    builds: gpd.GeoDataFrame,
    pool: _Pool,
    sets: CoverageSets,
    built: dict[int, np.ndarray],
    sol: solvers.Solution,
    ver: _Verified,
    stages: list[solvers.Stage],
    limit: float,
    curve_points: int | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``plan.csv`` (with each build's alternatives) and the maximal-covering curves."""
    samples = metro.samples[sets.basis]
    cost = builds["cost"].to_numpy(float)
    table, _ = _plan_table(metro, goals, builds, pool, sets, built, sol)
    table = _with_alternatives(table, builds, ver.classes)
    curve = _curves(stages, cost, samples, sets, goals, limit, curve_points, sol, builds, table)
    return table, curve


def _costs(sol: solvers.Solution, greedy_sol: solvers.Solution) -> dict[str, Any]:
    """Return the plan's cost, bound, gap and solver, and the greedy's cost (NaN: none)."""
    return {
        "cost": sol.cost,
        "lower_bound": sol.lower_bound,
        "gap": sol.gap,
        "solver": sol.solver,
        "greedy_cost": greedy_sol.cost if greedy_sol.feasible else float("nan"),
    }


def _candidates(metro: Metro, candidates: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Return the candidates given, else the config's file or the automatic set; plus known DCs."""
    spec = metro.config.plan
    if candidates is None:
        candidates = (
            read_candidates(spec.candidates, metro.inputs.crs)
            if spec.candidates is not None
            else auto_candidates(
                metro,
                spacing_m=spec.auto_spacing_m,
                cost=spec.tier_cost.get("medium", spec.site_cost),
            )
        )
    return _with_known_dc(metro, candidates)


def _notes(metro: Metro, builds: gpd.GeoDataFrame, sets: CoverageSets) -> list[str]:
    notes = []
    if metro.network.edge_online_year is not None:
        notes.append(
            "the network's links carry online years: each goal year is planned on the network "
            "of that year (spurs join the first goal year's network)"
        )
    n_access = int((builds["kind"] == "access").sum())
    if n_access:
        notes.append(
            f"{n_access} access builds (fibre spurs to {metro.config.plan.access_tile_m:g} m "
            "tiles of demand without access) count only what the existing sites serve through "
            "them; network-planned.gpkg carries the chosen ones (network.additions)"
        )
    return notes
