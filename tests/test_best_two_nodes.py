"""Each node's best two single-site fields give every point's best and second latency.

Session round 15 (issue 23): protection's best other site is found through each node's two
lowest fields (``engine.persite.best_two_by_nodes``) instead of evaluating every site's field
at every covered sample. Checked here, bit for bit, against the independent reference: every
field evaluated at every point (``LatencyField.at``) and the stable sort of the whole
``(points × fields)`` table (``best_two``). The cases put points exactly on ties: sites
placed symmetrically (equal node latencies from two sites, equal point latencies from both
ends of an edge), points equally near two edges, points on a site's own edge, points without
access and on a piece of network no site reaches, one site alone, sites entering the network
on the same edge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tie_lattice import tie_lattice

from latcircle.config import LatencyModel
from latcircle.engine.latency import attach_sites, solve_each
from latcircle.engine.locator import Locator
from latcircle.engine.network import build_network
from latcircle.engine.persite import best_two, best_two_by_nodes, best_two_of_fields


def _points(n: int = 6, step: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Points on the lattice's nodes, edge midpoints, cell centres (equally near four
    edges), quarter points, off the lattice beyond the max drop, and on the detached road."""
    g = np.arange(0.0, (n - 1) * step + 1e-9, step / 4.0)
    x, y = np.meshgrid(g, g)
    xs = np.r_[x.ravel(), -5_000.0, n * step + 5_000.0 + 50.0]
    ys = np.r_[y.ravel(), -5_000.0, 10.0]
    return xs, ys


def _check(sites_xy: np.ndarray, device_us: np.ndarray, preset: str = "optical") -> int:
    net = build_network(tie_lattice())
    locator = Locator(net)
    params = LatencyModel(preset=preset, max_drop_m=200.0).resolved(network_kind="road")
    att = attach_sites(locator, sites_xy[:, 0], sites_xy[:, 1], device_us, params)
    idx = np.flatnonzero(att.attached)
    x, y = _points()
    loc = locator.locate(x, y, max_drop_m=params.max_drop_m)
    assert len(loc.tie_point) > 0  # cell centres and nodes: ties are exercised
    parts = [loc, loc.take(np.flatnonzero(loc.has_access)[::3])]
    fields = list(solve_each(net, att, params, sites=idx))
    got = best_two_by_nodes(iter(fields), parts)
    sole_ties = 0
    for part, pair in zip(parts, got, strict=True):
        table = np.column_stack([f.at(part)[0] for f in fields])
        want = best_two(table)
        np.testing.assert_array_equal(pair.best, want.best)
        np.testing.assert_array_equal(pair.second, want.second)
        sole = want.best < want.second
        np.testing.assert_array_equal(pair.sole_col[sole], want.best_col[sole])
        assert (pair.sole_col[~sole] == -1).all()
        sole_ties += int((~sole & np.isfinite(want.best)).sum())
        # The gathered one-field-at-a-time path agrees too (what protection used before).
        old = best_two_of_fields(iter(fields), [part], gather=True)[0]
        np.testing.assert_array_equal(old.best, pair.best)
        np.testing.assert_array_equal(old.second, pair.second)
    return sole_ties


@pytest.mark.parametrize("preset", ["optical", "round_trip_end_to_end"])
def test_symmetric_sites_tie_at_nodes_and_points(preset: str) -> None:
    # Two sites mirrored about the lattice's diagonal and a third on the centre line: many
    # nodes and points are exactly as far from two sites (the sole column must then be -1).
    sites = np.array([[100.0, 0.0], [0.0, 100.0], [250.0, 250.0], [500.0, 370.0]])
    ties = _check(sites, np.array([20.0, 20.0, 20.0, 35.0]), preset)
    assert ties > 0


def test_sites_on_the_same_edge_and_at_nodes() -> None:
    # Two sites on one edge (points between them take each one's direct path), one exactly
    # at a node (it enters through that node), one off the lattice by 30 m.
    sites = np.array([[120.0, 200.0], [180.0, 200.0], [300.0, 300.0], [430.0, -30.0]])
    _check(sites, np.array([20.0, 20.0, 0.0, 50.0]))


def test_one_site_alone_has_no_second() -> None:
    net_sites = np.array([[240.0, 160.0]])
    _check(net_sites, np.array([20.0]))


def test_refuses_fields_it_cannot_merge(demo_metro: Any) -> None:
    view = demo_metro.view(None)
    idx = np.flatnonzero(view.attachment.attached)
    loc = view.samples["key_sites"].location
    with pytest.raises(ValueError, match="at least one field"):
        best_two_by_nodes(iter([]), [loc])
    metro = demo_metro
    scenario = metro.scenario()
    two = solve_each(view.network, view.attachment, metro.params, sites=idx[:1])
    assert len(best_two_by_nodes(two, [loc])) == 1
    with pytest.raises(ValueError, match="single-site"):
        best_two_by_nodes(iter([scenario.field]), [loc])


def test_demo_metro_every_basis(demo_metro: Any) -> None:
    metro = demo_metro
    view = metro.view(None)
    idx = np.flatnonzero(view.attachment.attached)
    fields = list(solve_each(view.network, view.attachment, metro.params, sites=idx))
    locs = [s.location for s in view.samples.values()]
    got = best_two_by_nodes(iter(fields), locs)
    for loc, pair in zip(locs, got, strict=True):
        want = best_two(np.column_stack([f.at(loc)[0] for f in fields]))
        np.testing.assert_array_equal(pair.best, want.best)
        np.testing.assert_array_equal(pair.second, want.second)
        sole = want.best < want.second
        np.testing.assert_array_equal(pair.sole_col[sole], want.best_col[sole])
        assert (pair.sole_col[~sole] == -1).all()
