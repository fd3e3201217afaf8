"""A city's build plan: :func:`plan_city` (``latcircle plan``) and :func:`compute_plan`."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from latcircle.analysis.metro import Metro, StageTimer, prepare
from latcircle.config import CityConfig
from latcircle.output.files import (
    atomic_folder,
    check_output_folder,
)

if TYPE_CHECKING:
    from latcircle.analysis.plan import PlanResult

__all__ = [
    "compute_plan",
    "plan_city",
]

log = logging.getLogger("latcircle.pipeline")  # one logger for the package, as before


def plan_city(
    cfg: CityConfig,
    *,
    out: Path,
    metro: Metro | None = None,
    candidates: Path | None = None,
    target: float | None = None,
    year: int | None = None,
    basis: str | None = None,
    max_sites: int | None = None,
    max_cost: float | None = None,
    timer: StageTimer | None = None,
    margin_pp: float = 0.0,
    at_route_factor: float | None = None,
    confidence: float | None = None,
    protect: bool = False,
) -> PlanResult:
    """Plan a city (``latcircle plan``) and write ``out`` (``outputs/<city>/plan``).

    Parameters
    ----------
    cfg
        A validated city config.
    out
        The plan folder, replaced whole.
    metro
        The prepared metro, reused when given (inputs are not read again).
    candidates
        A candidates file overriding the config's ``plan.candidates``.
    target, year
        One target share by a year instead of the config's targets.
    basis
        The basis to plan for (default: the targets' judged basis).
    max_sites, max_cost
        Limits on the number and the cost of builds.
    timer
        Stage timer (and progress callback).
    margin_pp, at_route_factor, confidence, protect
        Plans with margins (docs/plan.md): every target plus ``margin_pp`` points, made at
        route factor ``at_route_factor`` or at the pessimistic parameters of ``confidence``,
        counting a point only when two sites cover it (``protect``).

    Returns
    -------
    PlanResult
    """
    from latcircle.analysis.plan import checks as plan_checks
    from latcircle.analysis.plan.margins import check_margin_options
    from latcircle.output.plan import write_plan
    from latcircle.present.plan import write_curve_png

    timer = timer or StageTimer()
    check_margin_options(
        margin_pp=margin_pp, at_route_factor=at_route_factor, confidence=confidence
    )
    # The options first: a negative limit is refused before 10-16 s of loading, not after.
    plan_checks.check_plan_options(
        cfg, target=target, year=year, max_sites=max_sites, max_cost=max_cost, candidates=candidates
    )
    inputs = [p for paths in cfg.input_paths().values() for p in paths]
    inputs += [Path(p) for p in (cfg.source, candidates) if p is not None and p != "config"]
    check_output_folder(Path(out), inputs=inputs)  # before minutes of planning, not after
    metro = metro or prepare(cfg, timer=timer)
    result = compute_plan(
        metro,
        candidates=candidates,
        target=target,
        year=year,
        basis=basis,
        max_sites=max_sites,
        max_cost=max_cost,
        timer=timer,
        margin_pp=margin_pp,
        at_route_factor=at_route_factor,
        confidence=confidence,
        protect=protect,
    )
    with atomic_folder(Path(out), inputs=inputs) as tmp, timer.stage("outputs"):
        write_plan(result, tmp)
        write_curve_png(
            result.curve,
            tmp / "curve.png",
            title=f"{cfg.name}: cost vs coverage",
            targets={g.year: g.share for g in result.goals},
        )
    return result


def compute_plan(
    metro: Metro,
    *,
    candidates: Path | None = None,
    target: float | None = None,
    year: int | None = None,
    basis: str | None = None,
    max_sites: int | None = None,
    max_cost: float | None = None,
    timer: StageTimer | None = None,
    margin_pp: float = 0.0,
    at_route_factor: float | None = None,
    confidence: float | None = None,
    protect: bool = False,
) -> PlanResult:
    """Plan a prepared metro and write nothing (:func:`plan_city` without files).

    Parameters are those of :func:`plan_city`.

    Returns
    -------
    PlanResult
    """
    from latcircle.analysis.plan import checks as plan_checks
    from latcircle.analysis.plan import goals_from
    from latcircle.analysis.plan.margins import plan_with_margins
    from latcircle.config import VectorInput
    from latcircle.inputs.candidates import read_candidates

    timer = timer or StageTimer()
    if candidates is None:
        plan_checks.check_auto_candidates(metro)
    with timer.stage("plan"):
        goals = goals_from(metro, target=target, year=year, basis=basis)
        warned = plan_checks.year_warnings(metro, goals)
        for line in warned:
            log.warning(line)
        spec = (
            VectorInput(path=candidates) if candidates is not None else metro.config.plan.candidates
        )
        cands = read_candidates(spec, metro.inputs.crs) if spec is not None else None
        far = plan_checks.far_candidates(metro, cands)
        if far:  # counted and named, not refused (docs/bad-inputs.md)
            log.warning(far)
            warned.append(far)
        result = plan_with_margins(
            metro,
            goals,
            margin_pp=margin_pp,
            at_route_factor=at_route_factor,
            confidence=confidence,
            protect=protect,
            candidates=cands,
            max_builds=max_sites,
            max_cost=max_cost,
        )
    nothing = plan_checks.nothing_to_build(result)
    extra = [*warned, *([nothing] if nothing else [])]
    return dataclasses.replace(result, notes=[*result.notes, *extra]) if extra else result
