"""Inputs held in memory (GeoDataFrames, a graph, an array) read exactly as input files are.

The Python API's :meth:`latcircle.Metro.from_frames` hands its frames here. Each frame is
stored losslessly (GeoParquet keeps columns, types and the CRS; a graph becomes osmnx
GraphML; a population array a GeoTIFF) in a folder the caller keeps, and the config's input
sections point at those files. The readers of :mod:`latcircle.inputs.readers` then apply
the very same validation and repairs as to a user's files (one implementation, not two),
and ``run.json`` hashes the stored copies like any other input.

Errors name the frame (``sites (GeoDataFrame)``), not the stored copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio

from latcircle.errors import InputError

__all__ = ["FRAME_ROLES", "frame_error", "store_frames"]

#: The vector inputs a frame can stand for, in the config's order.
FRAME_ROLES = ("boundary", "districts", "network", "sites", "key_sites")


def store_frames(
    folder: Path,
    frames: Mapping[str, Any],
    *,
    population: Any = None,
) -> dict[str, dict[str, Any]]:
    """Store in-memory inputs in ``folder`` and return the config sections that read them.

    Parameters
    ----------
    folder
        An existing folder, kept by the caller as long as the inputs are used.
    frames
        By role (:data:`FRAME_ROLES`): a GeoDataFrame carrying a CRS, or ``None`` (left
        out). ``network`` may also be a networkx graph made by osmnx.
    population
        ``None``, a raster file (``str`` or ``Path``, used in place), or a tuple
        ``(array, transform, crs)`` of people per pixel.

    Returns
    -------
    dict
        Config sections by role, each with an absolute ``path``.

    Raises
    ------
    InputError
        For a frame that is not a GeoDataFrame, carries no CRS, or cannot be stored.
    """
    sections: dict[str, dict[str, Any]] = {}
    for role, frame in frames.items():
        if role not in FRAME_ROLES:
            raise InputError(role, None, f"not an input; one of {', '.join(FRAME_ROLES)}")
        if frame is None:
            continue
        sections[role] = {"path": str(_store(folder, role, frame))}
    if population is not None:
        sections["population"] = {"path": str(_store_population(folder, population))}
    return sections


def _store(folder: Path, role: str, frame: Any) -> Path:
    label = f"{role} (GeoDataFrame)"
    if role == "network" and _is_graph(frame):
        import osmnx as ox

        path = folder / "network.graphml"
        ox.save_graphml(frame, path)
        return path
    if not isinstance(frame, gpd.GeoDataFrame):
        problem = f"expected a GeoDataFrame, got {type(frame).__name__}"
        raise InputError(label, None, problem)
    if frame.crs is None:
        raise InputError(label, "crs", "the frame has no CRS: set one (GeoDataFrame.set_crs)")
    path = folder / f"{role}.parquet"
    try:
        _storable(frame).to_parquet(path, index=False)
    except (TypeError, ValueError) as exc:  # pyarrow's ArrowInvalid/ArrowTypeError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(label, None, f"cannot be stored as GeoParquet: {first}") from None
    return path


def _is_graph(value: Any) -> bool:
    return hasattr(value, "edges") and hasattr(value, "nodes") and hasattr(value, "graph")


def _storable(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` with columns mixing lists and scalars as lists throughout.

    osmnx edges carry ``highway`` as a text or a list of texts; Parquet needs one type per
    column, and the network reader treats a one-item list as that item.
    """
    out = frame
    for col in frame.columns:
        if col == frame.geometry.name or frame[col].dtype != object:
            continue
        values = frame[col]
        is_list = values.map(lambda v: isinstance(v, list | tuple | np.ndarray))
        if is_list.any() and not is_list.all():
            out = out.copy() if out is frame else out
            out[col] = [
                list(v) if isinstance(v, list | tuple | np.ndarray) else (None if _na(v) else [v])
                for v in values
            ]
    return out


def _na(value: Any) -> bool:
    return value is None or (isinstance(value, float) and bool(pd.isna(value)))


def _store_population(folder: Path, population: Any) -> Path:
    if isinstance(population, str | Path):
        return Path(population).resolve()
    label = "population (array)"
    try:
        array, transform, crs = population
    except (TypeError, ValueError):
        problem = (
            "expected a raster file or a tuple (array, transform, crs), "
            f"got {type(population).__name__}"
        )
        raise InputError(label, None, problem) from None
    values = np.asarray(array, dtype=np.float64)
    if values.ndim != 2 or 0 in values.shape:
        raise InputError(label, None, f"expected a 2-D array of people, shape {values.shape}")
    try:
        wkt = pyproj.CRS.from_user_input(crs).to_wkt()
    except pyproj.exceptions.CRSError:
        raise InputError(label, "crs", f"unknown CRS {crs!r}") from None
    path = folder / "population.tif"
    profile = {
        "driver": "GTiff",
        "dtype": "float64",
        "count": 1,
        "width": values.shape[1],
        "height": values.shape[0],
        "crs": wkt,
        "transform": transform,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


def frame_error(exc: InputError, folder: Path) -> InputError:
    """Return ``exc`` naming the frame it is about instead of the frame's stored copy.

    Parameters
    ----------
    exc
        An error raised while reading inputs stored by :func:`store_frames`.
    folder
        The folder they were stored in.
    """
    source = Path(exc.source)
    if source.parent != folder:
        return exc
    kind = {".parquet": "GeoDataFrame", ".graphml": "graph", ".tif": "array"}.get(
        source.suffix, "frame"
    )
    problem = exc.problem.replace(f"{folder}/", "").replace(str(folder), "")
    return InputError(f"{source.stem} ({kind})", exc.field, problem)
