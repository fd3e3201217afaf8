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
from latcircle.analysis.coverage import BASES, Samples, covered, share_of
from latcircle.analysis.metro import Metro, with_views
from latcircle.analysis.progress import meets, resolve_basis
from latcircle.config import SitesInput, Target
from latcircle.engine.latency import LatencyField, SiteAttachment, attach_sites, solve
from latcircle.engine.network import PointLocation
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

#: What a build is: a new compute site, an existing site brought forward, a fibre spur.
BUILD_KINDS = ("site", "bring_forward", "access")

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
]

#: Most points of the maximal-covering curve by default (one HiGHS solve each).
CURVE_POINTS = 12
#: HiGHS's status for a proven infeasible model.
INFEASIBLE = 2
#: Time limit of the LP relaxation (the lower bound), at least.
LP_TIME_LIMIT_S = 60.0
#: Cost budgets of the cost curve, as fractions of the plan's cost.
CURVE_BUDGETS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)

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
    """Return the automatic candidate sites: network junctions thinned to a spacing.

    The rule: nodes of degree ≥ 3 inside the metro; of those in each ``spacing_m`` square
    (a grid anchored at the CRS origin), the one of highest degree (then lowest index).

    Parameters
    ----------
    metro
        The prepared metro.
    spacing_m
        Side of the thinning squares.
    cost
        Cost of each candidate.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`latcircle.inputs.candidates.read_candidates` returns.
    """
    net = metro.network
    degree = np.bincount(np.concatenate([net.u, net.v]), minlength=net.n_nodes)
    inside = shapely.contains_xy(metro.inputs.boundary, net.x, net.y)
    nodes = np.flatnonzero((degree >= 3) & inside)
    cell = (
        np.floor(net.x[nodes] / spacing_m).astype(np.int64),
        np.floor(net.y[nodes] / spacing_m).astype(np.int64),
    )
    order = np.lexsort((nodes, -degree[nodes], cell[1], cell[0]))
    # [:len(order)]: no junction at all (a network of chains) keeps none, not a phantom one.
    first = np.r_[True, (np.diff(cell[0][order]) != 0) | (np.diff(cell[1][order]) != 0)]
    first = first[: len(order)]
    keep = np.sort(nodes[order][first])
    ids = [f"J{i:05d}" for i in range(1, len(keep) + 1)]
    return gpd.GeoDataFrame(
        {
            "cand_id": ids,
            "name": [f"junction {n}" for n in keep],
            "tier": "medium",
            "cost": float(cost),
            "device_latency_us": metro.params.site_device_us,
            "earliest_year": pd.array([pd.NA] * len(keep), dtype="Int64"),
        },
        geometry=gpd.points_from_xy(net.x[keep], net.y[keep]),
        crs=metro.inputs.crs,
    )


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
                    "kind": "site",
                    "name": candidates["name"].to_numpy(),
                    "tier": candidates["tier"].to_numpy(),
                    "cost": candidates["cost"].to_numpy(dtype=float),
                    "device_latency_us": candidates["device_latency_us"].to_numpy(dtype=float),
                    "earliest_year": candidates["earliest_year"].astype("Int64").to_numpy(),
                    "existing": -1,
                    "length_m": 0.0,
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
    new = builds[builds["kind"] == "site"]
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
    samples = metro.samples[basis]
    budget_ms = metro.config.budget_ms
    fields = {g.year: _baseline_field(metro, pool, g.year) for g in goals}
    baseline = {
        y: covered(f.at(samples.location)[0], budget_ms=budget_ms) for y, f in fields.items()
    }
    rows = np.flatnonzero(~baseline[goals[0].year])
    site_cols = _site_columns(metro, pool, builds, samples, rows, budget_ms=budget_ms)
    if access and metro.config.plan.access:
        builds = _with_access_builds(metro, builds, samples, rows)
    spurs = builds[builds["kind"] == "access"]
    matrix = {}
    for g in goals:
        acc_cols = _spur_columns(metro, fields[g.year], spurs, samples, rows, budget_ms=budget_ms)
        matrix[g.year] = sp.hstack([site_cols, acc_cols], format="csc").astype(bool)
    sets = CoverageSets(
        basis=basis,
        rows=rows,
        matrix=matrix,
        baseline=baseline,
        seconds=time.perf_counter() - t0,
    )
    return sets, builds


def _baseline_field(metro: Metro, pool: _Pool, year: int) -> LatencyField:
    online = np.zeros(len(pool.table), bool)
    online[: pool.n_existing] = metro.online(year)
    return solve(metro.network, pool.attachment, metro.params, online=online, arcs=metro.arcs)


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
    metro: Metro,
    pool: _Pool,
    builds: gpd.GeoDataFrame,
    samples: Samples,
    rows: np.ndarray,
    *,
    budget_ms: float,
) -> sp.csc_matrix:
    """One engine solve per site build, evaluated at the rows with access."""
    sites = builds[builds["kind"] != "access"]
    n = len(sites)
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
        hit = where[_covers(metro, pool, int(pidx[j]), loc, budget_ms=budget_ms)]
        indices.append(hit)
        indptr.append(indptr[-1] + len(hit))
    data = np.ones(indptr[-1], bool)
    idx = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    return sp.csc_matrix((data, idx, np.array(indptr)), shape=(len(rows), n))


def _covers(
    metro: Metro, pool: _Pool, site: int, loc: PointLocation, *, budget_ms: float
) -> np.ndarray:
    """Whether one pool site alone brings each located point within the budget."""
    online = np.zeros(len(pool.table), bool)
    online[site] = True
    one = solve(metro.network, pool.attachment, metro.params, online=online, arcs=metro.arcs)
    return covered(one.at(loc)[0], budget_ms=budget_ms)


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
    metro: Metro, builds: gpd.GeoDataFrame, samples: Samples, rows: np.ndarray
) -> gpd.GeoDataFrame:
    """Append one spur per tile of demand without access (docs/plan.md, Access builds)."""
    cfg = metro.config.plan
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
    far = metro.locator.locate(gx, gy, max_drop_m=1e9)
    ok = far.edge >= 0
    qx, qy = _point_on_edge(metro, far.edge[ok], far.t[ok])
    lines = shapely.linestrings(
        np.stack([np.stack([qx, qy], 1), np.stack([gx[ok], gy[ok]], 1)], axis=1)
    )
    length = far.drop[ok]
    tiles = keys[ok]
    spur = gpd.GeoDataFrame(
        {
            "build_id": [f"A{int(a)}_{int(b)}" for a, b in tiles],
            "kind": "access",
            "name": [f"fibre spur to tile {int(a)},{int(b)}" for a, b in tiles],
            "tier": "access",
            "cost": length / 1000.0 * cfg.access_cost_per_km,
            "device_latency_us": np.nan,
            "earliest_year": pd.array([pd.NA] * int(ok.sum()), dtype="Int64"),
            "existing": -1,
            "length_m": length,
            "q_edge": far.edge[ok],
            "q_t": far.t[ok],
        },
        geometry=lines,
        crs=metro.inputs.crs,
    )
    out = pd.concat([builds, spur], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metro.inputs.crs)


