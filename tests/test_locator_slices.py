"""The locator's slices: points located a slice at a time give the brute-force answers.

A thread locates at most ``SLICE_POINTS`` points at a time and rules out at most
``RULE_OUT_POINTS`` at a time (cache, not answers). With slices of a few points (so that
slices and ruling-out blocks cut the samples in different places, the last of each partial),
and with the defaults on more samples than one slice holds, on one thread and on two, every
sample checks against shapely's distance to every edge: the drop, the nearest edge (of
equally near the lowest index), its position, and every other edge as near listed as a tie.
Samples lie exactly on ties (a lattice of samples on a lattice of streets with integer
coordinates, where every distance below is exact) and exactly at the max drop (kept), and
just beyond it (no access). No point to locate gives empty answers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from latcircle.engine import locator as locator_module
from latcircle.engine.locator import SLICE_POINTS, TIE_M, Locator
from latcircle.engine.network import build_network

UTM50 = "EPSG:32650"
MAX_DROP = 150.0


def _network():
    lines = [LineString([(0, y), (800, y)]) for y in (0, 200, 400)]
    lines += [LineString([(x, 0), (x, 400)]) for x in (0, 200, 400, 600, 800)]
    lines.append(LineString([(800, 400), (1000, 400), (1000, 600)]))  # a bend
    lines.append(LineString([(400, 400), (400, 520)]))  # a dead end
    return build_network(gpd.GeoDataFrame(geometry=lines, crs=UTM50))


def _samples(step: float) -> np.ndarray:
    """A lattice of samples (ties everywhere), and samples at and beyond the max drop."""
    gx, gy = np.meshgrid(np.arange(-200, 1201, step), np.arange(-200, 801, step))
    at_drop = [(100, -MAX_DROP), (-MAX_DROP, 300), (1000 + MAX_DROP, 500), (600, 400 + MAX_DROP)]
    beyond = [(100, -MAX_DROP - 0.5), (-MAX_DROP - 0.5, 300), (1000 + MAX_DROP + 0.5, 500)]
    pts = np.array([*at_drop, *beyond], dtype=float)
    return np.vstack([pts, np.column_stack([gx.ravel(), gy.ravel()])])


def _check(net, pts: np.ndarray, loc) -> None:
    geoms = np.asarray(net.geometry)
    d = shapely.distance(shapely.points(pts)[:, None], geoms[None, :])
    dmin = d.min(axis=1)
    ties_of: dict[int, dict[int, float]] = {}
    for p, e, t in zip(loc.tie_point, loc.tie_edge, loc.tie_t, strict=True):
        ties_of.setdefault(int(p), {})[int(e)] = float(t)
    beyond = dmin > MAX_DROP
    assert (loc.edge[beyond] == -1).all() and np.isinf(loc.drop[beyond]).all()
    assert not set(ties_of) & set(np.flatnonzero(beyond).tolist())
    for i in np.flatnonzero(~beyond):
        assert abs(loc.drop[i] - dmin[i]) <= 1e-9, (i, loc.drop[i], dmin[i])
        tied = np.flatnonzero(d[i] <= dmin[i] + TIE_M)
        assert loc.edge[i] == tied.min(), (i, loc.edge[i], tied)
        assert set(ties_of.get(i, {})) == set(tied.tolist()) - {int(loc.edge[i])}, i
        point = shapely.Point(pts[i])
        for e, t in [(int(loc.edge[i]), float(loc.t[i])), *ties_of.get(i, {}).items()]:
            assert 0.0 <= t <= net.length[e]
            q = shapely.line_interpolate_point(geoms[e], t)
            assert abs(q.distance(point) - dmin[i]) <= 1e-9, (i, e, t)
    # The samples at the max drop have access, those just beyond none; ties were there.
    assert (loc.drop[:4] == MAX_DROP).all() and (loc.edge[4:7] == -1).all()
    assert sum(len(v) for v in ties_of.values()) > 50


@pytest.mark.parametrize("workers", [1, 2])
def test_small_slices_give_the_brute_force_answers(workers: int, monkeypatch) -> None:
    net = _network()
    pts = _samples(20.0)
    whole = Locator(net).locate(pts[:, 0], pts[:, 1], max_drop_m=MAX_DROP, workers=workers)
    monkeypatch.setattr(locator_module, "SLICE_POINTS", 7)
    monkeypatch.setattr(locator_module, "RULE_OUT_POINTS", 13)
    monkeypatch.setattr(locator_module, "MIN_POINTS_PER_THREAD", 100)  # two threads really
    locator = Locator(net)
    assert len(locator._shares(np.arange(len(pts)), workers)) > 100  # many slices indeed
    loc = locator.locate(pts[:, 0], pts[:, 1], max_drop_m=MAX_DROP, workers=workers)
    _check(net, pts, loc)
    for name in ("edge", "t", "drop", "tie_point", "tie_edge", "tie_t"):  # bit for bit
        np.testing.assert_array_equal(getattr(loc, name), getattr(whole, name), err_msg=name)


def test_more_samples_than_a_slice_on_one_thread() -> None:
    net = _network()
    pts = _samples(5.0)
    locator = Locator(net)
    near = locator._near_points(pts[:, 0], pts[:, 1], MAX_DROP + 20.0, 1, map)
    assert len(near) > 2 * SLICE_POINTS  # located in several slices, the last partial
    loc = locator.locate(pts[:, 0], pts[:, 1], max_drop_m=MAX_DROP, workers=1)
    _check(net, pts, loc)


def test_no_point_to_locate() -> None:
    locator = Locator(_network())
    empty = np.zeros(0)
    loc = locator.locate(empty, empty, max_drop_m=MAX_DROP, workers=1)
    assert len(loc) == 0 and len(loc.tie_point) == 0
    piece, dist, frac, ties = locator._nearest_pieces(empty, empty, MAX_DROP)
    assert len(piece) == len(dist) == len(frac) == 0 and all(len(t) == 0 for t in ties)
