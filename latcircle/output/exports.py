"""Optional copies of the GeoPackage layers for other tools: GeoParquet and WGS84 GeoJSON.

``isochrones.gpkg`` stays the reference (local UTM, exact). On request a run also writes
``exports/<layer>.parquet`` (GeoParquet, same CRS: pandas, DuckDB, GDAL) and
``exports/<layer>.geojson`` (RFC 7946: WGS84 longitude/latitude, what Kepler.gl and web
tools load).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from latcircle.errors import InputError
from latcircle.output.files import _guard

__all__ = ["EXPORT_FORMATS", "ExportFormat", "export_step", "write_exports"]

ExportFormat = Literal["geoparquet", "geojson"]
EXPORT_FORMATS: tuple[str, ...] = ("geoparquet", "geojson")

#: Decimal places of GeoJSON degrees: 7 is about 1 cm, finer than any input.
_GEOJSON_PRECISION = 7


def write_exports(folder: Path, formats: Sequence[str]) -> list[Path]:
    """Write every feature layer of ``folder/isochrones.gpkg`` in the given formats.

    Parameters
    ----------
    folder
        A (temporary) run folder holding ``isochrones.gpkg``.
    formats
        Any of :data:`EXPORT_FORMATS`.

    Returns
    -------
    list of pathlib.Path
        The files written, under ``folder/exports``.

    Raises
    ------
    InputError
        For an unknown format.
    """
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown:
        msg = f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(EXPORT_FORMATS)}"
        raise InputError("--export", None, msg)
    gpkg = folder / "isochrones.gpkg"
    out = folder / "exports"
    out.mkdir(exist_ok=True)
    written = []
    for name, geom_type in pyogrio.list_layers(gpkg):
        if geom_type is None:  # attribute tables (the QGIS styles)
            continue
        frame = gpd.read_file(gpkg, layer=str(name))
        for fmt in formats:
            written.append(_write(frame, out, str(name), fmt))
    return written


def _write(frame: gpd.GeoDataFrame, out: Path, name: str, fmt: str) -> Path:
    if fmt == "geoparquet":
        path = out / f"{name}.parquet"
        with _guard(path):
            frame.to_parquet(path, index=False, compression="zstd")
        return path
    path = out / f"{name}.geojson"
    # Reprojected here (pyproj, longitude first) and written by geopandas: GDAL's own
    # RFC7946 reprojection swaps the axes with older pyogrio/GDAL (found by the CI job on
    # the lowest supported versions).
    wgs = frame.to_crs("EPSG:4326")
    rounded = shapely.transform(
        wgs.geometry.to_numpy(), lambda xy: np.round(xy, _GEOJSON_PRECISION)
    )
    wgs = wgs.set_geometry(gpd.GeoSeries(rounded, index=wgs.index, crs=wgs.crs))
    with _guard(path):
        path.write_text(wgs.to_json(drop_id=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def export_step(formats: Sequence[str]) -> Callable[[Any, Path], list[Path]]:
    """Return a run's output step writing the exports (``f(result, folder)``).

    Parameters
    ----------
    formats
        Any of :data:`EXPORT_FORMATS`.
    """
    chosen = list(formats)

    def step(_result: Any, folder: Path) -> list[Path]:
        return write_exports(Path(folder), chosen)

    step.stage_name = "exports"  # type: ignore[attr-defined]
    return step
