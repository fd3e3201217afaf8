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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from latcircle.analysis import _plansolve as solvers
from latcircle.analysis._planreduce import Reduced, group_rows, reduce_builds
from latcircle.analysis._planviews import YearView, year_views
from latcircle.analysis.coverage import BASES, Samples, covered, share_of
from latcircle.analysis.metro import Metro, with_views
from latcircle.analysis.plannet import network_layers, planned_metro, spur_table
from latcircle.analysis.progress import meets, resolve_basis
from latcircle.config import SitesInput, Target
from latcircle.engine.latency import LatencyField, SiteAttachment, attach_sites, solve
from latcircle.engine.network import Network, PointLocation
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
    "spur_hits",
]

log = logging.getLogger(__name__)

#: What a build is: a new compute site (a candidate, or a known data centre from fetched
#: PeeringDB / OSM data), an existing site brought forward, a fibre spur.
BUILD_KINDS = ("site", "known_dc", "bring_forward", "access")

#: Columns of ``sites-planned.csv``: the sites format a normal run reads.
SITES_COLUMNS = ["id", "name", "tier", "online_year", "device_latency_us", "lon", "lat"]

#: Columns of ``plan.csv``.
PLAN_COLUMNS = [
    "year",
    "order",
    "build_id",
    "kind",
    "name",
    "tier",
    "cost",
    "device_latency_us",
    "length_m",
    "lon",
    "lat",
    "marginal_key_sites",
    "marginal_people",
    "marginal_km2",
    "basis",
    "cumulative_share",
    "solver",
    "gap",
    "attach_lon",
    "attach_lat",
    "host_edge",
    "alternatives",
    "nearest_alternatives",
    "source",
]

#: Most points of the maximal-covering curve by default (two HiGHS solves each).
CURVE_POINTS = 6
#: HiGHS's status for a proven infeasible model.
INFEASIBLE = 2
#: Time limit of the LP relaxation (the lower bound), at least.
LP_TIME_LIMIT_S = 60.0
#: A known data centre this close (m) to an existing site is that site (fetch merges OSM and
#: PeeringDB points within 300 m for the same reason; here: an assumption).
KNOWN_DC_MERGE_M = 300.0
#: Equivalent candidates named per build in plan.csv (the nearest).
ALTERNATIVES_SHOWN = 3
#: Solve-and-check rounds on the planned network before giving the engine's shares as they are.
VERIFY_ROUNDS = 4

_WGS84 = pyproj.CRS.from_epsg(4326)
#: Degrees are written with 9 decimals (0.1 mm), read back by the run's own reader.
_DEG_FORMAT = "{:.9f}"


@dataclass(frozen=True, slots=True)
class Goal:
    """A target to plan for: a share of a basis within the budget by a year."""

    year: int
    share: float
    basis: str


@dataclass(frozen=True)
class CoverageSets:
    """Which demand points of the judged basis each build brings within the budget.

    Attributes
    ----------
    basis
        The judged basis.
    rows
        Indices (into the basis's samples) of the points the first stage's baseline leaves
        uncovered: the only points a build can add (baselines only grow with the year).
    matrix
        Per stage year, rows × builds, boolean CSC (a site's column is the same every year;
        an access build's depends on the sites online that year).
    baseline
        Per stage year, which of the basis's samples the existing sites cover.
    seconds
        Wall time spent computing the sets.
    """

    basis: str
    rows: np.ndarray
    matrix: dict[int, sp.csc_matrix]
    baseline: dict[int, np.ndarray]
    seconds: float


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


@dataclass(frozen=True)
class _Pool:
    """Every site the plan may use (existing first, then new), as the sites file gives them."""

    table: pd.DataFrame  # SITES_COLUMNS, text as written
    x: np.ndarray
    y: np.ndarray
    attachment: SiteAttachment
    n_existing: int


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


