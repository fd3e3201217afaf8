"""The compositions of latcircle's stages: what the commands and the Python API call.

Five things are composed here, one module each:

* :mod:`~latcircle.pipeline.city`: a whole run for one city (:func:`run_city`, what
  ``latcircle run`` calls: prepare, solve, tabulate, polygonise, write), its two halves
  (:func:`compute_run`, :func:`write_run`), their :class:`RunOptions` and its output steps
  (:func:`default_outputs`, :func:`write_progress`);
* :mod:`~latcircle.pipeline.plan`: a city's build plan (:func:`plan_city`,
  :func:`compute_plan`, their :class:`PlanOptions`);
* :mod:`~latcircle.pipeline.national`: the national roll-up (:func:`national_rollup`,
  :func:`run_national`);
* :mod:`~latcircle.pipeline.tiers`: the wider tiers, a city's (:func:`write_tiers`) and the
  national ones (:func:`run_tiers`, :func:`run_tiers_config`);
* :mod:`~latcircle.pipeline.calibrate`: calibrating the latency model (:func:`calibrate_city`).

Every public name is re-exported here, so ``from latcircle.pipeline import run_city`` keeps
working. A test that replaces a name a function looks up (``prepare``) patches the module that
looks it up (``latcircle.pipeline.city``), not this package.
"""

from __future__ import annotations

from latcircle.pipeline.calibrate import calibrate_city
from latcircle.pipeline.city import (
    CORE_STAGES,
    RunOptions,
    city_config,
    compute_run,
    default_outputs,
    run_city,
    run_config,
    run_stages,
    shortfall_clusters,
    with_shortfall,
    write_progress,
    write_run,
)
from latcircle.pipeline.city import _stage_name as _stage_name
from latcircle.pipeline.national import national_rollup, run_national
from latcircle.pipeline.plan import PlanOptions, compute_plan, plan_city
from latcircle.pipeline.tiers import run_tiers, run_tiers_config, write_tiers

__all__ = [
    "CORE_STAGES",
    "PlanOptions",
    "RunOptions",
    "calibrate_city",
    "city_config",
    "compute_plan",
    "compute_run",
    "default_outputs",
    "national_rollup",
    "plan_city",
    "run_city",
    "run_config",
    "run_national",
    "run_stages",
    "run_tiers",
    "run_tiers_config",
    "shortfall_clusters",
    "with_shortfall",
    "write_progress",
    "write_run",
    "write_tiers",
]
