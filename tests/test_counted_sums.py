"""Sums of one-weight samples by counting: the coverage table and the progress tally.

Both sum ``w[mask]`` (numpy's pairwise sum of the gathered weights, in sample order). For
samples of one weight (every area cell, every key site) they now sum the first ``k``
weights, ``k`` the mask's count (:func:`latcircle.analysis.coverage.one_weight`). The
reference here is the gather written out per scope, threshold and cause, on hand-made
samples with latencies exactly on each threshold, one ulp over it, ``inf``, NaN, a finite
latency without access, and districts with no sample; it must hold bit for bit (``==`` on
floats, and the table's CSV text). Weights that are equal numbers but not equal bits
(``0.0`` and ``-0.0``), NaN of two payloads, float32 and strided weights keep the gather.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latcircle.analysis.coverage import (
    CAUSE_CODES,
    Evaluation,
    Samples,
    coverage_table,
    covered,
    one_weight,
)
from latcircle.analysis.progress import _Tally
from latcircle.engine.locator import PointLocation

THRESHOLDS = [0.25, 0.5, 1.0]


def _samples(weight: np.ndarray, *, seed: int, n_districts: int = 4) -> Evaluation:
    """Samples with latencies on and around every threshold, some without access."""
    rng = np.random.default_rng(seed)
    n = len(weight)
    pick = np.array(
        [
            *(t * 1000.0 for t in THRESHOLDS),
            *(np.nextafter(t * 1000.0, np.inf) for t in THRESHOLDS),
            *(np.nextafter(t * 1000.0, -np.inf) for t in THRESHOLDS),
            np.inf,
            np.nan,
            0.0,
            123.0,
            2000.0,
        ]
    )
    latency = pick[rng.integers(0, len(pick), n)]
    edge = np.where(rng.random(n) < 0.3, -1, 5)
    # A sample without access but a finite latency: the table counts it as covered where
    # the rule holds (and as no access), whatever the engine would give.
    latency[: min(n, 3)] = 100.0
    edge[: min(n, 3)] = -1
    district = rng.integers(-1, n_districts - 1, n).astype(np.int32)  # the last one empty
    location = PointLocation(
        edge=edge, t=np.zeros(n), drop=np.where(edge >= 0, 1.0, np.inf), max_drop_m=10.0
    )
    samples = Samples(basis="area", weight=weight, location=location, district=district)
    return Evaluation(samples=samples, latency_us=latency, site=np.full(n, -1))


def _reference_rows(ev: Evaluation, names: list[str]) -> list[tuple]:
    """The coverage table's rows, each sum the gather ``w[scope][mask].sum()`` written out."""
    s = ev.samples
    rows = []
    for scope, name, index in [("metro", "metro", None)] + [
        ("district", n, i) for i, n in enumerate(names)
    ]:
        pick = np.ones(len(s.weight), bool) if index is None else s.district == index
        w, lat = s.weight[pick], ev.latency_us[pick]
        access = s.location.edge[pick] >= 0
        for thr in THRESHOLDS:
            inside = lat <= thr * 1000.0
            reached = np.isfinite(lat) & access
            total = float(w.sum())
            rows.append(
                (
                    scope,
                    name,
                    thr,
                    float(w[inside].sum()),
                    float(w[~access].sum()),
                    float(w[access & ~np.isfinite(lat)].sum()),
                    float(w[reached & ~inside].sum()),
                    total,
                )
            )
    return rows


def _table_rows(table: pd.DataFrame) -> list[tuple]:
    cols = ["scope", "name", "threshold_ms", "covered", "no_access", "unreachable", "too_far"]
    return [tuple(r) for r in table[[*cols, "total"]].itertuples(index=False)]


@pytest.mark.parametrize("value", [0.01, 1.0, 0.1, 3.3e-7, 7.0e10])
@pytest.mark.parametrize("size", [1, 7, 9, 130, 1025, 20_000])
def test_one_weight_table_is_the_gathered_sums(value: float, size: int) -> None:
    ev = _samples(np.full(size, value), seed=size)
    assert one_weight(ev.samples.weight)
    names = ["a", "b", "c", "empty"]
    table = coverage_table([ev], thresholds_ms=THRESHOLDS, district_names=names)
    assert _table_rows(table) == _reference_rows(ev, names)


@pytest.mark.parametrize(
    "weight",
    [
        np.where(np.arange(999) % 2, 0.0, -0.0),  # equal numbers, not equal bits
        np.linspace(0.5, 3.0, 999),  # unequal (population)
        np.full(999, 0.01, dtype=np.float32),  # not float64
        np.full(1998, 0.01)[::2],  # strided
    ],
)
def test_other_weights_keep_the_gather(weight: np.ndarray) -> None:
    assert not one_weight(weight)
    ev = _samples(weight, seed=3)
    names = ["a", "b", "c", "empty"]
    table = coverage_table([ev], thresholds_ms=THRESHOLDS, district_names=names)
    assert _table_rows(table) == _reference_rows(ev, names)


def test_nan_payloads_are_not_one_weight() -> None:
    bits = np.array([0x7FF8000000000000, 0x7FF8000000000001], dtype=np.int64)
    assert not one_weight(bits.view(np.float64))
    assert one_weight(np.full(3, np.nan))
    assert not one_weight(np.zeros(0))


def test_counting_matters() -> None:
    """The pairwise sum of ``k`` copies is neither ``k`` times the value nor the running sum.

    So the table's sums tell the routes apart: it takes numpy's own sum of ``k`` weights.
    """
    w = np.full(12345, 0.01)
    running = 0.0
    for v in w:
        running += float(v)
    assert float(w.sum()) != 12345 * 0.01
    assert float(w.sum()) != running
    ev = _samples(w, seed=12345)
    table = coverage_table([ev], thresholds_ms=THRESHOLDS, district_names=["a"])
    metro = table[table["scope"] == "metro"]
    assert metro["total"].iloc[0] == float(w.sum())
    assert _table_rows(table) == _reference_rows(ev, ["a"])


class _Scenario:
    """What the tally reads of a scenario: its evaluations by basis."""

    def __init__(self, ev: Evaluation) -> None:
        self.evaluations = {"area": ev}


@pytest.mark.parametrize(
    ("weight", "one"),
    [
        (np.full(4097, 0.01), True),
        (np.full(333, 1.0), True),
        (np.linspace(1.6, 180.0, 4097), False),
        (np.where(np.arange(64) % 3, 0.0, -0.0), False),
    ],
)
def test_tally_covered_is_the_gathered_sum(weight: np.ndarray, one: bool) -> None:
    ev = _samples(weight, seed=len(weight))
    assert one_weight(weight) is one
    for thr in THRESHOLDS:
        covered_w, total, causes = _Tally().get(_Scenario(ev), "area", thr)  # type: ignore[arg-type]
        lat, access = ev.latency_us, ev.samples.location.edge >= 0
        inside = covered(lat, budget_ms=thr)
        assert covered_w == float(weight[inside].sum())
        assert total == float(weight.sum())
        # The causes, in sample order (np.bincount adds each bin's weights as they come).
        too_far = np.isfinite(lat) & access & ~inside
        unreachable = access & ~np.isfinite(lat) & ~inside
        no_access = ~access & ~inside
        for cause, mask in (
            ("too_far", too_far),
            ("unreachable", unreachable),
            ("no_access", no_access),
        ):
            expected = 0.0
            for v in weight[mask]:
                expected += float(v)
            assert causes[cause] == expected, cause
        codes = ev.codes(thr)
        assert np.array_equal(codes == CAUSE_CODES["covered"], inside)
