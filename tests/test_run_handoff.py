"""What a whole run hands back after freeing what its steps no longer read.

``run_city`` hands the run to ``write_run``, which drops the progress years (kept as the
map's codes: tests/test_year_codes.py) after the map, the one step reading them, and makes
the latency raster (not held between isochrones and outputs) again for the caller. The run
handed back must still hold the same values: checked here against the written
``latency.tif``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import rasterio


def test_latency_made_again_is_the_written_band(demo_run: Any) -> None:
    raster = demo_run.latency
    assert raster is not None and raster.dtype == np.float64
    assert raster.shape == demo_run.metro.grid.shape
    with rasterio.open(demo_run.out / "latency.tif") as src:
        band = src.read(1)
    np.testing.assert_array_equal(raster.astype("float32"), band)  # NaN where NaN
    # Every finite per-sample latency is on the raster, and only those cells are finite.
    lat = demo_run.scenario.evaluations["area"].latency_us
    assert np.isfinite(raster).sum() == np.isfinite(lat).sum()
    assert np.array_equal(np.sort(raster[np.isfinite(raster)]), np.sort(lat[np.isfinite(lat)]))


def test_years_dropped_after_the_map(demo_run: Any) -> None:
    robust = demo_run.robust
    assert robust is not None
    assert len(robust.scenarios) == 1
    assert robust.scenarios[0].year == demo_run.scenario.year
