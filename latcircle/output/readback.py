"""Reading a finished city run back from its output folder.

Presentation (map, report, figures) and the national roll-up read what a run wrote through
this module, so that only ``output`` knows the files' layout and formats.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

__all__ = ["read_layers"]


def read_layers(folder: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """Read every layer of a run's ``isochrones.gpkg``.

    Parameters
    ----------
    folder
        A city's output folder.

    Returns
    -------
    dict
        Layer name to GeoDataFrame (local CRS).
    """
    path = Path(folder) / "isochrones.gpkg"
    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    return {name: gpd.read_file(path, layer=name) for name in names}