def auto_candidates(metro: Metro, *, spacing_m: float, cost: float) -> gpd.GeoDataFrame:
    """Return the automatic candidate sites: network junctions at least a spacing apart.

    The rule (greedy by degree, a Poisson-disc thinning): nodes of degree ≥ 3 inside the
    metro, taken by degree (highest first, then lowest index); a node is kept when no node
    kept before lies within ``spacing_m`` of it. So no two candidates are closer than the
    spacing, and each junction left out has a kept one of no lower degree within it.

    Parameters
    ----------
    metro
        The prepared metro.
    spacing_m
        The minimum distance between two candidates.
    cost
        Cost of each candidate.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`latcircle.inputs.candidates.read_candidates` returns (ids by node index).
    """
    from scipy.spatial import cKDTree

    net = metro.network
    degree = np.bincount(np.concatenate([net.u, net.v]), minlength=net.n_nodes)
    inside = shapely.contains_xy(metro.inputs.boundary, net.x, net.y)
    nodes = np.flatnonzero((degree >= 3) & inside)
    nodes = nodes[np.lexsort((nodes, -degree[nodes]))]
    xy = np.column_stack([net.x[nodes], net.y[nodes]])
    tree = cKDTree(xy) if len(nodes) else None
    free = np.ones(len(nodes), bool)
    kept = []
    for i in range(len(nodes)):
        if not free[i]:
            continue
        kept.append(nodes[i])
        assert tree is not None
        # Strictly closer than the spacing is ruled out; exactly at it is allowed.
        near = tree.query_ball_point(xy[i], np.nextafter(spacing_m, 0.0))
        free[near] = False
    keep = np.sort(np.array(kept, dtype=np.int64))
    ids = [f"J{i:05d}" for i in range(1, len(keep) + 1)]
    return gpd.GeoDataFrame(
        {
            "cand_id": ids,
            "name": [f"junction {n}" for n in keep],
            "tier": "medium",
            "cost": float(cost),
            "device_latency_us": metro.params.site_device_us,
            "earliest_year": pd.array([pd.NA] * len(keep), dtype="Int64"),
            "kind": "site",
            "source": "network junction (automatic)",
        },
        geometry=gpd.points_from_xy(net.x[keep], net.y[keep]),
        crs=metro.inputs.crs,
    )


def _with_known_dc(metro: Metro, candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add the known data centres (``plan.known_dc``) inside the metro as candidates.

    A known data centre within :data:`KNOWN_DC_MERGE_M` of an existing site is that site
    (left out), and so is one outside the metro.
    """
    spec = metro.config.plan
    if spec.known_dc is None:
        return candidates
    from latcircle.inputs.candidates import read_known_dc

    dc = read_known_dc(
        spec.known_dc,
        metro.inputs.crs,
        cost=spec.tier_cost.get("known_dc", spec.known_dc_cost),
        device_latency_us=metro.params.site_device_us,
    )
    x, y = dc.geometry.x.to_numpy(), dc.geometry.y.to_numpy()
    inside = shapely.contains_xy(metro.inputs.boundary, x, y)
    sites = metro.inputs.sites.geometry
    if len(sites):
        from scipy.spatial import cKDTree

        d, _ = cKDTree(np.column_stack([sites.x, sites.y])).query(np.column_stack([x, y]))
        inside &= d > KNOWN_DC_MERGE_M
    dc = dc[inside]
    if len(candidates) == 0:
        return dc.reset_index(drop=True)
    out = pd.concat([candidates, dc], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metro.inputs.crs)


def candidate_builds(
    metro: Metro,
    goals: list[Goal],
    *,
    candidates: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Return every build the plan may choose from, in column order.

    Parameters
    ----------
    metro
        The prepared metro.
    goals
        The goals (their first year decides which sites can be brought forward).
    candidates
        Candidate sites (:func:`read_candidates` or :func:`auto_candidates`). Access
        builds are added by :func:`coverage_sets`, which knows the demand without access.

    Returns
    -------
    geopandas.GeoDataFrame
        ``build_id``, ``kind``, ``name``, ``tier``, ``cost``, ``device_latency_us``,
        ``earliest_year``, ``existing`` (index of the existing site, -1), ``length_m``.
    """
    cfg = metro.config.plan
    sites = metro.inputs.sites
    first = goals[0].year
    later = sites["online_year"].notna() & (sites["online_year"].fillna(0) > first)
    frames = []
    if later.any():
        idx = np.flatnonzero(later.to_numpy())
        frames.append(
            pd.DataFrame(
                {
                    "build_id": [f"{s}@early" for s in sites["site_id"].iloc[idx]],
                    "kind": "bring_forward",
                    "name": sites["name"].iloc[idx].to_numpy(),
                    "tier": sites["tier"].iloc[idx].to_numpy(),
                    "cost": cfg.bring_forward_cost,
                    "device_latency_us": sites["device_latency_us"].iloc[idx].to_numpy(),
                    "earliest_year": pd.array([pd.NA] * len(idx), dtype="Int64"),
                    "existing": idx,
                    "length_m": 0.0,
                    "source": "sites file (online_year brought forward)",
                    "geometry": sites.geometry.iloc[idx].to_numpy(),
                }
            )
        )
    if candidates is not None and len(candidates):
        clash = set(candidates["cand_id"]) & set(sites["site_id"])
        if clash:
            src = cfg.candidates.path if cfg.candidates is not None else "candidates"
            raise InputError(src, "id", f"id {sorted(clash)[0]!r} is already an existing site's")
        frames.append(
            pd.DataFrame(
                {
                    "build_id": candidates["cand_id"].to_numpy(),
                    "kind": (
                        candidates["kind"].to_numpy(dtype=str) if "kind" in candidates else "site"
                    ),
                    "name": candidates["name"].to_numpy(),
                    "tier": candidates["tier"].to_numpy(),
                    "cost": candidates["cost"].to_numpy(dtype=float),
                    "device_latency_us": candidates["device_latency_us"].to_numpy(dtype=float),
                    "earliest_year": candidates["earliest_year"].astype("Int64").to_numpy(),
                    "existing": -1,
                    "length_m": 0.0,
                    "source": (
                        candidates["source"].to_numpy(dtype=str)
                        if "source" in candidates
                        else str(cfg.candidates.path.name if cfg.candidates else "candidates")
                    ),
                    "geometry": candidates.geometry.to_numpy(),
                }
            )
        )
    if not frames:
        return _empty_builds(metro.inputs.crs)
    out = pd.concat(frames, ignore_index=True)
    out["earliest_year"] = out["earliest_year"].astype("Int64")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metro.inputs.crs)


