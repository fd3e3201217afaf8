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
        dist, idx = locator._query(px, py, 0, k, bound)
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


class _TiesReversed:
    """A KD-tree whose answers list equally far neighbours in reverse order."""

    def __init__(self, tree: object) -> None:
        self.tree = tree

    def query(self, pts: np.ndarray, *, k: int, **kwargs: object) -> tuple[np.ndarray, ...]:
        dist, idx = self.tree.query(pts, k=k, **kwargs)
        dist, idx = dist.reshape(len(pts), k), idx.reshape(len(pts), k)
        order = np.lexsort((np.broadcast_to(-np.arange(k), dist.shape), dist), axis=-1)
        return np.take_along_axis(dist, order, -1), np.take_along_axis(idx, order, -1)


def test_follow_up_queries_miss_no_piece_tied_across_the_seen_line() -> None:
    """What two rounds test holds every piece nearer than the second round's last (brute force).

    On a lattice many midpoints are equally far from a point; the tree may order them
    differently from one query to the next (another ``k``, another heap), so a piece tied
    across the line between the first round's ``seen`` and the new columns is asked again.
    """
    net = _network()
    locator = Locator(net, piece_m=40.0)
    locator._tree = _TiesReversed(locator._tree)  # the worst order the tree may give
    gx, gy = np.meshgrid(np.arange(-100, 2101, 20.0), np.arange(-100, 2101, 20.0))
    px, py = gx.ravel(), gy.ravel()
    mid = np.column_stack(
        [locator._ax[:-1] + locator._dx[:-1] / 2, locator._ay[:-1] + locator._dy[:-1] / 2]
    )
    bound = 600.0
    n_tied = 0
    for seen, k in ((1, 2), (4, 8), (8, 16)):
        d1, i1 = locator._query(px, py, 0, seen, bound)
        d2, i2 = locator._query(px, py, seen, k, bound)
        full, _ = locator._query(px, py, 0, k, bound)
        n_tied += int((full[:, seen - 1] == full[:, seen]).sum())
        for r in range(0, len(px), 7):
            d = np.hypot(mid[:, 0] - px[r], mid[:, 1] - py[r])
            tested = set(i1[r][np.isfinite(d1[r])]) | set(i2[r][np.isfinite(d2[r])])
            last = d2[r, -1] if np.isfinite(d2[r, -1]) else bound
            nearer = set(np.flatnonzero(d < last).tolist())
            assert nearer <= tested, (seen, k, r)
    assert n_tied > 100  # ties across the line were there to miss


def test_a_network_without_edges_gives_no_point_access() -> None:
    net = _network()
    empty = net.subset(np.zeros(net.n_edges, dtype=bool))
    assert empty.n_edges == 0
    loc = Locator(empty).locate(np.array([0.0, 5e6]), np.array([0.0, 1.0]), max_drop_m=100.0)
    np.testing.assert_array_equal(loc.edge, [-1, -1])
    np.testing.assert_array_equal(loc.drop, [np.inf, np.inf])
    assert len(loc.tie_point) == 0
