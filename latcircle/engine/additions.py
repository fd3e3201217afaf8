"""Planned network additions: fibre spurs joined to the network at a point of a host edge.

A spur runs from an attach point ``q`` on a host edge (``t`` metres from its ``u`` end) to a
far end ``g``. Adding it splits the host edge at ``q`` (a new node; the first piece keeps the
host's index, the others are appended) and appends the spur as an edge ``q → g`` with its own
online year. Every other edge keeps its index, so points located before keep their edge.

The planner (:mod:`latcircle.analysis.plan`) evaluates its spurs on exactly the network this
module builds, and a run given the plan's ``network-planned.gpkg`` builds it again from the
same numbers: the planned shares are reproduced exactly.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.ops

from latcircle.engine.edgelines import EdgeLines
from latcircle.engine.network import Network
from latcircle.errors import InputError

__all__ = ["check_spurs", "with_spurs"]

#: How far (m) a spur's first point may lie from its attach point on the host edge.
ATTACH_TOLERANCE_M = 0.01


def with_spurs(
    network: Network,
    *,
    host_edge: np.ndarray,
    host_t: np.ndarray,
    far_x: np.ndarray,
    far_y: np.ndarray,
    online_year: np.ndarray,
) -> Network:
    """Return the network with spurs added, their host edges split at the attach points.

    Parameters
    ----------
    network
        The network as built from the inputs.
    host_edge, host_t
        Per spur, the host edge and the attach point's distance along it from ``u`` (m).
        ``t`` at an end (0 or the length) attaches at that end's node, without a split.
    far_x, far_y
        Per spur, the far end (local CRS).
    online_year
        Per spur, its online year (NaN: always there).

    Returns
    -------
    Network
        Nodes: the network's, then one per distinct inner attach point (by host edge, then
        ``t``), then one far end per spur. Edges: the network's (a host edge shortened to its
        first piece), then the further pieces, then the spurs in the order given.
    """
    n_spurs = len(host_edge)
    if n_spurs == 0:
        return network
    host_edge = np.asarray(host_edge, np.int64)
    host_t = np.asarray(host_t, float)
    sp = _split_hosts(network, host_edge, host_t)
    xs, ys, comp, attach, n = sp.xs, sp.ys, sp.comp, sp.attach, sp.n
    u, v, length, geom, years = sp.u, sp.v, sp.length, sp.geom, sp.years
    new_u, new_v, new_geom, new_year = sp.new_u, sp.new_v, sp.new_geom, sp.new_year
    far = np.arange(n, n + n_spurs)
    start = np.concatenate(xs), np.concatenate(ys)
    spur_geom = shapely.linestrings(
        np.stack(
            [
                np.stack([start[0][attach], start[1][attach]], 1),
                np.stack([np.asarray(far_x, float), np.asarray(far_y, float)], 1),
            ],
            axis=1,
        )
    )
    comp_all = np.concatenate([*comp, np.concatenate(comp)[attach]])
    geoms = np.concatenate([geom, np.array(new_geom, dtype=object), spur_geom])
    all_years = np.concatenate([years, new_year, np.asarray(online_year, float)])
    out_len = np.concatenate([length, shapely.length(np.array(new_geom, dtype=object)), []])
    out_len = np.concatenate([out_len, shapely.length(spur_geom)])
    x = np.concatenate([start[0], np.asarray(far_x, float)])
    y = np.concatenate([start[1], np.asarray(far_y, float)])
    stats = {
        **network.stats,
        "nodes": float(len(x)),
        "edges": float(len(geoms)),
        "planned_spurs": float(n_spurs),
        "length_km": float(out_len.sum() / 1000.0),
    }
    return dataclasses.replace(
        network,
        x=x,
        y=y,
        u=np.concatenate([u, np.array(new_u, np.int64), attach]).astype(network.u.dtype),
        v=np.concatenate([v, np.array(new_v, np.int64), far]).astype(network.v.dtype),
        length=out_len,
        geometry=EdgeLines.from_geometry(geoms),
        node_device_us=np.r_[network.node_device_us, np.zeros(len(x) - network.n_nodes)],
        component=comp_all,
        stats=stats,
        edge_online_year=all_years if np.isfinite(all_years).any() else None,
    )


@dataclass
class _Split:
    """The host edges split at the attach points (what :func:`with_spurs` assembles)."""

    xs: list[np.ndarray]
    ys: list[np.ndarray]
    comp: list[np.ndarray]
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    geom: np.ndarray
    years: np.ndarray
    new_u: list[int] = field(default_factory=list)
    new_v: list[int] = field(default_factory=list)
    new_geom: list[object] = field(default_factory=list)
    new_year: list[float] = field(default_factory=list)
    attach: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n: int = 0


def _split_hosts(network: Network, host_edge: np.ndarray, host_t: np.ndarray) -> _Split:
    """Split every host edge at its spurs' inner attach points; find each spur's node."""
    xs, ys = [network.x], [network.y]
    n_spurs = len(host_edge)
    u, v = network.u.copy(), network.v.copy()
    length, geom = network.length.copy(), np.array(network.geometry, dtype=object)
    comp = [network.component]
    years = (
        network.edge_online_year.copy()
        if network.edge_online_year is not None
        else np.full(network.n_edges, np.nan)
    )
    new_u: list[int] = []
    new_v: list[int] = []
    new_geom: list[object] = []
    new_year: list[float] = []
    attach = np.empty(n_spurs, np.int64)
    n = network.n_nodes
    for e in np.unique(host_edge).tolist():
        mine = np.flatnonzero(host_edge == e)
        line, ell = network.geometry[e], float(network.length[e])
        at_u = host_t[mine] <= 0.0
        at_v = host_t[mine] >= ell
        attach[mine[at_u]] = network.u[e]
        attach[mine[at_v & ~at_u]] = network.v[e]
        inner = mine[~at_u & ~at_v]
        cuts = np.unique(host_t[inner])
        if len(cuts) == 0:
            continue
        bounds = np.r_[0.0, cuts, ell]
        pieces = [
            shapely.ops.substring(line, float(a), float(b)) for a, b in itertools.pairwise(bounds)
        ]
        ends = shapely.get_coordinates(np.array([shapely.get_point(p, -1) for p in pieces[:-1]]))
        nodes = np.arange(n, n + len(cuts))
        n += len(cuts)
        xs.append(ends[:, 0])
        ys.append(ends[:, 1])
        comp.append(np.full(len(cuts), network.component[network.u[e]]))
        attach[inner] = nodes[np.searchsorted(cuts, host_t[inner])]
        chain = np.r_[network.u[e], nodes, network.v[e]]
        v[e], geom[e] = chain[1], pieces[0]
        length[e] = shapely.length(pieces[0])
        for k in range(1, len(pieces)):
            new_u.append(int(chain[k]))
            new_v.append(int(chain[k + 1]))
            new_geom.append(pieces[k])
            new_year.append(float(years[e]))
    return _Split(
        xs, ys, comp, u, v, length, geom, years, new_u, new_v, new_geom, new_year, attach, n
    )


def check_spurs(
    network: Network,
    *,
    host_edge: np.ndarray,
    host_t: np.ndarray,
    start_x: np.ndarray,
    start_y: np.ndarray,
    source: str,
) -> None:
    """Refuse spurs that do not fit this network (planned on another one, or edited).

    Raises
    ------
    InputError
        Naming the file, the field and the first spur that does not fit.
    """
    e = np.asarray(host_edge)
    bad = (e < 0) | (e >= network.n_edges)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        last = network.n_edges - 1
        msg = f"spur {i + 1}: host edge {int(e[i])} is not an edge of this network (0..{last})"
        raise InputError(source, "host_edge", msg)
    ell = network.length[e]
    t = np.asarray(host_t, float)
    bad = ~np.isfinite(t) | (t < 0) | (t > ell)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"spur {i + 1}: host_t {t[i]!r} is not within its host edge (0..{ell[i]:.3f} m)"
        raise InputError(source, "host_t", msg)
    q = shapely.line_interpolate_point(network.geometry[e], t)
    off = np.hypot(shapely.get_x(q) - start_x, shapely.get_y(q) - start_y)
    bad = ~(off <= ATTACH_TOLERANCE_M)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"spur {i + 1} starts {off[i]:.3f} m from its attach point on host edge {int(e[i])}: "
            "the additions were planned on another network"
        )
        raise InputError(source, "geometry", msg)