def _point_on_edge(metro: Metro, edge: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = shapely.line_interpolate_point(metro.network.geometry[edge], t)
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
    spurs: gpd.GeoDataFrame,
    samples: Samples,
    rows: np.ndarray,
    *,
    budget_ms: float,
) -> sp.csc_matrix:
    idx = np.flatnonzero(~samples.location.has_access[rows])
    if len(spurs) == 0 or len(idx) == 0:
        return sp.csc_matrix((len(rows), len(spurs)), dtype=bool)
    pts = rows[idx]
    sx, sy = samples.coordinates()
    hits = spur_hits(metro, field, spurs, sx[pts], sy[pts], budget_ms=budget_ms)
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
            else auto_candidates(metro, spacing_m=spec.auto_spacing_m, cost=spec.site_cost)
        )
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
    sol, greedy_sol, _ = _solve(stages, cost, max_builds, max_cost, limit)
    if not sol.feasible:
        raise InputError(
            metro.config.source,
            "plan.time_limit_s",
            f"no plan found within the limits in {limit:g} s (HiGHS stopped, the greedy "
            "failed): raise plan.time_limit_s",
        )
    seconds["solve"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    built = {g.year: b for g, b in zip(goals, sol.built, strict=True)}
    table, planned = _plan_table(metro, goals, builds, pool, sets, built, sol)
    curve = _curves(stages, cost, samples, sets, goals, limit, curve_points, sol)
    seconds["tables"] = time.perf_counter() - t2
    notes = _notes(metro, builds, sets)
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
        sites_planned=_sites_planned(pool, builds, goals, built),
        seconds=seconds,
        sets=sets,
        notes=notes,
    )


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
        m, w = _group(m, w)
        base = float(samples.weight[sets.baseline[g.year]].sum())
        need = g.share * samples.total - base
        out.append(solvers.Stage(m, w, need, earliest <= g.year, samples.total))
    return out


