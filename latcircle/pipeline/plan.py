"""A city's build plan: :func:`plan_city` (``latcircle plan``) and :func:`compute_plan`.

:class:`PlanOptions` holds what a plan is asked for, passed whole from the command line
(``cli/plan.py``) and the Python API (:meth:`latcircle.Metro.plan`) through both, so each
option, its default and its meaning have one home (docs/plan.md).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latcircle.analysis.metro import Metro, StageTimer, prepare
from latcircle.config import CityConfig
from latcircle.output.files import (
    atomic_folder,
    check_output_folder,
)

if TYPE_CHECKING:
    from latcircle.analysis.plan import PlanResult

__all__ = [
    "PlanOptions",
    "compute_plan",
    "plan_city",
]

log = logging.getLogger("latcircle.pipeline")  # one logger for the package, as before


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """The options of a plan (``latcircle plan``; docs/plan.md).

    Attributes
    ----------
    candidates
        A candidates file overriding the config's ``plan.candidates`` (``--candidates``).
    target, year
        One target share by a year instead of the config's targets (both or neither).
    basis
        The basis to plan for (default: the targets' judged basis).
    max_sites, max_cost
        Limits on the number and the total cost of builds.
    margin_pp
        Percentage points added to every target (``--margin``).
    at_route_factor
        Make (and check) the plan at this route factor (``--at-route-factor``).
    confidence
        Make (and check) the plan at every uncertain parameter's pessimistic quantile
        (``--confidence``).
    protect
        Count a demand point only when two sites cover it (``--protect``).
    """

    candidates: Path | None = None
    target: float | None = None
    year: int | None = None
    basis: str | None = None
    max_sites: int | None = None
    max_cost: float | None = None
    margin_pp: float = 0.0
    at_route_factor: float | None = None
    confidence: float | None = None
    protect: bool = False

    def __post_init__(self) -> None:
        # A file named by a string (the Python API accepts ``str | Path``) is held as a Path.
        if self.candidates is not None and not isinstance(self.candidates, Path):
            object.__setattr__(self, "candidates", Path(self.candidates))

    @classmethod
    def pick(cls, values: Mapping[str, Any]) -> PlanOptions:
        """Return the options named in ``values`` (others ignored), e.g. ``vars(args)``."""
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{n: values[n] for n in names if n in values})

    def check_margins(self) -> None:
        """Refuse bad margin options, before anything is loaded (``InputError``, exit 2)."""
        from latcircle.analysis.plan.margins import check_margin_options

        check_margin_options(
            margin_pp=self.margin_pp,
            at_route_factor=self.at_route_factor,
            confidence=self.confidence,
        )

    def check(self, cfg: CityConfig) -> None:
        """Refuse options no plan can honour, before anything is read (``InputError``).

        Parameters
        ----------
        cfg
            The validated city config (named in the messages).
        """
        from latcircle.analysis.plan.checks import check_plan_options

        self.check_margins()
        check_plan_options(
            cfg,
            target=self.target,
            year=self.year,
            max_sites=self.max_sites,
            max_cost=self.max_cost,
            candidates=self.candidates,
        )

    def margin_options(self) -> dict[str, Any]:
        """Return the keywords of :func:`~latcircle.analysis.plan.margins.plan_with_margins`."""
        return {
            "margin_pp": self.margin_pp,
            "at_route_factor": self.at_route_factor,
            "confidence": self.confidence,
            "protect": self.protect,
        }


def plan_city(
    cfg: CityConfig,
    *,
    out: Path,
    options: PlanOptions | None = None,
    metro: Metro | None = None,
    timer: StageTimer | None = None,
) -> PlanResult:
    """Plan a city (``latcircle plan``) and write ``out`` (``outputs/<city>/plan``).

    Parameters
    ----------
    cfg
        A validated city config.
    out
        The plan folder, replaced whole.
    options
        What to plan for (:class:`PlanOptions`); the config's targets and candidates, no
        limits and no margins when ``None``.
    metro
        The prepared metro, reused when given (inputs are not read again).
    timer
        Stage timer (and progress callback).

    Returns
    -------
    PlanResult
    """
    from latcircle.output.plan import write_plan
    from latcircle.present.plan import write_curve_png

    options = options or PlanOptions()
    timer = timer or StageTimer()
    # The options first: a negative limit is refused before 10-16 s of loading, not after.
    options.check(cfg)
    inputs = [p for paths in cfg.input_paths().values() for p in paths]
    inputs += [Path(p) for p in (cfg.source, options.candidates) if p is not None and p != "config"]
    check_output_folder(Path(out), inputs=inputs)  # before minutes of planning, not after
    metro = metro or prepare(cfg, timer=timer)
    result = compute_plan(metro, options, timer=timer)
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
    options: PlanOptions | None = None,
    *,
    timer: StageTimer | None = None,
) -> PlanResult:
    """Plan a prepared metro and write nothing (:func:`plan_city` without files).

    Parameters
    ----------
    metro
        The prepared metro.
    options
        What to plan for, as for :func:`plan_city`.
    timer
        Stage timer (and progress callback).

    Returns
    -------
    PlanResult
    """
    from latcircle.analysis.plan import checks as plan_checks
    from latcircle.analysis.plan import goals_from
    from latcircle.analysis.plan.margins import plan_with_margins
    from latcircle.config import VectorInput
    from latcircle.inputs.candidates import read_candidates

    options = options or PlanOptions()
    timer = timer or StageTimer()
    if options.candidates is None:
        plan_checks.check_auto_candidates(metro)
    with timer.stage("plan"):
        goals = goals_from(metro, target=options.target, year=options.year, basis=options.basis)
        warned = plan_checks.year_warnings(metro, goals)
        for line in warned:
            log.warning(line)
        spec = (
            VectorInput(path=options.candidates)
            if options.candidates is not None
            else metro.config.plan.candidates
        )
        cands = read_candidates(spec, metro.inputs.crs) if spec is not None else None
        far = plan_checks.far_candidates(metro, cands)
        if far:  # counted and named, not refused (docs/bad-inputs.md)
            log.warning(far)
            warned.append(far)
        result = plan_with_margins(
            metro,
            goals,
            **options.margin_options(),
            candidates=cands,
            max_builds=options.max_sites,
            max_cost=options.max_cost,
        )
    nothing = plan_checks.nothing_to_build(result)
    extra = [*warned, *([nothing] if nothing else [])]
    return dataclasses.replace(result, notes=[*result.notes, *extra]) if extra else result
