"""Pair paths (calibration's engine) against the brute-force networkx reference.

For every query point and every site of a random case (device latency on nodes, parallel
lines, self-loops, ties, points at nodes, several components), the pair's path taken apart by
:func:`latcircle.engine.pairs.pair_paths` must rebuild the reference's latency with only that
site online: ``factor·(E + S + k·r·(drop_p + length + drop_s) + ΣD)``.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
from hypothesis import given, settings
from test_latency_exact import (
    HAND_PRESETS,
    TOL_US,
    UTM50,
    Case,
    _ids_as_given,
    _node_latency_as_given,
    random_case,
    reference,
)

from latcircle.config import LatencyModel
from latcircle.engine.latency import arc_matrix
from latcircle.engine.locator import Locator
from latcircle.engine.network import build_network
from latcircle.engine.pairs import pair_paths


def _pairs_check(case: Case) -> None:
    data = {} if case.u is None else _ids_as_given(case)
    lines = gpd.GeoDataFrame(data, geometry=case.geoms, crs=UTM50)
    net = build_network(
        lines,
        node_latency_us=_node_latency_as_given(case) if case.u is not None else None,
        snap_m=case.snap_m,
    )
    params = LatencyModel(preset=case.preset, max_drop_m=case.max_drop_m).resolved(
        network_kind="road"
    )
    fixed, factor = HAND_PRESETS[case.preset]
    xy = np.concatenate([case.pts, case.site_xy])
    loc = Locator(net).locate(xy[:, 0], xy[:, 1], max_drop_m=params.max_drop_m)
    n_pts = len(case.pts)
    arcs = arc_matrix(net, params)
    want_all = []
    for j in range(len(case.site_xy)):
        one = dataclasses.replace(
            case, site_xy=case.site_xy[j : j + 1], site_us=case.site_us[j : j + 1]
        )
        want = [e.latency for e in reference(one)]
        want_all.append(want)
        a = np.arange(n_pts)
        b = np.full(n_pts, n_pts + j)
        paths = pair_paths(net, arcs, loc, a, b, us_per_m=params.us_per_m)
        kr = params.us_per_m
        got = factor * (
            fixed
            + case.site_us[j]
            + kr * (loc.drop[a] + paths.length_m + loc.drop[b])
            + paths.device_us
        )
        for i in range(n_pts):
            if not np.isfinite(want[i]):
                assert not paths.reachable[i], (i, j)
                continue
            assert paths.reachable[i], (i, j)
            assert abs(got[i] - want[i]) <= TOL_US, (i, j, got[i], want[i])
            assert paths.nodes[i] >= 0
    # A point paired with every site is the Dijkstra source (the greedy cover picks the
    # endpoint in most pairs): the other direction of the same paths.
    m = len(case.site_xy)
    if m < 2:
        return
    kr = params.us_per_m
    for i in range(min(n_pts, 6)):
        b = n_pts + np.arange(m)
        a = np.full(m, i)
        paths = pair_paths(net, arcs, loc, a, b, us_per_m=kr)
        got = factor * (
            fixed
            + case.site_us
            + kr * (loc.drop[a] + paths.length_m + loc.drop[b])
            + paths.device_us
        )
        for j in range(m):
            w = want_all[j][i]
            if np.isfinite(w):
                assert abs(got[j] - w) <= TOL_US, (i, j, got[j], w)
            else:
                assert not paths.reachable[j]


@settings(max_examples=40, deadline=None)
@given(random_case())
def test_pair_paths_match_the_reference(case: Case) -> None:
    _pairs_check(case)


@settings(max_examples=25, deadline=None)
@given(random_case(messy=True))
def test_pair_paths_match_the_reference_on_messy_networks(case: Case) -> None:
    _pairs_check(case)
