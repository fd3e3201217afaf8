"""The planner: the cheapest builds that bring a metro to its coverage targets.

Given a prepared :class:`~latcircle.analysis.metro.Metro` and its targets (70 % by 2027 and
75 % by 2028 by default), :func:`plan_metro` answers *what to build*:

1. **Builds** (:func:`candidate_builds`): new compute sites (a candidates file, or the
   automatic set: network junctions thinned to a spacing), existing sites planned for a
   later year *brought forward*, and **access builds**: a straight fibre spur from the
   network to a tile of demand that has no access (docs/plan.md says exactly how).
2. **Coverage sets** (:func:`coverage_sets`): for every build, the demand points of the judged
   basis it brings within the budget, held as a scipy sparse matrix. A site's set comes from
   the engine itself (:func:`~latcircle.engine.latency.solve` with that site alone, evaluated
   with :meth:`~latcircle.engine.latency.LatencyField.at`): the latency of a set of sites is
   the minimum over its sites, and every step after the minimum is monotone, so a point is
   covered by a set exactly when one of its sites covers it alone. The baseline is what the
   existing sites online in each target year cover.
3. **Solvers** (:mod:`latcircle.analysis._plansolve`): the staged partial set-covering problem
   to optimality with HiGHS (``scipy.optimize.milp``) within a time limit, a lazy greedy with
   the LP relaxation as lower bound, so every plan states its optimality gap, and the
   maximal-covering curve (best share with 1, 2, … k builds).

Positions of sites are taken **as the planned sites file gives them**: every site is written
to the sites CSV format and read back with the run's own reader before anything is located,
so that running the city with ``sites-planned.csv`` reproduces the planned share exactly.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp

from latcircle.analysis import _plansolve as solvers
from latcircle.analysis._plancands import _with_known_dc, auto_candidates, candidate_builds
from latcircle.analysis._plancore import (
    CoverageSets,
    Goal,
    _baseline_field,
    _Pool,
    _pool_index,
    _progress,
    _share,
    _site_field,
    _year_views,
)
from latcircle.analysis._plancurve import _curves
from latcircle.analysis._planreduce import Reduced, group_rows, reduce_builds
from latcircle.analysis._planspurs import _spur_columns, _with_access_builds, spur_costs, spur_hits
from latcircle.analysis._plantable import PLAN_COLUMNS, _plan_table, _with_alternatives
from latcircle.analysis._planviews import YearView
from latcircle.analysis.coverage import BASES, Samples, covered, share_of
from latcircle.analysis.metro import Metro, with_views
from latcircle.analysis.plan_checks import (
    check_added_sites,
    drop_idle_builds,
    limits_failure,
    spur_words,
)
from latcircle.analysis.plannet import network_layers, planned_metro, spur_table
from latcircle.analysis.progress import meets, resolve_basis
from latcircle.config import SitesInput, Target
from latcircle.engine.latency import attach_sites
from latcircle.errors import InputError
from latcircle.inputs.candidates import read_candidates
from latcircle.inputs.readers import read_points_text

__all__ = [
    "BUILD_KINDS",
    "PLAN_COLUMNS",
    "SITES_COLUMNS",
    "CoverageSets",
    "Goal",
    "PlanResult",
    "add_sites",
    "auto_candidates",
    "candidate_builds",
    "coverage_sets",
    "goals_from",
    "plan_metro",
    "sites_csv",
    "spur_costs",
    "spur_hits",
]

log = logging.getLogger(__name__)

#: What a build is: a new compute site (a candidate, or a known data centre from fetched
#: PeeringDB / OSM data), an existing site brought forward, a fibre spur.
BUILD_KINDS = ("site", "known_dc", "bring_forward", "access")

#: Columns of ``sites-planned.csv``: the sites format a normal run reads.
SITES_COLUMNS = ["id", "name", "tier", "online_year", "device_latency_us", "lon", "lat"]


#: HiGHS's status for a proven infeasible model.
INFEASIBLE = 2
#: Time limit of the LP relaxation (the lower bound), at least.
LP_TIME_LIMIT_S = 60.0
#: Solve-and-check rounds on the planned network before giving the engine's shares as they are.
VERIFY_ROUNDS = 4

_WGS84 = pyproj.CRS.from_epsg(4326)
#: Degrees are written with 9 decimals (0.1 mm), read back by the run's own reader.
_DEG_FORMAT = "{:.9f}"


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
        The chosen fibre spurs (:data:`~latcircle.analysis.plannet.SPUR_TABLE_COLUMNS`):
        ``network-planned.gpkg``.
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


# --------------------------------------------------------------------------- positions


def sites_csv(table: pd.DataFrame) -> str:
    """Return a sites table as the text of a sites CSV (:data:`SITES_COLUMNS`).

    Parameters
    ----------
    table
        ``id``, ``name``, ``tier``, ``online_year`` (nullable), ``device_latency_us``,
        ``lon``, ``lat`` (floats, WGS84).
    """
    out = table[SITES_COLUMNS].copy()
    out["online_year"] = out["online_year"].astype("Int64").astype("string").fillna("")
    out["device_latency_us"] = [repr(float(v)) for v in out["device_latency_us"]]
    out["lon"] = [_DEG_FORMAT.format(v) for v in out["lon"]]
    out["lat"] = [_DEG_FORMAT.format(v) for v in out["lat"]]
    return out.to_csv(index=False, lineterminator="\n")


def _pool(metro: Metro, builds: gpd.GeoDataFrame) -> _Pool:
    """Existing sites, then new sites, placed as a run would read them from the sites CSV."""
    sites = metro.inputs.sites
    new = builds[builds["kind"].isin(["site", "known_dc"])]
    geoms = np.concatenate([sites.geometry.to_numpy(), new.geometry.to_numpy()])
    lonlat = gpd.GeoSeries(geoms, crs=metro.inputs.crs).to_crs(_WGS84)
    table = pd.DataFrame(
        {
            "id": np.concatenate([sites["site_id"].to_numpy(), new["build_id"].to_numpy()]),
            "name": np.concatenate([sites["name"].to_numpy(), new["name"].to_numpy()]),
            "tier": np.concatenate([sites["tier"].to_numpy(), new["tier"].to_numpy()]),
            "online_year": pd.array(list(sites["online_year"]) + [pd.NA] * len(new), dtype="Int64"),
            "device_latency_us": np.concatenate(
                [
                    sites["device_latency_us"].to_numpy(float),
                    new["device_latency_us"].to_numpy(float),
                ]
            ),
            "lon": lonlat.x.to_numpy(),
            "lat": lonlat.y.to_numpy(),
        }
    )
    x, y = _read_back(table, metro.inputs.crs)
    attachment = attach_sites(
        metro.locator, x, y, table["device_latency_us"].to_numpy(float), metro.params
    )
    return _Pool(table=table, x=x, y=y, attachment=attachment, n_existing=len(sites))


def _read_back(table: pd.DataFrame, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Read the sites CSV text with the run's own CSV reader: the positions a run will use.

    In memory: analysis writes no file (``output.plan`` writes ``sites-planned.csv``).
    """
    spec = SitesInput(path=Path("sites-planned.csv"), lon="lon", lat="lat", crs="wgs84")
    gdf = read_points_text(sites_csv(table), spec, role="sites").to_crs(crs)
    return gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()


