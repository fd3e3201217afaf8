"""Per-site latencies against the brute-force networkx reference of test_latency_exact.

Each column of :func:`latcircle.engine.persite.site_latencies` must equal the reference run
with that site alone; the minimum over the columns must equal the multi-source run *bitwise*;
route lengths (:func:`path_lengths`) must give back every column through
``factor·(E + S_s + k·r·length)``; best/second-best must match a sort by hand.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from test_latency_exact import (
    HAND_PRESETS,
    K_US_PER_M,
    R_ROAD,
    TOL_US,
    Case,
    _latcircle,
    _line,
    random_case,
    reference,
)

from latcircle.config import LatencyModel
from latcircle.engine.latency import solve
from latcircle.engine.persite import best_two, path_lengths, site_latencies


def _engine(case: Case):
    latency, _, loc, att = _latcircle(case)
    return latency, loc, att


def _net_params(case: Case):
    import geopandas as gpd
    from test_latency_exact import UTM50, _ids_as_given, _node_latency_as_given

    from latcircle.engine.network import build_network

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
    return net, params


def _check_case(case: Case) -> None:
    latency, loc, att = _engine(case)
    net, params = _net_params(case)
    per = site_latencies(net, att, params, loc)
    assert per.values.shape == (len(case.pts), len(case.site_xy))
    for s in range(len(case.site_xy)):
        alone = dataclasses.replace(
            case, site_xy=case.site_xy[s : s + 1], site_us=case.site_us[s : s + 1]
        )
        want = np.array([e.latency for e in reference(alone)])
        got = per.values[:, s]
        both_inf = np.isinf(want) & np.isinf(got)
        with np.errstate(invalid="ignore"):  # inf - inf where both are inf
            close = np.abs(got - want) <= TOL_US
        assert np.all(both_inf | close), f"site {s}"
    # The best column is the run's latency, bitwise (same sums along the same paths).
    assert np.array_equal(per.values.min(axis=1), latency)
    # Route lengths give back every column when nodes carry no device latency.
    if not net.node_device_us.any():
        lengths = path_lengths(net, att, params, loc)
        fixed, factor = HAND_PRESETS[case.preset]
        rebuilt = factor * (fixed + case.site_us[None, :] + K_US_PER_M * R_ROAD * lengths.values)
        fin = np.isfinite(per.values)
        assert np.array_equal(fin, np.isfinite(lengths.values))
        assert np.allclose(rebuilt[fin], per.values[fin], rtol=0, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(random_case())
def test_random_graphs_per_site_match_the_reference(case: Case) -> None:
    _check_case(case)


@settings(max_examples=30, deadline=None)
@given(random_case(messy=True))
def test_random_messy_networks_per_site_match_the_reference(case: Case) -> None:
    _check_case(case)


def test_two_sites_on_one_street_best_and_second_by_hand() -> None:
    """A 2 km street, sites at 0 m and 1500 m (S = 0 and 5 µs), points along it."""
    case = Case(
        geoms=[_line((0, 0), (1000, 0)), _line((1000, 0), (2000, 0))],
        site_xy=np.array([[0.0, 10.0], [1500.0, 0.0]]),
        site_us=np.array([0.0, 5.0]),
        pts=np.array([[100.0, 0.0], [1400.0, 5.0], [2000.0, 0.0], [500.0, 2000.0]]),
    )
    latency, loc, att = _engine(case)
    net, params = _net_params(case)
    per = site_latencies(net, att, params, loc)
    kr = K_US_PER_M * R_ROAD
    # Hand values: site 0 enters at x=0 with a 10 m drop; site 1 is on the street.
    d0 = np.array([10 + 100, 10 + 1400 + 5, 10 + 2000])
    d1 = np.array([1400, 100 + 5, 500])
    want0 = 100.0 + 0.0 + kr * d0
    want1 = 100.0 + 5.0 + kr * d1
    assert np.allclose(per.values[:3, 0], want0, atol=1e-9)
    assert np.allclose(per.values[:3, 1], want1, atol=1e-9)
    assert np.all(np.isinf(per.values[3]))  # beyond the max drop
    bt = per.best_two()
    assert list(bt.best_col) == [0, 1, 1, -1]
    assert list(bt.second_col) == [1, 0, 0, -1]
    assert np.allclose(bt.second[:3], np.where([True, False, False], want1, want0))
    assert np.array_equal(bt.best, latency)


def test_best_two_ties_go_to_the_lower_column_and_single_column() -> None:
    v = np.array([[3.0, 3.0, 1.0], [np.inf, np.inf, np.inf], [2.0, np.inf, np.inf]])
    bt = best_two(v)
    assert list(bt.best_col) == [2, -1, 0]
    assert list(bt.second_col) == [0, -1, -1]
    assert bt.second[0] == 3.0 and np.isinf(bt.second[2])
    one = best_two(np.array([[5.0], [np.inf]]))
    assert list(one.best_col) == [0, -1] and list(one.second_col) == [-1, -1]
    empty = best_two(np.zeros((2, 0)))
    assert list(empty.best_col) == [-1, -1]


def test_groups_take_the_best_of_each_group() -> None:
    case = Case(
        geoms=[_line((0, 0), (3000, 0))],
        site_xy=np.array([[0.0, 0.0], [1000.0, 0.0], [3000.0, 0.0]]),
        site_us=np.array([20.0, 20.0, 0.0]),
        pts=np.array([[200.0, 0.0], [2900.0, 0.0]]),
    )
    _, loc, att = _engine(case)
    net, params = _net_params(case)
    each = site_latencies(net, att, params, loc)
    grouped = site_latencies(net, att, params, loc, groups=[np.array([0, 1]), np.array([2])])
    assert np.array_equal(grouped.values[:, 0], each.values[:, :2].min(axis=1))
    assert np.array_equal(grouped.values[:, 1], each.values[:, 2])


def test_path_lengths_refuse_node_device_latency() -> None:
    case = Case(
        geoms=[_line((0, 0), (1000, 0)), _line((1000, 0), (2000, 0))],
        u=[1, 2],
        v=[2, 3],
        node_xy={1: (0, 0), 2: (1000, 0), 3: (2000, 0)},
        node_us={2: 40.0},
        site_xy=np.array([[0.0, 0.0]]),
        site_us=np.array([0.0]),
        pts=np.array([[1500.0, 0.0]]),
    )
    _, loc, att = _engine(case)
    net, params = _net_params(case)
    with pytest.raises(ValueError, match="device latency"):
        path_lengths(net, att, params, loc)
    # Per-site latency still works there (it is the engine itself).
    per = site_latencies(net, att, params, loc)
    assert np.array_equal(per.values[:, 0], solve(net, att, params).at(loc)[0])
