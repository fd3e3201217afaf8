"""The planner's sites: the sites-CSV round trip, the planned sites, and ``add_sites``.

Positions of sites are taken **as the planned sites file gives them**: every site is written
to the sites CSV format and read back with the run's own reader before anything is located,
so that running the city with ``sites-planned.csv`` reproduces the planned share exactly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from latcircle.analysis.metro import Metro, attach_site_table, with_views
from latcircle.analysis.plan.checks import check_added_sites
from latcircle.analysis.plan.core import Goal, _Pool, _pool_index
from latcircle.config import SitesInput
from latcircle.engine.latency import attach_sites
from latcircle.errors import InputError
from latcircle.inputs.readers import read_points_text

__all__ = ["SITES_COLUMNS", "add_sites", "sites_csv"]

#: Columns of ``sites-planned.csv``: the sites format a normal run reads.
SITES_COLUMNS = ["id", "name", "tier", "online_year", "device_latency_us", "lon", "lat"]

_WGS84 = pyproj.CRS.from_epsg(4326)
#: Degrees are written with 9 decimals (0.1 mm), read back by the run's own reader.
_DEG_FORMAT = "{:.9f}"


def sites_csv(table: pd.DataFrame) -> str:
    """Return a sites table as the text of a sites CSV (:data:`SITES_COLUMNS`).

    Parameters
    ----------
    table
        ``id``, ``name``, ``tier``, ``online_year`` (nullable), ``device_latency_us``,
        ``lon``, ``lat`` (floats, WGS84).
    """
    out = table[SITES_COLUMNS].copy()
    out["online_year"] = out["online_year"].astype("Int64").astype("string").fillna("")
    out["device_latency_us"] = [repr(float(v)) for v in out["device_latency_us"]]
    out["lon"] = [_DEG_FORMAT.format(v) for v in out["lon"]]
    out["lat"] = [_DEG_FORMAT.format(v) for v in out["lat"]]
    return out.to_csv(index=False, lineterminator="\n")


def _pool(metro: Metro, builds: gpd.GeoDataFrame) -> _Pool:
    """Existing sites, then new sites, placed as a run would read them from the sites CSV."""
    sites = metro.inputs.sites
    new = builds[builds["kind"].isin(["site", "known_dc"])]
    geoms = np.concatenate([sites.geometry.to_numpy(), new.geometry.to_numpy()])
    lonlat = gpd.GeoSeries(geoms, crs=metro.inputs.crs).to_crs(_WGS84)
    table = pd.DataFrame(
        {
            "id": np.concatenate([sites["site_id"].to_numpy(), new["build_id"].to_numpy()]),
            "name": np.concatenate([sites["name"].to_numpy(), new["name"].to_numpy()]),
            "tier": np.concatenate([sites["tier"].to_numpy(), new["tier"].to_numpy()]),
            "online_year": pd.array(list(sites["online_year"]) + [pd.NA] * len(new), dtype="Int64"),
            "device_latency_us": np.concatenate(
                [
                    sites["device_latency_us"].to_numpy(float),
                    new["device_latency_us"].to_numpy(float),
                ]
            ),
            "lon": lonlat.x.to_numpy(),
            "lat": lonlat.y.to_numpy(),
        }
    )
    x, y = _read_back(table, metro.inputs.crs)
    attachment = attach_sites(
        metro.locator, x, y, table["device_latency_us"].to_numpy(float), metro.params
    )
    return _Pool(table=table, x=x, y=y, attachment=attachment, n_existing=len(sites))


def _read_back(table: pd.DataFrame, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Read the sites CSV text with the run's own CSV reader: the positions a run will use.

    In memory: analysis writes no file (``output.plan`` writes ``sites-planned.csv``).
    """
    spec = SitesInput(path=Path("sites-planned.csv"), lon="lon", lat="lat", crs="wgs84")
    gdf = read_points_text(sites_csv(table), spec, role="sites").to_crs(crs)
    return gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()


def _sites_planned(
    pool: _Pool, builds: gpd.GeoDataFrame, goals: list[Goal], built: dict[int, np.ndarray]
) -> pd.DataFrame:
    """Existing sites (brought forward ones with their new year) and the new sites."""
    table = pool.table.copy()
    first_year = np.full(len(builds), -1)
    for g in reversed(goals):
        first_year[built[g.year]] = g.year
    pidx = {}
    for j in np.flatnonzero(first_year >= 0):
        if builds["kind"].iloc[j] == "access":
            continue
        pidx[int(_pool_index(pool, builds.iloc[[j]])[0])] = int(first_year[j])
    years = table["online_year"].astype("Int64").copy()
    for i, y in pidx.items():
        years.iloc[i] = y
    table["online_year"] = years
    keep = np.arange(len(table)) < pool.n_existing
    keep[list(pidx)] = True
    return table[keep].reset_index(drop=True).assign(_x=pool.x[keep], _y=pool.y[keep])


def _sites_gdf(planned: pd.DataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Return the planned sites as a run reads ``sites-planned.csv`` (positions read back)."""
    return gpd.GeoDataFrame(
        {
            "site_id": planned["id"].to_numpy(dtype=str),
            "name": planned["name"].to_numpy(dtype=str),
            "tier": planned["tier"].to_numpy(dtype=str),
            "online_year": planned["online_year"].astype("Int64").to_numpy(),
            "device_latency_us": planned["device_latency_us"].to_numpy(float),
        },
        geometry=gpd.points_from_xy(planned["_x"], planned["_y"]),
        crs=crs,
    )


def add_sites(metro: Metro, sites: list[tuple[float, float, str | None]]) -> Metro:
    """Return the metro with extra compute sites, online every year (``--add-site``).

    Parameters
    ----------
    metro
        The prepared metro.
    sites
        ``(lon, lat, name)`` in WGS84; ``name`` may be ``None``. Ids are ``ADD1``, ``ADD2``…

    Returns
    -------
    Metro
        A copy: the same network and samples, the sites table and attachment extended.

    Raises
    ------
    InputError
        For coordinates that are not longitude/latitude, or an id already taken.
    """
    if not sites:
        return metro
    old = metro.inputs.sites
    for lon, lat, _ in sites:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError("--add-site", None, f"not a longitude,latitude: {lon},{lat}")
    check_added_sites(metro, sites)
    ids = [f"ADD{i}" for i in range(1, len(sites) + 1)]
    taken = set(ids) & set(old["site_id"])
    if taken:
        raise InputError("--add-site", None, f"site id {sorted(taken)[0]!r} already exists")
    extra = gpd.GeoDataFrame(
        {
            "site_id": ids,
            "name": [n or i for (_, _, n), i in zip(sites, ids, strict=True)],
            "tier": "medium",
            "online_year": pd.array([pd.NA] * len(sites), dtype="Int64"),
            "device_latency_us": metro.params.site_device_us,
        },
        geometry=gpd.points_from_xy([s[0] for s in sites], [s[1] for s in sites]),
        crs=_WGS84,
    ).to_crs(metro.inputs.crs)
    table = gpd.GeoDataFrame(pd.concat([old, extra], ignore_index=True), crs=metro.inputs.crs)
    table["online_year"] = table["online_year"].astype("Int64")
    attachment = attach_site_table(metro.locator, table, metro.params)
    inputs = dataclasses.replace(
        metro.inputs,
        sites=table,
        notes=(*metro.inputs.notes, f"sites: {len(sites)} site(s) added with --add-site"),
    )
    out = dataclasses.replace(metro, inputs=inputs, attachment=attachment)
    return with_views(out, located=metro)  # the same network: located once, not again
