"""The layers of a run's GeoPackage, shaped from a solved scenario (compute only).

:func:`run_layers` gives ``bands`` (passed in, cumulative), ``rings`` (the bands made
disjoint, :func:`latcircle.analysis.isochrones.band_rings`), ``sites`` (with what each
serves within the budget), ``key_sites`` (latency, serving site, status, district),
``service_areas``, ``boundary`` and ``districts``; :func:`latcircle.pipeline.run_city`
writes them to ``isochrones.gpkg``. :func:`status_raster` is band 2 of ``latency.tif``: why
each cell is covered or not (:data:`latcircle.analysis.coverage.CAUSE_CODES`, 0 outside).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from latcircle.analysis.coverage import CAUSE_CODES, covered, site_service
from latcircle.analysis.isochrones import band_rings, service_areas
from latcircle.analysis.metro import Metro, Scenario

__all__ = ["LATENCY_BAND", "STATUS_BAND", "run_layers", "status_raster"]

#: ``latency.tif`` band descriptions (also in docs/causes.md).
LATENCY_BAND = (
    "one-way latency to the serving compute site, microseconds "
    "(NaN: no access, unreachable or outside the metro)"
)
STATUS_BAND = "status: " + ", ".join(
    f"{code} {name}" for name, code in {"outside the metro": 0, **CAUSE_CODES}.items()
)


def run_layers(
    metro: Metro, scenario: Scenario, band_layer: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """Return the layers of a run's GeoPackage, in writing order.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario.
    band_layer
        The isochrone bands (:func:`latcircle.analysis.isochrones.bands`).

    Returns
    -------
    dict
        Layer name to GeoDataFrame, in the local CRS.
    """
    cfg, inputs = metro.config, metro.inputs
    crs = inputs.crs
    budget = cfg.budget_ms
    served = site_service(
        [scenario.evaluations[b] for b in metro.bases],
        n_sites=len(inputs.sites),
        budget_ms=budget,
    )
    sites = inputs.sites.copy()
    loc = scenario.field.attachment.location  # as built in the scenario year
    sites["online_year"] = sites["online_year"].astype("Int64")
    sites["online"] = scenario.online
    sites["attached"] = loc.edge >= 0
    sites["drop_m"] = np.where(loc.edge >= 0, loc.drop, np.nan)
    sites["hypothetical"] = cfg.sites.hypothetical
    for col in served.columns:
        sites[col] = served[col].to_numpy()
    layers: dict[str, gpd.GeoDataFrame] = {
        "bands": band_layer,
        "rings": band_rings(band_layer),  # disjoint: what GIS tools draw without stacking
        "sites": sites,
    }
    if "key_sites" in metro.samples:
        layers["key_sites"] = _key_site_layer(metro, scenario)
    within = covered(scenario.evaluations["area"].latency_us, budget_ms=budget)
    site_cells = np.where(within, scenario.evaluations["area"].site, -1)
    layers["service_areas"] = service_areas(
        metro.grid,
        metro.grid.to_raster(site_cells, fill=-1, dtype="int32"),
        site_ids=list(sites["site_id"]),
        boundary=inputs.boundary,
        crs=crs,
    )
    layers["boundary"] = gpd.GeoDataFrame({"name": [cfg.name]}, geometry=[inputs.boundary], crs=crs)
    if inputs.districts is not None:
        layers["districts"] = inputs.districts
    return layers


def _key_site_layer(metro: Metro, scenario: Scenario) -> gpd.GeoDataFrame:
    ev = scenario.evaluations["key_sites"]
    if metro.inputs.key_sites is None:  # a key_sites evaluation implies the input
        msg = "key-site evaluation without key sites"
        raise ValueError(msg)
    ks = metro.inputs.key_sites.copy()
    ids = metro.inputs.sites["site_id"].to_numpy()
    ks["latency_us"] = np.where(np.isfinite(ev.latency_us), ev.latency_us, np.nan)
    ks["serving_site"] = np.where(ev.site >= 0, ids[np.maximum(ev.site, 0)], None)
    ks["status"] = ev.status(metro.config.budget_ms)
    names = np.array([*metro.district_names, ""], dtype=object)
    ks["district"] = names[ev.samples.district]
    ks["drop_m"] = np.where(ev.samples.location.has_access, ev.samples.location.drop, np.nan)
    return ks


def status_raster(metro: Metro, scenario: Scenario, *, dtype: str = "float32") -> np.ndarray:
    """Return band 2 of ``latency.tif``: why each cell is covered or not.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario.
    dtype
        The raster's type: ``float32`` (the band) or an integer type holding 0 to 4 (the
        same codes: ``causes.tif`` takes them as ``uint8``).

    Returns
    -------
    numpy.ndarray
        Raster of ``metro.grid``: the cells' codes
        (:data:`latcircle.analysis.coverage.CAUSE_CODES`), 0 outside the metro.
    """
    codes = scenario.evaluations["area"].codes(metro.config.budget_ms)
    return metro.grid.to_raster(codes, fill=0, dtype=dtype)  # small integers: cast exactly