def _empty_builds(crs: pyproj.CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "build_id": pd.Series(dtype=str),
            "kind": pd.Series(dtype=str),
            "name": pd.Series(dtype=str),
            "tier": pd.Series(dtype=str),
            "cost": pd.Series(dtype=float),
            "device_latency_us": pd.Series(dtype=float),
            "earliest_year": pd.Series(dtype="Int64"),
            "existing": pd.Series(dtype=np.int64),
            "length_m": pd.Series(dtype=float),
            "source": pd.Series(dtype=str),
        },
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )


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


def _year_views(metro: Metro, pool: _Pool, years: list[int]) -> dict[int, YearView]:
    return year_views(
        metro,
        years,
        x=pool.x,
        y=pool.y,
        device_us=pool.table["device_latency_us"].to_numpy(float),
        whole=pool.attachment,
    )


def _baseline_field(metro: Metro, pool: _Pool, view: YearView, year: int) -> LatencyField:
    online = np.zeros(len(pool.table), bool)
    online[: pool.n_existing] = metro.online(year)
    return solve(view.network, view.attachment, metro.params, online=online, arcs=view.arcs)


def _pool_index(pool: _Pool, builds: gpd.GeoDataFrame) -> np.ndarray:
    """Index into the pool of each site build (existing site, or a new one)."""
    new_ids = {k: i for i, k in enumerate(pool.table["id"].iloc[pool.n_existing :])}
    return np.array(
        [
            int(e) if k == "bring_forward" else pool.n_existing + new_ids[b]
            for k, e, b in zip(builds["kind"], builds["existing"], builds["build_id"], strict=True)
        ],
        dtype=np.int64,
    )


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


def _site_field(view: YearView, metro: Metro, n_pool: int, site: int) -> LatencyField:
    """One engine solve: one pool site alone on a year's network."""
    online = np.zeros(n_pool, bool)
    online[site] = True
    return solve(view.network, view.attachment, metro.params, online=online, arcs=view.arcs)


def _progress(items: range, label: str, total: int) -> Iterable[int]:
    """Iterate with a rich progress bar when there are many items and a terminal."""
    if total < 50:
        return items
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    return track(
        items,
        description=label,
        total=total,
        transient=True,
        console=console,
        disable=not console.is_terminal,
    )


# --------------------------------------------------------------------------- access builds


