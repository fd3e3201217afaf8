"""Optional copies of the GeoPackage layers for other tools: GeoParquet and WGS84 GeoJSON.

``isochrones.gpkg`` stays the reference (local UTM, exact). On request a run also writes
``exports/<layer>.parquet`` (GeoParquet 1.x: pandas, DuckDB, GDAL, Kepler.gl) and
``exports/<layer>.geojson`` (RFC 7946), both in WGS84 longitude/latitude by default, what
web tools load; the GeoParquet ``geo`` metadata names the CRS (EPSG:4326). With
``crs="local"`` both keep the metro's local UTM CRS (GeoParquet metadata and a GeoJSON
``crs`` member name it; such GeoJSON is not RFC 7946).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from latcircle.errors import InputError
from latcircle.output.files import _guard, as_stored

__all__ = [
    "EXPORT_CRS",
    "EXPORT_FORMATS",
    "ExportFormat",
    "export_step",
    "parse_export_formats",
    "write_exports",
]

ExportFormat = Literal["geoparquet", "geojson"]
EXPORT_FORMATS: tuple[str, ...] = ("geoparquet", "geojson")
#: The CRS of the exports: ``wgs84`` (EPSG:4326, the default) or ``local`` (the run's UTM).
EXPORT_CRS: tuple[str, ...] = ("wgs84", "local")

#: Decimal places of GeoJSON degrees: 7 is about 1 cm, finer than any input.
_GEOJSON_PRECISION = 7


def parse_export_formats(text: str) -> list[str]:
    """Parse ``--export``'s value: formats separated by commas (``geojson,geoparquet``).

    Parameters
    ----------
    text
        The option's value.

    Returns
    -------
    list of str
        The formats, in the order given, each once.

    Raises
    ------
    InputError
        For an empty or unknown format.
    """
    formats = [f.strip().lower() for f in text.split(",")]
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        shown = ", ".join(repr(f) for f in unknown)
        msg = f"unknown format(s) {shown}; choose from {', '.join(EXPORT_FORMATS)}"
        raise InputError("--export", None, msg)
    return list(dict.fromkeys(formats))


def write_exports(
    folder: Path,
    formats: Sequence[str],
    *,
    crs: str = "wgs84",
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> list[Path]:
    """Write every feature layer of a run's GeoPackage in the given formats.

    Parameters
    ----------
    folder
        A (temporary) run folder; the files go to ``folder/exports``.
    formats
        Any of :data:`EXPORT_FORMATS`.
    crs
        ``"wgs84"`` (EPSG:4326 longitude/latitude) or ``"local"`` (the run's UTM CRS).
    layers
        The layers as given to ``isochrones.gpkg`` (:meth:`latcircle.run.RunResult.gpkg_layers`),
        exported as the GeoPackage stores them (:func:`latcircle.output.files.as_stored`):
        the same bytes as from the file, without reading it. ``None``: read
        ``folder/isochrones.gpkg`` (a run written earlier).

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
    if crs not in EXPORT_CRS:
        msg = f"unknown export CRS {crs!r}; choose from {', '.join(EXPORT_CRS)}"
        raise InputError("--export-crs", None, msg)
    out = folder / "exports"
    out.mkdir(exist_ok=True)
    written = []
    for name, frame in _stored_layers(folder, layers):
        if crs == "wgs84":
            frame = frame.to_crs("EPSG:4326")
        for fmt in formats:
            written.append(_write(frame, out, str(name), fmt))
    return written


def _stored_layers(
    folder: Path, layers: Mapping[str, gpd.GeoDataFrame] | None
) -> list[tuple[str, gpd.GeoDataFrame]]:
    """Return the feature layers as ``isochrones.gpkg`` holds them (memory, else the file)."""
    if layers is not None:
        return [(name, as_stored(frame)) for name, frame in layers.items()]
    gpkg = folder / "isochrones.gpkg"
    return [
        (str(name), gpd.read_file(gpkg, layer=str(name)))
        for name, geom_type in pyogrio.list_layers(gpkg)
        if geom_type is not None  # attribute tables (the QGIS styles) are no layers
    ]


def _write(frame: gpd.GeoDataFrame, out: Path, name: str, fmt: str) -> Path:
    if fmt == "geoparquet":
        path = out / f"{name}.parquet"
        with _guard(path):
            frame.to_parquet(path, index=False, compression="zstd")
        return path
    path = out / f"{name}.geojson"
    # Reprojected by the caller (pyproj, longitude first) and written by geopandas: GDAL's
    # own RFC7946 reprojection swaps the axes with older pyogrio/GDAL (found by the CI job
    # on the lowest supported versions). Degrees to about 1 cm; metres (local) to 1 mm.
    digits = _GEOJSON_PRECISION if frame.crs.is_geographic else 3
    rounded = shapely.transform(frame.geometry.to_numpy(), lambda xy: np.round(xy, digits))
    frame = frame.set_geometry(gpd.GeoSeries(rounded, index=frame.index, crs=frame.crs))
    with _guard(path):
        # geopandas adds a `crs` member naming any CRS but WGS84 (RFC 7946's implicit one).
        text = frame.to_json(drop_id=True, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
    return path


def export_step(formats: Sequence[str], *, crs: str = "wgs84") -> Callable[[Any, Path], list[Path]]:
    """Return a run's output step writing the exports (``f(result, folder)``).

    Parameters
    ----------
    formats
        Any of :data:`EXPORT_FORMATS`.
    crs
        ``"wgs84"`` (default) or ``"local"`` (:func:`write_exports`).
    """
    chosen = list(formats)

    def step(result: Any, folder: Path) -> list[Path]:
        # From memory when the run carries every layer of its GeoPackage (its own and the
        # clusters the progress step adds); a result without them is exported from the file.
        whole = getattr(result, "layers", None) is not None and result.shortfall is not None
        layers = result.gpkg_layers() if whole else None
        return write_exports(Path(folder), chosen, crs=crs, layers=layers)

    step.stage_name = "exports"  # type: ignore[attr-defined]
    return step
