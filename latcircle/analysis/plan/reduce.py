"""Make a planning instance small without changing its optimum: equal builds, equal rows.

* **Equivalent builds**: builds with the same coverage set in every stage and the same
  ``allowed`` pattern are interchangeable in every plan. Only the cheapest of each class
  (then the lowest index) enters the model, so a tie in what builds cover goes to the
  cheaper build exactly, not through a tie-break weight below the solver's tolerances.
  Builds that cover nothing in any stage are left out (they can only add cost).
* **Equal rows**: demand points covered by the same builds are one row, weights summed.

Both are exact: every plan of the full instance maps to a plan of the reduced one of no
greater cost and the same coverage, and back. The classes are the plan's *alternatives*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from latcircle.analysis.plan import solve as solvers

__all__ = ["Reduced", "group_rows", "group_rows_of", "reduce_builds"]


@dataclass(frozen=True)
class Reduced:
    """A reduced instance and the way back.

    Attributes
    ----------
    stages
        The stages over the kept builds, rows grouped again.
    keep
        Indices (into the full builds) of the kept builds, increasing.
    cost
        Their costs.
    cls
        Per full build, its class (index into ``keep``); -1 for a build covering nothing.
    """

    stages: list[solvers.Stage]
    keep: np.ndarray
    cost: np.ndarray
    cls: np.ndarray

    def expand(self, built: np.ndarray) -> np.ndarray:
        """Map a kept-builds mask back to the full builds."""
        out = np.zeros(len(self.cls), bool)
        out[self.keep[built]] = True
        return out

    def solution(self, sol: solvers.Solution) -> solvers.Solution:
        """Map a solution of the reduced instance back to the full builds."""
        import dataclasses

        return dataclasses.replace(sol, built=[self.expand(b) for b in sol.built])


def reduce_builds(stages: list[solvers.Stage], cost: np.ndarray) -> Reduced:
    """Keep the cheapest build of each class of equivalent builds; drop empty ones.

    Parameters
    ----------
    stages
        The instance (same builds in every stage).
    cost
        Cost of each build.
    """
    nb = len(cost)
    cols = [sp.csc_matrix(st.matrix, dtype=bool) for st in stages]
    nnz = np.sum([np.diff(c.indptr) for c in cols], axis=0) if cols else np.zeros(nb)
    rng = np.random.default_rng(0)
    keys = [np.asarray(nnz, float).reshape(-1, 1)]
    for c, st in zip(cols, stages, strict=True):
        r = rng.random((c.shape[0], 2))
        keys.append(np.asarray(c.T.astype(float) @ r).reshape(nb, 2))
        keys.append(st.allowed.astype(float).reshape(-1, 1))
    key = np.hstack(keys)
    live = np.flatnonzero(nnz > 0)
    cls = np.full(nb, -1, np.int64)
    if len(live) == 0:
        empty = [
            solvers.Stage(
                sp.csr_matrix((0, 0), dtype=bool), np.zeros(0), st.need, np.zeros(0, bool), st.total
            )
            for st in stages
        ]
        return Reduced(empty, np.zeros(0, np.int64), np.zeros(0), cls)
    # Cheapest first (then lowest index): the first of each key is the class's build.
    order = live[np.lexsort((live, cost[live]))]
    _, first, inv = np.unique(key[order], axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep = order[first][inv]  # per ordered build, its representative
    for c in cols:  # exact check: a class's builds cover the very same rows
        if (c[:, order] != c[:, rep]).nnz:
            rep = order  # a collision of the random keys: no merging (still exact)
            break
    keep = np.unique(rep)
    cls[order] = np.searchsorted(keep, rep)
    red = []
    for c, st in zip(cols, stages, strict=True):
        m, w = group_rows(c[:, keep].tocsr(), st.weight)
        red.append(solvers.Stage(m, w, st.need, st.allowed[keep], st.total))
    return Reduced(red, keep, cost[keep], cls)


def group_rows(m: sp.csr_matrix, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Merge rows with the same covering builds (weights summed); drop rows none covers."""
    m = sp.csr_matrix(m)
    m.sort_indices()
    nnz = np.diff(m.indptr)
    keep = np.flatnonzero(nnz > 0)
    if len(keep) == 0:
        return sp.csr_matrix((0, m.shape[1]), dtype=bool), np.zeros(0)
    # A random projection identifies a row's set of columns (two different sets with the
    # same sum of random weights are vanishingly unlikely); every row is then compared
    # exactly with its key's first row, and a collision leaves the rows ungrouped.
    rng = np.random.default_rng(0)
    r = rng.random(m.shape[1]) + 1.0
    # The kept rows, copied once (not at all when every row is kept: the sets are large).
    sub = m if len(keep) == m.shape[0] else m[keep]
    key = np.asarray(sub.astype(float) @ r).ravel()
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    inv = inv.ravel()
    reps = keep[first]
    rep_rows = sub[first]
    if (sub != rep_rows[inv]).nnz:
        return sub.astype(bool), w[keep]  # a collision: keep the rows ungrouped (exact)
    return rep_rows.astype(bool).tocsr(), np.bincount(inv, weights=w[keep])[: len(reps)]


def group_rows_of(
    sets: sp.csr_matrix, label: np.ndarray, w: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray]:
    """:func:`group_rows` of ``sets[label]`` (rows of grouped sets), without expanding them.

    The same answer, bit for bit: the same keys (each set's row of ``sets`` holds the same
    sorted columns as the rows it stands for), so the same order of the groups, and each
    group's weight summed over its rows in row order. ``sets`` has sorted indices; two of
    its rows may hold the same set (they are merged, as equal rows are).
    """
    nnz = np.diff(sets.indptr)
    keep = np.flatnonzero(nnz[label] > 0)
    if len(keep) == 0:
        return sp.csr_matrix((0, sets.shape[1]), dtype=bool), np.zeros(0)
    used, at = np.unique(label[keep], return_inverse=True)
    sub = sp.csr_matrix(sets[used], dtype=bool)
    rng = np.random.default_rng(0)
    r = rng.random(sets.shape[1]) + 1.0
    key = np.asarray(sub.astype(float) @ r).ravel()
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep_rows = sub[first]
    if (sub != rep_rows[inv]).nnz:  # a collision: the rows ungrouped, as group_rows does
        return sp.csr_matrix(sets[label[keep]], dtype=bool), w[keep]
    return rep_rows.astype(bool).tocsr(), np.bincount(inv[at.ravel()], weights=w[keep])[
        : len(first)
    ]
