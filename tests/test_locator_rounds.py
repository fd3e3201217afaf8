"""The locator's speed paths against independent references.

* ``_NearBound.within`` (which points may go to the KD-tree) never rules out a point that has
  a piece midpoint within reach: checked against brute-force distances, for reaches below
  and above the raster's frame, with points far off the network's box and NaN coordinates.
* ``Locator._round`` tests only the candidates that may be nearest or tie: its nearest piece
  (squared distance, index, fraction) equals the dense evaluation of every candidate with
  the lowest index of equally near pieces, bit for bit, on a lattice full of exact ties.
* The order of the points does not change any answer.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString

from latcircle.engine.locator import Locator, _NearBound
from latcircle.engine.network import build_network

UTM50 = "EPSG:32650"


def _network(seed: int = 7):
    rng = np.random.default_rng(seed)
    # A lattice of streets (exact ties between parallel pieces) and random spokes.
    lines = [LineString([(0, y), (2000, y)]) for y in range(0, 2001, 200)]
    lines += [LineString([(x, 0), (x, 2000)]) for x in range(0, 2001, 250)]
    for a, r in zip(rng.uniform(0, 2 * np.pi, 15), rng.uniform(100, 1500, 15), strict=True):
        lines.append(LineString([(1000, 1000), (1000 + r * np.cos(a), 1000 + r * np.sin(a))]))
    return build_network(gpd.GeoDataFrame(geometry=lines, crs=UTM50))


def test_within_never_rules_out_a_point_in_reach() -> None:
    rng = np.random.default_rng(1)
    mid = np.column_stack([rng.uniform(0, 3000, 400), rng.uniform(0, 2000, 400)])
    near = _NearBound(mid)
    margin = near._pad * near._cell
    # Points on the raster, in its frame, and far beyond it (and two NaN).
    x = np.r_[rng.uniform(-6000, 9000, 6000), np.nan, 100.0]
    y = np.r_[rng.uniform(-6000, 8000, 6000), 100.0, np.nan]
    d = np.full(len(x), np.inf)
    ok = np.isfinite(x) & np.isfinite(y)
    for lo in range(0, len(x), 500):  # brute force in blocks
        sl = slice(lo, lo + 500)
        pts = np.column_stack([x[sl], y[sl]])
        dd = np.sqrt(((pts[:, None, :] - mid[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
        d[sl] = np.where(ok[sl], dd, np.inf)
    for reach in (50.0, 300.0, margin - 10.0, margin + 500.0, 2.5 * margin):
        got = np.zeros(len(x), dtype=bool)
        got[near.within(x, y, reach)] = True
        assert got[d <= reach].all(), f"reach {reach}: a point in reach ruled out"
        assert not got[~ok].any()  # NaN is never in reach
        assert (~got & np.isfinite(d)).any(), "nothing ruled out: the check would be vacuous"
        if reach > margin:  # beyond the frame: the box decides, and some are kept
            assert (got & (d > margin)).any()


def _dense_nearest(locator: Locator, px, py, idx):
    """Every candidate tested; the nearest, of equally near the lowest piece index."""
    d2, f = locator._to_pieces(px[:, None], py[:, None], idx)
    d2_min = d2.min(axis=1)
    masked = np.where(d2 == d2_min[:, None], idx, locator.n_pieces)
    j = np.argmin(masked, axis=1)
    rows = np.arange(len(px))
    return d2_min, idx[rows, j], f[rows, j]


def test_round_picks_what_testing_every_candidate_picks() -> None:
    net = _network()
    locator = Locator(net, piece_m=40.0)
    # Lattice points: many exactly equidistant from two or four pieces; plus random points.
    gx, gy = np.meshgrid(np.arange(-100, 2101, 25.0), np.arange(-100, 2101, 25.0))
    rng = np.random.default_rng(2)
    px = np.r_[gx.ravel(), rng.uniform(-300, 2300, 3000)]
    py = np.r_[gy.ravel(), rng.uniform(-300, 2300, 3000)]
    bound = 600.0
    for k in (1, 4, 8, 16):
        dist, idx = locator._tree.query(
            np.column_stack([px, py]), k=list(range(1, k + 1)), distance_upper_bound=bound
        )
        for best_d in (np.full(len(px), np.inf), rng.uniform(0, 80, len(px))):
            cand = locator._round(px, py, dist, idx, best_d, bound)
            d2_min, piece, f = _dense_nearest(locator, px, py, idx)
            # A row's nearest is the dense one wherever that is no farther than the best so
            # far or the first midpoint (otherwise neither is taken: the best so far stays).
            sure = np.sqrt(d2_min) <= np.minimum(best_d, dist[:, 0])
            assert sure.mean() > 0.5
            np.testing.assert_array_equal(cand.d2_min[sure], d2_min[sure])
            np.testing.assert_array_equal(cand.piece_min[sure], piece[sure])
            np.testing.assert_array_equal(cand.f_min[sure], f[sure])
            # Every pair tested is a real candidate of its row.
            assert (idx[cand.row, :] == cand.piece[:, None]).any(axis=1).all()
    # Exact ties were there to break (the lowest index chosen among several).
    d2, _ = locator._to_pieces(px[:, None], py[:, None], idx)
    assert ((d2 == d2.min(axis=1)[:, None]).sum(axis=1) > 1).sum() > 50


def test_answers_do_not_depend_on_the_order_of_the_points() -> None:
    net = _network(3)
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-500, 2500, 6000), rng.uniform(-500, 2500, 6000)
    ref = Locator(net).locate(x, y, max_drop_m=700.0, workers=1)
    perm = rng.permutation(len(x))
    got = Locator(net).locate(x[perm], y[perm], max_drop_m=700.0, workers=1)
    for name in ("edge", "t", "drop"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name)[perm], err_msg=name)
    mine = sorted(zip(perm[got.tie_point], got.tie_edge, got.tie_t, strict=True))
    theirs = sorted(zip(ref.tie_point, ref.tie_edge, ref.tie_t, strict=True))
    assert mine == theirs
    assert len(theirs) > 0 and ref.has_access.sum() > 1000
