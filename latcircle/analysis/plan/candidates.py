"""The planner's candidates: junctions at a minimum spacing, known data centres, builds.

Every build the plan may choose from (docs/plan.md, *Candidates*).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from latcircle.analysis.metro import Metro
from latcircle.analysis.plan.core import Goal
from latcircle.errors import InputError

__all__ = ["auto_candidates", "auto_candidates_at_most", "candidate_builds"]


#: A known data centre this close (m) to an existing site is that site (fetch merges OSM and
#: PeeringDB points within 300 m for the same reason; here: an assumption).
KNOWN_DC_MERGE_M = 300.0


def auto_candidates(metro: Metro, *, spacing_m: float, cost: float) -> gpd.GeoDataFrame:
    """Return the automatic candidate sites: network junctions at least a spacing apart.

    The rule (greedy by degree, a Poisson-disc thinning): nodes of degree ≥ 3 inside the
    metro, taken by degree (highest first, then lowest index); a node is kept when no node
    kept before lies within ``spacing_m`` of it. So no two candidates are closer than the
    spacing, and each junction left out has a kept one of no lower degree within it.

    Parameters
    ----------
    metro
        The prepared metro.
    spacing_m
        The minimum distance between two candidates.
    cost
        Cost of each candidate.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`latcircle.inputs.candidates.read_candidates` returns (ids by node index).
    """
    return _junction_frame(metro, _Junctions(metro).thinned(spacing_m), cost)


def auto_candidates_at_most(
    metro: Metro, *, spacing_m: float, cost: float, most: int
) -> gpd.GeoDataFrame:
    """Return :func:`auto_candidates` at ``spacing_m``, doubled until at most ``most`` remain.

    The same frame as calling :func:`auto_candidates` at ``spacing_m``, ``2 * spacing_m``,
    ... until one gives at most ``most`` rows; the junctions are found, ordered and indexed
    once for all the spacings (the map's what-if panel: its candidates are solved one by one).

    Parameters
    ----------
    metro
        The prepared metro.
    spacing_m
        The first spacing tried.
    cost
        Cost of each candidate.
    most
        The most candidates wanted (at least 1).

    Returns
    -------
    geopandas.GeoDataFrame
    """
    junctions = _Junctions(metro)
    keep = junctions.thinned(spacing_m)
    while len(keep) > most:
        spacing_m *= 2.0
        keep = junctions.thinned(spacing_m)
    return _junction_frame(metro, keep, cost)


class _Junctions:
    """The metro's junctions (degree ≥ 3, inside it) in :func:`auto_candidates`' order."""

    def __init__(self, metro: Metro) -> None:
        from scipy.spatial import cKDTree

        net = metro.network
        degree = np.bincount(np.concatenate([net.u, net.v]), minlength=net.n_nodes)
        inside = shapely.contains_xy(metro.inputs.boundary, net.x, net.y)
        nodes = np.flatnonzero((degree >= 3) & inside)
        self.nodes = nodes[np.lexsort((nodes, -degree[nodes]))]
        self.xy = np.column_stack([net.x[self.nodes], net.y[self.nodes]])
        self.tree = cKDTree(self.xy) if len(self.nodes) else None

    def thinned(self, spacing_m: float) -> np.ndarray:
        """Return the nodes kept at ``spacing_m`` (the greedy rule), ascending."""
        free = np.ones(len(self.nodes), bool)
        kept = []
        for i in range(len(self.nodes)):
            if not free[i]:
                continue
            kept.append(self.nodes[i])
            assert self.tree is not None
            # Strictly closer than the spacing is ruled out; exactly at it is allowed.
            near = self.tree.query_ball_point(self.xy[i], np.nextafter(spacing_m, 0.0))
            free[near] = False
        return np.sort(np.array(kept, dtype=np.int64))


def _junction_frame(metro: Metro, keep: np.ndarray, cost: float) -> gpd.GeoDataFrame:
    """Return the candidates at the nodes ``keep`` (ascending), as :func:`auto_candidates` does."""
    net = metro.network
    ids = [f"J{i:05d}" for i in range(1, len(keep) + 1)]
    return gpd.GeoDataFrame(
        {
            "cand_id": ids,
            "name": [f"junction {n}" for n in keep],
            "tier": "medium",
            "cost": float(cost),
            "device_latency_us": metro.params.site_device_us,
            "earliest_year": pd.array([pd.NA] * len(keep), dtype="Int64"),
            "kind": "site",
            "source": "network junction (automatic)",
        },
        geometry=gpd.points_from_xy(net.x[keep], net.y[keep]),
        crs=metro.inputs.crs,
    )


def _with_known_dc(metro: Metro, candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add the known data centres (``plan.known_dc``) inside the metro as candidates.

    A known data centre within :data:`KNOWN_DC_MERGE_M` of an existing site is that site
    (left out), and so is one outside the metro.
    """
    spec = metro.config.plan
    if spec.known_dc is None:
        return candidates
    from latcircle.inputs.candidates import read_known_dc

    dc = read_known_dc(
        spec.known_dc,
        metro.inputs.crs,
        cost=spec.tier_cost.get("known_dc", spec.known_dc_cost),
        device_latency_us=metro.params.site_device_us,
    )
    x, y = dc.geometry.x.to_numpy(), dc.geometry.y.to_numpy()
    inside = shapely.contains_xy(metro.inputs.boundary, x, y)
    sites = metro.inputs.sites.geometry
    if len(sites):
        from scipy.spatial import cKDTree

        d, _ = cKDTree(np.column_stack([sites.x, sites.y])).query(np.column_stack([x, y]))
        inside &= d > KNOWN_DC_MERGE_M
    dc = dc[inside]
    if len(candidates) == 0:
        return dc.reset_index(drop=True)
    out = pd.concat([candidates, dc], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metro.inputs.crs)


def candidate_builds(
    metro: Metro,
    goals: list[Goal],
    *,
    candidates: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Return every build the plan may choose from, in column order.

    Parameters
    ----------
    metro
        The prepared metro.
    goals
        The goals (their first year decides which sites can be brought forward).
    candidates
        Candidate sites (:func:`read_candidates` or :func:`auto_candidates`). Access
        builds are added by :func:`coverage_sets`, which knows the demand without access.

    Returns
    -------
    geopandas.GeoDataFrame
        ``build_id``, ``kind``, ``name``, ``tier``, ``cost``, ``device_latency_us``,
        ``earliest_year``, ``existing`` (index of the existing site, -1), ``length_m``.
    """
    frames = [_brought_forward(metro, goals[0].year)]
    if candidates is not None and len(candidates):
        frames.append(_candidate_frame(metro, candidates))
    frames = [f for f in frames if f is not None]
    if not frames:
        return _empty_builds(metro.inputs.crs)
    out = pd.concat(frames, ignore_index=True)
    out["earliest_year"] = out["earliest_year"].astype("Int64")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metro.inputs.crs)


def _brought_forward(metro: Metro, first: int) -> pd.DataFrame | None:
    """Return the existing sites planned after the first goal year as builds (None: none)."""
    cfg = metro.config.plan
    sites = metro.inputs.sites
    later = sites["online_year"].notna() & (sites["online_year"].fillna(0) > first)
    if not later.any():
        return None
    idx = np.flatnonzero(later.to_numpy())
    return pd.DataFrame(
        {
            "build_id": [f"{s}@early" for s in sites["site_id"].iloc[idx]],
            "kind": "bring_forward",
            "name": sites["name"].iloc[idx].to_numpy(),
            "tier": sites["tier"].iloc[idx].to_numpy(),
            "cost": cfg.bring_forward_cost,
            "device_latency_us": sites["device_latency_us"].iloc[idx].to_numpy(),
            "earliest_year": pd.array([pd.NA] * len(idx), dtype="Int64"),
            "existing": idx,
            "length_m": 0.0,
            "source": "sites file (online_year brought forward)",
            "geometry": sites.geometry.iloc[idx].to_numpy(),
        }
    )


def _candidate_frame(metro: Metro, candidates: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the candidate sites as builds; refuse an id an existing site already has."""
    cfg = metro.config.plan
    clash = set(candidates["cand_id"]) & set(metro.inputs.sites["site_id"])
    if clash:
        src = cfg.candidates.path if cfg.candidates is not None else "candidates"
        raise InputError(src, "id", f"id {sorted(clash)[0]!r} is already an existing site's")
    return pd.DataFrame(
        {
            "build_id": candidates["cand_id"].to_numpy(),
            "kind": (candidates["kind"].to_numpy(dtype=str) if "kind" in candidates else "site"),
            "name": candidates["name"].to_numpy(),
            "tier": candidates["tier"].to_numpy(),
            "cost": candidates["cost"].to_numpy(dtype=float),
            "device_latency_us": candidates["device_latency_us"].to_numpy(dtype=float),
            "earliest_year": candidates["earliest_year"].astype("Int64").to_numpy(),
            "existing": -1,
            "length_m": 0.0,
            "source": (
                candidates["source"].to_numpy(dtype=str)
                if "source" in candidates
                else str(cfg.candidates.path.name if cfg.candidates else "candidates")
            ),
            "geometry": candidates.geometry.to_numpy(),
        }
    )


def _empty_builds(crs: pyproj.CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "build_id": pd.Series(dtype=str),
            "kind": pd.Series(dtype=str),
            "name": pd.Series(dtype=str),
            "tier": pd.Series(dtype=str),
            "cost": pd.Series(dtype=float),
            "device_latency_us": pd.Series(dtype=float),
            "earliest_year": pd.Series(dtype="Int64"),
            "existing": pd.Series(dtype=np.int64),
            "length_m": pd.Series(dtype=float),
            "source": pd.Series(dtype=str),
        },
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )
