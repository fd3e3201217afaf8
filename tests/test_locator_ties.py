"""The locator's canonical choice among exactly tied pieces, against brute force.

* ``_lowest_at_min`` (of a row's pairs at its minimum, the lowest piece) against a plain loop
  over every row, on pairs full of exact ties, repeated pieces and rows with none at the
  minimum.
* ``Locator.locate`` on a street lattice with integer coordinates, where every distance below
  is exact: samples exactly equidistant from two and four streets, exactly on junctions,
  dead ends, bends (a segment's end inside an edge) and the cut between two of a segment's
  pieces. Against shapely's distances to every edge: the drop, the nearest edge (of equally
  near the lowest index, as before), its position, and every other edge as near listed as a
  tie with its own position. The tie path of ``_lowest_at_min`` is checked to have run.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from latcircle.engine import locator as locator_module
from latcircle.engine.locator import TIE_M, Locator, _lowest_at_min
from latcircle.engine.network import build_network

UTM50 = "EPSG:32650"


def _lowest_reference(row: np.ndarray, piece: np.ndarray, at_min: np.ndarray) -> np.ndarray:
    """Per row in order, the first position of the lowest piece among its pairs at the minimum."""
    out = []
    for r in np.unique(row):
        where = [i for i in np.flatnonzero(row == r) if at_min[i]]
        if where:
            lowest = min(piece[i] for i in where)
            out.append(next(i for i in where if piece[i] == lowest))
    return np.array(out, dtype=np.intp)


@pytest.mark.parametrize("seed", range(6))
def test_lowest_at_min_matches_a_loop_over_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = rng.integers(1, 9, 400)
    row = np.repeat(np.arange(len(count)), count)
    piece = rng.integers(0, 12, len(row))  # few pieces: the same piece twice in a row too
    d2 = rng.integers(0, 3, len(row)).astype(float)  # few values: many rows tie at the min
    start = np.cumsum(count) - count
    at_min = d2 == np.repeat(np.minimum.reduceat(d2, start), count)
    at_min[row % 17 == 5] = False  # rows with no pair at the minimum are left out
    got = _lowest_at_min(row, piece, at_min)
    np.testing.assert_array_equal(got, _lowest_reference(row, piece, at_min))
    # No tie at all: the fast path gives each row's one pair.
    one = np.r_[True, row[1:] != row[:-1]]
    np.testing.assert_array_equal(_lowest_at_min(row, piece, one), np.flatnonzero(one))
    empty = np.zeros(0, np.intp)
    assert len(_lowest_at_min(empty, empty, np.zeros(0, dtype=bool))) == 0


def _lattice() -> tuple[list[LineString], np.ndarray]:
    """Streets 200 m apart (bent and dead-ended ones too) and samples on every kind of tie."""
    lines = [LineString([(0, y), (800, y)]) for y in (0, 200, 400)]
    lines += [LineString([(x, 0), (x, 400)]) for x in (0, 200, 400, 600, 800)]
    lines.append(LineString([(800, 400), (1000, 400), (1000, 600)]))  # a bend at (1000, 400)
    lines.append(LineString([(400, 400), (400, 520)]))  # a dead end at (400, 520)
    pts = [
        (100, 100),  # block centre: four streets 100 m away
        (300, 100),
        (700, 300),
        (100, 37),  # between two parallel streets, nearer one
        (450, 300),  # 50 m from x = 400, 100 m from y = 200 and y = 400
        (500, 200),  # on a street, midway between two junctions
        (200, 200),  # on a junction: four edges meet, drop 0
        (0, 0),  # a corner of the lattice
        (800, 400),  # where the bent street starts
        (1000, 400),  # on the bend: a segment's end inside an edge
        (1000, 500),  # on the bent street's second segment
        (400, 520),  # on a dead end
        (400, 560),  # beyond a dead end: its end is nearest
        (440, 440),  # equidistant from the dead end (x=400) and y=400: 40 m each
        (520, 200),  # on a cut between two 40 m pieces of a 200 m segment
        (240, 0),
        (900, 500),  # equidistant from (800..1000, 400) and (1000, 400..600): 100 m
        (1100, 700),  # off the lattice: nearest the bent street's end
        (100, -50),
        (-30, -40),  # off the corner: 50 m to (0, 0)
    ]
    gx, gy = np.meshgrid(np.arange(-100, 1101, 20.0), np.arange(-100, 701, 20.0))
    grid = np.column_stack([gx.ravel(), gy.ravel()])  # samples on a lattice too: many ties
    return lines, np.vstack([np.array(pts, dtype=float), grid])


def _brute(geoms: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return shapely.distance(shapely.points(pts)[:, None], geoms[None, :])


@pytest.mark.parametrize(("k", "piece_m"), [(8, 40.0), (1, 40.0), (3, 25.0)])
def test_exact_ties_and_segment_ends_match_brute_force(k, piece_m, monkeypatch) -> None:
    lines, pts = _lattice()
    net = build_network(gpd.GeoDataFrame(geometry=lines, crs=UTM50))
    geoms = np.asarray(net.geometry)  # the edges latcircle keeps, in its order
    seen_ties = []

    def recording(row: np.ndarray, piece: np.ndarray, at_min: np.ndarray) -> np.ndarray:
        r = row[at_min]
        seen_ties.append(bool(np.any(r[1:] == r[:-1])))
        return _lowest_at_min(row, piece, at_min)

    monkeypatch.setattr(locator_module, "_lowest_at_min", recording)
    max_drop = 150.0
    loc = Locator(net, piece_m=piece_m, k=k).locate(pts[:, 0], pts[:, 1], max_drop_m=max_drop)
    assert any(seen_ties), "no round held an exact tie: the tie path was not run"
    d = _brute(geoms, pts)
    dmin = d.min(axis=1)
    ties_of = {}
    for p, e, t in zip(loc.tie_point, loc.tie_edge, loc.tie_t, strict=True):
        ties_of.setdefault(int(p), {})[int(e)] = float(t)
    n_tied = 0
    for i, (x, y) in enumerate(pts):
        if dmin[i] > max_drop:
            assert loc.edge[i] == -1 and np.isinf(loc.drop[i]), i
            assert i not in ties_of
            continue
        assert abs(loc.drop[i] - dmin[i]) <= 1e-9, (i, loc.drop[i], dmin[i])
        tied = np.flatnonzero(d[i] <= dmin[i] + TIE_M)
        assert loc.edge[i] == tied.min(), (i, loc.edge[i], tied)  # of equally near, lowest
        assert set(ties_of.get(i, {})) == set(tied.tolist()) - {int(loc.edge[i])}, i
        n_tied += len(tied) > 1
        point = shapely.Point(x, y)
        for e, t in [(int(loc.edge[i]), float(loc.t[i])), *ties_of.get(i, {}).items()]:
            g = geoms[e]
            # The position is a nearest point of that edge, within the edge.
            assert 0.0 <= t <= net.length[e]
            q = shapely.line_interpolate_point(g, t)
            assert abs(q.distance(point) - dmin[i]) <= 1e-9, (i, e, t)
    assert n_tied > 50  # the lattice put many samples exactly between streets
    # Named samples, by hand: on a junction, the bend and a cut between pieces the drop is 0;
    # 40 m from the dead end and the street it leaves; the bend's position is the bend.
    named = {(200.0, 200.0): 0.0, (1000.0, 400.0): 0.0, (520.0, 200.0): 0.0, (440.0, 440.0): 40.0}
    for (x, y), drop in named.items():
        i = int(np.flatnonzero((pts[:, 0] == x) & (pts[:, 1] == y))[0])
        assert loc.drop[i] == drop
    bend = int(np.flatnonzero((pts[:, 0] == 1000.0) & (pts[:, 1] == 400.0))[0])
    e = int(loc.edge[bend])
    assert shapely.line_interpolate_point(geoms[e], loc.t[bend]).equals(shapely.Point(1000, 400))