def _with_access_builds(
    metro: Metro, builds: gpd.GeoDataFrame, view: YearView, basis: str, rows: np.ndarray
) -> gpd.GeoDataFrame:
    """Append one spur per tile of demand without access (docs/plan.md, Access builds).

    Spurs join the network of the first goal year (``view``); their host edge is kept as an
    index of the whole network (links only come online, so it exists in later years too).
    """
    cfg = metro.config.plan
    samples = view.samples[basis]
    loc = samples.location
    dark = rows[~loc.has_access[rows] & (samples.weight[rows] > 0)]
    if len(dark) == 0:
        return builds
    sx, sy = samples.coordinates()
    tile = cfg.access_tile_m
    tx = np.floor(sx[dark] / tile).astype(np.int64)
    ty = np.floor(sy[dark] / tile).astype(np.int64)
    keys, inv = np.unique(np.stack([tx, ty], axis=1), axis=0, return_inverse=True)
    inv = inv.ravel()
    w = samples.weight[dark]
    wsum = np.bincount(inv, weights=w)
    gx = np.bincount(inv, weights=w * sx[dark]) / wsum
    gy = np.bincount(inv, weights=w * sy[dark]) / wsum
    far = view.locator.locate(gx, gy, max_drop_m=1e9)
    ok = far.edge >= 0
    qx, qy = _point_on_edge(view.network, far.edge[ok], far.t[ok])
    far = dataclasses.replace(far, edge=np.where(ok, view.edges[np.maximum(far.edge, 0)], -1))
    lines = shapely.linestrings(
        np.stack([np.stack([qx, qy], 1), np.stack([gx[ok], gy[ok]], 1)], axis=1)
    )
    length = far.drop[ok]
    tiles = keys[ok]
    if cfg.max_spur_m is not None:  # spurs longer than the limit are not considered
        short = length <= cfg.max_spur_m
        lines, length, tiles = lines[short], length[short], tiles[short]
        qe, qt = far.edge[ok][short], far.t[ok][short]
    else:
        qe, qt = far.edge[ok], far.t[ok]
    spur = gpd.GeoDataFrame(
        {
            "build_id": [f"A{int(a)}_{int(b)}" for a, b in tiles],
            "kind": "access",
            "name": [f"fibre spur to tile {int(a)},{int(b)}" for a, b in tiles],
            "tier": "access",
            "cost": spur_costs(lines, metro=metro),
            "device_latency_us": np.nan,
            "earliest_year": pd.array([pd.NA] * len(tiles), dtype="Int64"),
            "existing": -1,
            "length_m": length,
            "source": "demand without access",
            "q_edge": qe,
            "q_t": qt,
        },
        geometry=lines,
        crs=metro.inputs.crs,
    )
    out = pd.concat([builds, spur], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metro.inputs.crs)


def spur_costs(lines: np.ndarray, *, metro: Metro) -> np.ndarray:
    """Return each spur's cost: a fixed part plus the per-km cost scaled by cost factors.

    ``plan.access_fixed_cost + plan.access_cost_per_km × Σ length_km × factor`` along the
    spur, the factor being 1 outside the ``plan.cost_factors`` polygons and, inside, the
    largest factor of the polygons there (docs/plan.md, *Cost model*).

    Parameters
    ----------
    lines
        The spurs (LineStrings, local CRS).
    metro
        The prepared metro (its config's plan section).
    """
    cfg = metro.config.plan
    length_km = shapely.length(lines) / 1000.0
    weighted = length_km.copy()
    if cfg.cost_factors is not None and len(lines):
        from latcircle.inputs.candidates import read_cost_factors

        polys = read_cost_factors(cfg.cost_factors, metro.inputs.crs)
        levels = np.unique(polys["factor"].to_numpy(float))[::-1]
        inside_before = np.zeros(len(lines))
        for f in levels:  # highest factor first: where polygons overlap, the largest counts
            region = shapely.union_all(polys.geometry[polys["factor"] >= f].to_numpy())
            inside = shapely.length(shapely.intersection(lines, region)) / 1000.0
            weighted += (f - 1.0) * (inside - inside_before)
            inside_before = inside
    return cfg.access_fixed_cost + cfg.access_cost_per_km * weighted


