"""The planner's grouped coverage sets (session round 12) against brute force and the engine.

* :class:`Refinement` groups exactly the equal rows of a matrix built column by column;
* :func:`group_rows_of` gives :func:`group_rows` of the expanded rows, bit for bit;
* the site shortcut (``sitesets._Shortcut``) agrees with the engine's own latencies, with a
  sample exactly ON the budget (covered, the shortcut taken) and one ulp below it (not
  covered, the shortcut refused).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
import shapely

from latcircle.analysis.coverage import covered
from latcircle.analysis.plan.core import CoverageSets
from latcircle.analysis.plan.groups import Refinement, expand, pair_groups
from latcircle.analysis.plan.reduce import group_rows, group_rows_of
from latcircle.analysis.plan.sitesets import _Shortcut
from latcircle.analysis.plan.verify import _without_failed
from latcircle.config import LatencyModel
from latcircle.engine.latency import arc_matrix, attach_sites, solve
from latcircle.engine.locator import Locator
from latcircle.engine.network import Network


def _random_sets(rng: np.random.Generator, n_rows: int, n_cols: int) -> np.ndarray:
    """A boolean matrix with few distinct rows (as coverage sets are), some empty."""
    kinds = rng.random((12, n_cols)) < 0.3
    kinds[0] = False  # an empty set
    return kinds[rng.integers(0, len(kinds), n_rows)] ^ (rng.random((n_rows, n_cols)) < 0.01)


@pytest.mark.parametrize("seed", range(5))
def test_refinement_groups_exactly_the_equal_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dense = _random_sets(rng, 400, 25)
    refine = Refinement(np.zeros(400, np.int64), 1)
    for j in range(dense.shape[1]):
        refine.split(np.flatnonzero(dense[:, j]), j)
    group_of, sets = refine.groups(sp.csr_matrix((1, 25), dtype=bool))
    assert sets.has_sorted_indices
    assert (expand(sets, group_of).toarray() == dense).all()
    # Brute force: two rows share a group exactly when they are equal.
    same_group = group_of[:, None] == group_of[None, :]
    same_row = (dense[:, None, :] == dense[None, :, :]).all(axis=2)
    assert (same_group == same_row).all()


def test_refinement_on_base_groups_and_pairs() -> None:
    """Splitting given base groups, and pairing two groupings, keep every row's set."""
    rng = np.random.default_rng(11)
    left = _random_sets(rng, 300, 10)
    right = _random_sets(rng, 300, 6)
    whole = np.hstack([left, right])
    # Base groups: the rows of ``left`` grouped by brute force (first occurrence order).
    _, base_of = np.unique(left, axis=0, return_inverse=True)
    base_of = base_of.ravel()
    base = np.zeros((base_of.max() + 1, 16), bool)
    base[base_of, :10] = left
    refine = Refinement(base_of, len(base))
    for j in range(6):
        refine.split(np.flatnonzero(right[:, j]), 10 + j)
    group_of, sets = refine.groups(sp.csr_matrix(base))
    assert (expand(sets, group_of).toarray() == whole).all()
    a = sp.csr_matrix(np.hstack([left, np.zeros((300, 6), bool)]))
    b = sp.csr_matrix(np.hstack([np.zeros((300, 10), bool), right]))
    pair_of, pairs = pair_groups(np.arange(300), np.arange(300), a, b)
    assert (expand(pairs, pair_of).toarray() == whole).all()


@pytest.mark.parametrize("seed", range(5))
def test_group_rows_of_is_group_rows_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    dense = _random_sets(rng, 500, 30)
    # Grouped with repeats: every distinct row twice (two groups may hold one set).
    distinct, of = np.unique(dense, axis=0, return_inverse=True)
    sets = sp.csr_matrix(np.vstack([distinct, distinct]))
    label = of.ravel() + len(distinct) * (rng.random(500) < 0.5)
    w = rng.random(500) * 10
    left = rng.random(500) < 0.7  # a later stage's subset of the rows
    want_m, want_w = group_rows(sp.csr_matrix(dense[left]), w[left])
    got_m, got_w = group_rows_of(sets, label[left], w[left])
    assert got_w.tobytes() == want_w.tobytes()
    for attr in ("indptr", "indices", "data"):
        assert getattr(got_m, attr).tobytes() == getattr(want_m, attr).tobytes()
    assert got_m.shape == want_m.shape


