"""The grouping of node-position offers in ``engine.network`` against a brute-force one.

:func:`latcircle.engine.network._offer_groups` hashes positions; the reference groups the
same offers with a Python dict keyed by ``(node, x, y)`` (Python's float equality and hash
make ``-0.0`` and ``0.0`` one key, as numpy's comparison does).
"""

from __future__ import annotations

import numpy as np
import pytest

from latcircle.engine.network import _offer_groups


def _reference(node: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[list, list]:
    pos = np.concatenate([start, end, start, end])
    seen: dict[tuple[int, float, float], int] = {}
    group, first = [], []
    for i, (k, (x, y)) in enumerate(zip(node.tolist(), pos.tolist(), strict=True)):
        key = (k, x, y)
        if key not in seen:
            seen[key] = len(first)
            first.append(i)
        group.append(seen[key])
    return group, first


@pytest.mark.parametrize("seed", range(40))
def test_offer_groups_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 12)), int(rng.integers(1, 40))
    # Few distinct coordinates, signed zeros among them: many exact coincidences.
    pts = rng.choice(np.array([-1.5, -0.0, 0.0, 0.5, 2.0]), size=(n + 3, 2))
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    start, end = pts[rng.integers(0, n + 3, m)], pts[rng.integers(0, n + 3, m)]
    node = np.concatenate([u, u, v, v])
    group, first = _offer_groups(node, start, end)
    ref_group, ref_first = _reference(node, start, end)
    assert group.tolist() == ref_group
    assert first.tolist() == ref_first


def test_signed_zero_is_one_position() -> None:
    start = np.array([[0.0, -0.0], [-0.0, 0.0]])
    end = np.array([[1.0, 1.0], [1.0, 1.0]])
    node = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    group, first = _offer_groups(node, start, end)
    # node 0: (0,0) twice, (1,1) twice; node 1: (0,0) twice, (1,1) twice.
    assert group.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert first.tolist() == [0, 2, 4, 6]
