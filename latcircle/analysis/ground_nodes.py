"""Ground coordination nodes: where to put LEO gateways with compute for places without fibre.

The 2026 space-ground policies pair LEO access with *ground coordination nodes*: a gateway
(ground station) with compute beside it. This planner chooses such nodes among candidates (the
backbone's nodes, its points of presence) so that the most demand without terrestrial access
(cities, or their people where a ``population`` column is given) comes within the application
tier (10 ms, to any compute) and the hub tier (20 ms, to a national hub) over LEO, at least cost.

Coverage is exact and a plain set function, as in the metro planner: a node ``n`` brings a city
``c`` within a budget when the LEO path ``c -> n`` (judged as :func:`national_tiers` judges it)
plus the ground latency from ``n`` to compute is within it. A node's own compute is the nearest
compute any gateway at ``n`` can have (``E + S + D(n)``: no backbone path is shorter), so a
chosen node never improves another chosen node's coverage, and re-running the tiers with the
chosen gateways and sites reproduces the planned coverage exactly (checked on every plan).
The problem (reach the most coverable weight in both tiers at least cost) is the staged set
cover of :mod:`latcircle.analysis.plan.solve`, solved by HiGHS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from latcircle.analysis.coverage import covered
from latcircle.analysis.leo import LeoParams, leo_path
from latcircle.analysis.plan.solve import Stage, min_cost
from latcircle.analysis.tiers import (
    TierParams,
    _nearest_node,
    _node_latency_us,
    national_tiers,
)
from latcircle.inputs.backbone import Backbone, geodesic_m

__all__ = ["GroundPlan", "plan_ground_nodes"]


@dataclass(frozen=True)
class GroundPlan:
    """What :func:`plan_ground_nodes` chose and what it brings.

    Attributes
    ----------
    nodes
        The chosen ground nodes: ``id``, ``name``, ``lon``, ``lat``, ``cost`` and the weight
        each one covers alone in each tier.
    gateways
        The chosen nodes as a gateways table (``--gateways``).
    sites
        The compute sites with the chosen nodes added as ``kind: ground_node`` (``--hubs``).
    cities
        The cities without terrestrial access: weight, planned ``in_10ms`` / ``in_20ms``.
    summary
        Planned and re-run figures, cost, solver status.
    """

    nodes: pd.DataFrame
    gateways: pd.DataFrame
    sites: pd.DataFrame
    cities: pd.DataFrame
    summary: dict[str, object] = field(default_factory=dict)


def plan_ground_nodes(
    backbone: Backbone,
    sites: pd.DataFrame,
    cities: pd.DataFrame,
    *,
    leo: LeoParams,
    params: TierParams | None = None,
    leo_basis: str | None = None,
    node_cost: float = 1.0,
    time_limit_s: float = 30.0,
) -> GroundPlan:
    """Choose ground nodes (gateway + compute) to bring no-access cities within 10 and 20 ms.

    Parameters
    ----------
    backbone
        The backbone; its nodes are the candidates.
    sites
        Existing hubs and clusters (as :func:`national_tiers`).
    cities
        The places (as :func:`national_tiers`); an optional ``population`` column weights them.
    leo
        The LEO model.
    params
        Tier parameters.
    leo_basis
        ``measured`` or ``geometric`` (default: the preset's).
    node_cost
        Cost of one ground node (gateway and compute; relative units, an assumption).
    time_limit_s
        HiGHS time limit.

    Returns
    -------
    GroundPlan
        The chosen nodes, tables to re-run with, and the planned and re-run figures.
    """
    p = params or TierParams()
    base = national_tiers(backbone, sites, cities, params=p)
    need = ~base.cities["terrestrial_access"].to_numpy()
    demand = base.cities.loc[need].reset_index(drop=True)
    weight = _weights(demand)
    in10, in20, mean_ms = _coverage(backbone, sites, demand, p, leo, leo_basis)
    cost = np.full(backbone.n_nodes, float(node_cost))
    stages = [_stage(m, weight) for m in (in10, in20)]
    chosen = np.zeros(backbone.n_nodes, bool)
    sol = None  # no city without access: nothing to plan (empty is normal)
    if len(demand):
        sol = min_cost(stages, cost * (1.0 + _TIE * _rank(mean_ms)), time_limit_s=time_limit_s)
        chosen = sol.built[-1] if sol.feasible else chosen
    nodes, gateways, new_sites = _tables(backbone, sites, chosen, cost, in10, in20, weight)
    nodes = _nearest_place(nodes, cities)
    demand = demand.assign(
        weight=weight,
        in_10ms=(in10[:, chosen].any(axis=1)),
        in_20ms=(in20[:, chosen].any(axis=1)),
    )
    rerun = national_tiers(
        backbone, new_sites, cities, params=p, leo=leo, gateways=gateways, leo_basis=leo_basis
    )
    summary = _summary(demand, rerun, sol, chosen, cost, leo, leo_basis, node_cost)
    return GroundPlan(nodes, gateways, new_sites, demand, summary)


#: Equally cheap plans are told apart by the candidates' mean geometric-bound LEO latency to the
#: demand: each node's cost is raised by at most this fraction, in the order of that mean.
_TIE = 1e-6


def _rank(values: np.ndarray) -> np.ndarray:
    """Rank in [0, 1) (stable: equal values keep the node order)."""
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values))
    rank[order] = np.arange(len(values))
    return rank / max(len(values), 1)


def _weights(demand: pd.DataFrame) -> np.ndarray:
    if "population" in demand:
        return demand["population"].to_numpy(float)
    return np.ones(len(demand))


def _coverage(
    backbone: Backbone,
    sites: pd.DataFrame,
    demand: pd.DataFrame,
    p: TierParams,
    leo: LeoParams,
    basis: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cities × nodes within 10 ms (any compute), 20 ms (a hub); each node's mean latency."""
    n = backbone.n_nodes
    site_node, site_km = _nearest_node(backbone, sites)
    onward = p.equipment_us + _node_latency_us(backbone, site_node, site_km, p)  # (site, node)
    hub = (sites["kind"] == "hub").to_numpy()
    own = p.equipment_us + p.site_device_us + p.node_device_us  # compute at the node itself
    app_ms = np.minimum(onward.min(axis=0), own) / 1000.0
    hub_ms = onward[hub].min(axis=0) / 1000.0
    m = len(demand)
    sep = (
        geodesic_m(
            np.broadcast_to(demand["lon"].to_numpy(float)[:, None], (m, n)),
            np.broadcast_to(demand["lat"].to_numpy(float)[:, None], (m, n)),
            np.broadcast_to(backbone.lon[None, :], (m, n)),
            np.broadcast_to(backbone.lat[None, :], (m, n)),
        ).reshape(m, n)
        / 1000.0
    )
    path10 = leo_path(leo, sep, ground_ms=app_ms[None, :], basis=basis)
    lat10 = path10.judged_ms
    lat20 = leo_path(leo, sep, ground_ms=hub_ms[None, :], basis=basis).judged_ms
    # Ties: the geometric bound grows with the distance to the demand (the judged median may
    # not), so the nearer of equally good nodes is preferred.
    finite = np.where(np.isfinite(path10.bound_ms), path10.bound_ms, 1e6)
    mean_ms = finite.mean(axis=0) if m else np.zeros(n)
    return (
        covered(lat10 * 1000.0, budget_ms=p.app_budget_ms),
        covered(lat20 * 1000.0, budget_ms=p.hub_budget_ms),
        mean_ms,
    )


def _stage(matrix: np.ndarray, weight: np.ndarray) -> Stage:
    # Reach everything any candidate can reach: the weight covered with every node built.
    reachable = float(weight[matrix.any(axis=1)].sum()) if matrix.size else 0.0
    return Stage(
        sp.csr_matrix(matrix.astype(float)),
        weight,
        reachable,
        np.ones(matrix.shape[1], bool),
        float(weight.sum()),
    )


def _tables(
    backbone: Backbone,
    sites: pd.DataFrame,
    chosen: np.ndarray,
    cost: np.ndarray,
    in10: np.ndarray,
    in20: np.ndarray,
    weight: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    idx = np.flatnonzero(chosen)
    ids = [f"gn{i:03d}" for i in idx]
    names = [f"ground node {backbone.names[i]}" for i in idx]
    lon, lat = backbone.lon[idx], backbone.lat[idx]
    nodes = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "node": [backbone.names[i] for i in idx],
            "lon": lon,
            "lat": lat,
            "cost": cost[idx],
            "weight_10ms_alone": [float(weight[in10[:, i]].sum()) for i in idx],
            "weight_20ms_alone": [float(weight[in20[:, i]].sum()) for i in idx],
        }
    )
    gateways = nodes.loc[:, ["id", "name", "lon", "lat"]].copy()
    extra = gateways.assign(kind="ground_node")
    keep = [c for c in ("id", "name", "kind", "lon", "lat") if c in sites]
    new_sites = pd.concat([sites.loc[:, keep], extra], ignore_index=True)
    return nodes, gateways, new_sites