def test_failed_points_leave_their_group_with_the_chosen_builds_removed() -> None:
    """The verification's re-solve: points the engine found uncovered lose the chosen builds
    that counted them, as a dense rows x builds matrix does by hand; the rest is unchanged."""
    rng = np.random.default_rng(7)
    dense = {2027: _random_sets(rng, 300, 20), 2028: _random_sets(rng, 300, 20)}
    rows = np.arange(1000, 1300)
    grouped = {}
    for y, d in dense.items():
        distinct, of = np.unique(d, axis=0, return_inverse=True)
        grouped[y] = (of.ravel(), sp.csr_matrix(distinct))
    sets = CoverageSets(
        basis="population",
        rows=rows,
        groups={y: g for y, (_, g) in grouped.items()},
        group_of={y: of for y, (of, _) in grouped.items()},
        baseline={},
        seconds=0.0,
    )
    built = {2027: rng.random(20) < 0.2, 2028: rng.random(20) < 0.4}
    engine = {y: rng.random(1400) < 0.5 for y in dense}  # per sample of the basis
    out = _without_failed(sets, built, SimpleNamespace(covered=engine))  # type: ignore[arg-type]
    for y, d in dense.items():
        want = d.copy()
        wrong = (d[:, built[y]].any(axis=1)) & ~engine[y][rows]
        assert wrong.any() and (~wrong).any()
        want[np.ix_(wrong, built[y])] = False
        assert (out.matrix[y].toarray() == want).all()


# --------------------------------------------------------------------------- the shortcut


def _star(arm_m: float) -> Network:
    """A star: node 0 at the origin, arms of ``arm_m`` to nodes 1..4 (E, N, W, S)."""
    ends = [(arm_m, 0.0), (0.0, arm_m), (-arm_m, 0.0), (0.0, -arm_m)]
    geom = np.array([shapely.LineString([(0, 0), e]) for e in ends], dtype=object)
    return Network(
        x=np.array([0.0] + [e[0] for e in ends]),
        y=np.array([0.0] + [e[1] for e in ends]),
        u=np.zeros(4, np.int64),
        v=np.arange(1, 5),
        length=np.full(4, arm_m),
        geometry=geom,
        node_device_us=np.zeros(5),
        component=np.zeros(5, np.int64),
    )


def _on_the_budget() -> tuple[Network, object, np.ndarray, np.ndarray, float]:
    """A star, a site at its centre, points beyond the arms' ends; a budget equal (exactly,
    as the engine computes it) to the latency of the farthest point."""
    params = LatencyModel(preset="optical").resolved(network_kind="fibre")
    for drop in np.arange(100.0, 400.0, 0.5):  # until latency / 1000 · 1000 round-trips
        net = _star(2000.0)
        # Beyond each arm's end (at its node), a little farther out along the arm each time.
        px = np.array([2000.0 + drop, 0.0, -2000.0 - drop / 2, 0.0])
        py = np.array([0.0, 2000.0 + drop / 3, 0.0, -2000.0 - drop / 4])
        loc = Locator(net).locate(px, py, max_drop_m=params.max_drop_m)
        att = attach_sites(Locator(net), np.array([0.0]), np.array([0.0]), np.array([20.0]), params)
        lat = solve(net, att, params).at(loc)[0]
        budget_ms = float(lat.max()) / 1000.0
        if budget_ms * 1000.0 == lat.max():
            return net, params, loc, att, budget_ms
    raise AssertionError("no drop puts a point exactly on the budget")  # pragma: no cover


def test_shortcut_is_exact_on_the_budget() -> None:
    """The farthest point exactly ON the budget: covered, and the shortcut says so unevaluated;
    one ulp less: it is not covered, and the shortcut declines (the points are evaluated)."""
    net, params, loc, att, budget_ms = _on_the_budget()
    view = SimpleNamespace(network=net, arcs=arc_matrix(net, params))
    field = solve(net, att, params)
    lat = field.at(loc)[0]
    assert (lat <= budget_ms * 1000.0).all() and (lat == budget_ms * 1000.0).sum() == 1
    on = _Shortcut.of(view, params, loc, budget_ms=budget_ms)  # type: ignore[arg-type]
    assert len(on.plain) == 4 and len(on.special) == 0
    comps = on.covers(field.node_us)
    assert comps is not None  # taken, exactly at the boundary
    assert (comps[on.comp] == covered(lat, budget_ms=budget_ms)[on.plain]).all()
    below = float(np.nextafter(budget_ms * 1000.0, 0.0)) / 1000.0
    if below * 1000.0 >= budget_ms * 1000.0:  # the ms value must really be below
        below = float(np.nextafter(budget_ms, 0.0))
    assert below * 1000.0 < budget_ms * 1000.0
    off = _Shortcut.of(view, params, loc, budget_ms=below)  # type: ignore[arg-type]
    assert off.covers(field.node_us) is None  # declined: the engine decides each point
    assert covered(lat, budget_ms=below).sum() == 3


