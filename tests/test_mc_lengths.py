"""The Monte Carlo on route lengths (several device latencies) against the plain loop.

``_mc_lengths`` finds each group's covered lengths by a binary search and sums the weight
left uncovered by blocks; the reference here is the loop it replaced, copied verbatim: every
draw over every sample. Instances have ties, unreachable groups (``inf``), draws whose
latency lands exactly on the budget, one to three groups, nothing undecided and no weight.
"""

from __future__ import annotations

import numpy as np
import pytest

from latcircle.analysis.sensitivity import SampleCritical, _PerSample
from latcircle.analysis.uncertainty import _mc_lengths

K = 5.0 / 1000.0  # µs per metre (the fibre's 5 µs/km); any positive value would do


def _reference(
    crit: SampleCritical, r: np.ndarray, c: np.ndarray, room: float, k: float
) -> np.ndarray:
    """The loop ``_mc_lengths`` replaced (verbatim)."""
    lengths, s = crit.lengths, crit.group_us
    assert lengths is not None
    w = crit.weight
    total = crit.total
    if not total > 0:
        return np.full(len(r), np.nan)
    best = np.min(s[None, :] + k * r.min() * lengths, axis=1) + c.min()
    worst = np.min(s[None, :] + k * r.max() * lengths, axis=1) + c.max()
    always = worst <= room
    maybe = np.flatnonzero((best <= room) & ~always)
    base = float(w[always].sum())
    sub, wm = lengths[maybe], w[maybe]
    out = np.empty(len(r))
    for j in range(len(r)):
        need = np.min(s[None, :] + k * r[j] * sub, axis=1) + c[j]
        out[j] = (base + float(wm[need <= room].sum())) / total
    return out


def _crit(lengths: np.ndarray, weight: np.ndarray, group_us: np.ndarray) -> SampleCritical:
    n = len(weight)
    arrays = _PerSample.kept(np.zeros(n), np.zeros(n), lengths)
    return SampleCritical(
        year=None,
        basis="population",
        weight=weight,
        r_exact=True,
        group_us=group_us,
        _arrays=arrays,
    )


def _instance(
    rng: np.random.Generator, n: int, groups: int, draws: int
) -> tuple[SampleCritical, np.ndarray, np.ndarray, float]:
    """Lengths on a coarse grid (ties), some ``inf``, draws with some exactly on the budget."""
    lengths = rng.integers(0, 60, size=(n, groups)).astype(float) * 1000.0
    lengths[rng.random((n, groups)) < 0.1] = np.inf
    weight = rng.integers(0, 5, size=n).astype(float) * rng.choice([1.0, 0.37], size=n)
    group_us = rng.choice([20.0, 350.0, 100.0], size=groups, replace=False)
    room = 800.0
    r = rng.choice([1.0, 1.1, 1.2, 1.25, 1.5, 2.0], size=draws) + rng.random(draws) * 0.01
    c = rng.choice([80.0, 100.0, 120.0], size=draws) + rng.random(draws)
    # Draws landing exactly on the budget: ``C = room − (S + k·r·ℓ)`` for a sample's own
    # length; keep those whose float latency is exactly ``room`` (most of them).
    for j in range(0, draws, 3):
        i, g = rng.integers(n), rng.integers(groups)
        if np.isfinite(lengths[i, g]):
            cj = room - (group_us[g] + K * r[j] * lengths[i, g])
            if (group_us[g] + K * r[j] * lengths[i, g]) + cj == room:
                c[j] = cj
    return _crit(lengths, weight, group_us), r, c, room


@pytest.mark.parametrize("groups", [1, 2, 3])
@pytest.mark.parametrize("seed", range(10))
def test_equals_the_loop(groups: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 7, 50, 400, 1500]))
    crit, r, c, room = _instance(rng, n, groups, draws=300)
    got = _mc_lengths(crit, r, c, room, K)
    want = _reference(crit, r, c, room, K)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_on_the_budget_is_covered() -> None:
    # Two groups, hand-computed: the draws put sample 0's group-0 latency exactly on the
    # budget (covered), then one float beyond it (not covered; its group 1 is unreachable).
    lengths = np.array([[10_000.0, np.inf], [np.inf, 30_000.0], [50_000.0, 50_000.0]])
    crit = _crit(lengths, np.array([1.0, 2.0, 4.0]), np.array([350.0, 20.0]))
    room = 800.0
    r = np.array([1.0, 1.0, 1.0, 2.0])
    on = room - (350.0 + K * 1.0 * 10_000.0)  # 400.0: 350 + 50 + 400 = 800 exactly
    beyond = np.nextafter(np.nextafter(on, np.inf), np.inf)  # one float past: a tie rounds to 800
    assert (350.0 + K * 1.0 * 10_000.0) + on == room
    assert (350.0 + K * 1.0 * 10_000.0) + beyond == np.nextafter(room, np.inf)
    c = np.array([on, beyond, 0.0, 0.0])
    got = _mc_lengths(crit, r, c, room, K)
    # draw 0: samples 0 (800 ≤ 800) and 1 (20 + 150 + 400.0 = 570); sample 2: min(
    # 350 + 250, 20 + 250) + 400 = 670 -> all covered -> 7/7.
    # draw 1: sample 0 one float beyond -> 6/7. draws 2 and 3: C = 0 -> all covered (2: 20 + 500
    # = 520 for sample 2 at r = 2).
    np.testing.assert_allclose(got, [7 / 7, 6 / 7, 1.0, 1.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got, _reference(crit, r, c, room, K), rtol=0, atol=1e-12)


def test_nothing_undecided_and_no_weight() -> None:
    rng = np.random.default_rng(7)
    lengths = np.array([[0.0, 1000.0], [np.inf, np.inf], [1e9, 1e9]])
    r = 1.0 + rng.random(50)
    c = 100.0 + rng.random(50)
    crit = _crit(lengths, np.array([1.0, 1.0, 1.0]), np.array([20.0, 350.0]))
    got = _mc_lengths(crit, r, c, 800.0, K)  # every sample decided over the whole support
    np.testing.assert_array_equal(got, np.full(50, 1 / 3))
    np.testing.assert_array_equal(got, _reference(crit, r, c, 800.0, K))
    zero = _crit(lengths, np.zeros(3), np.array([20.0, 350.0]))
    assert np.isnan(_mc_lengths(zero, r, c, 800.0, K)).all()
    empty = _crit(np.zeros((0, 2)), np.zeros(0), np.array([20.0, 350.0]))
    assert np.isnan(_mc_lengths(empty, r, c, 800.0, K)).all()
