"""Write the national tiers: tables, the site-to-site matrix, a GeoPackage and the summary."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from latcircle.analysis.ground_nodes import GroundPlan
from latcircle.analysis.tiers import TiersResult
from latcircle.inputs.backbone import Backbone
from latcircle.output.files import write_csv, write_gpkg, write_json

__all__ = ["write_national_tiers"]


def write_national_tiers(
    result: TiersResult, backbone: Backbone, folder: Path, *, plan: GroundPlan | None = None
) -> None:
    """Write ``cities.csv``, ``sites.csv``, ``hub_matrix.csv``, ``tiers.gpkg``, ``summary.json``.

    With gateways, also ``gateways.csv``; with a ground-node plan, ``plan_nodes.csv``,
    ``plan_cities.csv`` and the two tables to re-run with, ``plan_gateways.csv``
    (``--gateways``) and ``plan_sites.csv`` (``--hubs``).

    Parameters
    ----------
    result
        The national tiers.
    backbone
        The backbone they were computed on (drawn as a layer).
    folder
        The (temporary) output folder.
    plan
        A ground-node plan, when one was made.
    """
    if len(result.gateways):
        write_csv(result.gateways, folder / "gateways.csv")
    if plan is not None:
        write_csv(plan.nodes, folder / "plan_nodes.csv")
        write_csv(plan.cities, folder / "plan_cities.csv")
        write_csv(plan.gateways, folder / "plan_gateways.csv")
        write_csv(plan.sites, folder / "plan_sites.csv")
    write_csv(result.cities, folder / "cities.csv")
    write_csv(result.sites, folder / "sites.csv")
    write_csv(result.matrix.reset_index(names="from"), folder / "hub_matrix.csv")
    write_json(dict(result.summary), folder / "summary.json")
    write_gpkg(_layers(result, backbone), folder / "tiers.gpkg")


def _layers(result: TiersResult, backbone: Backbone) -> dict[str, gpd.GeoDataFrame]:
    def points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        geom = shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
        return gpd.GeoDataFrame(frame.copy(), geometry=geom, crs=4326)

    ends = np.column_stack(
        [
            backbone.lon[backbone.u],
            backbone.lat[backbone.u],
            backbone.lon[backbone.v],
            backbone.lat[backbone.v],
        ]
    )
    links = gpd.GeoDataFrame(
        {
            "from": [backbone.names[i] for i in backbone.u],
            "to": [backbone.names[i] for i in backbone.v],
            "geodesic_km": np.round(backbone.geodesic_m / 1000.0, 3),
        },
        geometry=shapely.linestrings(ends.reshape(-1, 2, 2)),
        crs=4326,
    )
    return {"cities": points(result.cities), "sites": points(result.sites), "backbone": links}