def _nearest_place(nodes: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Name the place nearest each chosen node (line backbones name nodes by coordinates)."""
    if len(nodes) == 0 or len(places) == 0:
        return nodes.assign(nearest_place="", nearest_place_km=np.nan)
    n, m = len(nodes), len(places)
    d = geodesic_m(
        np.broadcast_to(nodes["lon"].to_numpy(float)[:, None], (n, m)),
        np.broadcast_to(nodes["lat"].to_numpy(float)[:, None], (n, m)),
        np.broadcast_to(places["lon"].to_numpy(float)[None, :], (n, m)),
        np.broadcast_to(places["lat"].to_numpy(float)[None, :], (n, m)),
    ).reshape(n, m)
    i = d.argmin(axis=1)
    return nodes.assign(
        nearest_place=places["name"].astype(str).to_numpy()[i],
        nearest_place_km=d[np.arange(n), i] / 1000.0,
    )


def _summary(
    demand: pd.DataFrame,
    rerun: object,
    sol: object,
    chosen: np.ndarray,
    cost: np.ndarray,
    leo: LeoParams,
    basis: str | None,
    node_cost: float,
) -> dict[str, object]:
    cities = rerun.cities  # type: ignore[attr-defined]
    no_access = ~cities["terrestrial_access"]
    w = cities["population"] if "population" in cities else pd.Series(1.0, index=cities.index)
    re10 = float(w[no_access & cities["leo_meets_app_tier"]].sum())
    re20 = float(w[no_access & cities["leo_meets_hub_tier"]].sum())
    total = float(demand["weight"].sum())
    plan10 = float(demand.loc[demand["in_10ms"], "weight"].sum())
    plan20 = float(demand.loc[demand["in_20ms"], "weight"].sum())
    return {
        "candidates": "the backbone's nodes (a gateway with compute at a point of presence)",
        "node_cost": node_cost,
        "leo": leo.name,
        "basis": basis or leo.basis,
        "no_access_weight": total,
        "nodes_chosen": int(chosen.sum()),
        "cost": float(cost[chosen].sum()),
        "planned_10ms_weight": plan10,
        "planned_20ms_weight": plan20,
        "planned_10ms_share": plan10 / total if total else None,
        "planned_20ms_share": plan20 / total if total else None,
        "rerun_10ms_weight": re10,
        "rerun_20ms_weight": re20,
        "closed_loop_matches": re10 == plan10 and re20 == plan20,
        "solver": getattr(sol, "solver", "none (no demand)"),
        "optimal": bool(getattr(sol, "optimal", True)),
        "feasible": bool(getattr(sol, "feasible", True)),
    }