def test_shortcut_counts_unreached_components_out() -> None:
    """Two stars apart: a site on one covers the other's points through no path at all."""
    params = LatencyModel(preset="optical").resolved(network_kind="fibre")
    a, b = _star(1000.0), _star(1000.0)
    shift = 50_000.0
    moved = np.array([shift, 0.0])
    net = Network(
        x=np.r_[a.x, b.x + shift],
        y=np.r_[a.y, b.y],
        u=np.r_[a.u, b.u + 5],
        v=np.r_[a.v, b.v + 5],
        length=np.r_[a.length, b.length],
        geometry=np.r_[a.geometry, shapely.transform(b.geometry, lambda c: c + moved)],
        node_device_us=np.zeros(10),
        component=np.r_[np.zeros(5, np.int64), np.ones(5, np.int64)],
    )
    px = np.array([500.0, 0.0, shift + 500.0, shift])
    py = np.array([10.0, -700.0, 10.0, 700.0])
    loc = Locator(net).locate(px, py, max_drop_m=params.max_drop_m)
    att = attach_sites(Locator(net), np.array([0.0]), np.array([0.0]), np.array([20.0]), params)
    field = solve(net, att, params)
    view = SimpleNamespace(network=net, arcs=arc_matrix(net, params))
    short = _Shortcut.of(view, params, loc, budget_ms=1.0)  # type: ignore[arg-type]
    comps = short.covers(field.node_us)
    assert comps is not None
    engine = covered(field.at(loc)[0], budget_ms=1.0)
    assert engine.tolist() == [True, True, False, False]
    assert (comps[short.comp] == engine[short.plain]).all()


def test_reverse_bound_declines_exactly_on_the_budget_and_proves_below() -> None:
    """The site-free shortcut (``sitesets._proven``) against the site's own solve: with the
    farthest point exactly ON the budget (its node a few ulps from ``M*``) the bound, inflated
    for rounding, declines and the
    solve decides; with 1 % of slack it proves the shortcut, with the solve's components."""
    from latcircle.analysis.plan.sitesets import _proven, _relax

    net, params, loc, att, budget_ms = _on_the_budget()
    view = SimpleNamespace(network=net, arcs=arc_matrix(net, params), attachment=att)
    field = solve(net, att, params)
    on = _Shortcut.of(view, params, loc, budget_ms=budget_ms)  # type: ignore[arg-type]
    assert on.covers(field.node_us) is not None  # the solve takes the shortcut, just
    top = field.node_us[on.ends].max()
    # At M* to within the rounding slack the bound allows (a few ulps).
    assert top <= on.m_star < top * _relax(net.n_nodes)
    proven, _ = _proven(view, params, np.array([0]), on)  # type: ignore[arg-type]
    assert not proven[0]  # declined: the site is solved
    roomy = _Shortcut.of(view, params, loc, budget_ms=budget_ms * 1.01)  # type: ignore[arg-type]
    proven, comps = _proven(view, params, np.array([0]), roomy)  # type: ignore[arg-type]
    want = roomy.covers(field.node_us)
    assert proven[0] and want is not None and (comps[0] == want).all()


def test_reverse_bound_agrees_with_each_site_solve_on_the_demo(demo_metro: object) -> None:
    """On the demo's key sites (no tie, 256 ends): every site the bound proves is one whose
    own solve (``solve_each``) takes the shortcut with the same components; most are."""
    from latcircle.analysis.plan.sitesets import _proven
    from latcircle.engine.latency import solve_each

    metro = demo_metro
    loc = metro.samples["key_sites"].location  # type: ignore[attr-defined]
    loc = loc.take(np.flatnonzero(loc.has_access))
    view = SimpleNamespace(network=metro.network, arcs=metro.arcs, attachment=metro.attachment)  # type: ignore[attr-defined]
    short = _Shortcut.of(view, metro.params, loc, budget_ms=metro.config.budget_ms)  # type: ignore[arg-type, attr-defined]
    assert len(short.special) == 0
    sites = np.arange(len(metro.inputs.sites))  # type: ignore[attr-defined]
    proven, comps = _proven(view, metro.params, sites, short)  # type: ignore[arg-type, attr-defined]
    assert proven.any()
    each = solve_each(metro.network, metro.attachment, metro.params, sites=sites, arcs=metro.arcs)  # type: ignore[attr-defined]
    for j, one in enumerate(each):
        want = short.covers(one.node_us)
        if proven[j]:
            assert want is not None and (comps[j] == want).all(), j
