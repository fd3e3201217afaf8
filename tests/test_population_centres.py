"""Pixel centres of the population raster (``inputs.population._pixel_centres``).

Checked against hand-computed centres and against :func:`rasterio.transform.xy`, which the
reader used before (session round 11).
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio.transform
from affine import Affine

from latcircle.inputs.population import _pixel_centres


def test_hand_computed_centres() -> None:
    t = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 3_500_000.0)
    rows, cols = np.array([0, 0, 2]), np.array([0, 3, 1])
    x, y = _pixel_centres(t, rows, cols, shape=(3, 4))
    assert x.tolist() == [500_050.0, 500_350.0, 500_150.0]
    assert y.tolist() == [3_499_950.0, 3_499_950.0, 3_499_750.0]


@pytest.mark.parametrize("seed", range(5))
def test_as_rasterio_north_up(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = float(rng.uniform(1e-4, 1e-2))  # degrees, as WorldPop's 3 arc-seconds
    t = Affine(a, 0.0, float(rng.uniform(-180, 170)), 0.0, -a, float(rng.uniform(-60, 80)))
    shape = (int(rng.integers(1, 500)), int(rng.integers(1, 500)))
    rows = rng.integers(0, shape[0], 2000)
    cols = rng.integers(0, shape[1], 2000)
    x, y = _pixel_centres(t, rows, cols, shape=shape)
    rx, ry = rasterio.transform.xy(t, rows, cols, offset="center")
    # rasterio multiplies by the 3 x 3 matrix (BLAS): equal here to the last bit or two.
    np.testing.assert_allclose(x, rx, rtol=1e-15, atol=0)
    np.testing.assert_allclose(y, ry, rtol=1e-15, atol=0)


def test_rotated_raster_goes_through_rasterio() -> None:
    t = Affine(10.0, 2.0, 1000.0, 1.5, -10.0, 5000.0)
    rows, cols = np.array([0, 4, 7]), np.array([1, 0, 9])
    x, y = _pixel_centres(t, rows, cols, shape=(8, 10))
    # By hand: x = c + a (col + 0.5) + b (row + 0.5); y = f + d (col + 0.5) + e (row + 0.5).
    np.testing.assert_allclose(x, [1016.0, 1014.0, 1110.0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(y, [4997.25, 4955.75, 4939.25], rtol=0, atol=1e-9)
