"""The run's rasters and QGIS styles: ``latency.tif``, ``causes.tif`` and the styles of both.

Split from :mod:`latcircle.pipeline.city`, which composes the run and calls these from its
``outputs`` stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from latcircle.analysis.layers import LATENCY_BAND, STATUS_BAND, status_raster
from latcircle.analysis.robust import R_STAR_BAND, r_star_raster
from latcircle.output.files import write_cog

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from latcircle.analysis.metro import Metro, Scenario
    from latcircle.config import CityConfig
    from latcircle.run import RunResult

__all__ = [
    "scenario_latency_raster",
    "style_gpkg",
    "write_causes_and_styles",
    "write_latency_tif",
]


def write_latency_tif(
    tmp: Path, result: RunResult, latency_raster: np.ndarray | None
) -> np.ndarray:
    """Write ``latency.tif`` (latency, status codes, ``r*``); return the status codes (uint8).

    The status and ``r*`` bands are made as :func:`write_cog` writes them and freed once
    in its source, before GDAL makes the file: only the codes are kept, as uint8 (small
    integers, the same values), for ``causes.tif``. So is the latency band when the run
    did not keep its raster (``None``: :func:`scenario_latency_raster` of the same scenario).
    """
    metro, scenario = result.metro, result.scenario
    kept: list[np.ndarray] = []

    def status() -> np.ndarray:
        codes = status_raster(metro, scenario, dtype="uint8")  # kept for causes.tif
        kept.append(codes)
        return codes.astype(np.float32)  # the band: the same codes as float32

    latency: np.ndarray | Callable[[], np.ndarray] = (
        latency_raster
        if latency_raster is not None
        else lambda: scenario_latency_raster(metro, scenario, dtype="float32")
    )
    bands: list[np.ndarray | Callable[[], np.ndarray]] = [latency, status]
    names = [LATENCY_BAND, STATUS_BAND]
    robust = result.robust
    if robust is not None:  # band 3: each cell's critical route factor
        bands.append(lambda: r_star_raster(metro, robust, dtype="float32"))
        names.append(R_STAR_BAND)
    write_cog(
        bands,
        metro.grid,
        metro.inputs.crs.to_wkt(),
        tmp / "latency.tif",
        nodata=float("nan"),
        descriptions=names,
    )
    return kept[0]


def write_causes_and_styles(folder: Path, metro: Metro, codes: np.ndarray) -> None:
    """``causes.tif``, the QGIS styles of both rasters, in the map's colours and words."""
    from latcircle.output.causes import write_causes, write_latency_style
    from latcircle.present.style import STATUS_COLOURS, STATUS_LABELS, band_colours

    crs = metro.inputs.crs.to_wkt()
    write_causes(codes, metro.grid, crs, folder, colours=STATUS_COLOURS, labels=STATUS_LABELS)
    write_latency_style(
        folder,
        band_colours=band_colours(metro.config.thresholds_ms),
        colours=STATUS_COLOURS,
        labels=STATUS_LABELS,
    )


def style_gpkg(path: Path, cfg: CityConfig) -> None:
    """QGIS styles in the GeoPackage, in the map's colours (their home is present/)."""
    from latcircle.output.styles import write_layer_styles
    from latcircle.present.style import STATUS_COLOURS, band_colours

    write_layer_styles(
        path, band_colours=band_colours(cfg.thresholds_ms), status_colours=STATUS_COLOURS
    )


def scenario_latency_raster(
    metro: Metro, scenario: Scenario, *, dtype: str = "float64"
) -> np.ndarray:
    """Return the run's latency (µs) on the grid, NaN where unreached (float64 by default).

    ``dtype="float32"``: ``latency.tif``'s band 1 as the file stores it (each value cast
    as the float64 raster's cast would cast it, the same floats), without the 16.6 MB
    float64 raster (Wuhan) and its cast.
    """
    lat = scenario.evaluations["area"].latency_us
    # float64: the bands apply the covered rule to this raster, and float32 would round a
    # cell just over a threshold onto it (only the written GeoTIFF is float32).
    return metro.grid.to_raster(np.where(np.isfinite(lat), lat, np.nan), dtype=dtype)
