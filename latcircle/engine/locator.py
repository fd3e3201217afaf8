"""Exact location of points on the network: the nearest point ``q_p`` and the drop to it.

:class:`Locator` finds, for any point, the nearest point of the network ``q_p`` by
perpendicular projection onto the nearest edge: exactly, not approximately. Edges are cut
into straight pieces of at most ``piece_m``; a KD-tree over piece midpoints proposes ``k``
candidates, the exact point-to-segment distance picks the best (tested only on the
candidates whose midpoint is near enough for them to be the nearest or a tie), and a point
whose answer is not provably the nearest (a non-candidate piece could be closer) asks again
for the next candidates, twice as many each time, until it is. Points that provably have no
piece within reach (a coarse raster of lower bounds on the distance to the nearest piece
midpoint, framed 2 km beyond the network) skip the KD-tree altogether; the others are
located in Z-curve order, so that consecutive queries search the same part of the tree.
Neither ``k``, the order of the points nor the number of threads changes any answer, only
the speed (of pieces at the same distance the lowest index wins, whichever were tested; a
round finds it by a minimum over each tied row's pairs, not a sort).
A point equally near several edges (within ``TIE_M``) also gets every other such edge as a
tie, so that its latency is the minimum over them.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from latcircle.system import usable_cores

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from latcircle.engine.edgelines import EdgeLines
    from latcircle.engine.network import Network

__all__ = ["Locator", "PointLocation"]


#: Most points a thread locates at once (a slice), and most it rules out at once: a slice's
#: temporaries (about five candidate pairs a point, in some twenty arrays) then stay within
#: a core's cache, and none is large enough to be mapped and faulted in afresh. One slice
#: of all points (what one thread took before) cost more CPU and page faults (Wuhan's
#: samples, one thread, fresh processes, 2026-12-07: see CHANGES, "Session round 16").
SLICE_POINTS = 8_192
#: Most points a thread rules out at once (the same reasons, with less work a point).
RULE_OUT_POINTS = 65_536


#: Slices of the points per thread, so that threads stay evenly loaded.
SLICES_PER_THREAD = 8


#: Below this many points per thread, threads cost more than they save.
MIN_POINTS_PER_THREAD = 20_000


#: Longest straight piece the locator indexes (metres), candidates per point in its first
#: KD-tree query, and the factor by which it asks for more when the answer is not proven.
PIECE_M = 40.0


FIRST_K = 8


ESCALATE = 2


#: Where the locator's "no piece" sentinel lies (metres): beyond any search bound, and its
#: squared distance still finite.
SENTINEL_M = 1e150


#: Slack (metres) on the exactness proof against rounding in the distances compared.
PROOF_SLACK_M = 1e-6


#: Two edges within this distance (metres) of each other from a point are equally near: a
#: tie, evaluated on both. Above rounding of UTM coordinates (~1e-10 m), far below anything
#: a map can tell apart, and below ``PROOF_SLACK_M`` so that no unseen piece can tie.
TIE_M = 1e-9


#: cKDTree options: sliding-midpoint splits and exact node boxes query ~20 % faster here
#: and build twice as fast as the defaults.
TREE_OPTIONS = {"balanced_tree": False, "compact_nodes": False}


#: Line coordinates cut into pieces at a time while a locator is built (bounds its
#: temporaries).
BUILD_BLOCK = 1 << 18


#: Side (metres) of the coarse raster that rules points out of the KD-tree query, and the
#: most cells it may have (the side grows for very large networks).
NEAR_CELL_M = 200.0


NEAR_MAX_CELLS = 1_000_000


#: Width (metres) of the empty frame around that raster: points within it are ruled out by
#: the raster too (most of a metro's grid lies beyond the network's box), points beyond it
#: by the box alone when the reach is below it (max drop 1 km by default).
NEAR_MARGIN_M = 2000.0


#: Slack (metres) on that ruling-out, far above any rounding in the bound.
NEAR_SLACK_M = 1.0


#: Side (metres) of the cells of the Z-curve along which the points are located (larger when
#: the raster spans more than 65,536 of them): about the spacing of a metro's samples (on
#: Wuhan's samples, 2026-12-07, 25, 50 and 100 m order the KD-tree queries equally well,
#: 400 m less so). Only the speed depends on it.
SORT_CELL_M = 50.0


@dataclass(frozen=True, slots=True)
class PointLocation:
    """Where points meet the network.

    Attributes
    ----------
    edge
        Index of the nearest edge, -1 where the point is beyond ``max_drop_m``.
    t
        Distance along the edge from its ``u`` end to the projection ``q_p`` (metres).
    drop
        Distance from the point to ``q_p`` (metres); ``inf`` beyond ``max_drop_m``.
    max_drop_m
        The largest drop searched.
    tie_point, tie_edge, tie_t
        Ties: further edges as near (within ``TIE_M``) as ``edge`` to point ``tie_point``,
        with the projection's distance along each; one row per further edge, sorted by
        point then edge. A point's latency is the minimum over its edge and its ties.
    """

    edge: np.ndarray
    t: np.ndarray
    drop: np.ndarray
    max_drop_m: float
    tie_point: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tie_edge: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tie_t: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def has_access(self) -> np.ndarray:
        """Whether each point is within ``max_drop_m`` of the network."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, rows: np.ndarray) -> PointLocation:
        """Return the locations of the points ``rows`` (sorted indices), ties included.

        Parameters
        ----------
        rows
            Increasing point indices.
        """
        keep = np.isin(self.tie_point, rows)
        return PointLocation(
            edge=self.edge[rows],
            t=self.t[rows],
            drop=self.drop[rows],
            max_drop_m=self.max_drop_m,
            tie_point=np.searchsorted(rows, self.tie_point[keep]),
            tie_edge=self.tie_edge[keep],
            tie_t=self.tie_t[keep],
        )


