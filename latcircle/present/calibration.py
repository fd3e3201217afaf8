"""The calibration's residual figure (PNG): residual against path length, model against measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from latcircle.analysis.calibration import Calibration
from latcircle.present.figures import png_bytes

__all__ = ["residual_figure", "write_residual_png"]


def residual_figure(cal: Calibration) -> Figure:
    """Return a two-panel figure: residuals by path length, and measured against the model.

    Parameters
    ----------
    cal
        The calibration.
    """
    pairs = cal.pairs
    fig = Figure(figsize=(10, 4.2))
    left, right = fig.subplots(1, 2)
    fitted = (pairs["status"] == "fitted").to_numpy()
    outlier = (pairs["status"] == "outlier").to_numpy()
    km = pairs["path_m"].to_numpy(float) / 1000.0
    res = pairs["residual_us"].to_numpy(float)
    left.scatter(km[fitted], res[fitted], s=8, color="#1f77b4", label="fitted")
    left.scatter(km[outlier], res[outlier], s=14, color="#d62728", marker="x", label="outlier")
    left.axhline(0.0, color="black", lw=0.8)
    band = 4.685 * cal.scale_us
    left.axhspan(-band, band, color="#1f77b4", alpha=0.08, label="bisquare window")
    left.set_xlabel("path length with drops (km)")
    left.set_ylabel("measured − model, one way (µs)")
    left.legend(loc="best", fontsize=8)
    left.grid(alpha=0.3)
    model = pairs["model_us"].to_numpy(float)
    meas = pairs["one_way_us"].to_numpy(float)
    right.scatter(model[fitted], meas[fitted], s=8, color="#1f77b4")
    right.scatter(model[outlier], meas[outlier], s=14, color="#d62728", marker="x")
    finite = np.isfinite(model) & np.isfinite(meas)
    if finite.any():
        lo = float(min(model[finite].min(), meas[finite].min()))
        hi = float(max(model[finite].max(), meas[finite].max()))
        right.plot([lo, hi], [lo, hi], color="black", lw=0.8)
    right.set_xlabel("model one-way latency (µs)")
    right.set_ylabel("measured one-way latency (µs)")
    right.grid(alpha=0.3)
    r, e = cal.route_factor, cal.equipment_us
    fig.suptitle(
        f"route factor {r.estimate:.3f} [{r.low:.3f}, {r.high:.3f}] · "
        f"fixed latency {e.estimate:.1f} µs [{e.low:.1f}, {e.high:.1f}]",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def write_residual_png(cal: Calibration, path: Path) -> None:
    """Write :func:`residual_figure` to ``path`` (stable bytes)."""
    Path(path).write_bytes(png_bytes(residual_figure(cal)))
