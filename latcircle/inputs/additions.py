"""Read planned network additions: the ``spurs`` layer of a plan's ``network-planned.gpkg``.

Each spur is a straight line from its attach point on a host edge of the city's network
to its far end, with ``spur_id``, ``host_edge`` (the network's edge index), ``host_t``
(metres along the host edge from its first node) and ``online_year`` (empty: always).
``network.additions:`` in the config (or ``latcircle run --add-network FILE``) adds them to
the network (docs/plan.md, *The planned network*).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

from latcircle.errors import InputError
from latcircle.inputs.readers import year_column

__all__ = ["SPURS_LAYER", "SPUR_COLUMNS", "read_additions"]

#: The layer of ``network-planned.gpkg`` a run reads.
SPURS_LAYER = "spurs"
#: Columns a run needs in that layer (others are kept for people: cost, length_m, ...).
SPUR_COLUMNS = ("spur_id", "host_edge", "host_t", "online_year")


def read_additions(path: Path, crs: pyproj.CRS) -> pd.DataFrame:
    """Read and check the spurs of a planned network.

    Parameters
    ----------
    path
        A ``network-planned.gpkg`` (layer ``spurs``).
    crs
        The metro's local CRS.

    Returns
    -------
    pandas.DataFrame
        ``spur_id``, ``host_edge`` (int), ``host_t``, ``online_year`` (float, NaN: always),
        ``x0``, ``y0`` (the attach point), ``x1``, ``y1`` (the far end), in file order.

    Raises
    ------
    InputError
        For a missing layer or column, a bad value, or geometry that is not a 2-point line.
    """
    import pyogrio

    src = str(path)
    try:
        gdf = pyogrio.read_dataframe(path, layer=SPURS_LAYER)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(src, SPURS_LAYER, f"cannot read the spurs layer: {first}") from None
    for col in SPUR_COLUMNS:
        if col not in gdf.columns:
            raise InputError(src, col, "required column missing in layer spurs")
    if len(gdf) and gdf.crs is None:
        raise InputError(src, "crs", "the spurs layer carries no CRS")
    if len(gdf):
        gdf = gdf.to_crs(crs)
    geoms = gdf.geometry.to_numpy()
    n_pts = shapely.get_num_coordinates(geoms)
    bad = (shapely.get_type_id(geoms) != 1) | (n_pts != 2)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(src, "geometry", f"spur {i + 1}: a spur is a 2-point line")
    edge = pd.to_numeric(gdf["host_edge"], errors="coerce").to_numpy(float)
    if (~np.isfinite(edge) | (edge % 1 != 0)).any():
        i = int(np.flatnonzero(~np.isfinite(edge) | (edge % 1 != 0))[0])
        raise InputError(src, "host_edge", f"spur {i + 1}: not an edge index")
    t = pd.to_numeric(gdf["host_t"], errors="coerce").to_numpy(float)
    xy = shapely.get_coordinates(geoms).reshape(-1, 2, 2)
    years = year_column(gdf, Path(src), "online_year")
    ids = gdf["spur_id"].astype("string").fillna("").str.strip()
    if ids.duplicated().any():
        raise InputError(src, "spur_id", f"duplicate spur id {ids[ids.duplicated()].iloc[0]!r}")
    return pd.DataFrame(
        {
            "spur_id": ids.to_numpy(dtype=str),
            "host_edge": edge.astype(np.int64),
            "host_t": t,
            "online_year": pd.array(years, dtype="Int64")
            .astype("Float64")
            .to_numpy(dtype=float, na_value=np.nan),
            "x0": xy[:, 0, 0],
            "y0": xy[:, 0, 1],
            "x1": xy[:, 1, 0],
            "y1": xy[:, 1, 1],
        }
    )
