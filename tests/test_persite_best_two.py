"""best_two_of_fields (one field at a time) equals best_two of the whole table.

The reference is :func:`latcircle.engine.persite.best_two` on the full ``(points × fields)``
table, itself a stable sort; the values are drawn from a few levels so that ties (equal
latency from several sites, the lower column first) and ``inf`` (no site) are frequent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from latcircle.engine.persite import best_two, best_two_of_fields


class _Points:
    """A stand-in for located points: which table, and how many rows."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)


class _Column:
    """A stand-in for a LatencyField: ``at(points)`` gives column ``j`` of their table."""

    def __init__(self, j: int) -> None:
        self.j = j

    def at(self, loc: Any) -> tuple[np.ndarray, np.ndarray]:
        values = loc.table[:, self.j].copy()
        return values, np.zeros(len(values), np.int64)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 9])
def test_streaming_best_two_equals_the_stable_sort(m: int) -> None:
    rng = np.random.default_rng(m)
    levels = np.array([np.inf, 5.0, 5.0, 7.5, 1.0, 9.0])
    tables = [
        levels[rng.integers(0, len(levels), size=(400, m))],
        np.full((30, m), np.inf),  # no site reaches any point
        np.zeros((0, m)),  # no points
    ]
    if m:
        tables[0][:50] = tables[0][:50, :1]  # rows of one value repeated: ties everywhere
    fields = [_Column(j) for j in range(m)]
    got = best_two_of_fields(fields, [_Points(t) for t in tables])  # type: ignore[arg-type]
    for loc, table, two in zip(range(3), tables, got, strict=True):
        want = best_two(table)
        for name in ("best", "best_col", "second", "second_col"):
            assert np.array_equal(getattr(two, name), getattr(want, name)), (m, loc, name)
