"""``plan.csv``: one row per build chosen, what it adds on each basis, its alternatives."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from latcircle.analysis.coverage import BASES, Samples, covered
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan import solve as solvers
from latcircle.analysis.plan.core import (
    CoverageSets,
    Goal,
    _baseline_field,
    _Pool,
    _pool_index,
    _share,
    _site_field,
    _year_views,
)
from latcircle.analysis.plan.spurs import spur_hits
from latcircle.analysis.plan.views import YearView
from latcircle.engine.latency import LatencyField

__all__ = ["PLAN_COLUMNS"]

_WGS84 = pyproj.CRS.from_epsg(4326)

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


#: Equivalent candidates named per build in plan.csv (the nearest).
ALTERNATIVES_SHOWN = 3


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
