"""Plans with margins: a margin on every target, pessimistic parameters, how sure a plan is.

* ``--margin PP``: every goal is planned at its share plus ``PP`` percentage points;
* ``--at-route-factor R``: the plan is made (and checked, closed loop) at route factor ``R``;
* ``--confidence Q``: the plan is made (and checked) at the **pessimistic parameter set** of
  ``Q``: every uncertain parameter of the ``uncertainty:`` section at its own ``Q``-quantile,
  all at once (route factor ``r_Q``, equipment latency ``E_Q``, site-latency offset ``δ_Q``).

What "holds at confidence Q" means here (docs/uncertainty.md): every share is non-increasing in
``r``, ``E`` and ``δ`` (a longer cable or more equipment latency never brings a point within the
budget), so a plan whose shares meet the targets at ``(r_Q, E_Q, δ_Q)`` meets them at every
parameter set with ``r ≤ r_Q``, ``E ≤ E_Q`` and ``δ ≤ δ_Q``. The parameters are drawn
independently, so that event has probability ``Q^k`` at least, ``k`` the number of uncertain
parameters (exactly ``Q`` for one). That lower bound is what is guaranteed; the probability the
plan actually meets each target under the stated distributions (``p_meet``, usually well above
``Q``) is computed for the plan itself on its planned network at the run's own parameters and
reported beside P5 / P50 / P95.

``E`` and ``δ`` enter every path alike (only ``C = E + δ`` matters for the 1 ms shares), so the
plan's metro carries ``E_Q + δ_Q`` as its equipment latency and every site keeps its own
device latency: the same latencies as a run with those parameters, sample by sample.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from latcircle.analysis.metro import Metro, attach_site_table, with_views
from latcircle.analysis.plan.core import Goal
from latcircle.analysis.plan.planner import PlanResult, plan_metro
from latcircle.engine.latency import arc_matrix
from latcircle.errors import InputError

__all__ = [
    "TARGET_COLUMNS",
    "Parameters",
    "at_parameters",
    "check_margin_options",
    "pessimistic_parameters",
    "plan_with_margins",
    "with_margin",
]

#: Columns of ``targets.csv``: per goal, the plan's shares and how sure they are.
TARGET_COLUMNS = [
    "year",
    "basis",
    "target",
    "margin_pp",
    "planned_for",
    "route_factor",
    "equipment_us",
    "share_at_plan_parameters",
    "share",
    "share_p5",
    "share_p50",
    "share_p95",
    "p_meet",
    "method",
]


@dataclass(frozen=True)
class Parameters:
    """The latency parameters a plan is made at.

    Attributes
    ----------
    route_factor, equipment_us
        The route factor and the equipment latency (µs) the plan's metro uses; the site
        offset is folded into ``equipment_us`` (``E + δ``: every path alike).
    how
        In words: the run's own, ``--at-route-factor``, or the quantile of each parameter.
    confidence
        ``Q`` of ``--confidence`` (``None`` otherwise).
    """

    route_factor: float
    equipment_us: float
    how: str
    confidence: float | None = None


def check_margin_options(
    *,
    margin_pp: float | None = None,
    at_route_factor: float | None = None,
    confidence: float | None = None,
) -> None:
    """Refuse bad margin options before anything is loaded (one line, exit code 2).

    Raises
    ------
    InputError
        For a negative or non-finite margin, a route factor below 1 (or not finite), a
        confidence outside (0, 1), or both ``--at-route-factor`` and ``--confidence``.
    """
    if margin_pp is not None and not (math.isfinite(margin_pp) and margin_pp >= 0):
        raise InputError("--margin", None, f"a margin is >= 0 percentage points, got {margin_pp}")
    if at_route_factor is not None and not (
        math.isfinite(at_route_factor) and at_route_factor >= 1.0
    ):
        raise InputError(
            "--at-route-factor", None, f"a route factor is >= 1 (finite), got {at_route_factor}"
        )
    if confidence is not None and not (0.0 < confidence < 1.0):
        raise InputError("--confidence", None, f"a confidence is in (0, 1), got {confidence}")
    if at_route_factor is not None and confidence is not None:
        raise InputError(
            "--at-route-factor", None, "give --at-route-factor or --confidence, not both"
        )


def with_margin(goals: list[Goal], margin_pp: float, *, source: object) -> list[Goal]:
    """Return the goals raised by ``margin_pp`` percentage points.

    Raises
    ------
    InputError
        When a target plus the margin exceeds 100 %.
    """
    if not margin_pp:
        return goals
    out = []
    for g in goals:
        share = g.share + margin_pp / 100.0
        if share > 1.0:
            raise InputError(
                source,
                "--margin",
                f"{g.share:.1%} by {g.year} plus {margin_pp:g} points is over 100 %",
            )
        out.append(Goal(g.year, share, g.basis))
    return out


def pessimistic_parameters(metro: Metro, confidence: float) -> Parameters:
    """Return each uncertain parameter at its ``confidence``-quantile (the pessimistic side).

    The distributions are the run's (:func:`~latcircle.analysis.uncertainty.
    resolve_distributions`: the config's ``uncertainty:`` section, else the defaults).
    """
    from latcircle.analysis.uncertainty import resolve_distributions

    dists = resolve_distributions(metro)
    q = np.array([confidence])
    r = float(dists["route_factor"].ppf(q)[0])
    e = float(dists["equipment_us"].ppf(q)[0])
    d = float(dists["site_us"].ppf(q)[0])
    how = (
        f"each uncertain parameter at its {confidence:g}-quantile: route factor {r:.6g}, "
        f"equipment {e:.6g} µs, site offset {d:+.6g} µs"
    )
    return Parameters(route_factor=r, equipment_us=e + d, how=how, confidence=confidence)


def at_parameters(metro: Metro, params: Parameters) -> Metro:
    """Return ``metro`` with other latency parameters, as :func:`prepare` would build it.

    The network, locator, grid and samples do not depend on ``r`` or ``E``; the arc
    latencies, the sites' attachment (their drops are priced with ``r``) and the views are
    built again, and the config's ``model`` section says the new values (a run of the
    plan's files with that config reproduces the plan's shares).
    """
    p = dataclasses.replace(
        metro.params, route_factor=params.route_factor, equipment_us=params.equipment_us
    )
    if p == metro.params:
        return metro
    model = metro.config.model.model_copy(
        update={"route_factor": p.route_factor, "equipment_us": p.equipment_us}
    )
    cfg = metro.config.model_copy(update={"model": model})
    sites = metro.inputs.sites
    attachment = attach_site_table(metro.locator, sites, p)
    out = dataclasses.replace(
        metro, config=cfg, params=p, attachment=attachment, arcs=arc_matrix(metro.network, p)
    )
    return with_views(out, located=metro)  # the same network: located once, not again


def goal_rows(
    goals: list[Goal],
    planned_for: list[Goal],
    planned_share: dict[int, float],
    params: Parameters,
    quantiles: dict[int, tuple[float, float, float, float, float]],
    method: str,
) -> pd.DataFrame:
    """Return ``targets.csv``: one row per goal (:data:`TARGET_COLUMNS`)."""
    rows = []
    for g, pf in zip(goals, planned_for, strict=True):
        share, p5, p50, p95, p_meet = quantiles[g.year]
        rows.append(
            {
                "year": g.year,
                "basis": g.basis,
                "target": g.share,
                "margin_pp": round((pf.share - g.share) * 100.0, 9),
                "planned_for": pf.share,
                "route_factor": params.route_factor,
                "equipment_us": params.equipment_us,
                "share_at_plan_parameters": planned_share[g.year],
                "share": share,
                "share_p5": p5,
                "share_p50": p50,
                "share_p95": p95,
                "p_meet": p_meet,
                "method": method,
            }
        )
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)


def plan_with_margins(
    metro: Metro,
    goals: list[Goal],
    *,
    margin_pp: float = 0.0,
    at_route_factor: float | None = None,
    confidence: float | None = None,
    protect: bool = False,
    **options: Any,
) -> PlanResult:
    """Plan each goal plus a margin, at chosen parameters, and say how sure the plan is.

    Parameters
    ----------
    metro
        The prepared metro at the run's own parameters.
    goals
        The targets (:func:`~latcircle.analysis.plan.goals_from`).
    margin_pp
        Percentage points added to every target (``--margin``).
    at_route_factor
        Plan at this route factor (``--at-route-factor``).
    confidence
        Plan at the pessimistic parameters of this confidence (``--confidence``; module
        docstring: what it guarantees).
    protect
        Count a demand point only when two sites cover it (:mod:`.protect`).
    **options
        Passed to :func:`~latcircle.analysis.plan.plan_metro` (candidates, limits...).

    Returns
    -------
    PlanResult
        With ``targets`` (``targets.csv``) and ``parameters`` filled.
    """
    from latcircle.analysis.plan.howsure import plan_quantiles

    check_margin_options(
        margin_pp=margin_pp, at_route_factor=at_route_factor, confidence=confidence
    )
    params = _parameters(metro, at_route_factor, confidence)
    planned_for = with_margin(goals, margin_pp, source=metro.config.source)
    if protect:
        from latcircle.analysis.plan.protect import plan_protected

        result = plan_protected(at_parameters(metro, params), planned_for, **options)
    else:
        result = plan_metro(at_parameters(metro, params), planned_for, **options)
    quantiles, method = plan_quantiles(metro, result, goals)
    if protect:  # the quantiles sample the one-site share of the planned sites
        method += "; share and quantiles: one site (not the protected share)"
    table = goal_rows(goals, planned_for, result.planned_share, params, quantiles, method)
    record = {
        "route_factor": params.route_factor,
        "equipment_us": params.equipment_us,
        "chosen": params.how,
        "confidence": params.confidence,
        "margin_pp": margin_pp,
    }
    # The planned metro has served (the how-sure step reused it): let it go before writing.
    return dataclasses.replace(result, targets=table, parameters=record, located=None)


def _parameters(
    metro: Metro, at_route_factor: float | None, confidence: float | None
) -> Parameters:
    p = metro.params
    if confidence is not None:
        return pessimistic_parameters(metro, confidence)
    if at_route_factor is not None:
        return Parameters(at_route_factor, p.equipment_us, f"--at-route-factor {at_route_factor:g}")
    return Parameters(p.route_factor, p.equipment_us, "the run's own")
