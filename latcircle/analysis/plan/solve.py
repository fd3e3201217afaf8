"""The planner's solvers: staged partial set covering, maximal covering, lazy greedy.

Pure arrays in, arrays out (no metro, no files), so that they can be checked against brute
force on small random instances. An instance is a list of :class:`Stage` (one per target
year, in year order) over the same builds (columns):

* ``matrix``: groups of demand points × builds, 1 where the build brings the group within the
  budget (groups are demand points with the same covering builds, weights summed);
* ``need``: weight the builds must add to reach the stage's target;
* ``allowed``: builds that may exist by the stage's year (``earliest_year``).

A build made for an earlier stage stays (``x[s] ≤ x[s+1]``) and is paid once.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

__all__ = [
    "Solution",
    "Stage",
    "greedy",
    "max_cover",
    "min_cost",
]

#: Slack on a stage's need (in share of its total weight): floating-point only.
NEED_TOLERANCE = 1e-9
#: HiGHS stops when its relative gap is below this (its default, 1e-4, would leave 0.01 %).
MIP_REL_GAP = 1e-9
#: Margin (relative to the greedy's cost) before reduced-cost fixing leaves a build out.
PRUNE_MARGIN = 1e-6
#: Weight of cost in maximal covering, relative to the total weight: breaks ties only.
TIE_BREAK = 1e-9


@dataclass(frozen=True)
class Stage:
    """One target year of an instance.

    Attributes
    ----------
    matrix
        Groups × builds, 0/1 (any scipy sparse format).
    weight
        Weight of each group.
    need
        Weight the builds must cover (≤ 0: the target is met without building).
    allowed
        Builds that may exist by this stage.
    total
        The basis's total weight (for the tolerance).
    """

    matrix: sp.spmatrix
    weight: np.ndarray
    need: float
    allowed: np.ndarray
    total: float

    @property
    def tol(self) -> float:
        """Weight the need may be missed by (floating-point slack)."""
        return NEED_TOLERANCE * self.total


@dataclass(frozen=True)
class Solution:
    """A staged plan.

    Attributes
    ----------
    built
        Per stage, the builds existing by then (nested).
    cost
        Total cost of the last stage's builds.
    feasible
        Whether every stage's need is met.
    lower_bound
        A proven lower bound on the optimal cost (``nan`` when none).
    optimal
        Whether the solver proved optimality.
    solver
        ``milp``, ``greedy`` or ``lp``.
    """

    built: list[np.ndarray]
    cost: float
    feasible: bool
    lower_bound: float
    optimal: bool
    solver: str
    #: HiGHS's status (2: proven infeasible, 1: stopped at a limit); -1 for the greedy.
    status: int = -1

    @property
    def gap(self) -> float:
        """Relative optimality gap ``(cost − bound) / cost`` (0 for a free plan)."""
        if not self.feasible or np.isnan(self.lower_bound):
            return float("nan")
        if self.cost <= 0:
            return 0.0
        return max(0.0, (self.cost - self.lower_bound) / self.cost)


def covered_weight(stage: Stage, built: np.ndarray) -> float:
    """Return the weight a set of builds covers in a stage."""
    hit = np.asarray(stage.matrix.tocsr() @ built.astype(float)).ravel() > 0
    return float(stage.weight[hit].sum())


def min_cost(
    stages: list[Stage],
    cost: np.ndarray,
    *,
    max_builds: int | None = None,
    max_cost: float | None = None,
    time_limit_s: float = 30.0,
    relax: bool = False,
) -> Solution:
    """Solve the staged partial set-covering problem with HiGHS (``scipy.optimize.milp``).

    Parameters
    ----------
    stages
        The instance.
    cost
        Cost of each build.
    max_builds, max_cost
        Optional limits on the last stage's builds.
    time_limit_s
        HiGHS time limit; the best plan found so far is returned with its bound.
    relax
        Solve the LP relaxation instead (its optimum is a lower bound).

    Returns
    -------
    Solution
        ``feasible`` false when HiGHS found no plan (infeasible or out of time).
    """
    nb = len(cost)
    keep, ub = (
        _pruned(stages, cost, max_builds, max_cost) if not relax else (np.ones(nb, bool), np.inf)
    )
    if not keep.any():  # every build costs more than the greedy's plan: that plan is empty
        ok = all(st.need <= st.tol for st in stages)
        return Solution([np.zeros(nb, bool) for _ in stages], 0.0, ok, 0.0, ok, "milp", 0)
    sub = _sub_stages(stages, keep)
    c, cons, lo, hi, integ, x_at = _model(sub, cost[keep], max_builds, max_cost)
    res = milp(
        c,
        constraints=cons,
        bounds=Bounds(lo, hi),
        integrality=np.zeros_like(integ) if relax else integ,
        options={"time_limit": time_limit_s, "presolve": True, "mip_rel_gap": MIP_REL_GAP},
    )
    if res.x is None:
        none = [np.zeros(nb, bool) for _ in stages]
        return Solution(none, np.nan, False, np.nan, False, "milp", int(res.status))
    built = []
    for a in x_at:
        b = np.zeros(nb, bool)
        b[keep] = res.x[a : a + int(keep.sum())] > 0.5
        built.append(b)
    if relax:
        fun = float(res.fun)
        return Solution(built, fun, True, fun, res.status == 0, "lp", int(res.status))
    bound = getattr(res, "mip_dual_bound", None)
    bound = float(bound) if bound is not None and np.isfinite(bound) else np.nan
    bound = min(bound, ub)  # plans using a pruned build cost more than ub (see _pruned)
    built = _defer(stages, cost, built, time_limit_s)
    sol_cost = float(cost[built[-1]].sum()) if stages else 0.0
    return Solution(built, sol_cost, True, bound, res.status == 0, "milp", int(res.status))


def _pruned(
    stages: list[Stage], cost: np.ndarray, max_builds: int | None, max_cost: float | None
) -> tuple[np.ndarray, float]:
    """Return the builds that can be in an optimal plan (reduced-cost fixing), and the bound.

    With the LP relaxation's optimum ``z`` and a build's reduced cost ``d`` (its last-stage
    variable at 0), any plan building it costs at least ``z + d``. The greedy's plan costs
    ``ub``; a build with ``z + d > ub`` (with a margin for the LP's tolerances) is in no
    plan as cheap as the greedy's, so in no optimal plan: it is left out of the MILP.
    """
    nb = len(cost)
    every = np.ones(nb, bool)
    if nb == 0 or not stages:
        return every, np.inf
    gr = greedy(stages, cost, max_builds=max_builds, max_cost=max_cost)
    if not gr.feasible:
        return every, np.inf
    c, cons, lo, hi, _, x_at = _model(stages, cost, max_builds, max_cost)
    a, lb, ub = cons[0].A, cons[0].lb, cons[0].ub
    fu, fl = np.isfinite(ub), np.isfinite(lb)
    res = linprog(
        c,
        A_ub=sp.vstack([a[fu], -a[fl]]).tocsr(),
        b_ub=np.r_[ub[fu], -lb[fl]],
        bounds=np.column_stack([lo, hi]),
        method="highs",
    )
    if res.status != 0 or res.x is None:
        return every, gr.cost
    last = slice(x_at[-1], x_at[-1] + nb)
    d = np.asarray(res.lower.marginals)[last]
    margin = PRUNE_MARGIN * max(1.0, abs(gr.cost))
    out = ~((res.x[last] < 1e-9) & (float(res.fun) + d > gr.cost + margin))
    return out, gr.cost


def _sub_stages(stages: list[Stage], keep: np.ndarray) -> list[Stage]:
    """Return the stages over the kept builds only (rows no kept build covers left out)."""
    if keep.all():
        return stages
    out = []
    for st in stages:
        m = sp.csr_matrix(st.matrix, dtype=bool)[:, keep]
        rows = np.flatnonzero(np.diff(m.indptr) > 0)
        out.append(Stage(m[rows], st.weight[rows], st.need, st.allowed[keep], st.total))
    return out


def _defer(
    stages: list[Stage], cost: np.ndarray, built: list[np.ndarray], time_limit_s: float
) -> list[np.ndarray]:
    """Keep the last stage's builds; build as little of them as possible in earlier stages.

    The total cost does not depend on when a build is made, so the first solve may build
    early what only a later target needs. A second, small solve over the last stage's
    builds only (they are fixed) minimises the cost spent by each earlier stage.
    """
    if len(stages) < 2:
        return built
    nb = len(cost)
    c, cons, lo, hi, integ, x_at = _model(stages, cost, None, None)
    c[:] = 0.0
    for s, a in enumerate(x_at):
        hi[a : a + nb] = np.minimum(hi[a : a + nb], built[-1])
        if s + 1 < len(stages):
            c[a : a + nb] = cost
    lo[x_at[-1] : x_at[-1] + nb] = built[-1]
    res = milp(
        c,
        constraints=cons,
        bounds=Bounds(lo, hi),
        integrality=integ,
        options={"time_limit": time_limit_s, "mip_rel_gap": MIP_REL_GAP},
    )
    if res.x is None:
        return built
    return [res.x[a : a + nb] > 0.5 for a in x_at]


def _model(
    stages: list[Stage],
    cost: np.ndarray,
    max_builds: int | None,
    max_cost: float | None,
) -> tuple[np.ndarray, list[LinearConstraint], np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Variables per stage: ``x`` (builds, binary) then ``z`` (groups covered, [0, 1])."""
    nb = len(cost)
    x_at, z_at, n = [], [], 0
    for st in stages:
        x_at.append(n)
        z_at.append(n + nb)
        n += nb + st.matrix.shape[0]
    c = np.zeros(n)
    lo, hi, integ = np.zeros(n), np.ones(n), np.zeros(n)
    blocks: list[sp.spmatrix] = []
    lbs: list[np.ndarray] = []
    ubs: list[np.ndarray] = []

    def row(cols: dict[int, sp.spmatrix], lb: np.ndarray, ub: np.ndarray) -> None:
        m = cols[next(iter(cols))].shape[0]
        out = sp.hstack(
            [
                cols.get(start, sp.csr_matrix((m, width)))
                for start, width in _layout(x_at, z_at, nb, stages)
            ],
            format="csr",
        )
        blocks.append(out)
        lbs.append(lb)
        ubs.append(ub)

    for s, st in enumerate(stages):
        integ[x_at[s] : x_at[s] + nb] = 1
        hi[x_at[s] : x_at[s] + nb] = st.allowed.astype(float)
        ng = st.matrix.shape[0]
        if ng:
            # z_g − Σ_j M_gj x_j ≤ 0: a group counts only when some built build covers it.
            row(
                {x_at[s]: -sp.csr_matrix(st.matrix, dtype=float), z_at[s]: sp.identity(ng)},
                np.full(ng, -np.inf),
                np.zeros(ng),
            )
        if st.need > 0:
            row(
                {z_at[s]: sp.csr_matrix(st.weight.reshape(1, -1))},
                np.array([st.need - st.tol]),
                np.array([np.inf]),
            )
        if s + 1 < len(stages):
            row(
                {x_at[s]: sp.identity(nb), x_at[s + 1]: -sp.identity(nb)},
                np.full(nb, -np.inf),
                np.zeros(nb),
            )
    last = x_at[-1]
    c[last : last + nb] = cost
    if max_builds is not None:
        row({last: sp.csr_matrix(np.ones((1, nb)))}, np.array([-np.inf]), np.array([max_builds]))
    if max_cost is not None:
        row({last: sp.csr_matrix(cost.reshape(1, -1))}, np.array([-np.inf]), np.array([max_cost]))
    if not blocks:  # nothing to constrain: one empty row keeps the model well formed
        blocks, lbs, ubs = [sp.csr_matrix((1, n))], [np.array([-np.inf])], [np.array([0.0])]
    cons = [
        LinearConstraint(sp.vstack(blocks, format="csr"), np.concatenate(lbs), np.concatenate(ubs))
    ]
    return c, cons, lo, hi, integ, x_at


def _layout(
    x_at: list[int], z_at: list[int], nb: int, stages: list[Stage]
) -> list[tuple[int, int]]:
    """(start, width) of every variable block, in order; empty blocks left out.

    A stage with no group has a ``z`` block of width 0 that starts where the next stage's
    ``x`` block starts: keeping it would hand that start's columns to both.
    """
    out = []
    for s, st in enumerate(stages):
        out.append((x_at[s], nb))
        if st.matrix.shape[0]:
            out.append((z_at[s], st.matrix.shape[0]))
    return out


def max_cover(
    stage: Stage,
    cost: np.ndarray,
    *,
    max_builds: int | None = None,
    max_cost: float | None = None,
    time_limit_s: float = 30.0,
    cheapest: bool = True,
    prune: bool = True,
) -> tuple[np.ndarray, float, bool]:
    """Return the builds covering the most weight within the limits (maximal covering).

    Parameters
    ----------
    stage
        One stage (``need`` is ignored).
    cost
        Cost of each build.
    max_builds, max_cost
        Limits on the number and the cost of builds.
    time_limit_s
        HiGHS time limit.
    cheapest
        Of the plans covering the most weight, return the cheapest (a second solve).
    prune
        Leave out, before solving, builds in no best cover (reduced-cost fixing against the
        greedy's cover, :func:`_cover_keep`); with ``max_builds`` only.

    Returns
    -------
    built, weight, optimal
        The builds, the weight they cover, and whether HiGHS proved it optimal.
    """
    nb = len(cost)
    ng = stage.matrix.shape[0]
    if ng == 0:
        return np.zeros(nb, bool), 0.0, True
    if prune and max_builds is not None and max_cost is None and nb > max_builds:
        keep = _cover_keep(stage, max_builds)
        if not keep.all():
            sub = _sub_stages([stage], keep)[0]
            got, _, optimal = max_cover(
                sub,
                cost[keep],
                max_builds=max_builds,
                time_limit_s=time_limit_s,
                cheapest=cheapest,  # and prune again: the smaller LP fixes more (faster)
            )
            built = np.zeros(nb, bool)
            built[keep] = got
            return built, covered_weight(stage, built), optimal
    # Ties in weight go to the cheaper builds: a cost term far below any real weight
    # difference (at most TIE_BREAK of the total weight over every build).
    tie = TIE_BREAK * float(stage.weight.sum()) / max(float(np.abs(cost).sum()), 1.0)
    c = np.concatenate([tie * cost, -stage.weight])
    cons = _cover_constraints(stage, cost, max_builds, max_cost)
    hi = np.concatenate([stage.allowed.astype(float), np.ones(ng)])
    integ = np.concatenate([np.ones(nb), np.zeros(ng)])
    res = milp(
        c,
        constraints=cons,
        bounds=Bounds(0, hi),
        integrality=integ,
        options={"time_limit": time_limit_s, "mip_rel_gap": MIP_REL_GAP},
    )
    if res.x is None:
        return np.zeros(nb, bool), 0.0, False
    built = res.x[:nb] > 0.5
    best = covered_weight(stage, built)
    if cheapest and built.any():
        built = _cheapest_with(stage, cost, c, cons, hi, integ, best, built, time_limit_s)
    return built, covered_weight(stage, built), res.status == 0


def _cover_constraints(
    stage: Stage, cost: np.ndarray, max_builds: int | None, max_cost: float | None
) -> list[LinearConstraint]:
    """Return the maximal-covering constraints over (builds, covered points).

    A point counts only when a chosen build covers it; then the limits on builds and cost.
    """
    ng, nb = stage.matrix.shape[0], len(cost)
    m = sp.hstack([-sp.csr_matrix(stage.matrix, dtype=float), sp.identity(ng)], format="csr")
    cons = [LinearConstraint(m, -np.inf, 0.0)]
    if max_builds is not None:
        cons.append(
            LinearConstraint(
                sp.hstack([sp.csr_matrix(np.ones((1, nb))), sp.csr_matrix((1, ng))]),
                -np.inf,
                max_builds,
            )
        )
    if max_cost is not None:
        cons.append(
            LinearConstraint(
                sp.hstack([sp.csr_matrix(cost.reshape(1, -1)), sp.csr_matrix((1, ng))]),
                -np.inf,
                max_cost,
            )
        )
    return cons


def _cover_keep(stage: Stage, k: int) -> np.ndarray:
    """Return the builds that can be in a best cover of at most ``k`` (reduced-cost fixing).

    The greedy's ``k`` builds cover ``wg``; with the LP relaxation's best weight ``V`` and a
    build's reduced cost ``d`` (at 0 in the LP), any cover using it weighs at most
    ``V − d``. A build with ``V − d < wg`` (with a margin for the LP's tolerances) is in no
    cover as good as the greedy's, so in no best cover (nor in the cheapest of them).
    """
    nb, ng = stage.matrix.shape[1], stage.matrix.shape[0]
    every = np.ones(nb, bool)
    csc = sp.csc_matrix(stage.matrix, dtype=bool)
    covered = np.zeros(ng, bool)
    wg = 0.0
    for _ in range(k):  # plain greedy: the lower bound
        gain = np.asarray(
            sp.csc_matrix(csc.multiply((~covered).reshape(-1, 1))).T @ stage.weight
        ).ravel()
        gain[~stage.allowed] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        covered |= np.asarray(csc[:, j].todense()).ravel()
        wg += float(gain[j])
    m = sp.hstack([-sp.csr_matrix(stage.matrix, dtype=float), sp.identity(ng)], format="csr")
    a = sp.vstack([m, sp.hstack([sp.csr_matrix(np.ones((1, nb))), sp.csr_matrix((1, ng))])])
    res = linprog(
        np.concatenate([np.zeros(nb), -stage.weight]),
        A_ub=a.tocsr(),
        b_ub=np.r_[np.zeros(ng), k],
        bounds=np.column_stack(
            [np.zeros(nb + ng), np.r_[stage.allowed.astype(float), np.ones(ng)]]
        ),
        method="highs",
    )
    if res.status != 0 or res.x is None:
        return every
    value = -float(res.fun)
    d = np.asarray(res.lower.marginals)[:nb]
    margin = PRUNE_MARGIN * max(1.0, wg)
    return ~((res.x[:nb] < 1e-9) & (value - d < wg - margin)) & stage.allowed


def _cheapest_with(
    stage: Stage,
    cost: np.ndarray,
    c: np.ndarray,
    cons: list[LinearConstraint],
    hi: np.ndarray,
    integ: np.ndarray,
    weight: float,
    built: np.ndarray,
    time_limit_s: float,
) -> np.ndarray:
    """Second, lexicographic solve: the cheapest builds covering ``weight`` within the limits.

    The tie-break term of the first solve lies below HiGHS's tolerances; this solve makes
    "ties go to the cheaper builds" true (a plan of equal coverage and lower cost wins).
    """
    nb, ng = len(cost), stage.matrix.shape[0]
    obj = np.concatenate([cost, np.zeros(ng)])
    cover = LinearConstraint(
        sp.hstack([sp.csr_matrix((1, nb)), sp.csr_matrix(stage.weight.reshape(1, -1))]),
        weight - stage.tol,
        np.inf,
    )
    res = milp(
        obj,
        constraints=[*cons, cover],
        bounds=Bounds(0, hi),
        integrality=integ,
        options={"time_limit": time_limit_s, "mip_rel_gap": MIP_REL_GAP},
    )
    if res.x is None:
        return built
    second = res.x[:nb] > 0.5
    if covered_weight(stage, second) < weight - stage.tol or cost[second].sum() > cost[built].sum():
        return built
    return second


def greedy(
    stages: list[Stage],
    cost: np.ndarray,
    *,
    max_builds: int | None = None,
    max_cost: float | None = None,
) -> Solution:
    """Lazy greedy (coverage is submodular), stage by stage, then a reverse-delete pass.

    Each step takes the allowed build with the most newly covered weight per unit cost;
    stale gains are kept in a heap and recomputed only when they reach its top (a gain can
    only shrink as more is covered). Builds of a stage that turn out unnecessary once the
    stage's need is met are dropped again, most expensive first.

    Parameters
    ----------
    stages
        The instance.
    cost
        Cost of each build.
    max_builds, max_cost
        Limits on the last stage's builds; the plan is infeasible when they stop it.

    Returns
    -------
    Solution
        ``lower_bound`` is ``nan`` (see :func:`min_cost` with ``relax=True``).
    """
    nb = len(cost)
    built = np.zeros(nb, bool)
    out: list[np.ndarray] = []
    feasible = True
    for st in stages:
        new, ok = _greedy_stage(st, cost, built)
        built = built | new
        ok &= max_builds is None or int(built.sum()) <= max_builds
        ok &= max_cost is None or float(cost[built].sum()) <= max_cost + 1e-9
        feasible &= ok
        out.append(built.copy())
    return Solution(out, float(cost[built].sum()), feasible, np.nan, False, "greedy")


def _greedy_stage(st: Stage, cost: np.ndarray, built: np.ndarray) -> tuple[np.ndarray, bool]:
    csc = sp.csc_matrix(st.matrix, dtype=float)
    csr = csc.tocsr()
    covered = np.asarray(csr @ built.astype(float)).ravel() > 0
    got = float(st.weight[covered].sum())
    target = st.need - st.tol
    new = np.zeros(len(cost), bool)
    if got >= target:
        return new, True

    def gain(j: int) -> float:
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        return float(st.weight[rows[~covered[rows]]].sum())

    heap: list[tuple[float, int]] = []
    for col in np.flatnonzero(st.allowed & ~built).tolist():
        g = gain(col)
        if g > 0:
            heap.append((-_ratio(g, float(cost[col])), col))
    heapq.heapify(heap)
    while got < target and heap:
        _, j = heapq.heappop(heap)
        g = gain(j)
        if g <= 0:
            continue
        r = _ratio(g, float(cost[j]))
        if heap and -heap[0][0] > r:
            heapq.heappush(heap, (-r, j))  # stale: someone else is better now
            continue
        new[j] = True
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        covered[rows] = True
        got += g
    if got < target:
        return new, False
    return _reverse_delete(st, csr, cost, built, new, target), True


def _reverse_delete(
    st: Stage,
    csr: sp.csr_matrix,
    cost: np.ndarray,
    built: np.ndarray,
    new: np.ndarray,
    target: float,
) -> np.ndarray:
    for j in sorted(np.flatnonzero(new), key=lambda j: (-cost[j], -j)):
        trial = new.copy()
        trial[j] = False
        hit = np.asarray(csr @ (built | trial).astype(float)).ravel() > 0
        if float(st.weight[hit].sum()) >= target:
            new = trial
    return new


def _ratio(gain: float, cost: float) -> float:
    return np.inf if cost <= 0 else gain / cost
