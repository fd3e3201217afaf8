"""Latency of every located point from each site (or each group of sites) on its own.

The multi-source pass of :mod:`latcircle.engine.latency` gives each point the latency of its
*best* site only. Sensitivity (which site serves a point changes with the route factor when
sites carry different device latencies) and protection (the best *other* site, N−1) need the
latency from each site apart. Here every site, or every group of sites, is solved on its own
with the same engine (:func:`latcircle.engine.latency.solve` with only those sites online), so
each column is exactly what a run with only those sites online computes, and the minimum over
the columns of all online sites is exactly the run's latency (the same floating-point sums
along the same paths).

:func:`path_lengths` measures instead the cable route in metres (site drop + network path +
point drop) on a network without per-node device latency: there a site's latency is
``factor·(E + extras + S_s + k·r·length_s)``, linear in ``r`` and ``E`` with the path fixed.

Arrays only: no files, no DataFrames.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from latcircle.config import LatencyParams
from latcircle.engine.latency import (
    NO_SITE,
    LatencyField,
    SiteAttachment,
    _Along,
    access_terms,
    arc_matrix,
    direct_paths,
    solve,
    weigh_access,
)
from latcircle.engine.locator import PointLocation
from latcircle.engine.network import Network

__all__ = [
    "BestTwo",
    "SiteLatencies",
    "best_two",
    "best_two_by_nodes",
    "best_two_of_fields",
    "evaluate_fields",
    "group_fields",
    "length_fields",
    "path_lengths",
    "site_latencies",
    "unit_params",
]


@dataclass(frozen=True, slots=True)
class SiteLatencies:
    """Latency (or route length) of every point from each group of sites.

    Attributes
    ----------
    groups
        The site indices of each column (a single site per column for
        :func:`site_latencies` called without ``groups``).
    values
        ``(n_points, n_groups)``: latency in µs (or length in metres for
        :func:`path_lengths`) from the nearest site of each group; ``inf`` where the point has
        no access or no site of the group reaches it.
    """

    groups: tuple[np.ndarray, ...]
    values: np.ndarray

    def best_two(self) -> BestTwo:
        """Return the best and second-best column per point (:func:`best_two`)."""
        return best_two(self.values)


@dataclass(frozen=True, slots=True)
class BestTwo:
    """The best and the second-best column of each point.

    Attributes
    ----------
    best, second
        The lowest and second-lowest value of each point (``inf`` when none).
    best_col, second_col
        Their column index (``-1`` when the value is ``inf``). Of equal values the lower
        column comes first.
    """

    best: np.ndarray
    best_col: np.ndarray
    second: np.ndarray
    second_col: np.ndarray


def best_two(values: np.ndarray) -> BestTwo:
    """Return the lowest and second-lowest value of each row, with their columns.

    Parameters
    ----------
    values
        ``(n, m)`` values; ``inf`` for none.

    Returns
    -------
    BestTwo
    """
    values = np.asarray(values, dtype=float)
    n, m = values.shape
    if m == 0:
        none = np.full(n, np.inf)
        col = np.full(n, NO_SITE, np.int64)
        return BestTwo(best=none, best_col=col, second=none.copy(), second_col=col.copy())
    # A stable sort keeps equal values in column order: ties go to the lower column.
    order = np.argsort(values, axis=1, kind="stable")[:, :2]
    rows = np.arange(n)
    best_col = order[:, 0].astype(np.int64)
    best = values[rows, best_col]
    if m > 1:
        second_col = order[:, 1].astype(np.int64)
        second = values[rows, second_col]
    else:
        second_col = np.full(n, NO_SITE, np.int64)
        second = np.full(n, np.inf)
    best_col = np.where(np.isfinite(best), best_col, NO_SITE)
    second_col = np.where(np.isfinite(second), second_col, NO_SITE)
    return BestTwo(best=best, best_col=best_col, second=second, second_col=second_col)


def best_two_of_fields(
    fields: Iterable[LatencyField],
    locs: Sequence[PointLocation],
    *,
    gather: bool = False,
    hold_bytes: int = 2**25,
) -> list[BestTwo]:
    """Return :func:`best_two` of each ``loc``'s per-field latencies, one field at a time.

    The same as ``best_two(evaluate_fields(fields, groups, loc).values)`` for every ``loc``
    (column ``j`` is the ``j``-th field), without the ``(points × fields)`` table: the two
    lowest ``(value, column)`` pairs are kept as the fields come. A later column displaces a
    kept pair only when strictly lower, which is the stable sort's order (ties to the lower
    column). Fields may come from a generator (:func:`~latcircle.engine.latency.solve_each`).

    Parameters
    ----------
    fields
        Latency fields, in column order.
    locs
        Points located on the fields' network, one set per result.
    gather
        Take the fields in runs of about ``hold_bytes`` of node arrays, and gather each
        ``loc``'s access terms (:func:`~latcircle.engine.latency.access_terms`) once per run
        of fields of one network, not once per field: the same values (each point's columns
        still come in column order), fewer passes over the points.
    hold_bytes
        With ``gather``: about how many bytes of fields' node arrays to hold at once.

    Returns
    -------
    list of BestTwo
        One per ``loc``.
    """
    state = [
        (np.full(len(loc), np.inf), np.full(len(loc), NO_SITE, np.int64), np.full(len(loc), np.inf))
        for loc in locs
    ]
    second_cols = [np.full(len(loc), NO_SITE, np.int64) for loc in locs]
    runs = _runs(fields, hold_bytes) if gather else ((j, [f]) for j, f in enumerate(fields))
    for start, run in runs:
        for (best, best_col, second), second_col, loc in zip(state, second_cols, locs, strict=True):
            terms = None
            for j, lat_field in enumerate(run, start=start):
                if gather and (terms is None or not terms.fit(lat_field)):
                    terms = access_terms(lat_field.network, lat_field.params, loc)
                v = lat_field.at(loc, terms=terms)[0] if gather else lat_field.at(loc)[0]
                # As positions, not masks: each assignment then visits its hits only.
                lower = v < best
                low = np.flatnonzero(lower)
                between = np.flatnonzero(v < second)
                between = between[~lower[between]]
                second[between], second_col[between] = v[between], j
                second[low], second_col[low] = best[low], best_col[low]
                best[low], best_col[low] = v[low], j
    return [
        BestTwo(best=best, best_col=best_col, second=second, second_col=second_col)
        for (best, best_col, second), second_col in zip(state, second_cols, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class BestPair:
    """The lowest and second-lowest value of each point over columns, and the sole best.

    Attributes
    ----------
    best, second
        As :class:`BestTwo`'s (``inf`` when none).
    sole_col
        The best's column where no other column is as low (``best < second``), else ``-1``:
        there :class:`BestTwo`'s ``best_col`` is the same column.
    """

    best: np.ndarray
    second: np.ndarray
    sole_col: np.ndarray


def best_two_by_nodes(
    fields: Iterable[LatencyField], locs: Sequence[PointLocation]
) -> list[BestPair]:
    """Return :func:`best_two_of_fields`'s values through each node's best two fields.

    Without per-node device latency a point's latency from field ``j`` is
    ``h(min(N_j[u] + a, N_j[v] + b, d_j))`` over its edge and its ties, with ``N_j`` the
    field's node latencies, ``a``, ``b`` the along-edge terms to the edge's ends, ``d_j``
    the direct path from a site of ``j`` on that edge and ``h`` the same increasing steps
    (``E``, the drop, the round-trip factor) for every field. Floating-point addition and
    ``h`` are non-decreasing, so the lowest value over the fields is the value built from
    each end's lowest node latency, and the lowest over the fields but one column ``c`` from
    each end's lowest but ``c`` (its second where its lowest is ``c``'s): each node's best
    two fields give both, the same floats, without evaluating every field at every point.
    The column of an equal best may differ from the stable rule's, so it is given only
    where it is the sole best (:class:`BestPair`).

    Parameters
    ----------
    fields
        Latency fields of one network, parameters and site attachment, each of one site
        alone (:func:`~latcircle.engine.latency.solve_each`), in column order.
    locs
        Points located on the fields' network, one set per result.

    Returns
    -------
    list of BestPair
        One per ``loc``.

    Raises
    ------
    ValueError
        Without fields, when a field is not of one site alone, of another network or
        model, or when nodes carry device latency (points at a node are reached through it
        there: use :func:`best_two_of_fields`).
    """
    b1, c1, b2, first, sites = _node_best_two(fields)
    return [_pair_at(first, loc, (b1, c1, b2), sites) for loc in locs]


def _node_best_two(
    fields: Iterable[LatencyField],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, LatencyField, np.ndarray]:
    """Each node's lowest and second-lowest latency over ``fields``, and the lowest's column.

    A later field displaces a kept value only when strictly lower (ties to the lower
    column). Also the first field and each field's site (:func:`best_two_by_nodes`).
    """
    it = iter(fields)
    first = next(it, None)
    if first is None:
        raise ValueError("best_two_by_nodes needs at least one field")
    if first.network.node_device_us.any():
        msg = "best_two_by_nodes: nodes carry device latency (use best_two_of_fields)"
        raise ValueError(msg)
    n = len(first.node_us)
    b1, c1, b2 = np.full(n, np.inf), np.full(n, NO_SITE, np.int64), np.full(n, np.inf)
    sites = []
    for j, f in enumerate(itertools.chain([first], it)):
        same = f.network is first.network and f.attachment is first.attachment
        if len(f.sites) != 1 or not same or f.params != first.params:
            msg = "best_two_by_nodes takes single-site fields of one network and model"
            raise ValueError(msg)
        sites.append(int(f.sites[0]))
        v = f.node_us
        lower = v < b1
        low = np.flatnonzero(lower)
        between = np.flatnonzero(v < b2)
        between = between[~lower[between]]
        b2[between] = v[between]
        b2[low], b1[low], c1[low] = b1[low], v[low], j
    return b1, c1, b2, first, np.array(sites, dtype=np.int64)


def _merge(
    pair: tuple[np.ndarray, np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge two ``(lowest, its column, lowest of the other columns)`` of the same points.

    The lowest of the two, a column that reaches it, and the lowest of every other column:
    each side's lowest where its column is not the kept one, else its second.
    """
    (v1, k1, w1), (v2, k2, w2) = pair, other
    take = v2 < v1
    col = np.where(take, k2, k1)
    second = np.minimum(np.where(k1 != col, v1, w1), np.where(k2 != col, v2, w2))
    return np.minimum(v1, v2), col, second