@dataclass(frozen=True)
class _Segments:
    """The straight segments of a block of lines: start, direction, length, offset, owner.

    ``offset`` is the distance along its line from the line's start to the segment's start.
    """

    ax: np.ndarray
    ay: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    edge: np.ndarray


@dataclass(frozen=True, slots=True)
class _Round:
    """One round's tested candidates as flat (row, piece) pairs, and each row's nearest.

    ``row``, ``piece``, ``d2`` (squared distance), ``f`` (fraction along the piece): every
    pair tested, row-major. ``d2_min``, ``piece_min``, ``f_min``: per row, the nearest (of
    equally near the lowest piece index).
    """

    row: np.ndarray
    piece: np.ndarray
    d2: np.ndarray
    f: np.ndarray
    d2_min: np.ndarray
    piece_min: np.ndarray
    f_min: np.ndarray


def _line_blocks(geometry: EdgeLines) -> list[slice]:
    """Split the lines into runs of whole lines of about ``BUILD_BLOCK`` coordinates each."""
    ends = np.cumsum(geometry.num_coordinates(), dtype=np.int64)
    cuts = np.searchsorted(
        ends, np.arange(BUILD_BLOCK, int(ends[-1]) if len(ends) else 0, BUILD_BLOCK), side="right"
    )
    bounds = np.unique(np.r_[0, cuts, len(geometry)])
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _segments(geometry: EdgeLines, first_edge: int, carry: float) -> tuple[_Segments, float]:
    """Split lines into their straight segments (each line's vertices in order).

    ``geometry`` is a block of whole lines, the first being edge ``first_edge``; ``carry`` is
    the running sum of the lengths of every segment before the block, returned updated. The
    offsets come from that one running sum over all segments in order, block after block:
    the same additions in the same order as a single ``cumsum`` over every segment, so the
    same bits whatever the blocks.
    """
    coords, owner = geometry.coordinates()
    start = np.flatnonzero(owner[1:] == owner[:-1])  # a segment from each such vertex
    edge = owner[start]
    edge += first_edge
    del owner
    ax, ay = coords[start, 0], coords[start, 1]
    start += 1
    dx, dy = coords[start, 0] - ax, coords[start, 1] - ay
    del coords, start
    length = np.hypot(dx, dy)
    # Offset of each segment's start along its edge: cumulative length within the edge.
    cum = np.cumsum(np.r_[carry, length])[1:]
    carry = float(cum[-1]) if len(cum) else carry
    if not len(edge):
        return _Segments(ax, ay, dx, dy, length, length, edge), carry
    start_of_edge = np.r_[0, np.flatnonzero(edge[1:] != edge[:-1]) + 1]
    base = np.repeat(
        cum[start_of_edge] - length[start_of_edge], np.diff(np.r_[start_of_edge, len(edge)])
    )
    cum -= length
    cum -= base
    seg = _Segments(ax=ax, ay=ay, dx=dx, dy=dy, length=length, offset=cum, edge=edge)
    return seg, carry


def _n_cut(geometry: EdgeLines, piece_m: float) -> int:
    """Return the number of pieces the segments of these lines are cut into."""
    coords, owner = geometry.coordinates()
    start = np.flatnonzero(owner[1:] == owner[:-1])
    length = np.hypot(
        coords[start + 1, 0] - coords[start, 0], coords[start + 1, 1] - coords[start, 1]
    )
    return int(np.maximum(1, np.ceil(length / piece_m)).astype(np.int64).sum())


