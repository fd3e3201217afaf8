"""Writing a plan: ``outputs/<city>/plan/`` (docs/plan.md).

* ``plan.csv``: one row per build chosen (what, year, cost, marginal key sites / people /
  km², cumulative share, solver, gap);
* ``plan.gpkg``: layer ``plan`` (the builds chosen: sites as points, fibre spurs as lines)
  and layer ``candidates`` (every build considered);
* ``sites-planned.csv``: the sites file a normal run accepts (existing and new sites);
* ``curve.csv``: the maximal-covering curve (best share with 1, 2, … k builds, its cost);
* ``plan.json``: goals, shares, cost, bound, gap, solver, timings, notes.

Deterministic: the same plan gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from latcircle.analysis.plan import SITES_COLUMNS, PlanResult, sites_csv
from latcircle.output.files import write_csv, write_csv_text, write_gpkg, write_json

__all__ = ["plan_record", "write_plan"]


def write_plan(result: PlanResult, folder: Path) -> dict[str, Path]:
    """Write a plan's files into ``folder`` (an atomic folder's temporary directory).

    Parameters
    ----------
    result
        The plan.
    folder
        Where to write.

    Returns
    -------
    dict
        File role to path.
    """
    folder = Path(folder)
    paths = {
        "plan": folder / "plan.csv",
        "sites": folder / "sites-planned.csv",
        "curve": folder / "curve.csv",
        "gpkg": folder / "plan.gpkg",
        "json": folder / "plan.json",
    }
    write_csv(result.table, paths["plan"])
    write_csv_text(sites_csv(result.sites_planned[SITES_COLUMNS]), paths["sites"])
    write_csv(result.curve, paths["curve"])
    write_gpkg(_layers(result), paths["gpkg"])
    write_json(plan_record(result), paths["json"])
    return paths


def _layers(result: PlanResult) -> dict[str, gpd.GeoDataFrame]:
    builds = result.builds.drop(columns=[c for c in ("q_edge", "q_t") if c in result.builds])
    last = result.goals[-1].year
    chosen = result.built[last]
    year = np.full(len(builds), -1)
    for g in reversed(result.goals):
        year[result.built[g.year]] = g.year
    cand = builds.copy()
    cand["chosen"] = chosen
    cand["year"] = year
    cand["earliest_year"] = cand["earliest_year"].astype("float64")
    plan = cand[chosen].drop(columns=["chosen"]).reset_index(drop=True)
    return {"plan": plan, "candidates": cand}


def plan_record(result: PlanResult) -> dict[str, Any]:
    """Describe a plan for ``plan.json``.

    Parameters
    ----------
    result
        The plan.
    """

    def num(v: float) -> float | None:
        return None if v is None or not np.isfinite(v) else round(float(v), 9)

    kinds = result.builds["kind"].value_counts().to_dict()
    return {
        "basis": result.basis,
        "goals": [{"year": g.year, "share": g.share, "basis": g.basis} for g in result.goals],
        "baseline_share": {str(y): num(v) for y, v in result.baseline_share.items()},
        "planned_share": {str(y): num(v) for y, v in result.planned_share.items()},
        "reachable_share": {str(y): num(v) for y, v in result.reachable_share.items()},
        "builds_chosen": {str(y): int(b.sum()) for y, b in result.built.items()},
        "candidates": {k: int(v) for k, v in sorted(kinds.items())},
        "cost": num(result.cost),
        "lower_bound": num(result.lower_bound),
        "gap": num(result.gap),
        "solver": result.solver,
        "greedy_cost": num(result.greedy_cost),
        "coverage_rows": len(result.sets.rows),
        "notes": list(result.notes),
    }
