"""``cause_codes`` against its rule written out per sample (covered, else why not).

The rule, in the order each step overrides the last: too far (4), unreachable where the
latency is not finite (3), no access (2), covered where ``latency <= budget`` (1).
Samples sit exactly on the budget, one ulp over it, at ``inf``, ``-inf`` and NaN, with and
without access.
"""

from __future__ import annotations

import math

import numpy as np

from latcircle.analysis.coverage import CAUSE_CODES, cause_codes


def _rule(latency: float, access: bool, budget_us: float) -> int:
    code = CAUSE_CODES["too_far"]
    if not math.isfinite(latency):
        code = CAUSE_CODES["unreachable"]
    if not access:
        code = CAUSE_CODES["no_access"]
    if latency <= budget_us:
        code = CAUSE_CODES["covered"]
    return code


def test_codes_follow_the_rule_sample_by_sample() -> None:
    rng = np.random.default_rng(4)
    budget_us = 1000.0
    special = [budget_us, np.nextafter(budget_us, np.inf), np.inf, -np.inf, np.nan, 0.0]
    latency = np.concatenate([rng.uniform(0, 3000, 5000), np.repeat(special, 50)])
    rng.shuffle(latency)
    access = rng.random(len(latency)) < 0.6
    got = cause_codes(latency, access, budget_ms=1.0)
    assert got.dtype == np.int8 and got.shape == latency.shape
    expected = [_rule(float(v), bool(a), budget_us) for v, a in zip(latency, access, strict=True)]
    np.testing.assert_array_equal(got, np.array(expected, dtype=np.int8))
    assert set(np.unique(got)) == {1, 2, 3, 4}


def test_empty_and_two_dimensional() -> None:
    assert cause_codes(np.zeros(0), np.zeros(0, bool), budget_ms=1.0).shape == (0,)
    lat = np.array([[500.0, np.inf], [2000.0, 1000.0]])
    access = np.array([[True, True], [True, False]])
    np.testing.assert_array_equal(
        cause_codes(lat, access, budget_ms=1.0), np.array([[1, 3], [4, 1]], dtype=np.int8)
    )
