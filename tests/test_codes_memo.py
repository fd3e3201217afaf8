"""An evaluation's status codes are made once per budget and are those of the rule.

Session round 15 (issue 23): the progress table, the map's years, the clusters and
``latency.tif`` ask the same scenario's codes at the same budget; ``Evaluation.codes`` makes
them once. Checked against :func:`cause_codes` and against the rule written out per sample
(on the budget, one ulp over, ``inf``, NaN, without access).
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from latcircle.analysis.coverage import CAUSE_CODES, Evaluation, Samples, cause_codes
from latcircle.engine.locator import PointLocation


def _evaluation() -> Evaluation:
    over = np.nextafter(1000.0, np.inf)
    lat = np.array([0.0, 999.0, 1000.0, over, np.inf, np.nan, 250.0, 250.0, np.inf])
    edge = np.array([0, 0, 0, 0, 0, 0, 0, -1, -1])
    n = len(lat)
    loc = PointLocation(edge=edge, t=np.zeros(n), drop=np.zeros(n), max_drop_m=1000.0)
    samples = Samples("area", np.ones(n), loc, np.zeros(n, np.int64))
    return Evaluation(samples=samples, latency_us=lat, site=np.zeros(n, np.int64))


def _rule(lat: float, access: bool, budget_ms: float) -> int:
    if lat <= budget_ms * 1000.0:
        return CAUSE_CODES["covered"]
    if not access:
        return CAUSE_CODES["no_access"]
    return CAUSE_CODES["too_far"] if np.isfinite(lat) else CAUSE_CODES["unreachable"]


@pytest.mark.parametrize("budget_ms", [1.0, 0.25, 1])
def test_codes_are_the_rule_made_once(budget_ms: float) -> None:
    ev = _evaluation()
    got = ev.codes(budget_ms)
    access = ev.samples.location.has_access
    want = [_rule(float(x), bool(a), budget_ms) for x, a in zip(ev.latency_us, access, strict=True)]
    assert got.tolist() == want
    assert np.array_equal(got, cause_codes(ev.latency_us, access, budget_ms=budget_ms))
    assert ev.codes(float(budget_ms)) is got  # made once
    assert not got.flags.writeable  # shared: no caller may change it
    with pytest.raises(ValueError):
        got[0] = 3


def test_each_budget_and_each_evaluation_its_own() -> None:
    ev = _evaluation()
    one, quarter = ev.codes(1.0), ev.codes(0.25)
    assert one is not quarter and (one != quarter).any()
    # Other latencies (a replace) start without codes: never the old ones.
    later = dataclasses.replace(ev, latency_us=np.zeros(len(ev.latency_us)))
    assert (later.codes(1.0) == CAUSE_CODES["covered"]).all()
    assert ev.codes(1.0) is one
    # Pickled with or without its codes, the same codes come back.
    back = pickle.loads(pickle.dumps(ev))
    assert np.array_equal(back.codes(1.0), one)
    fresh = _evaluation()
    state = pickle.loads(pickle.dumps(fresh))
    assert np.array_equal(state.codes(0.25), quarter)
