"""Shortfall clusters never cross a district boundary: labels against a whole-grid reference.

``_district_labels`` labels each district within its bounding box. The reference labels
every district over the whole grid, one after the other (the plain definition: 4-connected
components of ``mask & (district == d)``, numbered district by district in increasing order,
each district's in row-major order). They must agree exactly, cells in no district (-1),
districts in several pieces and districts absent from the mask included.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from latcircle.analysis.clusters import _Cells, _district_labels

FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def _reference(district: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
    labels = np.zeros(mask.shape, dtype=np.int64)
    n = 0
    for d in np.unique(district[mask]):
        part, k = ndimage.label(mask & (district == d), structure=FOUR)
        labels[part > 0] = part[part > 0] + n
        n += k
    return labels, n


def _cells(district: np.ndarray) -> _Cells:
    shape = district.shape
    return _Cells(
        cause=np.zeros(shape, np.int8),
        latency=np.full(shape, np.inf),
        weight={},
        district=district.astype(np.int32),
    )


@pytest.mark.parametrize("seed", range(12))
def test_labels_match_the_whole_grid_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(5, 60, size=2)
    # Districts as blocky patches (some split in two), some cells in none (-1).
    coarse = rng.integers(-1, 6, size=(4, 4))
    district = np.kron(coarse, np.ones((rows // 4 + 1, cols // 4 + 1), int))[:rows, :cols]
    mask = rng.random((rows, cols)) < rng.uniform(0.1, 0.9)
    got, n = _district_labels(_cells(district), mask)
    want, m = _reference(district, mask)
    assert n == m
    np.testing.assert_array_equal(got, want)


def test_a_district_in_two_pieces_and_an_empty_mask_by_hand() -> None:
    district = np.array([[0, 0, 1, 0], [0, 1, 1, 0], [-1, -1, 1, 0]])
    mask = np.array([[1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]], dtype=bool)
    got, n = _district_labels(_cells(district), mask)
    # District -1 first: {(2,0),(2,1)} is 1. District 0: {(0,0),(1,0)} is 2, {(0,3),(1,3)}
    # is 3 ((0,1) is not in the mask). District 1: (0,2), (1,1) and (2,2) touch no other cell
    # of it in the mask ((1,2) is not): 4, 5 and 6 in row-major order.
    want = np.array([[2, 0, 4, 3], [2, 5, 0, 3], [1, 1, 6, 0]])
    assert n == 6
    np.testing.assert_array_equal(got, want)
    none, k = _district_labels(_cells(district), np.zeros_like(mask))
    assert k == 0
    assert not none.any()