def _group(m: sp.csr_matrix, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Merge rows with the same covering builds (weights summed); drop rows none covers."""
    m = m.tocsr()
    m.sort_indices()
    nnz = np.diff(m.indptr)
    keep = np.flatnonzero(nnz > 0)
    if len(keep) == 0:
        return sp.csr_matrix((0, m.shape[1]), dtype=bool), np.zeros(0)
    # Two random projections identify a row's set of columns (a collision of two different
    # sets on both is vanishingly unlikely); rows are then compared exactly within a key.
    rng = np.random.default_rng(0)
    r = rng.random((m.shape[1], 2))
    key = np.asarray(m[keep].astype(float) @ r)
    _, first, inv = np.unique(
        np.column_stack([key, nnz[keep]]), axis=0, return_index=True, return_inverse=True
    )
    inv = inv.ravel()
    reps = keep[first]
    sub = m[keep]
    rep_rows = sub[first]
    if (sub != rep_rows[inv]).nnz:
        return m[keep], w[keep]  # a collision: keep the rows ungrouped (still exact)
    return rep_rows.astype(bool).tocsr(), np.bincount(inv, weights=w[keep])[: len(reps)]


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
) -> tuple[solvers.Solution, solvers.Solution, solvers.Solution]:
    """HiGHS to optimality if it can; else the better of its incumbent and the greedy."""
    # The LP relaxation is cheap next to the MILP and gives the gap: a longer limit.
    lp = solvers.min_cost(
        stages,
        cost,
        relax=True,
        time_limit_s=max(limit, LP_TIME_LIMIT_S),
        max_builds=max_builds,
        max_cost=max_cost,
    )
    gr = solvers.greedy(stages, cost, max_builds=max_builds, max_cost=max_cost)
    ex = solvers.min_cost(
        stages, cost, time_limit_s=limit, max_builds=max_builds, max_cost=max_cost
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
        dataclasses.replace(best, lower_bound=bound),
        dataclasses.replace(gr, lower_bound=bound),
        lp,
    )


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
    fields = {g.year: _baseline_field(metro, pool, g.year) for g in goals}
    base = {
        (g.year, b): covered(fields[g.year].at(metro.samples[b].location)[0], budget_ms=budget_ms)
        for g in goals
        for b in bases
    }
    chosen = np.flatnonzero(built[goals[-1].year])
    covers = {
        (g.year, b): _build_covers(
            metro, pool, builds, chosen, fields[g.year], b, budget_ms=budget_ms
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


def _build_covers(
    metro: Metro,
    pool: _Pool,
    builds: gpd.GeoDataFrame,
    chosen: np.ndarray,
    field: LatencyField,
    basis: str,
    *,
    budget_ms: float,
) -> dict[int, np.ndarray]:
    """Return what each chosen build brings within the budget on a basis (all its samples)."""
    samples = metro.samples[basis]
    n = len(samples.weight)
    kinds = builds["kind"].to_numpy()
    out: dict[int, np.ndarray] = {}
    spurs = [int(j) for j in chosen if kinds[j] == "access"]
    if spurs:
        dark = np.flatnonzero(~samples.location.has_access)
        hits = spur_hits(
            metro,
            field,
            builds.iloc[spurs],
            *(a[dark] for a in samples.coordinates()),
            budget_ms=budget_ms,
        )
        for j, h in zip(spurs, hits, strict=True):
            out[j] = np.zeros(n, bool)
            out[j][dark[h]] = True
    for j in chosen:
        if kinds[j] != "access":
            pidx = int(_pool_index(pool, builds.iloc[[int(j)]])[0])
            out[int(j)] = _covers(metro, pool, pidx, samples.location, budget_ms=budget_ms)
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
) -> pd.DataFrame:
    """:func:`_curve` for each goal year; years with the same instance share one curve."""
    done: dict[bytes, pd.DataFrame] = {}
    out = []
    for g, st in zip(goals, stages, strict=True):
        m = st.matrix.tocsr()
        key = b"".join(
            a.tobytes() for a in (m.indptr, m.indices, st.weight, st.allowed, sets.baseline[g.year])
        )
        if key not in done:
            done[key] = _curve(st, cost, samples, sets, g, limit, points, sol)
        out.append(done[key].assign(year=g.year))
    return pd.concat(out, ignore_index=True)


def _curve(
    stage: solvers.Stage,
    cost: np.ndarray,
    samples: Samples,
    sets: CoverageSets,
    goal: Goal,
    limit: float,
    points: int | None,
    sol: solvers.Solution,
) -> pd.DataFrame:
    """Best share in a goal's year with at most k builds, and within cost budgets.

    ``limit`` says which: ``builds`` (k = 1, 2, …) or ``cost`` (budgets at 25 %, 50 %, …
    150 % of the plan's cost). Each point is one HiGHS maximal-covering solve.
    """
    base = float(samples.weight[sets.baseline[goal.year]].sum())
    reach = solvers.covered_weight(stage, stage.allowed)
    n_allowed = int(stage.allowed.sum())
    default = min(CURVE_POINTS, max(5, int(sol.built[-1].sum()) + 2))
    k_max = min(n_allowed, points if points is not None else default)
    rows = [_curve_row("builds", 0, np.zeros(len(cost), bool), 0.0, True, cost, base, samples)]
    for k in range(1, k_max + 1):
        built, w, optimal = solvers.max_cover(stage, cost, max_builds=k, time_limit_s=limit)
        rows.append(_curve_row("builds", k, built, w, optimal, cost, base, samples))
        if w >= reach:
            break  # every reachable point is covered: more builds add nothing
    for f in CURVE_BUDGETS if sol.cost > 0 else ():
        budget = f * sol.cost
        built, w, optimal = solvers.max_cover(stage, cost, max_cost=budget, time_limit_s=limit)
        rows.append(_curve_row("cost", budget, built, w, optimal, cost, base, samples))
    out = pd.DataFrame(rows)
    out.insert(0, "year", goal.year)
    out.insert(1, "basis", goal.basis)
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
) -> dict[str, object]:
    return {
        "limit": kind,
        "at_most": float(limit),
        "builds": int(built.sum()),
        "cost": float(cost[built].sum()),
        "share": share_of(base + weight, samples.total),
        "optimal": bool(optimal),
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
    return table[keep].reset_index(drop=True)


def _notes(metro: Metro, builds: gpd.GeoDataFrame, sets: CoverageSets) -> list[str]:
    notes = []
    if metro.network.edge_online_year is not None:
        notes.append(
            "the network's links with an online year are all taken as built: the planner "
            "plans on the whole network"
        )
    n_access = int((builds["kind"] == "access").sum())
    if n_access:
        notes.append(
            f"{n_access} access builds (fibre spurs to {metro.config.plan.access_tile_m:g} m "
            "tiles of demand without access) count only what the existing sites serve through "
            "them; sites-planned.csv does not carry them (they extend the network)"
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
