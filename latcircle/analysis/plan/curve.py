"""The plan's curves (``curve.csv``): its step function and the best share with k builds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from latcircle.analysis.coverage import Samples, share_of
from latcircle.analysis.plan import solve as solvers
from latcircle.analysis.plan.core import CoverageSets, Goal
from latcircle.analysis.plan.reduce import reduce_builds

__all__ = ["CURVE_COLUMNS", "CURVE_POINTS"]


#: Most points of the maximal-covering curve by default (two HiGHS solves each).
CURVE_POINTS = 6


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