# --------------------------------------------------------------------------- coverage sets


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
    indices, indptr = [], [0]
    for j in _progress(range(n), "coverage sets", n):
        one = _site_field(view, metro, len(pool.table), int(pidx[j]))
        hit = where[covered(one.at(loc)[0], budget_ms=budget_ms)]
        indices.append(hit)
        indptr.append(indptr[-1] + len(hit))
    data = np.ones(indptr[-1], bool)
    idx = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    return sp.csc_matrix((data, idx, np.array(indptr)), shape=(len(rows), n))


# --------------------------------------------------------------------------- access builds


# --------------------------------------------------------------------------- the plan


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
    spec = metro.config.plan
    limit = time_limit_s if time_limit_s is not None else spec.time_limit_s
    t0 = time.perf_counter()
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
    candidates = _with_known_dc(metro, candidates)
    builds = candidate_builds(metro, goals, candidates=candidates)
    pool = _pool(metro, builds)
    seconds["candidates"] = time.perf_counter() - t0
    sets, builds = coverage_sets(metro, goals, builds, pool=pool)
    seconds["coverage_sets"] = sets.seconds
    t1 = time.perf_counter()
    samples = metro.samples[sets.basis]
    stages = _stages(metro, goals, builds, sets, samples)
    cost = builds["cost"].to_numpy(float)
    reach = _reachable(goals, stages, sets, samples)
    _check_reachable(
        metro, goals, stages, sets, samples, reach, builds, max_builds, max_cost, limit
    )
    notes = _notes(metro, builds, sets)
    sol, greedy_sol, ver, sets, stages = _solve_verified(
        metro, goals, builds, pool, sets, (max_builds, max_cost, limit), notes, stages
    )
    seconds["solve"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    built = {g.year: b for g, b in zip(goals, sol.built, strict=True)}
    table, _ = _plan_table(metro, goals, builds, pool, sets, built, sol)
    table = _with_alternatives(table, builds, ver.classes)
    planned = ver.shares
    curve = _curves(stages, cost, samples, sets, goals, limit, curve_points, sol, builds, table)
    seconds["tables"] = time.perf_counter() - t2
    return PlanResult(
        goals=goals,
        basis=sets.basis,
        builds=builds,
        built=built,
        table=table,
        baseline_share={g.year: _share(samples, sets.baseline[g.year]) for g in goals},
        planned_share=planned,
        reachable_share=reach,
        cost=sol.cost,
        lower_bound=sol.lower_bound,
        gap=sol.gap,
        solver=sol.solver,
        greedy_cost=greedy_sol.cost if greedy_sol.feasible else float("nan"),
        curve=curve,
        sites_planned=ver.sites,
        seconds=seconds,
        sets=sets,
        notes=notes,
        spurs=ver.spurs,
        network_layers=network_layers(metro, ver.spurs),
    )


@dataclass(frozen=True)
class _Verified:
    """A plan run through the engine on its planned network, as a run of its files does."""

    shares: dict[int, float]
    covered: dict[int, np.ndarray]
    spurs: pd.DataFrame
    sites: pd.DataFrame
    #: Per build, its class of equivalent builds (:class:`Reduced`), -1: covers nothing.
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


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
    return _Verified(shares, cov, spurs, sites.drop(columns=["_x", "_y"]))


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
    """Remove the chosen builds' entries at the points the engine found uncovered."""
    matrix = {}
    for year, m in sets.matrix.items():
        m = sp.csc_matrix(m, dtype=bool)
        hit = np.asarray(m @ built[year].astype(float)).ravel() > 0
        wrong = hit & ~ver.covered[year][sets.rows]
        col = np.repeat(np.arange(m.shape[1]), np.diff(m.indptr))
        m = m.copy()
        m.data = m.data & ~(built[year][col] & wrong[m.indices])
        m.eliminate_zeros()
        matrix[year] = m
    return dataclasses.replace(sets, matrix=matrix)


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
        m = sets.matrix[g.year][left].tocsr()
        w = samples.weight[sets.rows[left]]
        m, w = group_rows(m, w)
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
    m = sets.matrix[goal.year][left].tocsr()
    hit = np.asarray(m @ st.allowed.astype(float)).ravel() > 0
    rest = rows[~hit]
    access = samples.location.has_access[rest]
    return (
        share_of(float(samples.weight[rest[~access]].sum()), samples.total),
        share_of(float(samples.weight[rest[access]].sum()), samples.total),
    )


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


def _sites_planned(
    pool: _Pool, builds: gpd.GeoDataFrame, goals: list[Goal], built: dict[int, np.ndarray]
) -> pd.DataFrame:
    """Existing sites (brought forward ones with their new year) and the new sites."""
    table = pool.table.copy()
    first_year = np.full(len(builds), -1)
    for g in reversed(goals):
        first_year[built[g.year]] = g.year
    pidx = {}
    for j in np.flatnonzero(first_year >= 0):
        if builds["kind"].iloc[j] == "access":
            continue
        pidx[int(_pool_index(pool, builds.iloc[[j]])[0])] = int(first_year[j])
    years = table["online_year"].astype("Int64").copy()
    for i, y in pidx.items():
        years.iloc[i] = y
    table["online_year"] = years
    keep = np.arange(len(table)) < pool.n_existing
    keep[list(pidx)] = True
    return table[keep].reset_index(drop=True).assign(_x=pool.x[keep], _y=pool.y[keep])


def _sites_gdf(planned: pd.DataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Return the planned sites as a run reads ``sites-planned.csv`` (positions read back)."""
    return gpd.GeoDataFrame(
        {
            "site_id": planned["id"].to_numpy(dtype=str),
            "name": planned["name"].to_numpy(dtype=str),
            "tier": planned["tier"].to_numpy(dtype=str),
            "online_year": planned["online_year"].astype("Int64").to_numpy(),
            "device_latency_us": planned["device_latency_us"].to_numpy(float),
        },
        geometry=gpd.points_from_xy(planned["_x"], planned["_y"]),
        crs=crs,
    )


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


# --------------------------------------------------------------------------- what-if


def add_sites(metro: Metro, sites: list[tuple[float, float, str | None]]) -> Metro:
    """Return the metro with extra compute sites, online every year (``--add-site``).

    Parameters
    ----------
    metro
        The prepared metro.
    sites
        ``(lon, lat, name)`` in WGS84; ``name`` may be ``None``. Ids are ``ADD1``, ``ADD2``…

    Returns
    -------
    Metro
        A copy: the same network and samples, the sites table and attachment extended.

    Raises
    ------
    InputError
        For coordinates that are not longitude/latitude, or an id already taken.
    """
    if not sites:
        return metro
    old = metro.inputs.sites
    for lon, lat, _ in sites:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError("--add-site", None, f"not a longitude,latitude: {lon},{lat}")
    check_added_sites(metro, sites)
    ids = [f"ADD{i}" for i in range(1, len(sites) + 1)]
    taken = set(ids) & set(old["site_id"])
    if taken:
        raise InputError("--add-site", None, f"site id {sorted(taken)[0]!r} already exists")
    extra = gpd.GeoDataFrame(
        {
            "site_id": ids,
            "name": [n or i for (_, _, n), i in zip(sites, ids, strict=True)],
            "tier": "medium",
            "online_year": pd.array([pd.NA] * len(sites), dtype="Int64"),
            "device_latency_us": metro.params.site_device_us,
        },
        geometry=gpd.points_from_xy([s[0] for s in sites], [s[1] for s in sites]),
        crs=_WGS84,
    ).to_crs(metro.inputs.crs)
    table = gpd.GeoDataFrame(pd.concat([old, extra], ignore_index=True), crs=metro.inputs.crs)
    table["online_year"] = table["online_year"].astype("Int64")
    attachment = attach_sites(
        metro.locator,
        table.geometry.x.to_numpy(),
        table.geometry.y.to_numpy(),
        table["device_latency_us"].to_numpy(float),
        metro.params,
    )
    inputs = dataclasses.replace(
        metro.inputs,
        sites=table,
        notes=(*metro.inputs.notes, f"sites: {len(sites)} site(s) added with --add-site"),
    )
    return with_views(dataclasses.replace(metro, inputs=inputs, attachment=attachment))
