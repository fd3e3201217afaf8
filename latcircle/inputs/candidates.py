"""Read a planner's candidates file: where compute sites could be built, and at what cost.

A candidates file holds points (any vector format, or CSV with lon/lat columns) with the
columns ``id``, ``name``, ``tier``, ``cost``, ``device_latency_us`` and optionally
``earliest_year`` (docs/plan.md). Every problem raises :class:`~latcircle.errors.InputError`
naming the file, the column and the row.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from latcircle.config import MAX_BUILD_COST, VectorInput
from latcircle.errors import InputError
from latcircle.inputs.readers import points_only, read_vector, year_column

__all__ = ["CANDIDATE_COLUMNS", "read_candidates", "read_cost_factors", "read_known_dc"]

#: Columns a candidates file must have (``earliest_year`` is optional).
CANDIDATE_COLUMNS = ("id", "name", "tier", "cost", "device_latency_us")


def read_candidates(spec: VectorInput, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Read and check a candidates file.

    Parameters
    ----------
    spec
        The config's ``plan.candidates`` section.
    crs
        The metro's local CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cand_id``, ``name``, ``tier``, ``cost``, ``device_latency_us``, ``earliest_year``
        (nullable Int64), point geometry in ``crs``.

    Raises
    ------
    InputError
        For a missing column, a bad value, a duplicate or empty id, or geometry that is not
        points.
    """
    path = spec.path
    gdf = points_only(read_vector(spec, role="plan.candidates"), path, "plan.candidates")
    for col in CANDIDATE_COLUMNS:
        if col not in gdf.columns:
            have = ", ".join(str(c) for c in gdf.columns if c != "geometry")
            raise InputError(path, col, f"required column missing (columns are: {have})")
    ids = gdf["id"].astype("string").fillna("").str.strip()
    if (ids == "").any():
        row = int(np.flatnonzero((ids == "").to_numpy())[0])
        raise InputError(path, "id", f"empty id in row {row + 1}")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(path, "id", f"duplicate id {dup.iloc[0]!r}")
    return gpd.GeoDataFrame(
        {
            "cand_id": ids.to_numpy(dtype=str),
            "name": gdf["name"].astype("string").fillna("").to_numpy(dtype=str),
            "tier": gdf["tier"].astype("string").fillna("").to_numpy(dtype=str),
            "cost": _nonneg(gdf["cost"], path, "cost", at_most=MAX_BUILD_COST),
            "device_latency_us": _nonneg(gdf["device_latency_us"], path, "device_latency_us"),
            "earliest_year": year_column(gdf, path, "earliest_year"),
            "kind": _kinds(gdf, path),
            "source": (
                gdf["source"].astype("string").fillna("").to_numpy(dtype=str)
                if "source" in gdf
                else np.array([path.name] * len(gdf))
            ),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    ).to_crs(crs)


def _kinds(gdf: gpd.GeoDataFrame, path: Path) -> np.ndarray:
    """Return the optional ``kind`` column: ``site`` (default) or ``known_dc``."""
    if "kind" not in gdf:
        return np.array(["site"] * len(gdf))
    kind = gdf["kind"].astype("string").fillna("").str.strip().replace("", "site")
    bad = ~kind.isin(["site", "known_dc"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        msg = f"must be site or known_dc, got {kind.iloc[row]!r} in row {row + 1}"
        raise InputError(path, "kind", msg)
    return kind.to_numpy(dtype=str)


def _nonneg(values: pd.Series, path: object, column: str, *, at_most: float = np.inf) -> np.ndarray:
    raw = values.astype("string").str.strip()
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(num) | (num < 0) | (num > at_most)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        within = f" and <= {at_most:g}" if np.isfinite(at_most) else ""
        raise InputError(
            path,
            column,
            f"must be a number >= 0{within}, got {raw.iloc[row]!r} in row {row + 1}",
        )
    return num


def read_cost_factors(spec: VectorInput, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Read the polygons that scale a spur's per-km cost (``plan.cost_factors``).

    Parameters
    ----------
    spec
        Polygons with a ``factor`` column (> 0): water, mountains, protected land x N.
    crs
        The metro's local CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        ``factor`` and polygon geometry in ``crs``.

    Raises
    ------
    InputError
        For a missing or bad ``factor``, or geometry that is not polygons.
    """
    path = spec.path
    gdf = read_vector(spec, role="plan.cost_factors")
    types = set(gdf.geometry.geom_type.dropna().unique())
    if not types <= {"Polygon", "MultiPolygon"}:
        raise InputError(path, "geometry", f"cost factors must be polygons, got {sorted(types)}")
    if "factor" not in gdf.columns:
        raise InputError(path, "factor", "required column missing")
    factor = _nonneg(gdf["factor"], path, "factor")
    if (factor <= 0).any():
        row = int(np.flatnonzero(factor <= 0)[0])
        raise InputError(path, "factor", f"must be > 0, got {factor[row]:g} in row {row + 1}")
    return gpd.GeoDataFrame(
        {"factor": factor}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs
    ).to_crs(crs)


def read_known_dc(
    spec: VectorInput, crs: pyproj.CRS, *, cost: float, device_latency_us: float
) -> gpd.GeoDataFrame:
    """Read known data centres (a fetched ``sites.csv``, a PeeringDB / OSM list) as candidates.

    Parameters
    ----------
    spec
        Points; optional ``id``, ``name`` and ``source`` (``osm``, ``peeringdb``, ...)
        columns. Without ``source`` the file's name is the source.
    crs
        The metro's local CRS.
    cost, device_latency_us
        Of each candidate (``plan.known_dc_cost``; the model's site device latency).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_candidates` returns, with ``kind`` = ``known_dc`` and ``source``.
    """
    path = spec.path
    gdf = points_only(read_vector(spec, role="plan.known_dc"), path, "plan.known_dc")
    n = len(gdf)
    raw_ids = (
        gdf["id"].astype("string").fillna("").str.strip().to_numpy(dtype=str)
        if "id" in gdf
        else np.array([""] * n)
    )
    ids = [f"DC-{r}" if r else f"DC{i + 1}" for i, r in enumerate(raw_ids)]
    if len(set(ids)) != n:
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        raise InputError(path, "id", f"duplicate id {dup!r}")
    names = (
        gdf["name"].astype("string").fillna("").to_numpy(dtype=str)
        if "name" in gdf
        else np.array(ids)
    )
    source = (
        gdf["source"].astype("string").fillna(path.name).to_numpy(dtype=str)
        if "source" in gdf
        else np.array([path.name] * n)
    )
    return gpd.GeoDataFrame(
        {
            "cand_id": ids,
            "name": names,
            "tier": "known_dc",
            "cost": float(cost),
            "device_latency_us": float(device_latency_us),
            "earliest_year": pd.array([pd.NA] * n, dtype="Int64"),
            "kind": "known_dc",
            "source": source,
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    ).to_crs(crs)
