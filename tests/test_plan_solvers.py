"""The planner's solvers against brute-force enumeration on small random instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from latcircle.analysis.plan.solve import Stage, greedy, max_cover, min_cost


def _instance(seed: int, nb: int, ng: int = 30) -> tuple[list[Stage], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cover = rng.random((ng, nb)) < rng.uniform(0.08, 0.3)
    weight = rng.integers(1, 20, ng).astype(float)
    cost = rng.integers(1, 15, nb).astype(float)
    total = weight.sum() + rng.integers(0, 50)  # some weight no build can reach
    allowed1 = rng.random(nb) < 0.7  # earliest_year after the first stage for the others
    reach1 = _weights(cover, weight, allowed1)
    reach2 = _weights(cover, weight, np.ones(nb, bool))
    need1 = float(np.floor(rng.uniform(0.3, 0.9) * reach1))
    need2 = float(max(need1, np.floor(rng.uniform(0.5, 1.0) * reach2)))
    stages = [
        Stage(sp.csr_matrix(cover), weight, need1, allowed1, float(total)),
        Stage(sp.csr_matrix(cover), weight, need2, np.ones(nb, bool), float(total)),
    ]
    return stages, cost, cover


def _weights(cover: np.ndarray, weight: np.ndarray, built: np.ndarray) -> float:
    return float(weight[cover[:, built].any(axis=1)].sum())


def _brute_staged(stages: list[Stage], cost: np.ndarray, cover: np.ndarray) -> float:
    """Cheapest nested pair S1 ⊆ S2 with S1 allowed in stage 1, enumerating every subset."""
    nb = len(cost)
    best = np.inf
    subsets = [np.array(bits, bool) for bits in itertools.product([0, 1], repeat=nb)]
    ok1 = [
        (not (s & ~stages[0].allowed).any())
        and _weights(cover, stages[0].weight, s) >= stages[0].need
        for s in subsets
    ]
    feasible1 = [s for s, ok in zip(subsets, ok1, strict=True) if ok]
    for s2 in subsets:
        c2 = float(cost[s2].sum())
        if c2 >= best or _weights(cover, stages[1].weight, s2) < stages[1].need:
            continue
        if any(not (s1 & ~s2).any() for s1 in feasible1):
            best = c2
    return best


@pytest.mark.parametrize("seed", range(8))
def test_milp_equals_brute_force_and_greedy_within_its_gap(seed: int) -> None:
    nb = 10 + seed % 3  # 10..12 candidates
    stages, cost, cover = _instance(seed, nb)
    brute = _brute_staged(stages, cost, cover)
    exact = min_cost(stages, cost, time_limit_s=30)
    assert exact.optimal and exact.feasible
    assert exact.cost == pytest.approx(brute, abs=1e-9)
    # The plan found is a real plan: nested, allowed, and meeting each need.
    assert not (exact.built[0] & ~exact.built[1]).any()
    assert not (exact.built[0] & ~stages[0].allowed).any()
    for st, b in zip(stages, exact.built, strict=True):
        assert _weights(cover, st.weight, b) >= st.need
    lp = min_cost(stages, cost, relax=True)
    assert lp.cost <= brute + 1e-9
    g = greedy(stages, cost)
    assert g.feasible
    assert g.cost >= brute - 1e-9  # never beats the optimum
    gap = (g.cost - lp.cost) / g.cost
    assert (g.cost - brute) / g.cost <= gap + 1e-12  # and lies within the gap it reports
    for st, b in zip(stages, g.built, strict=True):
        assert _weights(cover, st.weight, b) >= st.need


@pytest.mark.parametrize("seed", range(6))
def test_max_cover_equals_brute_force(seed: int) -> None:
    stages, cost, cover = _instance(100 + seed, 12)
    st = stages[1]
    for k in (1, 2, 3, 5):
        built, weight, optimal = max_cover(st, cost, max_builds=k)
        assert optimal and built.sum() <= k
        brute = max(
            _weights(cover, st.weight, np.isin(np.arange(12), combo))
            for combo in itertools.combinations(range(12), k)
        )
        assert weight == brute
    budget = float(np.median(cost) * 2)
    built, weight, _ = max_cover(st, cost, max_cost=budget)
    brute = max(
        _weights(cover, st.weight, np.array(bits, bool))
        for bits in itertools.product([0, 1], repeat=12)
        if cost[np.array(bits, bool)].sum() <= budget
    )
    assert weight == brute and cost[built].sum() <= budget


def test_need_exactly_at_reach_is_feasible_and_one_more_is_not() -> None:
    cover = np.array([[1, 0], [0, 1], [1, 1]], bool)
    weight = np.array([3.0, 4.0, 5.0])
    st = Stage(sp.csr_matrix(cover), weight, 12.0, np.ones(2, bool), 20.0)
    sol = min_cost([st], np.array([2.0, 3.0]))
    assert sol.feasible and sol.cost == 5.0  # both needed: exactly at the reach
    st_more = Stage(sp.csr_matrix(cover), weight, 12.5, np.ones(2, bool), 20.0)
    assert not min_cost([st_more], np.array([2.0, 3.0])).feasible
    assert not greedy([st_more], np.array([2.0, 3.0])).feasible
    st_one = Stage(sp.csr_matrix(cover), weight, 9.0, np.ones(2, bool), 20.0)
    assert min_cost([st_one], np.array([2.0, 3.0])).cost == 3.0  # 4 + 5 = 9 with the 2nd


@pytest.mark.parametrize("empty_first", [True, False])
def test_a_stage_without_groups_leaves_the_other_stages_intact(empty_first: bool) -> None:
    # A stage whose builds cover no group (the LEO 10 ms stage of a ground-node plan, where
    # no place is in reach) has a z block of width 0; the model must still be well formed
    # and the optimum that of the other stage alone, found here by brute force.
    cover = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    weight = np.array([3.0, 2.0, 1.0])
    cost = np.array([4.0, 1.0, 2.0])
    full = Stage(sp.csr_matrix(cover.astype(float)), weight, 5.0, np.ones(3, bool), 6.0)
    empty = Stage(sp.csr_matrix((0, 3)), np.zeros(0), 0.0, np.ones(3, bool), 6.0)
    stages = [empty, full] if empty_first else [full, empty]
    best = min(
        float(cost[list(c)].sum())
        for k in range(4)
        for c in itertools.combinations(range(3), k)
        if weight[cover[:, list(c)].any(axis=1)].sum() >= 5.0
    )
    sol = min_cost(stages, cost)
    assert sol.feasible
    assert sol.cost == pytest.approx(best)  # builds 0 and 1: 3 + 2 >= 5 for 5.0