def _point_on_edge(
    network: Network, edge: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pts = shapely.line_interpolate_point(network.geometry[edge], t)
    return shapely.get_x(pts), shapely.get_y(pts)


def spur_hits(
    metro: Metro,
    field: LatencyField,
    spurs: gpd.GeoDataFrame,
    x: np.ndarray,
    y: np.ndarray,
    *,
    budget_ms: float,
) -> list[np.ndarray]:
    """Return, for each fibre spur, the points it brings within the budget.

    A point within the max drop of a spur from ``q`` (on the network) to ``g`` is reached at
    its projection ``q_p`` onto the spur, ``s`` metres from ``q``, with latency
    ``L(q) + factor·k·r·(s + |p − q_p|)``; ``L(q)`` comes from the field (the sites online).

    Parameters
    ----------
    metro
        The prepared metro.
    field
        The sites' latency field.
    spurs
        Access builds (``q_edge``, ``q_t``, line geometry ``q → g``).
    x, y
        The points (local CRS), meant to be points without access.
    budget_ms
        The budget (ms), applied with the one covered rule
        (:func:`~latcircle.analysis.coverage.covered`).

    Returns
    -------
    list of numpy.ndarray
        Per spur, indices into ``x`` of the points it covers.
    """
    p = metro.params
    if len(spurs) == 0:
        return []
    at_q = PointLocation(
        edge=spurs["q_edge"].to_numpy(np.int64),
        t=spurs["q_t"].to_numpy(float),
        drop=np.zeros(len(spurs)),
        max_drop_m=p.max_drop_m,
    )
    lq = field.at(at_q)[0]
    coords = shapely.get_coordinates(spurs.geometry.to_numpy()).reshape(-1, 2, 2)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    out = []
    for j in range(len(spurs)):
        (ax, ay), (bx, by) = coords[j]
        if not np.isfinite(lq[j]) or len(x) == 0:
            out.append(np.zeros(0, np.int64))
            continue
        # Only points in the spur's box grown by the max drop can be within it.
        lo, hi = np.searchsorted(xs, [min(ax, bx) - p.max_drop_m, max(ax, bx) + p.max_drop_m])
        cand = order[lo:hi]
        py_ = y[cand]
        cand = cand[(py_ >= min(ay, by) - p.max_drop_m) & (py_ <= max(ay, by) + p.max_drop_m)]
        px_, py_ = x[cand], y[cand]
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        s = (
            np.zeros(len(cand))
            if ll == 0
            else np.clip(((px_ - ax) * dx + (py_ - ay) * dy) / ll, 0, 1)
        )
        drop = np.hypot(px_ - (ax + s * dx), py_ - (ay + s * dy))
        lat = lq[j] + p.factor * p.us_per_m * (s * np.sqrt(ll) + drop)
        within = covered(lat, budget_ms=budget_ms)
        out.append(np.sort(cand[(drop <= p.max_drop_m) & within]))
    return out


def _spur_columns(
    metro: Metro,
    field: LatencyField,
    view: YearView,
    spurs: gpd.GeoDataFrame,
    basis: str,
    rows: np.ndarray,
    *,
    budget_ms: float,
) -> sp.csc_matrix:
    samples = view.samples[basis]
    idx = np.flatnonzero(~samples.location.has_access[rows])
    if len(spurs) == 0 or len(idx) == 0:
        return sp.csc_matrix((len(rows), len(spurs)), dtype=bool)
    pts = rows[idx]
    sx, sy = samples.coordinates()
    on_view = spurs.assign(q_edge=view.to_view(spurs["q_edge"].to_numpy(np.int64)))
    hits = spur_hits(metro, field, on_view, sx[pts], sy[pts], budget_ms=budget_ms)
    indptr = np.r_[0, np.cumsum([len(h) for h in hits])]
    indices = idx[np.concatenate(hits)] if indptr[-1] else np.zeros(0, np.int64)
    return sp.csc_matrix(
        (np.ones(len(indices), bool), indices, indptr), shape=(len(rows), len(spurs))
    )


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
        metro, goals, builds, pool, sets, (max_builds, max_cost, limit), notes
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
    for _ in range(VERIFY_ROUNDS):
        stages = _stages(metro, goals, builds, sets, samples)
        sol, greedy_sol, _, red = _solve(stages, cost, max_builds, max_cost, limit)
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


def _share(samples: Samples, within: np.ndarray) -> float:
    return share_of(float(samples.weight[within].sum()), samples.total)


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
            f"{no_access:.2%} has no access that any spur reaches and {too_far:.2%} has no "
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
    g, st = goals[-1], stages[-1]
    built, w, _ = solvers.max_cover(
        st, cost, max_builds=max_builds, max_cost=max_cost, time_limit_s=limit
    )
    best = share_of(float(samples.weight[sets.baseline[g.year]].sum()) + w, samples.total)
    lim = ", ".join(
        s
        for s in (
            f"at most {max_builds} builds" if max_builds is not None else "",
            f"a cost of at most {max_cost:g}" if max_cost is not None else "",
        )
        if s
    )
    raise InputError(
        metro.config.source,
        "--max-sites/--max-cost",
        f"the targets cannot be reached with {lim}: best {g.basis} share by {g.year} "
        f"{best:.2%} ({int(built.sum())} builds) against {g.share:.1%}",
    )


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


def _with_alternatives(
    table: pd.DataFrame, builds: gpd.GeoDataFrame, classes: np.ndarray
) -> pd.DataFrame:
    """Add each build's equivalent candidates: how many, and the nearest few (plan.csv).

    Equivalent: the same coverage set in every goal year and the same ``earliest_year``
    pattern (:func:`reduce_builds`), so any of them could replace the build at its own cost
    (the plan takes the cheapest). Distances between sites, or spurs' far ends, in km.
    """
    ids = builds["build_id"].to_numpy(dtype=str)
    where = {b: j for j, b in enumerate(ids)}
    ends = shapely.get_point(builds.geometry.to_numpy(), -1)
    ends = np.where(shapely.get_type_id(builds.geometry.to_numpy()) == 0, builds.geometry, ends)
    x, y = shapely.get_x(ends), shapely.get_y(ends)
    count, nearest = [], []
    for b in table["build_id"]:
        j = where[b]
        c = classes[j] if len(classes) == len(ids) else -1
        same = np.flatnonzero(classes == c) if c >= 0 else np.zeros(0, np.int64)
        same = same[same != j]
        d = np.hypot(x[same] - x[j], y[same] - y[j])
        order = np.lexsort((same, d))[:ALTERNATIVES_SHOWN]
        count.append(len(same))
        nearest.append("; ".join(f"{ids[same[k]]} ({d[k] / 1000:.1f} km)" for k in order))
    return table.assign(alternatives=count, nearest_alternatives=nearest)[PLAN_COLUMNS]


def _plan_table(
    metro: Metro,
    goals: list[Goal],
    builds: gpd.GeoDataFrame,
    pool: _Pool,
    sets: CoverageSets,
    built: dict[int, np.ndarray],
    sol: solvers.Solution,
) -> tuple[pd.DataFrame, dict[int, float]]:
    """One row per build, by year then by marginal gain; shares as a run computes them."""
    budget_ms = metro.config.budget_ms
    bases = [b for b in BASES if b in metro.samples]
    views = _year_views(metro, pool, [g.year for g in goals])
    fields = {g.year: _baseline_field(metro, pool, views[g.year], g.year) for g in goals}
    base = {  # the judged basis's baseline is the coverage sets'; the others', one solve a year
        (g.year, b): sets.baseline[g.year]
        if b == sets.basis
        else covered(fields[g.year].at(views[g.year].samples[b].location)[0], budget_ms=budget_ms)
        for g in goals
        for b in bases
    }
    chosen = np.flatnonzero(built[goals[-1].year])
    site_fields = _chosen_site_fields(metro, pool, builds, chosen, views)
    covers = {
        (g.year, b): _build_covers(
            metro, builds, chosen, fields[g.year], views[g.year], site_fields, b, budget_ms
        )
        for g in goals
        for b in bases
    }

    def cover(j: int, year: int, basis: str) -> np.ndarray:
        return covers[(year, basis)][int(j)]

    lonlat = builds.geometry.to_crs(_WGS84)
    rows: list[dict[str, object]] = []
    planned: dict[int, float] = {}
    prev = np.zeros(len(builds), bool)
    order = 0
    for g in goals:
        cur = {b: base[(g.year, b)].copy() for b in bases}
        for j in np.flatnonzero(prev).tolist():
            for b in bases:
                cur[b] |= cover(j, g.year, b)
        todo: list[int] = np.flatnonzero(built[g.year] & ~prev).tolist()
        while todo:
            gains = [
                float(
                    metro.samples[g.basis].weight[cover(j, g.year, g.basis) & ~cur[g.basis]].sum()
                )
                for j in todo
            ]
            k = int(np.argmax(gains))  # first of the largest: deterministic
            j = todo.pop(k)
            marg = {}
            for b in bases:
                new = cover(j, g.year, b) & ~cur[b]
                marg[b] = float(metro.samples[b].weight[new].sum())
                cur[b] |= new
            order += 1
            rows.append(
                _plan_row(g, order, builds, j, lonlat, marg, metro.samples[g.basis], cur, sol)
            )
        planned[g.year] = _share(metro.samples[g.basis], cur[g.basis])
        prev = built[g.year]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS), planned