def _pair_at(
    first: LatencyField,
    loc: PointLocation,
    nodes: tuple[np.ndarray, np.ndarray, np.ndarray],
    sites: np.ndarray,
) -> BestPair:
    """:func:`best_two_by_nodes` at one set of located points."""
    n = len(loc)
    terms = access_terms(first.network, first.params, loc)
    best, col, second = np.full(n, np.inf), np.full(n, NO_SITE, np.int64), np.full(n, np.inf)
    rows = terms.rows
    best[rows], col[rows], second[rows] = _row_pairs(first, terms.nearest, nodes, sites)
    if len(loc.tie_point):
        p = loc.tie_point
        t1, tc, t2 = _row_pairs(first, terms.ties, nodes, sites)
        # Per point the lowest over its edge and its ties, a column reaching it, then the
        # lowest of the other columns over every row of the point.
        near1, near_col, near2 = best.copy(), col.copy(), second
        np.minimum.at(best, p, t1)
        hit = np.flatnonzero(t1 == best[p])
        col[p[hit]] = tc[hit]
        second = np.where(near_col != col, near1, near2)
        np.minimum.at(second, p, np.where(tc != col[p], t1, t2))
    return BestPair(best=best, second=second, sole_col=np.where(best < second, col, NO_SITE))


def _row_pairs(
    first: LatencyField,
    a: _Along,
    nodes: tuple[np.ndarray, np.ndarray, np.ndarray],
    sites: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row on ``a``: the lowest latency, a column reaching it, the lowest of the others.

    Each value is :meth:`~latcircle.engine.latency.LatencyField.at`'s expression for the
    field of that column: ``N[u] + a``, ``N[v] + b``, the direct path from a site on the
    same edge, then ``E``, the drop and the factor.
    """
    b1, c1, b2 = nodes
    pair = _merge(
        (b1[a.u] + a.to_u_us, c1[a.u], b2[a.u] + a.to_u_us),
        (b1[a.v] + a.to_v_us, c1[a.v], b2[a.v] + a.to_v_us),
    )
    pair = _with_direct(first, a, pair, sites)
    best = weigh_access(first.params, pair[0], a.drop_us, in_place=False)[0]
    return best, pair[1], weigh_access(first.params, pair[2], a.drop_us, in_place=False)[0]


def _with_direct(
    first: LatencyField,
    a: _Along,
    pair: tuple[np.ndarray, np.ndarray, np.ndarray],
    sites: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the direct along-edge path of each site entering on a row's edge (its column).

    The same paths :meth:`LatencyField.at` takes (:func:`direct_paths`); ``sites`` holds
    each column's site.
    """
    col_of = {int(s): j for j, s in enumerate(sites)}
    v1, k1, w1 = pair
    copied = False
    for s, on_edge, direct in direct_paths(
        first.network, first.attachment, first.params, sites, a.edge, a.t
    ):
        if not copied:  # the caller's arrays are left as they are
            v1, k1, w1, copied = v1.copy(), k1.copy(), w1.copy(), True
        none = np.full(len(on_edge), np.inf)
        kept = (v1[on_edge], k1[on_edge], w1[on_edge])
        merged = _merge(kept, (direct, np.full(len(on_edge), col_of[s]), none))
        v1[on_edge], k1[on_edge], w1[on_edge] = merged
    return v1, k1, w1


def _runs(
    fields: Iterable[LatencyField], hold_bytes: int
) -> Iterator[tuple[int, list[LatencyField]]]:
    """Yield ``(first column, fields)`` runs of about ``hold_bytes`` of node arrays each."""
    run: list[LatencyField] = []
    start = 0
    for lat_field in fields:
        run.append(lat_field)
        held = sum(f.node_us.nbytes + f.node_site.nbytes for f in run)
        if held >= hold_bytes:
            yield start, run
            start, run = start + len(run), []
    if run:
        yield start, run


def group_fields(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    *,
    groups: Sequence[np.ndarray],
    arcs: csr_matrix | None = None,
) -> tuple[LatencyField, ...]:
    """Solve each group of sites on its own (one Dijkstra pass per group).

    Parameters
    ----------
    network
        The network.
    attachment
        All sites' attachment (:func:`~latcircle.engine.latency.attach_sites`).
    params
        The latency model.
    groups
        Site indices per group.
    arcs
        The network's arc matrix for ``params``, to reuse.

    Returns
    -------
    tuple of LatencyField
        One per group, to evaluate at any located points (:func:`evaluate_fields`).
    """
    if arcs is None:
        arcs = arc_matrix(network, params)
    n_sites = len(attachment.offset_us)
    out = []
    for group in groups:
        online = np.zeros(n_sites, dtype=bool)
        online[np.asarray(group, dtype=np.int64)] = True
        out.append(solve(network, attachment, params, online=online, arcs=arcs))
    return tuple(out)


def evaluate_fields(
    fields: Sequence[LatencyField], groups: Sequence[np.ndarray], loc: PointLocation
) -> SiteLatencies:
    """Evaluate per-group fields (:func:`group_fields`) at located points, one column each."""
    values = np.full((len(loc), len(fields)), np.inf)
    terms = None
    for j, lat_field in enumerate(fields):
        # What does not depend on the sites is gathered once for every field that shares it.
        if terms is None or not terms.fit(lat_field):
            terms = access_terms(lat_field.network, lat_field.params, loc)
        values[:, j] = lat_field.at(loc, terms=terms)[0]
    return SiteLatencies(groups=tuple(np.asarray(g, dtype=np.int64) for g in groups), values=values)


def site_latencies(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    loc: PointLocation,
    *,
    sites: np.ndarray | None = None,
    groups: Sequence[np.ndarray] | None = None,
    arcs: csr_matrix | None = None,
) -> SiteLatencies:
    """Return every point's latency from each site (or group of sites) on its own.

    Each column is one :func:`~latcircle.engine.latency.solve` with only that site (group)
    online, evaluated at ``loc``: exactly the latency a run with only those sites computes,
    ``E``, extras and the round-trip factor included.

    Parameters
    ----------
    network
        The network.
    attachment
        All sites' attachment (:func:`~latcircle.engine.latency.attach_sites`).
    params
        The latency model.
    loc
        Points located on ``network``.
    sites
        Site indices, one column each (e.g. the sites online in a year). Ignored when
        ``groups`` is given; every site when both are ``None``.
    groups
        Site indices per column: the column is the best site of the group.
    arcs
        The network's arc matrix for ``params``, to reuse.

    Returns
    -------
    SiteLatencies
    """
    groups = _groups(attachment, sites, groups)
    fields = group_fields(network, attachment, params, groups=groups, arcs=arcs)
    return evaluate_fields(fields, groups, loc)


def _groups(
    attachment: SiteAttachment, sites: np.ndarray | None, groups: Sequence[np.ndarray] | None
) -> tuple[np.ndarray, ...]:
    if groups is None:
        idx = np.arange(len(attachment.offset_us)) if sites is None else np.asarray(sites)
        return tuple(np.array([s], dtype=np.int64) for s in idx)
    return tuple(np.asarray(g, dtype=np.int64) for g in groups)


def unit_params(params: LatencyParams) -> LatencyParams:
    """Return ``params`` measuring length: 1 µs per metre, no fixed latency, one way."""
    return dataclasses.replace(
        params,
        k_us_per_m=1.0,
        route_factor=1.0,
        equipment_us=0.0,
        site_device_us=0.0,
        extra_us=0.0,
        factor=1.0,
    )


def length_fields(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    *,
    groups: Sequence[np.ndarray],
) -> tuple[LatencyField, ...]:
    """Solve each group for route length in metres (see :func:`path_lengths`).

    Raises
    ------
    ValueError
        When nodes carry device latency: the shortest route then depends on ``r``.
    """
    if network.node_device_us.any():
        msg = "path lengths are not fixed when nodes carry device latency (re-solve per r)"
        raise ValueError(msg)
    unit = unit_params(params)
    loc_s = attachment.location
    drop = np.where(loc_s.edge >= 0, loc_s.drop, np.inf)
    metres = SiteAttachment(location=loc_s, offset_us=drop)
    return group_fields(network, metres, unit, groups=groups, arcs=arc_matrix(network, unit))


def path_lengths(
    network: Network,
    attachment: SiteAttachment,
    params: LatencyParams,
    loc: PointLocation,
    *,
    sites: np.ndarray | None = None,
    groups: Sequence[np.ndarray] | None = None,
) -> SiteLatencies:
    """Return every point's cable route length (metres) from each site (or group) on its own.

    The length counts the site's drop, the network path and the point's drop: with it a
    site's latency is ``factor·(E + extras + S_s + k·r·length)`` for every ``r`` and ``E``
    (the shortest route does not depend on them when nodes carry no device latency).

    Parameters
    ----------
    network
        A network without per-node device latency.
    attachment
        All sites' attachment (its site drops are used; its offsets are not).
    params
        The latency model (only its ``max_drop_m`` matters here).
    loc
        Points located on ``network``.
    sites, groups
        As for :func:`site_latencies`.

    Returns
    -------
    SiteLatencies
        ``values`` in metres.

    Raises
    ------
    ValueError
        When nodes carry device latency: the shortest route then depends on ``r``.
    """
    groups = _groups(attachment, sites, groups)
    return evaluate_fields(length_fields(network, attachment, params, groups=groups), groups, loc)
