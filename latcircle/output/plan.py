"""Writing a plan: ``outputs/<city>/plan/`` (docs/plan.md).

* ``plan.csv``: one row per build chosen (what, year, cost, marginal key sites / people /
  km², cumulative share, solver, gap);
* ``plan.gpkg``: layer ``plan`` (the builds chosen: sites as points, fibre spurs as lines)
  and layer ``candidates`` (every build considered);
* ``sites-planned.csv``: the sites file a normal run accepts (existing and new sites);
* ``network-planned.gpkg``: the chosen fibre spurs (layer ``spurs``, which a run adds with
  ``network.additions`` / ``--add-network``) and the pieces of their host lines
  (``host_split``);
* ``candidates.csv``: the candidate sites considered, as a candidates file to edit and
  feed back (``--candidates``);
* ``curve.csv``: the maximal-covering curve (best share with 1, 2, … k builds, its cost);
* ``targets.csv``: per target, the share at the plan's parameters and at the run's, P5 / P50 /
  P95 and the probability of meeting it (docs/plan.md, "Plans with margins");
* ``plan.json``: goals, shares, cost, bound, gap, solver, timings, notes, parameters, targets.

Deterministic: the same plan gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from latcircle.analysis.plan import SITES_COLUMNS, PlanResult, sites_csv
from latcircle.output.files import write_csv, write_csv_text, write_gpkg, write_json

__all__ = ["candidates_csv", "plan_record", "write_plan"]


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
        "network": folder / "network-planned.gpkg",
        "candidates": folder / "candidates.csv",
        "targets": folder / "targets.csv",
    }
    write_csv(result.table, paths["plan"])
    write_csv_text(sites_csv(result.sites_planned[SITES_COLUMNS]), paths["sites"])
    write_csv(result.curve, paths["curve"])
    write_gpkg(_layers(result), paths["gpkg"])
    write_gpkg(result.network_layers, paths["network"])
    paths["candidates"].write_text(candidates_csv(result), encoding="utf-8")
    write_csv(result.targets, paths["targets"])
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
    alt = result.table[["build_id", "alternatives", "nearest_alternatives"]]
    plan = plan.merge(alt, on="build_id", how="left")
    return {"plan": plan, "candidates": cand}


def candidates_csv(result: PlanResult) -> str:
    """Return the candidate sites considered as a candidates file a plan reads back.

    ``plan.candidates`` / ``--candidates`` accept it as written (edit costs, drop rows, add
    your own): ``id``, ``name``, ``tier``, ``cost``, ``device_latency_us``,
    ``earliest_year``, ``kind`` (``site`` or ``known_dc``), ``source``, ``lon``, ``lat``.
    """
    b = result.builds[result.builds["kind"].isin(["site", "known_dc"])]
    lonlat = b.geometry.to_crs(4326)
    table = pd.DataFrame(
        {
            "id": b["build_id"].to_numpy(dtype=str),
            "name": b["name"].to_numpy(dtype=str),
            "tier": b["tier"].to_numpy(dtype=str),
            "cost": [repr(float(v)) for v in b["cost"]],
            "device_latency_us": [repr(float(v)) for v in b["device_latency_us"]],
            "earliest_year": b["earliest_year"].astype("Int64").astype("string").fillna(""),
            "kind": b["kind"].to_numpy(dtype=str),
            "source": b["source"].to_numpy(dtype=str) if "source" in b else "",
            "lon": [f"{v:.9f}" for v in lonlat.x],
            "lat": [f"{v:.9f}" for v in lonlat.y],
        }
    )
    return table.to_csv(index=False, lineterminator="\n")


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
        "spurs": len(result.spurs),
        "notes": list(result.notes),
        "parameters": {k: _plain(v) for k, v in result.parameters.items()},
        "targets": [
            {k: _plain(v) for k, v in row.items()} for row in result.targets.to_dict("records")
        ],
    }


def _plain(v: Any) -> Any:
    """Return a JSON value: floats to 9 decimals, NaN as null, numpy scalars as Python."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return round(v, 9) if np.isfinite(v) else None
    return v
