"""The result of a city run: the type that presentation and output read.

It sits below the analysis stage and above presentation, so that ``present`` can read a run
without importing ``pipeline`` (which composes the stages and must not import presentation
at module level).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.robust import Robustness

__all__ = ["RunResult"]


@dataclass(frozen=True)
class RunResult:
    """What a run produced.

    Attributes
    ----------
    out
        The output folder.
    coverage
        The coverage table (as written to ``coverage.csv``).
    headline
        Metro share within the budget, by basis.
    seconds
        Wall time per stage.
    metro
        The prepared metro (for further scenarios in the same session).
    scenario
        The scenario the outputs describe.
    progress
        The progress table by year (:func:`latcircle.analysis.progress.progress_table`,
        including the scenario year), ``None`` when the run did not compute it.
    explanations
        Plain statements of why the figures are what they are
        (:func:`latcircle.present.explain.explain_run`).
    robust
        Sensitivity curves and share uncertainty
        (:func:`latcircle.analysis.robust.robustness`); ``None`` when not computed.
    """

    out: Path
    coverage: pd.DataFrame
    headline: dict[str, float]
    seconds: dict[str, float]
    metro: Metro
    scenario: Scenario
    progress: pd.DataFrame | None = None
    explanations: tuple[str, ...] = ()
    robust: Robustness | None = None
