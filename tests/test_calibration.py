"""Calibration against measured latency (issue 24 §3): paths, fit, intervals, bad input.

Measurements are generated on the tiny city's 1 km road grid, where every shortest path
is known by hand: a point on a north-south road at ``(x_i, y)`` and a node ``(x_s, y_s)``
are ``|x_i − x_s| + |y − y_s|`` apart along the roads (Manhattan), and two points on
north-south roads ``min_k (|y_1 − k| + |k − y_2|) + |x_1 − x_2|`` (``k`` a road crossing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import X0, Y0, to_lonlat
from latcircle.analysis.calibration import calibrate
from latcircle.analysis.metro import prepare
from latcircle.cli import main
from latcircle.config import GROUP_INDEX_G652, C_M_PER_US, load_config
from latcircle.errors import InputError
from latcircle.inputs.measurements import read_measurements

K_US_PER_M = GROUP_INDEX_G652 / C_M_PER_US
SITES = {"A": (1000.0, 5000.0), "B": (5000.0, 5000.0)}
SITE_US = 20.0
TRUE_R, TRUE_E = 1.3, 80.0


def _probes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points beside north-south roads: road column, height (>= 150 m from a crossing), drop."""
    col = rng.integers(0, 7, n).astype(float) * 1000.0
    y = rng.integers(0, 10, n) * 1000.0 + rng.uniform(150.0, 850.0, n)
    drop = rng.uniform(0.0, 60.0, n)
    return col, y, drop


def _along(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Road length between points on north-south roads (or nodes), by hand."""
    k = np.arange(11)[:, None] * 1000.0
    via = (np.abs(y1 - k) + np.abs(k - y2)).min(axis=0) + np.abs(x1 - x2)
    return np.where(x1 == x2, np.abs(y1 - y2), via)


def make_measurements(
    n: int = 300, *, seed: int = 1, outliers: float = 0.1, noise_us: float = 3.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Measurements from TRUE_R, TRUE_E plus noise and one-sided outliers; also path lengths."""
    rng = np.random.default_rng(seed)
    col, y, drop = _probes(rng, n)
    to_site = rng.random(n) < 0.8
    site = np.where(rng.random(n) < 0.5, "A", "B")
    sx = np.array([SITES[s][0] for s in site])
    sy = np.array([SITES[s][1] for s in site])
    col2, y2, drop2 = _probes(rng, n)
    length = np.where(to_site, _along(col, y, sx, sy), _along(col, y, col2, y2))
    total = length + drop + np.where(to_site, 0.0, drop2)
    device = np.where(to_site, SITE_US, 0.0)
    one_way = TRUE_E + device + K_US_PER_M * TRUE_R * total + rng.normal(0, noise_us, n)
    bad = rng.random(n) < outliers
    one_way = one_way + np.where(bad, rng.uniform(60.0, 400.0, n), 0.0)
    rtt = rng.random(n) < 0.5
    lon, lat = to_lonlat(X0 + col + drop, Y0 + y)  # east of the road, ``drop`` away
    lon2, lat2 = to_lonlat(X0 + col2 - drop2, Y0 + y2)  # west of it
    df = pd.DataFrame(
        {
            "a_lon": lon,
            "a_lat": lat,
            "b_site": np.where(to_site, site, ""),
            "b_lon": np.where(to_site, np.nan, lon2),
            "b_lat": np.where(to_site, np.nan, lat2),
            "latency_us": np.where(rtt, 2 * one_way, one_way),
            "kind": np.where(rtt, "rtt", "one_way"),
        }
    )
    return df, length


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, float_format="%.10f")
    return path


def test_paths_match_hand_lengths(tiny_city: Path, tmp_path: Path) -> None:
    df, length = make_measurements(200, outliers=0.0)
    table = read_measurements(_write(df, tmp_path / "m.csv"))
    cal = calibrate(prepare(load_config(tiny_city)), table, replicates=50)
    assert (cal.pairs["status"] != "no_access").all()
    np.testing.assert_allclose(cal.pairs["length_m"], length, atol=1e-3)


def test_recovers_known_parameters_with_outliers(tiny_city: Path, tmp_path: Path) -> None:
    df, _ = make_measurements(300, outliers=0.1)
    table = read_measurements(_write(df, tmp_path / "m.csv"))
    cal = calibrate(prepare(load_config(tiny_city)), table)
    r, e = cal.route_factor, cal.equipment_us
    assert r.low <= TRUE_R <= r.high, r
    assert e.low <= TRUE_E <= e.high, e
