"""Sorted critical values and their suffix weights: equal weights found without a gather.

Session round 15 (issue 23): ``_suffix`` asks whether every weight is equal on the whole
array in its own order before gathering the weights in the sorted order. Checked against
the way before (the weights gathered, then compared), bit for bit, and against a brute-force
share (the weight of the samples whose critical value is at or above each value): equal
weights, weights equal on the coverable samples only, unequal weights, ``-inf`` and NaN
(never coverable), ``+inf``, ties, no coverable sample, ``0.0`` next to ``-0.0``.
"""

from __future__ import annotations

import numpy as np
import pytest

from latcircle.analysis.sensitivity import _Sorted, _suffix


def _old_suffix(star: np.ndarray, weight: np.ndarray) -> tuple[_Sorted, np.ndarray]:
    """The way before round 15 (no hint)."""
    coverable = star > -np.inf
    idx = np.flatnonzero(coverable)
    order = idx[np.argsort(star[idx])]
    stars = star[order]
    w = weight[order]
    if len(w) and np.all(w == w[0]):
        return _Sorted(stars, None, float(w[0])), order
    wl = w.astype(np.longdouble)
    suffix_l = np.concatenate([np.cumsum(wl[::-1])[::-1], [np.longdouble(0.0)]])
    return _Sorted(stars, suffix_l.astype(float)), order


def _weights(kind: str, star: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(star)
    if kind == "equal":
        return np.full(n, 0.01)
    if kind == "equal_where_coverable":  # the never-coverable samples weigh otherwise
        w = np.full(n, 3.0)
        w[~(star > -np.inf)] = rng.uniform(0, 9, int((~(star > -np.inf)).sum()))
        return w
    if kind == "signed_zero":
        return np.where(rng.random(n) < 0.5, 0.0, -0.0)
    return rng.uniform(0.0, 40.0, n)


@pytest.mark.parametrize("kind", ["equal", "equal_where_coverable", "signed_zero", "unequal"])
@pytest.mark.parametrize("seed", range(5))
def test_suffix_equals_the_gathered_way_and_the_brute_share(kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    star = np.round(rng.uniform(0.5, 2.5, n), 2)  # rounded: many ties
    pick = rng.random(n)
    star[pick < 0.1] = -np.inf
    star[(pick >= 0.1) & (pick < 0.15)] = np.nan
    star[(pick >= 0.15) & (pick < 0.2)] = np.inf
    weight = _weights(kind, star, rng)
    got, order = _suffix(star, weight)
    want, want_order = _old_suffix(star, weight)
    assert np.array_equal(order, want_order)
    assert got.stars.tobytes() == want.stars.tobytes()
    assert (got.suffix is None) == (want.suffix is None)
    if got.suffix is not None:
        assert got.suffix.tobytes() == want.suffix.tobytes()
    assert np.float64(got.unit).tobytes() == np.float64(want.unit).tobytes()
    # The weight at or above each value, by brute force (a tolerance: summed otherwise).
    for v in [*np.unique(star[np.isfinite(star)]), 0.0, 3.0, np.inf]:
        idx = np.searchsorted(got.stars, v, side="left")
        brute = float(weight[star >= v].sum())
        assert float(got.weight_at(np.array([idx]))[0]) == pytest.approx(brute, abs=1e-9)


def test_nothing_coverable() -> None:
    star = np.array([-np.inf, np.nan])
    got, order = _suffix(star, np.array([1.0, 1.0]))
    assert len(got.stars) == 0 and len(order) == 0
    got, order = _suffix(np.zeros(0), np.zeros(0))
    assert len(got.stars) == 0
