"""Access builds: fibre spurs to demand without access, their cost and what they bring.

docs/plan.md, *Access builds* and *Cost model*.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from latcircle.analysis.coverage import covered
from latcircle.analysis.metro import Metro
from latcircle.analysis.plan.views import YearView
from latcircle.engine.latency import LatencyField
from latcircle.engine.locator import PointLocation
from latcircle.engine.network import Network

__all__ = ["spur_costs", "spur_hits"]


def _with_access_builds(
    metro: Metro, builds: gpd.GeoDataFrame, view: YearView, basis: str, rows: np.ndarray
) -> gpd.GeoDataFrame:
    """Append one spur per tile of demand without access (docs/plan.md, Access builds).

    Spurs join the network of the first goal year (``view``); their host edge is kept as an
    index of the whole network (links only come online, so it exists in later years too).
    """
    cfg = metro.config.plan
    samples = view.samples[basis]
    loc = samples.location
    dark = rows[~loc.has_access[rows] & (samples.weight[rows] > 0)]
    if len(dark) == 0:
        return builds
    sx, sy = samples.coordinates()
    tile = cfg.access_tile_m
    tx = np.floor(sx[dark] / tile).astype(np.int64)
    ty = np.floor(sy[dark] / tile).astype(np.int64)
    keys, inv = np.unique(np.stack([tx, ty], axis=1), axis=0, return_inverse=True)
    inv = inv.ravel()
    w = samples.weight[dark]
    wsum = np.bincount(inv, weights=w)
    gx = np.bincount(inv, weights=w * sx[dark]) / wsum
    gy = np.bincount(inv, weights=w * sy[dark]) / wsum
    far = view.locator.locate(gx, gy, max_drop_m=1e9)
    ok = far.edge >= 0
    qx, qy = _point_on_edge(view.network, far.edge[ok], far.t[ok])
    far = dataclasses.replace(far, edge=np.where(ok, view.edges[np.maximum(far.edge, 0)], -1))
    lines = shapely.linestrings(
        np.stack([np.stack([qx, qy], 1), np.stack([gx[ok], gy[ok]], 1)], axis=1)
    )
    length = far.drop[ok]
    tiles = keys[ok]
    if cfg.max_spur_m is not None:  # spurs longer than the limit are not considered
        short = length <= cfg.max_spur_m
        lines, length, tiles = lines[short], length[short], tiles[short]
        qe, qt = far.edge[ok][short], far.t[ok][short]
    else:
        qe, qt = far.edge[ok], far.t[ok]
    spur = gpd.GeoDataFrame(
        {
            "build_id": [f"A{int(a)}_{int(b)}" for a, b in tiles],
            "kind": "access",
            "name": [f"fibre spur to tile {int(a)},{int(b)}" for a, b in tiles],
            "tier": "access",
            "cost": spur_costs(lines, metro=metro),
            "device_latency_us": np.nan,
            "earliest_year": pd.array([pd.NA] * len(tiles), dtype="Int64"),
            "existing": -1,
            "length_m": length,
            "source": "demand without access",
            "q_edge": qe,
            "q_t": qt,
        },
        geometry=lines,
        crs=metro.inputs.crs,
    )
    out = pd.concat([builds, spur], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metro.inputs.crs)


def spur_costs(lines: np.ndarray, *, metro: Metro) -> np.ndarray:
    """Return each spur's cost: a fixed part plus the per-km cost scaled by cost factors.

    ``plan.access_fixed_cost + plan.access_cost_per_km × Σ length_km × factor`` along the
    spur, the factor being 1 outside the ``plan.cost_factors`` polygons and, inside, the
    largest factor of the polygons there (docs/plan.md, *Cost model*).

    Parameters
    ----------
    lines
        The spurs (LineStrings, local CRS).
    metro
        The prepared metro (its config's plan section).
    """
    cfg = metro.config.plan
    length_km = shapely.length(lines) / 1000.0
    weighted = length_km.copy()
    if cfg.cost_factors is not None and len(lines):
        from latcircle.inputs.candidates import read_cost_factors

        polys = read_cost_factors(cfg.cost_factors, metro.inputs.crs)
        levels = np.unique(polys["factor"].to_numpy(float))[::-1]
        inside_before = np.zeros(len(lines))
        for f in levels:  # highest factor first: where polygons overlap, the largest counts
            region = shapely.union_all(polys.geometry[polys["factor"] >= f].to_numpy())
            inside = shapely.length(shapely.intersection(lines, region)) / 1000.0
            weighted += (f - 1.0) * (inside - inside_before)
            inside_before = inside
    return cfg.access_fixed_cost + cfg.access_cost_per_km * weighted


def _point_on_edge(
    network: Network, edge: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pts = shapely.line_interpolate_point(network.geometry[edge], t)
    return shapely.get_x(pts), shapely.get_y(pts)


def spur_hits(
    metro: Metro,
    field: LatencyField,
    spurs: gpd.GeoDataFrame,
    x: np.ndarray,
    y: np.ndarray,
    *,
    budget_ms: float,
) -> list[np.ndarray]:
    """Return, for each fibre spur, the points it brings within the budget.

    A point within the max drop of a spur from ``q`` (on the network) to ``g`` is reached at
    its projection ``q_p`` onto the spur, ``s`` metres from ``q``, with latency
    ``L(q) + factor·k·r·(s + |p − q_p|)``; ``L(q)`` comes from the field (the sites online).

    Parameters
    ----------
    metro
        The prepared metro.
    field
        The sites' latency field.
    spurs
        Access builds (``q_edge``, ``q_t``, line geometry ``q → g``).
    x, y
        The points (local CRS), meant to be points without access.
    budget_ms
        The budget (ms), applied with the one covered rule
        (:func:`~latcircle.analysis.coverage.covered`).

    Returns
    -------
    list of numpy.ndarray
        Per spur, indices into ``x`` of the points it covers.
    """
    p = metro.params
    if len(spurs) == 0:
        return []
    at_q = PointLocation(
        edge=spurs["q_edge"].to_numpy(np.int64),
        t=spurs["q_t"].to_numpy(float),
        drop=np.zeros(len(spurs)),
        max_drop_m=p.max_drop_m,
    )
    lq = field.at(at_q)[0]
    coords = shapely.get_coordinates(spurs.geometry.to_numpy()).reshape(-1, 2, 2)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    out = []
    for j in range(len(spurs)):
        (ax, ay), (bx, by) = coords[j]
        if not np.isfinite(lq[j]) or len(x) == 0:
            out.append(np.zeros(0, np.int64))
            continue
        # Only points in the spur's box grown by the max drop can be within it.
        lo, hi = np.searchsorted(xs, [min(ax, bx) - p.max_drop_m, max(ax, bx) + p.max_drop_m])
        cand = order[lo:hi]
        py_ = y[cand]
        cand = cand[(py_ >= min(ay, by) - p.max_drop_m) & (py_ <= max(ay, by) + p.max_drop_m)]
        px_, py_ = x[cand], y[cand]
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        s = (
            np.zeros(len(cand))
            if ll == 0
            else np.clip(((px_ - ax) * dx + (py_ - ay) * dy) / ll, 0, 1)
        )
        drop = np.hypot(px_ - (ax + s * dx), py_ - (ay + s * dy))
        lat = lq[j] + p.factor * p.us_per_m * (s * np.sqrt(ll) + drop)
        within = covered(lat, budget_ms=budget_ms)
        out.append(np.sort(cand[(drop <= p.max_drop_m) & within]))
    return out


def _spur_hits(
    metro: Metro,
    field: LatencyField,
    view: YearView,
    spurs: gpd.GeoDataFrame,
    basis: str,
    rows: np.ndarray,
    *,
    budget_ms: float,
) -> list[np.ndarray]:
    """Per spur, the indices into ``rows`` of the points it covers (:func:`spur_hits`)."""
    samples = view.samples[basis]
    idx = np.flatnonzero(~samples.location.has_access[rows])
    if len(spurs) == 0 or len(idx) == 0:
        return [np.zeros(0, np.int64) for _ in range(len(spurs))]
    pts = rows[idx]
    sx, sy = samples.coordinates()
    on_view = spurs.assign(q_edge=view.to_view(spurs["q_edge"].to_numpy(np.int64)))
    hits = spur_hits(metro, field, on_view, sx[pts], sy[pts], budget_ms=budget_ms)
    return [idx[h] for h in hits]
