"""The one covered rule and the one share rule, at their boundaries, by hand.

Every caller (coverage tables, Scenario.share, site_service, status, the CDF of the figures)
must agree with them: a sample exactly AT the budget is covered, one a hair over is not,
inf and NaN never are, and a scope without weight has no share (NaN), not 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from latcircle.analysis.coverage import (
    Evaluation,
    Samples,
    coverage_table,
    covered,
    share_of,
    site_service,
)
from latcircle.engine.locator import PointLocation
from latcircle.present.figures import curve

# Latencies in µs around a 1 ms budget: at it, a hair over, well under, no access (inf),
# and over (too far). Weights chosen so every partial sum is distinct.
LATENCY = np.array([1000.0, np.nextafter(1000.0, np.inf), 500.0, np.inf, 1500.0])
WEIGHT = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
SITE = np.array([0, 1, 1, -1, 0])
ACCESS = np.array([True, True, True, False, True])


def _evaluation(district: np.ndarray | None = None) -> Evaluation:
    n = len(LATENCY)
    location = PointLocation(
        edge=np.where(ACCESS, 0, -1),
        t=np.zeros(n),
        drop=np.where(ACCESS, 0.0, 2000.0),
        max_drop_m=1000.0,
    )
    samples = Samples(
        basis="population",
        weight=WEIGHT,
        location=location,
        district=np.zeros(n, dtype=int) if district is None else district,
    )
    return Evaluation(samples=samples, latency_us=LATENCY, site=SITE)


def test_covered_at_the_budget_not_a_hair_over() -> None:
    assert covered(LATENCY, budget_ms=1.0).tolist() == [True, False, True, False, False]
    assert not covered(np.array([np.nan]), budget_ms=1.0).any()
    assert covered(np.array([250.0]), budget_ms=0.25).all()  # 0.25 ms is exactly 250 µs


def test_share_of_empty_is_nan_not_zero() -> None:
    assert share_of(5.0, 31.0) == 5.0 / 31.0
    assert np.isnan(share_of(0.0, 0.0))


def test_every_caller_agrees_at_the_boundary() -> None:
    ev = _evaluation()
    # Hand count: within 1 ms are the samples at 1000 µs (1) and 500 µs (4): 5 of 31.
    table = coverage_table([ev], thresholds_ms=[1.0])
    row = table.iloc[0]
    assert (row.covered, row.no_access, row.too_far, row.total) == (5.0, 8.0, 18.0, 31.0)
    assert row.share == pytest.approx(5.0 / 31.0, abs=0)
    assert curve(ev, np.array([1.0]))[0] == 5.0 / 31.0
    assert ev.status(1.0).tolist() == ["covered", "too_far", "covered", "no_access", "too_far"]
    # Site 0 serves the sample at the budget (1); site 1 the one at 500 µs (4), not the one
    # a hair over; the 1500 µs sample of site 0 is over the budget and served by nobody.
    served = site_service([ev], n_sites=2, budget_ms=1.0)["served_population"].tolist()
    assert served == [1.0, 4.0]


def test_a_district_without_weight_has_no_share() -> None:
    ev = _evaluation(district=np.zeros(len(LATENCY), dtype=int))
    table = coverage_table([ev], thresholds_ms=[1.0], district_names=["a", "empty"])
    empty = table[table["name"] == "empty"].iloc[0]
    assert empty.total == 0.0 and np.isnan(empty.share)
