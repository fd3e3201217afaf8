"""The critical values sorted from the sorted latencies, and exact float64 suffix sums.

Session round 15 (sensitivity and years; issue 23): with one device latency among the online
sites, ``r*`` and ``E*`` are sorted from the reached latencies sorted from the highest
(``_field_sorted``: no ``argsort`` for equal weights), and suffix weights are summed in
float64 where that is exact (``stepsort.exact_suffix``), in extended precision otherwise.

Checked against independent references: each sample's ``r*`` and ``E*`` by the hand formula
in plain Python floats, then ``sorted``; each suffix weight as the exact
:class:`fractions.Fraction` sum of the weights at or above the value, rounded once. Samples
sit exactly on the budget, one ulp over, at a zero route length (``r* = inf``), unreached,
on ties; weights equal, float32-like, and adversarial (sums float64 cannot hold).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from latcircle.analysis.sensitivity import _field_reached, _field_sorted, _suffix
from latcircle.analysis.stepsort import equal_unit, exact_suffix, suffix
from latcircle.config import LatencyParams

PARAMS = LatencyParams(
    k_us_per_m=0.005,
    route_factor=1.2,
    equipment_us=100.0,
    site_device_us=0.0,
    extra_us=30.0,
    max_drop_m=500.0,
    factor=2.0,
)
BUDGET_MS = 1.0
S_US = 20.0
ROOM = BUDGET_MS * 1000.0 / PARAMS.factor - PARAMS.extra_us


def _hand(lat: float, *, s_us: float = S_US) -> tuple[float, float]:
    """One sample's anchored ``r*`` and ``E*`` from the module doc's formulas."""
    p = PARAMS
    ell = max(lat / p.factor - (p.equipment_us + p.extra_us) - s_us, 0.0)
    ell = ell / (p.k_us_per_m * p.route_factor)
    num = ROOM - p.equipment_us - s_us
    r = -math.inf if num < 0 else (math.inf if ell <= 0 else num / (ell * p.k_us_per_m))
    e = ROOM - (ell * (p.k_us_per_m * p.route_factor) + s_us)
    if lat <= BUDGET_MS * 1000.0:  # covered at the run's values: at or above them
        r, e = max(r, p.route_factor), max(e, p.equipment_us)
    else:
        r = min(r, math.nextafter(p.route_factor, -math.inf))
        e = min(e, math.nextafter(p.equipment_us, -math.inf))
    return r, e


def _latencies(rng: np.random.Generator, n: int) -> np.ndarray:
    budget = BUDGET_MS * 1000.0
    fixed = PARAMS.factor * (PARAMS.equipment_us + PARAMS.extra_us + S_US)
    lat = np.round(rng.uniform(fixed, 1.6 * budget, n), 1)  # rounded: many ties
    pick = rng.random(n)
    lat[pick < 0.1] = np.inf  # unreached
    lat[(pick >= 0.1) & (pick < 0.15)] = budget  # exactly on the budget
    lat[(pick >= 0.15) & (pick < 0.2)] = np.nextafter(budget, np.inf)  # one ulp over
    lat[(pick >= 0.2) & (pick < 0.25)] = fixed  # route length 0: r* = inf
    return lat


def _weights(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "equal":
        return np.full(n, 0.01)
    # float32 values, as a population raster holds them (sums exact in float64)
    return rng.uniform(1.5, 180.0, n).astype(np.float32).astype(float)


def _check_against_hand(got: tuple, lat: np.ndarray, weight: np.ndarray) -> None:
    hand = [_hand(float(x)) for x in lat if math.isfinite(x)]
    ws = [float(w) for x, w in zip(lat, weight, strict=True) if math.isfinite(x)]
    for i, sorted_ in enumerate(got):
        stars = [h[i] for h in hand]
        want = np.array(sorted(s for s in stars if s > -math.inf))
        assert sorted_.stars.tobytes() == want.tobytes()
        for v in np.unique(want):
            idx = np.searchsorted(sorted_.stars, v, side="left")
            exact = sum(
                (Fraction(w) for s, w in zip(stars, ws, strict=True) if s >= v), Fraction(0)
            )
            assert float(sorted_.weight_at(np.array([idx]))[0]) == float(exact)


@pytest.mark.parametrize("kind", ["equal", "float32"])
@pytest.mark.parametrize("seed", range(4))
def test_field_sorted_is_the_hand_formula_sorted_and_the_old_way(kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    lat = _latencies(rng, n)
    weight = _weights(kind, rng, n)
    got = _field_sorted(lat, weight, S_US, params=PARAMS, room=ROOM, budget_ms=BUDGET_MS)
    if not np.isfinite(lat).any():
        assert got is None
        return
    assert got is not None
    assert (got[0].suffix is None) == (kind == "equal")
    _check_against_hand(got, lat, weight)
    # The way before: the reached samples' values, sorted by ``_suffix`` (E with r's order).
    rows, r_sub, e_sub = _field_reached(lat, S_US, params=PARAMS, room=ROOM, budget_ms=BUDGET_MS)
    old_r, order = _suffix(r_sub, weight[rows])
    old_e, _ = _suffix(e_sub, weight[rows], hint=(order, old_r))
    for new, old in zip(got, (old_r, old_e), strict=True):
        assert new.stars.tobytes() == old.stars.tobytes()
        assert np.float64(new.unit).tobytes() == np.float64(old.unit).tobytes()
        first = np.flatnonzero(np.r_[True, new.stars[1:] != new.stars[:-1], True])
        assert new.weight_at(first).tobytes() == old.weight_at(first).tobytes()


def test_field_sorted_leaves_what_it_does_not_cover_to_the_old_way() -> None:
    lat = np.array([900.0, 1000.0, np.inf, 300.0])
    args = {"params": PARAMS, "room": ROOM, "budget_ms": BUDGET_MS}
    assert _field_sorted(np.full(3, np.inf), np.ones(3), S_US, **args) is None  # none reached
    assert _field_sorted(lat, np.ones(4), ROOM, **args) is None  # S over budget: r* all -inf
    adversarial = np.array([2.0**60, 1.0, 3.0, 2.0**-30])
    assert _field_sorted(lat, adversarial, S_US, **args) is None  # sums not exact
    assert _field_sorted(lat, np.zeros(4), S_US, **args) is None  # zero weights: -0.0 rule
    # B − S = 0 exactly: r* = 0.0 where not covered, and 0.0 and -0.0 sort as equals.
    s_us = ROOM - PARAMS.equipment_us
    lat = np.array([2000.0, 400.0 + 2 * s_us])
    _, r_sub, _ = _field_reached(lat, s_us, **args)
    assert 0.0 in r_sub
    assert _field_sorted(lat, np.ones(2), s_us, **args) is None


def _exact_suffix_sums(w: list[float]) -> list[float]:
    return [float(sum((Fraction(x) for x in w[i:]), Fraction(0))) for i in range(len(w) + 1)]


@pytest.mark.parametrize("seed", range(6))
def test_exact_suffix_is_the_exact_sum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 500))
    w = rng.uniform(0.0, 200.0, n).astype(np.float32).astype(float)
    w[rng.random(n) < 0.1] = 0.0
    got = exact_suffix(w)
    assert got is not None
    assert got.tolist() == _exact_suffix_sums(w.tolist())
    # The extended-precision way gives the same floats (it is exact here too).
    wl = w.astype(np.longdouble)
    old = np.concatenate([np.cumsum(wl[::-1])[::-1], [np.longdouble(0.0)]]).astype(float)
    assert got.tobytes() == old.tobytes()


@pytest.mark.parametrize(
    "w",
    [
        [2.0**53, 1.0],  # 2**53 + 1: float64 cannot hold it
        [1e16, 1.0, -1e16],  # cancellation after an inexact sum
        [0.1, 0.2, 0.3],  # decimal fractions: not multiples of a common power of two in range
        [1.0, 2.0**-60],  # the small one below the unit
        [np.inf, 1.0],
        [np.nan, 1.0],
        [0.0, -0.0],
        [1.7e308, 1.7e308],  # the bound beyond float64
        [5e-324, 5e-324],  # subnormal unit
    ],
)
def test_exact_suffix_refuses_sums_float64_might_round(w: list[float]) -> None:
    assert exact_suffix(np.array(w)) is None
    if all(math.isfinite(x) for x in w) and max(abs(x) for x in w) < 1e300 and len(set(w)) > 1:
        # ``suffix`` then sums in extended precision, as before (within its bound).
        got, _ = suffix(np.arange(len(w), dtype=float), np.array(w))
        exact = _exact_suffix_sums(w)
        assert got.suffix is not None
        for a, b in zip(got.suffix.tolist(), exact, strict=True):
            assert a == pytest.approx(b, rel=1e-12, abs=1e-12 * sum(abs(x) for x in w))


def test_exact_suffix_on_the_bound() -> None:
    # max|w| < 2**53, n = 2: T = 2**54 = 2**53·u with u = 2; every sum a multiple of 2 below
    # 2**54 (where float64's spacing is 2): exact, the largest sum on float64's last digit.
    w = np.array([2.0**53 - 2.0, 2.0**53 - 4.0])
    got = exact_suffix(w)
    assert got is not None and got.tolist() == _exact_suffix_sums(w.tolist())
    assert exact_suffix(np.array([2.0**52, 1.0])) is None  # 1 is not a multiple of u = 2


def test_equal_unit() -> None:
    assert equal_unit(np.full(4, 0.01)) == 0.01
    assert equal_unit(np.array([1.0, 2.0])) is None
    assert equal_unit(np.array([0.0, -0.0])) is None  # zero: left to the sorted way
    assert equal_unit(np.zeros(0)) is None


def test_years_of_a_basis_share_one_total(demo_metro: Any) -> None:
    from latcircle.analysis.sensitivity import sensitivity, target_scenarios

    metro = demo_metro
    sens = sensitivity(metro, target_scenarios(metro, metro.scenario()))
    lists: dict[int, list[float]] = {}
    for (year, basis), crit in sens.criticals.items():
        weight = metro.view(year).samples[basis].weight
        assert crit.weight is weight
        assert lists.setdefault(id(weight), crit._total) is crit._total  # one list per array
        assert crit.total == float(weight.sum())  # the sum it summed before, the same float
        assert crit.total == pytest.approx(math.fsum(weight.tolist()), rel=1e-12)
    assert len(lists) == len(metro.bases) < len(sens.criticals)
