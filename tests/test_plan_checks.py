"""The planner's checks on hand-made instances (issue 26 §6): every expected value by hand.

Three demand rows of weight 1 each (total 3, no baseline) and a few builds; the stages and
limits are small enough to solve by looking at them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from latcircle.analysis.plan import solve as solvers
from latcircle.analysis.plan.checks import drop_idle_builds, limits_failure


def _stage(columns: list[list[int]], need: float, allowed: list[bool]) -> solvers.Stage:
    """Rows 0..2 (weight 1 each); ``columns[j]``: the rows build ``j`` covers."""
    m = np.zeros((3, len(columns)))
    for j, rows in enumerate(columns):
        m[rows, j] = 1
    return solvers.Stage(sp.csr_matrix(m), np.ones(3), need, np.array(allowed), 3.0)


def test_zero_cost_builds_that_gain_nothing_are_dropped() -> None:
    # A (0) and B (0) both cover row 0, C (5) covers row 1; rows 0 and 1 are needed.
    st = _stage([[0], [0], [1]], 2.0, [True, True, True])
    cost = np.array([0.0, 0.0, 5.0])
    sol = solvers.Solution([np.array([True, True, True])], 5.0, True, np.nan, True, "milp")
    out = drop_idle_builds([st], cost, sol)
    assert out.built[0].tolist() == [True, False, True]  # B goes (last first), A stays
    assert out.cost == 5.0
    # Nothing idle: the very same solution comes back.
    assert drop_idle_builds([st], cost, out) is out


def test_a_needed_zero_cost_build_stays() -> None:
    # A (0) is the only build covering row 0: it gains something and stays, at every stage.
    st1 = _stage([[0], [1]], 1.0, [True, True])
    st2 = _stage([[0], [1]], 2.0, [True, True])
    sol = solvers.Solution(
        [np.array([True, False]), np.array([True, True])], 1.0, True, np.nan, True, "milp"
    )
    assert drop_idle_builds([st1, st2], np.array([0.0, 1.0]), sol) is sol


def _goal(year: int, share: float) -> SimpleNamespace:
    return SimpleNamespace(year=year, share=share, basis="population")


SAMPLES = SimpleNamespace(weight=np.ones(3), total=3.0)
NO_BASE = {2027: np.zeros(3, bool), 2028: np.zeros(3, bool)}


def test_limits_name_the_first_year_that_fails() -> None:
    # 2027 needs 2 rows and 2028 one: with one build, 2027's best is 2 of 3 only via B.
    cost = np.ones(2)
    stages = [_stage([[0], [1]], 2.0, [True, True]), _stage([[0], [1]], 1.0, [True, True])]
    goals = [_goal(2027, 2 / 3), _goal(2028, 1 / 3)]
    text = limits_failure(
        goals, stages, NO_BASE, SAMPLES, cost, max_builds=1, max_cost=None, time_limit_s=10
    )
    assert text == (
        "the targets cannot be reached with at most 1 builds: the 2027 target fails: best "
        "population share by 2027 33.33% (1 builds) against 66.7%"
    )


def test_limits_say_when_each_year_alone_can_be_met() -> None:
    # A covers row 0 and may be built by 2027; B covers rows 1 and 2, only from 2028.
    # One build: 2027 alone takes A (1 of 3), 2028 alone takes B (2 of 3), both not.
    cost = np.ones(2)
    stages = [_stage([[0], [1, 2]], 1.0, [True, False]), _stage([[0], [1, 2]], 2.0, [True, True])]
    goals = [_goal(2027, 1 / 3), _goal(2028, 2 / 3)]
    text = limits_failure(
        goals, stages, NO_BASE, SAMPLES, cost, max_builds=None, max_cost=1.0, time_limit_s=10
    )
    assert text == (
        "the targets cannot be reached with a cost of at most 1: each year can be met alone "
        "(2027 33.33%, 2028 66.67%), not all of them with the same builds"
    )
    # And the staged solver agrees that no plan exists within that cost.
    assert not solvers.min_cost(stages, cost, max_cost=1.0, time_limit_s=10).feasible
