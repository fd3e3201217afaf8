"""Coverage sets held grouped: demand points covered by the same builds are one row.

The demo's sets (seed 7, population) are about 150 million (point, build) entries per stage
year, 361,328 points × 1,283 builds, yet only a few hundred distinct rows: every site there
covers nearly every point with access. The sets are therefore built grouped from the start
(:class:`Refinement`, a partition refinement: the points are split by each build's set as it
is computed) and never held one row per point.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["Refinement", "expand", "pair_groups"]


class Refinement:
    """Points split by the builds that cover them, one build at a time (exact).

    Every point carries a label; a label below ``n_base`` is a base group (its set given to
    :meth:`groups`), a label above is a node ``(parent, build)``: its parent's set plus that
    build. :meth:`split` gives the points a build covers new labels, one per label they had,
    so two points share a label exactly when the same builds (so far) cover them.

    Parameters
    ----------
    label
        Each point's base group (copied).
    n_base
        Number of base groups.
    """

    def __init__(self, label: np.ndarray, n_base: int) -> None:
        self.label = np.array(label, dtype=np.int64)
        self.n_base = n_base
        self._next = n_base
        self._parent: list[np.ndarray] = []
        self._col: list[np.ndarray] = []
        self._mark = np.zeros(max(2 * n_base, 64), np.int64)

    def split(self, hit: np.ndarray, col: int) -> None:
        """Record that build ``col`` covers the points ``hit`` (indices, no repeats)."""
        if len(hit) == 0:
            return
        lab = self.label[hit]
        if len(self._mark) < self._next + len(hit):
            self._mark = np.zeros(2 * (self._next + len(hit)), np.int64)
        pos = np.arange(len(lab))
        # One representative per label among the hit points, in O(len(hit)): the last point
        # written for a label is the one that reads its own position back.
        self._mark[lab] = pos
        old = lab[self._mark[lab] == pos]
        self._mark[old] = self._next + np.arange(len(old))
        self.label[hit] = self._mark[lab]
        self._parent.append(old)
        self._col.append(np.full(len(old), col, np.int64))
        self._next += len(old)

    def groups(self, base: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
        """Return each point's group and the groups' sets (bool CSR, sorted indices).

        Parameters
        ----------
        base
            The base groups' sets (``n_base`` rows; its columns are the builds).
        """
        used, group_of = np.unique(self.label, return_inverse=True)
        parent = np.concatenate([*self._parent, np.zeros(0, np.int64)])
        col = np.concatenate([*self._col, np.zeros(0, np.int64)])
        node, owner = used.copy(), np.arange(len(used))
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        while True:  # up each label's chain to its base group, one level for all at once
            up = np.flatnonzero(node >= self.n_base)
            if len(up) == 0:
                break
            k = node[up] - self.n_base
            rows.append(owner[up])
            cols.append(col[k])
            node[up] = parent[k]
        b = sp.csr_matrix(base[node], dtype=bool).tocoo()
        r = np.concatenate([b.row, *rows]).astype(np.int64)
        c = np.concatenate([b.col, *cols]).astype(np.int64)
        sets = sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(len(used), base.shape[1]))
        sets.sum_duplicates()
        sets.sort_indices()
        return group_of.ravel().astype(np.int64), sets


def pair_groups(
    first: np.ndarray, second: np.ndarray, a: sp.csr_matrix, b: sp.csr_matrix
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Group points by a pair of groupings: the sets are the union of the two groups' sets.

    Parameters
    ----------
    first, second
        Each point's group in ``a`` and in ``b``.
    a, b
        The two groupings' sets (the same columns).
    """
    key = first.astype(np.int64) * b.shape[0] + second
    used, group_of = np.unique(key, return_inverse=True)
    sets = sp.csr_matrix(a[used // b.shape[0]], dtype=bool) + sp.csr_matrix(
        b[used % b.shape[0]], dtype=bool
    )
    sets = sp.csr_matrix(sets, dtype=bool)
    sets.eliminate_zeros()
    sets.sort_indices()
    return group_of.ravel().astype(np.int64), sets


def expand(sets: sp.csr_matrix, group_of: np.ndarray) -> sp.csc_matrix:
    """Return the sets one row per point (what the grouped form stands for)."""
    return sp.csr_matrix(sets, dtype=bool)[group_of].tocsc()
