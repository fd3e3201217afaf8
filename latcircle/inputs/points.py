"""Point inputs: compute sites and key sites, with their text, year and number columns."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from latcircle.config import KeySitesInput, SitesInput
from latcircle.errors import InputError
from latcircle.inputs.checks import YEAR_RANGE
from latcircle.inputs.vectors import read_vector


def _read_sites(
    spec: SitesInput,
    crs: pyproj.CRS,
    site_device_us: float,
    boundary: BaseGeometry,
    notes: list[str],
) -> gpd.GeoDataFrame:
    gdf = points_only(read_vector(spec, role="sites"), spec.path, "sites").to_crs(crs)
    n = len(gdf)
    ids = (
        gdf["id"].astype(str).str.strip()
        if "id" in gdf
        else pd.Series([f"S{i + 1}" for i in range(n)], index=gdf.index)
    )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(spec.path, "id", f"duplicate site id {dup.iloc[0]!r}")
    if (ids == "").any():
        raise InputError(
            spec.path, "id", f"empty site id in row {int(np.flatnonzero(ids == '')[0]) + 1}"
        )
    out = gpd.GeoDataFrame(
        {
            "site_id": ids.to_numpy(),
            "name": _text_column(gdf, "name", ids),
            "tier": _text_column(gdf, "tier", pd.Series(["medium"] * n, index=gdf.index)),
            "online_year": year_column(gdf, spec.path),
            "device_latency_us": _device_column(gdf, spec.path, site_device_us),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=crs,
    )
    outside = ~shapely.contains_xy(boundary, out.geometry.x, out.geometry.y)
    if outside.any():
        notes.append(
            f"sites: {int(outside.sum())} site(s) outside the metro kept "
            f"(they may still serve it): {', '.join(out.loc[outside, 'site_id'][:5])}"
        )
    return out


def points_only(gdf: gpd.GeoDataFrame, path: Path, role: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` if every row is a non-empty point, else raise one clear InputError."""
    types = set(gdf.geometry.geom_type.dropna().unique())
    if not types <= {"Point"}:
        raise InputError(path, "geometry", f"{role} must be points, got {sorted(types)}")
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        raise InputError(path, "geometry", f"{role}: empty geometry in some rows")
    return gdf


def _text_column(gdf: gpd.GeoDataFrame, column: str | None, default: pd.Series) -> np.ndarray:
    if column is None or column not in gdf.columns:
        return default.astype(str).to_numpy()
    values = gdf[column].astype("string").fillna("").str.strip()
    values = values.where(values != "", default.astype(str))
    return values.astype(str).to_numpy()


def year_column(
    gdf: gpd.GeoDataFrame, path: Path, column: str = "online_year"
) -> pd.arrays.IntegerArray:
    """Return a year column as nullable integers (NA where empty or absent), checked."""
    if column not in gdf.columns:
        return pd.array([pd.NA] * len(gdf), dtype="Int64")
    raw = gdf[column].astype("string").str.strip().replace("", pd.NA)
    years = pd.to_numeric(raw, errors="coerce")
    lo, hi = YEAR_RANGE
    bad = raw.notna() & (years.isna() | (years % 1 != 0) | (years < lo) | (years > hi))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, column, f"not a year in row {row + 1}: {raw.iloc[row]!r}")
    return pd.array(years, dtype="Int64")


def _device_column(gdf: gpd.GeoDataFrame, path: Path, default: float) -> np.ndarray:
    if "device_latency_us" not in gdf.columns:
        return np.full(len(gdf), default)
    raw = gdf["device_latency_us"].astype("string").str.strip().replace("", pd.NA)
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & (values.isna() | (values < 0) | ~np.isfinite(values.fillna(0)))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            path,
            "device_latency_us",
            f"must be a number >= 0, got {raw.iloc[row]!r} in row {row + 1}",
        )
    return values.fillna(default).to_numpy(dtype=float)


def _read_key_sites(
    spec: KeySitesInput, crs: pyproj.CRS, boundary: BaseGeometry, notes: list[str]
) -> gpd.GeoDataFrame:
    gdf = points_only(read_vector(spec, role="key_sites"), spec.path, "key_sites").to_crs(crs)
    n = len(gdf)
    index = pd.Series([f"key site {i + 1}" for i in range(n)], index=gdf.index)
    # A column named in the config must exist; a defaulted one ("name", "category") may not.
    for key in ("name_field", "category_field", "weight_field"):
        column = getattr(spec, key)
        if column is not None and column not in gdf.columns and key in spec.model_fields_set:
            cols = ", ".join(c for c in gdf.columns if c != "geometry")
            raise InputError(spec.path, column, f"no such column ({key}); columns are: {cols}")
    weight = np.ones(n)
    if spec.weight_field:
        raw = gdf[spec.weight_field]
        weight = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(weight) | (weight < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                spec.path,
                spec.weight_field,
                f"weight must be a number >= 0, got {raw.iloc[row]!r} in row {row + 1}",
            )
    out = gpd.GeoDataFrame(
        {
            "name": _text_column(gdf, spec.name_field, index),
            "category": _text_column(
                gdf, spec.category_field, pd.Series(["key site"] * n, index=gdf.index)
            ),
            "weight": weight,
        },
        geometry=gdf.geometry.to_numpy(),
        crs=crs,
    )
    inside = shapely.contains_xy(boundary, out.geometry.x, out.geometry.y)
    if not inside.all():
        notes.append(f"key_sites: {int((~inside).sum())} of {n} outside the metro ignored")
    out = out[inside].reset_index(drop=True)
    if out.empty:
        raise InputError(spec.path, None, "no key site lies inside the metro boundary")
    if spec.weight_field:
        _check_total(out["weight"].to_numpy(), spec.path, spec.weight_field, "key-site weights")
    return out


def _check_total(values: np.ndarray, path: Path, field: str, what: str) -> None:
    """Refuse weights whose total is 0 (no share exists) or overflows (NaN shares)."""
    with np.errstate(over="ignore"):
        total = float(np.sum(values))
    if not np.isfinite(total):
        problem = f"the {what} add up past the largest number a float holds: scale them down"
        raise InputError(path, field, problem)
    if total <= 0:
        problem = f"the {what} add up to 0: no share can be computed"
        raise InputError(path, field, problem)
