"""The node-position vote of ``engine.network`` against the rule written out per node.

:func:`latcircle.engine.network._id_positions` groups the offers by hashing and ranks each
node's groups with one integer score (or, when that score could overflow, a sort). The
reference here follows the docstring's rule with Python dicts, one offer at a time: each line
offers both its ends to both its nodes; a node takes the position offered most often, then
most claimed (start for ``u``, end for ``v``), then first offered; it is *placed* when offered
strictly more often than any other position; an unplaced node whose line's other node is
placed takes that line's end away from it (lines in order, ``u`` sides first, later lines
winning). Coordinates come from few values (signed zeros among them) so that ties, parallel
lines, loops and reversed lines are common.
"""

from __future__ import annotations

import numpy as np
import pytest

import latcircle.engine.network as net


def _reference(
    u: np.ndarray, v: np.ndarray, start: np.ndarray, end: np.ndarray, n: int
) -> np.ndarray:
    m = len(u)
    xy = np.full((n, 2), np.nan)
    for i in reversed(range(m)):  # the first occurrence of each id
        xy[v[i]] = end[i]
    for i in reversed(range(m)):
        xy[u[i]] = start[i]
    if all((start[i] == xy[u[i]]).all() and (end[i] == xy[v[i]]).all() for i in range(m)):
        return xy
    # node -> position key -> [count, claims, first offer index, coordinates]
    offers: dict[int, dict[tuple[float, float], list]] = {}
    quarters = [(u, start, 1), (u, end, 0), (v, start, 0), (v, end, 1)]
    for q, (nodes, points, claimed) in enumerate(quarters):
        for i in range(m):
            point = points[i]
            key = (float(point[0]) + 0.0, float(point[1]) + 0.0)  # -0.0 is 0.0
            entry = offers.setdefault(int(nodes[i]), {}).setdefault(
                key, [0, 0, q * m + i, point.copy()]
            )
            entry[0] += 1
            entry[1] += claimed
    xy = np.full((n, 2), np.nan)
    placed = np.zeros(n, dtype=bool)
    for node, groups in offers.items():
        ranked = sorted(groups.values(), key=lambda e: (-e[0], -e[1], e[2]))
        xy[node] = ranked[0][3]
        runner = ranked[1][0] if len(ranked) > 1 else 0
        placed[node] = ranked[0][0] > runner
    for mine, other in ((u, v), (v, u)):
        for i in range(m):
            if not placed[mine[i]] and placed[other[i]]:
                near = xy[other[i]]
                d_start = np.hypot(*(start[i] - near))
                d_end = np.hypot(*(end[i] - near))
                xy[mine[i]] = end[i] if d_start <= d_end else start[i]
    return xy


def _case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 14)), int(rng.integers(1, 50))
    values = np.array([-2.5, -0.0, 0.0, 0.5, 3.0, 7.25])
    pts = rng.choice(values, size=(n + 4, 2))
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    if seed % 3 == 0:  # mostly drawn from u to v, a few reversed: the usual network
        place = pts[:n]
        start, end = place[u].copy(), place[v].copy()
        flip = rng.random(m) < 0.3
        start[flip], end[flip] = place[v[flip]], place[u[flip]]
    else:
        start, end = pts[rng.integers(0, n + 4, m)], pts[rng.integers(0, n + 4, m)]
    return u, v, start, end, n + int(rng.integers(0, 3))  # some ids on no line: NaN


@pytest.mark.parametrize("seed", range(120))
def test_vote_matches_the_rule(seed: int) -> None:
    u, v, start, end, n = _case(seed)
    want = _reference(u, v, start, end, n)
    got = net._id_positions(u, v, start, end, n=n)
    assert got.tobytes() == want.tobytes()  # the same floats, NaN and signed zeros included


@pytest.mark.parametrize("seed", range(0, 120, 7))
def test_vote_by_sort_when_the_score_could_overflow(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(net, "_SCORE_LIMIT", 0)  # every score "could overflow": the sort
    u, v, start, end, n = _case(seed)
    got = net._id_positions(u, v, start, end, n=n)
    assert got.tobytes() == _reference(u, v, start, end, n).tobytes()


def test_a_tie_goes_to_the_claimed_end_then_the_first_offered() -> None:
    # One line, drawn from v to u: node 0 (u) is offered (1, 1) and (0, 0) once each; its
    # claimed end is the start (1, 1). Neither node is placed (a tie), so the vote stands.
    u, v = np.array([0, 0]), np.array([1, 1])
    start = np.array([[1.0, 1.0], [1.0, 1.0]])
    end = np.array([[0.0, 0.0], [5.0, 5.0]])
    got = net._id_positions(u, v, start, end, n=2)
    # node 0: (1,1) offered twice (claimed twice): placed there. node 1: (1,1) twice, (0,0)
    # once, (5,5) once: (1,1), placed; the lone step moves no one.
    assert got.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    got = net._id_positions(u[:1], v[:1], start[:1], end[:1], n=2)
    # One line: (1,1) and (0,0) once each for both nodes; u claims (1,1), v claims (0,0).
    assert got.tolist() == [[1.0, 1.0], [0.0, 0.0]]


def _pairs_reference(lo: np.ndarray, hi: np.ndarray, years: np.ndarray | None) -> int:
    """Distinct (lo, hi, year) as Python tuples (no year: -1.0; -0.0 is 0.0)."""
    keys = years if years is not None else np.zeros(len(lo))
    keys = np.where(np.isnan(keys), -1.0, keys)
    return len({(int(a), int(b), float(k) + 0.0) for a, b, k in zip(lo, hi, keys, strict=True)})


@pytest.mark.parametrize("seed", range(30))
def test_distinct_pairs_as_python_sets(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(0, 60)), int(rng.integers(1, 9))
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    years = rng.choice(np.array([np.nan, 2024.0, 2025.0, -1.0, 0.0, -0.0]), m)
    for y in (None, years):
        want = _pairs_reference(lo, hi, y)
        assert net._distinct_pairs(lo, hi, y) == want
        with monkeypatch.context() as patch:  # the three-level index, for huge node ids
            patch.setattr(net, "_PAIR_LIMIT", 0)
            assert net._distinct_pairs(lo, hi, y) == want
