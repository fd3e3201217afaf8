"""The population raster: people per pixel over the metro, read in one bounded window."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import rasterio.windows
from affine import Affine
from rasterio.enums import MaskFlags
from shapely.geometry.base import BaseGeometry

from latcircle.config import PopulationInput
from latcircle.errors import InputError
from latcircle.inputs import chinacrs
from latcircle.inputs.checks import check_earth_crs
from latcircle.inputs.points import _check_total
from latcircle.inputs.vectors import WGS84, _first_line


@dataclass(frozen=True, slots=True)
class Population:
    """People per pixel, at the raster's own pixel centres.

    Attributes
    ----------
    x, y
        Pixel centres in the local CRS (only pixels with people).
    people
        People in each of those pixels.
    source
        The raster file.
    """

    x: np.ndarray
    y: np.ndarray
    people: np.ndarray
    source: Path


def _read_population(spec: PopulationInput, crs: pyproj.CRS, boundary: BaseGeometry) -> Population:
    path = spec.path
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(path, None, f"cannot read raster: {_first_line(exc)}") from None
    with src:
        raster_crs = _raster_crs(src, spec)
        window = _window_over(src, raster_crs, boundary, crs, path)
        if spec.band > src.count:
            raise InputError(path, "band", f"raster has {src.count} band(s), not {spec.band}")
        _check_window_size(window, path)
        values = _band_exact(src, spec.band, window)
        transform = src.window_transform(window)
    # The smallest value: NaN when any value is NaN (numpy's minimum propagates it).
    low = values.min() if values.size else 0.0
    if np.isnan(low):
        count = int(np.isnan(values).sum())
        raise InputError(path, "population", f"{count} pixel(s) are NaN without nodata")
    if low < 0:
        raise InputError(path, "population", f"negative people count, e.g. {float(low):g}")
    flat = np.flatnonzero(values > 0)  # row-major, as np.nonzero gives (row, col)
    rows, cols = np.divmod(flat, values.shape[1])
    people = values.reshape(-1)[flat].astype(np.float64)  # widened exactly
    _check_total(people, path, "population", "people counts over the metro")
    xs, ys = _pixel_centres(transform, rows, cols, shape=values.shape)
    x, y = _raster_points_to_local(xs, ys, raster_crs, spec, crs)
    return Population(x=x, y=y, people=people, source=path)


#: Band types float64 holds exactly (every value widens to the same number).
_EXACT_IN_FLOAT64 = frozenset(
    {"float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32"}
)


def _band_exact(
    src: rasterio.DatasetReader, band: int, window: rasterio.windows.Window
) -> np.ndarray:
    """Return the band's window as :func:`_band_values` does, or in its own exact type.

    A band GDAL flags all valid, of a type float64 holds exactly (Wuhan's WorldPop:
    float32), is read as it is stored: every check and every value taken from it is then
    the same as on :func:`_band_values`' float64 copy (half the memory for float32, no
    conversion by GDAL). Any other band is :func:`_band_values`' float64.
    """
    if list(src.mask_flag_enums[band - 1]) == [MaskFlags.all_valid] and (
        src.dtypes[band - 1] in _EXACT_IN_FLOAT64
    ):
        return src.read(band, window=window)
    return _band_values(src, band, window)


def _band_values(
    src: rasterio.DatasetReader, band: int, window: rasterio.windows.Window
) -> np.ndarray:
    """Return the band's window as float64, its masked pixels (nodata, mask band) as 0.

    A band GDAL flags all valid (no nodata value, no mask: Wuhan's WorldPop) has nothing
    masked, so it is read straight into float64 (GDAL widens each value exactly) instead of
    through a masked read, its float64 copy and the filled copy: the same values, ~0.015 s
    CPU less on Wuhan's 2.8 M pixels (measured 2026-12-07).
    """
    if list(src.mask_flag_enums[band - 1]) == [MaskFlags.all_valid]:
        return src.read(band, window=window, out_dtype="float64")
    return src.read(band, window=window, masked=True).astype(np.float64).filled(0.0)


#: Largest population window read (pixels over the metro's bounding box): about 24 bytes
#: each while read and filtered, so 100 M pixels need ~2.4 GB (Wuhan's WorldPop: 2.8 M).
MAX_RASTER_PIXELS = 100_000_000


def _check_window_size(window: rasterio.windows.Window, path: Path) -> None:
    """Refuse a population window too large to read, before reading it (Python ints)."""
    width, height = int(window.width), int(window.height)
    pixels = width * height
    if pixels > MAX_RASTER_PIXELS:
        problem = (
            f"the window over the metro is {width:,} x {height:,} = {pixels:,} pixels (about "
            f"{pixels * 24 / 1e9:,.1f} GB to read), over the limit of {MAX_RASTER_PIXELS:,}: "
            "use a coarser raster (e.g. 100 m) or resample it"
        )
        raise InputError(path, "population", problem)


def _raster_crs(src: rasterio.DatasetReader, spec: PopulationInput) -> pyproj.CRS:
    if spec.crs and not chinacrs.is_china_datum(spec.crs):
        try:
            crs = pyproj.CRS.from_user_input("EPSG:4326" if spec.crs == "wgs84" else spec.crs)
        except pyproj.exceptions.CRSError:
            raise InputError(spec.path, "crs", f"unknown CRS {spec.crs!r}") from None
        check_earth_crs(crs, spec.path, spec.crs)
        return crs
    if spec.crs:
        return WGS84
    if src.crs is None:
        raise InputError(spec.path, "crs", "the raster has no CRS: declare one with `crs:`")
    crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
    check_earth_crs(crs, spec.path)
    return crs


def _window_over(
    src: rasterio.DatasetReader,
    raster_crs: pyproj.CRS,
    boundary: BaseGeometry,
    crs: pyproj.CRS,
    path: Path,
) -> rasterio.windows.Window:
    bounds = gpd.GeoSeries([boundary], crs=crs).to_crs(raster_crs).total_bounds
    full = rasterio.windows.Window(0, 0, src.width, src.height)
    try:
        win = rasterio.windows.from_bounds(*bounds, transform=src.transform)
        col0, row0 = int(np.floor(win.col_off)), int(np.floor(win.row_off))
        win = rasterio.windows.Window(
            col0,
            row0,
            int(np.ceil(win.col_off + win.width)) - col0,
            int(np.ceil(win.row_off + win.height)) - row0,
        ).intersection(full)
    except rasterio.errors.WindowError:
        raise InputError(path, None, "the population raster does not overlap the metro") from None
    if win.width <= 0 or win.height <= 0:
        raise InputError(path, None, "the population raster does not overlap the metro")
    # Widen by one pixel so that centres just inside the boundary are never cut off.
    return rasterio.windows.Window(
        max(win.col_off - 1, 0), max(win.row_off - 1, 0), win.width + 2, win.height + 2
    ).intersection(full)


def _pixel_centres(
    transform: Affine, rows: np.ndarray, cols: np.ndarray, *, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Return the centres of pixels ``(rows, cols)`` in the raster's CRS.

    A north-up raster (no rotation: ``b == d == 0``) has one x per column and one y per
    row: ``c + (col + 0.5) * a`` and ``f + (row + 0.5) * e``, computed once per column and
    row and gathered (the numbers :func:`rasterio.transform.xy` gives, which forms each
    point's product with the 3 x 3 matrix: ~0.08 s CPU for Wuhan's 0.5 M pixels, against
    ~0.01). A rotated raster goes through rasterio.
    """
    if transform.b != 0 or transform.d != 0:
        xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
        return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    x_of_col = (np.arange(shape[1]) + 0.5) * transform.a + transform.c
    y_of_row = (np.arange(shape[0]) + 0.5) * transform.e + transform.f
    return x_of_col[cols], y_of_row[rows]


def _raster_points_to_local(
    x: np.ndarray, y: np.ndarray, raster_crs: pyproj.CRS, spec: PopulationInput, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    if spec.crs and chinacrs.is_china_datum(spec.crs):
        x, y = chinacrs.to_wgs84(x, y, spec.crs)
    tr = pyproj.Transformer.from_crs(raster_crs, crs, always_xy=True)
    lx, ly = tr.transform(x, y)
    return np.asarray(lx, dtype=float), np.asarray(ly, dtype=float)