def _chosen_site_fields(
    metro: Metro,
    pool: _Pool,
    builds: gpd.GeoDataFrame,
    chosen: np.ndarray,
    views: dict[int, YearView],
) -> dict[tuple[int, int], LatencyField]:
    """One engine solve per chosen site and distinct network, reused by every basis and year."""
    out: dict[tuple[int, int], LatencyField] = {}
    kinds = builds["kind"].to_numpy()
    for view in {id(v): v for v in views.values()}.values():
        for j in chosen.tolist():
            if kinds[j] != "access":
                pidx = int(_pool_index(pool, builds.iloc[[j]])[0])
                out[(id(view), j)] = _site_field(view, metro, len(pool.table), pidx)
    return out


def _build_covers(
    metro: Metro,
    builds: gpd.GeoDataFrame,
    chosen: np.ndarray,
    field: LatencyField,
    view: YearView,
    site_fields: dict[tuple[int, int], LatencyField],
    basis: str,
    budget_ms: float,
) -> dict[int, np.ndarray]:
    """Return what each chosen build brings within the budget on a basis (all its samples)."""
    samples = view.samples[basis]
    n = len(samples.weight)
    kinds = builds["kind"].to_numpy()
    out: dict[int, np.ndarray] = {}
    spurs = [int(j) for j in chosen if kinds[j] == "access"]
    if spurs:
        dark = np.flatnonzero(~samples.location.has_access)
        sub = builds.iloc[spurs]
        hits = spur_hits(
            metro,
            field,
            sub.assign(q_edge=view.to_view(sub["q_edge"].to_numpy(np.int64))),
            *(a[dark] for a in samples.coordinates()),
            budget_ms=budget_ms,
        )
        for j, h in zip(spurs, hits, strict=True):
            out[j] = np.zeros(n, bool)
            out[j][dark[h]] = True
    for j in chosen.tolist():
        if kinds[j] != "access":
            one = site_fields[(id(view), j)]
            out[j] = covered(one.at(samples.location)[0], budget_ms=budget_ms)
    return out


