"""Write a city's wider tiers: ``tiers.csv`` and the LEO layer ``tiers.gpkg``."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from latcircle.analysis.city_tiers import CityTiersResult
from latcircle.analysis.isochrones import mask_polygons
from latcircle.analysis.metro import Metro
from latcircle.output.files import write_csv, write_gpkg

__all__ = ["write_city_tiers"]


def write_city_tiers(metro: Metro, result: CityTiersResult, folder: Path) -> None:
    """Write ``tiers.csv`` and, with LEO, ``tiers.gpkg`` (layer ``leo``: no-access area by tier).

    Parameters
    ----------
    metro
        The prepared metro (its grid and CRS).
    result
        The city tiers.
    folder
        The (temporary) output folder.
    """
    write_csv(result.table, folder / "tiers.csv")
    if "area" not in result.leo_ms:
        return
    spec = metro.config.tiers
    leo_ms = result.leo_ms["area"]
    budgets = [] if spec is None else sorted(spec.leo_budgets_ms)
    rows, geoms = [], []
    for budget in budgets:
        mask = np.zeros(metro.grid.shape, dtype=bool)
        mask[metro.grid.inside] = leo_ms <= budget
        geoms.append(mask_polygons(metro.grid, mask))
        rows.append(
            {
                "budget_ms": budget,
                "area_km2": round(float(mask.sum() * metro.grid.cell_km2), 6),
                "leo": _label(spec),
            }
        )
    layer = gpd.GeoDataFrame(rows, geometry=geoms, crs=metro.inputs.crs)
    write_gpkg({"leo": layer}, folder / "tiers.gpkg")


def _label(spec: object) -> str:
    """Return the preset and what it was judged on (``leo550, measured``)."""
    from latcircle.analysis.leo import LEO_PRESETS

    name = str(getattr(spec, "leo", ""))
    if name not in LEO_PRESETS:
        return name
    basis = getattr(spec, "leo_basis", None) or LEO_PRESETS[name].basis
    return f"{name}, {basis}"
