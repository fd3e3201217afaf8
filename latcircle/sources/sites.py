"""Compute sites of a metro: OSM data centres and PeeringDB facilities, merged."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from latcircle.output.files import atomic_file
from latcircle.sources.overpass import DATA_CENTRE_TAGS, WGS84, buffered, download_points, inside

#: Compute sites from different sources closer than this (metres) are one site: PeeringDB
#: positions are geocoded street addresses, OSM positions are building outlines, and a
#: data-centre campus spans a few hundred metres.
SITE_MERGE_M = 250.0


#: Compute sites this close (metres) outside the metro outline are kept: a facility across
#: the border still serves the metro, and Amap's outline and geocoded addresses are each
#: off by a few hundred metres (PeeringDB's GDS Futian lies ~250 m outside Amap's Shenzhen).
SITE_MARGIN_M = 1000.0


SITE_COLUMNS = ["id", "name", "tier", "online_year", "lon", "lat", "source", "source_ref"]


def osm_sites(
    polygon: BaseGeometry, *, overpass_url: str | None, cache_dir: Path | None
) -> gpd.GeoDataFrame:
    """Return the OSM data centres within :data:`SITE_MARGIN_M` of the metro.

    Parameters
    ----------
    polygon
        The metro outline, WGS84.
    overpass_url
        Overpass API base URL; ``None`` is osmnx's default server.
    cache_dir
        osmnx's response cache; ``None`` disables caching.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name``, ``source`` (``osm``), ``source_ref``, EPSG:4326.
    """
    points = download_points(
        buffered(polygon, SITE_MARGIN_M),
        tags=DATA_CENTRE_TAGS,
        overpass_url=overpass_url,
        cache_dir=cache_dir,
        source="sites",
    )
    return gpd.GeoDataFrame(
        {
            "name": points["name"].to_numpy(dtype=str),
            "source": "osm",
            "source_ref": [f"osm:{ref}" for ref in points["osm_ref"]],
        },
        geometry=points.geometry.to_numpy(),
        crs=WGS84,
    )


def merge_sites(frames: list[gpd.GeoDataFrame], polygon: BaseGeometry) -> pd.DataFrame:
    """Return one row per site near the metro; candidates close to each other are merged.

    Candidates within :data:`SITE_MARGIN_M` of the outline are kept; those within
    :data:`SITE_MERGE_M` of each other (also through a chain) are one site.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    allc = pd.concat(frames, ignore_index=True)
    allc = gpd.GeoDataFrame(allc, geometry="geometry", crs=WGS84)
    allc = allc[inside(allc, buffered(polygon, SITE_MARGIN_M))].reset_index(drop=True)
    if allc.empty:
        return pd.DataFrame(columns=SITE_COLUMNS)
    utm = allc.estimate_utm_crs()
    # OSM first: its positions are mapped outlines, PeeringDB's are geocoded addresses.
    allc["_rank"] = (allc["source"] != "osm").astype(int)
    allc = allc.sort_values(["_rank", "source_ref"], kind="stable").reset_index(drop=True)
    local = allc.to_crs(utm)
    tree = shapely.STRtree(local.geometry.to_numpy())
    left, right = tree.query(local.geometry.to_numpy(), predicate="dwithin", distance=SITE_MERGE_M)
    n = len(allc)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    rows = []
    for group in pd.Series(range(n)).groupby(label, sort=False):
        members = allc.iloc[group[1].to_numpy()]
        first = members.iloc[0]
        named = [str(x) for x in members["name"] if str(x).strip()]
        rows.append(
            {
                "id": _site_id(str(first["source_ref"])),
                "name": named[0] if named else "",
                "tier": "",
                "online_year": "",
                "lon": round(float(first.geometry.x), 7),
                "lat": round(float(first.geometry.y), 7),
                "source": "+".join(sorted(set(members["source"]), key=["osm", "peeringdb"].index)),
                "source_ref": ";".join(members["source_ref"].astype(str)),
            }
        )
    return pd.DataFrame(rows, columns=SITE_COLUMNS)


def _site_id(ref: str) -> str:
    # "osm:way/123" -> "osm-way-123", "peeringdb:fac/2821" -> "peeringdb-fac-2821".
    return re.sub(r"[^A-Za-z0-9]+", "-", ref).strip("-")


def write_sites(sites: pd.DataFrame, path: Path) -> None:
    """Write the sites table atomically as UTF-8 CSV."""
    atomic_file(path, lambda tmp: sites.to_csv(tmp, index=False, encoding="utf-8"))
