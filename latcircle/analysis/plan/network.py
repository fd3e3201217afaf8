"""The planned network: a plan's spurs added to the network, and the shares a run will find.

A plan's fibre spurs are written as ``network-planned.gpkg`` (layer ``spurs``: attach point
on a host edge, far end, online year); a run given that file (``network.additions``) splits
each host edge at its attach point and adds the spur
(:func:`latcircle.engine.additions.with_spurs`). This module builds the *same* network in
memory and evaluates the planned sites on it with the engine, exactly as a run will:
the plan's shares are those numbers, so running ``sites-planned.csv`` with
``network-planned.gpkg`` reproduces them exactly (docs/plan.md, *The planned network*).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from latcircle.analysis.coverage import Samples
from latcircle.analysis.metro import (
    Metro,
    _located_view,
    _View,
    _view_for,
    attach_site_table,
    with_views,
)
from latcircle.engine.additions import with_spurs
from latcircle.engine.latency import arc_matrix
from latcircle.engine.locator import Locator, PointLocation

__all__ = ["SPUR_TABLE_COLUMNS", "network_layers", "planned_metro", "spur_table"]

#: Columns of the spurs table (and of the ``spurs`` layer, with a line geometry).
SPUR_TABLE_COLUMNS = [
    "spur_id",
    "host_edge",
    "host_t",
    "online_year",
    "cost",
    "length_m",
    "x0",
    "y0",
    "x1",
    "y1",
]


def spur_table(builds: gpd.GeoDataFrame, first_year: np.ndarray) -> pd.DataFrame:
    """Return the chosen spurs: attach point, far end, online year (the first year built).

    Parameters
    ----------
    builds
        Every build (access builds carry ``q_edge``, ``q_t`` and a line ``q → g``).
    first_year
        Per build, the first goal year it exists (-1: not built).
    """
    kinds = builds["kind"].to_numpy()
    idx = np.flatnonzero((kinds == "access") & (first_year >= 0))
    if len(idx) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in SPUR_TABLE_COLUMNS})
    sub = builds.iloc[idx]
    xy = shapely.get_coordinates(sub.geometry.to_numpy()).reshape(-1, 2, 2)
    return pd.DataFrame(
        {
            "spur_id": sub["build_id"].to_numpy(dtype=str),
            "host_edge": sub["q_edge"].to_numpy(np.int64),
            "host_t": sub["q_t"].to_numpy(float),
            "online_year": first_year[idx].astype(float),
            "cost": sub["cost"].to_numpy(float),
            "length_m": sub["length_m"].to_numpy(float),
            "x0": xy[:, 0, 0],
            "y0": xy[:, 0, 1],
            "x1": xy[:, 1, 0],
            "y1": xy[:, 1, 1],
        }
    )


def planned_metro(
    metro: Metro,
    *,
    sites: gpd.GeoDataFrame,
    spurs: pd.DataFrame,
    bases: list[str] | None = None,
    years: list[int] | None = None,
    located: Metro | None = None,
) -> Metro:
    """Return the metro as a run of the plan's outputs prepares it (network, sites, samples).

    Parameters
    ----------
    metro
        The prepared metro (network as read).
    sites
        The planned sites as a run reads ``sites-planned.csv``: ``site_id``, ``name``,
        ``tier``, ``online_year``, ``device_latency_us``, point geometry (local CRS).
    spurs
        :func:`spur_table`.
    bases
        Only these bases' samples are located again (all when ``None``).
    years
        Only the views (network of a link online year) these scenario years use are built
        (all when ``None``), as :func:`~latcircle.analysis.metro.prepare` builds them.
    located
        A planned metro made before from ``metro`` with the same ``spurs`` (another
        sites or parameters: :attr:`PlanResult.located`): its network, locator and located
        samples (they depend on the network alone) are reused instead of locating again.
        Without spurs the metro's own are reused.
    """
    keep = bases if bases is not None else list(metro.samples)
    base = _located_base(metro, spurs, keep, located)
    if base is not None:
        network, locator = base.network, base.locator
        samples: Mapping[str, object] = {
            b: dataclasses.replace(s, location=base.samples[b].location)
            for b, s in metro.samples.items()
            if b in keep
        }
    else:
        network = with_spurs(
            metro.network,
            host_edge=spurs["host_edge"].to_numpy(np.int64),
            host_t=spurs["host_t"].to_numpy(float),
            far_x=spurs["x1"].to_numpy(float),
            far_y=spurs["y1"].to_numpy(float),
            online_year=spurs["online_year"].to_numpy(float),
        )
        locator = Locator(network)
        drop = metro.params.max_drop_m
        samples = {
            b: dataclasses.replace(s, location=locator.locate(*s.coordinates(), max_drop_m=drop))
            for b, s in metro.samples.items()
            if b in keep
        }
    params = metro.params
    attachment = attach_site_table(locator, sites, params)
    inputs = dataclasses.replace(metro.inputs, sites=sites)
    out = dataclasses.replace(
        metro,
        inputs=inputs,
        network=network,
        locator=locator,
        attachment=attachment,
        arcs=arc_matrix(network, params) if len(spurs) else metro.arcs,
        samples=samples,  # type: ignore[arg-type]
    )
    if years is None:
        return with_views(out, located=base)
    return dataclasses.replace(out, views=_views_for(out, years, base))


def _located_base(
    metro: Metro, spurs: pd.DataFrame, keep: list[str], located: Metro | None
) -> Metro | None:
    """Return the metro whose network and located samples are reused, if any."""
    base = metro if not len(spurs) else located
    if base is None or not all(b in base.samples for b in keep):
        return None
    return base


def _views_for(
    metro: Metro, years: list[int], located: Metro | None
) -> tuple[tuple[float, _View], ...]:
    """Return the views :meth:`Metro.view` picks for ``years``, built as ``prepare`` does."""
    link = metro.network.edge_online_year
    if link is None:
        return ()
    keys = sorted({float(link[link > y].min()) for y in years if (link > y).any()})
    return tuple(
        (k, _view_for(metro, k, located) if located is not None else _spur_view(metro, k))
        for k in keys
    )


def _spur_view(metro: Metro, key: float) -> _View:
    """Return the view of link key ``key`` on the planned network, from its located samples.

    Leaving links out can only move the points whose edge, or one of whose ties, is left
    out: every other point keeps its nearest edge (the nearest of fewer edges that still
    include it) and ties, renumbered in order. Its distance along the edge is the same bits
    too when no kept edge after the first one left out has more than one straight segment
    (the locator's offsets are running sums over the edges in order, and a one-segment
    edge's is 0): so it is when only spurs (appended last, straight) are left out, as on a
    network without link years. Otherwise every point is located again (``prepare``'s way).
    """
    net = metro.network
    link = net.edge_online_year
    assert link is not None
    keep = ~(link >= key)
    gone = np.flatnonzero(~keep)
    after = np.flatnonzero(keep[gone[0] :]) + gone[0] if len(gone) else gone
    if len(gone) == 0 or (net.geometry.num_coordinates()[after] != 2).any():
        return _located_view(metro, net.subset(keep))
    sub = net.subset(keep)
    locator = Locator(sub)
    renumber = np.cumsum(keep) - 1
    samples = {
        b: dataclasses.replace(
            s, location=_kept_location(s, locator, keep, renumber, metro.params.max_drop_m)
        )
        for b, s in metro.samples.items()
    }
    attachment = attach_site_table(locator, metro.inputs.sites, metro.params)
    return _View(sub, locator, attachment, arc_matrix(sub, metro.params), samples)


def _kept_location(
    samples: Samples, locator: Locator, keep: np.ndarray, renumber: np.ndarray, max_drop_m: float
) -> PointLocation:
    """Return the locations with only the ``keep`` edges: kept as they are, or located again."""
    loc = samples.location
    moved = np.zeros(len(loc), bool)
    moved[loc.edge >= 0] = ~keep[loc.edge[loc.edge >= 0]]
    moved[loc.tie_point[~keep[loc.tie_edge]]] = True
    rows = np.flatnonzero(moved)
    x, y = samples.coordinates()
    again = locator.locate(x[rows], y[rows], max_drop_m=max_drop_m)
    edge = np.where(loc.edge >= 0, renumber[np.maximum(loc.edge, 0)], -1)
    edge[rows] = again.edge
    t, drop = loc.t.copy(), loc.drop.copy()
    t[rows], drop[rows] = again.t, again.drop
    stay = ~moved[loc.tie_point]
    point = np.concatenate([loc.tie_point[stay], rows[again.tie_point]])
    tie_edge = np.concatenate([renumber[loc.tie_edge[stay]], again.tie_edge])
    tie_t = np.concatenate([loc.tie_t[stay], again.tie_t])
    order = np.lexsort((tie_edge, point))  # by point, then edge: as the locator sorts them
    return PointLocation(
        edge=edge.astype(np.int64),
        t=t,
        drop=drop,
        max_drop_m=loc.max_drop_m,
        tie_point=point[order].astype(np.int64),
        tie_edge=tie_edge[order].astype(np.int64),
        tie_t=tie_t[order],
    )


def network_layers(metro: Metro, spurs: pd.DataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Return the layers of ``network-planned.gpkg`` (local CRS).

    ``spurs``: one line per spur (attach point → far end) with :data:`SPUR_TABLE_COLUMNS`
    but the coordinates; a run reads this layer. ``host_split``: the pieces each host line
    is split into at the attach points (``host_edge``, ``piece`` from its first node), for
    people and GIS (a run splits the host line itself, from ``host_edge`` and ``host_t``).
    """
    crs = metro.inputs.crs
    lines = shapely.linestrings(
        np.stack(
            [
                np.stack([spurs["x0"].to_numpy(float), spurs["y0"].to_numpy(float)], 1),
                np.stack([spurs["x1"].to_numpy(float), spurs["y1"].to_numpy(float)], 1),
            ],
            axis=1,
        ).reshape(-1, 2, 2)
    )
    layer = gpd.GeoDataFrame(
        {
            "spur_id": spurs["spur_id"].to_numpy(dtype=str),
            "host_edge": spurs["host_edge"].to_numpy(np.int64),
            "host_t": spurs["host_t"].to_numpy(float),
            "online_year": pd.array(
                [None if np.isnan(y) else int(y) for y in spurs["online_year"]], dtype="Int64"
            ),
            "cost": spurs["cost"].to_numpy(float),
            "length_m": spurs["length_m"].to_numpy(float),
        },
        geometry=gpd.GeoSeries(lines, crs=crs),
        crs=crs,
    )
    return {"spurs": layer, "host_split": _host_split(metro, spurs)}


def _host_split(metro: Metro, spurs: pd.DataFrame) -> gpd.GeoDataFrame:
    import shapely.ops

    net = metro.network
    rows: list[tuple[int, int, object]] = []
    edges = spurs["host_edge"].to_numpy(np.int64)
    t = spurs["host_t"].to_numpy(float)
    for e in np.unique(edges).tolist():
        ell = float(net.length[e])
        cuts = np.unique(t[(edges == e) & (t > 0) & (t < ell)])
        bounds = np.r_[0.0, cuts, ell]
        for k, (a, b) in enumerate(itertools.pairwise(bounds)):
            rows.append((e, k + 1, shapely.ops.substring(net.geometry[e], float(a), float(b))))
    return gpd.GeoDataFrame(
        {
            "host_edge": np.array([r[0] for r in rows], np.int64),
            "piece": np.array([r[1] for r in rows], np.int64),
        },
        geometry=gpd.GeoSeries([r[2] for r in rows], crs=metro.inputs.crs),
        crs=metro.inputs.crs,
    )
