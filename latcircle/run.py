"""The result of a city run: the type that presentation and output read.

It sits below the analysis stage and above presentation, so that ``present`` can read a run
without importing ``pipeline`` (which composes the stages and must not import presentation
at module level).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.protection import Protection
from latcircle.analysis.robust import Robustness

if TYPE_CHECKING:
    from latcircle.analysis.workbench import YearCodes

__all__ = ["RunResult", "Shortfall"]


class Shortfall(NamedTuple):
    """The uncovered clusters to act on, as ``clusters.csv`` holds them.

    Made by :func:`latcircle.pipeline.shortfall_clusters`; carried by a run
    (:attr:`RunResult.shortfall`) so that the output steps share one computation.

    Attributes
    ----------
    clusters
        The ``clusters`` layer (local CRS).
    counts
        Clusters by cause (``progress.json``'s ``clusters.counts``).
    year
        The year acted on.
    acted
        The scenario of that year; its :class:`~latcircle.analysis.workbench.YearCodes`
        when it is a progress year's and the run kept those years as codes
        (:attr:`RunResult.years`).
    table
        The progress table used (``progress.csv``).
    """

    clusters: gpd.GeoDataFrame
    counts: dict[str, dict[str, int]]
    year: int | None
    acted: Scenario | YearCodes
    table: pd.DataFrame


@dataclass(frozen=True)
class RunResult:
    """What a run produced.

    Attributes
    ----------
    out
        The output folder; ``None`` for a run computed in memory and not written
        (:func:`latcircle.pipeline.compute_run`, :meth:`latcircle.Metro.coverage`).
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
    protection
        What survives one failure (:func:`latcircle.analysis.protection.protection`): sites
        always, links when the config asks; ``None`` when not computed.
    layers
        The GeoPackage layers (:func:`latcircle.analysis.layers.run_layers`) in the local
        CRS, when the run kept them (``None`` for a result made before they were kept).
    latency
        The latency field on the metro's grid (µs, float64, NaN where no site reaches),
        ``latency.tif`` band 1; ``None`` as for ``layers``.
    shortfall
        The uncovered clusters to act on and the progress table they come from
        (:func:`latcircle.pipeline.with_shortfall`); ``None`` when not computed.
    years
        The progress years' scenarios as the map's slider reads them
        (:class:`~latcircle.analysis.workbench.YearCodes`, one byte a sample), when
        :func:`latcircle.pipeline.run_city` kept them for a step that reads them in place of
        the scenarios (``robust.scenarios`` then holds the run's own only); empty otherwise.
    memo
        What the runs of its metro share whatever their year, when the run was given one
        (``RunOptions(memo=...)``): the map's slider years and what-if sets are taken from
        it and kept in it.
    """

    out: Path | None
    coverage: pd.DataFrame
    headline: dict[str, float]
    seconds: dict[str, float]
    metro: Metro
    scenario: Scenario
    progress: pd.DataFrame | None = None
    explanations: tuple[str, ...] = ()
    robust: Robustness | None = None
    protection: Protection | None = None
    layers: Mapping[str, gpd.GeoDataFrame] | None = None
    latency: np.ndarray | None = None
    shortfall: Shortfall | None = None
    years: tuple[YearCodes, ...] = ()
    memo: YearsMemo | None = None

    def gpkg_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the run's GeoPackage layers, from memory when it kept them.

        The layers ``isochrones.gpkg`` holds, in its order: the run's ``layers`` and, when
        the run carries its :attr:`shortfall`, the ``clusters`` layer the progress step
        adds. Only a written run that kept neither is read back from ``out``.

        Raises
        ------
        ValueError
            When the result keeps no layers and was never written.
        """
        if self.layers is not None and (self.shortfall is not None or self.out is None):
            extra = {} if self.shortfall is None else {"clusters": self.shortfall.clusters}
            return {**self.layers, **extra}
        if self.out is not None:
            from latcircle.output.readback import read_layers

            return read_layers(self.out)
        msg = "this run keeps no layers and was not written"
        raise ValueError(msg)