class Locator:
    """Exact nearest-edge projection for many points.

    Parameters
    ----------
    network
        The network to locate on.
    piece_m
        Longest straight piece indexed. Smaller pieces tighten the proof of exactness (fewer
        points ask again) but make a larger tree.
    k
        Candidates tested per point before the exactness check.

    Notes
    -----
    The reported edge is canonical: of pieces at the same computed distance the one with the
    lowest index (the lowest edge, then the nearest its ``u`` end) wins, so the answer is the
    same whatever ``k`` or the number of threads. Every other edge within ``TIE_M`` of as
    near is reported too (``PointLocation.tie_*``), so that evaluation can take the minimum
    latency over them rather than depend on line order.
    """

    def __init__(self, network: Network, *, piece_m: float = PIECE_M, k: int = FIRST_K) -> None:
        geometry = network.geometry
        blocks = _line_blocks(geometry)
        # Pieces are counted, then cut, a block of whole lines at a time: no array over every
        # segment is ever held (at 1 M nodes those were ~200 MB beside the pieces themselves).
        # One block (most cities): its segments are made once, counted and cut.
        only = _segments(geometry.take(blocks[0]), 0, 0.0) if len(blocks) == 1 else None
        if only is not None:
            n = int(np.maximum(1, np.ceil(only[0].length / piece_m)).astype(np.int64).sum())
        else:
            n = sum(_n_cut(geometry.take(b), piece_m) for b in blocks)
        # Final arrays allocated once and filled block by block; each value is the same
        # elementwise expression over the same inputs, so the same bits whatever the blocks.
        # One extra slot: the sentinel piece (index n, what the tree returns for "no
        # neighbour"), farther than any bound yet finite so that its arithmetic stays quiet.
        self._ax, self._ay = np.empty(n + 1), np.empty(n + 1)
        self._dx, self._dy = np.empty(n + 1), np.empty(n + 1)
        self._off = np.empty(n)
        # Edge of each piece (with the sentinel's "no edge"): 32 bits while they fit.
        small = network.n_edges < np.iinfo(np.int32).max
        self._edge_s = np.empty(n + 1, dtype=np.int32 if small else np.int64)
        mid = np.empty((n, 2))
        longest, at, carry = 0.0, 0, 0.0
        for block in blocks:
            seg, carry = only or _segments(geometry.take(block), block.start, carry)
            only = None
            n_cut = np.maximum(1, np.ceil(seg.length / piece_m)).astype(np.int64)
            longest = max(longest, self._cut(seg, n_cut, at, mid))
            at += int(n_cut.sum())
            del seg, n_cut
        self._ax[n], self._ay[n], self._dx[n], self._dy[n] = SENTINEL_M, SENTINEL_M, 0.0, 0.0
        self._edge_s[n] = -1
        self._edge = self._edge_s[:n]
        self._half = longest / 2
        self._tree = cKDTree(mid, **TREE_OPTIONS)  # holds ``mid`` itself: no copy
        self._k = min(k, n)
        self._near = _NearBound(mid)
        self.network = network

    def _cut(self, seg: _Segments, n_cut: np.ndarray, at: int, mid: np.ndarray) -> float:
        """Cut the segments ``seg`` into pieces, written from piece ``at``; return the longest.

        A segment is cut into ``n_cut`` equal pieces: piece ``j`` runs from fraction ``j/n``
        to ``(j+1)/n`` of it.
        """
        rep = np.repeat(np.arange(len(n_cut)), n_cut)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(n_cut) - n_cut, n_cut)
        cuts = n_cut[rep]
        f0 = j / cuts
        f1 = (j + 1) / cuts
        del j, cuts
        pieces = slice(at, at + len(rep))
        # Piece ends a + d·f, one coordinate at a time (1-D gathers are several times faster).
        ax, sx = seg.ax[rep], seg.dx[rep]
        x0, x1 = ax + sx * f0, ax + sx * f1
        ay, sy = seg.ay[rep], seg.dy[rep]
        y0, y1 = ay + sy * f0, ay + sy * f1
        del ax, sx, ay, sy
        self._ax[pieces], self._ay[pieces] = x0, y0
        dx, dy = x1 - x0, y1 - y0
        self._dx[pieces], self._dy[pieces] = dx, dy
        mid[pieces, 0] = (x0 + x1) / 2
        mid[pieces, 1] = (y0 + y1) / 2
        self._off[pieces] = seg.offset[rep] + seg.length[rep] * f0
        self._edge_s[pieces] = seg.edge[rep]
        return float(np.hypot(dx, dy).max()) if len(dx) else 0.0

    def _piece_len(self, piece: np.ndarray) -> np.ndarray:
        """Length of the pieces given by index (from their direction: no per-piece array)."""
        return np.hypot(self._dx[piece], self._dy[piece])

    @property
    def n_pieces(self) -> int:
        """Number of straight pieces indexed."""
        return len(self._edge)

    def locate(
        self, x: np.ndarray, y: np.ndarray, *, max_drop_m: float, workers: int = -1
    ) -> PointLocation:
        """Project points onto their nearest edge.

        Parameters
        ----------
        x, y
            Point coordinates in the network's CRS.
        max_drop_m
            Points farther than this from every edge get ``edge = -1``.
        workers
            Threads sharing the points (as scipy's ``workers``: -1 for every usable core).
            Each point's answer depends on that point alone, so the result is the same
            whatever the number.

        Returns
        -------
        PointLocation
        """
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        n = len(x)
        edge = np.full(n, -1, dtype=np.int64)
        t = np.zeros(n)
        drop = np.full(n, np.inf)
        bound = max_drop_m + self._half + 1e-6
        found: list[tuple[np.ndarray, ...]] = []  # tie candidates, one tuple per part

        def work(at: np.ndarray) -> None:
            found.append(self._locate_part(x, y, at, bound, max_drop_m, edge, t, drop))

        n_threads = self._threads(n, workers)
        if n_threads == 1:
            near = self._near_points(x, y, bound, n_threads, map)
            for at in self._shares(near, n_threads):
                work(at)
        else:
            # The ruling-out, the KD-tree queries and the numpy arithmetic all release the GIL
            # and each part writes its own rows, so threads use every core for the whole step
            # (not only the tree query, as scipy's ``workers`` alone would).
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                near = self._near_points(x, y, bound, n_threads, pool.map)
                list(pool.map(work, self._shares(near, n_threads)))
        tie_point, tie_edge, tie_t = self._ties(found, edge, drop)
        return PointLocation(
            edge=edge,
            t=t,
            drop=drop,
            max_drop_m=max_drop_m,
            tie_point=tie_point,
            tie_edge=tie_edge,
            tie_t=tie_t,
        )

    def _ties(
        self, found: list[tuple[np.ndarray, ...]], edge: np.ndarray, drop: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every further edge within ``TIE_M`` of as near as each point's answer.

        ``found`` holds (point, piece, squared distance, fraction) of every piece of another
        edge than the best of its round that was within ``TIE_M`` of that best. The best only
        gets nearer, so every piece within ``TIE_M`` of the final answer is among them (a
        piece of the then-best edge is covered by that edge's best piece, recorded when it
        was displaced); what is no longer that near, or on the answer's edge, is dropped.
        One row per (point, edge): its nearest piece, of equally near the lowest index.
        """
        if found:
            point, piece, d2, f = (np.concatenate(c) for c in zip(*found, strict=True))
        else:
            point, piece, d2, f = (
                np.zeros(0, np.int64),
                np.zeros(0, np.int64),
                np.zeros(0),
                np.zeros(0),
            )
        e = self._edge_s[piece]
        keep = (edge[point] >= 0) & (e != edge[point]) & (np.sqrt(d2) <= drop[point] + TIE_M)
        point, piece, d2, f, e = point[keep], piece[keep], d2[keep], f[keep], e[keep]
        order = np.lexsort((piece, d2, e, point))
        point, piece, e, f = point[order], piece[order], e[order], f[order]
        first = np.r_[True, (point[1:] != point[:-1]) | (e[1:] != e[:-1])][: len(point)]
        point, piece, e, f = point[first], piece[first], e[first], f[first]
        t = np.minimum(self._off[piece] + f * self._piece_len(piece), self.network.length[e])
        return point.astype(np.int64), e.astype(np.int64), t

    @staticmethod
    def _threads(n: int, workers: int) -> int:
        """Return the threads to use for ``n`` points (one below ``MIN_POINTS_PER_THREAD``)."""
        n_threads = usable_cores() if workers < 0 else max(workers, 1)
        return max(1, min(n_threads, n // MIN_POINTS_PER_THREAD))

    @staticmethod
    def _slices(n: int, n_threads: int, most: int) -> list[slice]:
        """Return the slices of ``n`` points that ``n_threads`` threads share.

        Several slices per thread, taken in turn as threads free up, so that no thread waits
        on a slower share. A slice never exceeds ``most`` points (cache and memory).
        """
        per_thread = 1 if n_threads == 1 else SLICES_PER_THREAD
        size = max(1, min(most, -(-n // (n_threads * per_thread))))
        return [slice(lo, min(lo + size, n)) for lo in range(0, n, size)]

    def _shares(self, near: np.ndarray, n_threads: int) -> list[np.ndarray]:
        """Split the points to locate (in spatial order) into the threads' shares."""
        return [near[part] for part in self._slices(len(near), n_threads, SLICE_POINTS)]

    def _near_points(
        self,
        x: np.ndarray,
        y: np.ndarray,
        bound: float,
        n_threads: int,
        map_: Callable[..., Iterator[tuple[np.ndarray, np.ndarray]]],
    ) -> np.ndarray:
        """Return the points that may have a piece midpoint within ``bound``, in spatial order.

        The others would get no candidate from the KD-tree anyway. The order (a Z-curve,
        :meth:`_NearBound.z_order`) makes consecutive queries search the same part of the
        tree: on Wuhan's 325,587 such samples (2026-12-07, one thread) the first round's
        ``k = 8`` queries took 0.29-0.30 s CPU in this order against 0.35 s in the samples'
        own (grid rows, then pixels), for ~0.013 s of ordering. Each point's answer depends on
        that point alone, so not on the order.
        """

        def rule_out(rows: slice) -> tuple[np.ndarray, np.ndarray]:
            near = self._near.within(x[rows], y[rows], bound + NEAR_SLACK_M)
            return near + (rows.start or 0), self._near.z_order(x[rows][near], y[rows][near])

        found = list(map_(rule_out, self._slices(len(x), n_threads, RULE_OUT_POINTS)))
        if not found:
            return np.zeros(0, np.intp)
        near = np.concatenate([f[0] for f in found])
        key = np.concatenate([f[1] for f in found])
        del found  # the parts' arrays: only the whole ones are kept from here
        order = np.argsort(key, kind="stable")
        del key
        return near[order]

    def _locate_part(
        self,
        x: np.ndarray,
        y: np.ndarray,
        at: np.ndarray,
        bound: float,
        max_drop_m: float,
        edge: np.ndarray,
        t: np.ndarray,
        drop: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """Locate the points ``at``, write their answers in place, return tie candidates."""
        piece, dist, frac, ties = self._nearest_pieces(x[at], y[at], bound)
        hit = (piece < self.n_pieces) & (dist <= max_drop_m)
        rows, piece, frac = at[hit], piece[hit], frac[hit]
        e = self._edge[piece]
        edge[rows] = e
        t[rows] = np.minimum(
            self._off[piece] + frac * self._piece_len(piece), self.network.length[e]
        )
        drop[rows] = dist[hit]
        tie_row, tie_piece, tie_d2, tie_f = ties
        return at[tie_row], tie_piece, tie_d2, tie_f

    def _nearest_pieces(
        self, px: np.ndarray, py: np.ndarray, bound: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """Return each point's nearest piece, its distance, the fraction along it, and ties.

        A point with no piece midpoint within ``bound`` gets piece ``n_pieces`` and ``inf``.
        Ties are candidates (row, piece, squared distance, fraction) for :meth:`_ties`.
        """
        n = len(px)
        rows = np.arange(n)
        k = min(self._k, self.n_pieces)
        if n == 0 or k == 0:  # no point, or no piece to locate on
            return np.full(n, self.n_pieces, np.int64), np.full(n, np.inf), np.zeros(n), _no_ties()
        # The first round, on every point: no best before it, so each takes its round's
        # nearest (what the rounds after it do against a best of ``inf``, without the gathers).
        dist, idx = self._query(px, py, 0, k, bound)
        cand = self._round(px, py, dist, idx, np.inf, bound)
        found = cand.piece_min < self.n_pieces  # the sentinel is never an answer
        best = cand.piece_min.astype(np.int64, copy=False)
        best_d2 = np.where(found, cand.d2_min, np.inf)  # squared: compared exactly as computed
        best_f = np.where(found, cand.f_min, 0.0)
        ties = [self._tie_candidates(rows, cand, found, None, best)]
        rows = self._unproven(rows, dist, best_d2)
        seen, k = k, min(k * ESCALATE, self.n_pieces)
        while len(rows) and k > seen:
            # Candidates seen + 1 .. k are new (and any tied with the first of them).
            qx, qy = px[rows], py[rows]
            dist, idx = self._query(qx, qy, seen, k, bound)
            cand = self._round(qx, qy, dist, idx, np.sqrt(best_d2[rows]), bound)
            old = best[rows], best_d2[rows], best_f[rows]
            better = self._keep_best(rows, cand, old, best, best_d2, best_f)
            ties.append(self._tie_candidates(rows, cand, better, old, best))
            rows = self._unproven(rows, dist, best_d2)
            seen, k = k, min(k * ESCALATE, self.n_pieces)
        pairs = tuple(np.concatenate(c) for c in zip(*ties, strict=True))
        return best, np.sqrt(best_d2), best_f, pairs

    def _unproven(self, rows: np.ndarray, dist: np.ndarray, best_d2: np.ndarray) -> np.ndarray:
        """Return the ``rows`` whose best is not proven the nearest by their round's ``dist``.

        A piece not among the round's has its midpoint at least ``dist[:, -1]`` away, so it is
        at least that less half the longest piece away: the answer is proven when the best is
        below that (strictly, so no unseen piece can tie), or when fewer pieces than asked for
        are within the bound (``inf``: none unseen). The rest ask again with more candidates:
        points far from a road, and near dense junctions.
        """
        last = dist[:, -1]
        best_d = np.sqrt(best_d2[rows])
        return rows[np.isfinite(last) & (best_d >= last - self._half - PROOF_SLACK_M)]

    def _query(
        self, qx: np.ndarray, qy: np.ndarray, seen: int, k: int, bound: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``k`` nearest piece midpoints within ``bound``, from the first unseen.

        Returns the distances and pieces (``n_pieces`` and ``inf`` where fewer are within
        ``bound``) of the columns ``seen`` on, and before them any of the first ``seen``
        that is as far as column ``seen``: among equally far midpoints the tree's order
        may differ from one query to the next (a larger ``k`` keeps another heap), so a
        piece tied across that line may not have been among the ``seen`` tested before.
        Testing one again changes nothing.
        """
        dist, idx = self._tree.query(np.column_stack([qx, qy]), k=k, distance_upper_bound=bound)
        dist, idx = dist.reshape(len(qx), k), idx.reshape(len(qx), k)
        if seen:
            tied = dist[:, :seen] == dist[:, seen : seen + 1]
            lo = int(np.argmax(tied.any(axis=0))) if tied.any() else seen
            dist, idx = dist[:, lo:], idx[:, lo:]
            if lo < seen:  # columns before ``seen`` not tied: their pieces were tested
                dist[:, : seen - lo][~tied[:, lo:]] = np.inf
        return dist, idx

    def _round(
        self,
        px: np.ndarray,
        py: np.ndarray,
        dist: np.ndarray,
        idx: np.ndarray,
        best_d: np.ndarray | float,
        bound: float,
    ) -> _Round:
        """Test one round's candidates: only those that may be nearest or tie, as flat pairs.

        The nearest piece is at most as far as the first candidate's midpoint (it lies on its
        piece) or the best so far, ``ref``; a candidate whose midpoint is more than ``ref +
        half`` away is farther than ``ref`` by more than ``PROOF_SLACK_M`` (above ``TIE_M``):
        never the answer nor a tie, so it is not tested (about 2 of 5 in a city). The first
        candidate is always tested (the sentinel where the tree found none).
        """
        ref = np.minimum(best_d, dist[:, 0])
        # Within the tree's bound: the "none" columns (inf) are never taken.
        reach = np.minimum(ref + (self._half + PROOF_SLACK_M), bound)
        keep = dist <= reach[:, None]
        keep[:, 0] = True
        flat = np.flatnonzero(keep)  # row-major: each row's pairs together, from column 0
        row = flat // keep.shape[1]
        piece = idx.ravel()[flat]
        d2, f = self._to_pieces(px[row], py[row], piece)
        # Canonical choice: the nearest, and of equally near pieces the lowest index.
        d2_min = np.minimum.reduceat(d2, np.flatnonzero(flat % keep.shape[1] == 0))
        chosen = _lowest_at_min(row, piece, d2 == d2_min[row])
        return _Round(
            row=row,
            piece=piece,
            d2=d2,
            f=f,
            d2_min=d2_min,
            piece_min=piece[chosen],
            f_min=f[chosen],
        )

    def _keep_best(
        self,
        rows: np.ndarray,
        cand: _Round,
        old: tuple[np.ndarray, np.ndarray, np.ndarray],
        best: np.ndarray,
        best_d2: np.ndarray,
        best_f: np.ndarray,
    ) -> np.ndarray:
        """Take the round's nearest where it beats the best so far; return where it did."""
        old_piece, old_d2, _ = old
        better = (
            (cand.d2_min < old_d2) | ((cand.d2_min == old_d2) & (cand.piece_min < old_piece))
        ) & (cand.piece_min < self.n_pieces)  # the sentinel is never an answer
        at = rows[better]
        best[at], best_d2[at], best_f[at] = (
            cand.piece_min[better],
            cand.d2_min[better],
            cand.f_min[better],
        )
        return better

    def _tie_candidates(
        self,
        rows: np.ndarray,
        cand: _Round,
        better: np.ndarray,
        previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        best: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """Pieces of another edge than the best within ``TIE_M`` of it, after one round.

        This round's tested candidates, and the previous best when this round displaced it
        (``previous`` is ``None`` in the first round: there was none).
        """
        best_edge = self._edge_s[best[rows]]
        d2_best = cand.d2_min if previous is None else np.minimum(previous[1], cand.d2_min)
        thr = (np.sqrt(d2_best) + TIE_M) ** 2
        # Near pairs: mostly each row's own best; of those, the ones on another edge.
        near = np.flatnonzero(cand.d2 <= thr[cand.row])
        near = near[self._edge_s[cand.piece[near]] != best_edge[cand.row[near]]]
        if previous is None:
            return rows[cand.row[near]], cand.piece[near], cand.d2[near], cand.f[near]
        old, old_d2, old_f = previous
        shown = better & (old < self.n_pieces) & (old_d2 <= thr) & (self._edge_s[old] != best_edge)
        return (
            np.concatenate([rows[cand.row[near]], rows[shown]]),
            np.concatenate([cand.piece[near], old[shown]]),
            np.concatenate([cand.d2[near], old_d2[shown]]),
            np.concatenate([cand.f[near], old_f[shown]]),
        )

    def _to_pieces(
        self, px: np.ndarray, py: np.ndarray, piece: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Squared distance from points to pieces given by index, and the fraction along each.

        ``px``, ``py`` are columns broadcast against ``piece``; index ``n_pieces`` (the
        tree's "none") is the sentinel, farther than any bound.
        """
        # w = p - a; f = clip(w·d / |d|², 0, 1); e = w - f·d; |e|². In place on the gathered
        # copies: this is the innermost loop of every location.
        wx = self._ax.take(piece)
        np.subtract(px, wx, out=wx)
        wy = self._ay.take(piece)
        np.subtract(py, wy, out=wy)
        dx, dy = self._dx.take(piece), self._dy.take(piece)
        # |d|² from the gathered terms (as cheap as gathering it, and no per-piece array); a
        # zero-length piece (the sentinel too) gets 1: its fraction is then 0, its start.
        denom = dx * dx
        tmp = dy * dy
        denom += tmp
        denom[denom == 0.0] = 1.0
        f = wx * dx
        np.multiply(wy, dy, out=tmp)
        f += tmp
        f /= denom
        np.clip(f, 0.0, 1.0, out=f)
        dx *= f
        wx -= dx
        dy *= f
        wy -= dy
        wx *= wx
        wy *= wy
        wx += wy
        return wx, f


def _lowest_at_min(row: np.ndarray, piece: np.ndarray, at_min: np.ndarray) -> np.ndarray:
    """Per row (pairs row-major), the position of the lowest piece of those at the minimum.

    Of several pairs with that piece (never in a round: a row's pieces are distinct) the first.
    """
    pos = np.flatnonzero(at_min)
    r = row[pos]
    several = r[1:] == r[:-1]
    if not several.any():  # one pair at each row's minimum (no exact tie)
        return pos
    # Exact ties (a lattice of samples on a lattice of streets has many): each row's pairs
    # at its minimum are consecutive in ``pos``; keep the run's lowest piece, no sort.
    start = np.flatnonzero(np.r_[True, ~several])
    p = piece[pos]
    lowest = np.minimum.reduceat(p, start)
    at = p == np.repeat(lowest, np.diff(np.r_[start, len(pos)]))
    pos, r = pos[at], r[at]
    return pos[np.r_[True, r[1:] != r[:-1]]]


def _no_ties() -> tuple[np.ndarray, ...]:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0)


class _NearBound:
    """A lower bound on the distance from any point to the nearest of a set of points.

    The points are binned into a coarse raster; a Euclidean distance transform gives each
    cell the distance ``D`` between its centre and the nearest occupied cell's centre. A point
    in that cell is at least ``D - √2·cell`` from every binned point (each is within half a
    diagonal of its cell centre). The raster reaches ``NEAR_MARGIN_M`` beyond the points'
    bounding box; beyond it the distance to that box is the bound.
    """

    def __init__(self, xy: np.ndarray) -> None:
        from scipy.ndimage import distance_transform_edt  # only when a Locator is built

        x, y = xy[:, 0], xy[:, 1]
        self._lo = (float(x.min()), float(y.min())) if len(x) else (0.0, 0.0)
        self._hi = (float(x.max()), float(y.max())) if len(x) else (0.0, 0.0)
        span_x, span_y = self._hi[0] - self._lo[0], self._hi[1] - self._lo[1]
        area = (span_x + 1.0) * (span_y + 1.0)
        self._cell = max(NEAR_CELL_M, float(np.sqrt(area / NEAR_MAX_CELLS)))
        cols, rows = int(span_x // self._cell) + 1, int(span_y // self._cell) + 1
        occupied = np.zeros((rows, cols), dtype=bool)
        for lo in range(0, len(x), BUILD_BLOCK):  # in blocks: no point-sized temporaries
            bx, by = x[lo : lo + BUILD_BLOCK], y[lo : lo + BUILD_BLOCK]
            col = np.minimum(np.floor((bx - self._lo[0]) / self._cell).astype(np.intp), cols - 1)
            row = np.minimum(np.floor((by - self._lo[1]) / self._cell).astype(np.intp), rows - 1)
            occupied[row, col] = True
        # A frame of empty cells ``NEAR_MARGIN_M`` wide: points that far out get their bound
        # from the raster too, and points beyond it are farther than the margin.
        self._pad = int(np.ceil(NEAR_MARGIN_M / self._cell))
        occupied = np.pad(occupied, self._pad)
        self._origin = (self._lo[0] - self._pad * self._cell, self._lo[1] - self._pad * self._cell)
        centre_m = distance_transform_edt(~occupied) * self._cell
        self._bound = np.maximum(centre_m - np.sqrt(2.0) * self._cell, 0.0)

    def z_order(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return keys that sort points along a Z-curve (Morton order) over the raster.

        Cells of ``SORT_CELL_M`` or more (16 bits a coordinate); points off the raster take
        the cell of its nearest edge.
        """
        (x0, y0), span = self._origin, self._cell * max(self._bound.shape)
        cell = max(SORT_CELL_M, span / 65535.0)
        col = np.clip((x - x0) / cell, 0.0, 65535.0).astype(np.uint32)
        row = np.clip((y - y0) / cell, 0.0, 65535.0).astype(np.uint32)
        key = _spread_bits(col)
        key |= _spread_bits(row) << np.uint32(1)
        return key

    def within(self, x: np.ndarray, y: np.ndarray, reach: float) -> np.ndarray:
        """Return the indices of the points whose lower bound is at most ``reach`` (metres).

        Only those may have a point within ``reach``. A point off the raster is bounded by
        its distance to the points' bounding box: more than the margin.
        """
        rows, cols = self._bound.shape
        # The raster's cells within reach, in a frame of cells that are never within it: a
        # point off the raster lands in the frame and is decided by the box below.
        ok = np.zeros((rows + 2, cols + 2), dtype=bool)
        ok[1:-1, 1:-1] = self._bound <= reach
        col = np.floor((x - self._origin[0]) / self._cell)
        row = np.floor((y - self._origin[1]) / self._cell)
        # fmax/fmin: a NaN coordinate lands in the frame too (and its box distance is NaN).
        np.fmin(np.fmax(col, -1.0, out=col), cols, out=col)
        np.fmin(np.fmax(row, -1.0, out=row), rows, out=row)
        c, r = col.astype(np.intp), row.astype(np.intp)
        c += 1
        r += 1
        hit = ok[r, c]
        if reach > self._pad * self._cell - NEAR_SLACK_M:  # off the raster may be in reach
            (x0, y0), (x1, y1) = self._lo, self._hi
            off = np.flatnonzero((c == 0) | (r == 0) | (c == cols + 1) | (r == rows + 1))
            ox, oy = x[off], y[off]
            box = np.hypot(
                np.maximum(np.maximum(x0 - ox, ox - x1), 0.0),
                np.maximum(np.maximum(y0 - oy, oy - y1), 0.0),
            )
            hit[off[box <= reach]] = True
        return np.flatnonzero(hit)


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Spread the low 16 bits of each ``uint32`` to its even bits (in place)."""
    for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
        v |= v << np.uint32(shift)
        v &= np.uint32(mask)
    return v
