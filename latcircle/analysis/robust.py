"""A run's robustness: its sensitivity curves and the uncertainty of its shares, together.

:func:`robustness` is what :func:`latcircle.pipeline.run_city` calls after the coverage
stage: it solves the progress years once (the progress table reuses them), computes every
sample's critical route factor and equipment latency
(:mod:`latcircle.analysis.sensitivity`) and the quantiles and target probabilities
(:mod:`latcircle.analysis.uncertainty`). The helpers here turn that into what the outputs
carry: columns appended to ``coverage.csv`` and ``progress.csv``, the ``latency.tif`` band of
critical route factors, and the ``run.json`` sections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from latcircle.analysis.memo import YearsMemo
from latcircle.analysis.metro import Metro, Scenario
from latcircle.analysis.sensitivity import (
    E_GRID,
    FRAGILE_RISE,
    MAX_BREAKPOINTS,
    R_GRID,
    THIN_SHARE,
    Sensitivity,
    critical_table,
    fragile_share,
    sensitivity,
    sensitivity_table,
    target_scenarios,
)
from latcircle.analysis.uncertainty import QUANTILES, UncertaintyResult, uncertainty

__all__ = [
    "QUANTILE_COLUMNS",
    "R_STAR_BAND",
    "Robustness",
    "r_star_raster",
    "robustness",
    "robustness_record",
    "with_coverage_quantiles",
    "with_progress_quantiles",
]

#: Columns appended to ``coverage.csv`` (metro rows at the budget) and ``progress.csv``.
QUANTILE_COLUMNS = ["share_p5", "share_p50", "share_p95"]
#: ``latency.tif`` band 3 (after band 2, the status codes).
R_STAR_BAND = (
    "critical route factor r*: covered exactly while r <= r* (at the run's E); "
    "NaN never covered, inf always"
)


@dataclass(frozen=True)
class Robustness:
    """Sensitivity and uncertainty of one run.

    Attributes
    ----------
    scenarios
        The run's scenario, then one per progress year (reused by the progress table).
    sensitivity
        Every sample's critical values per year and basis.
    table
        ``sensitivity.csv``'s rows.
    critical
        Per target, the route factor and equipment latency at which it is lost.
    uncertainty
        Quantiles and target probabilities; ``None`` when ``uncertainty.enabled`` is false.
    """

    scenarios: tuple[Scenario, ...]
    sensitivity: Sensitivity
    table: pd.DataFrame
    critical: pd.DataFrame
    uncertainty: UncertaintyResult | None

    @property
    def year(self) -> int | None:
        """The run scenario's year."""
        return self.scenarios[0].year


def robustness(metro: Metro, scenario: Scenario, *, memo: YearsMemo | None = None) -> Robustness:
    """Compute a run's sensitivity curves and share uncertainty.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's solved scenario.
    memo
        The progress years' scenarios and critical values other runs of ``metro`` kept
        (:class:`~latcircle.analysis.memo.YearsMemo`); ``None``: all computed here.

    Returns
    -------
    Robustness
    """
    scenarios = target_scenarios(metro, scenario, memo=memo)
    sens = sensitivity(metro, scenarios, memo=memo)
    enabled = metro.config.uncertainty.enabled
    unc = uncertainty(metro, sens, scenario=scenario, memo=memo) if enabled else None
    return Robustness(
        scenarios=tuple(scenarios),
        sensitivity=sens,
        table=sensitivity_table(sens),
        critical=critical_table(sens, metro),
        uncertainty=unc,
    )


def with_coverage_quantiles(
    coverage: pd.DataFrame, robust: Robustness, *, budget_ms: float
) -> pd.DataFrame:
    """Append :data:`QUANTILE_COLUMNS` to the coverage table (metro rows at the budget)."""
    out = coverage.copy()
    # Each column filled as an array, then set once (not a labelled assignment per row).
    columns = {col: np.full(len(out), np.nan) for col in QUANTILE_COLUMNS}
    unc = robust.uncertainty
    if unc is not None:
        at_budget = ((out["scope"] == "metro") & (out["threshold_ms"] == budget_ms)).to_numpy()
        basis = out["basis"].to_numpy()
        for pos in np.flatnonzero(at_budget):  # a few rows, not the districts'
            hit = unc.row(robust.year, str(basis[pos]))
            if hit is not None:
                for col in QUANTILE_COLUMNS:
                    columns[col][pos] = hit[col]
    for col in QUANTILE_COLUMNS:
        out[col] = columns[col]
    return out


def with_progress_quantiles(
    progress: pd.DataFrame | None, robust: Robustness
) -> pd.DataFrame | None:
    """Append :data:`QUANTILE_COLUMNS` and ``p_meet`` (judged target rows) to progress."""
    if progress is None:
        return None
    out = progress.copy()
    for col in [*QUANTILE_COLUMNS, "p_meet"]:
        out[col] = np.nan
    unc = robust.uncertainty
    if unc is None:
        return out
    # Column by column at the end (each row written with .loc costs a pandas indexing).
    columns = [*QUANTILE_COLUMNS, "p_meet"]
    values = {c: out[c].to_numpy(dtype=float, copy=True) for c in columns}
    for k, (_, row) in enumerate(out.iterrows()):
        hit = unc.row(int(row["year"]), str(row["basis"]))
        if hit is None:
            continue
        for c in QUANTILE_COLUMNS:
            values[c][k] = hit[c]
        target_year = row.get("target_year")
        judged = (
            bool(row.get("judged", False))
            and pd.notna(target_year)
            and int(target_year) == int(row["year"])
        )
        if judged and not math.isnan(float(hit["p_meet"])):
            values["p_meet"][k] = hit["p_meet"]
    for c in columns:
        out[c] = values[c]
    return out


def r_star_raster(metro: Metro, robust: Robustness, *, dtype: str = "float64") -> np.ndarray:
    """Return the run's critical route factor on the area grid (NaN: never covered).

    ``dtype="float32"`` gives the float64 raster's values cast to float32 (``latency.tif``
    band 3), without the float64 raster.
    """
    r_star = robust.sensitivity.get(robust.year, "area").r_star  # derived once, not twice
    r = np.where(r_star > -np.inf, r_star, np.nan)
    del r_star  # with its derivation's other arrays, before the raster is made
    return metro.grid.to_raster(r, dtype=dtype)


def robustness_record(robust: Robustness, metro: Metro) -> dict[str, Any]:
    """Return ``run.json``'s ``sensitivity`` and ``uncertainty`` sections."""
    sens = robust.sensitivity
    p = metro.params
    fragile = {
        b: _num(fragile_share(sens.get(robust.year, b), p.route_factor)) for b in metro.bases
    }
    out: dict[str, Any] = {
        "sensitivity": {
            "method": sens.method,
            "file": "sensitivity.csv",
            "grid": {
                "route_factor": [float(R_GRID[0]), float(R_GRID[-1]), 0.01],
                "equipment_us": [float(E_GRID[0]), float(E_GRID[-1]), 10.0],
            },
            "breakpoints": (
                f"every breakpoint in range up to {MAX_BREAKPOINTS} per parameter, year and "
                f"basis; above that the first breakpoint below each {THIN_SHARE:g} of share"
            ),
            "latency_tif_band": 3,
            "fragile_rise": FRAGILE_RISE,
            "fragile_share": fragile,
            "critical": [
                {k: _num(v) if isinstance(v, float) else v for k, v in row.items()}
                for row in robust.critical.to_dict(orient="records")
            ],
        }
    }
    unc = robust.uncertainty
    if unc is None:
        out["uncertainty"] = {"enabled": False}
        return out
    out["uncertainty"] = {
        "enabled": True,
        "method": unc.method,
        "exact": unc.exact,
        "samples": unc.samples,
        "seed": unc.seed,
        "quantiles": list(QUANTILES),
        "distributions": {k: d.describe() for k, d in unc.distributions.items()},
        "shares": [
            {k: _num(v) for k, v in row.items()} for row in unc.table.to_dict(orient="records")
        ],
    }
    if unc.leo is not None:
        out["uncertainty"]["leo_tiers"] = [
            {k: _num(v) for k, v in row.items()} for row in unc.leo.to_dict(orient="records")
        ]
    return out


def _num(value: Any) -> Any:
    """JSON-safe: NaN and pandas NA as ``None``, infinities as text, floats rounded to 1e-9."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return round(v, 9)
    return value
