"""A run whose caller drops the result makes no latency raster for it (session round 13).

``RunOptions(keep_latency=False)`` (``latcircle run``, a national batch task) returns the
run without ``RunResult.latency``: the same files, byte for byte, as a run that keeps it,
whose raster is the one ``latency.tif`` band 1 holds (the independent reference: the file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from latcircle.config import load_config
from latcircle.pipeline import RunOptions, run_city


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "timings.json"
    }


def test_no_raster_for_a_caller_that_drops_it(tiny_city: Any, tmp_path: Path) -> None:
    import rasterio

    cfg = load_config(tiny_city)
    kept = run_city(cfg, out=tmp_path / "kept")
    light = run_city(cfg, out=tmp_path / "light", options=RunOptions(keep_latency=False))
    assert light.latency is None
    assert kept.latency is not None
    with rasterio.open(tmp_path / "kept" / "latency.tif") as src:
        band = src.read(1)
    np.testing.assert_array_equal(kept.latency.astype("float32"), band)
    assert _files(tmp_path / "kept") == _files(tmp_path / "light")
