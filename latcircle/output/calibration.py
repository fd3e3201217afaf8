"""Writing a calibration: ``calibration.json``, ``pairs.csv`` and ``calibrated.yaml``.

``calibration.json`` holds each fitted parameter under its config name as
``{"estimate", "low", "high"}`` (``route_factor``, ``equipment_us``), with the method, the
counts and the named outliers. ``calibrated.yaml`` is the config fragment to paste under a
city's ``model:`` key. No date or time is written: the same inputs give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latcircle.analysis.calibration import Calibration
from latcircle.output.files import write_csv, write_json

__all__ = ["calibration_record", "config_fragment", "write_calibration"]

#: Outliers listed by name in ``calibration.json`` (all of them are in ``pairs.csv``).
OUTLIERS_LISTED = 50


def calibration_record(cal: Calibration, *, city: str, source: str) -> dict[str, Any]:
    """Return the content of ``calibration.json``.

    Parameters
    ----------
    cal
        The calibration.
    city
        The city id.
    source
        The measurement file as given.
    """
    outliers = [
        {"row": int(r.row), "a": str(r.a), "b": str(r.b), "residual_us": float(r.residual_us)}
        for r in cal.outliers.head(OUTLIERS_LISTED).itertuples()
    ]
    return {
        "city": city,
        "measurements": source,
        "route_factor": cal.route_factor.record(),
        "equipment_us": cal.equipment_us.record(),
        "scale_us": cal.scale_us,
        "config_before": cal.before,
        "outliers": outliers,
        **cal.info,
    }


def config_fragment(cal: Calibration, *, city: str, source: str) -> str:
    """Return the YAML fragment to paste into the city's config (under ``model:``)."""
    r, e = cal.route_factor, cal.equipment_us
    level = cal.info["bootstrap"]["level"]
    pairs = cal.info["pairs"]
    # The source is the user's text: kept on a comment line of its own, newlines removed.
    shown = " ".join(source.split())
    return (
        f"# latcircle calibrate: {city}, {pairs['fitted']} pairs fitted, "
        f"{pairs['outlier']} outliers left out\n"
        f"# measurements: {shown}\n"
        f"# {level:.0%} bootstrap intervals: route_factor {r.low:.4f} to {r.high:.4f}, "
        f"equipment_us {e.low:.2f} to {e.high:.2f}\n"
        "model:\n"
        f"  route_factor: {r.estimate:.4f}\n"
        f"  equipment_us: {e.estimate:.2f}\n"
    )


def write_calibration(cal: Calibration, folder: Path, *, city: str, source: str) -> None:
    """Write the calibration's files into ``folder`` (a temporary output folder).

    Parameters
    ----------
    cal
        The calibration.
    folder
        Where to write.
    city
        The city id.
    source
        The measurement file as given.
    """
    folder = Path(folder)
    write_json(calibration_record(cal, city=city, source=source), folder / "calibration.json")
    write_csv(cal.pairs, folder / "pairs.csv")
    text = config_fragment(cal, city=city, source=source)
    (folder / "calibrated.yaml").write_text(text, encoding="utf-8")
