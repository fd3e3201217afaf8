"""Clusters never cross a district boundary, and are numbered district by district.

``_district_labels`` labels each district inside its bounding box; the reference is the
plain way, one 4-connected labelling of the whole grid per district, and a hand-made case.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from latcircle.analysis.clusters import _Cells, _district_boxes, _district_labels

_FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def _cells(district: np.ndarray, *, boxes: bool = False) -> _Cells:
    """Cells of ``district``; ``boxes``: with the district boxes found beforehand (as a run)."""
    zeros = np.zeros(district.shape)
    found = _district_boxes(district) if boxes else None
    return _Cells(
        cause=zeros.astype("int8"), latency=zeros, weight={}, district=district, boxes=found
    )


def _whole_grid(district: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
    labels = np.zeros(mask.shape, dtype=np.int64)
    n = 0
    for d in np.unique(district[mask]):
        part, k = ndimage.label(mask & (district == d), structure=_FOUR)
        labels[part > 0] = part[part > 0] + n
        n += k
    return labels, n


def test_a_cluster_on_a_boundary_is_split_and_numbered_by_district() -> None:
    district = np.array(
        [
            [-1, 0, 0, 1],
            [0, 0, 1, 1],
            [2, 2, 1, 1],
        ],
        dtype="int32",
    )
    mask = np.array(
        [
            [True, True, False, True],
            [False, True, True, False],
            [True, False, True, True],
        ]
    )
    labels, n = _district_labels(_cells(district), mask)
    # district -1 first (one cell), then 0, 1 (two pieces: top right, and the rest), 2.
    assert n == 5
    assert labels.tolist() == [
        [1, 2, 0, 3],
        [0, 2, 4, 0],
        [5, 0, 4, 4],
    ]


@pytest.mark.parametrize("boxes", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_the_same_labels_as_one_whole_grid_pass_per_district(seed: int, boxes: bool) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
    # Blocky districts (so they have real bounding boxes) with holes of -1 (no district).
    coarse = rng.integers(-1, 6, size=(shape[0] // 4 + 1, shape[1] // 4 + 1))
    district = np.kron(coarse, np.ones((4, 4), dtype=int))[: shape[0], : shape[1]]
    district = district.astype("int32")
    mask = rng.random(shape) < rng.uniform(0.0, 0.8)
    labels, n = _district_labels(_cells(district, boxes=boxes), mask)
    ref, ref_n = _whole_grid(district, mask)
    assert n == ref_n
    assert np.array_equal(labels, ref)


def test_no_masked_cell_no_cluster() -> None:
    district = np.zeros((3, 3), dtype="int32")
    labels, n = _district_labels(_cells(district), np.zeros((3, 3), bool))
    assert n == 0 and not labels.any()
