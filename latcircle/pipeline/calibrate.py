"""Calibrating a city's latency model on measurements: :func:`calibrate_city`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from latcircle.analysis.metro import Metro, StageTimer, prepare
from latcircle.config import CityConfig
from latcircle.output.files import (
    atomic_folder,
    check_output_folder,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from latcircle.analysis.calibration import Calibration


__all__ = [
    "calibrate_city",
]


def calibrate_city(
    cfg: CityConfig,
    measurements: str | Path,
    *,
    out: Path,
    columns: Mapping[str, str] | None = None,
    crs: str | None = None,
    kind: str | None = None,
    replicates: int = 1000,
    seed: int = 0,
    metro: Metro | None = None,
    timer: StageTimer | None = None,
) -> Calibration:
    """Fit a city's route factor and fixed latency to measurements (``latcircle calibrate``).

    Writes ``out`` (``outputs/<city>/calibration``) whole: ``calibration.json``,
    ``pairs.csv``, ``calibrated.yaml`` and ``residuals.png`` (docs/calibration.md). The
    measurements are read and checked before the city is prepared; nothing is written when
    they cannot give a fit.

    Parameters
    ----------
    cfg
        A validated city config.
    measurements
        The measurement file (:func:`latcircle.inputs.measurements.read_measurements`).
    out
        The calibration folder, replaced whole.
    columns, crs, kind
        The file's column map, coordinate CRS and kind for every row (when it has no
        ``kind`` column).
    replicates, seed
        Bootstrap resamples and seed.
    metro
        The prepared metro, reused when given.
    timer
        Stage timer (and progress callback).

    Returns
    -------
    Calibration
    """
    from latcircle.analysis.calibration import calibrate
    from latcircle.inputs.measurements import read_measurements
    from latcircle.output.calibration import write_calibration
    from latcircle.present.calibration import write_residual_png

    timer = timer or StageTimer()
    inputs = [p for paths in cfg.input_paths().values() for p in paths]
    inputs += [Path(p) for p in (cfg.source, measurements) if p != "config"]
    check_output_folder(Path(out), inputs=inputs)
    with timer.stage("load"):
        table = read_measurements(measurements, columns=columns, crs=crs, kind=kind)
    metro = metro or prepare(cfg, timer=timer)
    with timer.stage("calibrate"):
        cal = calibrate(metro, table, source=measurements, replicates=replicates, seed=seed)
    with atomic_folder(Path(out), inputs=inputs) as tmp, timer.stage("outputs"):
        write_calibration(cal, tmp, city=cfg.id, source=str(measurements))
        write_residual_png(cal, tmp / "residuals.png")
    return cal
