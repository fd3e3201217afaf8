"""The run record: ``run.json``'s content (config echo, parameters, versions, input hashes).

Stage timings live apart, in ``timings.json`` (:func:`timings_record`): they differ between
two identical runs, and every other file of such runs is byte-identical.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import platform
from typing import Any

import numpy as np

from latcircle import __version__
from latcircle.analysis.metro import Metro, Scenario, StageTimer
from latcircle.output.files import sha256_file

__all__ = ["package_versions", "run_record", "timings_record"]

#: Packages whose versions go into run.json.
_VERSIONED = (
    "numpy",
    "scipy",
    "shapely",
    "geopandas",
    "pyogrio",
    "pyproj",
    "rasterio",
    "pandas",
    "osmnx",
    "pydantic",
)


@functools.cache
def _installed_versions() -> tuple[tuple[str, str | None], ...]:
    versions: list[tuple[str, str | None]] = []
    for name in _VERSIONED:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, None))
    return tuple(versions)


def package_versions() -> dict[str, str | None]:
    """Return the versions of Python, latcircle and :data:`_VERSIONED` (``None``: missing).

    The packages' metadata is read once per process (~2-4 ms a package through
    ``importlib.metadata``, 10 packages: ~0.025 s of every national batch task before);
    the modules a process has imported do not change while it runs.
    """
    return {
        "python": platform.python_version(),
        "latcircle": __version__,
        **dict(_installed_versions()),
    }


def run_record(metro: Metro, scenario: Scenario, headline: dict[str, float]) -> dict[str, Any]:
    """Return the record of a run, JSON-serialisable (written as ``run.json``).

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario.
    headline
        Metro share within the budget, by basis.

    Returns
    -------
    dict
    """
    cfg = metro.config
    versions = package_versions()
    inputs = {
        role: [{"path": str(p), "sha256": sha256_file(p)} for p in paths]
        for role, paths in cfg.input_paths().items()
    }
    return {
        "city": {
            "id": cfg.id,
            "name": cfg.name,
            "synthetic": cfg.synthetic,
            "sites_hypothetical": cfg.sites.hypothetical,
        },
        "config": cfg.model_dump(mode="json"),
        "parameters": dataclasses.asdict(metro.params),
        "crs": metro.inputs.crs.to_string(),
        "scenario_year": scenario.year,
        "sites_online": int(scenario.online.sum()),
        "headline_share": {k: (None if np.isnan(v) else round(v, 6)) for k, v in headline.items()},
        "budget_ms": cfg.budget_ms,
        "network": metro.network.stats,
        "grid": {
            "cell_m": metro.grid.cell_m,
            "shape": list(metro.grid.shape),
            "cells_inside": metro.grid.n_inside,
        },
        "notes": list(metro.inputs.notes),
        "inputs": inputs,
        "versions": versions,
    }


def timings_record(timer: StageTimer) -> dict[str, Any]:
    """Return the stage timings of a run (written as ``timings.json``, last).

    Parameters
    ----------
    timer
        The run's stage timer (its times so far are recorded).

    Returns
    -------
    dict
        ``{"stage_seconds": {stage: seconds}}``, rounded to milliseconds.
    """
    return {"stage_seconds": {k: round(v, 3) for k, v in timer.seconds.items()}}