def _plan_row(
    goal: Goal,
    order: int,
    builds: gpd.GeoDataFrame,
    j: int,
    lonlat: gpd.GeoSeries,
    marg: dict[str, float],
    samples: Samples,
    cur: dict[str, np.ndarray],
    sol: solvers.Solution,
) -> dict[str, object]:
    b = builds.iloc[j]
    pt = lonlat.iloc[j]
    end = shapely.get_point(pt, -1) if pt.geom_type == "LineString" else pt
    return {
        "year": goal.year,
        "order": order,
        "build_id": b["build_id"],
        "kind": b["kind"],
        "name": b["name"],
        "tier": b["tier"],
        "cost": float(b["cost"]),
        "device_latency_us": float(b["device_latency_us"]),
        "length_m": float(b["length_m"]),
        "lon": float(end.x),
        "lat": float(end.y),
        "marginal_key_sites": marg.get("key_sites", np.nan),
        "marginal_people": marg.get("population", np.nan),
        "marginal_km2": marg.get("area", np.nan),
        "basis": goal.basis,
        "cumulative_share": _share(samples, cur[goal.basis]),
        "solver": sol.solver,
        "gap": sol.gap,
        "attach_lon": float(shapely.get_point(pt, 0).x) if b["kind"] == "access" else np.nan,
        "attach_lat": float(shapely.get_point(pt, 0).y) if b["kind"] == "access" else np.nan,
        "host_edge": int(b["q_edge"]) if b["kind"] == "access" else -1,
        "alternatives": 0,
        "nearest_alternatives": "",
        "source": b.get("source", ""),
    }


