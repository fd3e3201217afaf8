"""Read a planner's candidates file: where compute sites could be built, and at what cost.

A candidates file holds points (any vector format, or CSV with lon/lat columns) with the
columns ``id``, ``name``, ``tier``, ``cost``, ``device_latency_us`` and optionally
``earliest_year`` (docs/plan.md). Every problem raises :class:`~latcircle.errors.InputError`
naming the file, the column and the row.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from latcircle.config import MAX_BUILD_COST, VectorInput
from latcircle.errors import InputError
from latcircle.inputs.readers import points_only, read_vector, year_column

__all__ = ["CANDIDATE_COLUMNS", "read_candidates"]

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
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    ).to_crs(crs)


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
