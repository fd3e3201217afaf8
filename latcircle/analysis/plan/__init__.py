"""The planner: the cheapest builds that bring a metro to its coverage targets.

:func:`plan_metro` answers *what to build* for a prepared
:class:`~latcircle.analysis.metro.Metro` and its goals (:func:`goals_from`). One module per job,
in the order a plan is made (each imports only the ones before it):

* :mod:`.core`: goals, coverage sets, the sites pool, the engine solves per site;
* :mod:`.views`: one network per goal year (links online by then), planned sites attached;
* :mod:`.solve`: the staged partial set covering (HiGHS via ``scipy.optimize.milp``), the lazy
  greedy, the LP bound and the maximal covering;
* :mod:`.reduce`: a smaller, equivalent instance (equivalent builds, equal rows merged);
* :mod:`.checks`: the planner's option checks and messages, idle zero-cost builds;
* :mod:`.candidates`: the builds (candidate sites, known data centres, brought-forward sites);
* :mod:`.spurs`: fibre access builds (spurs to demand without access), their costs and hits;
* :mod:`.network`: the planned network (spurs added) and the planned metro;
* :mod:`.sites`: the sites-CSV round trip, the planned sites, ``add_sites`` (``--add-site``);
* :mod:`.sets`: per build, the demand points it brings within the budget;
* :mod:`.stages`: one stage per goal, what is reachable, why the rest is not;
* :mod:`.verify`: solve, check the plan on its planned network, re-solve what failed;
* :mod:`.tables`: ``plan.csv`` (what each build buys, its alternatives);
* :mod:`.curve`: the maximal-covering curves (best share per number of builds or cost);
* :mod:`.planner`: :func:`plan_metro`, :func:`goals_from`, :class:`PlanResult`;
* :mod:`.protect`: ``--protect``, the staged set multicover (two sites per point);
* :mod:`.howsure`: a plan's P5 / P50 / P95 and probability of meeting each target;
* :mod:`.margins`: ``--margin``, ``--at-route-factor``, ``--confidence``
  (:func:`~.margins.plan_with_margins`, what ``latcircle plan`` calls).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latcircle.analysis.plan.candidates import (
        auto_candidates,
        auto_candidates_at_most,
        candidate_builds,
    )
    from latcircle.analysis.plan.core import CoverageSets, Goal
    from latcircle.analysis.plan.planner import BUILD_KINDS, PlanResult, goals_from, plan_metro
    from latcircle.analysis.plan.sets import coverage_sets
    from latcircle.analysis.plan.sites import SITES_COLUMNS, add_sites, sites_csv
    from latcircle.analysis.plan.spurs import spur_costs, spur_hits
    from latcircle.analysis.plan.tables import PLAN_COLUMNS

#: Each re-exported name's module, imported on first use (PEP 562): the map's what-if panel
#: needs only the candidates, not the solvers (``scipy.optimize``, a tenth of a second).
_HOMES = {
    "auto_candidates": "candidates",
    "auto_candidates_at_most": "candidates",
    "candidate_builds": "candidates",
    "CoverageSets": "core",
    "Goal": "core",
    "BUILD_KINDS": "planner",
    "PlanResult": "planner",
    "goals_from": "planner",
    "plan_metro": "planner",
    "coverage_sets": "sets",
    "SITES_COLUMNS": "sites",
    "add_sites": "sites",
    "sites_csv": "sites",
    "spur_costs": "spurs",
    "spur_hits": "spurs",
    "PLAN_COLUMNS": "tables",
}

__all__ = [
    "BUILD_KINDS",
    "PLAN_COLUMNS",
    "SITES_COLUMNS",
    "CoverageSets",
    "Goal",
    "PlanResult",
    "add_sites",
    "auto_candidates",
    "auto_candidates_at_most",
    "candidate_builds",
    "coverage_sets",
    "goals_from",
    "plan_metro",
    "sites_csv",
    "spur_costs",
    "spur_hits",
]


def __getattr__(name: str) -> Any:
    """Import a re-exported name's module on first use (submodules import as usual)."""
    if name in _HOMES:
        module = importlib.import_module(f"{__name__}.{_HOMES[name]}")
        return getattr(module, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
