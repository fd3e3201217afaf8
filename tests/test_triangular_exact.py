"""The numpy triangular distribution equals scipy.stats.triang bit for bit.

:class:`latcircle.analysis.uncertainty.Dist` computes triangular quantiles and CDFs itself so
that a run does not import ``scipy.stats`` (about half a second). The reference here is scipy
itself, on random and boundary values and on every shape (mode at either end, in between).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from latcircle.analysis.uncertainty import Dist

SHAPES = [
    (1.0, 1.2, 1.6),  # the default route factor
    (30.0, 100.0, 200.0),  # the default equipment latency
    (-10.0, 0.0, 20.0),  # the default site offset (negative low)
    (0.0, 0.0, 1.0),  # mode at the low end (c = 0)
    (0.0, 1.0, 1.0),  # mode at the high end (c = 1)
    (0.75, 1.5, 3.0),
]


@pytest.mark.parametrize(("low", "mode", "high"), SHAPES)
def test_ppf_equals_scipy_bit_for_bit(low: float, mode: float, high: float) -> None:
    dist = Dist("triangular", low, high, mode=mode)
    c = (mode - low) / (high - low)
    rng = np.random.default_rng(7)
    q = np.r_[rng.random(20_000), 0.0, 1.0, c, np.nextafter(c, 0), np.nextafter(c, 1), 0.5]
    q = q[(q >= 0) & (q <= 1)]
    want = stats.triang.ppf(q, c, loc=low, scale=high - low)
    got = dist.ppf(q)
    assert got.dtype == np.float64
    assert np.array_equal(got, want)


@pytest.mark.parametrize(("low", "mode", "high"), SHAPES)
def test_cdf_equals_scipy_bit_for_bit(low: float, mode: float, high: float) -> None:
    dist = Dist("triangular", low, high, mode=mode)
    c = (mode - low) / (high - low)
    rng = np.random.default_rng(11)
    inside = low + (high - low) * rng.random(3_000)
    edges = [low, high, mode, np.nextafter(low, -np.inf), np.nextafter(high, np.inf)]
    edges += [np.nextafter(mode, -np.inf), np.nextafter(mode, np.inf), np.nextafter(high, low)]
    for x in [*inside, *edges, low - 5.0, high + 5.0]:
        want = float(stats.triang.cdf(x, c, loc=low, scale=high - low))
        assert dist.cdf(float(x)) == want, x
