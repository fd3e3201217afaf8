"""How sure a plan is: each goal's share at P5 / P50 / P95 and the probability of meeting it.

The plan's sites and spurs are put on the metro **at the run's own parameters** (a run of
``sites-planned.csv`` and ``network-planned.gpkg``), its critical values computed
(:func:`~latcircle.analysis.sensitivity.sensitivity`) and the uncertainty of the
``uncertainty:`` section applied to them exactly as a run does
(:mod:`latcircle.analysis.uncertainty`: exact with one uncertain parameter, else seeded Monte
Carlo), with the plan's own goals as targets.
"""

from __future__ import annotations

import math

import numpy as np

from latcircle.analysis.metro import Metro
from latcircle.analysis.plan.core import Goal
from latcircle.analysis.plan.network import planned_metro
from latcircle.analysis.plan.planner import PlanResult
from latcircle.analysis.plan.sites import _read_back, _sites_gdf
from latcircle.analysis.progress import meets

__all__ = ["Quantiles", "plan_quantiles"]

#: Per goal year: the share at the run's parameters, P5, P50, P95, and P(meet the goal).
Quantiles = dict[int, tuple[float, float, float, float, float]]


def plan_quantiles(metro: Metro, result: PlanResult, goals: list[Goal]) -> tuple[Quantiles, str]:
    """Return each goal's share, P5 / P50 / P95 and P(meet) for a plan, and the method.

    Parameters
    ----------
    metro
        The metro at the run's own parameters (not the pessimistic one a plan may be made at).
    result
        The plan (its planned sites and spurs).
    goals
        The targets to meet (without any margin).
    """
    from latcircle.analysis.sensitivity import ROUTE, sensitivity
    from latcircle.analysis.uncertainty import (
        QUANTILES,
        _exact,
        _mc_shares,
        draws,
        resolve_distributions,
    )

    basis, years = result.basis, [g.year for g in goals]
    pm = _planned(metro, result, basis, years)
    sens = sensitivity(pm, [pm.scenario(year=y) for y in years])
    spec = metro.config.uncertainty
    dists = resolve_distributions(metro, spec)
    varying = [n for n in ("route_factor", "equipment_us", "site_us") if dists[n].uncertain]
    exact = len(varying) <= 1
    drawn = None if exact else draws(dists, samples=spec.samples, seed=spec.seed)
    out: Quantiles = {}
    for g in goals:
        crit = sens.criticals[(g.year, basis)]
        share = float(crit.share(ROUTE, metro.params.route_factor))
        if not spec.enabled:
            out[g.year] = (share, math.nan, math.nan, math.nan, math.nan)
            continue
        if exact:
            q, p_meet = _exact(pm, crit, dists, varying, g.share)
        else:
            shares = _mc_shares(pm, sens, crit, drawn)  # type: ignore[arg-type]
            q = np.quantile(shares, QUANTILES, method="inverted_cdf")
            p_meet = float(np.mean(meets(shares, g.share)))
        out[g.year] = (share, float(q[0]), float(q[1]), float(q[2]), float(p_meet))
    return out, _method(spec.enabled, exact, varying, spec.samples, spec.seed)


def _planned(metro: Metro, result: PlanResult, basis: str, years: list[int]) -> Metro:
    """Return the metro as a run of the plan's files prepares it, at ``metro``'s parameters."""
    sites = result.sites_planned
    x, y = _read_back(sites, metro.inputs.crs)
    gdf = _sites_gdf(sites.assign(_x=x, _y=y), metro.inputs.crs)
    return planned_metro(
        metro, sites=gdf, spurs=result.spurs, bases=[basis], years=years, located=result.located
    )


def _method(enabled: bool, exact: bool, varying: list[str], samples: int, seed: int) -> str:
    if not enabled:
        return "uncertainty disabled (uncertainty.enabled: false)"
    if exact and not varying:
        return "exact: no parameter is uncertain"
    if exact:
        return f"exact: one uncertain parameter ({varying[0]})"
    return f"Monte Carlo: {samples} draws, seed {seed} ({', '.join(varying)} uncertain)"