def _curves(
    stages: list[solvers.Stage],
    cost: np.ndarray,
    samples: Samples,
    sets: CoverageSets,
    goals: list[Goal],
    limit: float,
    points: int | None,
    sol: solvers.Solution,
    builds: gpd.GeoDataFrame | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the curves of each goal year (:func:`_curve`); equal instances share solves."""
    done: dict[bytes, pd.DataFrame] = {}
    ids = (
        builds["build_id"].to_numpy(dtype=str)
        if builds is not None
        else np.array([f"b{j}" for j in range(len(cost))])
    )
    order = _plan_order(table, ids) if table is not None else np.flatnonzero(sol.built[-1])
    out = []
    for g, st in zip(goals, stages, strict=True):
        m = st.matrix.tocsr()
        key = b"".join(
            a.tobytes() for a in (m.indptr, m.indices, st.weight, st.allowed, sets.baseline[g.year])
        )
        if key not in done:
            done[key] = _curve(st, cost, samples, sets, g, limit, points, sol, ids)
        trail = _trail(st, cost, samples, sets, g, order, ids)
        out.append(pd.concat([trail, done[key]], ignore_index=True).assign(year=g.year))
    return pd.concat(out, ignore_index=True)[CURVE_COLUMNS]


#: Columns of ``curve.csv``.
CURVE_COLUMNS = [
    "year",
    "basis",
    "limit",
    "at_most",
    "builds",
    "cost",
    "share",
    "gain",
    "optimal",
    "build_ids",
]


def _plan_order(table: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """Return the chosen builds in ``plan.csv`` order (year, then marginal gain)."""
    where = {b: j for j, b in enumerate(ids)}
    return np.array([where[b] for b in table["build_id"]], dtype=np.int64)


def _trail(
    stage: solvers.Stage,
    cost: np.ndarray,
    samples: Samples,
    sets: CoverageSets,
    goal: Goal,
    order: np.ndarray,
    ids: np.ndarray,
) -> pd.DataFrame:
    """Return the plan's own step function in a goal's year: cost and share after each build.

    ``limit = plan``: from zero cost (the baseline) through every build of ``plan.csv`` in
    its order, the share the builds so far give in this year (coverage sets).
    """
    base = float(samples.weight[sets.baseline[goal.year]].sum())
    built = np.zeros(len(cost), bool)
    rows = [_curve_row("plan", 0, built, 0.0, True, cost, base, samples, "")]
    for j in order.tolist():
        built[j] = True
        w = solvers.covered_weight(stage, built)
        rows.append(_curve_row("plan", len(rows), built, w, True, cost, base, samples, ids[j]))
    out = pd.DataFrame(rows)
    out["gain"] = out["share"].diff().fillna(0.0)
    out.insert(0, "basis", goal.basis)
    return out


def _curve(
    stage: solvers.Stage,
    cost: np.ndarray,
    samples: Samples,
    sets: CoverageSets,
    goal: Goal,
    limit: float,
    points: int | None,
    sol: solvers.Solution,
    ids: np.ndarray,
) -> pd.DataFrame:
    """Best share in a goal's year with at most k builds (maximal covering), k = 1, 2, ...

    Each point is a HiGHS maximal-covering solve on the reduced instance (the cheapest of
    equivalent builds), then a second solve for the cheapest builds of that coverage: a
    tie in share goes to the cheaper plan.
    """
    base = float(samples.weight[sets.baseline[goal.year]].sum())
    red = reduce_builds([stage], cost)
    rs, rc = red.stages[0], red.cost
    reach = solvers.covered_weight(rs, rs.allowed) if len(rc) else 0.0
    default = min(CURVE_POINTS, int(sol.built[-1].sum()) + 2)
    k_max = min(len(rc), points if points is not None else default)
    rows = []
    for k in range(1, k_max + 1):
        got, w, optimal = solvers.max_cover(rs, rc, max_builds=k, time_limit_s=limit)
        built = red.expand(got)
        chosen = " ".join(ids[built])
        rows.append(_curve_row("builds", k, built, w, optimal, cost, base, samples, chosen))
        if w >= reach:
            break  # every reachable point is covered: more builds add nothing
    out = pd.DataFrame(rows, columns=[c for c in CURVE_COLUMNS if c not in ("year", "basis")])
    out["gain"] = np.nan
    out.insert(0, "basis", goal.basis)
    return out


def _curve_row(
    kind: str,
    limit: float,
    built: np.ndarray,
    weight: float,
    optimal: bool,
    cost: np.ndarray,
    base: float,
    samples: Samples,
    chosen: str,
) -> dict[str, object]:
    return {
        "limit": kind,
        "at_most": float(limit),
        "builds": int(built.sum()),
        "cost": float(cost[built].sum()),
        "share": share_of(base + weight, samples.total),
        "gain": np.nan,
        "optimal": bool(optimal),
        "build_ids": chosen,
    }


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
